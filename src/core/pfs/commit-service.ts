/**
 * CommitService: start/finish/inspect/list/wait/subscribe/find/squash/drop commit and commit
 * sets (pachctl's commit verbs). Starting and finishing are transactable (queued while a
 * transaction is active, else applied through `TransactionService.apply`); squash and drop
 * apply at once to one commit or a whole commit set (all commits sharing one id). `wait` and
 * `subscribe` poll the database, since other processes finish commits; `find` walks a
 * commit's ancestry through the tree store (path-history.ts).
 */
import {ConflictError, InvalidArgumentError, NotFoundError} from '../errors.js'
import type {CoreContext} from '../context.js'
import {withRead, withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {CommitRow, RepoRow} from '../db/pfs-rows.js'
import {repoLabel, type CommitInfo, type CommitOrigin, type CommitPB, type CommitSetInfo, type CommitSummary, type FindCommitsResult, type Queued} from '../types.js'
import type {PfsEngine} from './engine.js'
import {PathHistory} from './path-history.js'
import {cleanPath} from './paths.js'
import {formatCommit, isCommitId, type CommitRef, type FileRef} from './refs.js'
import type {TransactionService} from './transaction-service.js'

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
  /** how often the database is polled, in ms */
  pollMs?: number
}

export interface FindCommitsOptions {
  /** stop after this many commits were found (0 or absent: no limit) */
  limit?: number
  /** stop searching after this long (the result says where the search stopped) */
  timeoutMs?: number
  signal?: AbortSignal
}

export class CommitService {
  private readonly paths: PathHistory

  constructor(readonly ctx: CoreContext, readonly engine: PfsEngine, readonly tx: TransactionService) {
    this.paths = new PathHistory(ctx, engine.resolve)
  }

  private get r() {
    return this.engine.resolve
  }

  /** Start a commit; returns its info (or, in a transaction, the id it will have). */
  start(project: string, ref: CommitRef, opts: {parent?: string; description?: string}): CommitInfo | (Queued & {id: string}) {
    if (!ref.branch || ref.id || ref.ancestry) {
      throw new InvalidArgumentError('INVALID_ADDRESS', `start commit needs <repo>@<branch>, got ${formatCommit(ref)}`)
    }
    const branch = {repo: {name: ref.repo.name, type: ref.repo.type, project: {name: project}}, name: ref.branch}
    const req = {start_commit: {branch, parent: opts.parent ?? null, description: opts.description ?? ''}}
    const active = this.tx.active()
    if (active) return {queued: true, transaction: this.tx.queue(req), id: active}
    const repo = this.r.repo(ref.repo, project)
    return withTx(this.ctx.db, () => {
      const c = this.tx.apply(req, this.ctx.newId())
      return this.r.commitInfo(repo, c)
    })
  }

