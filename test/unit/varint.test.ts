// Unsigned LEB128 varints (core/store/varint.ts): written and read back at every length up to
// a safe integer; a read that runs off its buffer or past its byte limit gives undefined.
import {describe, expect, it} from 'vitest'
import {readVarint, varintLength, writeVarint} from '../../src/core/store/varint.js'

describe('varints', () => {
  it('round-trips values of every length, from an offset', () => {
    for (const n of [0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 31, 2 ** 35 + 7, Number.MAX_SAFE_INTEGER]) {
      const buf = Buffer.alloc(2 + varintLength(n))
      const end = writeVarint(buf, 2, n)
      expect(end).toBe(buf.length)
      expect(readVarint(buf, 2, 10)).toEqual([n, end])
    }
    // protobuf's example: 150 is 0x96 0x01
    expect(readVarint(Buffer.from([0x96, 0x01, 0xff]), 0)).toEqual([150, 2])
  })

  it('gives undefined for a varint cut off by its buffer or longer than its limit', () => {
    expect(readVarint(Buffer.from([0x80, 0x80]), 0)).toBeUndefined()
    expect(readVarint(Buffer.from([]), 0)).toBeUndefined()
    const six = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
    expect(readVarint(six, 0, 5)).toBeUndefined()
    expect(readVarint(six, 0, 6)).toEqual([2 ** 35, 6])
  })
})
