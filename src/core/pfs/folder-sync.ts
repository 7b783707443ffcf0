/**
 * Folder sync: keep a branch in step with a local folder (`pach watch`). The core owns what a
 * sync decides and writes; the folder itself (scanning, events, ignore rules, reading) is an
 * external system reached through the `Folder` interface, which src/cli/ implements.
 *
 * Concepts:
 * - a sync looks at candidate paths (every path, on start; the paths events named, after) and
 *   compares the folder with the branch head: a file only in the folder is *added*, a file in
 *   both with other content is *changed*, a file only in the head (or under a directory that
 *   is gone, or that is now a file) is *deleted*. Content is compared by size first and by
 *   pach's content hash (hashContent) when the sizes match, so an unchanged file costs a read
 *   and never a write, and touching a file without changing it makes no commit.
 * - one sync is one write (FileService.put: deletes first, then the files, in one commit): a
 *   one-off commit on the branch, or the open head commit when there is one. Nothing changed,
 *   no commit.
 * - a file still being written is never committed half-written: a file modified less than
 *   `settleMs` ago is deferred (returned for the next sync), and a file whose size or mtime
 *   differs after it was read than before makes the whole write fail with nothing written
 *   (FileService.put is atomic); the caller syncs those paths again later.
 *
 * planSync is pure; FolderSync.sync is the applier.
 */
import type {CoreContext} from '../context.js'
import {ConflictError} from '../errors.js'
import {hashContent} from '../store/content.js'
import type {FileService, PutEdit} from './file-service.js'
import type {CommitRef} from './refs.js'
import type {CommitPB} from '../types.js'

/** A regular file of the folder, by its path in the repo ("/a/b.txt"). */
export interface FolderFile {
  path: string
  size: number
  mtimeMs: number
}

/** What the core needs of a local folder. Paths are repo paths ("/a/b.txt"). */
export interface Folder {
  /** every regular file not ignored, of the whole folder or under the directory `under` (none when it is missing) */
  scan(under?: string): Iterable<FolderFile>
  /** the file at this path now (undefined when it is missing, ignored or not a regular file) */
  stat(path: string): FolderFile | undefined
  /** its bytes */
  open(path: string): AsyncIterable<Uint8Array>
  /** its bytes at once when it is at most `limit` bytes */
  readSmall(path: string, limit: number): Buffer | undefined
}

/** A file of the branch head. */
export interface HeadFile {
  size: number
  /** content hash (hex) */
  hash: string
}

export interface SyncPlan {
  /** paths the head has and the folder does not: deleted (files, or whole directories) */
  deletes: string[]
  /** files new to the head */
  adds: FolderFile[]
  /** files whose size differs from the head's */
  changes: FolderFile[]
  /** files of the same size as the head's: compare content before writing */
  checks: FolderFile[]
  /** files modified too recently to be read whole: sync them later */
  deferred: string[]
}

const under = (dir: string, p: string) => dir === '/' || p === dir || p.startsWith(dir + '/')

/** The paths of a sorted list that are `c` or under it (binary search to the first, then a run). */
function* within(sorted: readonly string[], c: string): Generator<string> {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]! < c) lo = mid + 1
    else hi = mid
  }
  // "/a" sorts before "/a/x" but "/a-b" falls between them: skip what is not under c
  for (let i = c === '/' ? 0 : lo; i < sorted.length; i++) {
    const p = sorted[i]!
    if (under(c, p)) yield p
    else if (!p.startsWith(c)) break
  }
}

/**
 * What a sync of `candidates` ('all' on start) must do, given the folder's files and the head's.
 * A candidate names a file or a directory (an event on a directory, e.g. its removal).
 */
export function planSync(
  candidates: Iterable<string> | 'all',
  local: ReadonlyMap<string, FolderFile>,
  head: ReadonlyMap<string, HeadFile>,
  opts: {now: number; settleMs: number},
): SyncPlan {
  const plan: SyncPlan = {deletes: [], adds: [], changes: [], checks: [], deferred: []}
  const paths = new Set<string>()
  if (candidates === 'all') {
    for (const p of local.keys()) paths.add(p)
    for (const p of head.keys()) paths.add(p)
  } else {
    const headPaths = [...head.keys()].sort()
    const localPaths = [...local.keys()].sort()
    for (const c of candidates) {
      // a directory candidate (or a file that became one, or the reverse) reaches the files under it
      for (const p of within(headPaths, c)) paths.add(p)
      for (const p of within(localPaths, c)) paths.add(p)
    }
  }
  for (const p of [...paths].sort()) {
    const l = local.get(p)
    const h = head.get(p)
    if (!l) {
      if (h) plan.deletes.push(p)
      continue
    }
    if (opts.now - l.mtimeMs < opts.settleMs) {
      plan.deferred.push(p)
      continue
    }
    if (!h) plan.adds.push(l)
    else if (h.size !== l.size) plan.changes.push(l)
    else plan.checks.push(l)
  }
  return plan
}

