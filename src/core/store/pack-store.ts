/**
 * The blob store: write-once, content-addressed chunks ("blobs") packed into pack files
 * (restic's repository layer, simplified).
 *
 * Concepts:
 * - blob: one chunk of file content; id = sha256(bytes). Small files are a single blob.
 * - pack: `objects/packs/<aa>/<packid>`, an immutable file holding many blobs:
 *     "PACHPK01" | blob bytes … | trailer: (id[32] | length u32be)* | count u32be | "PACHPKE1"
 *   pack id = sha256(trailer), so the name commits to every blob inside. The trailer lets
 *   `fsck` and a recovery rebuild the index from the packs alone.
 * - index: SQLite `blobs(id → pack, offset, length)` and `packs(id, size)`.
 *
 * Invariants:
 * - data before metadata: a pack is written to `objects/tmp/`, fsynced (config.fsync),
 *   renamed into place, and only then are its index rows inserted (by the writer, or by its
 *   caller in the transaction that records what references the blobs: `closeIndexLater`).
 *   A crash leaves at most an unindexed pack or unreferenced index rows, both of which `gc`
 *   removes; never an index row pointing at a missing pack.
 * - every read re-hashes the blob and throws CorruptObjectError on mismatch: wrong bytes
 *   are never returned (`readBlobsUnverifiedAsync` hands that check to its caller, who must see it
 *   made before the bytes are taken for the blob).
 * - a process that writes holds a `leases` row (kind 'write'); gc refuses to run while a
 *   live writer exists, so gc never removes a pack or blob that a running write is about
 *   to reference. A killed writer's lease is stale (its pid is gone) and is ignored. A
 *   caller may hold one lease across several writers (`lease`, `writerUnder`: the group
 *   commit of small puts) and drops it once their blobs are referenced.
 */
import * as objects from '../db/objects.js'
import {closeSync, fdatasync, fsync, fsyncSync, mkdirSync, openSync, read, readdirSync, readSync, renameSync, rmSync, statSync, unlinkSync, writevSync} from 'node:fs'
import {mkdir, open, rename, rm, type FileHandle} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {CorruptObjectError, LockedError} from '../errors.js'
import type {DB} from '../db/open.js'
import {withTx} from '../db/open.js'
import {deleteLease, insertLease} from '../db/leases.js'
import {liveLeases} from '../process.js'
import {HASH_LEN, sha256, toHex} from './hash.js'

const MAGIC = Buffer.from('PACHPK01')
const END_MAGIC = Buffer.from('PACHPKE1')
const DEFAULT_PACK_TARGET = 16 * 1024 * 1024
/** The most bytes readAdjacent reads at once. */
const ADJACENT_READ_BYTES = 8 * 1024 * 1024

export type {BlobLocation} from '../db/objects.js'

export interface StoreOptions {
  fsync: boolean
  packTarget?: number
  now: () => string
  newId: () => string
}

export class BlobStore {
  readonly packsDir: string
  readonly tmpDir: string
  private readonly fds = new Map<string, number>()
  /** reads in flight on libuv's pool (readRunAsync): the fd cache is not trimmed under them */
  private reading = 0
  /** directories this store made or found (objects/tmp, packs/<aa>): not made again for every pack */
  private readonly dirs = new Set<string>()

  constructor(readonly objectsDir: string, readonly db: DB, readonly opts: StoreOptions) {
    this.packsDir = join(objectsDir, 'packs')
    this.tmpDir = join(objectsDir, 'tmp')
  }

  packPath(pack: Uint8Array): string {
    const hex = toHex(pack)
    return join(this.packsDir, hex.slice(0, 2), hex)
  }

  has(id: Buffer): boolean {
    return objects.hasBlob(this.db, id)
  }

  locate(id: Buffer): objects.BlobLocation | undefined {
    return objects.getBlobLocation(this.db, id)
  }

  /** Read one blob and verify its hash. Throws CorruptObjectError if missing or damaged. */
  readBlob(id: Buffer): Buffer {
    const loc = this.locate(id)
    if (!loc) throw new CorruptObjectError(`blob ${toHex(id)} is missing from the store`, {data: {blob: toHex(id)}})
    return this.readAt(id, loc)
  }

  /** Read one blob from where the index says it lives and verify its hash. */
  private readAt(id: Buffer, loc: objects.BlobLocation): Buffer {
    const buf = Buffer.allocUnsafe(loc.length)
    const path = this.packPath(loc.pack)
    let fd: number
    try {
      fd = this.fd(path)
    } catch (e) {
      throw new CorruptObjectError(`pack ${toHex(loc.pack)} holding blob ${toHex(id)} cannot be opened`, {cause: e, data: {blob: toHex(id), pack: toHex(loc.pack)}})
    }
    let got = 0
    while (got < loc.length) {
      const n = readSync(fd, buf, got, loc.length - got, loc.offset + got)
      if (n === 0) break
      got += n
    }
    if (got !== loc.length || !sha256(buf).equals(id)) {
      throw new CorruptObjectError(`blob ${toHex(id)} in pack ${toHex(loc.pack)} is damaged (hash mismatch)`, {data: {blob: toHex(id), pack: toHex(loc.pack)}})
    }
    return buf
  }

