/**
 * The PFS state machine: synchronous operations on repos, branches and commits that run
 * inside one SQLite transaction (callers wrap them in `withTx`). Services and transaction
 * replay (`finish transaction`) are both built from these, so a queued request behaves
 * exactly like an immediate one.
 *
 * Invariants:
 * - a branch always has a head commit.
 * - a commit is created open; once finished it never changes (tree, size, parent content).
 *   Only squash/drop remove commits, and only with Pachyderm's refusals.
 * - one id per change: every commit created while applying one change (the user's commit
 *   and every downstream AUTO commit created by propagation) gets the same commit-set id.
 * - user commits need a finished parent; branches with provenance take no user commits.
 */
import {AlreadyExistsError, CommitFinishedError, ConflictError, InvalidArgumentError} from '../errors.js'
import type {CoreContext} from '../context.js'
import type {DB} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {BranchRow, CommitRow, RepoRow} from '../db/pfs-rows.js'
import {repoLabel, type CommitOrigin, type RepoType} from '../types.js'
import {noHooks, type PfsHooks, type PipelineWriter} from './hooks.js'
import {validateName} from './paths.js'
import {checkTrigger, cronDue, isTriggered, triggerOf, type Trigger} from './trigger.js'
import {Resolver} from './resolve.js'
import type {TreeOp} from '../store/tree-store.js'

/** One provenance link of a branch: repo@branch, optionally `never` (propagation_spec.never). */
export interface BranchProvenance {
  repo: RepoRow
  branch: string
  never?: boolean
}

export class PfsEngine {
  readonly resolve: Resolver

  constructor(readonly ctx: CoreContext, private readonly hooks: () => PfsHooks = () => noHooks) {
    this.resolve = new Resolver(ctx)
  }

  /**
   * Insert a commit row: open, or finished at once (`finished`), starting from the readable
   * tree of its parent (`Resolver.baseTree`), with that tree's size.
   */
  private insertCommit(
    repo: RepoRow,
    branch: string,
    id: string,
    opts: {parent?: CommitRow; origin: CommitOrigin; description?: string; finished?: boolean},
  ): CommitRow {
    if (rows.getCommit(this.db, repo.id, id)) throw this.commitExists(repo, id)
    const now = this.ctx.now()
    const tree = this.resolve.baseTree(repo, opts.parent)
    return rows.insertCommit(this.db, {
      repo_id: repo.id,
      id,
      branch,
      parent: opts.parent?.id ?? null,
      origin: opts.origin,
      description: opts.description ?? '',
      started: now,
      finishing: opts.finished ? now : null,
      finished: opts.finished ? now : null,
      error: '',
      tree,
      size: this.treeSize(tree),
    })
  }

  /** One change (a transaction) made two commits in one repo: a commit and a new branch's empty head, say. */
  private commitExists(repo: RepoRow, id: string): ConflictError {
    return new ConflictError('COMMIT_EXISTS', `repo ${repoLabel(repo)} already has a commit in this change (${id})`, {
      hint: 'inconsistent dependencies: one commit per repo in a transaction',
      data: {repo: repoLabel(repo), project: repo.project, commit: id},
    })
  }

  /** A USER commit on `branchName` would have an open parent: finish it or drop it first. */
  private parentNotFinished(repo: RepoRow, branchName: string, parent: CommitRow): ConflictError {
    return new ConflictError('PARENT_NOT_FINISHED', `parent commit ${parent.id} has not been finished`, {
      hint: `finish it with \`pach finish commit ${repoLabel(repo)}@${branchName}\` or drop it with \`pach delete commit ${parent.id}\``,
      data: {commit: parent.id, repo: repoLabel(repo), project: repo.project},
    })
  }

  /** An open AUTO commit (propagation, new provenance); the caller tells the pipeline layer. */
  private autoCommit(repo: RepoRow, branch: string, parent: CommitRow | undefined, id: string): CommitRow {
    return this.insertCommit(repo, branch, id, {parent, origin: 'AUTO'})
  }

  get db(): DB {
    return this.ctx.db
  }

  // ---------- repos ----------

