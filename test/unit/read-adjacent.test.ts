/**
 * BlobStore.readAdjacent (store/pack-store.ts): blobs read in the order they were written come
 * back with few index lookups, blobs in any other order (across packs, shuffled, repeated)
 * come back all the same, a damaged blob is never returned, and a guess that lands on other
 * bytes is not taken for damage.
 */
import {mkdtempSync, openSync, rmSync, writeSync, closeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it, vi} from 'vitest'
import * as objects from '../../src/core/db/objects.js'
import {CorruptObjectError} from '../../src/core/errors.js'
import {initPach, type Pach} from '../../src/core/pach.js'
import {sha256} from '../../src/core/store/hash.js'

const dirs: string[] = []
const opened: Pach[] = []
afterEach(() => {
  vi.restoreAllMocks()
  for (const p of opened.splice(0)) p.close()
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})

/** A project whose store holds `n` distinct blobs of varied sizes, written in order into packs of `packTarget`. */
async function stored(n: number, packTarget: number): Promise<{p: Pach; ids: Buffer[]; data: Buffer[]}> {
  const dir = mkdtempSync(join(tmpdir(), 'pach-adjacent-'))
  dirs.push(dir)
  const p = initPach(dir)
  opened.push(p)
  ;(p.ctx.store.opts as {packTarget?: number}).packTarget = packTarget
  const data = Array.from({length: n}, (_, i) => {
    const b = Buffer.alloc(100 + ((i * 37) % 900), i % 251)
    b.writeUInt32BE(i, 0)
    return b
  })
  const ids = data.map((d) => sha256(d))
  const w = p.ctx.store.writer()
  for (let i = 0; i < n; i++) {
    w.add(ids[i]!, data[i]!)
    if (w.full) await w.drain()
  }
  await w.close()
  w.release()
  return {p, ids, data}
}

describe('BlobStore.readAdjacent', () => {
  it('reads blobs in written order with a few index lookups, across pack boundaries', async () => {
    const {p, ids, data} = await stored(3000, 256 * 1024)
    const lookups = vi.spyOn(objects, 'getBlobLocation')
    const got = p.ctx.store.readAdjacent(ids, data.map((d) => d.length))
    expect(got.map((b) => b.toString('hex'))).toEqual(data.map((d) => d.toString('hex')))
    // ~1.6 MiB in 256 KiB packs: one lookup per pack and per doubling of the guess, not per blob
    expect(lookups.mock.calls.length).toBeGreaterThan(0)
    expect(lookups.mock.calls.length).toBeLessThan(100)
  })

  it('reads blobs in any order, repeated ones too', async () => {
    const {p, ids, data} = await stored(500, 64 * 1024)
    const order = Array.from({length: 800}, (_, i) => (i * 7919) % 500)
    const got = p.ctx.store.readAdjacent(
      order.map((i) => ids[i]!),
      order.map((i) => data[i]!.length),
    )
    expect(got.map((b) => b.toString('hex'))).toEqual(order.map((i) => data[i]!.toString('hex')))
  })

  it('never returns damaged bytes: a damaged guessed blob is looked up and reported', async () => {
    const {p, ids, data} = await stored(50, 1024 * 1024)
    const loc = p.ctx.store.locate(ids[10]!)!
    const fd = openSync(p.ctx.store.packPath(loc.pack), 'r+')
    writeSync(fd, Buffer.from([data[10]![5]! ^ 0xff]), 0, 1, loc.offset + 5)
    closeSync(fd)
    p.ctx.store.closeFds()
    const sizes = data.map((d) => d.length)
    // the blobs before it are fine
    expect(p.ctx.store.readAdjacent(ids.slice(0, 10), sizes.slice(0, 10)).length).toBe(10)
    expect(() => p.ctx.store.readAdjacent(ids, sizes)).toThrow(CorruptObjectError)
    expect(() => p.ctx.store.readAdjacent(ids, sizes)).toThrow(/damaged/)
  })

  it('reports a blob the index does not have', async () => {
    const {p, ids, data} = await stored(5, 1024 * 1024)
    const stray = sha256(Buffer.from('not stored'))
    expect(() => p.ctx.store.readAdjacent([ids[0]!, stray], [data[0]!.length, 10])).toThrow(/missing from the store/)
  })
})
