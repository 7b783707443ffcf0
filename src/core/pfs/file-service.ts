/**
 * Files: put/get/list/glob/inspect/diff/delete/copy (pachctl's file verbs).
 *
 * Write protocol (data before metadata):
 *   1. resolve the target (an open commit, or a branch that will get a one-off commit) and
 *      check it can take writes before reading any data (small files given whole, whose
 *      bytes are in memory already, are checked by step 4 alone);
 *   2. stream every source through the chunker into packs (BlobStore writer);
 *   3. close the writer: packs are durable and indexed;
 *   4. one SQLite transaction re-resolves the target, applies all tree edits, and for a
 *      one-off commit creates and finishes it in the same transaction.
 * A failure or Ctrl-C before step 4 leaves the repo exactly as it was (plus unreferenced
 * packs that `gc` removes); there is never a half-visible file or commit.
 *
 * Writes go to the branch head when it is open, otherwise into a new commit that is finished
 * at once (origin USER). An explicit finished commit id is refused.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {CommitFinishedError, ConflictError, CorruptObjectError, InvalidArgumentError, NotFoundError} from '../errors.js'
import type {CoreContext} from '../context.js'
import {inSavepoint, withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {BranchRow, CommitRow, RepoRow} from '../db/pfs-rows.js'
import {appendContent, concatContent, readContent, readContentSync, smallContent, writeContent, type FileContent} from '../store/content.js'
import {toHex} from '../store/hash.js'
import type {PackWriter} from '../store/pack-store.js'
import {repoLabel, type DiffFileInfo, type FileInfo, type FileWriteResult, type PutFileResult} from '../types.js'
import type {PfsEngine} from './engine.js'
import type {PipelineWriter} from './hooks.js'
import {compileGlob, GlobSyntaxError} from './glob.js'
import {cleanPath, validatePath} from './paths.js'
import {PathHistory} from './path-history.js'
import {PendingEdits} from './pending-edits.js'
import {formatCommit, type CommitRef, type FileRef} from './refs.js'
import type {Entry, FileEntry, TreeOp} from '../store/tree-store.js'
import {Jobs} from '../units/jobs.js'

export interface PutSource {
  /** destination path in the commit (validated here) */
  path: string
  /** opened lazily, consumed once */
  open(): AsyncIterable<Uint8Array>
  size?: number
  /**
   * Local files: the whole content at once when it is at most `limit` bytes, else undefined
   * (then `open` streams it). Skips the stream machinery for small files: 100,000 of them
   * must not cost 100,000 streams.
   */
  readSmall?(limit: number): Buffer | undefined
}

/** A put source of bytes held in memory (small ones are group-committed: FileService.putSmall). */
export function bufferSource(path: string, buf: Buffer): PutSource {
  return {
    path,
    size: buf.length,
    readSmall: (limit) => (buf.length <= limit ? buf : undefined),
    open: async function* () {
      yield buf
    },
  }
}

/** In a put's sources: delete a file or a directory subtree at this point of the order. */
export interface PutDelete {
  delete: string
}

/**
 * In a put's sources: copy `from` (a file or a directory, in any commit of `fromProject`,
 * default: the put's project) to `path` at this point of the order — by reference, file by
 * file as `copy` does; with `append`, each file's bytes are appended to what `path` (or the
 * file under it) holds at that point.
 */
export interface PutCopy {
  copy: FileRef
  fromProject?: string
  path: string
  append?: boolean
}

/**
 * What `put` writes, in order: files (PutSource), and for pachd's ModifyFile, which mixes
 * them in one commit, deletes and copies. With `append`, a file is appended to what its path
 * holds at that point of the order (after earlier deletes, copies and appends of this write).
 */
export type PutEdit = PutSource | PutDelete | PutCopy

export interface PutOptions {
  append?: boolean
  signal?: AbortSignal
  /** paths to delete (recursively) before the writes, in the same commit (cron overwrite) */
  deleteFirst?: string[]
  /** how many sources may be chunked at once (only for independent, non-streaming sources) */
  concurrency?: number
  /** a spout writing its own output branch (see PfsEngine.startCommit) */
  writer?: PipelineWriter
  /** the description of the one-off commit, when the write makes one (an open commit keeps its own) */
  description?: string
  /**
   * Runs inside the write's transaction once its edits are applied, given the commit they
   * landed in: what must commit with the write or not at all (the S3 gateway records the ETag
   * of the object it wrote). Synchronous; a throw abandons the write.
   */
  inTx?: (commit: CommitRow) => void
}

interface Target {
  repo: RepoRow
  /** an open commit to write into */
  commit?: CommitRow
  /** a branch that gets a one-off commit */
  branch?: string
  /** that branch's row (none yet: its first commit creates it) and finished head, as read */
  branchRow?: BranchRow
  head?: CommitRow
}

