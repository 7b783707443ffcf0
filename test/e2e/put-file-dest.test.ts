/**
 * E2E: where `put file` puts things, one row per rule of pachctl's putFileHelper
 * (src/server/pfs/cmds/cmds.go) and of pach's own additions. Each row runs against a fresh
 * repo (R) from the local tree below (cwd = that tree) and states every file the repo holds
 * afterwards, with its content, or the one-line error and that nothing was written. A row
 * with `pachctl` is a deliberate difference (the README lists them); the text says what
 * pachctl does instead.
 */
import {execa} from 'execa'
import {createServer, type Server} from 'node:http'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import type {AddressInfo} from 'node:net'
import {join, relative} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'
import {tmpProject, type Project} from '../helpers/cli.js'
import {expectUserError} from './_util.js'

vi.setConfig({testTimeout: 600_000})

/** the local tree the rows put from (relative to the cwd) */
const TREE: Record<string, string> = {
  'one.txt': 'ONE',
  'two.txt': 'TWO',
  'data/a.txt': 'A',
  'data/sub/b.txt': 'B',
  'notar.bin': 'NOTAR',
  'mixed/c.txt': 'C',
  'list.txt': 'one.txt\ntwo.txt\n',
  'list1.txt': 'one.txt\n',
  'arch-src/x.txt': 'X',
  'arch-src/d/y.txt': 'Y',
  // a small file, then one past the chunker's minimum (read whole vs streamed)
  'big/a.txt': 'small',
  'big/b.txt': 'L'.repeat(600 * 1024),
}
const ARCHIVE = {'x.txt': 'X', 'd/y.txt': 'Y'}
const under = (prefix: string, files: Record<string, string>) => Object.fromEntries(Object.entries(files).map(([k, v]) => [`${prefix}/${k}`, v]))

interface Row {
  name: string
  /** `put file` arguments; R is the repo, {URL} the test's HTTP server */
  args: string
  input?: string
  /** `put file` calls made first (same placeholders) */
  before?: {args: string; input?: string}[]
  /** every file in R@master afterwards: path -> content */
  files?: Record<string, string>
  /** or: the exit code and the one stderr line; nothing is written */
  error?: [number, RegExp]
  /** a warning expected on stderr (the put succeeds) */
  warns?: RegExp
  /** what pachctl does instead (a deliberate difference) */
  pachctl?: string
}

