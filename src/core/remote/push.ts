/**
 * `pach push`: send local commits to a remote pachd, as diffs, keeping commit sets and
 * descriptions (promote.md §1.7–1.8). Three steps:
 * 1. survey (effectful, read-only): what the remote holds of the selected repos and of the
 *    commits an interrupted push left `started`;
 * 2. plan (pure, push-plan.ts): what to send, what to refuse, what to resume;
 * 3. apply (effectful): through a PushTarget (target.ts), never a gRPC client directly.
 *
 * The protocol of one local commit set: a BatchTransaction of start_commits (one per repo of
 * the set; the explicit remote parent makes --force exact) → rows `started` → per repo one
 * ModifyFile stream with the commit's change only (delete then add for a changed file, raw
 * chunks of ≤ 2 MiB; delete of the exact path for a removed file) → FinishCommit →
 * InspectCommit(wait) and its `error` checked → rows `finished` → the local id stamped into
 * the remote commit's metadata when the remote has the metadata service.
 *
 * Invariants:
 * - a mapping row is `finished` only after the remote commit finished without error; until
 *   then `started` (a resumed push drops and redoes it, or adopts it when the remote
 *   finished it with the local content);
 * - database writes are short synchronous transactions between awaits, never across one;
 * - nothing is sent when the plan refuses anything (a push is all or nothing per plan), and
 *   a dry run only surveys and plans.
 */
import type {CoreContext} from '../context.js'
import {withTx} from '../db/open.js'
import {putRemoteBranch, putRemoteCommit, touchRemote, upsertRemote} from '../db/remotes.js'
import {CancelledError, ConflictError, InternalError, PachError} from '../errors.js'
import type {PfsHooks} from '../pfs/hooks.js'
import type {Resolver} from '../pfs/resolve.js'
import {planPush, type BranchSummary, type LocalHistory, type PushPlan, type RemoteFacts} from './push-plan.js'
import {PushSource, type LocalChange, type PushSelection} from './push-local.js'
import type {PushTarget, RemoteCommitState, RemoteFileOp, RemoteRepoName} from './target.js'
import type {ImageResult, Promotion} from './pipelines.js'

export {planPush} from './push-plan.js'
export type {PushSelection} from './push-local.js'

const INTERRUPTED = 'push interrupted; the commits already sent stay on the remote'

/** pachctl's upload message size: a file's bytes go in add_file messages of at most this. */
export const PUSH_CHUNK = 2 * 1024 * 1024

/** Files of one message each are read in batches of at most this many files and bytes. */
const BATCH_FILES = 1024
const BATCH_BYTES = 8 * 1024 * 1024

/** Changes measured before a push that are kept for sending, at most (see PushService.measure). */
const KEPT_CHANGES = 250_000

export interface PushProgress {
  commits: number
  files: number
  bytes: number
  total: {commits: number; files: number; bytes: number}
}

export interface PushOptions {
  selection: PushSelection
  /** the local project the repos are in */
  project: string
  /** the remote project they go to */
  remoteProject: string
  /** how the remote is named (a pachctl context or an address) and reached, recorded in `remotes` */
  remoteName: string
  address: string
  force?: boolean
  /** `--outputs`: push local pipeline outputs too, as plain data (push-plan.ts) */
  outputs?: boolean
  dryRun?: boolean
  signal?: AbortSignal
  onProgress?: (p: PushProgress) => void
  /**
   * `--pipelines`: prepares the promotion of the pipelines that read the pushed repos
   * (pipelines.ts). Its images are resolved and its specs tried on the remote before any data
   * moves; the pipelines are created or updated after the data, so their first job runs on
   * the pushed heads.
   */
  pipelines?: (pushedRepos: string[]) => Promise<Promotion>
}

/** What `--pipelines` did (or, with --dry-run, would do). */
export interface PushedPipelines {
  /** promoted pipelines, upstream first */
  planned: string[]
  /** local pipelines left out, and why */
  skipped: {name: string; reason: string}[]
  created: string[]
  updated: string[]
  unchanged: string[]
  images: ImageResult[]
  /** with --dry-run: the specs were tried on the cluster (false when its project does not exist yet) */
  validated: boolean
}