export class FileService {
  private readonly paths: PathHistory
  private readonly groups: GroupCommit

  constructor(readonly ctx: CoreContext, readonly engine: PfsEngine) {
    this.paths = new PathHistory(ctx, engine.resolve)
    this.groups = new GroupCommit(ctx)
  }

  private get r() {
    return this.engine.resolve
  }

  // ---------------- writes ----------------

  private resolveTarget(project: string, ref: CommitRef, writer?: PipelineWriter): Target {
    if (ref.ancestry) throw new InvalidArgumentError('INVALID_ADDRESS', `cannot write to an ancestor address (${formatCommit(ref)})`, {hint: 'write to a branch or an open commit id'})
    const repo = this.r.repo(ref.repo, project)
    if (ref.id) {
      const commit = this.r.commitById(repo, ref.id)
      if (commit.finished) {
        throw new CommitFinishedError(repoLabel(repo), commit.id, {hint: `write to the branch (\`${repoLabel(repo)}@${commit.branch ?? 'master'}\`) to get a new commit`})
      }
      return {repo, commit}
    }
    const branch = ref.branch ?? 'master'
    const b = rows.getBranch(this.ctx.db, repo.id, branch)
    if (b) {
      // an output branch takes no user writes, whether its head is finished or a job's open
      // output commit (only the pipeline writing it, e.g. s3_out or a spout, may)
      if (rows.branchProvenance(this.ctx.db, repo.id, branch).length > 0 && !this.engine.mayWriteOutput(repo, branch, writer)) {
        throw new ConflictError('OUTPUT_BRANCH', `cannot write to output branch ${repoLabel(repo)}@${branch}: it has provenance`, {
          hint: 'write to the input repos instead; output commits are made by pipelines',
        })
      }
      const head = rows.getCommit(this.ctx.db, repo.id, b.head)!
      if (!head.finished) return {repo, commit: head}
      return {repo, branch, branchRow: b, head}
    }
    return {repo, branch}
  }

  /** The tree the writes will apply on top of (for appends and copies). */
  private baseTree(t: Target): Buffer | null {
    if (t.commit) return rows.getCommit(this.ctx.db, t.repo.id, t.commit.id)?.tree ?? null
    const b = rows.getBranch(this.ctx.db, t.repo.id, t.branch!)
    return b ? this.r.baseTree(t.repo, rows.getCommit(this.ctx.db, t.repo.id, b.head)) : null
  }

  /** Apply tree ops in one transaction (step 4 of the write protocol). */
  private commitOps(project: string, ref: CommitRef, ops: TreeOp[], checks: {path: string; hash: Buffer | null}[], writer?: PipelineWriter, description?: string, inTx?: (commit: CommitRow, repo: RepoRow) => void): CommitRow {
    return withTx(this.ctx.db, () => {
      const t = this.resolveTarget(project, ref, writer)
      const apply = (base: Buffer | null) => {
        for (const c of checks) {
          const e = this.ctx.trees.lookup(base, c.path)
          const h = e && e.kind === 'file' ? e.hash : null
          if ((h === null) !== (c.hash === null) || (h && c.hash && !h.equals(c.hash))) {
            throw new ConflictError('CONCURRENT_MODIFICATION', `file ${c.path} changed while it was being appended to; nothing was written`, {hint: 'retry the command'})
          }
        }
        return this.ctx.trees.apply(base, ops)
      }
      let done: CommitRow
      if (!t.commit) {
        // a one-off commit: started, written and finished at once
        done = this.engine.commitWhole(t.repo, t.branch!, {id: this.ctx.newId(), writer, description, checked: {branch: t.branchRow, head: t.head}}, apply)
      } else {
        // the open commit's row as resolveTarget read it in this transaction; only tree and size change
        const root = apply(t.commit.tree)
        const size = this.engine.treeSize(root)
        rows.setCommitTree(this.ctx.db, t.repo.id, t.commit.id, root, size)
        done = {...t.commit, tree: root, size}
      }
      inTx?.(done, t.repo)
      return done
    })
  }