export interface SyncResult {
  /** the commit written, or undefined when nothing changed */
  commit?: CommitPB
  added: string[]
  changed: string[]
  deleted: string[]
  /** paths to sync again later (still being written) */
  deferred: string[]
  bytes: number
}

export class FolderSync {
  constructor(
    private readonly ctx: CoreContext,
    private readonly files: FileService,
  ) {}

  /** The head's files (an empty map when the branch does not exist yet). */
  headFiles(project: string, ref: CommitRef): Map<string, HeadFile> {
    const out = new Map<string, HeadFile>()
    let infos
    try {
      infos = this.files.glob(project, ref, '**')
    } catch (e) {
      if ((e as {code?: string}).code === 'BRANCH_NOT_FOUND') return out
      throw e
    }
    for (const f of infos) if (f.file_type === 'FILE') out.set(f.file.path, {size: f.size_bytes, hash: f.hash})
    return out
  }

  /**
   * Sync `candidates` (or 'all') of `folder` into `ref` (a branch) as one commit. Throws
   * FILE_CHANGED when a file changed while it was read (nothing written; sync it again), the
   * abort reason, or what FileService.put throws.
   */
  async sync(project: string, ref: CommitRef, folder: Folder, candidates: Iterable<string> | 'all', opts: {settleMs: number; signal?: AbortSignal; description?: string}): Promise<SyncResult> {
    const local = new Map<string, FolderFile>()
    if (candidates === 'all') for (const f of folder.scan()) local.set(f.path, f)
    else {
      const cands = [...candidates]
      candidates = cands
      for (const c of cands) {
        const f = folder.stat(c)
        if (f) local.set(c, f)
      }
      // files under a candidate directory (a directory moved in brings its files in one event)
      for (const c of cands) if (!local.has(c)) for (const f of folder.scan(c)) local.set(f.path, f)
    }
    const head = this.headFiles(project, ref)
    const plan = planSync(candidates, local, head, {now: Date.now(), settleMs: opts.settleMs})
    const changed = [...plan.changes]
    for (const f of plan.checks) {
      opts.signal?.throwIfAborted()
      const h = await hashContent(folder.open(f.path), this.ctx.config.chunker, opts.signal)
      if (h.hash.toString('hex') !== head.get(f.path)!.hash) changed.push(f)
    }
    const result: SyncResult = {added: plan.adds.map((f) => f.path), changed: changed.map((f) => f.path).sort(), deleted: plan.deletes, deferred: plan.deferred, bytes: 0}
    if (plan.adds.length + changed.length + plan.deletes.length === 0) return result
    const edits: PutEdit[] = plan.deletes.map((p) => ({delete: p}))
    for (const f of [...plan.adds, ...changed]) edits.push(this.source(folder, f))
    const r = await this.files.put(project, ref, edits, {signal: opts.signal, concurrency: 2, description: opts.description})
    result.commit = r.commit
    result.bytes = r.bytes
    return result
  }

  /** A put source that refuses a file which changed while it was read. */
  private source(folder: Folder, f: FolderFile): PutEdit {
    const verify = (n: number) => {
      const now = folder.stat(f.path)
      if (n !== f.size || !now || now.size !== f.size || now.mtimeMs !== f.mtimeMs) {
        throw new ConflictError('CONCURRENT_MODIFICATION', `${f.path} changed while it was being read; nothing was written`, {
          hint: 'it is synced again once it stops changing',
          data: {path: f.path},
        })
      }
    }
    return {
      path: f.path,
      size: f.size,
      readSmall(limit) {
        const b = folder.readSmall(f.path, limit)
        if (b) verify(b.length)
        return b
      },
      open: () =>
        (async function* () {
          let n = 0
          for await (const b of folder.open(f.path)) {
            n += b.length
            yield b
          }
          verify(n)
        })(),
    }
  }
}
