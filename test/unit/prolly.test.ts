import {describe, expect, it} from 'vitest'
import {content, memoryTrees} from '../helpers/trees.js'
import {contentHash, sha256} from '../../src/core/store/hash.js'
import {TreeStore, type Entry, type TreeOp} from '../../src/core/store/tree-store.js'
import {boundaryHash, decodeNode, encodeIndex, encodeLeaf, isBoundary, MAX_NODE, MIN_NODE, SMALL_ENTRIES} from '../../src/core/store/tree-node.js'

const store = memoryTrees

/** A deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const name = (i: number) => `f${String(i).padStart(6, '0')}.bin`
const put = (path: string, v: string): TreeOp => ({type: 'put', path, content: content(v)})
const files = (t: TreeStore, root: Buffer | null) => [...t.walk(root)].filter(([, e]) => e.kind === 'file').map(([p, e]) => `${p}=${e.size}`)

/** Every node under a directory root (hashes), by walking the index. */
function nodesOf(t: TreeStore, hash: Buffer, out: Buffer[] = []): Buffer[] {
  out.push(hash)
  const n = t.node(hash)
  if (n.kind === 'index') for (const it of n.items) nodesOf(t, it.hash, out)
  return out
}

describe('prolly directories', () => {
  it('keeps small directories in layout 1 and cuts large ones into nodes', () => {
    const t = store()
    const small = t.apply(null, Array.from({length: SMALL_ENTRIES}, (_, i) => put(`/${name(i)}`, `v${i}`)))!
    expect(t.node(small).kind).toBe('small')
    const large = t.apply(small, [put(`/${name(SMALL_ENTRIES)}`, 'one more')])!
    const n = t.node(large)
    expect(n.kind).toBe('index')
    expect(t.lookup(large, '/')).toMatchObject({files: SMALL_ENTRIES + 1})
    // and back: removing it makes the directory small again, with the same hash as before
    expect(t.apply(large, [{type: 'delete', path: `/${name(SMALL_ENTRIES)}`}])!.equals(small)).toBe(true)
  })

  it('is canonical: edits in any order give the root a fresh build gives', () => {
    const t = store()
    const r = rng(7)
    const N = 3000
    let root = t.apply(null, Array.from({length: N}, (_, i) => put(`/d/${name(i)}`, `v${i}`)))
    const live = new Map<number, string>(Array.from({length: N}, (_, i) => [i, `v${i}`]))
    for (let round = 0; round < 40; round++) {
      const ops: TreeOp[] = []
      const k = 1 + Math.floor(r() * 30)
      for (let j = 0; j < k; j++) {
        const i = Math.floor(r() * (N + 500))
        const x = r()
        if (x < 0.4) {
          ops.push({type: 'delete', path: `/d/${name(i)}`})
          live.delete(i)
        } else {
          const v = `r${round}-${j}-${i}`
          ops.push(put(`/d/${name(i)}`, v))
          live.set(i, v)
        }
      }
      root = t.apply(root, ops)
      const fresh = store().apply(
        null,
        [...live].sort((a, b) => a[0] - b[0]).map(([i, v]) => put(`/d/${name(i)}`, v)),
      )
      expect(root!.toString('hex')).toBe(fresh!.toString('hex'))
    }
    expect(files(t, root)).toEqual([...live].sort((a, b) => a[0] - b[0]).map(([i, v]) => `/d/${name(i)}=${v.length}`))
  })

  it('finds, lists and totals entries of a multi-level directory', () => {
    const t = store()
    const N = 5000
    const root = t.apply(null, [...Array.from({length: N}, (_, i) => put(`/${name(i)}`, 'x'.repeat(i % 7))), put('/sub/a', 'aa')])!
    const top = t.node(root)
    expect(top.kind === 'index' && top.level).toBeGreaterThanOrEqual(2)
    expect(t.lookup(root, '/')).toMatchObject({size: [...Array(N).keys()].reduce((s, i) => s + (i % 7), 0) + 2, files: N + 1})
    expect(t.lookup(root, `/${name(4321)}`)).toMatchObject({kind: 'file', size: 4321 % 7})
    expect(t.lookup(root, '/sub')).toMatchObject({kind: 'dir', files: 1})
    expect(t.lookup(root, '/sub/a')).toMatchObject({size: 2})
    expect(t.lookup(root, '/f9999999')).toBeUndefined()
    const names = [...t.entries(root)].map((e) => e.name)
    expect(names).toHaveLength(N + 1)
    expect(names[N]).toBe('sub')
    expect(names.slice(0, 3)).toEqual([name(0), name(1), name(2)])
  })

  it('rewrites only the nodes on the path of a one-entry change', () => {
    const t = store()
    const N = 20000
    const root = t.apply(null, Array.from({length: N}, (_, i) => put(`/${name(i)}`, `v${i}`)))!
    const before = new Set(nodesOf(t, root).map((h) => h.toString('hex')))
    const height = (t.node(root) as {level: number}).level
    for (const [i, op] of [
      [N / 2, put(`/${name(N / 2)}`, 'changed')],
      [6666, {type: 'delete', path: `/${name(6666)}`} as TreeOp],
      [N + 5, put(`/${name(N + 5)}`, 'appended')],
      [-1, put('/a-first', 'first')],
    ] as [number, TreeOp][]) {
      const after = t.apply(root, [op])!
      const fresh = nodesOf(t, after).filter((h) => !before.has(h.toString('hex')))
      // a leaf and its ancestors, plus rarely a neighbour where a boundary moved
      expect(fresh.length, `op on ${i}`).toBeLessThanOrEqual(2 * (height + 1))
      const diff = [...t.diff(root, after)].map((d) => `${d.change} ${d.path}`)
      expect(diff).toEqual([
        op.type === 'delete' ? `deleted ${op.path}` : i === N / 2 ? `modified ${op.path}` : `added ${op.path}`,
      ])
    }
  })

  it('diffs two large directories by their changed nodes, in path order', () => {
    const t = store()
    const N = 4000
    const a = t.apply(null, Array.from({length: N}, (_, i) => put(`/${name(i)}`, `v${i}`)))!
    const b = t.apply(a, [
      put(`/${name(10)}`, 'new'),
      {type: 'delete', path: `/${name(2000)}`},
      put(`/${name(2000)}x`, 'added'),
      put('/zzz/inner', 'deep'),
    ])!
    expect([...t.diff(a, b)].map((d) => `${d.change} ${d.path}`)).toEqual([
      `modified /${name(10)}`,
      `deleted /${name(2000)}`,
      `added /${name(2000)}x`,
      'added /zzz/inner',
    ])
    expect([...t.diff(b, a)].map((d) => d.change)).toEqual(['modified', 'added', 'deleted', 'deleted'])
    // against a small tree and the empty tree
    const s = t.apply(null, [put(`/${name(10)}`, 'new')])!
    expect([...t.diff(s, b)]).toHaveLength(N) // all of b but the shared entry
    expect([...t.diff(null, a)]).toHaveLength(N)
  })

  it('keeps file/directory collisions an error in large directories', () => {
    const t = store()
    const root = t.apply(null, Array.from({length: 500}, (_, i) => put(`/${name(i)}`, 'x')))!
    expect(() => t.apply(root, [put(`/${name(3)}/inner`, 'y')])).toThrow(/path collision/)
    const withDir = t.apply(root, [put('/dir/inner', 'y')])!
    expect(() => t.apply(withDir, [put('/dir', 'z')])).toThrow(/path collision/)
    // a directory entry placed over a file replaces it (putEntry), and the file key goes
    const d = t.lookup(withDir, '/dir')!
    const replaced = t.apply(withDir, [{type: 'putEntry', path: `/${name(7)}`, entry: d}])!
    expect(t.lookup(replaced, `/${name(7)}`)).toMatchObject({kind: 'dir'})
    expect([...t.entries(replaced)].filter((e) => e.name === name(7))).toHaveLength(1)
  })

  it('round-trips leaf and index layouts, including multi-chunk files and non-ASCII names', () => {
    const ids = [sha256(Buffer.from('1')), sha256(Buffer.from('2')), sha256(Buffer.from('3'))]
    const entries: Entry[] = [
      {kind: 'file', name: 'a', hash: contentHash(ids), size: 300, chunks: ids, sizes: [100, 150, 50]},
      {kind: 'file', name: 'aé', hash: contentHash([]), size: 0, chunks: [], sizes: []},
      {kind: 'dir', name: 'aéb', hash: sha256(Buffer.from('d')), size: 2 ** 40, files: 123456},
      {kind: 'file', name: '日本', hash: contentHash(ids.slice(0, 1)), size: 9, chunks: ids.slice(0, 1), sizes: [9]},
    ]
    expect(decodeNode(encodeLeaf(entries))).toEqual({kind: 'leaf', entries})
    const items = [
      {key: 'a', hash: ids[0]!, size: 1, files: 1, count: 1},
      {key: 'aéb/', hash: ids[1]!, size: 2 ** 50, files: 2 ** 33, count: 70000},
    ]
    expect(decodeNode(encodeIndex(2, items))).toEqual({kind: 'index', level: 2, items})
    expect(() => decodeNode(encodeLeaf(entries).subarray(0, 40))).toThrow(/truncated|damaged|malformed/)
  })

  it('cuts nodes by the documented rule', () => {
    // boundaries depend on the key and the bytes so far only
    expect(boundaryHash('f000001.bin', 0)).toBe(boundaryHash('f000001.bin', 0))
    expect(boundaryHash('f000001.bin', 0)).not.toBe(boundaryHash('f000001.bin', 1))
    expect(isBoundary(MIN_NODE - 1, 100, 0)).toBe(false)
    expect(isBoundary(MIN_NODE, 100, 0)).toBe(true)
    expect(isBoundary(MAX_NODE, 1, 0xffffffff)).toBe(true)
    expect(isBoundary(MIN_NODE, 100, 0xffffffff)).toBe(false)
  })
})
