// readContent (store/content.ts) streams any byte range of a file, reading only the chunks the
// range covers (an S3 ranged GET of 8 MiB must not read from the file's start, nor past its end).
import {randomBytes} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {DEFAULT_CHUNKER_PARAMS} from '../../src/core/store/chunker.js'
import {readContent, writeContent} from '../../src/core/store/content.js'
import type {BlobStore, PackWriter} from '../../src/core/store/pack-store.js'

function memStore() {
  const blobs = new Map<string, Buffer>()
  const read: string[] = []
  const get = (id: Buffer) => {
    read.push(id.toString('hex'))
    return blobs.get(id.toString('hex'))!
  }
  return {
    read,
    writer: {add: (id: Buffer, data: Buffer) => (blobs.set(id.toString('hex'), Buffer.from(data)), true), full: false, drain: async () => {}} as unknown as PackWriter,
    store: {readBlob: get, readBlobs: (ids: Buffer[]) => ids.map(get)} as unknown as BlobStore,
  }
}

async function all(s: NodeJS.ReadableStream): Promise<Buffer> {
  const out: Buffer[] = []
  for await (const b of s) out.push(b as Buffer)
  return Buffer.concat(out)
}

describe('readContent', () => {
  it('streams exactly the bytes of a range, reading only the chunks it covers', async () => {
    const m = memStore()
    const data = randomBytes(6 * 1024 * 1024 + 333)
    const c = await writeContent([data], m.writer, DEFAULT_CHUNKER_PARAMS)
    expect(c.chunks.length).toBeGreaterThan(20)
    const starts = [0]
    for (const s of c.sizes) starts.push(starts[starts.length - 1]! + s)
    const ranges: [number, number][] = [
      [0, data.length],
      [0, 1],
      [5, 6],
      [starts[3]!, starts[4]!],
      [starts[3]! - 1, starts[4]! + 1],
      [1024 * 1024, 3 * 1024 * 1024],
      [data.length - 10, data.length],
      [starts[10]! + 7, starts[17]! - 3],
    ]
    for (const [from, to] of ranges) {
      m.read.length = 0
      expect((await all(readContent(m.store, c, from, undefined, to))).equals(data.subarray(from, to))).toBe(true)
      // the chunks holding bytes from..to-1, each once
      const first = starts.findIndex((s, i) => s <= from && from < starts[i + 1]!)
      const last = starts.findIndex((s, i) => s <= to - 1 && to - 1 < starts[i + 1]!)
      expect(m.read).toEqual(c.chunks.slice(first, last + 1).map((x) => x.toString('hex')))
    }
    // no end: to the end of the file
    expect((await all(readContent(m.store, c, 12345))).equals(data.subarray(12345))).toBe(true)
  })
})
