// The server's own reading of ModifyFile's request stream (src/server/grpc/request-reader.ts and
// pfs-files.ts `splitAddFile`): large add_file messages split into their decoded head and their
// bytes, everything else decoded whole, grpc-js's limits and texts kept.
import {EventEmitter} from 'node:events'
import {gzipSync} from 'node:zlib'
import {describe, expect, it} from 'vitest'
import {serviceDefinition} from '../../src/server/grpc/definitions.js'
import {splitAddFile} from '../../src/server/grpc/pfs-files.js'
import {HIGH_WATER_BYTES, readRequests, type RawRequestStream, type Request} from '../../src/server/grpc/request-reader.js'

const modifyFile = serviceDefinition('pfs_v2.API').ModifyFile!
const encode = (m: unknown) => modifyFile.requestSerialize(m) as Buffer
const decode = (b: Buffer) => modifyFile.requestDeserialize(b) as Record<string, unknown>
const frame = (b: Buffer, compressed = false) => {
  const h = Buffer.alloc(5)
  h[0] = compressed ? 1 : 0
  h.writeUInt32BE(b.length, 1)
  return Buffer.concat([h, b])
}
const bytes = (n: number, seed: number) => {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff
  return b
}
const KiB = 1024

describe('splitAddFile', () => {
  it('splits an add_file whose raw ends the message: the head decodes as the whole does, less the bytes', () => {
    for (const [path, datum] of [['/a', ''], ['/données/图.bin', 'd1'], ['/' + 'p'.repeat(300), '']]) {
      const value = bytes(300 * KiB, 1)
      const msg = encode({add_file: {path, datum, raw: {value}}})
      const split = splitAddFile(msg.subarray(0, 64 * KiB), msg.length)
      expect(split).toBeDefined()
      expect(msg.subarray(split!.at).equals(value)).toBe(true)
      const whole = decode(msg) as {add_file: {raw: {value: Buffer}}}
      whole.add_file.raw.value = Buffer.alloc(0)
      expect(split!.head).toEqual(whole)
    }
  })

  it('leaves everything else to the whole decode', () => {
    const value = bytes(300 * KiB, 2)
    const msg = encode({add_file: {path: '/a', raw: {value}}})
    // another message kind; a url source; a field after raw; a prefix that stops before raw
    expect(splitAddFile(encode({delete_file: {path: '/a'}}), 10)).toBeUndefined()
    const url = encode({add_file: {path: '/a', url: {URL: 'http://x/' + 'y'.repeat(300 * KiB)}}})
    expect(splitAddFile(url.subarray(0, 64 * KiB), url.length)).toBeUndefined()
    const trailing = Buffer.concat([msg.subarray(0, 1), Buffer.from([0]), msg.subarray(1)]) // lengths no longer add up
    expect(splitAddFile(trailing.subarray(0, 64 * KiB), trailing.length)).toBeUndefined()
    const longPath = encode({add_file: {path: '/' + 'p'.repeat(70 * KiB), raw: {value}}})
    expect(splitAddFile(longPath.subarray(0, 64 * KiB), longPath.length)).toBeUndefined()
  })
})

/** A stand-in for Node's Http2Stream: data arrives in `chunks`, pause/resume recorded. */
class FakeStream extends EventEmitter {
  paused = true
  pauses = 0
  pause() {
    this.paused = true
    this.pauses++
    return this
  }
  resume() {
    this.paused = false
    this.emit('resumed')
    return this
  }
}

/** Feed `data` in `size` pieces, waiting while the reader has the stream paused. */
async function feed(s: FakeStream, data: Buffer, size: number, end = true) {
  for (let at = 0; at < data.length; at += size) {
    while (s.paused) await new Promise((r) => s.once('resumed', r))
    s.emit('data', Buffer.from(data.subarray(at, at + size)))
    await new Promise((r) => setImmediate(r))
  }
  if (end) s.emit('end')
}

const opts = {maxMessageBytes: 20 * 1024 * KiB, encoding: 'gzip', deserialize: (b: Buffer) => decode(b), splitter: splitAddFile as never}

