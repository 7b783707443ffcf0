/**
 * fsck (restic check) and gc (restic prune).
 *
 * fsck reads everything: the SQLite integrity check; every pack's trailer and every blob's
 * hash; every commit's trees and every file's chunk references. It names damaged packs,
 * and the commits and paths whose bytes they hold; garbage (unindexed packs, unreferenced
 * blobs and trees, temp packs a killed writer left in objects/tmp) is reported separately
 * because it is harmless and `gc` removes it.
 *
 * gc: mark (pure over DB rows: every tree and blob reachable from any commit, open or
 * finished) then sweep: delete unreferenced tree and blob rows in one transaction, then
 * delete pack files holding no live blob, repack packs that are mostly garbage, and remove
 * orphan pack files, temp files and the scratch dirs of jobs no live process runs. Safety:
 * gc holds a 'gc' lease and refuses to start while a live writer holds a 'write' lease
 * (writers wait for gc), so no blob that a running write is about to reference can be
 * collected. Index rows go before files (and are synced first), so a crash mid-gc leaves
 * only orphan files, which the next gc removes.
 */
import {readdirSync, rmSync, statSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {LockedError} from '../errors.js'
import type {CoreContext} from '../context.js'
import {withTx} from '../db/open.js'
import {sha256, toHex} from './hash.js'
import {liveLeases, pidAlive} from '../process.js'

export interface FsckProblem {
  kind: 'damaged_pack' | 'missing_pack' | 'damaged_blob' | 'missing_blob' | 'damaged_tree' | 'damaged_file' | 'dangling_ref' | 'database'
  message: string
  pack?: string
  blob?: string
  repo?: string
  commit?: string
  path?: string
}

export interface FsckReport {
  ok: boolean
  problems: FsckProblem[]
  checked: {packs: number; blobs: number; bytes: number; commits: number; trees: number; files: number}
  /** what `gc` removes; bytes = unreferenced blobs + unindexed packs + temp files */
  garbage: {packs: number; blobs: number; trees: number; tmp_files: number; bytes: number}
}

interface CommitRowLite {
  repo_id: number
  id: string
  tree: Buffer | null
  name: string
  type: string
}

export function fsck(ctx: CoreContext, opts: {readData?: boolean} = {}): FsckReport {
  const db = ctx.db
  const problems: FsckProblem[] = []
  const checked = {packs: 0, blobs: 0, bytes: 0, commits: 0, trees: 0, files: 0}
  const integrity = db.pragma('quick_check', {simple: true})
  if (integrity !== 'ok') problems.push({kind: 'database', message: `database integrity check failed: ${String(integrity)}`})

  // 1. packs and blobs
  const onDisk = new Set(ctx.store.listPackFiles())
  const indexedPacks = new Set((db.prepare('SELECT id FROM packs').pluck().all() as Buffer[]).map(toHex))
  const badBlobs = new Map<string, string>() // blob hex -> reason
  for (const p of indexedPacks) {
    if (!onDisk.has(p)) {
      problems.push({kind: 'missing_pack', pack: p, message: `pack ${p} is missing from objects/packs`})
      for (const b of db.prepare('SELECT id FROM blobs WHERE pack = ?').pluck().all(Buffer.from(p, 'hex')) as Buffer[]) badBlobs.set(toHex(b), `its pack ${p} is missing`)
    }
  }
  const blobStmt = db.prepare('SELECT pack, offset, length FROM blobs WHERE id = ?')
  const verify = (p: string, id: Buffer, length: number) => {
    checked.blobs++
    checked.bytes += length
    try {
      ctx.store.readBlob(id)
    } catch (e) {
      const hex = toHex(id)
      badBlobs.set(hex, (e as Error).message)
      problems.push({kind: 'damaged_blob', pack: p, blob: hex, message: (e as Error).message})
    }
  }
  for (const p of onDisk) {
    checked.packs++
    let entries: {id: Buffer; offset: number; length: number}[]
    try {
      entries = ctx.store.readPackTrailer(p)
    } catch (e) {
      if (indexedPacks.has(p)) {
        problems.push({kind: 'damaged_pack', pack: p, message: (e as Error).message})
        // the index still locates the pack's blobs: with the data read, only those that fail
        // their hash are damaged (a lost tail or trailer leaves the others intact)
        const indexed = db.prepare('SELECT id, length FROM blobs WHERE pack = ?').all(Buffer.from(p, 'hex')) as {id: Buffer; length: number}[]
        for (const b of indexed) {
          if (opts.readData === false) badBlobs.set(toHex(b.id), `its pack ${p} is damaged`)
          else verify(p, b.id, b.length)
        }
      }
      continue
    }
    if (opts.readData === false) continue
    for (const en of entries) {
      const loc = blobStmt.get(en.id) as {pack: Buffer; offset: number; length: number} | undefined
      if (!loc || toHex(loc.pack) !== p) continue // a copy that is not the indexed one: garbage
      verify(p, en.id, en.length)
    }
  }
  ctx.store.closeFds()

  // 2. commits, trees, files
  const commits = db
    .prepare('SELECT c.repo_id, c.id, c.tree, r.name, r.type FROM commits c JOIN repos r ON r.id = c.repo_id ORDER BY c.seq')
    .all() as CommitRowLite[]
  const liveTrees = new Set<string>()
  const liveBlobs = new Set<string>()
  const treeStatus = new Map<string, string[]>() // tree hex -> damaged paths (relative)
  const has = db.prepare('SELECT 1 FROM blobs WHERE id = ?').pluck()
  const checkTree = (hash: Buffer): string[] => {
    const key = toHex(hash)
    const hit = treeStatus.get(key)
    if (hit) return hit
    liveTrees.add(key)
    checked.trees++
    const damaged: string[] = []
    let entries
    try {
      entries = ctx.trees.get(hash)
    } catch (e) {
      damaged.push(`/ (tree ${key}: ${(e as Error).message})`)
      treeStatus.set(key, damaged)
      return damaged
    }
    for (const e of entries) {
      if (e.kind === 'dir') {
        for (const d of checkTree(e.hash)) damaged.push(`/${e.name}${d === '/' ? '' : d}`)
      } else {
        checked.files++
        let bad = false
        for (const c of e.chunks) {
          const hex = toHex(c)
          liveBlobs.add(hex)
          if (!bad && (badBlobs.has(hex) || !has.get(c))) bad = true
        }
        if (bad) damaged.push(`/${e.name}`)
      }
    }
    treeStatus.set(key, damaged)
    return damaged
  }
  for (const t of db.prepare('SELECT DISTINCT output FROM datums WHERE output IS NOT NULL').pluck().all() as Buffer[]) {
    for (const path of checkTree(t)) problems.push({kind: 'damaged_file', path, message: `datum output ${path} (tree ${toHex(t)}) cannot be read intact`})
  }
  for (const c of commits) {
    checked.commits++
    if (!c.tree) continue
    const repo = c.type === 'user' ? c.name : `${c.name}.${c.type}`
    for (const path of checkTree(c.tree)) {
      problems.push({kind: 'damaged_file', repo, commit: c.id, path, message: `file ${path} in ${repo}@${c.id} cannot be read intact`})
    }
  }
  for (const [kind, sql] of [
    ['branch head', 'SELECT b.repo_id, b.name AS what, b.head AS ref FROM branches b LEFT JOIN commits c ON c.repo_id = b.repo_id AND c.id = b.head WHERE c.id IS NULL'],
    ['commit parent', 'SELECT k.repo_id, k.id AS what, k.parent AS ref FROM commits k LEFT JOIN commits c ON c.repo_id = k.repo_id AND c.id = k.parent WHERE k.parent IS NOT NULL AND c.id IS NULL'],
  ] as const) {
    for (const r of db.prepare(sql).all() as {repo_id: number; what: string; ref: string}[]) {
      problems.push({kind: 'dangling_ref', commit: r.ref, message: `${kind} ${r.what} (repo id ${r.repo_id}) points at missing commit ${r.ref}`})
    }
  }

  // 3. garbage
  const garbage = {packs: 0, blobs: 0, trees: 0, tmp_files: 0, bytes: 0}
  for (const p of onDisk) {
    if (indexedPacks.has(p)) continue
    garbage.packs++
    garbage.bytes += fileSize(ctx.store.packPath(Buffer.from(p, 'hex')))
  }
  // temp packs of a killed writer (while a write is running they are its work in progress)
  if (liveLeases(db, 'write').length === 0) {
    for (const t of ctx.store.listTmpFiles()) {
      garbage.tmp_files++
      garbage.bytes += t.size
    }
  }
  for (const row of db.prepare('SELECT id, length FROM blobs').all() as {id: Buffer; length: number}[]) {
    if (!liveBlobs.has(toHex(row.id))) {
      garbage.blobs++
      garbage.bytes += row.length
    }
  }
  for (const h of db.prepare('SELECT hash FROM trees').pluck().all() as Buffer[]) if (!liveTrees.has(toHex(h))) garbage.trees++
  return {ok: problems.length === 0, problems, checked, garbage}
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
  const running = ctx.db
    .prepare("SELECT pipeline, id, lease_pid, lease_host FROM jobs WHERE state IN ('JOB_STARTING', 'JOB_RUNNING', 'JOB_FINISHING')")
    .all() as {pipeline: string; id: string; lease_pid: number | null; lease_host: string | null}[]
  const live = new Set(running.filter((j) => j.lease_host !== hostname() || (j.lease_pid !== null && pidAlive(j.lease_pid))).map((j) => `${j.pipeline}-${j.id}`))
  return names.filter((n) => !live.has(n)).map((n) => join(dir, n))
}

function fileSize(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

export interface GcReport {
  dry_run: boolean
  deleted_packs: number
  repacked_packs: number
  deleted_blobs: number
  deleted_trees: number
  orphan_files: number
  /** scratch dirs of jobs no live process runs (`.pach/tmp/jobs`, left by a killed `pach run`) */
  job_dirs: number
  reclaimed_bytes: number
}

/** Mark: every tree and blob reachable from any commit (pure over DB rows). */
export function markLive(ctx: CoreContext): {trees: Set<string>; blobs: Set<string>} {
  const trees = new Set<string>()
  const blobs = new Set<string>()
  const visit = (hash: Buffer) => {
    const k = hash.toString('latin1')
    if (trees.has(k)) return
    trees.add(k)
    for (const e of ctx.trees.get(hash)) {
      if (e.kind === 'dir') visit(e.hash)
      else for (const c of e.chunks) blobs.add(c.toString('latin1'))
    }
  }
  for (const t of ctx.db.prepare('SELECT DISTINCT tree FROM commits WHERE tree IS NOT NULL').pluck().all() as Buffer[]) visit(t)
  // per-datum outputs are kept for incremental merges even when no commit holds them whole
  for (const t of ctx.db.prepare('SELECT DISTINCT output FROM datums WHERE output IS NOT NULL').pluck().all() as Buffer[]) visit(t)
  return {trees, blobs}
}

export async function gc(ctx: CoreContext, opts: {dryRun?: boolean; repackThreshold?: number} = {}): Promise<GcReport> {
  const db = ctx.db
  const leaseId = ctx.newId()
  withTx(db, () => {
    const writers = liveLeases(db, 'write')
    if (writers.length > 0) throw new LockedError(`a write is in progress (pid ${writers[0]!.pid}); gc does not run during writes`)
    const others = liveLeases(db, 'gc')
    if (others.length > 0) throw new LockedError(`another gc is running (pid ${others[0]!.pid})`)
    db.prepare('DELETE FROM leases').run() // every remaining lease is stale
    db.prepare('INSERT INTO leases(id, kind, pid, host, started) VALUES (?, ?, ?, ?, ?)').run(leaseId, 'gc', process.pid, hostname(), ctx.now())
  })
  // gc unlinks pack files right after the transaction that unindexes them (repack: after the
  // one that moves their live blobs). Under synchronous=NORMAL a commit reaches the disk only
  // at the next WAL sync, so an OS crash could bring the old index back after the file is
  // gone: live blobs pointing at a deleted pack. FULL syncs each of gc's commits first.
  const sync = db.pragma('synchronous', {simple: true})
  db.pragma('synchronous = FULL')
  try {
    return await sweep(ctx, opts)
  } finally {
    db.prepare('DELETE FROM leases WHERE id = ?').run(leaseId)
    db.pragma(`synchronous = ${Number(sync)}`)
  }
}

async function sweep(ctx: CoreContext, opts: {dryRun?: boolean; repackThreshold?: number}): Promise<GcReport> {
  const db = ctx.db
  const live = markLive(ctx)
  const report: GcReport = {dry_run: !!opts.dryRun, deleted_packs: 0, repacked_packs: 0, deleted_blobs: 0, deleted_trees: 0, orphan_files: 0, job_dirs: 0, reclaimed_bytes: 0}
  const deadTrees = (db.prepare('SELECT hash FROM trees').pluck().all() as Buffer[]).filter((h) => !live.trees.has(h.toString('latin1')))
  const blobs = db.prepare('SELECT id, pack, length FROM blobs').all() as {id: Buffer; pack: Buffer; length: number}[]
  const packs = db.prepare('SELECT id, size FROM packs').all() as {id: Buffer; size: number}[]
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
  const threshold = opts.repackThreshold ?? 0.25
  const emptyPacks: {id: Buffer; size: number}[] = []
  const repack: {id: Buffer; size: number; live: {id: Buffer; length: number}[]}[] = []
  for (const p of packs) {
    const s = perPack.get(p.id.toString('latin1'))!
    if (s.live.length === 0) emptyPacks.push(p)
    else if (s.deadBytes > 0 && s.deadBytes / p.size >= threshold) repack.push({...p, live: s.live})
  }
  const indexed = new Set(packs.map((p) => toHex(p.id)))
  const orphans = ctx.store.listPackFiles().filter((p) => !indexed.has(p))
  report.deleted_trees = deadTrees.length
  report.deleted_blobs = deadBlobs.length
  report.deleted_packs = emptyPacks.length
  report.repacked_packs = repack.length
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
    const dt = db.prepare('DELETE FROM trees WHERE hash = ?')
    for (const h of deadTrees) dt.run(h)
    const db_ = db.prepare('DELETE FROM blobs WHERE id = ?')
    for (const b of deadBlobs) db_.run(b)
    const dp = db.prepare('DELETE FROM packs WHERE id = ?')
    for (const p of emptyPacks) dp.run(p.id)
  })
  for (const p of emptyPacks) ctx.store.deletePackFile(toHex(p.id))
  for (const o of orphans) ctx.store.deletePackFile(o)
  ctx.store.cleanTmp()

  // repack: copy live blobs into new packs, repoint the index, then delete the old pack
  for (const p of repack) {
    const blobsData = p.live.map((b) => ({id: b.id, data: ctx.store.readBlob(b.id)}))
    const writer = ctx.store.repackWriter()
    for (const b of blobsData) if (sha256(b.data).equals(b.id)) writer.add(b.id, b.data)
    await writer.close()
    db.prepare('DELETE FROM packs WHERE id = ?').run(p.id)
    ctx.store.deletePackFile(toHex(p.id))
  }
  db.pragma('wal_checkpoint(TRUNCATE)')
  return report
}
