/**
 * Job lifecycle: the only writer of job states (db/jobs.ts lists the states and their
 * transitions). Every way a job starts, moves or ends goes through here:
 *
 *   create     a new AUTO commit on a pipeline's output branch is a new job (JOB_CREATED),
 *              inside the PFS transaction that made the commit (PfsHooks.onAutoCommit);
 *   lease      a process takes a runnable job (JOB_STARTING) in one UPDATE, so no job runs
 *              twice at once; `recoverStale` gives back jobs whose holder on this host died
 *              (restart + 1), `release` those whose holder was interrupted (Ctrl-C);
 *   advance    JOB_RUNNING when its datums start, JOB_FINISHING when they are done;
 *   finish     a terminal state — success, failure, killed, unrunnable — and with it the
 *              job's output and meta commits, finished through PfsEngine.finishCommit like
 *              any commit (commit set `modified` updated, branch triggers fired when the
 *              commit has no error). A job that ran also stores its output tree, meta tree,
 *              datum rows and datum set (a delta against its base job's when small), in the
 *              same transaction.
 *
 * Invariants: a terminal job never changes again (finish on one is a no-op, so a job killed
 * while it ran keeps JOB_KILLED); a terminal job's output and meta commits are finished;
 * their error is the job's reason (or its state when there is none) unless it succeeded.
 */
import {parseStored} from '../db/json.js'
import {hostname} from 'node:os'
import type {CoreContext} from '../context.js'
import type {DatumSet} from '../db/datums.js'
import * as datumRows from '../db/datums.js'
import type {DatumRow} from '../db/datums.js'
import * as jobRows from '../db/jobs.js'
import type {JobKey, JobProgress, JobRow} from '../db/jobs.js'
import {withTx} from '../db/open.js'
import * as pipelineRows from '../db/pipelines.js'
import * as rows from '../db/pfs-rows.js'
import type {CommitRow, RepoRow} from '../db/pfs-rows.js'
import type {PfsEngine} from '../pfs/engine.js'
import type {TreeOp} from '../store/tree-store.js'
import {pidAlive} from '../process.js'
import type {JobState} from '../types.js'
import {jobWorkDir} from './job-logs.js'
import {pipelineKind, type PipelineSpec} from './spec/index.js'
import {removeLater} from './workspace.js'

/** What a job that ran leaves behind. */
export interface JobResult {
  /** the output commit's root */
  output: Buffer | null
  /** the meta commit's root (per datum /meta/<id>/meta and /meta/<id>/logs) */
  meta: Buffer | null
  /** write the rows of the datums it ran (called inside the finishing transaction) */
  writeRows: () => void
  /** its datum set (the tree's nodes are stored; the finish records its root) */
  set: DatumSet
  counts: {data_processed: number; data_failed: number; data_recovered: number; stats: string}
}

export interface JobEnding {
  state: Extract<JobState, 'JOB_SUCCESS' | 'JOB_FAILURE' | 'JOB_KILLED' | 'JOB_UNRUNNABLE'>
  reason: string
  /** only for a job that ran to the end */
  result?: JobResult
}

export type Readiness = {state: 'run'} | {state: 'wait'} | {state: 'unrunnable' | 'gone'; reason: string}

export class JobLifecycle {
  constructor(
    private readonly ctx: CoreContext,
    private readonly engine: PfsEngine,
  ) {}

  private get db() {
    return this.ctx.db
  }

  /** A new AUTO commit on `repo@branch`: a job when that is a running pipeline's output branch. */
  create(repo: RepoRow, branch: string, commit: CommitRow): void {
    if (repo.type !== 'user') return
    const p = pipelineRows.getPipeline(this.db, repo.project, repo.name)
    if (!p || p.stopped) return
    if (parseStored<PipelineSpec>(p.spec, `pipeline ${p.name} spec`).output_branch !== branch) return
    const k = {project: p.project, pipeline: p.name, id: commit.id}
    if (jobRows.getJob(this.db, k)) return
    jobRows.insertJob(this.db, k, p.version, this.ctx.now())
  }

  /**
   * Jobs waiting to run, oldest first (of these pipelines only, when given). A service's jobs
   * are not among them: its supervisor takes them (continuous.ts), a job runner never does.
   */
  pending(pipelines?: string[]): JobRow[] {
    const list = jobRows.listCreatedJobs(this.db).filter((j) => !this.isService(j.project, j.pipeline))
    return pipelines ? list.filter((j) => pipelines.includes(j.pipeline)) : list
  }

  /** Jobs of a service waiting for its supervisor, oldest first. */
  pendingServiceJobs(project: string, pipeline: string): JobRow[] {
    return jobRows.listCreatedJobs(this.db).filter((j) => j.project === project && j.pipeline === pipeline)
  }

  private isService(project: string, pipeline: string): boolean {
    const p = pipelineRows.getPipeline(this.db, project, pipeline)
    return p !== undefined && pipelineKind(parseStored<PipelineSpec>(p.spec, `pipeline ${p.name} spec`)) === 'service'
  }