  /**
   * Write files (see the write protocol above): every source, delete and copy in `sources`
   * applies in order in one commit. With `append`, each file is appended to what its path
   * holds at that point of this write (PendingEdits), checked again at commit time for paths
   * read from the branch (CONCURRENT_MODIFICATION). Throws COMMIT_FINISHED, OUTPUT_BRANCH,
   * INVALID_PATH, PATH_COLLISION, FILE_NOT_FOUND (a copy's source), or the abort reason.
   * @example files.put('default', parseCommit('r@master'), [{delete: '/a'}, {path: '/a', open}], {append: true})
   */
  async put(project: string, ref: CommitRef, sources: AsyncIterable<PutEdit> | Iterable<PutEdit>, opts: PutOptions = {}): Promise<PutFileResult> {
    const params = this.ctx.config.chunker
    const small = Array.isArray(sources) && !opts.append ? this.smallSources(sources as PutEdit[], params.minSize) : undefined
    // small files' bytes are read already: step 1 (the repo exists, the branch or commit can
    // take writes) is the check in the group's transaction, not a second one before it
    if (small) return this.putSmall(project, ref, small, opts)
    const target = this.resolveTarget(project, ref, opts.writer)
    const base = this.baseTree(target)
    const ops: TreeOp[] = (opts.deleteFirst ?? []).map((p) => ({type: 'delete', path: cleanPath(p)}))
    const checks: {path: string; hash: Buffer | null}[] = []
    const checked = new Set<string>()
    // what a path holds part-way through this write (appends, appending copies)
    const pending = new PendingEdits(ops, base, (root, p) => this.ctx.trees.lookup(root, p))
    ops.forEach((_, i) => pending.record(i))
    const push = (op: TreeOp) => pending.record(ops.push(op) - 1)
    const progress = this.ctx.reporter.progress('put file', 'bytes')
    let bytes = 0
    let files = 0
    const writer = await this.ctx.store.writerWait()
    // Independent sources are chunked concurrently (2 cores); appends and streaming sources
    // (stdin, tar entries) must go one at a time.
    const concurrency = opts.append ? 1 : Math.max(1, opts.concurrency ?? 1)
    const jobs = new Jobs(concurrency)
    try {
      const onBytes = (n: number) => {
        bytes += n
        progress.add(n)
      }
      /** append the source's bytes to what `path` holds at this point of the write */
      const appendAt = async (path: string, open: () => AsyncIterable<Uint8Array>, readSmall?: PutSource['readSmall']) => {
        if (jobs.size > 0) await jobs.drain() // earlier (concurrent) puts are in `ops` before a lookup
        jobs.check()
        const {entry: e, fromBase} = pending.current(path)
        if (e && e.kind === 'dir') {
          throw new ConflictError('PATH_COLLISION', `file / directory path collision (${path}): ${path} is a directory`)
        }
        if (fromBase && !checked.has(path)) {
          checked.add(path)
          checks.push({path, hash: e ? e.hash : null})
        }
        const prior = e as FileEntry | undefined
        // a new small file given whole (one ModifyFile message): one chunk, no stream
        const buf = prior ? undefined : readSmall?.(params.minSize)
        if (buf) {
          push({type: 'put', path, content: smallContent(buf, writer)})
          onBytes(buf.length)
          files++
          if (writer.full) await writer.drain()
          return
        }
        const content = prior
          ? await appendContent(prior, open(), writer, params, onBytes, opts.signal)
          : await writeContent(open(), writer, params, onBytes, opts.signal)
        push({type: 'put', path, content})
        files++
      }
      for await (const src of sources as AsyncIterable<PutEdit>) {
        opts.signal?.throwIfAborted()
        jobs.check()
        if ('delete' in src) {
          push({type: 'delete', path: validatePath(src.delete)})
          continue
        }
        if ('copy' in src) {
          const from = this.r.commit(src.copy.commit, src.fromProject ?? project)
          const fromPath = validatePath(src.copy.path)
          const entry = this.ctx.trees.lookup(from.commit.tree, fromPath)
          if (!entry) throw this.fileNotFound(from.repo, from.commit, fromPath)
          const dst = validatePath(src.path)
          if (!src.append) {
            push({type: 'merge', path: dst, entry})
            continue
          }
          const store = this.ctx.store
          // a directory: each file under it, appended at the same place under `dst`
          const under = (p: string) => (fromPath === '/' ? p : p.slice(fromPath.length))
          const targets: [string, Entry][] = entry.kind === 'file' ? [[dst, entry]] : [...this.ctx.trees.walk(from.commit.tree, fromPath)].map(([p, e]) => [dst === '/' ? under(p) : dst + under(p), e])
          for (const [p, e] of targets) {
            if (e.kind !== 'file') continue
            await appendAt(p, async function* () {
              yield* readContent(store, e)
            })
          }
          continue
        }
        const path = validatePath(src.path)
        if (path === '/') throw new InvalidArgumentError('INVALID_PATH', 'cannot write a file at the root path "/"', {hint: 'give a file path, e.g. repo@master:/data.csv'})
        if (opts.append) {
          await appendAt(path, () => src.open(), src.readSmall && ((limit) => src.readSmall!(limit)))
          continue
        }
        const buf = src.size === undefined || src.size <= params.minSize ? src.readSmall?.(params.minSize) : undefined
        if (buf) {
          // at most one chunk: hash and add in place
          const content = smallContent(buf, writer)
          onBytes(buf.length)
          push({type: 'put', path, content})
          files++
          if (writer.full) await writer.drain()
          continue
        }
        // the slot is taken at push time: small files above push ops too
        const slot = ops.length
        ops.push({type: 'put', path, content: {size: 0, hash: Buffer.alloc(32), chunks: [], sizes: []}}) // placeholder, replaced below (keeps op order)
        pending.record(slot)
        await jobs.add(
          writeContent(src.open(), writer, params, onBytes, opts.signal).then((content) => {
            ops[slot] = {type: 'put', path, content}
            files++
          }),
        )
      }
      await jobs.drain()
      await writer.close()
    } catch (e) {
      await jobs.settle()
      await writer.abort()
      progress.done()
      throw e
    }
    progress.done()
    let commit: CommitRow
    try {
      opts.signal?.throwIfAborted()
      commit = this.commitOps(project, ref, ops, checks, opts.writer, opts.description, opts.inTx)
    } finally {
      writer.release()
    }
    return {commit: this.r.commitPB(target.repo, commit), files, bytes, stored_bytes: writer.bytesWritten}
  }