  createRepo(project: string, name: string, type: RepoType, description: string, update: boolean): RepoRow {
    validateName('repo', name)
    this.resolve.project(project)
    const existing = rows.getRepo(this.db, project, name, type)
    if (existing) {
      if (!update) {
        throw new AlreadyExistsError('REPO_EXISTS', `repo ${repoLabel(existing)} already exists`, {
          hint: 'use `pach update repo` to change its description',
          data: {repo: repoLabel(existing), project},
        })
      }
      rows.setRepoDescription(this.db, existing.id, description)
      return {...existing, description}
    }
    const row = {project, name, type, description, created: this.ctx.now()}
    const id = rows.insertRepo(this.db, row)
    return {id, ...row}
  }

  /** Delete a repo; refuses when other repos' branches take it as provenance (unless force). */
  deleteRepo(repo: RepoRow, force: boolean, isPipelineRepo: (r: RepoRow) => string | undefined): void {
    const pipeline = isPipelineRepo(repo)
    if (pipeline && !force) {
      throw new ConflictError('REPO_OWNED_BY_PIPELINE', `repo ${repoLabel(repo)} belongs to pipeline ${pipeline}`, {
        hint: `delete the pipeline with \`pach delete pipeline ${pipeline}\``,
      })
    }
    const dependents = new Set<string>()
    for (const b of rows.listBranches(this.db, repo.id)) {
      for (const s of rows.branchSubvenance(this.db, repo.id, b.name)) {
        if (s.repo_id !== repo.id) dependents.add(repoLabel(rows.getRepoById(this.db, s.repo_id)!))
      }
    }
    if (dependents.size > 0 && !force) {
      const list = [...dependents].join(', ')
      throw new ConflictError('REPO_HAS_DEPENDENTS', `cannot delete repo ${repoLabel(repo)}: ${list} depend${dependents.size === 1 ? 's' : ''} on it`, {
        hint: 'delete the pipelines that read it first, or pass --force to cut the provenance',
        data: {repo: repoLabel(repo), dependents: [...dependents]},
      })
    }
    rows.deleteRepoBranchSubvenance(this.db, repo.id)
    rows.deleteRepoCommitProvenance(this.db, repo.id)
    rows.deleteRepoRow(this.db, repo.id)
  }

  // ---------- commits ----------

  /**
   * Start a commit on a branch (created if missing). `parentId` overrides the parent.
   * Refuses output branches (with provenance) for USER commits and an unfinished head; the
   * one exception is `writer`, a pipeline writing its own output branch (a spout; hooks decide).
   */
  startCommit(
    repo: RepoRow,
    branchName: string,
    opts: {parentId?: string | null; description?: string; origin?: CommitOrigin; id: string; writer?: PipelineWriter; checked?: {branch: BranchRow | undefined; head: CommitRow | undefined}},
  ): CommitRow {
    validateName('branch', branchName)
    const origin = opts.origin ?? 'USER'
    // `checked`: the caller read the branch and its head in this same transaction and made the
    // output-branch check for this writer already (a one-off commit of a put)
    const branch = opts.checked ? opts.checked.branch : rows.getBranch(this.db, repo.id, branchName)
    if (branch && !opts.checked && origin === 'USER' && rows.branchProvenance(this.db, repo.id, branchName).length > 0 && !this.mayWriteOutput(repo, branchName, opts.writer)) {
      throw new ConflictError('OUTPUT_BRANCH', `cannot start a commit on an output branch (${repoLabel(repo)}@${branchName} has provenance)`, {
        hint: 'commits on output branches are made by their pipeline or by propagation',
      })
    }
    let parent: CommitRow | undefined
    if (opts.parentId) parent = this.resolve.commitById(repo, opts.parentId)
    else if (opts.checked) parent = opts.checked.head
    else if (branch) parent = rows.getCommit(this.db, repo.id, branch.head)
    if (parent && !parent.finished && origin === 'USER') throw this.parentNotFinished(repo, branchName, parent)
    // insertCommit refuses an id this repo already has (COMMIT_EXISTS)
    const commit = this.insertCommit(repo, branchName, opts.id, {parent, origin, description: opts.description})
    if (branch) rows.setBranchHead(this.db, repo.id, branchName, commit.id)
    else rows.insertBranch(this.db, {repo_id: repo.id, name: branchName, head: commit.id, created: this.ctx.now()})
    this.propagate(repo, branchName, opts.id)
    return commit
  }

