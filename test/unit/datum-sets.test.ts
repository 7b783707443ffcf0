import {describe, expect, it} from 'vitest'
import {decodeDatumSet, encodeDatumSet, type DatumSetEntry} from '../../src/core/db/datum-sets.js'
import {CorruptObjectError, InternalError} from '../../src/core/errors.js'

const hex = (n: number, c: string) => c.repeat(n)

describe('datum sets (job_datums.list)', () => {
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