  /**
   * Write one file whose bytes are stored contents joined end to end — an S3 multipart
   * upload's parts, staged as they arrived (store/staged.ts) — exactly as `put` of those bytes
   * would (same chunks, same hash), reading only the bytes around each seam (concatContent).
   * The caller keeps the parts staged until this returns. One commit, as `put`; throws what
   * put throws, and CORRUPT_OBJECT when a part names a chunk the store does not have.
   * @example files.putConcat('default', parseCommit('r@master'), '/big.bin', [part1, part2])
   */
  async putConcat(project: string, ref: CommitRef, path: string, parts: readonly FileContent[], opts: {signal?: AbortSignal; writer?: PipelineWriter} = {}): Promise<PutFileResult> {
    const target = this.resolveTarget(project, ref, opts.writer)
    const dst = validatePath(path)
    if (dst === '/') throw new InvalidArgumentError('INVALID_PATH', 'cannot write a file at the root path "/"', {hint: 'give a file path, e.g. repo@master:/data.csv'})
    const writer = await this.ctx.store.writerWait()
    let content: FileContent
    try {
      // the lease held from here keeps gc away, so what is checked now stays stored
      for (const p of parts) for (const c of p.chunks) if (!this.ctx.store.has(c)) throw new CorruptObjectError(`blob ${toHex(c)} of a staged part is missing from the store`, {data: {blob: toHex(c)}})
      content = await concatContent(parts, writer, this.ctx.config.chunker, opts.signal)
      await writer.close()
    } catch (e) {
      await writer.abort()
      throw e
    }
    let commit: CommitRow
    try {
      opts.signal?.throwIfAborted()
      commit = this.commitOps(project, ref, [{type: 'put', path: dst, content}], [], opts.writer)
    } finally {
      writer.release()
    }
    return {commit: this.r.commitPB(target.repo, commit), files: 1, bytes: content.size, stored_bytes: writer.bytesWritten}
  }

  /**
   * A put of small files only, given whole (e.g. an S3 PUT of a few KiB): their bytes, each at
   * most one chunk, read now; undefined when the put is anything else (then it streams).
   */
  private smallSources(sources: PutEdit[], limit: number): {path: string; buf: Buffer}[] | undefined {
    if (sources.length === 0 || sources.length > SMALL_PUT_FILES) return undefined
    const out: {path: string; buf: Buffer}[] = []
    for (const src of sources) {
      if ('delete' in src || 'copy' in src || src.size === undefined || src.size > limit || !src.readSmall) return undefined
      const path = validatePath(src.path)
      if (path === '/') return undefined
      const buf = src.readSmall(limit)
      if (!buf) return undefined
      out.push({path, buf})
    }
    return out
  }

  /**
   * Small puts commit in groups (group commit): concurrent callers' blobs go into one pack
   * written and synced once, and their commits are applied in one SQLite transaction, each in
   * a savepoint of its own, so one put's refusal (an output branch, a finished commit) fails
   * that put alone. Each put is still its own commit (or joins the open head), in arrival
   * order, exactly as one at a time; data is durable before any metadata names it. A put
   * refused in its savepoint leaves its blob in the group's pack, unreferenced (gc's).
   */
  private async putSmall(project: string, ref: CommitRef, files: {path: string; buf: Buffer}[], opts: PutOptions): Promise<PutFileResult> {
    opts.signal?.throwIfAborted()
    const blobs: [Buffer, Buffer][] = []
    const collect = {add: (id: Buffer, data: Buffer) => (blobs.push([id, data]), true)} as unknown as PackWriter
    const ops: TreeOp[] = files.map((f) => ({type: 'put', path: f.path, content: smallContent(f.buf, collect)}))
    const bytes = files.reduce((n, f) => n + f.buf.length, 0)
    // the repo row the group's transaction resolved (a put into a missing repo fails there)
    let repo: RepoRow | undefined
    const inTx = (c: CommitRow, r: RepoRow) => {
      repo = r
      opts.inTx?.(c)
    }
    const r = await this.groups.add({blobs, apply: () => this.commitOps(project, ref, ops, [], opts.writer, opts.description, inTx)})
    return {commit: this.r.commitPB(repo!, r.commit), files: files.length, bytes, stored_bytes: r.stored}
  }

