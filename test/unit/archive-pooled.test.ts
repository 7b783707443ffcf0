/**
 * The archive reader's file path (src/core/archive/blocks.ts, hasher.ts, format.ts): a file
 * read into a pool of reused SharedArrayBuffer blocks, its objects checked in a worker thread.
 * It must read exactly what the stream path reads, refuse what the stream path refuses (a
 * flipped byte in any object's id or bytes, before that object is yielded), and never reuse a
 * block while the consumer still holds bytes of it (the `settled` contract).
 */
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {FileBlocks} from '../../src/core/archive/blocks.js'
import {ArchiveWriter, readArchive, type ArchiveFrame, type ArchiveHeader} from '../../src/core/archive/format.js'
import {ObjectHasher} from '../../src/core/archive/hasher.js'
import {refusalCode} from '../helpers/refusal.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest()
const header: ArchiveHeader = {format: 'pach-archive', version: 1, pach_version: 'test', schema: 12, created: '2026-01-01T00:00:00.000Z', chunker: {}, scope: {all: true, requested: [], added_by_provenance: []}, secrets_needed: []}
const dir = mkdtempSync(join(tmpdir(), 'pach-pooled-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
let files = 0

/** An archive of two records and `blobs` random chunks of 1 byte to 40 KiB (and a tree). */
async function archive(blobs: number): Promise<{bytes: Buffer; data: Buffer[]}> {
  const parts: Buffer[] = []
  const w = new ArchiveWriter(async (bufs) => void parts.push(...bufs))
  await w.header(header)
  for (let i = 0; i < 2; i++) await w.record({t: 'commits', row: {id: `c${i}`}})
  const data: Buffer[] = []
  for (let i = 0; i < blobs; i++) {
    const d = randomBytes(1 + ((i * 7919) % (40 * 1024)))
    data.push(d)
    await w.object('blob', sha(d), d)
  }
  const tree = Buffer.from('tree bytes')
  await w.object('tree', sha(tree), tree)
  await w.finish()
  return {bytes: Buffer.concat(parts), data}
}

function toFile(b: Buffer): string {
  const p = join(dir, `a${files++}.pacharc`)
  writeFileSync(p, b)
  return p
}

/** Frames as plain values (an object's bytes by their hash and length, taken as the frame comes: the pool reuses its blocks). */
type Plain = {kind: string; type?: string; id?: string; data?: string; json?: string}
const digest = (b: Buffer) => `${sha(b).toString('hex')}:${b.length}`
const plain = (f: ArchiveFrame): Plain => (f.kind === 'object' ? {kind: f.kind, type: f.type, id: f.id.toString('hex'), data: digest(f.data)} : {kind: f.kind, json: JSON.stringify(f.kind === 'header' ? f.header : f.record)})

async function readPooled(path: string, opts: {blockSize?: number; blocks?: number} = {}, settled?: () => Promise<void>, onFrame?: (f: ArchiveFrame) => void): Promise<Plain[]> {
  const src = await FileBlocks.open(path, opts)
  const out: Plain[] = []
  try {
    for await (const f of readArchive(src, {}, {settled})) {
      onFrame?.(f)
      out.push(plain(f))
    }
  } finally {
    await src.close()
  }
  return out
}

async function readStream(b: Buffer): Promise<Plain[]> {
  async function* chunks() {
    for (let i = 0; i < b.length; i += 4096) yield b.subarray(i, i + 4096)
  }
  const out: Plain[] = []
  for await (const f of readArchive(chunks())) out.push(plain(f))
  return out
}


describe('ObjectHasher (the worker)', () => {
  it('passes payloads whose bytes hash to their id and names the first that does not, in shared and ordinary memory', async () => {
    const h = new ObjectHasher()
    try {
      const shared = (b: Buffer) => {
        const s = Buffer.from(new SharedArrayBuffer(b.length + 5)).subarray(5)
        b.copy(s)
        return s
      }
      const payloads = Array.from({length: 40}, (_, i) => {
        const d = randomBytes(i * 100)
        const p = Buffer.concat([sha(d), d])
        return i % 3 === 0 ? p : shared(p)
      })
      expect(await h.verify(payloads)).toBe(-1)
      expect(await h.verify([])).toBe(-1)
      for (const bad of [0, 1, 17, 39]) {
        const copy = payloads.map((p) => (p.buffer instanceof SharedArrayBuffer ? shared(p) : Buffer.from(p)))
        copy[bad]![copy[bad]!.length - 1] ^= 1 // the last byte (the id, for the empty payload 0)
        expect(await h.verify(copy)).toBe(bad)
      }
      // one bad in each memory: the first wins
      const two = payloads.map((p) => (p.buffer instanceof SharedArrayBuffer ? shared(p) : Buffer.from(p)))
      two[4]![40] ^= 1 // shared
      two[9]![40] ^= 1 // ordinary
      expect(await h.verify(two)).toBe(4)
    } finally {
      await h.close()
    }
  })
})

describe('FileBlocks', () => {
  it('hands out the file in order, waits while every block is out, and a close wakes a waiting next', async () => {
    const bytes = randomBytes(10_000)
    const path = toFile(bytes)
    const src = await FileBlocks.open(path, {blockSize: 1000, blocks: 3})
    const got: Buffer[] = []
    const out = [(await src.next())!, (await src.next())!, (await src.next())!]
    got.push(...out.map((x) => Buffer.from(x)))
    // every block is out (the read ahead waits for one): the next read waits for a release
    let fourth: Buffer | null | undefined
    const p = src.next().then((x) => (fourth = x))
    await new Promise((r) => setTimeout(r, 20))
    expect(fourth).toBeUndefined()
    src.release(out[0]!)
    await p
    got.push(Buffer.from(fourth!))
    for (const x of [out[1]!, out[2]!, fourth!]) src.release(x)
    for (let x = await src.next(); x; x = await src.next()) {
      got.push(Buffer.from(x))
      src.release(x)
    }
    expect(Buffer.concat(got).equals(bytes)).toBe(true)
    await src.close()

    const held = await FileBlocks.open(path, {blockSize: 1000, blocks: 2})
    await held.next()
    await held.next()
    const waiting = held.next()
    await held.close()
    expect(await waiting).toBeNull()
  })
})

describe('readArchive from a pooled file', () => {
  it('reads what the stream path reads, whatever the block size', async () => {
    const {bytes} = await archive(60)
    const path = toFile(bytes)
    const want = await readStream(bytes)
    for (const blockSize of [1000, 4096, 65_536, 1 << 20]) expect(await readPooled(path, {blockSize})).toEqual(want)
  })

  it('reuses a block only once the consumer has let go of its bytes (settled)', async () => {
    const {bytes, data} = await archive(400) // ~8 MiB through 12 blocks of 16 KiB: each reused many times
    const path = toFile(bytes)
    let held: {id: Buffer; data: Buffer}[] = []
    let settles = 0
    let overwritten = 0
    const settled = async () => {
      const mine = held
      held = []
      await new Promise((r) => setTimeout(r, 1)) // a consumer still writing them
      // nothing handed over before this settle was overwritten meanwhile
      for (const o of mine) if (!sha(o.data).equals(o.id)) overwritten++
      settles++
    }
    const frames = await readPooled(path, {blockSize: 16 * 1024, blocks: 12}, settled, (f) => {
      if (f.kind === 'object') held.push({id: f.id, data: f.data})
    })
    const blobs = frames.filter((f) => f.type === 'blob')
    expect(blobs.map((f) => f.data!)).toEqual(data.map(digest))
    expect(overwritten).toBe(0)
    expect(settles).toBeGreaterThan(10)
  })

  it('a consumer that failed (settled rejects) does not leave the reader waiting for a block forever', {timeout: 30_000}, async () => {
    const {bytes} = await archive(400)
    const path = toFile(bytes)
    let settles = 0
    const frames = await readPooled(path, {blockSize: 16 * 1024, blocks: 12}, () => {
      settles++
      return Promise.reject(new Error('the pack append failed'))
    })
    expect(frames.filter((f) => f.type === 'blob').length).toBe(400)
    expect(settles).toBeGreaterThan(10)
  })

  it('refuses a flipped byte in any object, before yielding that object, and anywhere else', async () => {
    const {bytes} = await archive(30)
    // the byte offsets of the objects' ids and data, and a sample of the rest
    const at: number[] = []
    for (let p = 8; p < bytes.length - 8; ) {
      const kind = bytes[p]!
      const len = bytes.readUInt32BE(p + 1)
      if (kind === 0x42 || kind === 0x54) at.push(p + 5, p + 5 + 31, p + 5 + 32, p + 5 + len - 1, p + 5 + 32 + Math.floor((len - 32) / 2))
      else at.push(p, p + 1, p + 5)
      p += 5 + len
    }
    at.push(bytes.length - 1, bytes.length - 9)
    for (const i of at) {
      const b = Buffer.from(bytes)
      b[i] ^= 0x20
      const path = toFile(b)
      const seen: string[] = []
      const code = await refusalCode(
        readPooled(path, {blockSize: 4096}, undefined, (f) => {
          if (f.kind === 'object') {
            expect(sha(f.data).equals(f.id)).toBe(true) // only verified objects come out
            seen.push(f.id.toString('hex'))
          }
        }),
      )
      expect([i, code]).not.toEqual([i, 'ACCEPTED'])
      expect(['ARCHIVE_DAMAGED', 'NOT_AN_ARCHIVE', 'FORMAT_TOO_NEW']).toContain(code)
      rmSync(path)
    }
  })

  it('refuses a truncated file', async () => {
    const {bytes} = await archive(20)
    for (const cut of [9, Math.floor(bytes.length / 2), bytes.length - 1]) {
      expect(await refusalCode(readPooled(toFile(bytes.subarray(0, cut)), {blockSize: 4096}))).toBe('ARCHIVE_DAMAGED')
    }
  })
})