export interface PushResult {
  remote: string
  deployment_id: string
  dry_run: boolean
  /** commits sent (planned, with --dry-run) */
  commits: number
  files: number
  bytes_sent: number
  /** content of the sent commits that was not sent: inherited from their remote parent, or already there (resumed) */
  bytes_skipped: number
  /** commits an interrupted push had finished on the remote, adopted without sending */
  resumed: number
  /** whether `pach.local_commit_id` was stamped on the remote commits (remote has the metadata service) */
  metadata: boolean
  branches: BranchSummary[]
  /** the local commit sets sent (to send, with --dry-run), in order: one remote commit set each */
  sets: PushedSet[]
  /** with --pipelines */
  pipelines?: PushedPipelines
}

export interface PushedSet {
  /** the local commit set id (pachd mints the remote one) */
  local_id: string
  commits: {repo: string; branch: string; description: string; files: number; bytes: number}[]
}

export class PushService {
  private readonly source: PushSource
  /** changes measure() walked, by `repoId:commit`, for apply to send without walking them again */
  private readonly kept = new Map<string, LocalChange[]>()

  constructor(
    readonly ctx: CoreContext,
    resolve: Resolver,
    hooks: () => PfsHooks,
  ) {
    this.source = new PushSource(ctx, resolve, hooks)
  }

  /**
   * Push the selection to `target`. Throws NON_FAST_FORWARD / OUTPUT_BRANCH /
   * REPO_OWNED_BY_PIPELINE when the plan refuses a branch (nothing is sent), REMOTE_FAILED when
   * the remote refuses a request or the content of a commit, CANCELLED when `signal` aborts
   * (the next push resumes).
   * @example await pach.push.push(target, {selection: {all: true}, project: 'default', remoteProject: 'default', remoteName: 'prod', address})
   */
  async push(target: PushTarget, opts: PushOptions): Promise<PushResult> {
    const history = this.source.history(opts.project, opts.selection)
    for (const b of history.branches) {
      if (!b.openHead) continue
      const name = history.repos.find((r) => r.id === b.repoId)!.name
      this.ctx.reporter.warn(`${name}@${b.name}: its head commit is open and stays local (finish it to push it)`)
    }
    const mapping = this.source.mapping(target.deploymentId, history.repos.map((r) => r.id), opts.remoteProject)
    const facts = await this.survey(target, history.repos, mapping, opts.remoteProject)
    const plan = planPush(history, mapping, facts, {force: opts.force, outputs: opts.outputs, remoteProject: opts.remoteProject})
    if (plan.refusals.length > 0) throw refusalError(plan)
    const totals = this.measure(plan)
    const result: PushResult = {
      remote: opts.remoteName,
      deployment_id: target.deploymentId,
      dry_run: Boolean(opts.dryRun),
      commits: totals.commits,
      files: totals.files,
      bytes_sent: opts.dryRun ? totals.bytes : 0,
      bytes_skipped: totals.inherited + plan.adopt.reduce((n, a) => n + sizeOf(history, a.repoId, a.local), 0),
      resumed: plan.adopt.length,
      metadata: false,
      branches: plan.branches,
      sets: totals.sets,
    }
    const promotion = opts.pipelines && (await this.preparePipelines(target, history, opts, result))
    if (opts.dryRun) {
      this.kept.clear()
      return result
    }
    try {
      await this.apply(target, history, plan, opts, totals, result)
      if (promotion) {
        const done = await promotion.apply()
        Object.assign(result.pipelines!, {created: done.created, updated: done.updated, unchanged: done.unchanged, images: done.images})
      }
    } catch (e) {
      // whatever the interrupted call failed with, the cause is the interruption
      if (opts.signal?.aborted) throw new CancelledError(INTERRUPTED, {hint: 'run the same push again to resume it'})
      throw e
    } finally {
      this.kept.clear()
    }
    return result
  }

