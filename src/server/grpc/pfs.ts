/**
 * pfs_v2.API's metadata methods: projects, repos, commits, commit sets, branches, DeleteAll
 * and Fsck (the file methods are in pfs-files.ts). Each handler translates the request into
 * one call of the core the CLI uses (pach.projects / repos / branches / commits), and the
 * result into pachd's message (convert.ts); errors are the core's, worded as pachd words
 * them (status.ts).
 *
 * Rules every handler keeps:
 * - references take pachd's defaults: an empty project is `default`, an empty repo type is
 *   `user`, a commit id may carry ancestry (`master^1`) with no branch (convert.ts);
 * - transactable requests (CreateRepo, DeleteRepo, StartCommit, FinishCommit, CreateBranch,
 *   DeleteBranch) join the transaction the `pach-transaction` header names, or apply at once
 *   when there is none, even while a CLI user has one active (`scoped`); every other write
 *   applies at once. After a write the daemon is told jobs may be pending.
 * - waits (InspectCommit with `wait`, SubscribeCommit, InspectCommitSet with `wait`) sleep on
 *   the change feed, so a commit made by any process wakes them at once; a client that
 *   cancels ends them (a stream ends, a unary call answers CANCELLED).
 *
 * Where pach differs from pachd (said here once): SquashCommitSet cannot join a transaction
 * (refused with the header); `CreateBranch.new_commit_set` is accepted and changes nothing
 * (every branch change already gets its own commit set in pach); provenance must be in the
 * branch's own project; InspectCommitSet lists the set's own commits (not the earlier
 * commits they were computed from); Fsck checks structure (pach's
 * `fsck --no-read-data`), reports one message per problem and repairs nothing (`fix` and the
 * zombie checks find nothing more to do); ListCommit's `all` is pachd's (every origin, its
 * default anyway), not the CLI's `--all`.
 */
import type {UntypedServiceImplementation} from '@grpc/grpc-js'
import {CancelledError, InvalidArgumentError, isPachError, NotFoundError} from '../../core/errors.js'
import type {CommitWaitState} from '../../core/pfs/commit-service.js'
import {formatCommit, type CommitRef} from '../../core/pfs/refs.js'
import {DEFAULT_PROJECT, isQueued, repoLabel, type CommitInfo, type CommitOrigin, type RepoType} from '../../core/types.js'
import type {CallContext, Handlers} from './call.js'
import {branchInfoPB, branchOf, commitInfoPB, commitOf, commitPB, isoOf, pathOf, projectInfoPB, projectOf, repoInfoPB, repoOf, type CommitMsg, type ProjectMsg, type RepoMsg} from './convert.js'
import type {ServiceDeps} from './deps.js'
import type {ClearCommitRequest__Output} from '../proto/gen/pfs_v2/ClearCommitRequest.js'
import type {CreateBranchRequest__Output} from '../proto/gen/pfs_v2/CreateBranchRequest.js'
import type {CreateProjectRequest__Output} from '../proto/gen/pfs_v2/CreateProjectRequest.js'
import type {CreateRepoRequest__Output} from '../proto/gen/pfs_v2/CreateRepoRequest.js'
import type {DeleteBranchRequest__Output} from '../proto/gen/pfs_v2/DeleteBranchRequest.js'
import type {DeleteProjectRequest__Output} from '../proto/gen/pfs_v2/DeleteProjectRequest.js'
import type {DeleteRepoRequest__Output} from '../proto/gen/pfs_v2/DeleteRepoRequest.js'
import type {DeleteReposRequest__Output} from '../proto/gen/pfs_v2/DeleteReposRequest.js'
import type {DropCommitRequest__Output} from '../proto/gen/pfs_v2/DropCommitRequest.js'
import type {DropCommitSetRequest__Output} from '../proto/gen/pfs_v2/DropCommitSetRequest.js'
import type {FindCommitsRequest__Output} from '../proto/gen/pfs_v2/FindCommitsRequest.js'
import type {FinishCommitRequest__Output} from '../proto/gen/pfs_v2/FinishCommitRequest.js'
import type {InspectBranchRequest__Output} from '../proto/gen/pfs_v2/InspectBranchRequest.js'
import type {InspectCommitRequest__Output} from '../proto/gen/pfs_v2/InspectCommitRequest.js'
import type {InspectCommitSetRequest__Output} from '../proto/gen/pfs_v2/InspectCommitSetRequest.js'
import type {InspectProjectRequest__Output} from '../proto/gen/pfs_v2/InspectProjectRequest.js'
import type {InspectProjectV2Request__Output} from '../proto/gen/pfs_v2/InspectProjectV2Request.js'
import type {InspectRepoRequest__Output} from '../proto/gen/pfs_v2/InspectRepoRequest.js'
import type {ListBranchRequest__Output} from '../proto/gen/pfs_v2/ListBranchRequest.js'
import type {ListCommitRequest__Output} from '../proto/gen/pfs_v2/ListCommitRequest.js'
import type {ListCommitSetRequest__Output} from '../proto/gen/pfs_v2/ListCommitSetRequest.js'
import type {ListRepoRequest__Output} from '../proto/gen/pfs_v2/ListRepoRequest.js'
import type {SquashCommitRequest__Output} from '../proto/gen/pfs_v2/SquashCommitRequest.js'
import type {SquashCommitSetRequest__Output} from '../proto/gen/pfs_v2/SquashCommitSetRequest.js'
import type {StartCommitRequest__Output} from '../proto/gen/pfs_v2/StartCommitRequest.js'
import type {SubscribeCommitRequest__Output} from '../proto/gen/pfs_v2/SubscribeCommitRequest.js'
import type {CommitState__Output} from '../proto/gen/pfs_v2/CommitState.js'
import type {OriginKind__Output} from '../proto/gen/pfs_v2/OriginKind.js'
import {mustBeRoot, mustWrite} from './access.js'