  /** Delete a file or a directory subtree (missing paths are a no-op, as in Pachyderm). `writer`: as for put. */
  delete(project: string, ref: CommitRef, paths: string[], opts: {writer?: PipelineWriter} = {}): FileWriteResult {
    const {repo} = this.resolveTarget(project, ref, opts.writer)
    const ops: TreeOp[] = paths.map((p) => ({type: 'delete', path: validatePath(p)}))
    return {commit: this.r.commitPB(repo, this.commitOps(project, ref, ops, [], opts.writer))}
  }

  /**
   * Copy a file or directory from any commit into a writable target (by reference: no bytes
   * move). Files overwrite file by file, as in Pachyderm: a directory merges into an existing
   * one. A file / directory collision is refused, as for `put`.
   */
  async copy(project: string, src: FileRef, dst: FileRef, opts: {append?: boolean; srcProject?: string; signal?: AbortSignal; writer?: PipelineWriter} = {}): Promise<FileWriteResult> {
    const s = this.r.commit(src.commit, opts.srcProject ?? project)
    const path = validatePath(src.path)
    const entry = this.ctx.trees.lookup(s.commit.tree, path)
    if (!entry) throw this.fileNotFound(s.repo, s.commit, path)
    const dstPath = validatePath(dst.path)
    if (!opts.append) {
      const {repo} = this.resolveTarget(project, dst.commit, opts.writer)
      return {commit: this.r.commitPB(repo, this.commitOps(project, dst.commit, [{type: 'merge', path: dstPath, entry}], [], opts.writer))}
    }
    if (entry.kind !== 'file') throw new InvalidArgumentError('NOT_A_FILE', `--append copies one file; ${path} is a directory`)
    const store = this.ctx.store
    const source = async function* () {
      yield* readContent(store, entry)
    }
    const res = await this.put(project, dst.commit, [{path: dstPath, open: source}], {append: true, signal: opts.signal, writer: opts.writer})
    return {commit: res.commit}
  }

  // ---------------- reads ----------------

  private fileNotFound(repo: RepoRow, c: CommitRow, path: string): NotFoundError {
    return new NotFoundError('FILE_NOT_FOUND', `file ${path} not found in repo ${repoLabel(repo)} at commit ${c.id}`, {
      hint: `list files with \`pach list file ${repoLabel(repo)}@${c.id}\``,
      data: {repo: repoLabel(repo), commit: c.id, path},
    })
  }

  fileInfo(repo: RepoRow, c: CommitRow, path: string, e: Entry): FileInfo {
    return {
      file: {commit: this.r.commitPB(repo, c), path: e.kind === 'dir' && path !== '/' ? `${path}/` : path},
      file_type: e.kind === 'file' ? 'FILE' : 'DIR',
      committed: c.finished,
      size_bytes: e.size,
      hash: toHex(e.hash),
    }
  }

  private locate(project: string, ref: FileRef): {repo: RepoRow; commit: CommitRow; path: string; entry: Entry} {
    const {repo, commit} = this.r.commit(ref.commit, project)
    const path = cleanPath(ref.path)
    const entry = this.ctx.trees.lookup(commit.tree, path)
    if (!entry) {
      if (path === '/') return {repo, commit, path, entry: {kind: 'dir', name: '', hash: Buffer.alloc(32), size: 0, files: 0}}
      throw this.fileNotFound(repo, commit, path)
    }
    return {repo, commit, path, entry}
  }

  inspect(project: string, ref: FileRef): FileInfo {
    const l = this.locate(project, ref)
    return this.fileInfo(l.repo, l.commit, l.path, l.entry)
  }

  /**
   * The versions of a file or directory back through its commit's ancestry (pachctl's
   * `--history`), newest first, each with the commit that introduced it (see path-history.ts);
   * at most `limit` versions, all when `limit` is -1. Throws FILE_NOT_FOUND when the path does
   * not exist at the addressed commit.
   * @example files.history('default', parseFile('images@master:/cat.png'), -1)
   */
  history(project: string, ref: FileRef, limit: number): FileInfo[] {
    const l = this.locate(project, ref)
    return this.paths.versions(l.repo, l.commit, l.path, limit).map((v) => this.fileInfo(l.repo, v.commit, l.path, v.entry))
  }

