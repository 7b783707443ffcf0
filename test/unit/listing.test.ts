/**
 * Streamed rendering (cli/listing.ts, cli/format/values.ts writeTable): written piece by piece,
 * the output is byte for byte what the collected rendering gives.
 */
import {describe, expect, it} from 'vitest'
import {table, writeTable} from '../../src/cli/format/values.js'
import {bufferedWriter, writeJsonArray} from '../../src/cli/listing.js'

const collect = (f: (write: (s: string) => void) => void) => {
  const parts: string[] = []
  f((s) => parts.push(s))
  return parts
}

describe('writeJsonArray', () => {
  const cases: unknown[][] = [
    [],
    [{}],
    [[]],
    [1, 'two', null, true],
    [{a: 1, b: {c: [1, 2, {d: 'x\ny'}], e: []}}, {f: 'line\nbreak "quoted"'}, [[], {}]],
    [{commit: {repo: {name: 'r'}, id: 'x'}, child_commits: [], details: {size_bytes: 3}}],
  ]
  for (const c of cases) {
    it(`equals JSON.stringify(…, null, 2) for ${JSON.stringify(c).slice(0, 40)}`, () => {
      const parts = collect((w) => writeJsonArray(c, w))
      expect(parts.join('')).toBe(JSON.stringify(c, null, 2))
      expect(parts.length).toBe(c.length + 1) // one piece per element, and the close
    })
  }
  it('reads its input lazily, one element at a time', () => {
    const seen: number[] = []
    const parts: string[] = []
    function* gen() {
      for (let i = 0; i < 3; i++) {
        seen.push(i)
        yield {i}
      }
    }
    writeJsonArray(gen(), (s) => parts.push(`${seen.length}:${s.length}`))
    expect(parts.map((p) => p.split(':')[0])).toEqual(['1', '2', '3', '3'])
  })
})

describe('writeTable', () => {
  it('writes the same text as table, a line at a time', () => {
    const headers = ['A', 'LONGER', 'C', 'LAST']
    const rows = [
      ['x', 'y', '', 'free text'],
      ['wider cell', 'z', 'c', ''],
      ['', '', 'wide c column', 'end  '],
    ]
    const parts = collect((w) => writeTable(headers, () => rows, w))
    expect(parts.join('')).toBe(table(headers, rows))
    expect(parts).toHaveLength(rows.length + 1)
    expect(collect((w) => writeTable(headers, () => [], w)).join('')).toBe(table(headers, []))
  })
})

describe('bufferedWriter', () => {
  it('passes everything through, in order, in few writes', () => {
    const out: string[] = []
    const b = bufferedWriter((s) => out.push(s), 10)
    for (const s of ['abc', 'defgh', 'ij', 'k', 'lmnopqrstuv', 'w']) b.write(s)
    b.flush()
    b.flush()
    expect(out.join('')).toBe('abcdefghijklmnopqrstuvw')
    expect(out.length).toBeLessThan(6)
  })
})