  /**
   * Read several blobs, each verified as by readBlob, reading every run of blobs that lie side
   * by side in one pack (a file's chunks usually do) with one read of at most 8 MiB: an export
   * reads 1 GiB in ~130 reads instead of ~8,000. The returned buffers may share memory; runs
   * are read into `scratch` (one after another) while it has room, so a caller that reuses its
   * scratch buffers allocates nothing per read (fresh 8 MiB buffers cost an export ~15 % of
   * its CPU in garbage collection and page faults). Throws CorruptObjectError.
   */
  readBlobs(ids: readonly Buffer[], scratch?: Buffer): Buffer[] {
    const r = this.readBlobsUnverified(ids, scratch)
    for (const [k, data] of r.data.entries()) if (!sha256(data).equals(ids[k]!)) throw r.damaged(k)
    return r.data
  }

  /**
   * readBlobs without the hash check, for a caller that hands the check on (an export leaves
   * it to the importer, which refuses an archive whose chunk does not hash to its id, or makes
   * it on a worker thread with `--verify`): it may use `data[k]` as the blob only once SHA-256
   * of it equals `ids[k]`, and `damaged(k)` is the error readBlobs throws when it does not. A
   * blob missing from the index, or a pack too short to hold it, is refused here
   * (CorruptObjectError). Runs are read as by readBlobs, into `scratch` while it has room.
   */
  private readBlobsUnverified(ids: readonly Buffer[], scratch?: Buffer): {data: Buffer[]; damaged: (k: number) => CorruptObjectError} {
    const plan = this.planRuns(ids, scratch)
    for (const r of plan.runs) r.got = this.readRun(r.first, r.buf, ids[r.i]!)
    return this.sliceRuns(ids, plan)
  }

  /**
   * readBlobsUnverified with its reads on libuv's pool: the calling thread stays free meanwhile
   * (an export's pending writes go on being issued while it reads; a read that blocks the event
   * loop stalls them). Runs are read one after another; the same contract.
   */
  async readBlobsUnverifiedAsync(ids: readonly Buffer[], scratch?: Buffer): Promise<{data: Buffer[]; damaged: (k: number) => CorruptObjectError}> {
    const plan = this.planRuns(ids, scratch)
    for (const r of plan.runs) r.got = await this.readRunAsync(r.first, r.buf, ids[r.i]!)
    return this.sliceRuns(ids, plan)
  }

  /** Where each blob lives, and the runs of blobs side by side in one pack (≤ 8 MiB each) with the buffer each is read into. */
  private planRuns(ids: readonly Buffer[], scratch: Buffer | undefined) {
    let room = 0
    const locs = ids.map((id) => {
      const loc = this.locate(id)
      if (!loc) throw new CorruptObjectError(`blob ${toHex(id)} is missing from the store`, {data: {blob: toHex(id)}})
      return loc
    })
    const runs: {i: number; j: number; first: objects.BlobLocation; buf: Buffer; got: number}[] = []
    for (let i = 0; i < ids.length; ) {
      const first = locs[i]!
      let end = first.offset + first.length
      let j = i + 1
      while (j < ids.length && locs[j]!.offset === end && end + locs[j]!.length - first.offset <= 8 * 1024 * 1024 && Buffer.compare(locs[j]!.pack, first.pack) === 0) end += locs[j++]!.length
      const size = end - first.offset
      const buf = scratch && scratch.length - room >= size ? scratch.subarray(room, (room += size)) : Buffer.allocUnsafe(size)
      runs.push({i, j, first, buf, got: 0})
      i = j
    }
    return {locs, runs}
  }

  private sliceRuns(ids: readonly Buffer[], {locs, runs}: ReturnType<BlobStore['planRuns']>): {data: Buffer[]; damaged: (k: number) => CorruptObjectError} {
    const damaged = (k: number) =>
      new CorruptObjectError(`blob ${toHex(ids[k]!)} in pack ${toHex(locs[k]!.pack)} is damaged (hash mismatch)`, {data: {blob: toHex(ids[k]!), pack: toHex(locs[k]!.pack)}})
    const out: Buffer[] = []
    for (const r of runs) {
      for (let k = r.i; k < r.j; k++) {
        const at = locs[k]!.offset - r.first.offset
        if (at + locs[k]!.length > r.got) throw damaged(k)
        out.push(r.buf.subarray(at, at + locs[k]!.length))
      }
    }
    return {data: out, damaged}
  }