  finish(project: string, ref: CommitRef, opts: {description?: string; force?: boolean; error?: string}): CommitInfo | Queued {
    if (this.tx.active()) {
      const req = {finish_commit: {commit: formatCommit(ref), project, description: opts.description ?? null, force: opts.force ?? false}}
      return {queued: true, transaction: this.tx.queue(req)}
    }
    const {repo, commit} = this.r.commit(ref, project)
    const req = {finish_commit: {commit: `${repoLabel(repo)}@${commit.id}`, project, description: opts.description ?? null, force: opts.force ?? false}}
    return withTx(this.ctx.db, () => {
      const c = this.tx.apply(req, this.ctx.newId())
      return this.r.commitInfo(repo, c)
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
    if (cs.length === 0) throw new NotFoundError('COMMIT_SET_NOT_FOUND', `no commits with id ${id}`, {hint: 'list commit sets with `pach list commit`'})
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

  /** Block until the commit is finished (polls; other processes may finish it). */
  async wait(project: string, ref: CommitRef, opts: {timeoutMs?: number; signal?: AbortSignal; drive?: () => Promise<void>} = {}): Promise<CommitInfo> {
    const {repo, commit} = this.r.commit(ref, project)
    const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : Infinity
    let delay = 20
    for (;;) {
      const c = rows.getCommit(this.ctx.db, repo.id, commit.id)
      if (!c) throw new NotFoundError('COMMIT_NOT_FOUND', `commit ${commit.id} was deleted while waiting`)
      if (c.finished) return this.r.commitInfo(repo, c)
      if (opts.drive) {
        await opts.drive()
        const again = rows.getCommit(this.ctx.db, repo.id, commit.id)
        if (again?.finished) return this.r.commitInfo(repo, again)
      }
      if (Date.now() > deadline) {
        throw new ConflictError('TIMEOUT', `commit ${repoLabel(repo)}@${c.id} did not finish in time`, {hint: 'finish it with `pach finish commit`'})
      }
      opts.signal?.throwIfAborted()
      await new Promise((res) => setTimeout(res, delay))
      delay = Math.min(delay * 2, 250)
    }
  }

  /**
   * Commits as they finish, forever (until `signal` aborts; the generator then returns):
   * first the finished commits that exist now, oldest first, then each commit as it finishes,
   * in the order they finished. Only commits made on `ref.branch` when it is given (the
   * commit's original branch, as Pachyderm filters), every commit of the repo otherwise.
   * Throws REPO_NOT_FOUND / BRANCH_NOT_FOUND / COMMIT_NOT_FOUND (`from`) at once, and
   * REPO_NOT_FOUND later if the repo is deleted while subscribed.
   *
   * How it polls: rows are read by creation sequence; each poll reads the commits created
   * since the last one (`seq` watermark) and re-reads only the commits seen open, so a poll
   * costs what changed, not the history.
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
    for (;;) {
      if (signal?.aborted) return
      if (!rows.getRepoById(db, repo.id)) throw new NotFoundError('REPO_NOT_FOUND', `repo ${repoLabel(repo)} was deleted`, {data: {repo: repoLabel(repo)}})
      const ready: CommitRow[] = []
      for (const id of pending) {
        const c = rows.getCommit(db, repo.id, id)
        if (!c) pending.delete(id)
        else if (c.finished) {
          pending.delete(id)
          ready.push(c)
        }
      }
      for (const row of rows.listCommitsAfterSeq(db, repo.id, seq, branch)) {
        seq = row.seq
        if (from && row.seq <= from.seq) continue
        if (opts.origin && row.origin !== opts.origin) continue
        if (!row.finished) pending.add(row.id)
        else if (!(first && opts.newOnly)) ready.push(rows.getCommit(db, repo.id, row.id)!)
      }
      // the commits that exist at the start in creation order (as read); later ones in the order they finished
      if (!first) ready.sort((a, b) => (a.finished! < b.finished! ? -1 : a.finished! > b.finished! ? 1 : a.seq - b.seq))
      first = false
      for (const c of ready) {
        if (signal?.aborted) return
        yield this.r.commitInfo(repo, c)
      }
      await sleep(opts.pollMs ?? 200, signal)
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
      searched++
      if (step.changed) found.push(this.r.commitPB(repo, c))
      if ((opts.limit && found.length >= opts.limit) || Date.now() >= deadline) break
      if (searched % 64 === 0) {
        // a long history: let Ctrl-C in
        await new Promise((res) => setImmediate(res))
        opts.signal?.throwIfAborted()
      }
    }
    return {found_commits: found, last_searched_commit: this.r.commitPB(repo, last), commits_searched: searched}
  }

  /** Resolve `<id>` (a whole commit set) or `repo@ref` (one commit) for squash/drop. */
  private target(project: string, arg: string | CommitRef): {repo: RepoRow; commit: CommitRow}[] {
    if (typeof arg === 'string') {
      if (!isCommitId(arg)) throw new InvalidArgumentError('INVALID_ADDRESS', `${JSON.stringify(arg)} is not a commit id (32 hex characters)`)
      const cs = rows.listCommitsById(this.ctx.db, arg)
      if (cs.length === 0) throw new NotFoundError('COMMIT_SET_NOT_FOUND', `no commits with id ${arg}`)
      return cs.map((c) => ({repo: rows.getRepoById(this.ctx.db, c.repo_id)!, commit: c}))
    }
    const {repo, commit} = this.r.commit(arg, project)
    return [{repo, commit}]
  }

  squash(project: string, arg: string | CommitRef, isSpec: (r: RepoRow, c: CommitRow) => boolean): CommitInfo[] {
    return withTx(this.ctx.db, () => {
      const set = this.target(project, arg)
      const infos = set.map((s) => this.r.commitInfo(s.repo, s.commit))
      this.engine.squash(set, isSpec)
      return infos
    })
  }

  drop(project: string, arg: string | CommitRef): CommitInfo[] {
    return withTx(this.ctx.db, () => {
      const set = this.target(project, arg)
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
