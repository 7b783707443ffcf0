/**
 * Jobs: running a pipeline over one commit set, incrementally.
 *
 * A job (pipeline P, id X) exists for every open AUTO commit P@X on the output branch
 * (job-lifecycle.ts creates it). It runs once every input commit it points at is finished,
 * in five steps, each in a module named by its noun:
 *   plan     every datum of the inputs and which must run (job-plan.ts over the pure
 *            planner datum.ts): compared by id and hash with the base job — the nearest
 *            ancestor output commit whose job succeeded;
 *   run      the new or changed datums through a Runner, `parallelism` workers at a time,
 *            each datum in a clean workspace (workspace.ts) with retries, timeouts, err_cmd
 *            and accept_return_code (datum-run.ts), logs captured (job-logs.ts);
 *   collect  each datum's /pfs/out into a per-datum output tree (workspace.ts collect);
 *   merge    the output commit = union of every datum's output (merge.ts); two datums
 *            writing one path fail the job with Pachyderm's message naming both;
 *            with s3_out, what user code wrote to the bucket `out` (s3-job.ts);
 *   finish   output and meta commits, datum rows and the job row in one transaction
 *            (job-lifecycle.ts finish, the only writer of job states).
 * A failed job is never a base; its commits carry the reason as error.
 *
 * Exactly-once: a job is taken with a lease (pid/host) in one UPDATE; a job whose lease
 * holder died is given back by the next `run`, so a killed pach leaves nothing
 * half-committed and nothing runs twice at once. A job left to another process (leased
 * there, or waiting for a job running there) is reported as `job-elsewhere`
 * (job-handoff.ts). A job stopped by another process (`stop job`) is noticed by polling its
 * row, and the run aborts; a datum restarted from another process (`restart datum`) is
 * reached through the job's scratch space (datum-restart.ts), and only that datum's attempt
 * starts again.
 */
import {mkdirSync, rmSync} from 'node:fs'
import {parseStored} from '../db/json.js'
import {join} from 'node:path'
import {ConflictError, RunnerError} from '../errors.js'
import {withTx} from '../db/open.js'
import type {CoreContext} from '../context.js'
import type {DatumEdit, DatumSetEntry} from '../db/datum-tree.js'
import {buildDatumSet, getDatumOutput, type DatumSet} from '../db/datums.js'
import {JobScratch} from '../db/scratch.js'
import type {JobKey, JobRow} from '../db/jobs.js'
import * as jobRows from '../db/jobs.js'
import * as rows from '../db/pfs-rows.js'
import type {CommitRow} from '../db/pfs-rows.js'
import type {PfsEngine} from '../pfs/engine.js'
import type {FileService} from '../pfs/file-service.js'
import type {Entry, TreeOp} from '../store/tree-store.js'
import {bufferContent, contentFromText, contentText} from '../store/content.js'
import type {PackWriter} from '../store/pack-store.js'
import type {DatumInfo, DatumState, JobInfo} from '../types.js'
import {parseDuration} from '../units/duration.js'
import {parseMemory} from '../units/quantity.js'
import type {Datum, DatumInput} from './datum.js'
import {jobEnv as jobEnvOf, runDatum, type DatumOutcome} from './datum-run.js'
import {DatumRestarts, restartDatums, type RestartResult} from './datum-restart.js'
import {HandoffWatch, type JobElsewhere} from './job-handoff.js'
import {driftLine} from './image-drift.js'
import {JobReader} from './job-info.js'
import type {JobLifecycle} from './job-lifecycle.js'
import {DatumLog, jobWorkDir, liveLogDir, readJobLogs, type JobLogLine} from './job-logs.js'
import {JobPlanner, type JobPlan, type RepairPlan} from './job-plan.js'
import {BatchedEdits, mergeAll, mergeIncremental, type DatumOutput, type MergeResult} from './merge.js'
import type {PipelineService} from './pipeline-service.js'
import type {Runner, Worker, WorkerEndpoint} from './runner.js'
import {jobBuckets, s3Env, usesS3, workerEndpoint} from './s3-job.js'
import type {S3Sidecar, S3SidecarHandle} from './s3-sidecar.js'
import type {SecretService} from './secret-service.js'
import {pipelineKind, wantsNetwork, type PipelineSpec} from './spec/index.js'
import {DatumDebugger, type DatumDebugOptions, type DatumDebugResult, type DebugTarget} from './datum-debug.js'
import {addStats, statsPB, zeroStats, type Stats} from './stats.js'
import {WorkerWorkspace, removeLater} from './workspace.js'
import {readContinuousLogs} from './continuous.js'

export type {JobRow} from '../db/jobs.js'