/** The core's wait state for a CommitState; undefined = no wait (STARTED, or none given). */
function waitState(s: CommitState__Output): Exclude<CommitWaitState, 'started'> | undefined {
  if (s === 'READY') return 'ready'
  // pach finishes a commit in one step: FINISHING and FINISHED are reached together
  if (s === 'FINISHING' || s === 'FINISHED') return 'finished'
  return undefined
}

/** An origin filter (`all`, or no kind, = every origin). */
function originOf(all: boolean, kind: OriginKind__Output): CommitOrigin | undefined {
  return all || kind === 'ORIGIN_KIND_UNKNOWN' ? undefined : kind
}

/** A project named in a project method (CreateProject, DeleteProject): required. */
function namedProject(p: ProjectMsg | null | undefined): string {
  if (!p?.name) throw new InvalidArgumentError('MISSING_ARGUMENT', 'no project specified')
  return p.name
}

/** A commit message whose repo is left out (some clients fill only the request's repo). */
function withRepo(c: CommitMsg, repo: RepoMsg | null | undefined): CommitMsg {
  return c.repo?.name || c.branch?.repo?.name ? c : {...c, repo}
}

function commitSetId(cs: {id: string} | null): string {
  if (!cs?.id) throw new InvalidArgumentError('MISSING_ARGUMENT', 'no commit set specified')
  return cs.id
}