  /**
   * Read blobs that were most likely written one after another (the files of a tree put in one
   * go, read in path order), each verified as by readBlob. `sizes` are their lengths (a file
   * entry records them). The index is asked where a blob lives only when a guess fails: after
   * a blob found at offset o of a pack, the next is guessed at o + its length in the same pack,
   * and a run of guesses is read with one read and kept as far as each blob's sha256 matches
   * its id (a match is the blob, wherever it was found: the same proof readBlob relies on). A
   * failed guess is not an error; the index then answers, and fewer blobs are guessed next
   * (one after a miss, twice as many after a run that held), so blobs that are not adjacent
   * cost at most one extra small read and hash each. A 100,000-file push spent a fifth of its
   * CPU on index lookups. Throws CorruptObjectError when the index's own answer is damaged or
   * missing. The returned buffers may share memory.
   */
  readAdjacent(ids: readonly Buffer[], sizes: readonly number[]): Buffer[] {
    const out: Buffer[] = []
    let ahead = 16
    for (let i = 0; i < ids.length; ) {
      const loc = this.locate(ids[i]!)
      if (!loc) throw new CorruptObjectError(`blob ${toHex(ids[i]!)} is missing from the store`, {data: {blob: toHex(ids[i]!)}})
      let end = loc.offset + loc.length
      let j = i + 1
      while (j < ids.length && j - i <= ahead && end + sizes[j]! - loc.offset <= ADJACENT_READ_BYTES) end += sizes[j++]!
      if (j === i + 1) {
        out.push(this.readAt(ids[i]!, loc))
        i++
        continue
      }
      const buf = Buffer.allocUnsafe(end - loc.offset)
      const got = this.readRun(loc, buf, ids[i]!)
      const first = buf.subarray(0, loc.length)
      if (got < loc.length || !sha256(first).equals(ids[i]!)) {
        throw new CorruptObjectError(`blob ${toHex(ids[i]!)} in pack ${toHex(loc.pack)} is damaged (hash mismatch)`, {data: {blob: toHex(ids[i]!), pack: toHex(loc.pack)}})
      }
      out.push(first)
      let at = loc.length
      let k = i + 1
      while (k < j && at + sizes[k]! <= got) {
        const data = buf.subarray(at, at + sizes[k]!)
        if (!sha256(data).equals(ids[k]!)) break
        out.push(data)
        at += sizes[k++]!
      }
      ahead = k === j ? Math.min(ahead * 2, 1 << 16) : 1
      i = k
    }
    return out
  }