export type JobEvent =
  | {type: 'job-start'; pipeline: string; id: string; total: number; toProcess: number; skipped: number}
  | {type: 'datum-start'; pipeline: string; id: string; datum: string}
  | {type: 'datum-end'; pipeline: string; id: string; datum: string; state: DatumState; reason?: string}
  | {type: 'log'; pipeline: string; id: string; datum: string; stream: 'stdout' | 'stderr'; line: string}
  | {type: 'job-end'; job: JobInfo}
  | JobElsewhere

export interface RunOptions {
  runner: () => Promise<Runner>
  /**
   * The S3 sidecar for jobs whose pipeline has an s3 input or s3_out (s3-job.ts), built when
   * the first such job runs; without it such a job fails, saying so.
   */
  s3?: () => Promise<S3Sidecar>
  signal?: AbortSignal
  onEvent?: (e: JobEvent) => void
  /** only jobs of these pipelines (default: all) */
  pipelines?: string[]
}


/** How often a running job's datum counts are written to its row (pach top, inspect job). */
const PROGRESS_MS = 250

/** What the datums a job ran add up to, as they finish: counts by state, stats, the first failure (in plan order). */
class Tally {
  readonly stats = zeroStats()
  private readonly counts = new Map<DatumState, number>()
  private failed: {idx: number; id: string} | undefined
  unsettled = 0

  add(id: string, idx: number, r: DatumOutcome): void {
    this.counts.set(r.state, (this.counts.get(r.state) ?? 0) + 1)
    addStats(this.stats, r.stats)
    if (r.state !== 'SUCCESS' && r.state !== 'SKIPPED') this.unsettled++
    if (r.state === 'FAILED' && (!this.failed || idx < this.failed.idx)) this.failed = {idx, id}
  }

  count(state: DatumState): number {
    return this.counts.get(state) ?? 0
  }

  /** The job row's counts (processed = succeeded). */
  get jobCounts(): {data_processed: number; data_failed: number; data_recovered: number} {
    return {data_processed: this.count('SUCCESS'), data_failed: this.count('FAILED'), data_recovered: this.count('RECOVERED')}
  }

  firstFailed(): string | undefined {
    return this.failed?.id
  }
}

/** The runner could not be started: not a job failure but the command's error. */
class RunnerUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super('runner unavailable')
  }
}

/** Why a running job must stop: a kill (stop job, job_timeout) or this process being interrupted. */
interface KillWatch {
  signal: AbortSignal
  /** set when the job itself was killed (not when pach was interrupted) */
  killedReason(): string | undefined
  dispose(): void
}

export class JobService {
  private readonly reader: JobReader
  private readonly planner: JobPlanner
  /** jobs left to another pach process, each told once (job-handoff.ts) */
  private readonly handoffs: HandoffWatch
  /**
   * finished input commits by "project/repo/type@id", for the job running now: immutable while
   * it runs, but a purge (refused while a job runs) may rewrite a finished commit's tree
   * between two jobs, so each job starts with an empty cache
   */
  private readonly inputCommits = new Map<string, CommitRow>()

  constructor(
    readonly ctx: CoreContext,
    readonly engine: PfsEngine,
    readonly pipelines: PipelineService,
    readonly files: FileService,
    readonly secrets: SecretService,
    readonly lifecycle: JobLifecycle,
  ) {
    this.reader = new JobReader(ctx, engine, (project, name) => pipelines.must(project, name))
    this.planner = new JobPlanner(ctx, files)
    this.handoffs = new HandoffWatch(ctx.db)
  }

  private get db() {
    return this.ctx.db
  }

  // ------------------------------------------------------------------ reads

  /** Throws PIPELINE_NOT_FOUND or JOB_NOT_FOUND. */
  row(project: string, pipeline: string, id: string): JobRow {
    return this.reader.row(project, pipeline, id)
  }

  inspect(project: string, pipeline: string, id: string): JobInfo {
    return this.reader.info(this.reader.row(project, pipeline, id))
  }

  /** Jobs, newest first: of one pipeline, of one job set (id), or all. */
  list(opts: {project?: string; pipeline?: string; id?: string; number?: number} = {}): JobInfo[] {
    return this.reader.list(opts)
  }

  listDatums(project: string, pipeline: string, id: string): DatumInfo[] {
    return this.reader.listDatums(project, pipeline, id)
  }

  inspectDatum(project: string, pipeline: string, id: string, datumId: string): DatumInfo {
    return this.reader.inspectDatum(project, pipeline, id, datumId)
  }

  /** Datums of a spec that is not created (list datum -f): planned against current heads. */
  previewDatums(spec: PipelineSpec): Datum[] {
    return this.planner.preview(spec)
  }