/** Every request, a streamed one as its head and its bytes joined. */
async function collect(reqs: AsyncIterable<Request<Record<string, unknown>>>) {
  const out: {msg: Record<string, unknown>; payload?: Buffer}[] = []
  for await (const r of reqs) {
    if ('msg' in r) out.push({msg: r.msg})
    else {
      const parts: Buffer[] = []
      for await (const b of r.payload) parts.push(b)
      out.push({msg: r.streamed.head, payload: Buffer.concat(parts)})
    }
  }
  return out
}

describe('readRequests', () => {
  it('gives small messages decoded, large add_files as head + bytes, a gzip-compressed one inflated, in order', async () => {
    const big = bytes(5 * 1024 * KiB, 3)
    const small = {add_file: {path: '/s', raw: {value: Buffer.from('hi')}}}
    const data = Buffer.concat([
      frame(encode({set_commit: {id: 'abc'}})),
      frame(encode({add_file: {path: '/big', raw: {value: big}}})),
      frame(gzipSync(encode(small)), true),
      frame(encode({delete_file: {path: '/x'}})),
    ])
    const s = new FakeStream()
    s.on('data', () => {}) // grpc-js's listener: the reader takes it off
    const reqs = readRequests(s as unknown as RawRequestStream, opts)
    const [got] = await Promise.all([collect(reqs), feed(s, data, 16 * KiB)])
    expect(got.map((r) => r.msg.body)).toEqual(['set_commit', 'add_file', 'add_file', 'delete_file'])
    expect(got[1]!.payload!.equals(big)).toBe(true)
    expect((got[1]!.msg.add_file as {path: string}).path).toBe('/big')
    expect(got[2]!.payload).toBeUndefined()
    expect(Buffer.from((got[2]!.msg.add_file as {raw: {value: Buffer}}).raw.value).toString()).toBe('hi')
    expect(s.listenerCount('data')).toBe(1)
  })

  it('holds at most about HIGH_WATER_BYTES of what arrived and was not taken', async () => {
    const big = bytes(12 * 1024 * KiB, 4)
    const s = new FakeStream()
    const it = readRequests(s as unknown as RawRequestStream, opts)[Symbol.asyncIterator]()
    void feed(s, frame(encode({add_file: {path: '/big', raw: {value: big}}})), 64 * KiB)
    const first = (await it.next()).value as {payload: AsyncIterable<Buffer>}
    // nothing taken for a while: the feeder stops at the high-water mark
    await new Promise((r) => setTimeout(r, 50))
    expect(s.paused).toBe(true)
    expect(s.pauses).toBe(1)
    let n = 0
    for await (const b of first.payload) n += b.length
    expect(n).toBe(big.length)
    expect(HIGH_WATER_BYTES).toBeLessThan(big.length)
    expect((await it.next()).done).toBe(true)
  })

  it("refuses a message over the limit with grpc-js's RESOURCE_EXHAUSTED text, a cut stream with INTERNAL, a reset with CANCELLED", async () => {
    const over = new FakeStream()
    const head = Buffer.alloc(5)
    head.writeUInt32BE(20 * 1024 * KiB + 1, 1)
    const r1 = collect(readRequests(over as unknown as RawRequestStream, opts))
    over.emit('data', head)
    await expect(r1).rejects.toMatchObject({code: 8, details: 'Received message larger than max (20971521 vs 20971520)'})

    const cut = new FakeStream()
    const r2 = collect(readRequests(cut as unknown as RawRequestStream, opts))
    const msg = frame(encode({add_file: {path: '/big', raw: {value: bytes(1024 * KiB, 5)}}}))
    await feed(cut, msg.subarray(0, msg.length - 10), 64 * KiB)
    await expect(r2).rejects.toMatchObject({code: 13})

    const reset = new FakeStream()
    const r3 = collect(readRequests(reset as unknown as RawRequestStream, opts))
    await feed(reset, msg.subarray(0, 300 * KiB), 64 * KiB, false)
    reset.emit('aborted')
    await expect(r3).rejects.toMatchObject({code: 1})
  })
})