  /**
   * Fill `buf` from `at`'s pack starting at `at`'s offset (a run of blobs, the first of them
   * `first`); returns the bytes read, fewer at the pack's end. Unverified: callers hash each blob.
   */
  private readRun(at: objects.BlobLocation, buf: Buffer, first: Buffer): number {
    let got = 0
    try {
      const fd = this.fd(this.packPath(at.pack))
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, at.offset + got)
        if (n === 0) break
        got += n
      }
    } catch (e) {
      throw new CorruptObjectError(`pack ${toHex(at.pack)} holding blob ${toHex(first)} cannot be read`, {cause: e, data: {blob: toHex(first), pack: toHex(at.pack)}})
    }
    return got
  }

  /** readRun on libuv's pool; while it is in flight the fd cache is not trimmed (`fd`), so its fd stays open. */
  private async readRunAsync(at: objects.BlobLocation, buf: Buffer, first: Buffer): Promise<number> {
    let got = 0
    this.reading++
    try {
      const fd = this.fd(this.packPath(at.pack))
      while (got < buf.length) {
        const n = await new Promise<number>((res, rej) => read(fd, buf, got, buf.length - got, at.offset + got, (e, n) => (e ? rej(e) : res(n))))
        if (n === 0) break
        got += n
      }
    } catch (e) {
      throw new CorruptObjectError(`pack ${toHex(at.pack)} holding blob ${toHex(first)} cannot be read`, {cause: e, data: {blob: toHex(first), pack: toHex(at.pack)}})
    } finally {
      this.reading--
    }
    return got
  }

  private fd(path: string): number {
    let fd = this.fds.get(path)
    if (fd === undefined) {
      if (this.fds.size > 64 && this.reading === 0) this.closeFds()
      fd = openSync(path, 'r')
      this.fds.set(path, fd)
    }
    return fd
  }

  closeFds(): void {
    for (const fd of this.fds.values()) closeSync(fd)
    this.fds.clear()
  }

  /**
   * Start a writer, waiting (bounded) while gc runs. A busy database is not retried here: the
   * busy timeout already waited for it (retrying would multiply that bound).
   */
  async writerWait(timeoutMs = 60_000): Promise<PackWriter> {
    return new PackWriter(this, await this.leaseWait(timeoutMs), false)
  }

  /** Start a writer; registers a write lease (refused while gc runs). */
  writer(): PackWriter {
    return new PackWriter(this, this.lease(), false)
  }

  /**
   * Take a write lease (refused while gc runs), for a caller that runs several writers under
   * it (`writerUnder`) and drops it itself (`releaseLease`) once their blobs are referenced.
   */
  lease(): string {
    const leaseId = this.opts.newId()
    withTx(this.db, () => {
      const gc = liveLeases(this.db, 'gc')
      if (gc.length > 0) throw new LockedError(`pach gc is running (pid ${gc[0]!.pid}); writes wait for it to finish`, {data: {lease: 'gc'}})
      insertLease(this.db, {id: leaseId, kind: 'write', pid: process.pid, host: hostname(), started: this.opts.now()})
    })
    return leaseId
  }

  /** `lease`, waiting (bounded) while gc runs. */
  async leaseWait(timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      try {
        return this.lease()
      } catch (e) {
        if (!(e instanceof LockedError) || e.data.lease !== 'gc' || Date.now() > deadline) throw e
        await new Promise((r) => setTimeout(r, 200))
      }
    }
  }

  /** A writer under a lease its caller holds (see `lease`): its release and abort leave the lease alone. */
  writerUnder(_lease: string): PackWriter {
    return new PackWriter(this, null, false)
  }

  /**
   * Run `fn`, which creates an entry in `dir`, with `dir` made first (once per store); a
   * directory removed since (ENOENT) is made again and `fn` retried once.
   */
  async inDir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    if (!this.dirs.has(dir)) {
      await mkdir(dir, {recursive: true})
      this.dirs.add(dir)
    }
    try {
      return await fn()
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      await mkdir(dir, {recursive: true})
      return fn()
    }
  }

  /**
   * One pack written whole from blobs held in memory (the group commit of small puts): magic,
   * blobs and trailer in one write to a temp file, synced, renamed into place, its directory
   * synced; the index rows are returned for the caller's transaction, as `closeIndexLater`
   * returns them (same invariants: durable and in place before any row names it). The quick
   * steps (open, write, close, rename of a few KiB) are synchronous: they take microseconds,
   * less than a trip through libuv's pool; the two syncs, which wait for the disk, run off
   * the event loop. `blobs`: distinct, none in the index, at most about the pack target in all.
   * The caller holds a write lease.
   */
  async writePack(blobs: readonly {id: Buffer; data: Buffer}[]): Promise<() => void> {
    const rows: [Buffer, number, number][] = []
    let offset = MAGIC.length
    for (const b of blobs) {
      rows.push([b.id, offset, b.data.length])
      offset += b.data.length
    }
    const trailer = packTrailer(rows)
    const packId = sha256(trailer)
    const size = offset + trailer.length
    const tmp = join(this.tmpDir, `pack.${process.pid}.${nextTmpPack++}.tmp`)
    const final = this.packPath(packId)
    const dir = join(this.packsDir, toHex(packId).slice(0, 2))
    const fd = this.inDirSync(this.tmpDir, () => openSync(tmp, 'w'))
    try {
      try {
        writevAllSync(fd, [MAGIC, ...blobs.map((b) => b.data), trailer], size)
        if (this.opts.fsync) await new Promise<void>((res, rej) => fdatasync(fd, (e) => (e ? rej(e) : res())))
      } finally {
        closeSync(fd)
      }
      this.inDirSync(dir, () => renameSync(tmp, final))
    } catch (e) {
      rmSync(tmp, {force: true})
      throw e
    }
    if (this.opts.fsync) await fsyncDir(dir)
    return () => {
      objects.insertPack(this.db, packId, size, this.opts.now())
      for (const [id, off, len] of rows) objects.insertBlob(this.db, id, packId, off, len)
    }
  }

  /** `inDir`, synchronous. */
  private inDirSync<T>(dir: string, fn: () => T): T {
    if (!this.dirs.has(dir)) {
      mkdirSync(dir, {recursive: true})
      this.dirs.add(dir)
    }
    try {
      return fn()
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      mkdirSync(dir, {recursive: true})
      return fn()
    }
  }

  /** A writer for gc's repack: no dedup (blobs move), index rows are replaced; gc holds the lease. */
  /** The size a pack file is cut at. */
  get packTarget(): number {
    return this.opts.packTarget ?? DEFAULT_PACK_TARGET
  }

  repackWriter(): PackWriter {
    return new PackWriter(this, null, true)
  }

  releaseLease(id: string | null): void {
    if (id === null) return
    try {
      deleteLease(this.db, id)
    } catch {
      // a lease left behind is stale once this process exits
    }
  }

  /** All pack ids present on disk (hex). */
  listPackFiles(): string[] {
    const out: string[] = []
    let dirs: string[] = []
    try {
      dirs = readdirSync(this.packsDir)
    } catch {
      return out
    }
    for (const d of dirs) {
      for (const f of readdirSync(join(this.packsDir, d))) if (/^[0-9a-f]{64}$/.test(f)) out.push(f)
    }
    return out
  }

  /** Parse and verify a pack file's trailer; returns its blob entries. Throws CorruptObjectError. */
  readPackTrailer(packHex: string): {id: Buffer; offset: number; length: number}[] {
    const path = join(this.packsDir, packHex.slice(0, 2), packHex)
    const size = statSync(path).size
    const fd = openSync(path, 'r')
    try {
      const tail = Buffer.alloc(12)
      if (size < 20) throw new CorruptObjectError(`pack ${packHex} is truncated`)
      readSync(fd, tail, 0, 12, size - 12)
      if (!tail.subarray(4).equals(END_MAGIC)) throw new CorruptObjectError(`pack ${packHex} has a damaged trailer`)
      const count = tail.readUInt32BE(0)
      const tlen = count * (HASH_LEN + 4) + 12
      if (tlen + MAGIC.length > size) throw new CorruptObjectError(`pack ${packHex} has a damaged trailer`)
      const trailer = Buffer.alloc(tlen)
      readSync(fd, trailer, 0, tlen, size - tlen)
      if (toHex(sha256(trailer)) !== packHex) throw new CorruptObjectError(`pack ${packHex} trailer does not match its name`)
      const out: {id: Buffer; offset: number; length: number}[] = []
      let offset = MAGIC.length
      for (let i = 0; i < count; i++) {
        const base = i * (HASH_LEN + 4)
        const id = Buffer.from(trailer.subarray(base, base + HASH_LEN))
        const length = trailer.readUInt32BE(base + HASH_LEN)
        out.push({id, offset, length})
        offset += length
      }
      if (offset + tlen !== size) throw new CorruptObjectError(`pack ${packHex} size does not match its trailer`)
      return out
    } finally {
      closeSync(fd)
    }
  }

  deletePackFile(packHex: string): void {
    const path = join(this.packsDir, packHex.slice(0, 2), packHex)
    const fd = this.fds.get(path)
    if (fd !== undefined) {
      closeSync(fd)
      this.fds.delete(path)
    }
    try {
      unlinkSync(path)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    }
  }

  /** Files in objects/tmp with their sizes: packs being written, or left by a killed writer. */
  listTmpFiles(): {name: string; size: number}[] {
    let names: string[] = []
    try {
      names = readdirSync(this.tmpDir)
    } catch {
      return []
    }
    const out: {name: string; size: number}[] = []
    for (const name of names) {
      try {
        out.push({name, size: statSync(join(this.tmpDir, name)).size})
      } catch {
        // renamed into place meanwhile
      }
    }
    return out
  }

  /** Remove leftovers of interrupted pack writes. */
  cleanTmp(): number {
    let n = 0
    try {
      for (const f of readdirSync(this.tmpDir)) {
        unlinkSync(join(this.tmpDir, f))
        n++
      }
    } catch {
      // no tmp dir
    }
    return n
  }
}