  /**
   * `previewDatums` as DatumInfos (`list datum -f`, ListDatum with an input): state UNKNOWN,
   * no job id, each input file at the commit it would be read from, zero stats.
   */
  previewDatumInfos(spec: PipelineSpec, pipeline: DatumInfo['datum']['job']['pipeline'] = spec.pipeline): DatumInfo[] {
    return this.previewDatums(spec).map((d) => ({
      datum: {job: {pipeline, id: ''}, id: d.id},
      state: 'UNKNOWN',
      reason: '',
      data: d.inputs.map((i) => ({
        file: {commit: {repo: {name: i.repo, type: i.repo_type, project: {name: i.project}}, id: i.commit}, path: i.path},
        file_type: i.isDir ? 'DIR' : 'FILE',
        committed: null,
        size_bytes: i.size,
        hash: i.hash,
      })),
      stats: {download_time: '0s', process_time: '0s', upload_time: '0s', download_bytes: 0, upload_bytes: 0},
    }))
  }

  /**
   * `pach debug datum`: one datum of a job (or of a spec not created) materialised as its job
   * saw it and its transform run again, or a shell opened, attached to a terminal
   * (datum-debug.ts). Nothing is written to the project.
   */
  debugDatum(target: DebugTarget, opts: DatumDebugOptions): Promise<DatumDebugResult> {
    const sources = {
      jobDatums: (project: string, pipeline: string, id: string) => {
        const j = this.row(project, pipeline, id)
        const {spec, salt, spec_commit} = this.pipelines.specAt(j.project, j.pipeline, j.pipeline_version)
        const out = rows.getRepo(this.db, j.project, j.pipeline, 'user')
        const datums = out && pipelineKind(spec) !== 'spout' && !usesS3(spec) ? this.planner.datumsOf(j, spec, salt, out) : []
        const imageId = parseStored<{image_id?: unknown}>(j.details, `job ${j.pipeline}@${j.id} details`).image_id
        return {spec, datums, specCommit: spec_commit, imageId: typeof imageId === 'string' && imageId ? imageId : undefined}
      },
      previewDatums: (spec: PipelineSpec) => this.planner.preview(spec),
      datumState: (project: string, pipeline: string, id: string, datum: string) => {
        try {
          const d = this.reader.inspectDatum(project, pipeline, id, datum)
          return {state: d.state, reason: d.reason}
        } catch {
          return undefined // the job has not recorded it (not run yet, or killed)
        }
      },
    }
    return new DatumDebugger(this.ctx, this.files, this.secrets, sources).run(target, opts)
  }

  /** Stored logs of a pipeline's jobs (or one job), of one datum or all; a running job's from its live files. */
  logs(project: string, pipeline: string, opts: {job?: string; datum?: string} = {}): JobLogLine[] {
    const meta = rows.getRepo(this.db, project, pipeline, 'meta')
    if (!meta) {
      this.pipelines.must(project, pipeline)
      return []
    }
    const jobs = opts.job ? [this.row(project, pipeline, opts.job)] : jobRows.listJobsOfPipeline(this.db, project, pipeline)
    const lines = readJobLogs(this.ctx, meta, jobs, opts.datum)
    // a spout's or service's code runs outside jobs: its output is in its own log (continuous.ts)
    if (opts.datum) return lines
    const own = readContinuousLogs(this.ctx.pachDir, project, pipeline).filter((l) => !opts.job || l.job === opts.job)
    return own.length ? [...lines, ...own.map((l) => ({...l, datum: ''}))] : lines
  }

  /** The jobs this process reported as left to another pach process (`job-elsewhere`). */
  handedOff(): JobKey[] {
    return this.handoffs.handedOff()
  }

  /** Jobs waiting to run, oldest first. */
  pending(pipelines?: string[]): JobRow[] {
    return this.lifecycle.pending(pipelines)
  }

  /** Block until the job is in a terminal state (`drive` may run jobs meanwhile). Throws TIMEOUT. */
  async wait(project: string, pipeline: string, id: string, opts: {signal?: AbortSignal; timeoutMs?: number; drive?: () => Promise<void>} = {}): Promise<JobInfo> {
    const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : Infinity
    let delay = 20
    for (;;) {
      const j = this.row(project, pipeline, id)
      if (jobRows.isTerminalJobState(j.state)) return this.reader.info(j)
      if (opts.drive) await opts.drive()
      const again = this.row(project, pipeline, id)
      if (jobRows.isTerminalJobState(again.state)) return this.reader.info(again)
      if (Date.now() > deadline) throw new ConflictError('TIMEOUT', `job ${pipeline}@${id} did not finish in time (state ${again.state})`)
      opts.signal?.throwIfAborted()
      await new Promise((r) => setTimeout(r, delay))
      delay = Math.min(delay * 2, 250)
    }
  }