  /**
   * `list file --history`: for each entry directly under a directory (or for the file
   * itself), its versions as `history` gives them, entries in path order. A stream, as `list`
   * is: the address is resolved now, the entries and their versions as they are consumed.
   */
  listHistory(project: string, ref: FileRef, limit: number): Iterable<FileInfo> {
    const l = this.locate(project, ref)
    if (l.entry.kind === 'file') return this.history(project, ref, limit)
    if (!l.commit.tree) return []
    const base = l.path === '/' ? '' : l.path
    const dir = l.entry.hash
    const self = this
    return {
      *[Symbol.iterator]() {
        for (const e of self.ctx.trees.entries(dir)) {
          const path = `${base}/${e.name}`
          for (const v of self.paths.versions(l.repo, l.commit, path, limit)) yield self.fileInfo(l.repo, v.commit, path, v.entry)
        }
      },
    }
  }

  /**
   * Direct children of a directory (or the file itself), as a stream: the address is resolved
   * now (a missing path throws here), the entries are read from the tree store as they are
   * consumed (`trees.entries`, node by node), so memory holds what the caller keeps, not the
   * directory. Re-iterable: each pass reads afresh from the same (immutable) tree.
   */
  list(project: string, ref: FileRef): Iterable<FileInfo> {
    const l = this.locate(project, ref)
    if (l.entry.kind === 'file') return [this.fileInfo(l.repo, l.commit, l.path, l.entry)]
    if (!l.commit.tree) return []
    const base = l.path === '/' ? '' : l.path
    const dir = l.entry.hash
    const self = this
    return {
      *[Symbol.iterator]() {
        for (const e of self.ctx.trees.entries(dir)) yield self.fileInfo(l.repo, l.commit, `${base}/${e.name}`, e)
      },
    }
  }

  /** Every file and directory matching a Pachyderm glob, in path order. */
  glob(project: string, ref: CommitRef, pattern: string): FileInfo[] {
    const {repo, commit} = this.r.commit(ref, project)
    return this.globEntries(commit.tree, pattern).map(([p, e]) => this.fileInfo(repo, commit, p, e))
  }

  /** Glob over a tree: [path, entry] pairs (shared with the datum planner). */
  globEntries(tree: Buffer | null, pattern: string): [string, Entry][] {
    return [...this.globWalk(tree, pattern)]
  }

  /**
   * Glob over a tree as it is walked, depth first: matches come in Pachyderm's path order
   * (a directory, then what is under it, then its next sibling), a directory at a time.
   */
  *globWalk(tree: Buffer | null, pattern: string): Generator<[string, Entry]> {
    let g: ReturnType<typeof compileGlob>
    try {
      g = compileGlob(pattern)
    } catch (e) {
      if (e instanceof GlobSyntaxError) {
        throw new InvalidArgumentError('INVALID_GLOB', `invalid glob ${JSON.stringify(pattern)}: ${e.reason}`, {hint: 'see Pachyderm glob syntax: * ? ** [abc] {a,b} (capture)'})
      }
      throw e
    }
    if (!tree) return
    if (g.source === '/') {
      yield ['/', this.ctx.trees.lookup(tree, '/')!]
      return
    }
    const depth = g.source.includes('**') ? Infinity : g.source.split('/').length - 1
    const trees = this.ctx.trees
    const visit = function* (hash: Buffer, base: string, d: number): Generator<[string, Entry]> {
      for (const e of trees.entries(hash)) {
        const p = `${base}/${e.name}`
        if (g.test(p)) yield [p, e]
        if (e.kind === 'dir' && d + 1 < depth) yield* visit(e.hash, p, d + 1)
      }
    }
    yield* visit(tree, '', 0)
  }

  /** Open a file for reading. Directories need `recursive` (use `materialize`). */
  read(project: string, ref: FileRef, offset = 0): {info: FileInfo; stream: NodeJS.ReadableStream} {
    const l = this.locate(project, ref)
    if (l.entry.kind !== 'file') {
      throw new InvalidArgumentError('IS_A_DIRECTORY', `${l.path} is a directory`, {hint: 'Try again with the -r flag (and -o <dir>)'})
    }
    return {info: this.fileInfo(l.repo, l.commit, l.path, l.entry), stream: readContent(this.ctx.store, l.entry, offset, this.label(l))}
  }

  /** Small-file convenience: the whole content in memory. */
  readAll(project: string, ref: FileRef): Buffer {
    const l = this.locate(project, ref)
    if (l.entry.kind !== 'file') throw new InvalidArgumentError('IS_A_DIRECTORY', `${l.path} is a directory`)
    return readContentSync(this.ctx.store, l.entry, this.label(l))
  }

