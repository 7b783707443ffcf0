// The S3 gateway's off-thread body hashing (src/server/s3/body-hasher.ts): the digests are those
// of the bytes given, in order, whatever their pieces; the reader is held back when too much
// waits for the worker; a closed or dead worker fails its bodies, never passes them.
import {createHash, randomBytes} from 'node:crypto'
import {afterEach, describe, expect, it} from 'vitest'
import {BodyHasher} from '../../src/server/s3/body-hasher.js'

const MIB = 1024 * 1024
let h: BodyHasher
afterEach(async () => {
  await h?.close()
})

/** `data` cut into pieces of the given sizes (the rest in one last piece) */
function pieces(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = []
  let at = 0
  for (const n of sizes) {
    if (at >= data.length) break
    out.push(data.subarray(at, at + n))
    at += n
  }
  if (at < data.length) out.push(data.subarray(at))
  return out
}

describe('BodyHasher', () => {
  it('gives the MD5 and SHA-256 of the bytes in order, across block boundaries, for bodies hashed at once', async () => {
    h = new BodyHasher()
    const a = randomBytes(3 * MIB + 12345)
    const b = randomBytes(MIB)
    const sa = h.begin({sha256: true})
    const sb = h.begin({sha256: false})
    const pa = pieces(a, [1, MIB - 1, 65536, 7, MIB, 3])
    const pb = pieces(b, [MIB / 2, MIB / 2])
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
      if (pa[i]) await sa.update(pa[i]!)
      if (pb[i]) await sb.update(pb[i]!)
    }
    const [da, db] = await Promise.all([sa.digest(), sb.digest()])
    expect(da.md5.toString('hex')).toBe(createHash('md5').update(a).digest('hex'))
    expect(da.sha256!.toString('hex')).toBe(createHash('sha256').update(a).digest('hex'))
    expect(db.md5.toString('hex')).toBe(createHash('md5').update(b).digest('hex'))
    expect(db.sha256).toBeUndefined()
    const empty = h.begin({sha256: true})
    expect((await empty.digest()).sha256!.toString('hex')).toBe(createHash('sha256').digest('hex'))
  })

  it('copies what it is given: the caller may reuse its buffer at once', async () => {
    h = new BodyHasher()
    const s = h.begin({sha256: false})
    const buf = Buffer.alloc(MIB + 5, 1)
    const want = createHash('md5')
    for (let i = 0; i < 3; i++) {
      buf.fill(i + 1)
      want.update(buf)
      await s.update(buf)
    }
    expect((await s.digest()).md5.toString('hex')).toBe(want.digest('hex'))
  })

  it('holds readers back once 16 MiB, of all bodies together, wait for the worker, and lets them go as blocks are hashed', async () => {
    h = new BodyHasher()
    const s = h.begin({sha256: true})
    const block = randomBytes(MIB)
    const waits: (Promise<void> | undefined)[] = []
    // synchronously: the worker's answers cannot arrive in between
    for (let i = 0; i < 17; i++) waits.push(s.update(block))
    expect(waits.slice(0, 15).every((w) => w === undefined)).toBe(true)
    expect(waits[16]).toBeInstanceOf(Promise)
    // another body's reader waits its turn too
    const other = h.begin({sha256: false})
    const otherWait = other.update(block)
    expect(otherWait).toBeInstanceOf(Promise)
    await Promise.all([waits[16], otherWait])
    const want = createHash('md5')
    for (let i = 0; i < 17; i++) want.update(block)
    expect((await s.digest()).md5.toString('hex')).toBe(want.digest('hex'))
    expect((await other.digest()).md5.toString('hex')).toBe(createHash('md5').update(block).digest('hex'))
  })

  it('a worker that dies fails the bodies it had (never a digest); the next body gets a new worker', async () => {
    h = new BodyHasher()
    const s = h.begin({sha256: true})
    await s.update(randomBytes(2 * MIB))
    // a reader waiting for room when the worker dies is failed too
    const block = randomBytes(MIB)
    let wait: Promise<void> | undefined
    const full = h.begin({sha256: false})
    for (let i = 0; i < 17 && !wait; i++) wait = full.update(block)
    const waitFailed = expect(wait).rejects.toThrow(/exited/)
    await (h as unknown as {worker: {terminate(): Promise<number>}}).worker.terminate()
    await waitFailed
    await expect(s.digest()).rejects.toThrow(/exited/)
    expect(() => s.update(Buffer.from('more'))).toThrow(/exited/)
    const next = h.begin({sha256: false})
    await next.update(Buffer.from('abc'))
    expect((await next.digest()).md5.toString('hex')).toBe(createHash('md5').update('abc').digest('hex'))
  })

  it('close() fails a body still waiting and refuses new ones', async () => {
    h = new BodyHasher()
    const s = h.begin({sha256: false})
    await s.update(randomBytes(MIB))
    const failed = expect(s.digest()).rejects.toThrow(/closed/)
    await h.close()
    await failed
    expect(() => h.begin({sha256: false})).toThrow(/closed/)
  })
})