  /** Stop a job: JOB_KILLED; a process running it notices and aborts. */
  stop(project: string, pipeline: string, id: string, reason = 'job stopped'): JobInfo {
    this.row(project, pipeline, id)
    this.lifecycle.kill({project, pipeline, id}, reason)
    return this.inspect(project, pipeline, id)
  }

  /** `restart datum`: the running attempts of the datums matching `filters` start again (datum-restart.ts). */
  restartDatum(project: string, pipeline: string, id: string, filters: string[]): Promise<RestartResult> {
    return restartDatums(this.ctx, () => this.row(project, pipeline, id), filters)
  }

  // ------------------------------------------------------------------ running

  /**
   * Run every runnable pending job (repeatedly: a finished job can make downstream jobs
   * runnable) until none is left. Returns the jobs this call finished.
   */
  async runPending(opts: RunOptions): Promise<JobInfo[]> {
    this.lifecycle.recoverStale()
    const done: JobInfo[] = []
    // the runner starts (docker ping, bubblewrap probe) while the first job plans its datums
    let runner: Promise<Runner> | undefined
    try {
      for (;;) {
        opts.signal?.throwIfAborted()
        let progressed = false
        const pending = this.lifecycle.pending(opts.pipelines)
        this.handoffs.check(pending, opts.onEvent) // jobs left to another pach process say so
        for (const j of pending) {
          const r = this.lifecycle.readiness(j)
          if (r.state === 'wait') continue
          if (r.state === 'gone' || r.state === 'unrunnable') {
            this.lifecycle.finish(j, {state: r.state === 'gone' ? 'JOB_KILLED' : 'JOB_UNRUNNABLE', reason: r.reason})
            done.push(this.ended(j, opts))
            progressed = true
            continue
          }
          if (!this.lifecycle.lease(j)) {
            this.handoffs.lost(j, opts.onEvent)
            continue
          }
          if (!runner) {
            runner = opts.runner()
            runner.catch(() => {}) // awaited by runJob; a failure surfaces there
          }
          done.push(await this.runJob(this.row(j.project, j.pipeline, j.id), runner, opts))
          progressed = true
          break // re-read the pending list: this job may have made others runnable
        }
        if (!progressed) break
      }
    } finally {
      if (runner) await (await runner.catch(() => undefined))?.close?.()
    }
    return done
  }

