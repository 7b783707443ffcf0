/**
 * gc (restic prune): remove what no commit and no datum output references.
 *
 * Mark (read-only: it reads DB rows and walks trees, and changes nothing) finds every tree
 * and blob reachable from any commit, open or finished, and from every datum output, and
 * every blob a staged record names (store/staged.ts: an S3 multipart upload's parts). Sweep
 * then deletes unreferenced tree and blob rows in one transaction, then deletes pack files
 * holding no live blob, repacks packs that are mostly garbage, and removes orphan pack files,
 * temp files and the scratch dirs of jobs no live process runs.
 *
 * Safety: gc holds a 'gc' lease and refuses to start while a live writer holds a 'write'
 * lease (writers wait for gc), so no blob that a running write is about to reference can be
 * collected. Index rows go before files (and are synced first), so a crash mid-gc leaves only
 * orphan files, which the next gc removes.
 *
 * This sits above pfs, pps and the store: it reads commits and datum outputs, knows the
 * layout of job scratch directories (`.pach/tmp/jobs/<pipeline>-<job id>`), and drives the
 * pack store.
 */
import {readdirSync, rmSync, statSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {LockedError} from '../errors.js'
import type {CoreContext} from '../context.js'
import * as datums from '../db/datums.js'
import * as jobs from '../db/jobs.js'
import {deleteAllLeases, deleteLease, insertLease} from '../db/leases.js'
import * as objects from '../db/objects.js'
import {checkpointTruncate, withFullSync, withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import {sha256, toHex} from '../store/hash.js'
import {stagedChunks, stagedRoot} from '../store/staged.js'
import {liveLeases, pidAlive} from '../process.js'
import {getMeta, setMeta} from '../db/meta.js'

/**
 * Set by a purge (maintenance/purge.ts) in the transaction that switched history, cleared by
 * the sweep that follows: while set, every gc repacks each pack holding a dead blob
 * (threshold 0), counting from the packs' trailers the blobs no row places there any more (a
 * sweep killed after it deleted their rows), so a purge killed before or during its sweep
 * still has its bytes removed by the next gc.
 */
export const PURGE_PENDING_KEY = 'purge_sweep_pending'

/** gc merges small packs (< 1/16 of the pack target, no dead bytes) when at least this many exist. */
const CONSOLIDATE_MIN = 8

export interface GcReport {
  dry_run: boolean
  deleted_packs: number
  repacked_packs: number
  deleted_blobs: number
  /** tree nodes and datum-set nodes */
  deleted_trees: number
  orphan_files: number
  /** scratch dirs of jobs no live process runs (`.pach/tmp/jobs`, left by a killed `pach run`) */
  job_dirs: number
  reclaimed_bytes: number
}

/** Mark: every tree object (directory, leaf, index node) and blob reachable from any commit or datum output, and every staged blob (read-only). */
export function markLive(ctx: CoreContext): {trees: Set<string>; blobs: Set<string>} {
  const trees = new Set<string>()
  const blobs = new Set<string>()
  const visit = (hash: Buffer) => {
    const k = hash.toString('latin1')
    if (trees.has(k)) return
    trees.add(k)
    // a delta row needs its base's bytes (not its subtree): keep the chain
    for (const b of ctx.trees.deltaBases(hash)) {
      if (trees.has(b.toString('latin1'))) break
      trees.add(b.toString('latin1'))
    }
    // node by node: a large directory's nodes are shared between commits, so each is read once
    const n = ctx.trees.node(hash)
    if (n.kind === 'index') {
      for (const it of n.items) visit(it.hash)
      return
    }
    for (const e of n.entries) {
      if (e.kind === 'dir') visit(e.hash)
      else for (const c of e.chunks) blobs.add(c.toString('latin1'))
    }
  }
  for (const t of rows.listCommitTrees(ctx.db)) visit(t)
  // per-datum outputs are kept for incremental merges even when no commit holds them whole
  for (const t of datums.listDatumOutputTrees(ctx.db)) visit(t)
  // content stored ahead of the commit that will name it (multipart uploads in progress)
  for (const c of stagedChunks(stagedRoot(ctx.pachDir))) blobs.add(c.toString('latin1'))
  return {trees, blobs}
}

/**
 * Scratch dirs under `.pach/tmp/jobs` that no live process uses: `<pipeline>-<id>` of a job
 * whose runner died (a restart makes a fresh one) and leftovers of interrupted removals.
 */
function deadJobDirs(ctx: CoreContext): string[] {
  const dir = join(ctx.pachDir, 'tmp', 'jobs')
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const running = jobs.listLeasedJobs(ctx.db)
  const live = new Set(running.filter((j) => j.lease_host !== hostname() || (j.lease_pid !== null && pidAlive(j.lease_pid))).map((j) => `${j.pipeline}-${j.id}`))
  return names.filter((n) => !live.has(n)).map((n) => join(dir, n))
}

/**
 * Copy the live blobs of `packs` into new packs (indexed there), then unindex and delete the
 * old packs: a kill in between leaves an old pack with no live blob, which the next gc deletes.
 */
async function moveLiveBlobs(ctx: CoreContext, packs: readonly {id: Buffer; live: readonly {id: Buffer}[]}[]): Promise<void> {
  const writer = ctx.store.repackWriter()
  for (const p of packs) {
    for (const b of p.live) {
      const data = ctx.store.readBlob(b.id)
      if (sha256(data).equals(b.id)) writer.add(b.id, data)
      if (writer.full) await writer.drain()
    }
  }
  await writer.close()
  for (const p of packs) {
    objects.deletePackRow(ctx.db, p.id)
    ctx.store.deletePackFile(toHex(p.id))
  }
}

export async function gc(ctx: CoreContext, opts: {dryRun?: boolean; repackThreshold?: number} = {}): Promise<GcReport> {
  const db = ctx.db
  const leaseId = ctx.newId()
  withTx(db, () => {
    const writers = liveLeases(db, 'write')
    if (writers.length > 0) throw new LockedError(`a write is in progress (pid ${writers[0]!.pid}); gc does not run during writes`)
    const others = liveLeases(db, 'gc')
    if (others.length > 0) throw new LockedError(`another gc is running (pid ${others[0]!.pid})`)
    deleteAllLeases(db) // every remaining lease is stale
    insertLease(db, {id: leaseId, kind: 'gc', pid: process.pid, host: hostname(), started: ctx.now()})
  })
  // gc unlinks pack files right after the transaction that unindexes them (repack: after the
  // one that moves their live blobs). Under synchronous=NORMAL a commit reaches the disk only
  // at the next WAL sync, so an OS crash could bring the old index back after the file is
  // gone: live blobs pointing at a deleted pack. FULL syncs each of gc's commits first.
  return withFullSync(db, async () => {
    try {
      const pending = getMeta(db, PURGE_PENDING_KEY) !== undefined
      const report = await sweep(ctx, pending && !opts.dryRun ? {...opts, repackThreshold: 0, trailers: true} : opts)
      if (pending && !opts.dryRun) setMeta(db, PURGE_PENDING_KEY, undefined)
      return report
    } finally {
      // released before the setting is restored: under FULL like the rest of gc
      deleteLease(db, leaseId)
    }
  })
}

async function sweep(ctx: CoreContext, opts: {dryRun?: boolean; repackThreshold?: number; trailers?: boolean}): Promise<GcReport> {
  const db = ctx.db
  const live = markLive(ctx)
  const report: GcReport = {dry_run: !!opts.dryRun, deleted_packs: 0, repacked_packs: 0, deleted_blobs: 0, deleted_trees: 0, orphan_files: 0, job_dirs: 0, reclaimed_bytes: 0}
  const deadTrees = objects.listTreeHashes(db).filter((h) => !live.trees.has(h.toString('latin1')))
  // datum-set nodes no job's set reaches (sets go with their pipeline, or were upgraded)
  const liveNodes = new Set<string>()
  const datumTree = datums.datumTree(db)
  for (const root of datums.listDatumSetRoots(db)) for (const _ of datumTree.nodes(root, liveNodes));
  const deadNodes = datums.listDatumNodeHashes(db).filter((h) => !liveNodes.has(h.toString('latin1')))
  const blobs = objects.listBlobs(db)
  const packs = objects.listPacks(db)
  const perPack = new Map<string, {live: {id: Buffer; length: number}[]; deadBytes: number; dead: Buffer[]}>()
  for (const p of packs) perPack.set(p.id.toString('latin1'), {live: [], deadBytes: 0, dead: []})
  const deadBlobs: Buffer[] = []
  for (const b of blobs) {
    const s = perPack.get(b.pack.toString('latin1'))
    if (live.blobs.has(b.id.toString('latin1'))) s?.live.push({id: b.id, length: b.length})
    else {
      deadBlobs.push(b.id)
      if (s) {
        s.deadBytes += b.length
        s.dead.push(b.id)
      }
    }
  }
  // after a purge, a pack must not keep a purged blob whose row an interrupted sweep already
  // deleted: the trailers name every blob a pack holds, so bytes no row places there are dead
  if (opts.trailers) {
    for (const p of packs) {
      const s = perPack.get(p.id.toString('latin1'))!
      let entries: {id: Buffer; length: number}[]
      try {
        entries = ctx.store.readPackTrailer(toHex(p.id))
      } catch {
        continue // a damaged pack is fsck's to report; its indexed blobs are handled above
      }
      const placed = new Set([...s.live.map((b) => b.id), ...s.dead].map((id) => id.toString('latin1')))
      for (const e of entries) if (!placed.has(e.id.toString('latin1'))) s.deadBytes += e.length
    }
  }
  const threshold = opts.repackThreshold ?? 0.25
  const emptyPacks: {id: Buffer; size: number}[] = []
  const repack: {id: Buffer; size: number; live: {id: Buffer; length: number}[]}[] = []
  for (const p of packs) {
    const s = perPack.get(p.id.toString('latin1'))!
    if (s.live.length === 0) emptyPacks.push(p)
    else if (s.deadBytes > 0 && s.deadBytes / p.size >= threshold) repack.push({...p, live: s.live})
  }
  // many small packs (a history of tiny commits writes one each) are merged into few, so they
  // do not cost a file and a disk block per commit
  const smallSize = ctx.store.packTarget / 16
  const small = packs.filter((p) => {
    const s = perPack.get(p.id.toString('latin1'))!
    return s.live.length > 0 && s.deadBytes === 0 && p.size < smallSize
  })
  const consolidate = small.length >= CONSOLIDATE_MIN ? small.map((p) => ({...p, live: perPack.get(p.id.toString('latin1'))!.live})) : []
  const indexed = new Set(packs.map((p) => toHex(p.id)))
  const orphans = ctx.store.listPackFiles().filter((p) => !indexed.has(p))
  report.deleted_trees = deadTrees.length + deadNodes.length
  report.deleted_blobs = deadBlobs.length
  report.deleted_packs = emptyPacks.length
  report.repacked_packs = repack.length + consolidate.length
  report.orphan_files = orphans.length
  report.reclaimed_bytes = emptyPacks.reduce((a, p) => a + p.size, 0) + repack.reduce((a, p) => a + perPack.get(p.id.toString('latin1'))!.deadBytes, 0)
  for (const o of orphans) {
    try {
      report.reclaimed_bytes += statSync(ctx.store.packPath(Buffer.from(o, 'hex'))).size
    } catch {
      // vanished
    }
  }
  const jobDirs = deadJobDirs(ctx)
  report.job_dirs = jobDirs.length
  if (opts.dryRun) return report
  for (const d of jobDirs) rmSync(d, {recursive: true, force: true})

  // metadata first (one transaction), then files
  withTx(db, () => {
    for (const h of deadTrees) objects.deleteTreeRow(db, h)
    for (const h of deadNodes) datums.deleteDatumNode(db, h)
    for (const b of deadBlobs) objects.deleteBlobRow(db, b)
    for (const p of emptyPacks) objects.deletePackRow(db, p.id)
  })
  // crash-test hook (test/torture/purge-crash.test.ts): a purge's sweep killed with the purged
  // blobs unindexed and their packs not yet rewritten
  if (opts.trailers && ctx.env.PACH_PURGE_CRASH === 'mid-sweep') process.kill(process.pid, 'SIGKILL')
  for (const p of emptyPacks) ctx.store.deletePackFile(toHex(p.id))
  for (const o of orphans) ctx.store.deletePackFile(o)
  ctx.store.cleanTmp()

  // repack: each mostly-dead pack's live blobs into a new pack; consolidate: the small packs'
  // live blobs together into shared ones
  for (const p of repack) await moveLiveBlobs(ctx, [p])
  if (consolidate.length) await moveLiveBlobs(ctx, consolidate)
  checkpointTruncate(db)
  return report
}