  /** How a read error names the file: "file /a.txt in repo@commit". */
  private label(l: {repo: RepoRow; commit: CommitRow; path: string}): string {
    return `file ${l.path} in ${repoLabel(l.repo)}@${l.commit.id}`
  }

  /** Write a file or directory subtree to a local path; returns counts. */
  materialize(project: string, ref: FileRef, dest: string): {files: number; bytes: number} {
    const l = this.locate(project, ref)
    return this.materializeEntry(l.entry, dest, l)
  }

  /** Write an entry (file or dir subtree) to `dest` on the local filesystem; `at` names its files in read errors. */
  materializeEntry(entry: Entry, dest: string, at?: {repo: RepoRow; commit: CommitRow; path: string}): {files: number; bytes: number} {
    let files = 0
    let bytes = 0
    const progress = this.ctx.reporter.progress('get file', 'bytes', entry.size)
    const writeFile = (e: FileEntry, p: string, path: string) => {
      writeFileSync(p, readContentSync(this.ctx.store, e, at && this.label({...at, path})))
      files++
      bytes += e.size
      progress.add(e.size)
    }
    const walk = (hash: Buffer, dir: string, path: string) => {
      mkdirSync(dir, {recursive: true})
      for (const e of this.ctx.trees.entries(hash)) {
        const p = join(dir, e.name)
        if (e.kind === 'file') writeFile(e, p, `${path}/${e.name}`)
        else walk(e.hash, p, `${path}/${e.name}`)
      }
    }
    const root = at?.path ?? ''
    if (entry.kind === 'file') writeFile(entry, dest, root)
    else if (entry.files > 0) walk(entry.hash, dest, root === '/' ? '' : root)
    else mkdirSync(dest, {recursive: true})
    progress.done()
    return {files, bytes}
  }

  /**
   * Files that differ between two commits under a path. Default old = the parent of new.
   * Returns pairs in path order (a modified file is one pair with both sides). `shallow`
   * compares only the entries directly under the path: a directory whose content differs is
   * one pair of directory infos, not the files under it. `oldProject` is the old address's
   * project (default: `project`).
   */
  diff(project: string, newRef: FileRef, oldRef?: FileRef, opts: {shallow?: boolean; oldProject?: string} = {}): DiffFileInfo[] {
    const n = this.r.commit(newRef.commit, project)
    const path = cleanPath(newRef.path)
    let o: {repo: RepoRow; commit: CommitRow} | undefined
    let oldPath = path
    if (oldRef) {
      o = this.r.commit(oldRef.commit, opts.oldProject ?? project)
      oldPath = cleanPath(oldRef.path)
    } else if (n.commit.parent) {
      o = {repo: n.repo, commit: this.r.commitById(n.repo, n.commit.parent)}
    }
    const newEntry = this.ctx.trees.lookup(n.commit.tree, path)
    const oldEntry = o ? this.ctx.trees.lookup(o.commit.tree, oldPath) : undefined
    const out: DiffFileInfo[] = []
    const nf = (p: string, e: Entry) => this.fileInfo(n.repo, n.commit, p, e)
    const of = (p: string, e: Entry) => this.fileInfo(o!.repo, o!.commit, p, e)
    if (newEntry?.kind === 'file' || oldEntry?.kind === 'file') {
      if (!newEntry || !oldEntry || !newEntry.hash.equals(oldEntry.hash)) {
        out.push({new_file: newEntry ? nf(path, newEntry) : null, old_file: oldEntry ? of(oldPath, oldEntry) : null})
      }
      return out
    }
    const base = path === '/' ? '' : path
    const oldBase = oldPath === '/' ? '' : oldPath
    let lastDir: string | undefined
    for (const d of this.ctx.trees.diff(oldEntry?.hash ?? null, newEntry?.hash ?? null, base)) {
      const rel = d.path.slice(base.length)
      const slash = opts.shallow ? rel.indexOf('/', 1) : -1
      if (slash > 0) {
        // a change below a direct child directory: report that directory once (changes come in path order)
        const child = rel.slice(0, slash)
        if (child === lastDir) continue
        lastDir = child
        const ne = this.ctx.trees.lookup(n.commit.tree, base + child)
        const oe = o ? this.ctx.trees.lookup(o.commit.tree, oldBase + child) : undefined
        out.push({new_file: ne?.kind === 'dir' ? nf(base + child, ne) : null, old_file: oe?.kind === 'dir' ? of(oldBase + child, oe) : null})
        continue
      }
      out.push({
        new_file: d.new ? nf(d.path, d.new) : null,
        old_file: d.old ? of(oldBase + rel, d.old) : null,
      })
    }
    return out
  }