/** Written blobs a writer indexes before it goes on once this many wait unindexed (see PackWriter). */
const CHECKPOINT_BLOBS = 25_000

/** A blob's bytes: one Buffer, or its pieces in order (chunkPieces: views of an upload's blocks). */
export type BlobBytes = Buffer | readonly Buffer[]

/** A blob's length, whole or in pieces. */
export const blobLength = (b: BlobBytes): number => {
  if (!Array.isArray(b)) return (b as Buffer).length
  let n = 0
  for (const p of b as readonly Buffer[]) n += p.length
  return n
}

/** Bytes of added blobs a writer buffers before the caller must drain them into the open pack (less when packs are smaller). */
const APPEND_BYTES = 1024 * 1024

/** The pack a writer is appending to: a temp file, its length so far and the blobs in it. */
interface OpenPack {
  fh: FileHandle
  tmp: string
  size: number
  rows: [id: Buffer, offset: number, length: number][]
}

/**
 * Accumulates blobs into pack files. `add` is synchronous and cheap (dedups against the
 * index and this writer); the caller drains once `full` (APPEND_BYTES buffered), which
 * appends the buffer to the open pack in objects/tmp in the background (one append in
 * flight): what a writer holds in memory is about two APPEND_BYTES, whatever the pack size.
 * A blob may be added as its pieces (views of an upload's blocks, chunkPieces): they are
 * written as they are, side by side in one writev, and joined only if `read` asks for it.
 * A pack that reaches the pack target gets its trailer and starts being made durable
 * (fdatasync, closed after; one pack at a time) in the background while the writer goes on;
 * `close` waits for that, renames the packs into place and then indexes all their blobs in one transaction:
 * blobs become visible to other writers only once their bytes are durable. A writer that has written
 * CHECKPOINT_BLOBS blobs not yet indexed publishes those packs the same way before it goes
 * on (a job over a million datums writes millions of small blobs): what it remembers of them
 * stays bounded, and the index then answers for them. Its lease keeps gc away from published
 * blobs that nothing references yet; a writer that dies leaves them as garbage, never a
 * dangling reference.
 */