const rows: Row[] = [
  // one local file
  {name: 'file, no path: /basename', args: 'R@master -f one.txt', files: {'/one.txt': 'ONE'}},
  {name: 'file from a subdirectory, no path: /basename', args: 'R@master -f data/sub/b.txt', files: {'/b.txt': 'B'}},
  {name: 'file, path: the path', args: 'R@master:/x.txt -f one.txt', files: {'/x.txt': 'ONE'}},
  {name: 'file, relative path: made absolute', args: 'R@master:dir/x.txt -f one.txt', files: {'/dir/x.txt': 'ONE'}},
  {name: 'file, path ending in /: into that directory', args: 'R@master:/d/ -f one.txt', files: {'/d/one.txt': 'ONE'}},
  {name: 'file, path /: at the root', args: 'R@master:/ -f one.txt', files: {'/one.txt': 'ONE'}},
  {name: 'file, --full-path, no path: the path as given', args: 'R@master -f data/sub/b.txt --full-path', files: {'/data/sub/b.txt': 'B'}},
  {name: 'file, --full-path, path: the path', args: 'R@master:/t.txt -f data/sub/b.txt --full-path', files: {'/t.txt': 'B'}},
  {name: 'file, --full-path, path ending in /: path + full path', args: 'R@master:/n/ -f data/sub/b.txt --full-path', files: {'/n/data/sub/b.txt': 'B'}},
  {name: 'file with -r, path: the path', args: 'R@master:/f.txt -r -f one.txt', files: {'/f.txt': 'ONE'}},
  {name: 'file with -r --full-path, path: path + full path', args: 'R@master:/f -r --full-path -f data/a.txt', files: {'/f/data/a.txt': 'A'}},
  {name: 'file with -r, path ending in /: into that directory', args: 'R@master:/d/ -r -f one.txt', files: {'/d/one.txt': 'ONE'}, pachctl: 'writes the file at /d'},
  // one directory (-r)
  {name: 'dir, no path: /basename/<rel>', args: 'R@master -r -f data', files: under('/data', {'a.txt': 'A', 'sub/b.txt': 'B'})},
  {name: 'dir given with a trailing /, no path: /basename/<rel>', args: 'R@master -r -f data/', files: under('/data', {'a.txt': 'A', 'sub/b.txt': 'B'})},
  {name: 'dir ".", no path: the root', args: 'R@master -r -f data/sub/.', files: {'/b.txt': 'B'}},
  {name: 'dir, path: path/<rel>', args: 'R@master:/p -r -f data', files: under('/p', {'a.txt': 'A', 'sub/b.txt': 'B'})},
  {name: 'dir, path ending in /: path/<rel> (not path/dir/<rel>)', args: 'R@master:/p/ -r -f data', files: under('/p', {'a.txt': 'A', 'sub/b.txt': 'B'})},
  {name: 'dir, path /: the root (not /dir)', args: 'R@master:/ -r -f data', files: {'/a.txt': 'A', '/sub/b.txt': 'B'}},
  {name: 'nested dir, path: path/<rel>', args: 'R@master:/deep/er -r -f data/sub', files: {'/deep/er/b.txt': 'B'}},
  {name: 'dir, --full-path, no path: /full/<rel>', args: 'R@master -r --full-path -f data/sub', files: {'/data/sub/b.txt': 'B'}},
  {name: 'dir, --full-path, path: path/full/<rel>', args: 'R@master:/p -r --full-path -f data/sub', files: {'/p/data/sub/b.txt': 'B'}},
  {name: 'dir, --full-path, path /: /full/<rel>', args: 'R@master:/ -r --full-path -f data', files: under('/data', {'a.txt': 'A', 'sub/b.txt': 'B'})},
  {name: 'dir of a small then a large file: both kept', args: 'R@master:/b -r -f big', files: {'/b/a.txt': 'small', '/b/b.txt': TREE['big/b.txt']!}},
  {name: 'a missing repo is reported before a missing local file (pachctl checks the repo first)', args: 'nope@master:/x -f missing.txt', error: [4, /repo nope not found/]},
  {name: 'a missing local file: refused', args: 'R@master -f missing.txt', error: [4, /local file missing\.txt does not exist/]},
  {name: 'dir without -r: refused', args: 'R@master:/p -f data', error: [2, /data is a directory \(pass -r/]},
  // several sources
  {name: 'several files, no path: each /basename', args: 'R@master -f one.txt -f two.txt', files: {'/one.txt': 'ONE', '/two.txt': 'TWO'}},
  {name: 'several files, path: a prefix for each basename', args: 'R@master:/s -f one.txt -f two.txt', files: {'/s/one.txt': 'ONE', '/s/two.txt': 'TWO'}},
  {name: 'several files, path ending in /: the same prefix', args: 'R@master:/s/ -f one.txt -f two.txt', files: {'/s/one.txt': 'ONE', '/s/two.txt': 'TWO'}},
  {name: 'a file and a dir, path: prefix/basename(/<rel>)', args: 'R@master:/s -r -f one.txt -f data', files: {'/s/one.txt': 'ONE', ...under('/s/data', {'a.txt': 'A', 'sub/b.txt': 'B'})}},
  {name: 'several, --full-path, path: prefix/full path', args: 'R@master:/s --full-path -f data/a.txt -f data/sub/b.txt', files: {'/s/data/a.txt': 'A', '/s/data/sub/b.txt': 'B'}},
  // -i lists
  {name: '-i, no path: each /basename', args: 'R@master -i list.txt', files: {'/one.txt': 'ONE', '/two.txt': 'TWO'}},
  {name: '-i, path: a prefix', args: 'R@master:/l -i list.txt', files: {'/l/one.txt': 'ONE', '/l/two.txt': 'TWO'}},
  {name: '-i listing one source, path: the path (one source)', args: 'R@master:/l -i list1.txt', files: {'/l': 'ONE'}},
  {name: '-i - reads the list from stdin', args: 'R@master:/x/ -i -', input: 'one.txt\n\ntwo.txt\n', files: {'/x/one.txt': 'ONE', '/x/two.txt': 'TWO'}},
  {name: '-i URL fetches the list (of URLs and files)', args: 'R@master -i {URL}/list-of-urls.txt', files: {'/u.txt': 'U', '/one.txt': 'ONE'}},
  {name: '-i with -f: both', args: 'R@master -f two.txt -i list1.txt', files: {'/one.txt': 'ONE', '/two.txt': 'TWO'}, pachctl: 'ignores -f when -i is given'},
  {name: '-i - with a "-" source: refused', args: 'R@master:/x -f - -i -', input: 'one.txt\n', error: [2, /stdin cannot be both the input list/]},
  {name: '-i missing: refused', args: 'R@master -i nothing.txt', error: [4, /input list nothing\.txt does not exist/]},
  // URLs
  {name: 'URL, no path: /basename of its path', args: 'R@master -f {URL}/files/u.txt', files: {'/u.txt': 'U'}},
  {name: 'URL with a query, no path: the query is not part of the name', args: 'R@master -f {URL}/files/u.txt?sig=1', files: {'/u.txt': 'U'}, pachctl: 'names it /u.txt?sig=1'},
  {name: 'URL, path: the path', args: 'R@master:/w.txt -f {URL}/files/u.txt', files: {'/w.txt': 'U'}},
  {name: 'URL, path ending in /: into that directory', args: 'R@master:/w/ -f {URL}/files/u.txt', files: {'/w/u.txt': 'U'}},
  {name: 'URL, --full-path, no path: its path', args: 'R@master --full-path -f {URL}/files/u.txt', files: {'/files/u.txt': 'U'}},
  {name: 'URL and a file, path: a prefix', args: 'R@master:/m -f {URL}/files/u.txt -f one.txt', files: {'/m/u.txt': 'U', '/m/one.txt': 'ONE'}},
  {name: 'URL that answers 404: refused', args: 'R@master -f {URL}/missing', error: [2, /cannot fetch .*\/missing: HTTP 404/]},
  // stdin
  {name: 'stdin (no -f), path: the path', args: 'R@master:/in.txt', input: 'IN', files: {'/in.txt': 'IN'}},
  {name: 'stdin (-f -), path: the path', args: 'R@master:/in.txt -f -', input: 'IN', files: {'/in.txt': 'IN'}},
  {name: 'stdin, no path: refused', args: 'R@master -f -', input: 'IN', error: [2, /must specify a file path when reading data from stdin/]},
  {name: 'stdin, path ending in /: refused', args: 'R@master:/d/ -f -', input: 'IN', error: [2, /stdin has no name to put under the directory \/d\//], pachctl: 'writes /d/-'},
  {name: 'stdin among several sources: refused', args: 'R@master:/s -f one.txt -f -', input: 'IN', error: [2, /stdin cannot be one of several sources/], pachctl: 'writes /s/-'},
  {name: 'stdin with -r: refused', args: 'R@master:/s -r', input: 'IN', error: [2, /cannot read stdin recursively/]},
  // --untar
  {name: '--untar .tar, no path: entries at the root', args: 'R@master --untar -f arch.tar', files: under('', ARCHIVE)},
  {name: '--untar .tgz, path: entries under the path', args: 'R@master:/u --untar -f arch.tgz', files: under('/u', ARCHIVE), pachctl: 'ignores the path (entries at the root)'},
  {name: '--untar .tar.gz, path ending in /: entries under the path', args: 'R@master:/u/ --untar -f arch.tar.gz', files: under('/u', ARCHIVE)},
  {name: '--untar stdin: unpacked under the path', args: 'R@master:/u --untar -f -', input: 'ARCHIVE', files: under('/u', ARCHIVE), pachctl: 'puts stdin as one file'},
  {name: '--untar URL of a .tar: unpacked', args: 'R@master --untar -f {URL}/arch.tar', files: under('', ARCHIVE), pachctl: 'puts the URL as one file'},
  {name: '--untar a source not named .tar/.tgz: put as a file, with a warning', args: 'R@master --untar -f notar.bin', files: {'/notar.bin': 'NOTAR'}, warns: /notar\.bin is not named \.tar, \.tar\.gz or \.tgz: put as a file/},
  {name: '--untar an archive and a file, path: entries and basename under the path', args: 'R@master:/m --untar -f arch.tar -f one.txt', files: {...under('/m', ARCHIVE), '/m/one.txt': 'ONE'}, warns: /one\.txt is not named/},
  {name: '-r --untar: an archive in the tree unpacks where it would have been put', args: 'R@master:/v -r --untar -f mixed', files: {'/v/c.txt': 'C', ...under('/v/in', ARCHIVE)}},
  // -a
  {name: 'without -a a put replaces', before: [{args: 'R@master:/x.txt -f one.txt'}], args: 'R@master:/x.txt -f two.txt', files: {'/x.txt': 'TWO'}},
  {name: '-a appends to a file', before: [{args: 'R@master:/x.txt -f one.txt'}], args: 'R@master:/x.txt -a -f two.txt', files: {'/x.txt': 'ONETWO'}},
  {name: '-a appends stdin', before: [{args: 'R@master:/s.txt', input: '1'}], args: 'R@master:/s.txt -a', input: '2', files: {'/s.txt': '12'}},
  {name: '-a -r appends every file of a directory', before: [{args: 'R@master:/p -r -f data'}], args: 'R@master:/p/ -r -a -f data', files: under('/p', {'a.txt': 'AA', 'sub/b.txt': 'BB'})},
  {name: '-a --untar appends every entry', before: [{args: 'R@master --untar -f arch.tar'}], args: 'R@master --untar -a -f arch.tar', files: under('', {'x.txt': 'XX', 'd/y.txt': 'YY'})},
  {name: '-a URL appends', before: [{args: 'R@master -f {URL}/files/u.txt'}], args: 'R@master -a -f {URL}/files/u.txt', files: {'/u.txt': 'UU'}},
]

let server: Server
let url = ''
let archive: Buffer

describe('put file destinations (pachctl putFileHelper)', () => {
  let p: Project
  let cwd: string
  const cleanup: (() => void)[] = []

  beforeAll(async () => {
    p = await tmpProject(true, {onTestFinished: (fn) => cleanup.push(fn)})
    cwd = join(p.dir, 'local')
    for (const [rel, content] of Object.entries(TREE)) {
      mkdirSync(join(cwd, rel, '..'), {recursive: true})
      writeFileSync(join(cwd, rel), content)
    }
    await execa('tar', ['-C', join(cwd, 'arch-src'), '-cf', join(cwd, 'arch.tar'), 'x.txt', 'd'])
    await execa('tar', ['-C', join(cwd, 'arch-src'), '-czf', join(cwd, 'arch.tgz'), 'x.txt', 'd'])
    await execa('tar', ['-C', join(cwd, 'arch-src'), '-czf', join(cwd, 'arch.tar.gz'), 'x.txt', 'd'])
    mkdirSync(join(cwd, 'mixed', 'in'))
    writeFileSync(join(cwd, 'mixed', 'in', 'pack.tar'), readFileSync(join(cwd, 'arch.tar')))
    archive = readFileSync(join(cwd, 'arch.tar'))
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname
      const body: Record<string, string | Buffer> = {'/files/u.txt': 'U', '/arch.tar': archive, '/list-of-urls.txt': `${url}/files/u.txt\none.txt\n`}
      if (body[path] === undefined) res.writeHead(404).end('no')
      else res.writeHead(200).end(body[path])
    })
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise<void>((ok) => server.close(() => ok()))
    for (const fn of cleanup) fn()
  })

  const fill = (s: string, repo: string) =>
    s
      .split(' ')
      .map((w) => w.replace(/^R@/, `${repo}@`).replace('{URL}', url))
  const stdin = (input: string | undefined) => (input === 'ARCHIVE' ? archive : (input ?? ''))

  it.each(rows.map((r, i) => ({...r, i})))('$name', async (row) => {
    const repo = `c${row.i}`
    await p.ok(['create', 'repo', repo])
    for (const b of row.before ?? []) await p.ok(['put', 'file', ...fill(b.args, repo)], {cwd, input: stdin(b.input)})
    const r = await p.run(['put', 'file', ...fill(row.args, repo)], {cwd, input: stdin(row.input)})
    const made = (row.before ?? []).length
    if (row.error) {
      expectUserError(r, row.error[0], row.error[1])
      // nothing written: no commit beyond those of `before`
      expect((await p.json(['list', 'commit', repo])).length).toBe(made)
      return
    }
    expect(r.exitCode, r.stderr).toBe(0)
    if (row.warns) expect(r.stderr).toMatch(row.warns)
    else expect(r.stderr).toBe('')
    expect(await contents(p, repo)).toEqual({commits: made + 1, files: row.files})
  })
})

/** The number of commits in repo, and every file of repo@master as path -> content. */
async function contents(p: Project, repo: string): Promise<{commits: number; files: Record<string, string>}> {
  const commits = (await p.json(['list', 'commit', repo])).length
  const out = join(p.dir, 'out', repo)
  if (commits) await p.ok(['get', 'file', `${repo}@master:/`, '-r', '-o', out])
  const files: Record<string, string> = {}
  const walk = (d: string) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      if (e.isDirectory()) walk(join(d, e.name))
      else files['/' + relative(out, join(d, e.name))] = readFileSync(join(d, e.name), 'utf8')
    }
  }
  if (commits) walk(out)
  return {commits, files}
}