  /** Run one leased job to a terminal state: plan → run → collect → merge → finish. Never throws for user-code failures. */
  async runJob(j: JobRow, runnerReady: Runner | Promise<Runner>, opts: RunOptions): Promise<JobInfo> {
    const {spec, salt, spec_commit} = this.pipelines.specAt(j.project, j.pipeline, j.pipeline_version)
    const workRoot = jobWorkDir(this.ctx.pachDir, j)
    this.inputCommits.clear()
    const watch = this.watchForKill(j, spec, opts.signal)
    let writer: PackWriter | undefined
    let scratch: JobScratch | undefined
    try {
      // ---- plan
      const out = rows.getRepo(this.db, j.project, j.pipeline, 'user')!
      const planned = this.planner.plan(j, spec, salt, out, rows.getCommit(this.db, out.id, j.id)!)
      const {plan} = planned
      let runner: Runner
      try {
        runner = await runnerReady
      } catch (e) {
        throw new RunnerUnavailable(e)
      }
      const imageId = planned.run.count && runner.imageId ? await runner.imageId(spec.transform.image) : undefined
      if (imageId) this.warnImageMoved(j, spec.transform.image, imageId)
      const details = {...spec, salt, input: spec.input, image_id: imageId ?? null, runner: runner.describe()}
      // the counts start from 0 (a released job that runs again counts afresh)
      this.lifecycle.running(j, {started: this.ctx.now(), data_total: plan.total, data_skipped: plan.skipped, details: JSON.stringify(details), data_processed: 0, data_failed: 0, data_recovered: 0})
      // s3_out: the output is only what user code writes to the bucket `out` (Pachyderm deletes "/" at job start)
      if (spec.s3_out) this.emptyOutput(out.id, j.id)
      opts.onEvent?.({type: 'job-start', pipeline: j.pipeline, id: j.id, total: plan.total, toProcess: planned.run.count, skipped: plan.skipped})

      // ---- run and collect (each outcome goes to the scratch tables as it comes)
      writer = await this.ctx.store.writerWait()
      scratch = new JobScratch(this.db)
      const tally = new Tally()
      const chunker = this.ctx.config.chunker
      // the counts so far reach the job row at most every PROGRESS_MS (one small UPDATE)
      let reported = Date.now()
      const record = async (d: Datum, idx: number, r: DatumOutcome) => {
        tally.add(d.id, idx, r)
        if (Date.now() - reported >= PROGRESS_MS && !watch.signal.aborted) {
          reported = Date.now()
          this.lifecycle.progress(j, tally.jobCounts)
        }
        const logs = await bufferContent(Buffer.from(r.logs), writer!, chunker)
        scratch!.put({
          datum_id: d.id,
          idx,
          hash: d.hash,
          state: r.state,
          reason: r.reason,
          inputs: JSON.stringify(d.inputs),
          stats: JSON.stringify(r.stats),
          output: r.output,
          logs: contentText(logs),
        })
      }
      await this.runDatums(j, spec, spec_commit, planned.run.datums(), runner, writer, watch.signal, workRoot, opts, record)
      if (watch.signal.aborted) {
        await writer.abort()
        writer = undefined
        const killed = watch.killedReason()
        if (!killed && opts.signal?.aborted) {
          // pach itself was interrupted (Ctrl-C): leave the job for the next `pach run`
          this.lifecycle.release(j)
          throw opts.signal.reason
        }
        this.lifecycle.kill(j, killed ?? 'job interrupted')
        return this.ended(j, opts)
      }
      this.lifecycle.finishing(j, tally.jobCounts)

      // ---- merge
      const outcomes = scratch
      const merged = spec.s3_out ? {tree: rows.getCommit(this.db, out.id, j.id)?.tree ?? null, error: ''} : this.merge(j, planned, outcomes)
      const set = this.datumSet(j, planned, outcomes, tally.unsettled)
      const meta = await this.metaTree(j, planned, outcomes, set, imageId, writer)
      await writer.close()
      // the workers are closed and the outputs stored: the scratch space goes before the job
      // is finished, so a pach killed right after the finish leaves no dir behind
      removeLater(workRoot)

      // ---- finish
      const failed = tally.firstFailed()
      this.lifecycle.finish(j, {
        state: failed || merged.error ? 'JOB_FAILURE' : 'JOB_SUCCESS',
        reason: merged.error || (failed ? `datum ${failed} failed` : ''),
        result: {
          output: merged.tree,
          meta,
          writeRows: () => outcomes.insertRows(j.project, j.pipeline, j.id),
          set,
          counts: {...tally.jobCounts, stats: JSON.stringify(tally.stats)},
        },
      })
      writer.release()
      writer = undefined
      // test hook (maintenance/purge.ts): killed between a purge's repairs, one of them finished
      if (planned.repair && this.ctx.env.PACH_PURGE_CRASH === 'mid-recompute') process.kill(process.pid, 'SIGKILL')
      return this.ended(j, opts)
    } catch (e) {
      if (writer) await writer.abort()
      scratch?.drop()
      scratch = undefined
      // no runner (e.g. `--runner docker` without an engine): the command fails, as before
      // any job started; the lease is recovered by the next `pach run`
      if (e instanceof RunnerUnavailable) throw e.cause
      if (opts.signal?.aborted) throw e
      // a broken worker or runner: the job fails with that reason (user-visible, not a crash)
      const code = (e as {code?: string}).code
      const reason =
        code === 'ENOSPC' || code === 'SQLITE_FULL'
          ? `no space left on device while storing the job's output; free some space (\`pach gc\`) and run it again with \`pach rerun pipeline ${j.pipeline}\``
          : ((e as Error).message ?? String(e))
      this.lifecycle.finish(j, {state: 'JOB_FAILURE', reason})
      return this.ended(j, opts)
    } finally {
      scratch?.drop()
      watch.dispose()
    }
  }

  /** The job's end as an event and a JobInfo. */
  private ended(j: JobKey, opts: RunOptions): JobInfo {
    const info = this.inspect(j.project, j.pipeline, j.id)
    opts.onEvent?.({type: 'job-end', job: info})
    return info
  }

