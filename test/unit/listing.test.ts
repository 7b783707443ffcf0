/**
 * Streamed rendering (cli/listing.ts, cli/format/values.ts writeTable): written piece by piece,
 * the output is byte for byte what the collected rendering gives. writeTableStream (one pass,
 * columns sized per block) equals it up to one block, and writes a block before reading on.
 */
import {describe, expect, it} from 'vitest'
import {table, writeTable, writeTableStream} from '../../src/cli/format/values.js'
import {bufferedWriter, Listing, rawItems, writeJsonArray, writeJsonStream, yamlStream} from '../../src/cli/listing.js'

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

describe('writeTableStream', () => {
  const headers = ['A', 'LONGER', 'LAST']
  const rows = Array.from({length: 10}, (_, i) => [`r${i}`, 'y'.repeat(i % 4), `end ${i}`])

  it('is table for at most one block, and for an empty list', () => {
    for (const block of [10, 11, 1000]) expect(collect((w) => writeTableStream(headers, rows, w, block)).join('')).toBe(table(headers, rows))
    expect(collect((w) => writeTableStream(headers, [], w, 3)).join('')).toBe(table(headers, []))
  })

  it('sizes columns over the rows read so far, a block at a time: widths only grow', () => {
    const rs = [['a', 'b', 'c'], ['bb', 'b', 'c'], ['cccccccc', 'b', 'c'], ['d', 'LONGER+', 'c'], ['e', 'b', 'c']]
    const text = collect((w) => writeTableStream(['H1', 'H2', 'H3'], rs, w, 2)).join('')
    expect(text).toBe(
      [
        'H1   H2   H3', // block 1: widths 2, 2
        'a    b    c',
        'bb   b    c',
        'cccccccc   b         c', // block 2: widths 8, 7
        'd          LONGER+   c',
        'e          b         c', // block 3: no wider cell, widths kept
        '',
      ].join('\n'),
    )
  })

  it('writes the header and the first block before reading past it', () => {
    let read = 0
    const at: number[] = []
    function* gen() {
      for (const r of rows) {
        read++
        yield r
      }
    }
    writeTableStream(headers, gen(), () => at.push(read), 4)
    expect(at[0]).toBe(4) // the header, once 4 rows are read
    expect(at.slice(0, 5)).toEqual([4, 4, 4, 4, 4])
    expect(at.slice(5, 9)).toEqual([8, 8, 8, 8])
    expect(at.slice(9)).toEqual([10, 10])
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

describe('--raw streams (writeJsonStream, yamlStream, rawItems)', () => {
  it('one indented object per item, each newline-ended; nothing for no items', () => {
    const items = [{a: 1, b: {c: 'x}{y'}}, {a: 2}]
    expect(collect((w) => writeJsonStream(items, w)).join('')).toBe('{\n  "a": 1,\n  "b": {\n    "c": "x}{y"\n  }\n}\n{\n  "a": 2\n}\n')
    expect(collect((w) => writeJsonStream([], w))).toEqual([])
  })

  it('YAML documents after the first open with ---', () => {
    const s = (x: unknown) => `doc ${JSON.stringify(x)}\n`
    expect(collect((w) => yamlStream(s, [1, 2, 3], w)).join('')).toBe('doc 1\n---\ndoc 2\n---\ndoc 3\n')
    expect(collect((w) => yamlStream(s, [1], w)).join('')).toBe('doc 1\n')
    expect(collect((w) => yamlStream(s, [], w))).toEqual([])
  })

  it('items: a list its elements, a Listing its items, one object itself, nothing for none', () => {
    expect([...rawItems([1, 2])]).toEqual([1, 2])
    expect([...rawItems(new Listing([3, 4], () => {}))]).toEqual([3, 4])
    expect([...rawItems({a: 1})]).toEqual([{a: 1}])
    expect([...rawItems(undefined)]).toEqual([])
    expect([...rawItems(null)]).toEqual([])
  })
})
