import {describe, expect, it} from 'vitest'
import {content, memoryTrees} from '../helpers/trees.js'
import {contentHash, sha256} from '../../src/core/store/hash.js'
import {decodeTree, encodeTree, TreeStore, type Entry} from '../../src/core/store/tree-store.js'

const store = memoryTrees

const paths = (t: TreeStore, root: Buffer | null) => [...t.walk(root)].map(([p, e]) => (e.kind === 'dir' ? p + '/' : p))

describe('tree', () => {
  it('encodes and decodes', () => {
    const c = content('hello')
    const entries = [
      {kind: 'file' as const, name: 'a', hash: c.hash, size: 5, chunks: c.chunks, sizes: c.sizes},
      {kind: 'dir' as const, name: 'd', hash: sha256(Buffer.from('x')), size: 7, files: 2},
    ]
    expect(decodeTree(encodeTree(entries))).toEqual(entries)
  })

  it('applies puts and deletes and walks in Pachyderm path order', () => {
    const t = store()
    const root = t.apply(null, [
      {type: 'put', path: '/a/b', content: content('1')},
      {type: 'put', path: '/a.txt', content: content('22')},
      {type: 'put', path: '/z', content: content('333')},
    ])
    expect(paths(t, root)).toEqual(['/a.txt', '/a/', '/a/b', '/z'])
    expect(t.lookup(root, '/')!.size).toBe(6)
    expect(t.lookup(root, '/a')).toMatchObject({kind: 'dir', size: 1, files: 1})
    const r2 = t.apply(root, [{type: 'delete', path: '/a'}])
    expect(paths(t, r2)).toEqual(['/a.txt', '/z'])
    const r3 = t.apply(r2, [{type: 'delete', path: '/missing'}])
    expect(r3!.equals(r2!)).toBe(true)
    expect(t.apply(r3, [{type: 'delete', path: '/'}])).toBeNull()
  })

  it('is content addressed: the same files give the same root whatever the order', () => {
    const t = store()
    const a = t.apply(null, [{type: 'put', path: '/x/1', content: content('a')}, {type: 'put', path: '/y', content: content('b')}])
    const b = t.apply(null, [{type: 'put', path: '/y', content: content('b')}, {type: 'put', path: '/x/1', content: content('a')}])
    expect(a!.equals(b!)).toBe(true)
  })

  it('removes directories that become empty', () => {
    const t = store()
    const r = t.apply(null, [{type: 'put', path: '/d/e/f', content: content('a')}, {type: 'put', path: '/g', content: content('b')}])
    expect(paths(t, t.apply(r, [{type: 'delete', path: '/d/e/f'}]))).toEqual(['/g'])
  })

  it('refuses file/directory collisions', () => {
    const t = store()
    const r = t.apply(null, [{type: 'put', path: '/a', content: content('a')}])
    expect(() => t.apply(r, [{type: 'put', path: '/a/b', content: content('b')}])).toThrow(/path collision/)
    const r2 = t.apply(null, [{type: 'put', path: '/a/b', content: content('a')}])
    expect(() => t.apply(r2, [{type: 'put', path: '/a', content: content('b')}])).toThrow(/path collision/)
  })

  it('diffs by hash, visiting only what changed', () => {
    const t = store()
    const ops = Array.from({length: 50}, (_, i) => ({type: 'put' as const, path: `/d${i % 5}/f${i}`, content: content(String(i))}))
    const a = t.apply(null, ops)
    const b = t.apply(a, [
      {type: 'put', path: '/d1/f1', content: content('changed')},
      {type: 'delete', path: '/d2/f2'},
      {type: 'put', path: '/new', content: content('n')},
    ])
    const d = [...t.diff(a, b)].map((x) => `${x.change} ${x.path}`)
    expect(d).toEqual(['modified /d1/f1', 'deleted /d2/f2', 'added /new'])
    expect([...t.diff(a, a)]).toEqual([])
  })
})

describe('tree encoding (byte format of docs/format.md)', () => {
  /** the format written plainly, as a reference for the optimised encoder */
  function reference(entries: Entry[]): Buffer {
    const parts: Buffer[] = [Buffer.from([1]), u32(entries.length)]
    for (const e of entries) {
      const name = Buffer.from(e.name, 'utf8')
      const size = Buffer.alloc(8)
      size.writeDoubleBE(e.size)
      parts.push(Buffer.from([e.kind === 'file' ? 1 : 2]), u16(name.length), name, e.hash, size)
      if (e.kind === 'file') {
        parts.push(u32(e.chunks.length))
        e.chunks.forEach((c, j) => parts.push(c, u32(e.sizes[j]!)))
      } else {
        const files = Buffer.alloc(8)
        files.writeDoubleBE(e.files)
        parts.push(files)
      }
    }
    return Buffer.concat(parts)
  }
  const u16 = (n: number) => Buffer.from([n >> 8, n & 255])
  const u32 = (n: number) => {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(n)
    return b
  }

  it('writes ASCII and non-ASCII names, files with 0..3 chunks and dirs exactly as the format says, and reads them back', () => {
    const names = ['a', 'Zürich', '日本語.txt', 'emoji-😀', 'x'.repeat(255), 'é'.repeat(100), 'plain name.csv']
    const entries: Entry[] = names.map((name, i) =>
      i % 3 === 2
        ? {kind: 'dir', name, hash: sha256(Buffer.from(name)), size: i * 1000.5, files: i}
        : {kind: 'file', name, hash: sha256(Buffer.from('h' + name)), size: i * 7, chunks: Array.from({length: i % 4}, (_, j) => sha256(Buffer.from(`${name}${j}`))), sizes: Array.from({length: i % 4}, (_, j) => j * 100 + 1)},
    )
    const buf = encodeTree(entries)
    expect(buf.equals(reference(entries))).toBe(true)
    expect(decodeTree(buf)).toEqual(entries)
    expect(encodeTree([]).equals(reference([]))).toBe(true)
  })
})