export function pfsService(d: ServiceDeps, h: Handlers): UntypedServiceImplementation {
  const pach = d.pach
  const changed = (signal?: AbortSignal) => d.feed.next(signal)

  /** A transactable write: joins the header's transaction, or applies at once. */
  const txWrite = <T>(ctx: CallContext, fn: () => T): T => {
    const r = pach.transactions.scoped(ctx.transaction ?? null, fn)
    d.kick()
    return r
  }
  /** A write no transaction holds: applies at once, whatever transaction a CLI user has active. */
  const write = <T>(fn: () => T): T => {
    const r = pach.transactions.scoped(null, fn)
    d.kick()
    return r
  }
  /** A wait the client may cancel: CANCELLED then, not the abort's own error. */
  const waiting = async <T>(ctx: CallContext, p: () => Promise<T>): Promise<T> => {
    try {
      return await p()
    } catch (e) {
      if (ctx.signal.aborted && !isPachError(e)) throw new CancelledError('the call was cancelled while waiting')
      throw e
    }
  }
  /** The id of the commit a message names (a branch head or ancestry resolved now). */
  const commitIdOf = (c: CommitMsg, repo: RepoMsg | null | undefined): string => {
    const {ref, project} = commitOf(withRepo(c, repo))
    return pach.commits.inspect(project, ref).commit.id
  }
  const isSpec = pach.hooks.isSpecCommit.bind(pach.hooks)

  return {
    // ---------------------------------------------------------------- projects

    CreateProject: h.unary('CreateProject', (req: CreateProjectRequest__Output, ctx) => {
      mustBeRoot(ctx, 'PROJECT_CREATE')
      const name = namedProject(req.project)
      write(() => (req.update ? pach.projects.update(name, req.description) : pach.projects.create(name, req.description)))
      return {}
    }),

    InspectProject: h.unary('InspectProject', (req: InspectProjectRequest__Output) => projectInfoPB(pach.projects.inspect(req.project?.name ?? ''))),

    InspectProjectV2: h.unary('InspectProjectV2', (req: InspectProjectV2Request__Output) => {
      const info = pach.projects.inspect(req.project?.name ?? '')
      const defaults = pach.pipelines.defaults({project: info.project.name})
      return {info: projectInfoPB(info), defaults_json: defaults ? JSON.stringify(defaults) : '{}'}
    }),

    ListProject: h.serverStream('ListProject', function* () {
      for (const p of pach.projects.list()) yield projectInfoPB(p)
    }),

    DeleteProject: h.unary('DeleteProject', (req: DeleteProjectRequest__Output, ctx) => {
      mustBeRoot(ctx, 'PROJECT_DELETE')
      const name = namedProject(req.project)
      write(() => pach.projects.delete(name, req.force))
      return {}
    }),

    // ---------------------------------------------------------------- repos

    CreateRepo: h.unary('CreateRepo', (req: CreateRepoRequest__Output, ctx) => {
      const {ref, project} = repoOf(req.repo)
      mustWrite(ctx, {project, ...ref})
      txWrite(ctx, () => pach.repos.create(project, ref.name, {description: req.description, update: req.update, type: ref.type}))
      return {}
    }),

    // a name no repo can have is NOT_FOUND, as in pachd, which does not validate names on
    // reads (the Python SDK's repo_exists tests the code)
    InspectRepo: h.unary('InspectRepo', (req: InspectRepoRequest__Output) => {
      let r: ReturnType<typeof repoOf>
      try {
        r = repoOf(req.repo)
      } catch (e) {
        if (isPachError(e) && e.code === 'INVALID_NAME' && req.repo?.name) {
          const project = projectOf(req.repo.project)
          throw new NotFoundError('REPO_NOT_FOUND', `repo ${project}/${req.repo.name} not found`, {data: {repo: req.repo.name, project}})
        }
        throw e
      }
      return repoInfoPB(pach.repos.inspect(r.ref, r.project))
    }),

    // `type` "" = every type (the Python SDK's default; pachctl sends "user"); no projects = all
    ListRepo: h.serverStream('ListRepo', function* (req: ListRepoRequest__Output) {
      const projects = new Set(req.projects.map(projectOf))
      let repos = pach.repos.list({type: (req.type || 'all') as RepoType | 'all'}).filter((r) => projects.size === 0 || projects.has(r.repo.project.name))
      const size = Number(req.page?.page_size ?? 0)
      if (size > 0) repos = repos.slice(Number(req.page!.page_index) * size, (Number(req.page!.page_index) + 1) * size)
      for (const r of repos) yield repoInfoPB(r)
    }),

    // a repo that does not exist is not an error: {deleted: false} (clients rely on it)
    DeleteRepo: h.unary('DeleteRepo', (req: DeleteRepoRequest__Output, ctx) => {
      const {ref, project} = repoOf(req.repo)
      mustWrite(ctx, {project, ...ref})
      try {
        txWrite(ctx, () => pach.repos.delete(ref, project, req.force))
      } catch (e) {
        if (isPachError(e) && (e.code === 'REPO_NOT_FOUND' || e.code === 'PROJECT_NOT_FOUND')) return {deleted: false}
        throw e
      }
      return {deleted: true}
    }),

    // `all`: every project's repos; else those of `projects` (none named: nothing, as pachd)
    DeleteRepos: h.unary('DeleteRepos', (req: DeleteReposRequest__Output, ctx) => {
      mustBeRoot(ctx, 'REPO_DELETE')
      if (!req.all && req.projects.length === 0) return {repos: []}
      const repos = write(() => pach.repos.deleteMany({projects: req.all ? undefined : req.projects.map(projectOf), force: req.force}))
      return {repos}
    }),

    // ---------------------------------------------------------------- commits

    // inside a transaction the commit's id is the transaction's (it becomes the commit set's id)
    StartCommit: h.unary('StartCommit', (req: StartCommitRequest__Output, ctx) => {
      const {repo, project, name} = branchOf(req.branch)
      // a spout's token: its own output repo only, and then its output branch too
      const writer = mustWrite(ctx, {project, ...repo})
      const parent = req.parent && (req.parent.id || req.parent.branch?.name) ? commitIdOf(req.parent, req.branch!.repo) : undefined
      const r = txWrite(ctx, () => pach.commits.start(project, {repo, branch: name}, {parent, description: req.description, writer}))
      if (isQueued(r)) {
        const repoPB = {name: repo.name, type: repo.type, project: {name: project}}
        return {repo: repoPB, id: r.id, branch: {repo: repoPB, name}}
      }
      return commitPB(r.commit)
    }),

    FinishCommit: h.unary('FinishCommit', (req: FinishCommitRequest__Output, ctx) => {
      const {ref, project} = commitOf(req.commit)
      mustWrite(ctx, {project, ...ref.repo})
      txWrite(ctx, () => pach.commits.finish(project, ref, {description: req.description || undefined, error: req.error || undefined, force: req.force}))
      return {}
    }),

    // an open commit's writes dropped: its content is its parent's again
    ClearCommit: h.unary('ClearCommit', (req: ClearCommitRequest__Output, ctx) => {
      const {ref, project} = commitOf(req.commit)
      mustWrite(ctx, {project, ...ref.repo})
      write(() => pach.commits.clear(project, ref))
      return {}
    }),

    // `wait`: STARTED (pachctl's `inspect commit`) answers at once; READY, FINISHING and FINISHED block
    InspectCommit: h.unary('InspectCommit', async (req: InspectCommitRequest__Output, ctx) => {
      const {ref, project} = commitOf(req.commit)
      const state = waitState(req.wait)
      if (!state) return commitInfoPB(pach.commits.inspect(project, ref))
      return commitInfoPB(await waiting(ctx, () => pach.commits.wait(project, ref, {state, signal: ctx.signal, changed})))
    }),

    // Without `to`: every commit of the repo, newest first (oldest first with `reverse`). With
    // `to`: its ancestry back to, not including, `from`. `started_time` keeps the commits
    // started before it (after it, with `reverse`); `number` caps the count (0 = all).
    ListCommit: h.serverStream('ListCommit', function* (req: ListCommitRequest__Output) {
      const {ref: repo, project} = repoOf(req.repo)
      if (req.from && !req.to) throw new InvalidArgumentError('USAGE', 'cannot use `from` commit without `to` commit')
      if (req.reverse && (req.from || req.to)) throw new InvalidArgumentError('USAGE', "cannot use 'Reverse' while also using 'From' or 'To'")
      const to: CommitRef = req.to ? commitOf(withRepo(req.to, req.repo)).ref : {repo}
      const fromId = req.from ? commitIdOf(req.from, req.repo) : undefined
      const number = Number(req.number) > 0 ? Number(req.number) : Infinity
      const since = isoOf(req.started_time)
      const keep = (c: CommitInfo) => !since || (req.reverse ? Date.parse(c.started) > Date.parse(since) : Date.parse(c.started) < Date.parse(since))
      // read to the end before sending: a listing holds a read statement open, which must not
      // outlive this tick (the connection could not write meanwhile)
      const out: CommitInfo[] = []
      for (const c of pach.commits.history(project, to, {origin: originOf(req.all, req.origin_kind)})) {
        if (c.commit.id === fromId) break
        if (!keep(c)) continue
        out.push(c)
        if (!req.reverse && out.length >= number) break
      }
      if (req.reverse) out.reverse()
      for (const c of out.slice(0, number)) yield commitInfoPB(c)
    }),

    // Never ends (until the client cancels). `state` says when a commit is sent: STARTED (what
    // pachctl sends; 0 is taken as STARTED) once it exists, READY once its provenance is
    // finished, FINISHED once it is finished. `from` with an id: the commits after it; `from`
    // with only a branch (pachctl's --new): the commits made from now on.
    SubscribeCommit: h.serverStream('SubscribeCommit', async function* (req: SubscribeCommitRequest__Output, ctx) {
      const {ref: repo, project} = repoOf(req.repo)
      const state: CommitWaitState = waitState(req.state) ?? 'started'
      const from = req.from?.id ? commitIdOf(req.from, req.repo) : undefined
      const commits = pach.commits.subscribe(project, {repo, ...(req.branch ? {branch: req.branch} : {})}, {
        from,
        newOnly: !!req.from && !req.from.id,
        origin: originOf(req.all, req.origin_kind),
        state,
        signal: ctx.signal,
        changed,
      })
      for await (const c of commits) yield commitInfoPB(c)
    }),

    // the set's commits in creation order; `wait`: the finished ones at once, then each open one as it finishes
    InspectCommitSet: h.serverStream('InspectCommitSet', async function* (req: InspectCommitSetRequest__Output, ctx) {
      const set = pach.commits.listSet(commitSetId(req.commit_set))
      const open: CommitInfo[] = []
      for (const c of set.commits) {
        if (!req.wait || c.finished) yield commitInfoPB(c)
        else open.push(c)
      }
      for (const c of open) {
        const ref = {repo: {name: c.commit.repo.name, type: c.commit.repo.type}, id: c.commit.id}
        yield commitInfoPB(await waiting(ctx, () => pach.commits.wait(c.commit.repo.project.name, ref, {signal: ctx.signal, changed})))
      }
    }),

    // the commit sets with a commit in `project` (no project: every set), newest first
    ListCommitSet: h.serverStream('ListCommitSet', function* (req: ListCommitSetRequest__Output) {
      const project = req.project ? projectOf(req.project) : undefined
      for (const s of pach.commits.listSets()) {
        if (project && !s.commits.some((c) => c.commit.repo.project.name === project)) continue
        yield {commit_set: s.commit_set, commits: s.commits.map(commitInfoPB)}
      }
    }),

    // pachd can hold it in a transaction; pach's transactions cannot, so with a header it is
    // refused rather than applied at once outside the transaction the caller named
    SquashCommitSet: h.unary('SquashCommitSet', (req: SquashCommitSetRequest__Output, ctx) => {
      mustBeRoot(ctx, 'REPO_DELETE_COMMIT')
      const id = commitSetId(req.commit_set)
      if (ctx.transaction) {
        throw new InvalidArgumentError('INVALID_INPUT', `pach transactions do not hold SquashCommitSet (transaction ${ctx.transaction})`, {
          hint: 'squash the commit set before starting the transaction or after finishing it',
        })
      }
      txWrite(ctx, () => pach.commits.squash(DEFAULT_PROJECT, id, isSpec))
      return {}
    }),

    DropCommitSet: h.unary('DropCommitSet', (req: DropCommitSetRequest__Output, ctx) => {
      mustBeRoot(ctx, 'REPO_DELETE_COMMIT')
      const id = commitSetId(req.commit_set)
      write(() => pach.commits.drop(DEFAULT_PROJECT, id))
      return {}
    }),

    // one commit; `recursive` takes the commits computed from it along
    SquashCommit: h.unary('SquashCommit', (req: SquashCommitRequest__Output, ctx) => {
      const {ref, project} = commitOf(req.commit)
      mustWrite(ctx, {project, ...ref.repo})
      write(() => pach.commits.squash(project, ref, isSpec, {recursive: req.recursive}))
      return {}
    }),

    DropCommit: h.unary('DropCommit', (req: DropCommitRequest__Output, ctx) => {
      const {ref, project} = commitOf(req.commit)
      mustWrite(ctx, {project, ...ref.repo})
      write(() => pach.commits.drop(project, ref, {recursive: req.recursive}))
      return {}
    }),

    // one found_commit per commit that changed the path (newest first), then where the search stopped
    FindCommits: h.serverStream('FindCommits', async function* (req: FindCommitsRequest__Output, ctx) {
      const {ref, project} = commitOf(req.start)
      const found: {found_commit: ReturnType<typeof commitPB>; commits_searched: number}[] = []
      const r = await waiting(ctx, () =>
        pach.commits.find(project, {commit: ref, path: pathOf(req.file_path), hasPath: true}, {
          limit: req.limit,
          signal: ctx.signal,
          onFound: (c, searched) => found.push({found_commit: commitPB(c), commits_searched: searched}),
        }),
      )
      yield* found
      yield {last_searched_commit: commitPB(r.last_searched_commit), commits_searched: r.commits_searched}
    }),

    // ---------------------------------------------------------------- branches

    CreateBranch: h.unary('CreateBranch', (req: CreateBranchRequest__Output, ctx) => {
      const {repo, project, name} = branchOf(req.branch)
      mustWrite(ctx, {project, ...repo})
      const head = req.head ? formatCommit(commitOf(withRepo(req.head, req.branch!.repo)).ref) : undefined
      const label = (b: Parameters<typeof branchOf>[0]) => {
        const x = branchOf(b)
        if (x.project !== project) {
          throw new InvalidArgumentError('INVALID_ADDRESS', `provenance ${x.project}/${repoLabel(x.repo)}@${x.name} is in another project than ${project}/${repoLabel(repo)}@${name}`, {
            hint: 'pach keeps a branch and its provenance in one project',
          })
        }
        return `${repoLabel(x.repo)}@${x.name}`
      }
      const provenance = req.provenance.map(label)
      const never = req.branch_propagation_specs.filter((s) => s.propagation_spec?.never).map((s) => label(s.branch))
      const t = req.trigger
      const trigger = t?.branch
        ? {
            branch: t.branch,
            ...(t.all ? {all: true} : {}),
            ...(t.rate_limit_spec ? {rate_limit_spec: t.rate_limit_spec} : {}),
            ...(t.size ? {size: t.size} : {}),
            ...(Number(t.commits) > 0 ? {commits: Number(t.commits)} : {}),
            ...(t.cron_spec ? {cron_spec: t.cron_spec} : {}),
          }
        : undefined
      txWrite(ctx, () => pach.branches.create(project, repo, name, {head, provenance: provenance.length ? provenance : undefined, never, trigger}))
      return {}
    }),

    InspectBranch: h.unary('InspectBranch', (req: InspectBranchRequest__Output) => {
      const {repo, project, name} = branchOf(req.branch)
      return branchInfoPB(pach.branches.inspect(project, repo, name))
    }),

    // no repo: the branches of every repo
    ListBranch: h.serverStream('ListBranch', function* (req: ListBranchRequest__Output) {
      let branches
      if (req.repo) {
        const {ref, project} = repoOf(req.repo)
        branches = pach.branches.list(project, ref)
      } else {
        branches = pach.repos.list({type: 'all'}).flatMap((r) => pach.branches.list(r.repo.project.name, {name: r.repo.name, type: r.repo.type}))
      }
      if (req.reverse) branches.reverse()
      for (const b of branches) yield branchInfoPB(b)
    }),

    DeleteBranch: h.unary('DeleteBranch', (req: DeleteBranchRequest__Output, ctx) => {
      const {repo, project, name} = branchOf(req.branch)
      mustWrite(ctx, {project, ...repo})
      txWrite(ctx, () => pach.branches.delete(project, repo, name, req.force))
      return {}
    }),

    // ---------------------------------------------------------------- the whole store

    // as pachd: every repo (force; refused while pipelines own repos), every project, then a
    // fresh `default` — in one SQLite transaction, so a refusal leaves everything as it was
    DeleteAll: h.unary('DeleteAll', (_req: unknown, ctx) => {
      mustBeRoot(ctx, 'CLUSTER_DELETE_ALL')
      write(() => pach.deleteAllData())
      return {}
    }),

    // an empty stream when healthy; else one FsckResponse per problem
    Fsck: h.serverStream('Fsck', function* () {
      for (const p of pach.fsck({readData: false}).problems) yield {fix: '', error: p.message}
    }),
  }
}
