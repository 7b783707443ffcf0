import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {DatumSetBuilder, decodeDatumSet, encodeDatumSet, encodeDatumSetDelta, resolveDatumSet, snapshotBytes, type DatumSetEntry} from '../../src/core/db/legacy-datum-sets.js'
import {CorruptObjectError, InternalError} from '../../src/core/errors.js'

const hex = (n: number, c: string) => c.repeat(n)

describe('legacy datum sets (job_datums.list, schemas 3-9; read by migration 10)', () => {
  it('round-trips entries in order, 81 bytes each', () => {
    const entries: DatumSetEntry[] = [
      {id: hex(64, 'a'), hash: hex(64, 'b'), state: 'SUCCESS', source: hex(32, 'c')},
      {id: hex(64, '1'), hash: hex(64, '2'), state: 'SKIPPED', source: hex(32, '3')},
      {id: hex(64, 'f'), hash: hex(64, '0'), state: 'RECOVERED', source: hex(32, 'e')},
    ]
    const buf = encodeDatumSet(entries)
    expect(buf.length).toBe(3 * 81)
    expect(decodeDatumSet(buf)).toEqual(entries)
    expect(decodeDatumSet(encodeDatumSet([]))).toEqual([])
  })

  it('refuses malformed entries and blobs instead of storing or returning garbage', () => {
    expect(() => encodeDatumSet([{id: 'xyz', hash: hex(64, 'b'), state: 'SUCCESS', source: hex(32, 'c')}])).toThrow(/bad entry/)
    expect(() => encodeDatumSet([{id: hex(64, 'a'), hash: hex(64, 'b'), state: 'NOPE' as never, source: hex(32, 'c')}])).toThrow(/bad entry/)
    expect(() => decodeDatumSet(Buffer.alloc(80))).toThrow(/whole number/)
    const bad = encodeDatumSet([{id: hex(64, 'a'), hash: hex(64, 'b'), state: 'SUCCESS', source: hex(32, 'c')}])
    bad[64] = 200
    expect(() => decodeDatumSet(bad)).toThrow(/bad state/)
  })

  it('reports a damaged blob as CORRUPT_OBJECT (exit 12) and a bad entry to encode as a bug', () => {
    expect(() => decodeDatumSet(Buffer.alloc(80))).toThrow(CorruptObjectError)
    expect(() => encodeDatumSet([{id: 'xyz', hash: hex(64, 'b'), state: 'SUCCESS', source: hex(32, 'c')}])).toThrow(InternalError)
  })
})

// ---------------------------------------------------------------------------------------------
// deltas

const idOf = (i: number) => i.toString(16).padStart(64, '0')
const job = (j: number) => j.toString(16).padStart(32, '0')
const entry = (i: number, o: Partial<DatumSetEntry> = {}): DatumSetEntry => ({id: idOf(i), hash: idOf(i + 1_000_000), state: 'SUCCESS', source: job(1), ...o})
/** A job's set after it skipped everything of `base` but `ran` (its own datums, in base order, new ones appended), as datumRecords builds it. */
const incremental = (base: DatumSetEntry[], jobId: string, ran: Map<number, string>, added: number[] = [], removed: Set<number> = new Set()) => [
  ...base
    .filter((e) => !removed.has(parseInt(e.id, 16)))
    .map((e): DatumSetEntry => (ran.has(parseInt(e.id, 16)) ? {...e, hash: ran.get(parseInt(e.id, 16))!, state: 'SUCCESS', source: jobId} : {...e, state: 'SKIPPED'})),
  ...added.map((i) => entry(i, {source: jobId})),
]
const delta = (base: DatumSetEntry[], next: DatumSetEntry[]) => encodeDatumSetDelta(new Map(base.map((e) => [e.id, e])), next)
const applyChain = (snapshot: DatumSetEntry[], sets: DatumSetEntry[][]) => {
  const deltas = sets.map((s, i) => delta(i === 0 ? snapshot : sets[i - 1]!, s))
  return resolveDatumSet(encodeDatumSet(snapshot), deltas)
}

