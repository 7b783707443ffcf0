/**
 * The purge planner (core/maintenance/purge.ts) over hand-made trees: which files a pattern
 * removes from a tree, and which datum inputs cover a purged path. Over a project:
 * test/integration/purge.test.ts.
 */
import {describe, expect, it} from 'vitest'
import {inputCovers, matchPurged, PurgeMatcher} from '../../src/core/maintenance/purge.js'
import {content, memoryTrees} from '../helpers/trees.js'

const paths = (hits: {path: string}[]) => hits.map((h) => h.path)

describe('matchPurged', () => {
  const t = memoryTrees()
  const big = Array.from({length: 150}, (_, i) => ({type: 'put' as const, path: `/many/f${String(i).padStart(3, '0')}.${i % 3 === 0 ? 'jpg' : 'txt'}`, content: content(`m${i}`)}))
  const root = t.apply(null, [
    {type: 'put', path: '/a.jpg', content: content('a')},
    {type: 'put', path: '/a/b.jpg', content: content('b')},
    {type: 'put', path: '/raw/x/1', content: content('1')},
    {type: 'put', path: '/raw/y', content: content('2')},
    {type: 'put', path: '/rawfile', content: content('3')},
    ...big,
  ])

  it('a path: that file only', () => {
    expect(paths(matchPurged(t, root, '/a.jpg'))).toEqual(['/a.jpg'])
    expect(paths(matchPurged(t, root, 'a.jpg'))).toEqual(['/a.jpg']) // cleaned like a PFS path
    expect(matchPurged(t, root, '/nope')).toEqual([])
    expect(matchPurged(t, null, '/a.jpg')).toEqual([])
  })

  it('a directory matched goes whole, and only it (not a sibling sharing its prefix)', () => {
    expect(paths(matchPurged(t, root, '/raw'))).toEqual(['/raw/x/1', '/raw/y'])
    expect(paths(matchPurged(t, root, '/raw*'))).toEqual(['/raw/x/1', '/raw/y', '/rawfile'])
  })

  it("Pachyderm's glob: * stays in a directory, ** crosses, in a large (prolly) directory too", () => {
    expect(paths(matchPurged(t, root, '/*.jpg'))).toEqual(['/a.jpg'])
    expect(paths(matchPurged(t, root, '/**.jpg'))).toEqual(['/a.jpg', '/a/b.jpg', ...big.filter((o) => o.path.endsWith('.jpg')).map((o) => o.path)])
    expect(matchPurged(t, root, '/many/*.jpg')).toHaveLength(50)
    const hit = matchPurged(t, root, '/a/b.jpg')[0]!
    expect(hit.entry).toMatchObject({kind: 'file', size: 1})
  })

  it('one matcher over a history (memoised by directory) answers as a fresh one per tree', () => {
    const m = new PurgeMatcher(t, '/**.jpg')
    const first = m.match(root)
    const root2 = t.apply(root, [{type: 'put', path: '/many/new.jpg', content: content('n')}, {type: 'delete', path: '/a.jpg'}])
    const root3 = t.apply(root2, [{type: 'put', path: '/a/c.jpg', content: content('c')}])
    for (const r of [root2, root3, root]) expect(paths(m.match(r))).toEqual(paths(matchPurged(t, r, '/**.jpg')))
    expect(paths(m.match(root))).toEqual(paths(first))
    expect(paths(m.match(root3))).toContain('/many/new.jpg')
    expect(paths(m.match(root3))).not.toContain('/a.jpg')
  })

  it('refuses a malformed glob as INVALID_GLOB', () => {
    expect(() => matchPurged(t, root, '/[')).toThrow(expect.objectContaining({code: 'INVALID_GLOB'}))
  })
})

describe('inputCovers', () => {
  it('a file input covers only itself; a directory input everything under it; "/" everything', () => {
    expect(inputCovers({path: '/a.jpg', isDir: false}, '/a.jpg')).toBe(true)
    expect(inputCovers({path: '/a.jpg', isDir: false}, '/a.jpg2')).toBe(false)
    expect(inputCovers({path: '/a/', isDir: true}, '/a/b.jpg')).toBe(true)
    expect(inputCovers({path: '/a/', isDir: true}, '/ab/c')).toBe(false)
    expect(inputCovers({path: '/a', isDir: true}, '/a/b')).toBe(true)
    expect(inputCovers({path: '/', isDir: true}, '/anything/at/all')).toBe(true)
  })
})