/**
 * Temp pack names are `pack.<pid>.<n>.tmp`, `n` counted per process, not per writer: a server
 * runs several writers at once (one per upload), and two writers of one process must never
 * open the same temp file.
 */
let nextTmpPack = 0

export class PackWriter {
  private pending: {id: Buffer; data: BlobBytes; length: number}[] = []
  private pendingBytes = 0
  private readonly seen = new Map<string, {id: Buffer; data?: BlobBytes; tmp?: string; offset?: number; length: number}>()
  private appending: Promise<void> | undefined
  private failed: unknown = undefined
  private current: OpenPack | undefined
  /** sealed packs not yet published; `durable` settles once the pack's bytes are on disk (fsync) and its file is closed */
  private written: {tmp: string; final: string; packId: Buffer; size: number; rows: [Buffer, number, number][]; durable: Promise<void>}[] = []
  /**
   * The last sealed pack's sync. A writer's syncs run one after another: each holds one of
   * libuv's four pool threads for as long as the disk takes, and several at once left no
   * thread for the writer's own appends and its caller's reads (an import's, which stalled).
   */
  private syncing: Promise<void> | undefined
  /** blobs in `written` (not yet indexed) */
  private unindexed = 0
  private closed = false
  bytesWritten = 0
  blobsWritten = 0
  blobsDeduped = 0

  constructor(private readonly store: BlobStore, private readonly leaseId: string | null, private readonly repack: boolean) {}

  /** Add a blob (id must be sha256(data); data may be given as its pieces, kept as they are). Returns true if it was new. */
  add(id: Buffer, data: BlobBytes): boolean {
    if (this.failed) throw this.failed
    const key = id.toString('latin1')
    if (this.seen.has(key) || (!this.repack && this.store.has(id))) {
      this.blobsDeduped++
      return false
    }
    const length = blobLength(data)
    const rec = {id, data, length}
    this.seen.set(key, rec)
    this.pending.push({id, data, length})
    this.pendingBytes += length
    this.blobsWritten++
    return true
  }

  /** Read a blob this writer holds (buffered, or in a temp pack not yet indexed), else from the store. */
  read(id: Buffer): Buffer {
    const rec = this.seen.get(id.toString('latin1'))
    if (rec?.data) return Array.isArray(rec.data) ? Buffer.concat(rec.data, rec.length) : (rec.data as Buffer)
    if (rec?.tmp !== undefined) {
      const fd = openSync(rec.tmp, 'r')
      try {
        const buf = Buffer.allocUnsafe(rec.length)
        readSync(fd, buf, 0, rec.length, rec.offset!)
        if (!sha256(buf).equals(id)) throw new CorruptObjectError(`blob ${toHex(id)} changed on disk while being written`)
        return buf
      } finally {
        closeSync(fd)
      }
    }
    return this.store.readBlob(id)
  }

  /** True when the caller should `await drain()` before adding more (bounded memory). */
  get full(): boolean {
    return this.pendingBytes >= Math.min(APPEND_BYTES, this.store.packTarget)
  }

  /**
   * Hand the buffered blobs to a background append, queued after the appends before it (a
   * writer may be drained from several files written at once: appends run one at a time, in
   * the order their drains were called). Waits for the append before this one, so at most
   * two batches are held.
   */
  async drain(): Promise<void> {
    if (this.pending.length === 0) return
    const before = this.enqueue()
    if (before) await before
    if (this.failed) throw this.failed
    if (this.unindexed >= CHECKPOINT_BLOBS) {
      await this.settle()
      await this.publish()
    }
  }

  /** Queue the buffered blobs as one append after those queued before; returns the append before it. */
  private enqueue(): Promise<void> | undefined {
    const batch = this.pending
    this.pending = []
    this.pendingBytes = 0
    const before = this.appending
    this.appending = (before ?? Promise.resolve())
      .then(() => (this.failed ? undefined : this.append(batch)))
      .catch((e) => {
        this.failed ??= e
      })
    return before
  }

