import {describe, expect, it} from 'vitest'
import {parseIgnore} from '../../src/cli/pachignore.js'
import {planSync, type FolderFile, type HeadFile} from '../../src/core/pfs/folder-sync.js'

describe('.pachignore rules (gitignore grammar)', () => {
  const ig = (text: string) => parseIgnore(text)
  it('ignores editor temp files and VCS folders by default, and .pach anywhere', () => {
    const r = ig('')
    for (const p of ['a.swp', 'dir/.b.txt.swp', 'notes.txt~', '.#notes.txt', '#notes.txt#', '4913', 'x.tmp', 'dl.crdownload', '.DS_Store', '~$report.docx', '.~lock.sheet.ods#']) {
      expect(r.ignores(p, false), p).toBe(true)
    }
    for (const p of ['.git/config', '.pach/pach.db', 'sub/.git/HEAD', '.hg/store', '.svn/entries']) expect(r.ignores(p, false), p).toBe(true)
    expect(r.ignores('.pachignore', false)).toBe(true)
    expect(r.ignores('sub/.pachignore', false)).toBe(false)
    for (const p of ['a.txt', 'swp', 'data/4913.csv', 'git/x', 'tmp/a']) expect(r.ignores(p, false), p).toBe(false)
  })
  it('matches names at any depth unless the pattern has a slash', () => {
    const r = ig('*.log\nbuild/out\n/top.txt\n')
    expect(r.ignores('a.log', false)).toBe(true)
    expect(r.ignores('deep/er/a.log', false)).toBe(true)
    expect(r.ignores('build/out', false)).toBe(true)
    expect(r.ignores('x/build/out', false)).toBe(false)
    expect(r.ignores('top.txt', false)).toBe(true)
    expect(r.ignores('sub/top.txt', false)).toBe(false)
  })
  it('a trailing slash means directories only, and what is under an ignored directory stays ignored', () => {
    const r = ig('cache/\n!cache/keep.txt\n')
    expect(r.ignores('cache', true)).toBe(true)
    expect(r.ignores('cache', false)).toBe(false)
    expect(r.ignores('cache/keep.txt', false)).toBe(true)
    expect(r.ignores('a/cache/x', false)).toBe(true)
  })
  it('the last matching rule decides; ! re-includes; comments, blanks and escapes', () => {
    const r = ig('# comment\n\n*.csv\n!keep.csv\n\\#hash\n\\!bang\ntrailing.txt   \n')
    expect(r.ignores('a.csv', false)).toBe(true)
    expect(r.ignores('keep.csv', false)).toBe(false)
    expect(r.ignores('#hash', false)).toBe(true)
    expect(r.ignores('!bang', false)).toBe(true)
    expect(r.ignores('trailing.txt', false)).toBe(true)
    expect(r.ignores('comment', false)).toBe(false)
  })
  it('** crosses directories, * does not', () => {
    const r = ig('/logs/**/*.gz\n/a/*.txt\n')
    expect(r.ignores('logs/x.gz', false)).toBe(true)
    expect(r.ignores('logs/2026/12/x.gz', false)).toBe(true)
    expect(r.ignores('a/b.txt', false)).toBe(true)
    expect(r.ignores('a/b/c.txt', false)).toBe(false)
  })
  it('a built-in rule can be taken back', () => {
    expect(ig('!*.tmp').ignores('x.tmp', false)).toBe(false)
  })
})

describe('planSync', () => {
  const file = (path: string, size: number, mtimeMs = 0): FolderFile => ({path, size, mtimeMs})
  const local = (...fs: FolderFile[]) => new Map(fs.map((f) => [f.path, f]))
  const head = (...hs: [string, number][]) => new Map<string, HeadFile>(hs.map(([p, size]) => [p, {size, hash: 'h' + p}]))
  const opts = {now: 10_000, settleMs: 1000}

  it('on start: adds, size changes, same-size checks and deletes, in path order', () => {
    const p = planSync('all', local(file('/b', 2), file('/a', 1), file('/c', 3)), head(['/a', 1], ['/c', 4], ['/gone', 1]), opts)
    expect(p.adds.map((f) => f.path)).toEqual(['/b'])
    expect(p.changes.map((f) => f.path)).toEqual(['/c'])
    expect(p.checks.map((f) => f.path)).toEqual(['/a'])
    expect(p.deletes).toEqual(['/gone'])
    expect(p.deferred).toEqual([])
  })
  it('a file modified within the settle time is deferred', () => {
    const p = planSync('all', local(file('/hot', 5, 9_500), file('/cold', 5, 8_000)), head(), opts)
    expect(p.deferred).toEqual(['/hot'])
    expect(p.adds.map((f) => f.path)).toEqual(['/cold'])
  })
  it('a removed directory deletes every head file under it, and only those', () => {
    const p = planSync(['/dir'], local(file('/dir-x', 1)), head(['/dir/a', 1], ['/dir/sub/b', 1], ['/dir-x', 1], ['/dirt', 1]), opts)
    expect(p.deletes).toEqual(['/dir/a', '/dir/sub/b'])
    expect(p.checks).toEqual([])
  })
  it('a directory that appeared brings its files; a file that became a directory is replaced', () => {
    const p = planSync(['/d'], local(file('/d/x', 1), file('/d/y/z', 2)), head(['/d', 7]), opts)
    expect(p.deletes).toEqual(['/d'])
    expect(p.adds.map((f) => f.path)).toEqual(['/d/x', '/d/y/z'])
  })
  it('a candidate neither here nor there does nothing; untouched paths are left alone', () => {
    const p = planSync(['/nothing'], local(file('/other', 1)), head(['/kept', 1]), opts)
    expect(p).toEqual({deletes: [], adds: [], changes: [], checks: [], deferred: []})
  })
})
