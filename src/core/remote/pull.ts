/**
 * `pach pull`: bring a remote branch's commits into the local store, keeping their ids.
 *
 * Protocol (reference promote.md §4), over the core's PullSource (remote/source.ts):
 *   1. the remote repo and branch head (InspectRepo, InspectBranch);
 *   2. where the local branch stands: the newest commit of its ancestry that this cluster
 *      holds (`remote_commits`, written by pulls and pushes) and the local commits above it;
 *   3. ListCommit{to: head, from: that commit} (`number: depth` on a first pull; `--since ID`
 *      lists from ID's parent), planned by pull-plan.ts (up to date, fast-forward, diverged);
 *   4. per commit, oldest first: DiffFile against its parent when the parent is here, else
 *      (the oldest commit of a first or shallow pull) every file of the commit (WalkFile); only
 *      files whose bytes are not here are read (GetFile, several at once; a whole tree of many
 *      files in one GetFileTAR stream), streamed through the chunker into packs; a file whose
 *      remote hash this store already holds content for (`remote_content`, schema 12) or that
 *      an earlier file of this pull already brought is not read at all;
 *   5. data before metadata: the commit's packs are closed, then one transaction creates the
 *      repo if missing (with the remote's description), imports the commit under its remote
 *      id on the branch (PfsEngine.importCommit: parent, description, origin and times kept;
 *      downstream branches propagate, triggers fire), and records `remote_commits` (finished,
 *      local id = remote id), the tracking branch (`remote_branches`), the file hashes
 *      (`remote_content`) and `remotes.last_pull`.
 * A pull stopped part-way keeps the commits it finished; the next pull lists from the newest of
 * them. A second pull of an unchanged remote reads the head and one empty listing, nothing else.
 *
 * Not done here: pachd's storage API (ReadFileset, ReadFilesetCDR: chunk-level dedup of a
 * changed large file) — a changed file is read whole; an unchanged one is never read, since
 * only each commit's diff is asked for.
 */
