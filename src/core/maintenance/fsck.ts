/**
 * fsck (restic check): read everything and report what is damaged, without changing it.
 *
 * It checks the SQLite integrity; every pack's trailer and every blob's hash; every commit's
 * trees and every file's chunk references, and datum output trees. It names damaged packs,
 * and the commits and paths whose bytes they hold. Garbage (unindexed packs, unreferenced
 * blobs and trees, temp packs a killed writer left in objects/tmp) is reported separately
 * because it is harmless and `gc` removes it; blobs a staged record names (store/staged.ts) are
 * not garbage.
 *
 * This sits above pfs, pps and the store: it reads PFS rows (commits, branches), PPS rows
 * (datum outputs), the store index (packs, blobs, trees) and the pack files themselves.
 */
import {statSync} from 'node:fs'
import type {CoreContext} from '../context.js'
import {quickCheck} from '../db/open.js'
import * as datums from '../db/datums.js'
import * as objects from '../db/objects.js'
import * as rows from '../db/pfs-rows.js'
import {toHex} from '../store/hash.js'
import {stagedChunks, stagedRoot} from '../store/staged.js'
import {liveLeases} from '../process.js'
import {repoLabel} from '../types.js'

export interface FsckProblem {
  kind: 'damaged_pack' | 'missing_pack' | 'damaged_blob' | 'missing_blob' | 'damaged_tree' | 'damaged_file' | 'dangling_ref' | 'damaged_datum_set' | 'database'
  message: string
  pipeline?: string
  job?: string
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

export function fsck(ctx: CoreContext, opts: {readData?: boolean} = {}): FsckReport {
  const db = ctx.db
  const problems: FsckProblem[] = []
  const checked = {packs: 0, blobs: 0, bytes: 0, commits: 0, trees: 0, files: 0}
  const integrity = quickCheck(db)
  if (integrity !== 'ok') problems.push({kind: 'database', message: `database integrity check failed: ${integrity}`})

  // 1. packs and blobs
  const onDisk = new Set(ctx.store.listPackFiles())
  const indexedPacks = new Set(objects.listPacks(db).map((p) => toHex(p.id)))
  const badBlobs = new Map<string, string>() // blob hex -> reason
  for (const p of indexedPacks) {
    if (!onDisk.has(p)) {
      problems.push({kind: 'missing_pack', pack: p, message: `pack ${p} is missing from objects/packs`})
      for (const b of objects.listBlobsInPack(db, Buffer.from(p, 'hex'))) badBlobs.set(toHex(b.id), `its pack ${p} is missing`)
    }
  }
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
        const indexed = objects.listBlobsInPack(db, Buffer.from(p, 'hex'))
        for (const b of indexed) {
          if (opts.readData === false) badBlobs.set(toHex(b.id), `its pack ${p} is damaged`)
          else verify(p, b.id, b.length)
        }
      }
      continue
    }
    if (opts.readData === false) continue
    for (const en of entries) {
      const loc = objects.getBlobRow(db, en.id)
      if (!loc || toHex(loc.pack) !== p) continue // a copy that is not the indexed one: garbage
      verify(p, en.id, en.length)
    }
  }
  ctx.store.closeFds()

  // 2. commits, trees, files
  const commits = rows.listCommitsWithRepo(db)
  const liveTrees = new Set<string>()
  const liveBlobs = new Set<string>()
  const treeStatus = new Map<string, string[]>() // tree hex -> damaged paths (relative)
  const checkTree = (hash: Buffer): string[] => {
    const key = toHex(hash)
    const hit = treeStatus.get(key)
    if (hit) return hit
    liveTrees.add(key)
    for (const b of ctx.trees.deltaBases(hash)) {
      if (liveTrees.has(toHex(b))) break
      liveTrees.add(toHex(b))
    }
    checked.trees++
    const damaged: string[] = []
    let node
    try {
      node = ctx.trees.node(hash)
    } catch (e) {
      damaged.push(`/ (tree ${key}: ${(e as Error).message})`)
      treeStatus.set(key, damaged)
      return damaged
    }
    // an index node's children are parts of the same directory: their paths need no prefix
    if (node.kind === 'index') {
      for (const it of node.items) damaged.push(...checkTree(it.hash))
      treeStatus.set(key, damaged)
      return damaged
    }
    for (const e of node.entries) {
      if (e.kind === 'dir') {
        for (const d of checkTree(e.hash)) damaged.push(`/${e.name}${d === '/' ? '' : d}`)
      } else {
        checked.files++
        let bad = false
        for (const c of e.chunks) {
          const hex = toHex(c)
          liveBlobs.add(hex)
          if (!bad && (badBlobs.has(hex) || !objects.getBlobRow(db, c))) bad = true
        }
        if (bad) damaged.push(`/${e.name}`)
      }
    }
    treeStatus.set(key, damaged)
    return damaged
  }
  for (const t of datums.listDatumOutputTrees(db)) {
    for (const path of checkTree(t)) problems.push({kind: 'damaged_file', path, message: `datum output ${path} (tree ${toHex(t)}) cannot be read intact`})
  }
  for (const c of commits) {
    checked.commits++
    if (!c.tree) continue
    const repo = repoLabel(c)
    for (const path of checkTree(c.tree)) {
      problems.push({kind: 'damaged_file', repo, commit: c.id, path, message: `file ${path} in ${repo}@${c.id} cannot be read intact`})
    }
  }
  for (const [kind, dangling] of [
    ['branch head', rows.listDanglingBranchHeads(db)],
    ['commit parent', rows.listDanglingCommitParents(db)],
  ] as const) {
    for (const r of dangling) {
      problems.push({kind: 'dangling_ref', commit: r.ref, message: `${kind} ${r.what} (repo id ${r.repo_id}) points at missing commit ${r.ref}`})
    }
  }

  // jobs' datum sets: every delta chain resolves to a snapshot and applies
  for (const d of datums.verifyDatumSets(db)) {
    problems.push({kind: 'damaged_datum_set', pipeline: `${d.project}/${d.pipeline}`, job: d.job, message: `datum set of job ${d.pipeline}@${d.job}: ${d.problem}`})
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
  for (const c of stagedChunks(stagedRoot(ctx.pachDir))) liveBlobs.add(toHex(c))
  for (const row of objects.listBlobs(db)) {
    if (!liveBlobs.has(toHex(row.id))) {
      garbage.blobs++
      garbage.bytes += row.length
    }
  }
  for (const h of objects.listTreeHashes(db)) if (!liveTrees.has(toHex(h))) garbage.trees++
  return {ok: problems.length === 0, problems, checked, garbage}
}

function fileSize(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}