  /**
   * Resolves once every blob added so far is in a temp pack file and the writer holds none of
   * their buffers, so the caller may reuse them (the import's read blocks); rejects with what
   * failed. Queues what is buffered without waiting for the appends before it.
   */
  appended(): Promise<void> {
    if (this.pending.length) this.enqueue()
    return (this.appending ?? Promise.resolve()).then(() => {
      if (this.failed) throw this.failed
    })
  }

  /** Wait for every append queued so far; throw what failed. */
  private async settle(): Promise<void> {
    for (let tail = this.appending; tail; tail = this.appending === tail ? undefined : this.appending) await tail
    if (this.failed) throw this.failed
  }

  /** Flush everything; after this resolves every added blob is durable and indexed. */
  async close(): Promise<void> {
    if (this.closed) return
    await this.drain()
    await this.settle()
    if (this.current) await this.seal(this.current)
    await this.publish()
    this.closed = true
  }

  /**
   * `close`, but the last packs' index rows are left to the caller: it calls the returned
   * function inside the transaction that records what references the blobs (one transaction
   * instead of two). Every blob is durable and in place when this resolves; until the rows
   * commit, the blobs are not visible to other writers' dedup, and a rolled back transaction
   * leaves an unindexed pack, which gc removes.
   */
  async closeIndexLater(): Promise<() => void> {
    if (this.closed) return () => {}
    await this.drain()
    await this.settle()
    if (this.current) await this.seal(this.current)
    const index = await this.publish(true)
    this.closed = true
    return index
  }

  /**
   * Make the written packs durable, move them into place and index their blobs; forget them.
   * `later`: the indexing is returned instead (for a caller's transaction), not done here.
   */
  private async publish(later = false): Promise<() => void> {
    // the packs sealed so far (an append queued by another drain may seal more meanwhile)
    const written = this.written
    this.written = []
    this.unindexed = 0
    await Promise.all(written.map((w) => w.durable))
    const dirs = new Set<string>()
    for (const w of written) {
      const dir = join(this.store.packsDir, toHex(w.packId).slice(0, 2))
      dirs.add(dir)
      await this.store.inDir(dir, () => rename(w.tmp, w.final))
      // a read before the index answers finds the blob at its new path
      for (const [id] of w.rows) {
        const rec = this.seen.get(id.toString('latin1'))
        if (rec) rec.tmp = w.final
      }
    }
    // off the event loop: concurrent writers (the S3 gateway's PUTs) overlap their directory syncs
    if (this.store.opts.fsync) await Promise.all([...dirs].map((d) => fsyncDir(d)))
    const db = this.store.db
    const index = () => {
      for (const w of written) {
        objects.insertPack(db, w.packId, w.size, this.store.opts.now())
        for (const [id, off, len] of w.rows) objects.insertBlob(db, id, w.packId, off, len, this.repack)
      }
    }
    if (later) return index
    if (written.length) withTx(db, index)
    // the index answers for them now (reads and dedup)
    for (const w of written) for (const [id] of w.rows) this.seen.delete(id.toString('latin1'))
    return () => {}
  }

  /**
   * Drop the write lease. Call only after the metadata that references the written blobs
   * is committed (or abandoned): until then gc must not consider them garbage.
   */
  release(): void {
    this.store.releaseLease(this.leaseId)
  }

  /** Give up: drop buffered blobs, remove unindexed temp packs, release the lease. */
  async abort(): Promise<void> {
    this.pending = []
    if (this.appending) await this.appending
    if (this.current) {
      await this.current.fh.close().catch(() => {})
      await rm(this.current.tmp, {force: true})
      this.current = undefined
    }
    if (!this.closed) {
      for (const w of this.written) {
        await w.durable.catch(() => {})
        await rm(w.tmp, {force: true})
      }
    }
    this.closed = true
    this.store.releaseLease(this.leaseId)
  }

  /** Append blobs to the open pack (opened on the first), sealing it once it reaches the target. */
  private async append(batch: {id: Buffer; data: BlobBytes; length: number}[]): Promise<void> {
    let pack = this.current
    if (!pack) {
      const tmp = join(this.store.tmpDir, `pack.${process.pid}.${nextTmpPack++}.tmp`)
      pack = {fh: await this.store.inDir(this.store.tmpDir, () => open(tmp, 'w')), tmp, size: 0, rows: []}
      this.current = pack
    }
    // a new pack's magic goes out in the same write as its first blobs
    const head = pack.size === 0 ? [MAGIC] : []
    const start = pack.size + (head.length ? MAGIC.length : 0)
    let total = head.length ? MAGIC.length : 0
    const bufs: Buffer[] = [...head]
    for (const b of batch) {
      total += b.length
      if (Array.isArray(b.data)) bufs.push(...b.data)
      else bufs.push(b.data as Buffer)
    }
    await writeAll(pack.fh, bufs, total, pack.size)
    // the bytes now live in the temp pack: drop the memory copies
    let offset = start
    for (const b of batch) {
      pack.rows.push([b.id, offset, b.length])
      const rec = this.seen.get(b.id.toString('latin1'))
      if (rec) {
        rec.data = undefined
        rec.tmp = pack.tmp
        rec.offset = offset
      }
      offset += b.length
    }
    pack.size = offset
    if (pack.size >= this.store.packTarget) await this.seal(pack)
  }