  /**
   * `--pipelines` before any data moves: plan the promotion, resolve its images and try its
   * specs on the remote (in the remote project, which is created for that: an empty project
   * is a namespace, and pachd cannot create one inside the trial transaction). A dry run
   * creates nothing: it tries the specs only when the project is already there.
   */
  private async preparePipelines(target: PushTarget, history: LocalHistory, opts: PushOptions, result: PushResult): Promise<Promotion> {
    const promotion = await opts.pipelines!(history.repos.map((r) => r.name))
    const planned = promotion.plan.pipelines.map((p) => p.name)
    result.pipelines = {planned, skipped: promotion.plan.skipped, created: [], updated: [], unchanged: [], images: [], validated: false}
    if (planned.length === 0) return promotion
    if (opts.dryRun) {
      const images = await promotion.images()
      result.pipelines.images = images.map(({pipeline, plan}) => ({
        pipeline,
        image: plan.image,
        sent: plan.kind === 'pinned' ? plan.pinned : plan.kind === 'push' ? `${plan.repository}@sha256:… (once ${plan.target} is pushed)` : plan.image,
        pushed: false,
      }))
      if (await target.projectExists(opts.remoteProject)) {
        await promotion.validate()
        result.pipelines.validated = true
      }
      return promotion
    }
    await target.ensureProject(opts.remoteProject)
    await promotion.validate()
    result.pipelines.validated = true
    return promotion
  }

  /** What the remote holds of the repos, and the state of every `started` remote commit. */
  private async survey(target: PushTarget, repos: {id: number; name: string}[], mapping: Map<number, Map<string, {remoteCommit: string; state: string}>>, project: string): Promise<RemoteFacts> {
    const facts: RemoteFacts = {repos: new Map(), started: new Map()}
    for (const r of repos) {
      const remote = {project, name: r.name}
      facts.repos.set(r.id, await target.inspectRepo(remote))
      for (const [local, row] of mapping.get(r.id) ?? []) {
        if (row.state !== 'started') continue
        const st: RemoteCommitState = facts.repos.get(r.id)!.exists ? await target.inspectCommit(remote, row.remoteCommit) : {state: 'missing', size: 0, error: '', branch: ''}
        facts.started.set(`${r.id}:${local}`, st)
      }
    }
    return facts
  }

  /**
   * Commits, files and bytes the plan sends (per commit, in order), and the bytes its commits
   * inherit instead. The changes walked here are kept for apply while they number at most
   * KEPT_CHANGES in all (a tree diff of 100,000 files is a tenth of a push's CPU, and it is
   * walked before any byte is sent); beyond that apply walks them again.
   */
  private measure(plan: PushPlan): {commits: number; files: number; bytes: number; inherited: number; sets: PushedSet[]} {
    const t = {commits: 0, files: 0, bytes: 0, inherited: 0, sets: [] as PushedSet[]}
    this.kept.clear()
    let kept = 0
    for (const s of plan.sets) {
      const set: PushedSet = {local_id: s.localId, commits: []}
      for (const c of s.commits) {
        let files = 0
        let bytes = 0
        const list: LocalChange[] | undefined = kept < KEPT_CHANGES ? [] : undefined
        for (const ch of this.source.changes(c.repoId, c.local.id)) {
          files++
          if (ch.kind === 'put') bytes += ch.entry.size
          list?.push(ch)
        }
        kept += files
        if (list && kept <= KEPT_CHANGES) this.kept.set(`${c.repoId}:${c.local.id}`, list)
        set.commits.push({repo: c.remote.name, branch: c.branch, description: c.local.description, files, bytes})
        t.commits++
        t.files += files
        t.bytes += bytes
        t.inherited += Math.max(0, c.local.size - bytes)
      }
      t.sets.push(set)
    }
    return t
  }