  /** Abort on job_timeout, on `stop job` from any process (the row is polled), or when pach is interrupted. */
  private watchForKill(j: JobKey, spec: PipelineSpec, outer: AbortSignal | undefined): KillWatch {
    const abort = new AbortController()
    let killedReason: string | undefined
    const kill = (reason: string) => {
      killedReason = reason
      abort.abort(new Error(reason))
    }
    const onOuterAbort = () => abort.abort(outer?.reason)
    outer?.addEventListener('abort', onOuterAbort)
    const jobTimeout = spec.job_timeout ? parseDuration(spec.job_timeout) : undefined
    const timer = jobTimeout ? setTimeout(() => kill('job timed out'), jobTimeout) : undefined
    const poll = setInterval(() => {
      try {
        const cur = this.lifecycle.state(j)
        if (!cur || cur.state === 'JOB_KILLED') kill(cur?.reason || 'job stopped')
      } catch {
        // database busy: try again next tick
      }
    }, 250)
    return {
      signal: abort.signal,
      killedReason: () => killedReason,
      dispose() {
        clearInterval(poll)
        if (timer) clearTimeout(timer)
        outer?.removeEventListener('abort', onOuterAbort)
      },
    }
  }

  /** Start `parallelism` workers, each with its workspace, and feed them the datums to process. */
  private async runDatums(
    j: JobRow,
    spec: PipelineSpec,
    specCommit: string,
    todo: Iterable<Datum>,
    runner: Runner,
    writer: PackWriter,
    signal: AbortSignal,
    workRoot: string,
    opts: RunOptions,
    record: (d: Datum, idx: number, r: DatumOutcome) => Promise<void>,
  ): Promise<void> {
    const queue = todo[Symbol.iterator]()
    let first = queue.next()
    if (first.done) return
    rmSync(workRoot, {recursive: true, force: true})
    mkdirSync(liveLogDir(workRoot), {recursive: true})
    const trash = join(workRoot, 'trash')
    mkdirSync(trash, {recursive: true})
    const restarts = new DatumRestarts(workRoot)
    restarts.open()
    const n = Math.max(1, spec.parallelism_spec?.constant || 1)
    let next = 0
    const workers: {worker: Worker; workspace: WorkerWorkspace}[] = []
    let sidecar: S3SidecarHandle | undefined
    const source = {
      ctx: this.ctx,
      commitOf: (inp: DatumInput) => this.inputCommit(inp),
      materialize: (entry: Entry, dest: string) => this.files.materializeEntry(entry, dest).bytes,
    }
    const jobEnv = jobEnvOf(spec, j, specCommit)
    try {
      let endpoint: WorkerEndpoint | undefined
      if (usesS3(spec)) {
        sidecar = await this.openSidecar(j, spec, first.value, runner, opts)
        endpoint = workerEndpoint(sidecar)
        Object.assign(jobEnv, s3Env(sidecar, spec.transform.env ?? {}))
      }
      const secrets = this.secrets.forJob(spec, join(workRoot, 'secrets'), this.ctx.env)
      for (let w = 0; w < n; w++) {
        const workspace = new WorkerWorkspace(source, join(workRoot, `w${w}`), trash)
        const worker = await runner.startWorker({
          image: spec.transform.image,
          inputsDir: workspace.inputsDir,
          outDir: workspace.outDir,
          network: wantsNetwork(spec),
          cpu: spec.resource_limits?.cpu,
          memoryBytes: spec.resource_limits?.memory ? parseMemory(spec.resource_limits.memory) : undefined,
          user: spec.transform.user || undefined,
          workingDir: spec.transform.working_dir || undefined,
          mounts: secrets.mounts,
          name: `${j.pipeline}-${j.id.slice(0, 8)}-${w}`,
          endpoint,
        })
        workers.push({worker, workspace})
      }
      await Promise.all(
        workers.map(async ({worker, workspace}) => {
          const ctx = {spec, worker, workspace, jobEnv, secretEnv: secrets.env, trees: this.ctx.trees, writer, signal, restarts}
          for (;;) {
            if (signal.aborted) return
            const it = first.done ? queue.next() : first
            first = {done: true, value: undefined}
            if (it.done) return
            const d = it.value
            const idx = next++
            opts.onEvent?.({type: 'datum-start', pipeline: j.pipeline, id: j.id, datum: d.id})
            const log = new DatumLog(join(liveLogDir(workRoot), `${d.id}.jsonl`), this.ctx.now, (stream, line) =>
              opts.onEvent?.({type: 'log', pipeline: j.pipeline, id: j.id, datum: d.id, stream, line}),
            )
            const r = await runDatum(ctx, d, log)
            await record(d, idx, r)
            opts.onEvent?.({type: 'datum-end', pipeline: j.pipeline, id: j.id, datum: d.id, state: r.state, reason: r.reason || undefined})
          }
        }),
      )
    } finally {
      await restarts.close()
      await Promise.allSettled(workers.map((w) => w.worker.close()))
      // after the workers: no request of this job's code is still on its way
      await sidecar?.close()
    }
  }

