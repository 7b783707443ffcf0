/**
 * PackWriter appends to its open pack as blobs come (store/pack-store.ts): what it holds in
 * memory is about two APPEND_BYTES whatever the pack target (a job writing a million meta
 * records used to hold up to three 16 MiB batches, issue 10's first-job memory), a blob is
 * readable at every stage (buffered, in the open temp pack, in a sealed one, indexed), packs
 * are sealed at the target with a trailer that names them, and abort leaves no temp file.
 */
import {mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {initPach, type Pach} from '../../src/core/pach.js'
import {sha256} from '../../src/core/store/hash.js'
import type {PackWriter} from '../../src/core/store/pack-store.js'

const dirs: string[] = []
const opened: Pach[] = []
afterEach(() => {
  for (const p of opened.splice(0)) p.close()
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})

function project(packTarget: number): Pach {
  const dir = mkdtempSync(join(tmpdir(), 'pach-packwriter-'))
  dirs.push(dir)
  const p = initPach(dir)
  opened.push(p)
  // a small target so one test seals several packs
  ;(p.ctx.store.opts as {packTarget?: number}).packTarget = packTarget
  return p
}

/** n distinct blobs of `size` bytes each. */
function blobs(n: number, size: number, seed = 0): {id: Buffer; data: Buffer}[] {
  return Array.from({length: n}, (_, i) => {
    const data = Buffer.alloc(size, (i + seed) % 251)
    data.writeUInt32BE(i, 0)
    data.writeUInt32BE(seed, 4)
    return {id: sha256(data), data}
  })
}

/** Bytes the writer still holds in memory (its buffered blobs). */
const buffered = (w: PackWriter): number => (w as unknown as {pendingBytes: number}).pendingBytes

describe('PackWriter', () => {
  it('holds at most about one append of bytes, however large the pack target', async () => {
    const p = project(64 * 1024 * 1024)
    const w = p.ctx.store.writer()
    let most = 0
    for (const b of blobs(3000, 4096)) {
      w.add(b.id, b.data)
      most = Math.max(most, buffered(w))
      if (w.full) await w.drain()
    }
    // 12 MiB added into one 64 MiB pack, never more than an append (1 MiB) plus a blob buffered
    expect(most).toBeLessThanOrEqual(1024 * 1024 + 4096)
    await w.close()
    w.release()
    expect(readdirSync(p.ctx.store.tmpDir)).toEqual([])
  })

  it('reads every blob back at every stage, seals packs at the target, indexes them on close', async () => {
    const p = project(256 * 1024)
    const w = p.ctx.store.writer()
    const all = blobs(900, 3000, 7)
    for (const [i, b] of all.entries()) {
      expect(w.add(b.id, b.data)).toBe(true)
      expect(w.add(b.id, b.data)).toBe(false) // a second add dedups
      if (w.full) await w.drain()
      // an earlier blob: buffered, in the open pack or in a sealed one
      const back = all[Math.floor(i / 2)]!
      expect(w.read(back.id).equals(back.data)).toBe(true)
    }
    await w.close()
    w.release()
    for (const b of all) expect(p.ctx.store.readBlob(b.id).equals(b.data)).toBe(true)
    const packs = p.ctx.db.prepare('SELECT COUNT(*) AS n, MAX(size) AS most FROM packs').get() as {n: number; most: number}
    // 2.7 MB in packs of ~256 KiB: sealed at the target (one append past it at most)
    expect(packs.n).toBeGreaterThanOrEqual(5)
    expect(packs.most).toBeLessThan(2 * 256 * 1024 + 3000 + 64 * 1024)
    const report = p.fsck({readData: true})
    expect(report.problems).toEqual([])
  })

  it('closeIndexLater: blobs durable and in place, indexed only by the returned function, in the caller\'s transaction', async () => {
    const p = project(64 * 1024)
    const lease = p.ctx.store.lease()
    const w = p.ctx.store.writerUnder(lease)
    const all = blobs(60, 3000, 11)
    for (const b of all) {
      w.add(b.id, b.data)
      if (w.full) await w.drain()
    }
    const index = await w.closeIndexLater()
    const count = () => (p.ctx.db.prepare('SELECT COUNT(*) AS n FROM blobs').get() as {n: number}).n
    expect(count()).toBe(0)
    expect(readdirSync(p.ctx.store.tmpDir)).toEqual([])
    // a writer under a caller's lease leaves the lease alone
    w.release()
    expect(p.ctx.db.prepare("SELECT COUNT(*) AS n FROM leases WHERE kind = 'write'").pluck().get()).toBe(1)
    p.ctx.db.transaction(index)()
    expect(count()).toBe(all.length)
    for (const b of all) expect(p.ctx.store.readBlob(b.id).equals(b.data)).toBe(true)
    p.ctx.store.releaseLease(lease)
    expect(p.ctx.db.prepare('SELECT COUNT(*) AS n FROM leases').pluck().get()).toBe(0)
    expect(p.fsck({readData: true}).problems).toEqual([])
  })

  it('abort removes the open pack and the sealed ones not yet published', async () => {
    const p = project(128 * 1024)
    const w = p.ctx.store.writer()
    for (const b of blobs(400, 3000, 3)) {
      w.add(b.id, b.data)
      if (w.full) await w.drain()
    }
    await w.drain()
    expect(readdirSync(p.ctx.store.tmpDir).length).toBeGreaterThan(0)
    await w.abort()
    expect(readdirSync(p.ctx.store.tmpDir)).toEqual([])
    expect((p.ctx.db.prepare('SELECT COUNT(*) AS n FROM blobs').get() as {n: number}).n).toBe(0)
  })
})

describe('PackWriter drained from several writes at once', () => {
  it('appends one batch at a time, in drain order: every blob reads back, fsck finds nothing wrong', async () => {
    const p = project(512 * 1024)
    const w = p.ctx.store.writer()
    // four "files" written concurrently through one writer, as put -r does
    const sets = [0, 1, 2, 3].map((k) => blobs(300, 5000 + k * 700, 100 + k))
    await Promise.all(
      sets.map(async (set) => {
        for (const [i, b] of set.entries()) {
          w.add(b.id, b.data)
          // drains overlap: each write drains what is buffered now and then
          if (w.full || i % 3 === 0) await w.drain()
          await new Promise((r) => setImmediate(r))
        }
      }),
    )
    await w.close()
    w.release()
    for (const set of sets) for (const b of set) expect(p.ctx.store.readBlob(b.id).equals(b.data)).toBe(true)
    expect(p.fsck({readData: true}).problems).toEqual([])
    expect(readdirSync(p.ctx.store.tmpDir)).toEqual([])
  })
})

describe('BlobStore.writePack (a group of small puts: one pack in one write)', () => {
  it('writes the pack a PackWriter writes for the same blobs, durable and in place, indexed only by the returned function', async () => {
    const all = blobs(40, 1024, 5)
    const byWriter = project(16 * 1024 * 1024)
    const w = byWriter.ctx.store.writer()
    for (const b of all) w.add(b.id, b.data)
    await w.close()
    w.release()
    const p = project(16 * 1024 * 1024)
    const index = await p.ctx.store.writePack(all)
    const rows = (q: Pach) => q.ctx.db.prepare('SELECT id, pack, offset, length FROM blobs ORDER BY id').all()
    expect(rows(p)).toEqual([])
    expect(readdirSync(p.ctx.store.tmpDir)).toEqual([])
    p.ctx.db.transaction(index)()
    // the same pack (its id is the hash of its trailer) with the same blobs at the same offsets
    expect(rows(p)).toEqual(rows(byWriter))
    const size = (q: Pach) => q.ctx.db.prepare('SELECT id, size FROM packs').all()
    expect(size(p)).toEqual(size(byWriter))
    for (const b of all) expect(p.ctx.store.readBlob(b.id).equals(b.data)).toBe(true)
    expect(p.fsck({readData: true}).problems).toEqual([])
  })

  it('leaves no temp file when the write fails', async () => {
    const p = project(16 * 1024 * 1024)
    // objects/packs is a file: the pack cannot move into place
    const all = blobs(3, 100, 9)
    rmSync(p.ctx.store.packsDir, {recursive: true, force: true})
    writeFileSync(p.ctx.store.packsDir, 'not a directory')
    await expect(p.ctx.store.writePack(all)).rejects.toThrow()
    expect(readdirSync(p.ctx.store.tmpDir)).toEqual([])
  })
})