  private async apply(target: PushTarget, history: LocalHistory, plan: PushPlan, opts: PushOptions, totals: {commits: number; files: number; bytes: number}, result: PushResult): Promise<void> {
    const db = this.ctx.db
    const dep = target.deploymentId
    const signal = opts.signal
    const check = () => {
      if (signal?.aborted) throw new CancelledError(INTERRUPTED, {hint: 'run the same push again to resume it'})
    }
    withTx(db, () => upsertRemote(db, {deployment_id: dep, name: opts.remoteName, address: opts.address}))
    const progress: PushProgress = {commits: 0, files: 0, bytes: 0, total: {commits: totals.commits, files: totals.files, bytes: totals.bytes}}
    const report = () => opts.onProgress?.({...progress, total: progress.total})
    report()

    const projects = new Set(plan.repos.map((r) => r.remote.project))
    for (const p of projects) await target.ensureProject(p)
    for (const r of plan.repos) if (!r.exists) await target.ensureRepo(r.remote, r.description)
    for (const id of plan.drops) await target.dropCommitSet(id)
    const now = this.ctx.now
    const names = new Map(history.repos.map((r) => [r.id, r.name]))
    const remoteOf = new Map<string, string>()
    const live = [...names.keys()].filter((id) => plan.repos.find((r) => r.repoId === id)?.exists !== false)
    for (const [repoId, m] of this.source.mapping(dep, live, opts.remoteProject)) {
      for (const [local, row] of m) if (row.state === 'finished') remoteOf.set(`${repoId}:${local}`, row.remoteCommit)
    }
    const rowOf = (repoId: number, local: string, remote: RemoteRepoName, commit: string, state: 'started' | 'finished') => ({
      deployment_id: dep, repo_id: repoId, local_commit: local, remote_project: remote.project, remote_repo: remote.name, remote_commit: commit, state, updated: now(),
    })
    withTx(db, () => {
      for (const a of plan.adopt) {
        putRemoteCommit(db, rowOf(a.repoId, a.local, {project: opts.remoteProject, name: names.get(a.repoId)!}, a.remote, 'finished'))
        remoteOf.set(`${a.repoId}:${a.local}`, a.remote)
      }
    })

    const remoteParent = (repoId: number, local: string): string => {
      const id = remoteOf.get(`${repoId}:${local}`)
      // the planner sends parents first, so a missing one is a planner bug, not a user error
      if (!id) throw new InternalError(`push: the remote id of parent commit ${local} is unknown when its child starts`)
      return id
    }
    let metadata = true
    for (const set of plan.sets) {
      check()
      const starts = set.commits.map((c) => ({
        repo: c.remote,
        branch: c.branch,
        parent: c.parent ? remoteParent(c.repoId, c.parent) : null,
        description: c.local.description,
      }))
      const setId = await target.startCommits(starts)
      withTx(db, () => {
        for (const c of set.commits) putRemoteCommit(db, rowOf(c.repoId, c.local.id, c.remote, setId, 'started'))
      })
      for (const c of set.commits) {
        const what = `${c.remote.name}@${c.local.id}`
        const self = this
        async function* ops(): AsyncGenerator<RemoteFileOp> {
          if (c.clearInherited) for await (const path of target.listFilePaths(c.remote, setId)) yield {kind: 'delete', path}
          const sent = (n: number) => {
            progress.bytes += n
            result.bytes_sent += n
          }
          // files of one message are read a batch at a time (PushSource.readBatch: one read per
          // run of adjacent blobs); a larger file is streamed, after the batch before it
          let batch: LocalChange[] = []
          let batchBytes = 0
          function* flush(): Generator<RemoteFileOp> {
            const puts = batch.filter((ch): ch is Extract<LocalChange, {kind: 'put'}> => ch.kind === 'put')
            const bytes = self.source.readBatch(
              puts.map((ch) => ch.entry),
              (i) => `file ${puts[i]!.path} in ${what}`,
            )
            let i = 0
            for (const ch of batch) {
              check()
              // add_file appends: a replaced file is deleted first; a new one needs no delete
              // (its remote parent holds the local parent's content, which has no file there);
              // an empty file is one add_file with no bytes
              if (ch.kind === 'delete' || ch.replaces) yield {kind: 'delete', path: ch.path}
              if (ch.kind === 'put') {
                const data = bytes[i++]!
                yield {kind: 'add', path: ch.path, data}
                sent(data.length)
              }
              progress.files++
              report()
            }
            batch = []
            batchBytes = 0
          }
          const changes = self.kept.get(`${c.repoId}:${c.local.id}`) ?? self.source.changes(c.repoId, c.local.id)
          self.kept.delete(`${c.repoId}:${c.local.id}`)
          for (const ch of changes) {
            check()
            if (ch.kind === 'delete' || ch.entry.size <= PUSH_CHUNK) {
              batch.push(ch)
              batchBytes += ch.kind === 'put' ? ch.entry.size : 0
              if (batch.length >= BATCH_FILES || batchBytes >= BATCH_BYTES) yield* flush()
              continue
            }
            yield* flush()
            if (ch.replaces) yield {kind: 'delete', path: ch.path}
            for await (const buf of chunked(self.source.read(ch.entry, `file ${ch.path} in ${what}`), PUSH_CHUNK)) {
              check()
              yield {kind: 'add', path: ch.path, data: buf}
              sent(buf.length)
              report()
            }
            progress.files++
            report()
          }
          yield* flush()
        }
        await target.writeFiles(c.remote, setId, ops(), signal)
        check()
        await target.finishCommit(c.remote, setId, {error: c.local.error || undefined})
        const st = await target.waitCommit(c.remote, setId)
        if (st.error && st.error !== c.local.error) {
          throw new PachError('REMOTE_FAILED', `the remote refused the content of ${c.remote.project}/${c.remote.name}@${setId} (local commit ${c.local.id}): ${st.error}`, {
            hint: 'fix the content locally (pachd forbids a file and a directory at one path) and push again',
            data: {repo: c.remote.name, commit: setId, local_commit: c.local.id},
          })
        }
        withTx(db, () => putRemoteCommit(db, rowOf(c.repoId, c.local.id, c.remote, setId, 'finished')))
        remoteOf.set(`${c.repoId}:${c.local.id}`, setId)
        if (metadata) metadata = await target.stampLocalId(c.remote, setId, c.local.id)
        progress.commits++
        report()
      }
    }
    result.metadata = metadata && plan.sets.length > 0

    for (const m of plan.moves) {
      check()
      const head = remoteOf.get(`${m.repoId}:${m.head}`)
      if (head) await target.moveBranch(m.remote, m.branch, head)
    }
    withTx(db, () => {
      for (const b of history.branches) {
        const status = plan.branches.find((x) => x.repo === names.get(b.repoId) && x.branch === b.name)?.status
        if (status === 'refused' || status === 'skipped' || b.chain.length === 0) continue
        putRemoteBranch(db, {repo_id: b.repoId, branch: b.name, deployment_id: dep, remote_project: opts.remoteProject, remote_repo: names.get(b.repoId)!, remote_branch: b.name})
      }
      touchRemote(db, dep, 'last_push', now())
    })
  }
}

/** One error for a refused plan: the first refusal's words, the others counted and listed in data. */
function refusalError(plan: PushPlan): PachError {
  const [first, ...rest] = plan.refusals
  const more = rest.length ? ` (and ${rest.length} more refused branch${rest.length === 1 ? '' : 'es'})` : ''
  const data = {refusals: plan.refusals.map((r) => ({code: r.code, repo: r.repo, branch: r.branch, message: r.message}))}
  return new ConflictError(first!.code, `${first!.message}${more}; nothing was pushed`, {hint: first!.hint, data})
}

function sizeOf(history: {branches: {repoId: number; chain: {id: string; size: number}[]}[]}, repoId: number, id: string): number {
  for (const b of history.branches) if (b.repoId === repoId) for (const c of b.chain) if (c.id === id) return c.size
  return 0
}

/** A byte stream re-cut into pieces of at most `max` bytes. */
async function* chunked(stream: NodeJS.ReadableStream, max: number): AsyncGenerator<Uint8Array> {
  for await (const part of stream as AsyncIterable<Buffer>) {
    for (let i = 0; i < part.length; i += max) yield part.subarray(i, Math.min(part.length, i + max))
  }
}