  /**
   * Open the job's S3 sidecar (s3-job.ts): its buckets, where the runner's workers reach it
   * (`workerRoute`, else `serviceRoute`, else loopback). Throws RunnerError when this run has
   * no sidecar (the job fails with that reason).
   */
  private async openSidecar(j: JobRow, spec: PipelineSpec, first: Datum, runner: Runner, opts: RunOptions): Promise<S3SidecarHandle> {
    if (!opts.s3) {
      throw new RunnerError(`pipeline ${j.pipeline} reads or writes through S3 (an "s3" input or "s3_out"), but this run has no S3 gateway`)
    }
    const s3 = await opts.s3()
    const route = runner.workerRoute ? await runner.workerRoute() : runner.serviceRoute ? await runner.serviceRoute() : {host: '127.0.0.1'}
    const buckets = jobBuckets(spec, first, {project: j.project, repo: j.pipeline, commit: j.id})
    return s3.open({pipeline: j.pipeline, project: j.project, jobId: j.id}, buckets, route)
  }

  /** Empty the job's open output commit (s3_out: nothing of the parent's output carries over). */
  private emptyOutput(repoId: number, id: string): void {
    withTx(this.db, () => {
      const c = rows.getCommit(this.db, repoId, id)
      if (c && !c.finished && c.tree !== null) rows.setCommitTree(this.db, repoId, id, null, this.engine.treeSize(null))
    })
  }

  /** The output tree: edited from the base's when few datums changed, else built from every datum's output. */
  private merge(j: JobKey, p: JobPlan, outcomes: JobScratch): MergeResult {
    if (p.repair) return this.mergeRepair(j, p, p.repair, outcomes)
    const results = {
      get: (id: string) => {
        const o = outcomes.get(id)
        return o && {state: o.state, output: o.output}
      },
    }
    const outputOf = (id: string) => {
      const r = results.get(id)
      return r ? (r.state === 'SUCCESS' ? r.output : null) : p.baseOutput(id)
    }
    // every datum's output tree, in the plan's order: read for a full merge or to name a collision's owner
    const allOutputs = function* (): Generator<DatumOutput> {
      if (p.datums || !p.base) {
        for (const d of p.datums ?? p.run.datums()) yield {id: d.id, tree: outputOf(d.id)}
        return
      }
      // planned from changes: the base's datums that stay, then the ones that ran
      const gone = new Set([...p.plan.removed, ...p.plan.redo])
      for (const id of p.baseSet.keys()) if (!gone.has(id)) yield {id, tree: p.baseOutput(id)}
      for (const d of p.plan.process) yield {id: d.id, tree: outputOf(d.id)}
    }
    if (p.base && p.plan.process.length + p.plan.removed.length < p.plan.total / 2) {
      return mergeIncremental(this.ctx.trees, {baseTree: p.baseTree, plan: p.plan, results, baseOutput: p.baseOutput, allOutputs: () => [...allOutputs()]})
    }
    return mergeAll(this.ctx.trees, allOutputs(), outcomes)
  }

  /**
   * A repair's output tree (job-plan.ts repairPlan): the output commit's tree as the purge left
   * it, less the outputs of own entries re-run or gone, plus what the datums that ran and the
   * datums taken from the base wrote (mergeIncremental: O(what changed)).
   */
  private mergeRepair(j: JobKey, p: JobPlan, r: RepairPlan, outcomes: JobScratch): MergeResult {
    const adopted = new Map(r.adopted.map((a) => [a.datum.id, getDatumOutput(this.db, j.project, j.pipeline, a.entry.source, a.datum.id)]))
    const results = {
      get: (id: string) => {
        if (adopted.has(id)) return {state: 'SUCCESS' as const, output: adopted.get(id) ?? null}
        const o = outcomes.get(id)
        return o && {state: o.state, output: o.output}
      },
    }
    const gone = new Set([...p.plan.removed, ...p.plan.redo])
    const allOutputs = (): DatumOutput[] => {
      const out: DatumOutput[] = []
      for (const id of r.own.keys()) if (!gone.has(id)) out.push({id, tree: p.baseOutput(id)})
      for (const d of [...p.plan.process, ...r.adopted.map((a) => a.datum)]) out.push({id: d.id, tree: results.get(d.id)?.output ?? null})
      return out
    }
    const plan = {process: [...p.plan.process, ...r.adopted.map((a) => a.datum)], removed: p.plan.removed, redo: p.plan.redo}
    return mergeIncremental(this.ctx.trees, {baseTree: r.outTree, plan, results, baseOutput: p.baseOutput, allOutputs})
  }

