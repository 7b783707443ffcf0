/**
 * Porcelain over the PFS engine: projects, repos, branches and commits. Each method is one
 * user verb (pachctl's), validates its input, applies it in one SQLite transaction (or
 * queues it on the active transaction), and returns pachctl-shaped info.
 */
import {ConflictError, InvalidArgumentError, NotFoundError} from '../errors.js'
import type {CoreContext} from '../context.js'
import {withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {CommitRow, RepoRow} from '../db/pfs-rows.js'
import {DEFAULT_PROJECT, repoLabel, type BranchInfo, type CommitInfo, type CommitOrigin, type CommitSetInfo, type ProjectInfo, type Queued, type RepoInfo} from '../types.js'
import type {PfsEngine} from './engine.js'
import {validateName} from './paths.js'
import {formatCommit, isCommitId, type CommitRef, type RepoRef} from './refs.js'
import type {TransactionService} from './transaction-service.js'

export class ProjectService {
  constructor(readonly ctx: CoreContext) {}

  private info(p: rows.ProjectRow): ProjectInfo {
    return {project: {name: p.name}, description: p.description, created_at: p.created}
  }

  create(name: string, description = ''): ProjectInfo {
    validateName('project', name)
    return withTx(this.ctx.db, () => {
      if (rows.getProject(this.ctx.db, name)) throw new ConflictError('PROJECT_EXISTS', `project ${name} already exists`)
      const row = {name, description, created: this.ctx.now()}
      rows.insertProject(this.ctx.db, row)
      return this.info(row)
    })
  }

  update(name: string, description: string): ProjectInfo {
    return withTx(this.ctx.db, () => {
      const p = this.get(name)
      this.ctx.db.prepare('UPDATE projects SET description = ? WHERE name = ?').run(description, name)
      return this.info({...p, description})
    })
  }

  private get(name: string): rows.ProjectRow {
    const p = rows.getProject(this.ctx.db, name)
    if (!p) throw new NotFoundError('PROJECT_NOT_FOUND', `project ${name} not found`, {hint: 'list projects with `pach list project`'})
    return p
  }

  inspect(name: string): ProjectInfo {
    return this.info(this.get(name))
  }

  list(): ProjectInfo[] {
    return rows.listProjects(this.ctx.db).map((p) => this.info(p))
  }

  delete(name: string, force: boolean): ProjectInfo {
    return withTx(this.ctx.db, () => {
      const p = this.get(name)
      const repos = rows.listRepos(this.ctx.db, name)
      if (repos.length > 0 && !force) {
        throw new ConflictError('PROJECT_NOT_EMPTY', `project ${name} still contains ${repos.length} repo(s)`, {hint: 'delete them first, or pass --force'})
      }
      if (name === DEFAULT_PROJECT && !force) throw new ConflictError('DEFAULT_PROJECT', 'the default project cannot be deleted')
      for (const r of repos) this.ctx.db.prepare('DELETE FROM repos WHERE id = ?').run(r.id)
      this.ctx.db.prepare('DELETE FROM projects WHERE name = ?').run(name)
      return this.info(p)
    })
  }
}

export class RepoService {
  constructor(readonly ctx: CoreContext, readonly engine: PfsEngine, readonly tx: TransactionService) {}

  info(r: RepoRow): RepoInfo {
    const master = rows.getBranch(this.ctx.db, r.id, 'master')
    const head = master ? rows.getCommit(this.ctx.db, r.id, master.head) : undefined
    const size = head?.size ?? 0
    return {
      repo: this.engine.resolve.repoPB(r),
      created: r.created,
      size_bytes_upper_bound: size,
      description: r.description,
      branches: rows.listBranches(this.ctx.db, r.id).map((b) => this.engine.resolve.branchPB(r, b.name)),
      details: {size_bytes: size},
    }
  }

  create(project: string, name: string, opts: {description?: string; update?: boolean; type?: RepoRef['type']} = {}): RepoInfo | Queued {
    validateName('repo', name)
    const req = {create_repo: {repo: {name, type: opts.type ?? 'user', project: {name: project}}, description: opts.description ?? '', update: opts.update ?? false}}
    if (this.tx.active()) return {queued: true, transaction: this.tx.queue(req)}
    return withTx(this.ctx.db, () => this.info(this.tx.apply(req, this.ctx.newId()) as RepoRow))
  }

  inspect(ref: RepoRef, project: string): RepoInfo {
    return this.info(this.engine.resolve.repo(ref, project))
  }

  /** `types` undefined = user repos only; 'all' = every type. */
  list(opts: {project?: string; type?: RepoRef['type'] | 'all'}): RepoInfo[] {
    const t = opts.type ?? 'user'
    return rows
      .listRepos(this.ctx.db, opts.project)
      .filter((r) => t === 'all' || r.type === t)
      .map((r) => this.info(r))
  }

  delete(ref: RepoRef, project: string, force: boolean): RepoInfo | Queued {
    if (this.tx.active()) {
      return {queued: true, transaction: this.tx.queue({delete_repo: {repo: {name: ref.name, type: ref.type, project: {name: project}}, force}})}
    }
    const repo = this.engine.resolve.repo(ref, project)
    const info = this.info(repo)
    const req = {delete_repo: {repo: info.repo, force}}
    if (this.tx.active()) return {queued: true, transaction: this.tx.queue(req)}
    withTx(this.ctx.db, () => this.tx.apply(req, this.ctx.newId()))
    return info
  }
}

export class BranchService {
  constructor(readonly ctx: CoreContext, readonly engine: PfsEngine, readonly tx: TransactionService) {}

  create(project: string, repo: RepoRef, name: string, opts: {head?: string; provenance?: string[]; trigger?: BranchInfo['trigger']}): BranchInfo | Queued {
    validateName('branch', name)
    const req = {
      create_branch: {
        branch: {repo: {name: repo.name, type: repo.type, project: {name: project}}, name},
        head: opts.head ?? null,
        provenance: opts.provenance ?? [],
        ...(opts.trigger ? {trigger: opts.trigger} : {}),
      },
    }
    if (this.tx.active()) return {queued: true, transaction: this.tx.queue(req)}
    const r = this.engine.resolve.repo(repo, project)
    return withTx(this.ctx.db, () => {
      const b = this.tx.apply(req, this.ctx.newId()) as rows.BranchRow
      return this.engine.resolve.branchInfo(r, b)
    })
  }

  /** Move followers whose cron trigger is due (there is no ticker: `pach run` applies them). */
  applyCronTriggers(): number {
    return withTx(this.ctx.db, () => this.engine.applyCronTriggers(new Date(this.ctx.now())))
  }

  inspect(project: string, repo: RepoRef, name: string): BranchInfo {
    const r = this.engine.resolve.repo(repo, project)
    return this.engine.resolve.branchInfo(r, this.engine.resolve.branch(r, name))
  }

  list(project: string, repo: RepoRef): BranchInfo[] {
    const r = this.engine.resolve.repo(repo, project)
    return rows.listBranches(this.ctx.db, r.id).map((b) => this.engine.resolve.branchInfo(r, b))
  }

  delete(project: string, repo: RepoRef, name: string, force: boolean): BranchInfo | Queued {
    if (this.tx.active()) {
      return {queued: true, transaction: this.tx.queue({delete_branch: {branch: {repo: {name: repo.name, type: repo.type, project: {name: project}}, name}, force}})}
    }
    const r = this.engine.resolve.repo(repo, project)
    const info = this.engine.resolve.branchInfo(r, this.engine.resolve.branch(r, name))
    const req = {delete_branch: {branch: info.branch, force}}
    if (this.tx.active()) return {queued: true, transaction: this.tx.queue(req)}
    withTx(this.ctx.db, () => this.tx.apply(req, this.ctx.newId()))
    return info
  }
}

export interface ListCommitOptions {
  number?: number
  all?: boolean
  origin?: CommitOrigin
  from?: string
}

export class CommitService {
  constructor(readonly ctx: CoreContext, readonly engine: PfsEngine, readonly tx: TransactionService) {}

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
      const c = this.tx.apply(req, this.ctx.newId()) as CommitRow
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
      const c = this.tx.apply(req, this.ctx.newId()) as CommitRow
      return this.r.commitInfo(repo, c)
    })
  }

  inspect(project: string, ref: CommitRef): CommitInfo {
    const {repo, commit} = this.r.commit(ref, project)
    return this.r.commitInfo(repo, commit)
  }

  /** Commits of a repo (newest first): along a branch's ancestry, or all of the repo. */
  list(project: string, ref: CommitRef, opts: ListCommitOptions = {}): CommitInfo[] {
    const repo = this.r.repo(ref.repo, project)
    let list: CommitRow[]
    if (ref.branch || ref.id) {
      const start = this.r.commit(ref, project).commit
      list = []
      let c: CommitRow | undefined = start
      while (c) {
        list.push(c)
        if (opts.from && c.id === opts.from) break
        c = c.parent ? rows.getCommit(this.ctx.db, repo.id, c.parent) : undefined
      }
      if (opts.all && ref.branch) {
        const seen = new Set(list.map((x) => x.id))
        for (const x of rows.listCommitsByRepo(this.ctx.db, repo.id)) if (x.branch === ref.branch && !seen.has(x.id)) list.push(x)
        list.sort((a, b) => b.seq - a.seq)
      }
    } else {
      list = rows.listCommitsByRepo(this.ctx.db, repo.id)
    }
    if (opts.origin) list = list.filter((c) => c.origin === opts.origin)
    if (opts.number && opts.number > 0) list = list.slice(0, opts.number)
    return list.map((c) => this.r.commitInfo(repo, c))
  }

  /** The commits sharing one global id (a commit set). */
  listSet(id: string): CommitSetInfo {
    const cs = rows.listCommitsById(this.ctx.db, id)
    if (cs.length === 0) throw new NotFoundError('COMMIT_SET_NOT_FOUND', `no commits with id ${id}`, {hint: 'list commit sets with `pach list commit`'})
    return {commit_set: {id}, commits: cs.map((c) => this.r.commitInfo(rows.getRepoById(this.ctx.db, c.repo_id)!, c))}
  }

  /** All commit sets, newest first. */
  listSets(number?: number): CommitSetInfo[] {
    const ids = this.ctx.db.prepare('SELECT id FROM commit_sets ORDER BY modified DESC, created DESC').pluck().all() as string[]
    return (number ? ids.slice(0, number) : ids).map((id) => this.listSet(id))
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

