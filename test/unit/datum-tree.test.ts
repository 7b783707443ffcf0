import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {DatumTree, FANOUT, memoryNodes, type DatumEdit, type DatumSetEntry} from '../../src/core/db/datum-tree.js'
import {CorruptObjectError} from '../../src/core/errors.js'

const sha = (s: string) => createHash('sha256').update(s).digest('hex')
const job = (n: number) => sha(`job ${n}`).slice(0, 32)
const entry = (i: number, o: Partial<DatumSetEntry> = {}): DatumSetEntry => ({id: sha(`datum ${i}`), hash: sha(`hash ${i}`), state: 'SUCCESS', source: job(1), ...o})
const byId = (a: DatumSetEntry, b: DatumSetEntry) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
const sorted = (es: DatumSetEntry[]) => [...es].sort(byId)

/** A deterministic PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('datum tree (db/datum-tree.ts)', () => {
  it('builds, reads by id, ranks, lists in id order and counts; the empty set has no root', () => {
    const tree = new DatumTree(memoryNodes())
    expect(tree.build([])).toBeNull()
    expect(tree.size(null)).toBe(0)
    expect([...tree.entries(null)]).toEqual([])
    const es = sorted(Array.from({length: 5000}, (_, i) => entry(i)))
    const root = tree.build(es)
    expect(tree.size(root)).toBe(5000)
    expect([...tree.entries(root)]).toEqual(es)
    for (const i of [0, 1, 63, 64, 2500, 4999]) {
      expect(tree.get(root, es[i]!.id)).toEqual(es[i])
      expect(tree.countBelow(root, es[i]!.id)).toBe(i)
    }
    expect(tree.get(root, sha('absent'))).toBeUndefined()
    expect(tree.countBelow(root, "0".repeat(64))).toBe(0)
    expect(tree.countBelow(root, "f".repeat(64))).toBe(5000)
    expect(tree.get(root, 'not hex')).toBeUndefined()
    expect(tree.verify(root)).toEqual([])
    // more than one level, nodes of about FANOUT entries
    const nodes = [...tree.nodes(root)].length
    expect(nodes).toBeGreaterThan(5000 / FANOUT / 2)
    expect(nodes).toBeLessThan((5000 / FANOUT) * 2)
  })

  it('is canonical: any sequence of edits gives the root a build of the result gives', () => {
    const next = rng(7)
    for (let round = 0; round < 30; round++) {
      const store = memoryNodes()
      const tree = new DatumTree(store)
      const n = Math.floor(next() * 3000)
      let model = new Map(Array.from({length: n}, (_, i) => entry(i)).map((e) => [e.id, e]))
      let root = tree.build(sorted([...model.values()]))
      for (let step = 0; step < 5; step++) {
        const edits: DatumEdit[] = []
        const touched = new Set<string>()
        const count = Math.floor(next() * (next() < 0.3 ? 400 : 8)) + 1
        for (let k = 0; k < count; k++) {
          const i = Math.floor(next() * (n + 500))
          const id = sha(`datum ${i}`)
          if (touched.has(id)) continue
          touched.add(id)
          const r = next()
          edits.push(r < 0.4 ? [id, null] : [id, entry(i, {hash: sha(`v${round}.${step}.${k}`), state: r < 0.5 ? 'FAILED' : 'SUCCESS', source: job(step + 2)})])
        }
        root = tree.edit(root, edits)
        model = new Map(model)
        for (const [id, e] of edits) {
          if (e) model.set(id, e)
          else model.delete(id)
        }
        const want = sorted([...model.values()])
        expect(root).toEqual(new DatumTree(memoryNodes()).build(want))
        expect([...tree.entries(root)]).toEqual(want)
        expect(tree.size(root)).toBe(want.length)
        expect(tree.verify(root)).toEqual([])
      }
    }
  })

  it('deleting everything gives the empty set; editing an empty set builds one', () => {
    const tree = new DatumTree(memoryNodes())
    const es = sorted(Array.from({length: 300}, (_, i) => entry(i)))
    const root = tree.build(es)
    expect(tree.edit(root, es.map((e): DatumEdit => [e.id, null]))).toBeNull()
    expect(tree.edit(null, es.map((e): DatumEdit => [e.id, e]))).toEqual(root)
    expect(tree.edit(root, [])).toBe(root)
  })

  it('one changed datum of 100,000 writes a leaf and the path above it, and reads a few nodes', () => {
    const store = memoryNodes()
    const tree = new DatumTree(store)
    const es = sorted(Array.from({length: 100_000}, (_, i) => entry(i)))
    const root = tree.build(es)
    const before = new Map(store.nodes)
    const e = es[54_321]!
    const next = tree.edit(root, [[e.id, {...e, hash: sha('changed'), source: job(2)}]])
    const added = [...store.nodes.keys()].filter((k) => !before.has(k))
    const bytes = added.reduce((a, k) => a + store.nodes.get(k)!.length, 0)
    expect(added.length).toBeLessThanOrEqual(4)
    expect(bytes).toBeLessThan(24 * 1024)
    expect(tree.get(next, e.id)?.hash).toBe(sha('changed'))
    expect(tree.size(next)).toBe(100_000)
  })

  it('damage is found: a missing or garbled node throws CorruptObjectError and verify names it', () => {
    const store = memoryNodes()
    const tree = new DatumTree(store)
    const es = sorted(Array.from({length: 2000}, (_, i) => entry(i)))
    const root = tree.build(es)!
    const leaf = [...tree.nodes(root)].at(-1)!
    const data = store.nodes.get(leaf.toString('hex'))!
    store.nodes.set(leaf.toString('hex'), data.subarray(0, data.length - 3))
    const fresh = new DatumTree(store)
    expect(() => [...fresh.entries(root)]).toThrow(CorruptObjectError)
    expect(fresh.verify(root).join('\n')).toMatch(/damaged/)
    store.nodes.delete(leaf.toString('hex'))
    expect(new DatumTree(store).verify(root).join('\n')).toMatch(/missing/)
    // out-of-order entries in a leaf
    const bad = Buffer.from(data)
    const first = bad.subarray(2, 2 + 81)
    const second = Buffer.from(bad.subarray(2 + 81, 2 + 162))
    bad.copy(bad, 2 + 81, 2, 2 + 81)
    second.copy(first)
    store.nodes.set(leaf.toString('hex'), bad)
    expect(new DatumTree(store).verify(root).join('\n')).toMatch(/out of order/)
  })
})