  /** Write the open pack's trailer, close it and queue it for publishing. */
  private async seal(pack: OpenPack): Promise<void> {
    const trailer = packTrailer(pack.rows)
    const packId = sha256(trailer)
    await writeAll(pack.fh, [trailer], trailer.length, pack.size)
    await assertSize(pack.fh, pack.size + trailer.length)
    this.current = undefined
    // the pack is made durable in the background while the writer goes on (publish awaits it):
    // a put's last fsync no longer waits for every pack's bytes at once
    const fh = pack.fh
    const before = this.syncing
    const durable = (async () => {
      try {
        await before?.catch(() => {})
        if (this.store.opts.fsync) await fh.datasync()
      } finally {
        await fh.close()
      }
    })()
    durable.catch(() => {}) // awaited by publish or abort
    this.syncing = durable
    const size = pack.size + trailer.length
    this.bytesWritten += size
    this.written.push({tmp: pack.tmp, final: this.store.packPath(packId), packId, size, rows: pack.rows, durable})
    this.unindexed += pack.rows.length
  }
}

/** A pack's trailer for its blobs' rows (id, offset, length): (id | length u32be)* | count u32be | END_MAGIC. */
function packTrailer(rows: readonly [Buffer, number, number][]): Buffer {
  const trailer = Buffer.alloc(rows.length * (HASH_LEN + 4) + 12)
  rows.forEach(([id, , length], i) => {
    const base = i * (HASH_LEN + 4)
    id.copy(trailer, base)
    trailer.writeUInt32BE(length, base + HASH_LEN)
  })
  trailer.writeUInt32BE(rows.length, trailer.length - 12)
  END_MAGIC.copy(trailer, trailer.length - 8)
  return trailer
}

/** `writeAll`, synchronous, to a new file from its start (a short write is written again; none at all is EIO). */
function writevAllSync(fd: number, bufs: Buffer[], total: number): void {
  let done = 0
  let rest = bufs
  while (done < total) {
    const n = writevSync(fd, rest, done)
    if (n <= 0) throw Object.assign(new Error('short write to a pack file'), {code: 'EIO'})
    done += n
    rest = unwritten(rest, n)
  }
}

/** What is left of `bufs` once `n` bytes from their front have been written. */
function unwritten(bufs: Buffer[], n: number): Buffer[] {
  const next: Buffer[] = []
  for (const b of bufs) {
    if (n >= b.length) {
      n -= b.length
      continue
    }
    next.push(n > 0 ? b.subarray(n) : b)
    n = 0
  }
  return next
}

/**
 * Write every buffer, in order, from `start`. writev may write less than asked without an
 * error (a disk that fills up mid-write does exactly that); the rest is written again, so the
 * next call gets ENOSPC instead of a short pack being taken for a whole one.
 */
export async function writeAll(fh: FileHandle, bufs: Buffer[], total: number, start = 0): Promise<void> {
  let done = 0
  let rest = bufs
  while (done < total) {
    const {bytesWritten} = await fh.writev(rest, start + done)
    if (bytesWritten <= 0) throw Object.assign(new Error('short write to a pack file'), {code: 'EIO'})
    done += bytesWritten
    rest = unwritten(rest, bytesWritten)
  }
}

/** The pack file has exactly `size` bytes (checked once, when it is sealed). */
async function assertSize(fh: FileHandle, size: number): Promise<void> {
  const st = await fh.stat()
  if (st.size !== size) throw Object.assign(new Error(`pack file is ${st.size} bytes, expected ${size}`), {code: 'EIO'})
}

/**
 * fsync a directory (after a rename into it); a filesystem that refuses is let be. The
 * directory is opened and closed synchronously (microseconds, less than a trip through
 * libuv's pool each); the sync itself, which waits for the disk, runs off the event loop.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let fd: number
  try {
    fd = openSync(dir, 'r')
  } catch {
    return
  }
  try {
    await new Promise<void>((res) => fsync(fd, () => res()))
  } finally {
    closeSync(fd)
  }
}

export function ensureStoreDirs(objectsDir: string): void {
  mkdirSync(join(objectsDir, 'packs'), {recursive: true})
  mkdirSync(join(objectsDir, 'tmp'), {recursive: true})
}