  /**
   * A commit made and finished in one go (a put's one-off commit): started on the branch as
   * startCommit starts it, its tree `apply(base)` (base: the parent's readable tree), finished
   * as finishCommit finishes it. `checked`: the caller read the branch and its finished head in
   * this transaction and made the output-branch check (see startCommit). Where nothing is
   * downstream of the branch (no propagation), the row is inserted once in its final state
   * (the same row, commit set and triggers as start + finish, without writing it three times
   * and reading it back); otherwise start, apply and finish run as they are, so downstream
   * AUTO commits and their hooks see what they always saw.
   */
  commitWhole(
    repo: RepoRow,
    branchName: string,
    opts: {id: string; description?: string; writer?: PipelineWriter; checked: {branch: BranchRow | undefined; head: CommitRow | undefined}},
    apply: (base: Buffer | null) => Buffer | null,
  ): CommitRow {
    if (this.resolve.closure(repo.id, branchName, 'down', true).length > 0) {
      const open = this.startCommit(repo, branchName, {...opts, origin: 'USER'})
      const root = apply(open.tree)
      rows.setCommitTree(this.db, repo.id, open.id, root, this.treeSize(root))
      return this.finishCommit(repo, open, {})
    }
    validateName('branch', branchName)
    const parent = opts.checked.head
    if (parent && !parent.finished) throw this.parentNotFinished(repo, branchName, parent)
    // the clock is read as start + finish read it: started, a new branch's created, finished
    const started = this.ctx.now()
    const created = opts.checked.branch ? undefined : this.ctx.now()
    const tree = apply(this.resolve.baseTree(repo, parent))
    const at = this.ctx.now()
    let row: CommitRow
    try {
      row = rows.insertCommit(
        this.db,
        {repo_id: repo.id, id: opts.id, branch: branchName, parent: parent?.id ?? null, origin: 'USER', description: opts.description ?? '', started, finishing: at, finished: at, error: '', tree, size: this.treeSize(tree), metadata: '{}'},
        at,
      )
    } catch (e) {
      // the commit's key is taken: what insertCommit's read checks, answered by the INSERT
      if ((e as {code?: string}).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw this.commitExists(repo, opts.id)
      throw e
    }
    if (created === undefined) rows.setBranchHead(this.db, repo.id, branchName, row.id)
    else rows.insertBranch(this.db, {repo_id: repo.id, name: branchName, head: row.id, created})
    // commitFinished without its check: the branch's head is this commit, just set
    this.fireTriggers(repo, branchName, row, new Set([branchName]))
    return row
  }

  /**
   * Import a finished commit made elsewhere (`pach pull`) under its own id: its parent (a
   * finished commit of this repo, or none for the oldest commit of a shallow pull, whose
   * `ops` then hold its whole tree), description, origin and times are the source's, its tree
   * is the parent's tree with `ops` applied. The branch (created if missing) moves to it and
   * propagates downstream with its id, and triggers fire, as for a commit made here.
   * An existing commit with this id is accepted only if it is that same commit (same parent
   * and tree: an earlier import); otherwise COMMIT_EXISTS. Throws OUTPUT_BRANCH for a branch
   * with provenance and PARENT_NOT_FINISHED for an open parent. Returns the commit and whether
   * it already existed.
   */
  importCommit(
    repo: RepoRow,
    branchName: string,
    opts: {id: string; parent?: CommitRow; description: string; origin: CommitOrigin; ops: readonly TreeOp[]; started?: string; finished?: string},
  ): {commit: CommitRow; existed: boolean} {
    validateName('branch', branchName)
    if (rows.getBranch(this.db, repo.id, branchName) && rows.branchProvenance(this.db, repo.id, branchName).length > 0) {
      throw new ConflictError('OUTPUT_BRANCH', `cannot import commits into output branch ${repoLabel(repo)}@${branchName}: it has provenance`, {
        hint: 'pull into another branch name',
      })
    }
    if (opts.parent && !opts.parent.finished) {
      throw new ConflictError('PARENT_NOT_FINISHED', `parent commit ${opts.parent.id} has not been finished`, {data: {commit: opts.parent.id}})
    }
    const tree = this.ctx.trees.apply(this.resolve.baseTree(repo, opts.parent), opts.ops)
    const existing = rows.getCommit(this.db, repo.id, opts.id)
    if (existing) {
      const same = existing.finished && !existing.error && (existing.parent ?? null) === (opts.parent?.id ?? null) && (existing.tree === null ? tree === null : tree !== null && existing.tree.equals(tree))
      if (!same) {
        throw new ConflictError('COMMIT_EXISTS', `repo ${repoLabel(repo)} already has a commit ${opts.id} with other content`, {
          hint: 'the ids of pulled commits are kept; pull into another repo, or delete the local commit',
          data: {repo: repoLabel(repo), project: repo.project, commit: opts.id},
        })
      }
      return {commit: existing, existed: true}
    }
    const now = this.ctx.now()
    const commit = rows.insertCommit(this.db, {
      repo_id: repo.id,
      id: opts.id,
      branch: branchName,
      parent: opts.parent?.id ?? null,
      origin: opts.origin,
      description: opts.description,
      started: opts.started ?? now,
      finishing: opts.finished ?? now,
      finished: opts.finished ?? now,
      error: '',
      tree,
      size: this.treeSize(tree),
    })
    if (rows.getBranch(this.db, repo.id, branchName)) rows.setBranchHead(this.db, repo.id, branchName, commit.id)
    else rows.insertBranch(this.db, {repo_id: repo.id, name: branchName, head: commit.id, created: now})
    rows.touchCommitSet(this.db, commit.id, now)
    this.propagate(repo, branchName, commit.id)
    this.commitFinished(repo, commit)
    return {commit, existed: false}
  }

  /** Whether `writer` is the pipeline whose own output branch repo@branch is (PfsHooks.ownsOutput). */
  mayWriteOutput(repo: RepoRow, branch: string, writer: PipelineWriter | undefined): boolean {
    return writer !== undefined && this.hooks().ownsOutput(repo, branch, writer)
  }

  /** Bytes under a root tree (0 for the empty tree). */
  treeSize(tree: Buffer | null): number {
    if (!tree) return 0
    return this.ctx.trees.lookup(tree, '/')?.size ?? 0
  }

  finishCommit(repo: RepoRow, commit: CommitRow, opts: {description?: string | null; error?: string; force?: boolean; isOutput?: boolean}): CommitRow {
    if (commit.finished) {
      throw new CommitFinishedError(repoLabel(repo), commit.id)
    }
    if (opts.isOutput && !opts.force) {
      throw new ConflictError('OUTPUT_COMMIT', 'cannot finish a pipeline output or meta commit, use \'stop job\' instead', {
        hint: 'pass --force to finish it anyway',
      })
    }
    const at = this.ctx.now()
    rows.finishCommitRow(this.db, repo.id, commit.id, at, opts.error ?? '', opts.description ?? null)
    rows.touchCommitSet(this.db, commit.id, at)
    const finished = rows.getCommit(this.db, repo.id, commit.id)!
    this.commitFinished(repo, finished)
    return finished
  }

  // ---------- triggers (pfs/trigger.ts) ----------

  /**
   * A commit finished: branches that trigger on its branch (and, in a chain, on those) move
   * to it when their condition holds, and propagate downstream with its id.
   */
  commitFinished(repo: RepoRow, commit: CommitRow): void {
    if (commit.error || !commit.branch) return
    const b = rows.getBranch(this.db, repo.id, commit.branch)
    if (!b || b.head !== commit.id) return
    this.fireTriggers(repo, commit.branch, commit, new Set([commit.branch]))
  }

  private fireTriggers(repo: RepoRow, source: string, head: CommitRow, seen: Set<string>): void {
    for (const t of rows.triggeredBranches(this.db, repo.id)) {
      const trig = triggerOf(t)!
      if (trig.branch !== source || trig.cron_spec || seen.has(t.name) || t.head === head.id) continue
      const old = rows.getCommit(this.db, repo.id, t.head)
      const fires = isTriggered(trig, old && {size: old.size, finishing: old.finishing}, {size: head.size, finishing: head.finishing}, (limit) =>
        this.commitsBetween(repo, head, old, limit),
      )
      if (fires) this.moveFollower(repo, t.name, head, seen)
    }
  }

  private moveFollower(repo: RepoRow, name: string, head: CommitRow, seen: Set<string>): void {
    rows.setBranchHead(this.db, repo.id, name, head.id)
    this.propagate(repo, name, head.id)
    seen.add(name)
    this.fireTriggers(repo, name, head, seen)
  }

  /** Commits from `head` back to `old` (exclusive), at most `limit` (Pachyderm's count). */
  private commitsBetween(repo: RepoRow, head: CommitRow, old: CommitRow | undefined, limit: number): number {
    let ci = head
    let n = 0
    while (n < limit) {
      if (!ci.parent) {
        if (ci.origin !== 'AUTO') n++
        break
      }
      if (old && ci.id === old.id) break
      const parent = rows.getCommit(this.db, repo.id, ci.parent)
      if (!parent) break
      ci = parent
      n++
    }
    return n
  }

  /** Some branch has a cron trigger (applyCronTriggers has something to look at). */
  hasCronTriggers(): boolean {
    return rows.allTriggeredBranches(this.db).some((t) => triggerOf(t)?.cron_spec)
  }

  /**
   * Cron triggers have no ticker here: move every follower whose cron has ticked since its
   * head finished to its source's head (finished, without error). Returns how many moved.
   */
  applyCronTriggers(now: Date): number {
    let moved = 0
    for (const t of rows.allTriggeredBranches(this.db)) {
      const trig = triggerOf(t)!
      if (!trig.cron_spec) continue
      const repo = rows.getRepoById(this.db, t.repo_id)!
      const src = rows.getBranch(this.db, repo.id, trig.branch)
      const head = src && rows.getCommit(this.db, repo.id, src.head)
      if (!head || head.id === t.head || !head.finished || head.error) continue
      const old = rows.getCommit(this.db, repo.id, t.head)
      if (!cronDue(trig, old?.finishing ?? null, now)) continue
      this.moveFollower(repo, t.name, head, new Set([trig.branch]))
      moved++
    }
    return moved
  }

  /**
   * A branch got a new head: give every downstream branch (transitive subvenance, fewest
   * provenance first) a new open AUTO commit with the same commit-set id, whose provenance
   * is the current heads of its direct provenance branches.
   */
  propagate(repo: RepoRow, branch: string, commitSetId: string): void {
    const down = this.resolve.closure(repo.id, branch, 'down', true)
    const sized = down.map(([r, b]) => ({r, b, n: this.resolve.closure(r, b, 'up').length}))
    sized.sort((x, y) => x.n - y.n)
    for (const {r, b} of sized) {
      const drepo = rows.getRepoById(this.db, r)!
      const dbranch = rows.getBranch(this.db, r, b)!
      let head = rows.getCommit(this.db, r, dbranch.head)
      let created = false
      if (!head || head.id !== commitSetId) {
        head = this.autoCommit(drepo, b, head, commitSetId)
        rows.setBranchHead(this.db, r, b, head.id)
        created = true
      }
      rows.deleteCommitProvenance(this.db, r, head.id)
      for (const p of rows.branchProvenance(this.db, r, b)) {
        const pb = rows.getBranch(this.db, p.prov_repo_id, p.prov_branch)
        if (pb) rows.insertCommitProvenance(this.db, {repo_id: r, commit_id: head.id, prov_repo_id: p.prov_repo_id, prov_commit_id: pb.head})
      }
      if (created) this.hooks().onAutoCommit(drepo, b, head)
    }
  }

  // ---------- branches ----------

  /**
   * Create or update a branch. `head` moves the head (no new commit) and propagates;
   * new or changed `provenance` creates a new AUTO head commit with the change's id.
   * A provenance link with `never` (propagation_spec.never) is provenance all the same, but
   * new commits on it do not propagate to this branch.
   */
  createBranch(
    repo: RepoRow,
    name: string,
    opts: {head?: CommitRow; provenance?: BranchProvenance[]; trigger?: Trigger; id: string},
  ): BranchRow {
    validateName('branch', name)
    const existing = rows.getBranch(this.db, repo.id, name)
    const trigger = this.checkBranchTrigger(repo, name, existing, opts)
    if (opts.provenance) this.checkProvenance(repo, name, opts.provenance)
    if (opts.head && opts.head.repo_id !== repo.id) throw new InvalidArgumentError('INVALID_HEAD', 'a branch head must be a commit in the same repo')
    const placed = this.placeHead(repo, name, existing, opts)
    const newAuto = (opts.provenance && this.setProvenance(repo, name, opts.provenance, opts)) || placed.newAuto
    if (newAuto) this.hooks().onAutoCommit(repo, name, newAuto)
    const moved = rows.getBranch(this.db, repo.id, name)!
    if (moved.head !== placed.head || opts.provenance || opts.head) this.propagate(repo, name, opts.id)
    if (trigger) this.setTrigger(repo, name, trigger)
    return rows.getBranch(this.db, repo.id, name)!
  }

  /** A trigger is valid here: no provenance with it, no trigger cycle; its source branch exists (created empty). */
  private checkBranchTrigger(repo: RepoRow, name: string, existing: BranchRow | undefined, opts: {provenance?: BranchProvenance[]; trigger?: Trigger}): Trigger | undefined {
    const trigger = opts.trigger ? checkTrigger(opts.trigger, name) : undefined
    if (trigger) {
      validateName('branch', trigger.branch)
      if (opts.provenance?.length || (existing && rows.branchProvenance(this.db, repo.id, name).length)) {
        throw new InvalidArgumentError('INVALID_TRIGGER', `branch ${repoLabel(repo)}@${name} cannot have both provenance and a trigger`)
      }
      // no trigger cycles: following the chain from the source must not come back here
      for (let at: string | undefined = trigger.branch, hops = 0; at !== undefined && hops < 1000; hops++) {
        if (at === name) throw new InvalidArgumentError('INVALID_TRIGGER', `trigger on ${trigger.branch} would make a cycle through ${repoLabel(repo)}@${name}`)
        at = triggerOf(rows.getBranch(this.db, repo.id, at))?.branch
      }
      if (!rows.getBranch(this.db, repo.id, trigger.branch)) this.createEmptyBranch(repo, trigger.branch)
    } else if (opts.provenance?.length && existing?.trigger) {
      throw new InvalidArgumentError('INVALID_TRIGGER', `branch ${repoLabel(repo)}@${name} has a trigger; it cannot also have provenance`)
    }
    return trigger
  }

  /** Provenance is in other repos and makes no cycle; missing provenance branches are created empty. */
  private checkProvenance(repo: RepoRow, name: string, prov: BranchProvenance[]): void {
    for (const p of prov) {
      if (p.repo.id === repo.id) {
        throw new InvalidArgumentError('PROVENANCE_CYCLE', `branch ${repoLabel(repo)}@${name} cannot have provenance in its own repo`)
      }
      if (!rows.getBranch(this.db, p.repo.id, p.branch)) {
        // Pachyderm creates missing provenance branches with an empty finished head
        this.createEmptyBranch(p.repo, p.branch)
      }
      const upstream = this.resolve.closure(p.repo.id, p.branch, 'up')
      if (upstream.some(([r]) => r === repo.id)) {
        throw new InvalidArgumentError('PROVENANCE_CYCLE', `provenance ${repoLabel(p.repo)}@${p.branch} would create a cycle through ${repoLabel(repo)}`)
      }
    }
  }

  /**
   * Create the branch (head: the given commit, else an empty finished commit, or with
   * provenance and no head an open AUTO commit) or move an existing one to `opts.head`.
   * Returns the head the branch had before provenance was applied.
   */
  private placeHead(
    repo: RepoRow,
    name: string,
    existing: BranchRow | undefined,
    opts: {head?: CommitRow; provenance?: BranchProvenance[]; id: string},
  ): {head: string; newAuto?: CommitRow} {
    if (existing) {
      if (opts.head && opts.head.id !== existing.head) rows.setBranchHead(this.db, repo.id, name, opts.head.id)
      return {head: existing.head}
    }
    const head = opts.head ?? (opts.provenance?.length ? undefined : this.emptyCommit(repo, name, opts.id))
    if (head) {
      rows.insertBranch(this.db, {repo_id: repo.id, name, head: head.id, created: this.ctx.now()})
      return {head: head.id}
    }
    const c = this.autoCommit(repo, name, undefined, opts.id)
    rows.insertBranch(this.db, {repo_id: repo.id, name, head: c.id, created: this.ctx.now()})
    return {head: c.id, newAuto: c}
  }

  /**
   * Record the branch's provenance. When it changed (or no head was given) the branch gets a
   * new AUTO head with the change's id, whose provenance is the provenance branches' heads;
   * returns that commit when one was created here.
   */
  private setProvenance(repo: RepoRow, name: string, prov: BranchProvenance[], opts: {head?: CommitRow; id: string}): CommitRow | undefined {
    const before = rows.branchProvenance(this.db, repo.id, name).map((p) => `${p.prov_repo_id}@${p.prov_branch}${p.never ? '!' : ''}`).sort().join(',')
    const after = prov.map((p) => `${p.repo.id}@${p.branch}${p.never ? '!' : ''}`).sort().join(',')
    rows.setBranchProvenance(this.db, repo.id, name, prov.map((p) => ({repoId: p.repo.id, branch: p.branch, never: p.never})))
    if (before === after && opts.head) return undefined
    let newAuto: CommitRow | undefined
    const head = rows.getCommit(this.db, repo.id, rows.getBranch(this.db, repo.id, name)!.head)!
    if (head.id !== opts.id) {
      newAuto = this.autoCommit(repo, name, head, opts.id)
      rows.setBranchHead(this.db, repo.id, name, newAuto.id)
    }
    for (const p of prov) {
      const pb = rows.getBranch(this.db, p.repo.id, p.branch)!
      rows.insertCommitProvenance(this.db, {repo_id: repo.id, commit_id: opts.id, prov_repo_id: p.repo.id, prov_commit_id: pb.head})
    }
    return newAuto
  }

  /** Store a branch's trigger and evaluate it at once against its source's current head. */
  private setTrigger(repo: RepoRow, name: string, trigger: Trigger): void {
    rows.setBranchTrigger(this.db, repo.id, name, JSON.stringify(trigger))
    const src = rows.getBranch(this.db, repo.id, trigger.branch)!
    const head = rows.getCommit(this.db, repo.id, src.head)
    if (head?.finished && !head.error && !trigger.cron_spec) this.fireTriggers(repo, trigger.branch, head, new Set([trigger.branch]))
  }

  /** A branch with a fresh empty, finished AUTO head (Pachyderm's makeEmptyCommit). */
  createEmptyBranch(repo: RepoRow, name: string): BranchRow {
    const c = this.emptyCommit(repo, name, this.ctx.newId())
    rows.insertBranch(this.db, {repo_id: repo.id, name, head: c.id, created: this.ctx.now()})
    return rows.getBranch(this.db, repo.id, name)!
  }

  private emptyCommit(repo: RepoRow, branch: string, id: string): CommitRow {
    return this.insertCommit(repo, branch, id, {origin: 'AUTO', finished: true})
  }

  deleteBranch(repo: RepoRow, name: string, force: boolean): void {
    const b = this.resolve.branch(repo, name)
    const subs = rows.branchSubvenance(this.db, repo.id, b.name)
    if (subs.length > 0 && !force) {
      const names = subs.map((s) => `${repoLabel(rows.getRepoById(this.db, s.repo_id)!)}@${s.branch}`)
      throw new ConflictError('BRANCH_HAS_DEPENDENTS', `branch ${repoLabel(repo)}@${name} is provenance of ${names.join(', ')}`, {
        hint: 'delete those first, or pass --force',
      })
    }
    rows.deleteBranchSubvenance(this.db, repo.id, name)
    rows.deleteBranchRow(this.db, repo.id, name)
  }

  // ---------- squash / drop ----------

  /** Commits outside `set` whose provenance includes a commit in `set`. */
  private subvenantOutside(set: {repo: RepoRow; commit: CommitRow}[]): {repo: number; id: string}[] {
    const inSet = new Set(set.map((s) => `${s.repo.id}:${s.commit.id}`))
    const out: {repo: number; id: string}[] = []
    for (const s of set) {
      for (const sub of rows.commitSubvenance(this.db, s.repo.id, s.commit.id)) {
        if (!inSet.has(`${sub.repo_id}:${sub.commit_id}`)) out.push({repo: sub.repo_id, id: sub.commit_id})
      }
    }
    return out
  }

  squash(set: {repo: RepoRow; commit: CommitRow}[], isSpecCommit: (r: RepoRow, c: CommitRow) => boolean): void {
    for (const {repo, commit} of set) {
      if (isSpecCommit(repo, commit)) {
        throw new ConflictError('SPEC_COMMIT', `cannot squash commit ${commit.id} because it updated a pipeline`, {data: {commit: commit.id}})
      }
      const kids = rows.childCommits(this.db, repo.id, commit.id)
      if (kids.length === 0) {
        throw new ConflictError('NO_CHILDREN', `cannot squash a commit that has no children as that would cause data loss, use the drop operation instead (${repoLabel(repo)}@${commit.id})`, {
          hint: `drop it with \`pach delete commit ${commit.id}\``,
        })
      }
      const open = kids.find((k) => !k.finished)
      if (open) throw new ConflictError('CHILD_NOT_FINISHED', `cannot squash commit ${commit.id}: its child ${open.id} is not finished`)
    }
    const outside = this.subvenantOutside(set)
    if (outside.length > 0) {
      throw new ConflictError('HAS_SUBVENANT_SETS', `commit set ${set[0]!.commit.id} cannot be squashed because it has subvenant commit sets (${[...new Set(outside.map((o) => o.id))].join(', ')})`)
    }
    for (const {repo, commit} of set) {
      rows.reparentCommits(this.db, repo.id, commit.id, commit.parent)
      this.moveHeadsOff(repo, commit)
      this.removeCommit(repo, commit)
    }
  }

  drop(set: {repo: RepoRow; commit: CommitRow}[]): void {
    for (const {repo, commit} of set) {
      if (rows.childCommits(this.db, repo.id, commit.id).length > 0) {
        throw new ConflictError('HAS_CHILDREN', `cannot drop a commit that has children (${repoLabel(repo)}@${commit.id})`, {
          hint: 'drop the newer commits first, or squash this one',
        })
      }
    }
    const outside = this.subvenantOutside(set)
    if (outside.length > 0) {
      throw new ConflictError('HAS_SUBVENANT_SETS', `commit set ${set[0]!.commit.id} cannot be dropped because it has subvenant commit sets (${[...new Set(outside.map((o) => o.id))].join(', ')})`)
    }
    for (const {repo, commit} of set) {
      this.moveHeadsOff(repo, commit)
      this.removeCommit(repo, commit)
    }
  }

  /**
   * Branches whose head is `commit` move to its parent or, for a root commit, all to one new
   * empty finished commit (Pachyderm's deleteCommit).
   */
  private moveHeadsOff(repo: RepoRow, commit: CommitRow): void {
    const heads = rows.branchesWithHead(this.db, repo.id, commit.id)
    if (heads.length === 0) return
    const to = commit.parent ?? this.emptyCommit(repo, heads[0]!.name, this.ctx.newId()).id
    for (const b of heads) rows.setBranchHead(this.db, repo.id, b.name, to)
  }

  private removeCommit(repo: RepoRow, commit: CommitRow): void {
    rows.deleteCommitSubvenance(this.db, repo.id, commit.id)
    rows.deleteCommitRow(this.db, repo.id, commit.id)
    rows.deleteCommitSetIfEmpty(this.db, commit.id)
  }
}
