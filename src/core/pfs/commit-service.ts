/**
 * CommitService: start/finish/clear/inspect/list/wait/subscribe/find/squash/drop commit and commit
 * sets (pachctl's commit verbs). Starting and finishing are transactable (queued while a
 * transaction is active, else applied through `TransactionService.apply`); squash and drop
 * apply at once to one commit or a whole commit set (all commits sharing one id). `wait` and
 * `subscribe` poll the database, since other processes finish commits; `find` walks a
 * commit's ancestry through the tree store (path-history.ts).
 */
import {CommitFinishedError, ConflictError, InvalidArgumentError, NotFoundError} from '../errors.js'
import type {CoreContext} from '../context.js'
import {withRead, withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {CommitRow, RepoRow} from '../db/pfs-rows.js'
import {repoLabel, type CommitInfo, type CommitOrigin, type CommitPB, type CommitSetInfo, type CommitSummary, type FindCommitsResult, type Queued} from '../types.js'
import type {PfsEngine} from './engine.js'
import type {PipelineWriter} from './hooks.js'
import {PathHistory} from './path-history.js'
import {cleanPath} from './paths.js'
import {formatCommit, isCommitId, type CommitRef, type FileRef} from './refs.js'
import type {TransactionService} from './transaction-service.js'
import type {TreeOp} from '../store/tree-store.js'

export interface ListCommitOptions {
  number?: number
  all?: boolean
  origin?: CommitOrigin
  from?: string
}

/** A commit listing: iterable (full CommitInfos, read lazily), re-iterable. */
export interface CommitListing extends Iterable<CommitInfo> {
  /** the same commits in the same order, without parent, children and provenance (cheaper; enough for a table) */
  summaries(): Iterable<CommitSummary>
  /** run `fn` (synchronous: no awaits) inside one read transaction, so every pass it makes sees the same commits */
  snapshot<T>(fn: () => T): T
}

export interface SubscribeOptions {
  /** only commits created after this commit (of the same repo) */
  from?: string
  /** only commits that finish from now on (not those already finished) */
  newOnly?: boolean
  /** only commits of this origin (default: every origin, as Pachyderm's server does) */
  origin?: CommitOrigin
  /** ends the subscription (the generator returns) */
  signal?: AbortSignal
  /** how often the database is polled, in ms (when `changed` is not given) */
  pollMs?: number
  /**
   * Resolves at the next change of the database by any process (`pach serve`'s change feed):
   * the subscription waits on it instead of sleeping `pollMs`. It is called before each read,
   * so a change made while the commits are read or yielded wakes the next round at once.
   */
  changed?: (signal?: AbortSignal) => Promise<void>
  /**
   * When a commit is yielded: once it is `finished` (the default), once it exists
   * (`started`, what pachctl asks pachd for), or once the commits it is computed from are
   * finished (`ready`; a commit without provenance is ready when it exists).
   */
  state?: CommitWaitState
}

/** The states a commit can be waited for, besides merely existing. */
export type CommitWaitState = 'started' | 'ready' | 'finished'

export interface WaitOptions {
  /** `finished` (the default) or `ready` (every commit of its direct provenance is finished); `started` returns at once */
  state?: CommitWaitState
  timeoutMs?: number
  signal?: AbortSignal
  /** runs pending work in this process (the CLI runs jobs) before the next look */
  drive?: () => Promise<void>
  /** resolves at the next database change (a change feed): waited on instead of a polling sleep */
  changed?: (signal?: AbortSignal) => Promise<void>
}

export interface FindCommitsOptions {
  /** stop after this many commits were found (0 or absent: no limit) */
  limit?: number
  /** stop searching after this long (the result says where the search stopped) */
  timeoutMs?: number
  signal?: AbortSignal
  /** called at each commit found, with how many commits were searched before it (pachd streams these) */
  onFound?: (commit: CommitPB, searchedBefore: number) => void
}

export class CommitService {
  private readonly paths: PathHistory

  constructor(readonly ctx: CoreContext, readonly engine: PfsEngine, readonly tx: TransactionService) {
    this.paths = new PathHistory(ctx, engine.resolve)
  }

  private get r() {
    return this.engine.resolve
  }

  /**
   * Start a commit; returns its info (or, in a transaction, the id it will have). `writer`: a
   * pipeline's own code starting a commit on its output branch (a spout; see PfsEngine.startCommit).
   */
  start(project: string, ref: CommitRef, opts: {parent?: string; description?: string; writer?: PipelineWriter}): CommitInfo | (Queued & {id: string}) {
    if (!ref.branch || ref.id || ref.ancestry) {
      throw new InvalidArgumentError('INVALID_ADDRESS', `start commit needs <repo>@<branch>, got ${formatCommit(ref)}`)
    }
    const branch = {repo: {name: ref.repo.name, type: ref.repo.type, project: {name: project}}, name: ref.branch}
    const req = {start_commit: {branch, parent: opts.parent ?? null, description: opts.description ?? '', ...(opts.writer && {writer: opts.writer})}}
    const active = this.tx.active()
    if (active) return {queued: true, transaction: this.tx.queue(req), id: active}
    const repo = this.r.repo(ref.repo, project)
    return withTx(this.ctx.db, () => {
      const c = this.tx.apply(req, this.ctx.newId())
      return this.r.commitInfo(repo, c)
    })
  }

  /**
   * Import a finished commit made elsewhere under its own id (`pach pull`; see
   * PfsEngine.importCommit): `parent` (a finished commit of the repo, or none), description,
   * origin, times and tree edits are given; the edits' contents must already be stored (data
   * before metadata). Applied at once (not transactable). Throws REPO_NOT_FOUND,
   * COMMIT_NOT_FOUND (the parent), COMMIT_EXISTS (that id with other content), OUTPUT_BRANCH.
   * @example commits.import('default', 'images', 'master', {id, parent: null, description: 'from the cluster', ops})
   */
  import(
    project: string,
    repoName: string,
    branch: string,
    spec: {id: string; parent: string | null; description?: string; origin?: CommitOrigin; ops: readonly TreeOp[]; started?: string; finished?: string},
  ): CommitInfo {
    return withTx(this.ctx.db, () => {
      const repo = this.r.repo({name: repoName, type: 'user'}, project)
      const parent = spec.parent ? this.r.commitById(repo, spec.parent) : undefined
      const {commit} = this.engine.importCommit(repo, branch, {
        id: spec.id,
        parent,
        description: spec.description ?? '',
        origin: spec.origin ?? 'USER',
        ops: spec.ops,
        started: spec.started,
        finished: spec.finished,
      })
      return this.r.commitInfo(repo, commit)
    })
  }

  /** Finish an open commit; `error` finishes it as failed (its content is then ignored by its children). */
  finish(project: string, ref: CommitRef, opts: {description?: string; force?: boolean; error?: string}): CommitInfo | Queued {
    const error = opts.error ? {error: opts.error} : {}
    if (this.tx.active()) {
      const req = {finish_commit: {commit: formatCommit(ref), project, description: opts.description ?? null, force: opts.force ?? false, ...error}}
      return {queued: true, transaction: this.tx.queue(req)}
    }
    const {repo, commit} = this.r.commit(ref, project)
    const req = {finish_commit: {commit: `${repoLabel(repo)}@${commit.id}`, project, description: opts.description ?? null, force: opts.force ?? false, ...error}}
    return withTx(this.ctx.db, () => {
      const c = this.tx.apply(req, this.ctx.newId())
      return this.r.commitInfo(repo, c)
    })
  }

  /**
   * Drop everything written to an open commit: its content is again the content it started
   * from (its parent's), as pachd's ClearCommit. Throws COMMIT_FINISHED on a finished commit.
   */
  clear(project: string, ref: CommitRef): CommitInfo {
    return withTx(this.ctx.db, () => {
      const {repo, commit} = this.r.commit(ref, project)
      if (commit.finished) throw new CommitFinishedError(repoLabel(repo), commit.id, {hint: 'only an open commit can be cleared'})
      const tree = this.r.baseTree(repo, commit.parent ? rows.getCommit(this.ctx.db, repo.id, commit.parent) : undefined)
      rows.setCommitTree(this.ctx.db, repo.id, commit.id, tree, this.engine.treeSize(tree))
      return this.r.commitInfo(repo, rows.getCommit(this.ctx.db, repo.id, commit.id)!)
    })
  }

  inspect(project: string, ref: CommitRef): CommitInfo {
    const {repo, commit} = this.r.commit(ref, project)
    return this.r.commitInfo(repo, commit)
  }

  /** Commits of a repo (newest first): along a branch's ancestry, or all of the repo. */
  list(project: string, ref: CommitRef, opts: ListCommitOptions = {}): CommitInfo[] {
    return [...this.history(project, ref, opts)]
  }

  /**
   * `list` as a stream: the address is resolved now (errors are thrown here, and the listing
   * keeps that head), the commits are read as they are consumed, and `-n` is a LIMIT, so a
   * listing costs what it shows. The listing can be iterated again (each pass reads the rows
   * afresh); `summaries` is the same list without links, and `snapshot` makes several passes
   * see one state of the project. While a pass is open the connection cannot write.
   */
  history(project: string, ref: CommitRef, opts: ListCommitOptions = {}): CommitListing {
    const repo = this.r.repo(ref.repo, project)
    const q: rows.CommitQuery = {repoId: repo.id, origin: opts.origin, limit: opts.number}
    if (ref.branch || ref.id) {
      q.head = this.r.commit(ref, project).commit.id
      if (opts.from) q.from = opts.from
      if (opts.all && ref.branch) q.alsoBranch = ref.branch
    }
    const db = this.ctx.db
    const r = this.r
    return {
      *[Symbol.iterator]() {
        const repoPB = r.repoPBs()
        for (const c of rows.listCommits(db, q)) yield r.commitInfoOf(repo, c, c, repoPB)
      },
      *summaries() {
        for (const c of rows.listCommitSummaries(db, q)) yield r.commitSummaryOf(repo, c)
      },
      snapshot: (fn) => withRead(db, fn),
    }
  }

  /** The commits sharing one global id (a commit set). */
  listSet(id: string): CommitSetInfo {
    const cs = rows.listCommitsById(this.ctx.db, id)
    if (cs.length === 0) throw new NotFoundError('COMMIT_SET_NOT_FOUND', `no commits with id ${id}`, {hint: 'list commit sets with `pach list commit`', data: {id}})
    return {commit_set: {id}, commits: cs.map((c) => this.r.commitInfo(rows.getRepoById(this.ctx.db, c.repo_id)!, c))}
  }

  /** All commit sets, newest first (at most `number`). */
  listSets(number?: number): CommitSetInfo[] {
    return [...this.sets(number)]
  }

  /** `listSets` as a stream: the ids are read up to `number` (a LIMIT), each set as it is consumed. */
  *sets(number?: number): Generator<CommitSetInfo> {
    for (const id of rows.listCommitSetIds(this.ctx.db, number && number > 0 ? number : -1)) yield this.listSet(id)
  }

  /**
   * Block until the commit is finished (or, with `state: 'ready'`, until the commits it is
   * computed from are); other processes may finish it. Waits on `changed` when given, else
   * polls. Throws COMMIT_NOT_FOUND if the commit is deleted meanwhile, TIMEOUT after `timeoutMs`,
   * and the signal's reason when it aborts.
   */
  async wait(project: string, ref: CommitRef, opts: WaitOptions = {}): Promise<CommitInfo> {
    const {repo, commit} = this.r.commit(ref, project)
    const state = opts.state ?? 'finished'
    const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : Infinity
    const gone = () =>
      new NotFoundError('COMMIT_NOT_FOUND', `commit ${commit.id} was deleted while waiting`, {data: {repo: repoLabel(repo), project: repo.project, commit: commit.id}})
    let delay = 20
    for (;;) {
      // armed before the read: a change made while reading still wakes the next round
      const next = opts.changed?.(opts.signal)
      const c = rows.getCommit(this.ctx.db, repo.id, commit.id)
      if (!c) throw gone()
      if (this.reached(repo, c, state)) return this.r.commitInfo(repo, c)
      if (opts.drive) {
        await opts.drive()
        const again = rows.getCommit(this.ctx.db, repo.id, commit.id)
        if (again && this.reached(repo, again, state)) return this.r.commitInfo(repo, again)
      }
      if (Date.now() > deadline) {
        throw new ConflictError('TIMEOUT', `commit ${repoLabel(repo)}@${c.id} did not finish in time`, {hint: 'finish it with `pach finish commit`'})
      }
      opts.signal?.throwIfAborted()
      if (next) await next
      else {
        await new Promise((res) => setTimeout(res, delay))
        delay = Math.min(delay * 2, 250)
      }
    }
  }

  /** Whether a commit is in `state` (see CommitWaitState). */
  private reached(repo: RepoRow, c: Omit<CommitRow, 'tree'>, state: CommitWaitState): boolean {
    if (state === 'started' || c.finished) return true
    if (state === 'finished') return false
    return rows.commitProvenance(this.ctx.db, repo.id, c.id).every((p) => rows.getCommit(this.ctx.db, p.prov_repo_id, p.prov_commit_id)?.finished)
  }

  /**
   * Commits as they finish, forever (until `signal` aborts; the generator then returns):
   * first the finished commits that exist now, oldest first, then each commit as it finishes,
   * in the order they finished. With `state: 'started'` every commit is yielded once it
   * exists (in creation order), with `ready` once its provenance is finished. Only commits made on `ref.branch` when it is given (the
   * commit's original branch, as Pachyderm filters), every commit of the repo otherwise.
   * Throws REPO_NOT_FOUND / BRANCH_NOT_FOUND / COMMIT_NOT_FOUND (`from`) at once, and
   * REPO_NOT_FOUND later if the repo is deleted while subscribed.
   *
   * How it polls: rows are read by creation sequence; each poll reads the commits created
   * since the last one (`seq` watermark) and re-reads only the commits seen not yet in
   * `state`, so a poll costs what changed, not the history. Between polls it sleeps `pollMs`,
   * or waits for `changed`.
   * @example for await (const c of commits.subscribe('default', parseCommit('edges@master'), {signal})) print(c)
   */
  async *subscribe(project: string, ref: CommitRef, opts: SubscribeOptions = {}): AsyncGenerator<CommitInfo> {
    if (ref.id || ref.ancestry) {
      throw new InvalidArgumentError('INVALID_ADDRESS', `subscribe commit takes <repo>[@<branch>], got ${formatCommit(ref)}`, {hint: 'to start after a commit, pass --from <commit-id>'})
    }
    const repo = this.r.repo(ref.repo, project)
    const branch = ref.branch ? this.r.branch(repo, ref.branch).name : null
    const from = opts.from ? this.r.commitById(repo, opts.from) : undefined
    const db = this.ctx.db
    const pending = new Set<string>()
    let seq = 0
    let first = true
    const signal = opts.signal
    const state = opts.state ?? 'finished'
    for (;;) {
      if (signal?.aborted) return
      const next = opts.changed?.(signal)
      if (!rows.getRepoById(db, repo.id)) throw new NotFoundError('REPO_NOT_FOUND', `repo ${repoLabel(repo)} was deleted`, {data: {repo: repoLabel(repo), project: repo.project}})
      const ready: CommitRow[] = []
      for (const id of pending) {
        const c = rows.getCommit(db, repo.id, id)
        if (!c) pending.delete(id)
        else if (this.reached(repo, c, state)) {
          pending.delete(id)
          ready.push(c)
        }
      }
      for (const row of rows.listCommitsAfterSeq(db, repo.id, seq, branch)) {
        seq = row.seq
        if (from && row.seq <= from.seq) continue
        if (opts.origin && row.origin !== opts.origin) continue
        if (first && opts.newOnly && this.reached(repo, row, state)) continue // only what reaches the state from now on
        if (!this.reached(repo, row, state)) pending.add(row.id)
        else ready.push(rows.getCommit(db, repo.id, row.id)!)
      }
      // the commits that exist at the start in creation order (as read); later finished ones in the order they finished
      if (!first && state === 'finished') ready.sort((a, b) => (a.finished! < b.finished! ? -1 : a.finished! > b.finished! ? 1 : a.seq - b.seq))
      else if (!first) ready.sort((a, b) => a.seq - b.seq)
      first = false
      for (const c of ready) {
        if (signal?.aborted) return
        yield this.r.commitInfo(repo, c)
      }
      if (next) await next
      else await sleep(opts.pollMs ?? 200, signal)
    }
  }

  /**
   * The commits that changed a path (added, modified or deleted it, or anything under a
   * directory), walking back from a commit through its parents, newest first (pachctl's
   * `find commit`). Stops at the root, after `limit` found, or when `timeoutMs` has passed;
   * `last_searched_commit` says where. Throws COMMIT_NOT_FINISHED on an open commit (only
   * finished commits have a settled change).
   * @example await commits.find('default', parseFile('images@master:/cat.png'), {limit: 5})
   */
  async find(project: string, ref: FileRef, opts: FindCommitsOptions = {}): Promise<FindCommitsResult> {
    const {repo, commit} = this.r.commit(ref.commit, project)
    const path = cleanPath(ref.path)
    const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : Infinity
    const found: CommitPB[] = []
    let last = commit
    let searched = 0
    for (const step of this.paths.changes(repo, commit, path)) {
      const c = step.commit
      if (!c.finished) {
        throw new ConflictError('COMMIT_NOT_FINISHED', `commit ${repoLabel(repo)}@${c.id} is not finished; find commit searches finished commits`, {
          hint: `finish it with \`pach finish commit ${repoLabel(repo)}@${c.id}\`, or search from its parent (${repoLabel(repo)}@${c.id}^)`,
          data: {repo: repoLabel(repo), commit: c.id},
        })
      }
      last = c
      if (step.changed) {
        const pb = this.r.commitPB(repo, c)
        found.push(pb)
        opts.onFound?.(pb, searched)
      }
      searched++
      if ((opts.limit && found.length >= opts.limit) || Date.now() >= deadline) break
      if (searched % 64 === 0) {
        // a long history: let Ctrl-C in
        await new Promise((res) => setImmediate(res))
        opts.signal?.throwIfAborted()
      }
    }
    return {found_commits: found, last_searched_commit: this.r.commitPB(repo, last), commits_searched: searched}
  }

  /**
   * Resolve `<id>` (a whole commit set) or `repo@ref` (one commit) for squash/drop; with
   * `recursive`, one commit brings every commit computed from it, transitively (its full
   * subvenance, as pachd's SquashCommit/DropCommit with `recursive`).
   */
  private target(project: string, arg: string | CommitRef, recursive = false): {repo: RepoRow; commit: CommitRow}[] {
    if (typeof arg === 'string') {
      if (!isCommitId(arg)) throw new InvalidArgumentError('INVALID_ADDRESS', `${JSON.stringify(arg)} is not a commit id (32 hex characters)`)
      const cs = rows.listCommitsById(this.ctx.db, arg)
      if (cs.length === 0) throw new NotFoundError('COMMIT_SET_NOT_FOUND', `no commits with id ${arg}`, {data: {id: arg}})
      return cs.map((c) => ({repo: rows.getRepoById(this.ctx.db, c.repo_id)!, commit: c}))
    }
    const {repo, commit} = this.r.commit(arg, project)
    const set = [{repo, commit}]
    if (!recursive) return set
    const seen = new Set([`${repo.id}:${commit.id}`])
    for (let i = 0; i < set.length; i++) {
      for (const sub of rows.commitSubvenance(this.ctx.db, set[i]!.repo.id, set[i]!.commit.id)) {
        const key = `${sub.repo_id}:${sub.commit_id}`
        const c = rows.getCommit(this.ctx.db, sub.repo_id, sub.commit_id)
        if (seen.has(key) || !c) continue
        seen.add(key)
        set.push({repo: rows.getRepoById(this.ctx.db, sub.repo_id)!, commit: c})
      }
    }
    return set
  }

  squash(project: string, arg: string | CommitRef, isSpec: (r: RepoRow, c: CommitRow) => boolean, opts: {recursive?: boolean} = {}): CommitInfo[] {
    return withTx(this.ctx.db, () => {
      const set = this.target(project, arg, opts.recursive)
      const infos = set.map((s) => this.r.commitInfo(s.repo, s.commit))
      this.engine.squash(set, isSpec)
      return infos
    })
  }

  drop(project: string, arg: string | CommitRef, opts: {recursive?: boolean} = {}): CommitInfo[] {
    return withTx(this.ctx.db, () => {
      const set = this.target(project, arg, opts.recursive)
      const infos = set.map((s) => this.r.commitInfo(s.repo, s.commit))
      this.engine.drop(set)
      return infos
    })
  }
}

/** Wait `ms`, or less when `signal` aborts (never throws). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal?.aborted) return res()
    const done = () => {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      res()
    }
    const t = setTimeout(done, ms)
    signal?.addEventListener('abort', done, {once: true})
  })
}