  /**
   * The meta commit's new tree: per datum that ran, /meta/<id>/meta (its record, written here,
   * with `index` = its place in the job's datum set, the order of `list datum`) and
   * /meta/<id>/logs; removed and redone datums' entries go; a repair's datums taken from its
   * base get the base's records. Edits are applied in id order, a
   * batch at a time, from the scratch table.
   */
  private async metaTree(j: JobRow, p: JobPlan, outcomes: JobScratch, set: DatumSet, imageId: string | undefined, writer: PackWriter): Promise<Buffer | null> {
    const metaRepo = rows.getRepo(this.db, j.project, j.pipeline, 'meta')
    let tree = (metaRepo && rows.getCommit(this.db, metaRepo.id, j.id)?.tree) ?? null
    const deletes: TreeOp[] = [...p.plan.removed, ...p.plan.redo].map((id) => ({type: 'delete', path: `/meta/${id}`}))
    if (deletes.length) tree = this.ctx.trees.apply(tree, deletes)
    const chunker = this.ctx.config.chunker
    const edits = new BatchedEdits(this.ctx.trees, tree)
    for (const o of outcomes.all()) {
      const doc = {
        job: {pipeline: j.pipeline, id: j.id},
        datum: o.datum_id,
        hash: o.hash,
        state: o.state,
        reason: o.reason,
        inputs: JSON.parse(o.inputs) as unknown,
        stats: statsPB(JSON.parse(o.stats) as Stats),
        index: set.countBelow(o.datum_id),
        image_id: imageId ?? null,
      }
      const content = await bufferContent(Buffer.from(JSON.stringify(doc, null, 2)), writer, chunker)
      edits.push({type: 'put', path: `/meta/${o.datum_id}/meta`, content}, {type: 'put', path: `/meta/${o.datum_id}/logs`, content: contentFromText(o.logs)})
    }
    // a repair's datums taken from its base: their records as the base's meta commit has them
    for (const a of p.repair?.adopted ?? []) {
      for (const [path, e] of this.ctx.trees.walk(p.repair!.baseMeta, `/meta/${a.datum.id}`)) if (e.kind === 'file') edits.push({type: 'putEntry', path, entry: e})
    }
    return edits.done()
  }

  /**
   * The job's datum set: its base's with the datums it ran and dropped edited in (a skipped
   * datum keeps its base's entry, which points at the row that describes it), or, with no
   * base, built from the datums it ran (in id order, from the scratch table); a repair's is its
   * own set so edited, with the entries it took from its base.
   */
  private datumSet(j: JobRow, p: JobPlan, outcomes: JobScratch, unsettled: number): DatumSet {
    const entries = function* (): Generator<DatumSetEntry> {
      for (const o of outcomes.states()) yield {id: o.datum_id, hash: o.hash, state: o.state as DatumSetEntry['state'], source: j.id}
    }
    // a repair edits its own set: entries it ran, entries it took from its base, entries gone
    const from = p.repair ? p.repair.own : p.base ? p.baseSet : undefined
    if (!from) return buildDatumSet(this.db, j.id, entries(), unsettled)
    const edits: DatumEdit[] = [...entries()].map((e) => [e.id, e])
    for (const a of p.repair?.adopted ?? []) edits.push([a.entry.id, a.entry])
    for (const id of p.plan.removed) edits.push([id, null])
    return from.edit(j.id, edits, unsettled)
  }

  /**
   * A tag moved under a pipeline version (image-drift.ts): this job runs datums with another
   * image than the version's earlier job did under the same reference, so the version's
   * outputs come from two images. Said once, as the job starts; `update pipeline` (a new
   * version, said there) is the way to change images on purpose.
   */
  private warnImageMoved(j: JobRow, image: string, imageId: string): void {
    const prior = jobRows.lastImageUse(this.db, j.project, j.pipeline)
    if (!prior || prior.job === j.id || prior.pipeline_version !== j.pipeline_version || prior.image !== image || prior.image_id === imageId) return
    const line = driftLine(j.pipeline, {image, used: prior.image_id, job: prior.job, now: imageId})
    this.ctx.reporter.warn(`${line}: job ${j.id} runs its datums with the new image, next to outputs of the old one (\`pach update pipeline -f SPEC --reprocess\` reruns them all with it)`)
  }

  /** A datum input's commit (finished, so immutable while the job runs: looked up once per job, not per datum). */
  private inputCommit(inp: DatumInput): CommitRow | undefined {
    const key = `${inp.project}/${inp.repo}/${inp.repo_type}@${inp.commit}`
    const hit = this.inputCommits.get(key)
    if (hit) return hit
    const repo = rows.getRepo(this.db, inp.project, inp.repo, inp.repo_type)
    const c = repo && inp.commit ? rows.getCommit(this.db, repo.id, inp.commit) : undefined
    if (c?.finished) this.inputCommits.set(key, c)
    return c
  }
}