import type {CoreContext} from '../context.js'
import {withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {CommitRow, RepoRow} from '../db/pfs-rows.js'
import {hasBlob} from '../db/objects.js'
import * as remotes from '../db/remotes.js'
import {ConflictError, NotFoundError, PachError} from '../errors.js'
import type {PfsEngine} from '../pfs/engine.js'
import {contentFromText, contentText, emptyContent, writeContent, type FileContent} from '../store/content.js'
import type {PackWriter} from '../store/pack-store.js'
import type {TreeOp} from '../store/tree-store.js'
import {repoLabel} from '../types.js'
import {planPull, type PullPosition} from './pull-plan.js'
import type {PullSource, RemoteChange, RemoteCommit, RemoteFile} from './source.js'
import {Jobs} from '../units/jobs.js'

export interface PullOptions {
  /** the local project to pull into */
  project: string
  /** the remote project (the pachctl context's) */
  remoteProject: string
  repo: string
  /** the remote branch (default master) */
  branch?: string
  /** the local branch (default: the remote branch's name) */
  localBranch?: string
  /** a first pull takes only the newest `depth` commits */
  depth?: number
  /** pull from this remote commit on (it included) */
  since?: string
  /** files read at once (default 8) */
  concurrency?: number
  signal?: AbortSignal
}

export interface PullResult {
  remote: string
  deployment_id: string
  repo: string
  branch: string
  local_branch: string
  /** commits created locally by this pull */
  commits: number
  /** their ids (= the remote's), oldest first */
  commit_ids: string[]
  /** files written by those commits */
  files: number
  /** file bytes read from the remote */
  bytes_received: number
  /** file bytes not read because this store already held them */
  bytes_skipped: number
  /** the local branch's head after the pull (null: the branch does not exist) */
  head: string | null
  /** local commits on the branch that the remote does not have (for `pach push`) */
  ahead: number
}

/**
 * Pull `opts.repo@branch` from the remote into the local project. Throws REPO_NOT_FOUND /
 * BRANCH_NOT_FOUND / COMMIT_NOT_FOUND (the remote's), BRANCH_DIVERGED (local commits not on the
 * remote, or a remote branch rewritten since the last pull), COMMIT_EXISTS (a local commit with
 * a pulled id and other content), and whatever the source throws (REMOTE_UNREACHABLE, REMOTE_FAILED).
 * @example await pullBranch(pach.ctx, pach.engine, source, {project: 'default', remoteProject: 'default', repo: 'images', depth: 1})
 */
export async function pullBranch(ctx: CoreContext, engine: PfsEngine, source: PullSource, opts: PullOptions): Promise<PullResult> {
  const remote = source.remote
  const rp = opts.remoteProject
  const branch = opts.branch ?? 'master'
  const localBranch = opts.localBranch ?? branch
  const where = remote.name
  const repoInfo = await source.inspectRepo(rp, opts.repo)
  if (!repoInfo) {
    throw new NotFoundError('REPO_NOT_FOUND', `repo ${rp}/${opts.repo} not found on ${where}`, {
      hint: "list the remote's repos with `pachctl list repo`",
      data: {remote: remote.name, project: rp, repo: opts.repo},
    })
  }
  const head = await source.branchHead(rp, opts.repo, branch)
  if (!head) {
    throw new NotFoundError('BRANCH_NOT_FOUND', `branch ${opts.repo}@${branch} not found on ${where}`, {
      hint: `list the remote's branches with \`pachctl list branch ${opts.repo}\``,
      data: {remote: remote.name, project: rp, repo: opts.repo, branch},
    })
  }
  const result: PullResult = {
    remote: remote.name,
    deployment_id: remote.deploymentId,
    repo: opts.repo,
    branch,
    local_branch: localBranch,
    commits: 0,
    commit_ids: [],
    files: 0,
    bytes_received: 0,
    bytes_skipped: 0,
    head: null,
    ahead: 0,
  }
  engine.resolve.project(opts.project) // PROJECT_NOT_FOUND before any work
  const pos = position(ctx, opts.project, opts.repo, localBranch, remote.deploymentId, rp)
  result.head = pos.head ?? null
  result.ahead = pos.ahead.length
  const record = () => withTx(ctx.db, () => markTracking(ctx, opts, branch, localBranch, remote))
  if (pos.base === head || (pos.headIsLocal?.(head) ?? false)) {
    if (pos.repo) record()
    return result
  }
  const {listed, cut} = await listing(source, rp, opts, head, pos.base)
  const plan = planPull(pos, listed, cut)
  if (plan.kind === 'up-to-date') {
    if (pos.repo) record()
    return result
  }
  if (plan.kind === 'diverged' || plan.kind === 'rewritten') {
    const label = `${opts.repo}@${localBranch}`
    const message =
      plan.kind === 'diverged'
        ? `local branch ${label} and ${where}'s ${opts.repo}@${branch} have diverged: ${plan.ahead} local commit(s) are not on the remote, and the remote has ${plan.behind} new commit(s)`
        : `${where}'s ${opts.repo}@${branch} was rewritten: its history no longer holds commit ${plan.base}, pulled or pushed before`
    throw new ConflictError('BRANCH_DIVERGED', message, {
      hint: `pull into another local branch: \`pach pull ${remote.name} ${opts.repo}@${branch}:${localBranch}-${safeName(remote.name)}\``,
      data: {remote: remote.name, repo: opts.repo, branch, local_branch: localBranch, ...(plan.kind === 'diverged' ? {ahead: plan.ahead, behind: plan.behind} : {base: plan.base})},
    })
  }
  const progress = ctx.reporter.progress(`pull ${opts.repo}@${branch}`, 'bytes')
  try {
    const seen = new Map<string, Promise<FileContent | undefined>>()
    for (const [i, rc] of plan.commits.entries()) {
      opts.signal?.throwIfAborted()
      progress.stage(`commit ${i + 1}/${plan.commits.length}`)
      // already here (pulled onto another branch, or pushed from here): the branch just moves to it
      const here = adopt(ctx, engine, opts, rc, localBranch, branch, remote)
      result.head = here ?? rc.id
      if (here) continue
      const run = {branch, localBranch, seen, result, prefetched: new Map(), readPast: new Set<string>(), description: repoInfo.description, onBytes: (n: number) => progress.add(n)}
      await pullCommit(ctx, engine, source, opts, rc, run)
      result.commits++
      result.commit_ids.push(rc.id)
    }
  } finally {
    progress.done()
  }
  return result
}

/** A remote name made fit for a branch name (`[A-Za-z0-9_-]`). */
function safeName(name: string): string {
  return name.replace(/^[a-z]+:\/\//i, '').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'remote'
}

interface LocalPosition extends PullPosition {
  repo?: RepoRow
  head?: string
  /** whether the remote commit `id` is this branch's head or one of its ancestors here */
  headIsLocal?: (id: string) => boolean
}

/**
 * Where the local branch stands: walk its ancestry from the head until a commit this cluster
 * holds (a finished `remote_commits` row for this remote repo). Empty root commits pach made
 * (a new branch's head) are not local work.
 */
function position(ctx: CoreContext, project: string, repoName: string, branch: string, dep: string, rp: string): LocalPosition {
  const db = ctx.db
  const repo = rows.getRepo(db, project, repoName, 'user')
  if (!repo) return {ahead: []}
  const b = rows.getBranch(db, repo.id, branch)
  if (!b) return {repo, ahead: []}
  const ahead: string[] = []
  let base: string | undefined
  for (let c = rows.getCommit(db, repo.id, b.head); c; c = c.parent ? rows.getCommit(db, repo.id, c.parent) : undefined) {
    const m = remotes.getRemoteCommit(db, dep, repo.id, c.id)
    if (m && m.state === 'finished' && m.remote_project === rp && m.remote_repo === repoName) {
      base = m.remote_commit
      break
    }
    if (!isEmptyRoot(c)) ahead.push(c.id)
  }
  return {
    repo,
    head: b.head,
    base,
    ahead,
    // the remote head is here when its local commit is on this branch at or below the head
    headIsLocal: (id) => {
      const m = remotes.localOfRemoteCommit(db, dep, rp, repoName, id)
      if (!m || m.repo_id !== repo.id || m.state !== 'finished') return false
      for (let c = rows.getCommit(db, repo.id, b.head); c; c = c.parent ? rows.getCommit(db, repo.id, c.parent) : undefined) if (c.id === m.local_commit) return true
      return false
    },
  }
}

/** The remote commits to consider, newest first, and whether `--depth`/`--since` cut them. */
async function listing(source: PullSource, rp: string, opts: PullOptions, head: string, base: string | undefined): Promise<{listed: RemoteCommit[]; cut: boolean}> {
  if (opts.since) {
    const since = await source.inspectCommit(rp, opts.repo, opts.since)
    if (!since) {
      throw new NotFoundError('COMMIT_NOT_FOUND', `commit ${opts.since} not found in repo ${opts.repo} on ${source.remote.name}`, {
        hint: `list its commits with \`pachctl list commit ${opts.repo}@${opts.branch ?? 'master'}\``,
        data: {remote: source.remote.name, repo: opts.repo, commit: opts.since},
      })
    }
    const all = await source.listCommits(rp, opts.repo, {to: head, from: base})
    const at = all.findIndex((c) => c.id === since.id)
    if (at >= 0) return {listed: all.slice(0, at + 1), cut: true}
    if (base !== undefined && all.length > 0 && all[all.length - 1]!.parent === base) {
      // `since` is older than what was pulled before: nothing to cut
      return {listed: all, cut: false}
    }
    throw new NotFoundError('COMMIT_NOT_FOUND', `commit ${opts.since} is not in the history of ${opts.repo}@${opts.branch ?? 'master'} on ${source.remote.name}`, {
      data: {remote: source.remote.name, repo: opts.repo, commit: opts.since},
    })
  }
  if (opts.depth && opts.depth > 0) {
    const listed = await source.listCommits(rp, opts.repo, {to: head, from: base, number: opts.depth})
    // cut when the listing stopped at the depth rather than at the base (or the root)
    const cut = listed.length >= opts.depth && (listed[listed.length - 1]!.parent ?? undefined) !== base
    return {listed, cut}
  }
  return {listed: await source.listCommits(rp, opts.repo, {to: head, from: base}), cut: false}
}

interface CommitRun {
  branch: string
  localBranch: string
  /** remote hash+size → content read (or found) earlier in this pull */
  seen: Map<string, Promise<FileContent | undefined>>
  result: PullResult
  /** this commit's files read in one stream (prefetchTree), by path */
  prefetched: Map<string, FileContent>
  /** this commit's files the stream carried although they were here (read, so not counted as skipped) */
  readPast: Set<string>
  /** the remote repo's description (a repo created here gets it) */
  description: string
  onBytes: (n: number) => void
}

/** Pull one remote commit (step 4–5 of the header). */
async function pullCommit(ctx: CoreContext, engine: PfsEngine, source: PullSource, opts: PullOptions, rc: RemoteCommit, run: CommitRun): Promise<void> {
  const rp = opts.remoteProject
  const dep = source.remote.deploymentId
  const repoNow = rows.getRepo(ctx.db, opts.project, opts.repo, 'user')
  const parent = rc.parent && repoNow ? localParent(ctx, repoNow, dep, rp, opts.repo, rc.parent) : undefined
  const writer = await ctx.store.writerWait()
  const deletes: TreeOp[] = []
  const puts: TreeOp[] = []
  const learned: {file: RemoteFile; content: FileContent}[] = []
  const jobs = new Jobs(Math.max(1, opts.concurrency ?? 8))
  try {
    let changes: AsyncIterable<RemoteChange> | Iterable<RemoteChange>
    if (parent) changes = source.diff(rp, opts.repo, rc.id, opts.signal)
    else {
      // the whole tree: listed first, so that many small files can come in one stream
      const files: RemoteFile[] = []
      for await (const f of source.walk(rp, opts.repo, rc.id, opts.signal)) files.push(f)
      await prefetchTree(ctx, source, opts, rc.id, files, writer, run)
      changes = files.map((file): RemoteChange => ({op: 'put', file}))
    }
    for await (const ch of changes) {
      jobs.check()
      if (ch.op === 'delete') {
        deletes.push({type: 'delete', path: ch.path})
        continue
      }
      // a file the tree stream carried (nearly every file of a first pull) needs no read
      const streamed = run.prefetched.get(ch.file.path)
      if (streamed) {
        run.seen.set(contentKey(ch.file), Promise.resolve(streamed))
        puts.push({type: 'put', path: ch.file.path, content: streamed})
        learned.push({file: ch.file, content: streamed})
        continue
      }
      const slot = puts.push({type: 'put', path: ch.file.path, content: emptyContent()}) - 1
      await jobs.add(
        fileContent(ctx, source, opts, rc.id, ch.file, writer, run).then((content) => {
          puts[slot] = {type: 'put', path: ch.file.path, content}
          learned.push({file: ch.file, content})
        }),
      )
    }
    await jobs.drain()
    await writer.close()
  } catch (e) {
    await jobs.settle()
    await writer.abort()
    writer.release()
    throw e
  }
  try {
    opts.signal?.throwIfAborted()
    withTx(ctx.db, () => {
      const repo = rows.getRepo(ctx.db, opts.project, opts.repo, 'user') ?? engine.createRepo(opts.project, opts.repo, 'user', run.description, false)
      const p = rc.parent ? localParent(ctx, repo, dep, rp, opts.repo, rc.parent) : undefined
      if ((p?.id ?? null) !== (parent?.id ?? null)) {
        throw new ConflictError('CONCURRENT_MODIFICATION', `repo ${repoLabel(repo)} changed while commit ${rc.id} was being pulled; nothing of it was written`, {hint: 'pull again'})
      }
      const b = rows.getBranch(ctx.db, repo.id, run.localBranch)
      if (b && p && b.head !== p.id && !isEmptyRoot(rows.getCommit(ctx.db, repo.id, b.head))) {
        throw new ConflictError('CONCURRENT_MODIFICATION', `branch ${repoLabel(repo)}@${run.localBranch} moved while commit ${rc.id} was being pulled; nothing of it was written`, {hint: 'pull again'})
      }
      engine.importCommit(repo, run.localBranch, {
        id: rc.id,
        parent: p,
        description: rc.description,
        origin: rc.origin,
        ops: [...deletes, ...puts],
        started: rc.started,
        finished: rc.finished,
      })
      markTracking(ctx, opts, run.branch, run.localBranch, source.remote)
      remotes.putRemoteCommit(ctx.db, {
        deployment_id: dep,
        repo_id: repo.id,
        local_commit: rc.id,
        remote_project: rp,
        remote_repo: opts.repo,
        remote_commit: rc.id,
        state: 'finished',
        updated: ctx.now(),
      })
      for (const l of learned) remotes.putRemoteContent(ctx.db, dep, l.file.hash, l.file.size, contentText(l.content))
    })
  } finally {
    writer.release()
  }
  run.result.files += puts.length
}

/**
 * A remote commit this store already holds for this cluster (a finished mapping): move the
 * local branch to it (created if missing) instead of reading it again. Returns its local id,
 * or undefined when it is not here.
 */
function adopt(ctx: CoreContext, engine: PfsEngine, opts: PullOptions, rc: RemoteCommit, localBranch: string, branch: string, remote: PullSource['remote']): string | undefined {
  return withTx(ctx.db, () => {
    const repo = rows.getRepo(ctx.db, opts.project, opts.repo, 'user')
    const local = repo && localParent(ctx, repo, remote.deploymentId, opts.remoteProject, opts.repo, rc.id)
    if (!repo || !local) return undefined
    engine.createBranch(repo, localBranch, {head: local, id: ctx.newId()})
    markTracking(ctx, opts, branch, localBranch, remote)
    return local.id
  })
}

/** Record the remote, the tracking branch and the pull's time (in the caller's transaction). */
function markTracking(ctx: CoreContext, opts: PullOptions, branch: string, localBranch: string, remote: PullSource['remote']): void {
  remotes.upsertRemote(ctx.db, {deployment_id: remote.deploymentId, name: remote.name, address: remote.address})
  const repo = rows.getRepo(ctx.db, opts.project, opts.repo, 'user')
  if (repo && rows.getBranch(ctx.db, repo.id, localBranch)) {
    remotes.putRemoteBranch(ctx.db, {repo_id: repo.id, branch: localBranch, deployment_id: remote.deploymentId, remote_project: opts.remoteProject, remote_repo: opts.repo, remote_branch: branch})
  }
  remotes.touchRemote(ctx.db, remote.deploymentId, 'last_pull', ctx.now())
}

function isEmptyRoot(c: CommitRow | undefined): boolean {
  return !!c && c.origin === 'AUTO' && !c.parent && c.tree === null
}

/** The local commit a remote commit is (pulled: same id; pushed: the mapping's local id), if here. */
function localParent(ctx: CoreContext, repo: RepoRow, dep: string, rp: string, repoName: string, remoteId: string): CommitRow | undefined {
  const m = remotes.localOfRemoteCommit(ctx.db, dep, rp, repoName, remoteId)
  if (!m || m.state !== 'finished' || m.repo_id !== repo.id) return undefined
  return rows.getCommit(ctx.db, repo.id, m.local_commit)
}

/** A whole tree is read in one stream (PullSource.readAll) from this many files to read on. */
const TREE_STREAM_MIN_FILES = 32

const contentKey = (f: RemoteFile) => `${f.hash.toString('hex')}:${f.size}`

/**
 * A whole tree to read (the oldest commit of a first or shallow pull) of many files, nearly all
 * of them not here: read every file in one stream (PullSource.readAll, pachd's GetFileTAR)
 * rather than one call per file; `run.prefetched` then holds their contents. Files already
 * here that the stream carries anyway are read past (their bytes count as received).
 */
async function prefetchTree(ctx: CoreContext, source: PullSource, opts: PullOptions, commit: string, files: RemoteFile[], writer: PackWriter, run: CommitRun): Promise<void> {
  if (!source.readAll) return
  const dep = source.remote.deploymentId
  const need = files.filter((f) => f.size > 0 && !run.seen.has(contentKey(f)) && !known(ctx, dep, f))
  const needBytes = need.reduce((n, f) => n + f.size, 0)
  const total = files.reduce((n, f) => n + f.size, 0)
  if (need.length < TREE_STREAM_MIN_FILES || needBytes < 0.9 * total) return
  const wanted = new Map(need.map((f) => [f.path, f]))
  const onBytes = (n: number) => {
    run.result.bytes_received += n
    run.onBytes(n)
  }
  for await (const e of source.readAll(opts.remoteProject, opts.repo, commit, opts.signal)) {
    const f = wanted.get(e.path)
    if (!f || e.size !== f.size || run.prefetched.has(f.path)) {
      for await (const b of e.data) onBytes(b.length)
      if (f === undefined) run.readPast.add(e.path)
      continue
    }
    const c = await writeContent(e.data, writer, ctx.config.chunker, onBytes, opts.signal)
    if (c.size !== f.size) {
      throw new PachError('REMOTE_FAILED', `${source.remote.name} sent ${c.size} bytes for ${opts.repo}@${commit}:${f.path}, which has ${f.size}`, {hint: 'pull again'})
    }
    run.prefetched.set(f.path, c)
  }
}

/**
 * The local content of a remote file: held already (this pull, or `remote_content` with every
 * chunk still stored: no bytes read), else read from the remote into `writer`.
 */
async function fileContent(ctx: CoreContext, source: PullSource, opts: PullOptions, commit: string, file: RemoteFile, writer: PackWriter, run: CommitRun): Promise<FileContent> {
  if (file.size === 0) return emptyContent()
  const key = contentKey(file)
  const earlier = run.seen.get(key)
  const had = earlier ? await earlier.catch(() => undefined) : known(ctx, source.remote.deploymentId, file)
  if (had) {
    if (!run.readPast.has(file.path)) run.result.bytes_skipped += file.size
    return had
  }
  const reading = (async () => {
    const c = await writeContent(source.read(opts.remoteProject, opts.repo, commit, file.path, opts.signal), writer, ctx.config.chunker, (n) => {
      run.result.bytes_received += n
      run.onBytes(n)
    }, opts.signal)
    if (c.size !== file.size) {
      throw new PachError('REMOTE_FAILED', `${source.remote.name} sent ${c.size} bytes for ${opts.repo}@${commit}:${file.path}, which has ${file.size}`, {hint: 'pull again'})
    }
    return c
  })()
  run.seen.set(key, reading)
  return reading
}

/** Content recorded for this remote hash whose chunks are all still stored (gc may have removed them). */
function known(ctx: CoreContext, dep: string, file: RemoteFile): FileContent | undefined {
  const text = remotes.getRemoteContent(ctx.db, dep, file.hash, file.size)
  if (!text) return undefined
  const c = contentFromText(text)
  return c.chunks.every((id) => hasBlob(ctx.db, id)) ? c : undefined
}