  /** Entry lookup for other services (datum planner, workspaces). */
  entryAt(tree: Buffer | null, path: string): Entry | undefined {
    return this.ctx.trees.lookup(tree, path)
  }

  /** A new pack writer (for services that store outputs). */
  writer(): PackWriter {
    return this.ctx.store.writer()
  }
}

/** At most this many files make a put "small" (group-committed). */
const SMALL_PUT_FILES = 64
/** At most this many puts in one group. */
const GROUP_MAX = 256

interface GroupItem {
  blobs: [Buffer, Buffer][]
  apply: () => CommitRow
}

type Queued = {item: GroupItem; resolve: (r: {commit: CommitRow; stored: number}) => void; reject: (e: unknown) => void}

/**
 * The group commit of small puts (see FileService.putSmall). Items queue; one group at a time
 * takes everything queued (up to GROUP_MAX): one pack writer for all their blobs (durable and
 * in place), then one transaction that indexes the pack and applies each item in its own
 * savepoint. Items that arrive meanwhile form the next group. Commits land in arrival order,
 * and a group's metadata never commits before its data is durable.
 *
 * The write lease (gc keeps away from blobs not referenced yet) is taken by the first group of
 * a run and kept while groups keep coming: the transaction of a group after which nothing is
 * queued drops it, with the metadata that references the blobs.
 */
class GroupCommit {
  private queue: Queued[] = []
  private running = false
  private leaseId: string | undefined

  constructor(private readonly ctx: CoreContext) {}

  add(item: GroupItem): Promise<{commit: CommitRow; stored: number}> {
    return new Promise((resolve, reject) => {
      this.queue.push({item, resolve, reject})
      if (!this.running) void this.run()
    })
  }

  private async run(): Promise<void> {
    this.running = true
    try {
      // let callers of this turn of the event loop join the first group
      await new Promise<void>((r) => setImmediate(r))
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, GROUP_MAX)
        const w = await this.write(group)
        if (w) this.apply(group, w.index, w.stored)
      }
    } finally {
      this.running = false
      // a run that ended on a failure still holds the lease
      if (this.leaseId !== undefined) this.ctx.store.releaseLease(this.leaseId)
      this.leaseId = undefined
    }
  }

  /**
   * Write the group's blobs into one pack, durable and in place; on failure every item is
   * rejected (undefined). A blob the store or an earlier item has is not written again; the
   * new ones go out in one write (BlobStore.writePack) unless they are more than a pack holds.
   */
  private async write(group: Queued[]): Promise<{index: () => void; stored: number[]} | undefined> {
    const store = this.ctx.store
    // the blobs to write (each once, none the store has) and what each item stored
    const fresh: {id: Buffer; data: Buffer}[] = []
    const stored: number[] = []
    let writer: PackWriter
    try {
      this.leaseId ??= await store.leaseWait()
      const seen = new Set<string>()
      let total = 0
      for (const g of group) {
        let n = 0
        for (const [id, data] of g.item.blobs) {
          const key = id.toString('latin1')
          if (seen.has(key) || store.has(id)) continue
          seen.add(key)
          fresh.push({id, data})
          n += data.length
        }
        stored.push(n)
        total += n
      }
      if (total <= store.packTarget) return {index: fresh.length ? await store.writePack(fresh) : () => {}, stored}
      writer = store.writerUnder(this.leaseId)
    } catch (e) {
      for (const g of group) g.reject(e)
      return undefined
    }
    try {
      for (const {id, data} of fresh) {
        writer.add(id, data)
        if (writer.full) await writer.drain()
      }
      return {index: await writer.closeIndexLater(), stored}
    } catch (e) {
      await writer.abort()
      for (const g of group) g.reject(e)
      return undefined
    }
  }

  /** One transaction: the pack's index rows, each item in a savepoint of its own, the lease's end when nothing is queued; settles every item. */
  private apply(group: Queued[], index: () => void, stored: number[]): void {
    const db = this.ctx.db
    const results: ({ok: true; commit: CommitRow} | {ok: false; error: unknown})[] = []
    const last = this.queue.length === 0
    try {
      withTx(db, () => {
        index()
        for (const g of group) {
          try {
            results.push({ok: true, commit: inSavepoint(db, () => g.item.apply())})
          } catch (e) {
            results.push({ok: false, error: e})
          }
        }
        if (last) this.ctx.store.releaseLease(this.leaseId!)
      })
      if (last) this.leaseId = undefined
    } catch (e) {
      // the transaction itself failed (disk full, busy): nothing of the group was applied
      results.length = 0
      for (const g of group) results.push({ok: false, error: e})
    }
    group.forEach((g, i) => {
      const r = results[i]!
      if (r.ok) g.resolve({commit: r.commit, stored: stored[i]!})
      else g.reject(r.error)
    })
  }
}