  /** Whether a pending job can start now, must wait (inputs unfinished, an earlier job pending), or can never run. */
  readiness(j: JobRow): Readiness {
    const out = rows.getRepo(this.db, j.project, j.pipeline, 'user')
    const commit = out ? rows.getCommit(this.db, out.id, j.id) : undefined
    if (!out || !commit) return {state: 'gone', reason: 'output commit removed'}
    if (jobRows.hasUnfinishedJobBefore(this.db, j.project, j.pipeline, j.seq)) return {state: 'wait'}
    const failed: string[] = []
    for (const p of rows.commitProvenance(this.db, out.id, j.id)) {
      const c = rows.getCommit(this.db, p.prov_repo_id, p.prov_commit_id)
      if (!c) continue
      if (!c.finished) return {state: 'wait'}
      if (c.error) failed.push(rows.getRepoById(this.db, p.prov_repo_id)!.name)
    }
    if (failed.length) return {state: 'unrunnable', reason: `unrunnable because the following upstream pipelines failed: ${failed.join(', ')}`}
    return {state: 'run'}
  }

  /** Take a pending job for this process (JOB_STARTING); false when another process took it. */
  lease(j: JobKey): boolean {
    return jobRows.leaseJob(this.db, j, {pid: process.pid, host: hostname(), at: this.ctx.now()})
  }

  /** Give back jobs whose lease holder on this host died (crash recovery); their scratch space goes. */
  recoverStale(): number {
    const host = hostname()
    const stale = jobRows
      .listLeasedJobs(this.db)
      .filter((j) => j.lease_host === host && j.lease_pid !== null && j.lease_pid !== process.pid && !pidAlive(j.lease_pid))
    for (const j of stale) {
      jobRows.releaseJob(this.db, j, j.state)
      // the dead run's scratch space: a restart makes its own, and a job that never runs
      // again (its commit deleted, the pipeline stopped) would keep it for ever
      removeLater(jobWorkDir(this.ctx.pachDir, j))
    }
    return stale.length
  }

  /** This process was interrupted: the job goes back to JOB_CREATED for the next `pach run`. */
  release(j: JobKey): void {
    withTx(this.db, () => jobRows.releaseJob(this.db, j))
  }

  /** JOB_RUNNING with what the plan found (a killed job stays killed). */
  running(j: JobKey, progress: JobProgress): void {
    jobRows.advanceJob(this.db, j, 'JOB_RUNNING', progress)
  }

  /**
   * A running job's datum counts so far, so other processes (`pach top`, `inspect job`, the
   * gRPC API) see its progress as pachd shows it. Best effort: a database another process
   * holds does not fail the job (the next report, or the job's end, carries the counts).
   */
  progress(j: JobKey, counts: {data_processed: number; data_failed: number; data_recovered: number}): void {
    try {
      jobRows.setRunningCounts(this.db, j, counts)
    } catch {
      // busy or read-only: the counts are a view, the job's end records them for good
    }
  }

  /** JOB_FINISHING: datums done, outputs being merged and stored. */
  finishing(j: JobKey, counts?: {data_processed: number; data_failed: number; data_recovered: number}): void {
    jobRows.advanceJob(this.db, j, 'JOB_FINISHING', counts)
  }

  /** The job's state as stored now (another process may have killed it). */
  state(j: JobKey): {state: JobState; reason: string} | undefined {
    return jobRows.getJob(this.db, j)
  }

  /** End a job and finish its output and meta commits, in one transaction. False when it had already ended. */
  finish(j: JobKey, end: JobEnding): boolean {
    return withTx(this.db, () => {
      const cur = jobRows.getJob(this.db, j)
      if (!cur || jobRows.isTerminalJobState(cur.state)) return false
      // a service's job that ended because a newer one replaced it succeeded without a result
      const error = end.result || end.state === 'JOB_SUCCESS' ? end.reason : end.reason || end.state
      for (const type of ['user', 'meta'] as const) {
        const repo = rows.getRepo(this.db, j.project, j.pipeline, type)
        const c = repo && rows.getCommit(this.db, repo.id, j.id)
        if (!repo || !c || c.finished) continue
        if (end.result) {
          const tree = type === 'user' ? end.result.output : end.result.meta
          rows.setCommitTree(this.db, repo.id, j.id, tree, this.engine.treeSize(tree))
        }
        this.engine.finishCommit(repo, rows.getCommit(this.db, repo.id, j.id)!, {error})
        // a commit a purge reopened to recompute keeps its times (db/commits.ts keepCommitTimes)
        rows.restoreCommitTimes(this.db, repo.id, j.id)
      }
      if (end.result) {
        end.result.writeRows()
        datumRows.putDatumSet(this.db, j.project, j.pipeline, end.result.set)
      }
      jobRows.endJob(this.db, j, {state: end.state, reason: end.reason, finished: this.ctx.now(), counts: end.result?.counts})
      return true
    })
  }

  /** Kill one job (JOB_KILLED, commits finished with the reason); false when it had already ended. */
  kill(j: JobKey, reason: string): boolean {
    return this.finish(j, {state: 'JOB_KILLED', reason})
  }

  /** Kill every unfinished job of a pipeline; returns how many. */
  killAll(project: string, pipeline: string, reason: string): number {
    return withTx(this.db, () => {
      const ids = jobRows.listUnfinishedJobIds(this.db, project, pipeline)
      for (const id of ids) this.kill({project, pipeline, id}, reason)
      return ids.length
    })
  }
}