describe('datum set deltas', () => {
  const N = 10_000
  const full = Array.from({length: N}, (_, i) => entry(i))

  it('store a 1-of-N incremental job in O(change): one flip flag and one entry, whatever N', () => {
    const next = incremental(full, job(2), new Map([[17, idOf(5)]]))
    const d = delta(full, next)
    expect(d.length).toBeLessThan(100)
    expect(resolveDatumSet(encodeDatumSet(full), [d])).toEqual(next)
    // the job after it: its base is mostly SKIPPED already, the one it ran goes SKIPPED too
    const third = incremental(next, job(3), new Map([[4242, idOf(6)]]), [N + 1], new Set([99]))
    const d2 = delta(next, third)
    expect(d2.length).toBeLessThan(300)
    expect(resolveDatumSet(encodeDatumSet(full), [d, d2])).toEqual(third)
  })

  it('reproduce every order exactly: moves, inserts at the head, in the middle and at the end, drops, the empty set', () => {
    const base = full.slice(0, 50)
    const cases: DatumSetEntry[][] = [
      [],
      [...base].reverse(),
      [entry(1000), ...base],
      [...base.slice(0, 10), entry(1001), entry(1002), ...base.slice(10)],
      [base[49]!, ...base.slice(0, 49)],
      [...base.slice(1), base[0]!],
      base.filter((_, i) => i % 3 !== 0),
      base.map((e, i) => (i % 7 === 0 ? {...e, state: 'SKIPPED' as const} : e)),
      base.map((e, i) => (i % 2 === 0 ? {...e, state: 'SKIPPED' as const} : {...e, source: job(9)})),
    ]
    for (const next of cases) expect(resolveDatumSet(encodeDatumSet(base), [delta(base, next)])).toEqual(next)
    expect(resolveDatumSet(encodeDatumSet([]), [delta([], base)])).toEqual(base)
  })

  it('round-trip any chain of edits (property)', () => {
    const states = ['SUCCESS', 'SKIPPED', 'FAILED', 'RECOVERED'] as const
    const edit = fc.record({
      drop: fc.array(fc.nat(60), {maxLength: 5}),
      add: fc.array(fc.tuple(fc.integer({min: 100, max: 160}), fc.nat(60)), {maxLength: 5}),
      change: fc.array(fc.tuple(fc.nat(60), fc.constantFrom(...states), fc.nat(3)), {maxLength: 8}),
      skipAll: fc.boolean(),
      swap: fc.option(fc.tuple(fc.nat(60), fc.nat(60))),
    })
    fc.assert(
      fc.property(fc.integer({min: 0, max: 60}), fc.array(edit, {minLength: 1, maxLength: 6}), (n, edits) => {
        const snapshot = Array.from({length: n}, (_, i) => entry(i))
        const sets: DatumSetEntry[][] = []
        let cur = snapshot
        for (const [k, e] of edits.entries()) {
          let next = e.skipAll ? cur.map((x) => ({...x, state: 'SKIPPED' as const})) : [...cur]
          const drop = new Set(e.drop.map((i) => idOf(i)))
          next = next.filter((x) => !drop.has(x.id))
          for (const [i, s, h] of e.change) {
            const at = next.findIndex((x) => x.id === idOf(i))
            if (at >= 0) next[at] = {...next[at]!, state: s, hash: idOf(h), source: job(10 + k)}
          }
          for (const [i, pos] of e.add) if (!next.some((x) => x.id === idOf(i))) next.splice(pos % (next.length + 1), 0, entry(i, {source: job(10 + k)}))
          if (e.swap && next.length) {
            const [a, b] = [e.swap[0] % next.length, e.swap[1] % next.length]
            ;[next[a], next[b]] = [next[b]!, next[a]!]
          }
          sets.push(next)
          cur = next
        }
        expect(applyChain(snapshot, sets)).toEqual(cur)
      }),
      {numRuns: 300},
    )
  })

  it('refuse a delta that does not fit its base, or is damaged, as CORRUPT_OBJECT', () => {
    const base = full.slice(0, 20)
    const next = incremental(base, job(2), new Map([[3, idOf(5)]]), [500], new Set([4]))
    const d = delta(base, next)
    const other = full.slice(100, 120)
    expect(() => resolveDatumSet(encodeDatumSet(other), [d])).toThrow(CorruptObjectError) // drops a datum its base lacks
    expect(() => resolveDatumSet(encodeDatumSet(base), [d.subarray(0, d.length - 1)])).toThrow(CorruptObjectError)
    expect(() => resolveDatumSet(encodeDatumSet(base), [Buffer.concat([d, Buffer.from([0])])])).toThrow(/after its last record/)
    const wrongCount = Buffer.from(d)
    wrongCount[1] = 3
    expect(() => resolveDatumSet(encodeDatumSet(base), [wrongCount])).toThrow(/not the 3 it records/)
    const badVersion = Buffer.from(d)
    badVersion[0] = 9
    expect(() => resolveDatumSet(encodeDatumSet(base), [badVersion])).toThrow(/unknown version/)
    // inserting a datum the base already has
    const dup = delta(base.slice(1), base)
    expect(() => resolveDatumSet(encodeDatumSet(base), [dup])).toThrow(/there already/)
    expect(() => new DatumSetBuilder([base[0]!, base[0]!])).toThrow(/twice/)
  })

  it('refuse to encode a set with a repeated datum (a bug, not data)', () => {
    expect(() => delta(full.slice(0, 3), [full[0]!, full[0]!])).toThrow(InternalError)
    expect(() => delta(full.slice(0, 3), [entry(9), full[0]!, entry(9)])).toThrow(InternalError)
  })

  it('size a snapshot at 81 bytes an entry', () => {
    expect(snapshotBytes(1000)).toBe(encodeDatumSet(full.slice(0, 1000)).length)
  })
})
