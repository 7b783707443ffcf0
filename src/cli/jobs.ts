/**
 * Running the jobs a command triggered, the local-first way: the command that finishes a
 * commit runs the downstream jobs to completion before it exits (unless --detach or
 * PACH_DETACH=1), showing progress on stderr: jobEventPrinter feeds one model
 * (JobProgressModel), drawn live on a TTY through cli/progress.ts, as plain final lines
 * elsewhere. A failed downstream job is reported on stderr and does not change the command's
 * exit code (`pach wait job` / `list job` tell).
 * Where jobs are the command's own result (`pach run`, `wait … --fail-on-error`), a job that
 * did not succeed is JOB_FAILED (exit 3): `jobFailure` builds that error.
 */
import {Flags} from '@oclif/core'
import {CancelledError, JobFailedError} from '../core/errors.js'
import type {Pach} from '../core/pach.js'
import type {JobElsewhere} from '../core/pps/job-handoff.js'
import type {JobEvent} from '../core/pps/job-service.js'
import type {LocalImageIds, Runner} from '../core/pps/runner.js'
import {dockerImageIds} from '../runner/image-ids.js'
import type {S3Sidecar} from '../core/pps/s3-sidecar.js'
import type {RunnerChoice} from '../runner/select.js'
import type {JobInfo, JobState} from '../core/types.js'
import {bar, LiveRegion} from './progress.js'

export const jobFlags = {
  detach: Flags.boolean({description: 'do not run triggered jobs now (leave them JOB_CREATED; `pach run` runs them)', env: 'PACH_DETACH', helpGroup: 'JOBS'}),
  runner: Flags.string({description: 'where pipeline code runs', options: ['docker', 'local', 'auto'], env: 'PACH_RUNNER', helpGroup: 'JOBS'}),
}

/** Runner choice: flag/env, else the project's config, else auto. */
export function runnerChoice(pach: Pach, flag?: string): RunnerChoice {
  const c = flag ?? (pach.config as {runner?: string}).runner ?? 'auto'
  return c === 'docker' || c === 'local' ? c : 'auto'
}

/**
 * How the local engine names images now (`list/update pipeline`'s image drift), or undefined
 * when pipelines run with the local runner (no images). `flag`: --runner where the command
 * has it, else PACH_RUNNER, else the project's config.
 */
export function localImageIds(pach: Pach, flag?: string): LocalImageIds | undefined {
  return runnerChoice(pach, flag ?? process.env.PACH_RUNNER) === 'local' ? undefined : dockerImageIds()
}

/** The runner, built when the first job needs it; image pulls report through the project's reporter and stop on `signal`. */
export function runnerFactory(pach: Pach, choice: RunnerChoice, signal?: AbortSignal): () => Promise<Runner> {
  return async () => {
    const {selectRunner} = await import('../runner/select.js')
    return selectRunner(choice, (msg) => pach.reporter.info(msg), {reporter: pach.reporter, signal})
  }
}

/**
 * The S3 sidecar for jobs with an s3 input or s3_out (src/server/s3/sidecar.ts), loaded when
 * the first such job runs: a per-job gateway on the runner's worker route, `default`/`default`
 * credentials (a CLI run has no server token).
 */
export function s3SidecarFactory(pach: Pach): () => Promise<S3Sidecar> {
  let made: Promise<S3Sidecar> | undefined
  return () =>
    (made ??= import('../server/s3/sidecar.js').then(({S3SidecarServer}) => new S3SidecarServer(pach)))
}

/**
 * Run the pending jobs (of `pipelines`, or all) with progress on stderr. When the command is
 * interrupted (Ctrl-C) the jobs it did not finish stay pending — the one running goes back
 * to JOB_CREATED, one leased but not yet started is recovered by the next run — and the
 * error says so: `interrupted; job p@id is left pending (\`pach run\` resumes it)`. A job
 * left to another pach process is said on stderr as found (elsewhereLine) and is not among
 * those: that process runs it.
 */
export async function runJobs(pach: Pach, opts: {runner?: string; signal: AbortSignal; quiet: boolean; pipelines?: string[]}): Promise<JobInfo[]> {
  // jobs a killed pach left leased are pending again (runPending would do it next), so they are counted
  pach.jobs.lifecycle.recoverStale()
  const waiting = pach.jobs.pending(opts.pipelines).map((j) => progressKey(j.pipeline, j.id))
  const ended = new Set<string>()
  const started: string[] = []
  const print = jobEventPrinter(opts.quiet)
  try {
    return await pach.jobs.runPending({
      runner: runnerFactory(pach, runnerChoice(pach, opts.runner), opts.signal),
      s3: s3SidecarFactory(pach),
      signal: opts.signal,
      pipelines: opts.pipelines,
      onEvent: (e) => {
        if (e.type === 'job-start') started.push(progressKey(e.pipeline, e.id))
        if (e.type === 'job-end') ended.add(progressKey(e.job.job.pipeline.name, e.job.job.id))
        print(e)
      },
    })
  } catch (e) {
    if (!opts.signal.aborted) throw e
    // the job that was running first, then those waiting before the run and those created during it
    const now = pach.jobs.pending(opts.pipelines).map((j) => progressKey(j.pipeline, j.id))
    // jobs left to another pach process (told on stderr, by this call or an earlier one): that process runs them
    const elsewhere = new Set(pach.jobs.handedOff().map((j) => progressKey(j.pipeline, j.id)))
    const left = [...new Set([...started, ...waiting, ...now])].filter((k) => !ended.has(k) && !elsewhere.has(k))
    throw interrupted(left)
  }
}

/** The error for a run interrupted with `left` jobs (`pipeline@id`) not finished. */
export function interrupted(left: string[]): CancelledError {
  if (left.length === 0) return new CancelledError('interrupted')
  const names = left.length > 3 ? `${left.slice(0, 3).join(', ')} and ${left.length - 3} more` : left.join(', ')
  return left.length === 1
    ? new CancelledError(`interrupted; job ${names} is left pending`, {hint: '`pach run` resumes it', data: {pending: left}})
    : new CancelledError(`interrupted; jobs ${names} are left pending`, {hint: '`pach run` resumes them', data: {pending: left}})
}

/** One job's progress, as the job events tell it. */
export interface JobProgress {
  name: string
  total: number
  toProcess: number
  skipped: number
  running: number
  done: number
  failed: number
}

const progressKey = (pipeline: string, id: string) => `${pipeline}@${id}`

/** The job progress model: counters per job from the job events (the one model every job view reads). */
export class JobProgressModel {
  private readonly rows = new Map<string, JobProgress>()

  /** Apply an event; returns the finished JobInfo on job-end (its row is gone then). */
  handle(e: JobEvent): JobInfo | undefined {
    if (e.type === 'job-start') {
      this.rows.set(progressKey(e.pipeline, e.id), {name: `${e.pipeline}@${e.id.slice(0, 8)}`, total: e.total, toProcess: e.toProcess, skipped: e.skipped, running: 0, done: 0, failed: 0})
      return undefined
    }
    if (e.type === 'job-end') {
      this.rows.delete(progressKey(e.job.job.pipeline.name, e.job.job.id))
      return e.job
    }
    const r = this.rows.get(progressKey(e.pipeline, e.id))
    if (r && e.type === 'datum-start') r.running++
    if (r && e.type === 'datum-end') {
      r.running = Math.max(0, r.running - 1)
      r.done++
      if (e.state === 'FAILED') r.failed++
    }
    return undefined
  }

  /** Jobs started and not yet ended, in start order. */
  running(): JobProgress[] {
    return [...this.rows.values()]
  }
}

/** A live line for a running job: bar of processed+skipped over total, then the counts. */
export function jobProgressLine(r: JobProgress): string {
  const frac = r.total ? (r.skipped + r.done) / r.total : 1
  const counts = `${r.done}/${r.toProcess} processed, ${r.skipped} skipped${r.failed ? `, ${r.failed} failed` : ''}${r.running ? `, ${r.running} running` : ''}`
  return `${r.name} ${bar(frac, 24)} ${counts}`
}

/**
 * Job progress on stderr. On a TTY (not quiet, not CI): one live line per running job
 * (jobProgressLine), and each job's final line (jobLine) printed as it ends. Elsewhere: only
 * the final lines — every job's unless `quiet` (--json), then only the jobs that did not
 * succeed or that carry a notice (a job with no datum says why).
 */
export function jobEventPrinter(quiet: boolean): (e: JobEvent) => void {
  const live = !quiet && Boolean(process.stderr.isTTY) && !process.env.CI ? new LiveRegion() : undefined
  const model = new JobProgressModel()
  let drawn = 0
  return (e) => {
    if (e.type === 'log') return
    if (e.type === 'job-elsewhere') {
      // said even with --json (stderr): without it the command would just end, the job running elsewhere
      if (live) live.print(elsewhereLine(e))
      else process.stderr.write(elsewhereLine(e) + '\n')
      return
    }
    const ended = model.handle(e)
    if (ended && (!quiet || ended.state !== 'JOB_SUCCESS' || ended.notice)) {
      if (live) live.print(jobLine(ended))
      else process.stderr.write(jobLine(ended) + '\n')
    }
    // datum events can come thousands a second: redraw at most every 100 ms between job starts and ends
    if (!live || (e.type.startsWith('datum') && Date.now() - drawn < 100)) return
    live.draw(model.running().map(jobProgressLine))
    drawn = Date.now()
  }
}

/** `--fail-on-error` for the wait commands (pachctl exits 0 whatever the job did; this opts in to exit 3). */
export const failOnErrorFlag = {
  'fail-on-error': Flags.boolean({
    description: 'exit 3 (JOB_FAILED) when a job waited for did not succeed (failure, killed or unrunnable); with --json the error data carries the jobs',
  }),
}

/** What `pach run` counts as failed: a kill is deliberate (stop job, pipeline update or delete, deleted commit) and does not fail it. */
export const RUN_FAILS = (s: JobState) => s === 'JOB_FAILURE' || s === 'JOB_UNRUNNABLE'
/** What `wait … --fail-on-error` counts as failed: anything but success. */
export const WAIT_FAILS = (s: JobState) => s !== 'JOB_SUCCESS'

/**
 * JOB_FAILED (exit 3) naming the jobs among `jobs` whose state `fails`, or undefined when
 * there are none. `data.jobs` carries every job given (the command's whole result, so --json
 * loses nothing), plus `data`.
 */
export function jobFailure(jobs: JobInfo[], fails: (s: JobState) => boolean, data: Record<string, unknown> = {}): JobFailedError | undefined {
  const bad = jobs.filter((j) => fails(j.state))
  if (bad.length === 0) return undefined
  const first = bad[0]!.job
  const lead = bad.length === 1 ? '' : `${bad.length} of ${jobs.length} jobs did not succeed: `
  return new JobFailedError(lead + bad.map(jobLine).join('; '), {
    hint: `\`pach logs -j ${first.pipeline.name}@${first.id}\` shows what the code printed`,
    data: {...data, jobs},
  })
}

/**
 * A job left to another pach process (leased there, or waiting for a job running there):
 * where it runs and how to follow it, in jobLine's form:
 * `job P@ID: left to another pach process (pid N), which runs it after job P@ID0; …`.
 */
export function elsewhereLine(e: JobElsewhere): string {
  const ref = `${e.pipeline}@${e.id}`
  const proc = `another pach process (${e.pid === null ? 'pid unknown' : `pid ${e.pid}`}${e.host ? ` on ${e.host}` : ''})`
  const where = e.after ? `left to ${proc}, which runs it after job ${e.after.pipeline}@${e.after.id}` : `running in ${proc}`
  const project = e.project === 'default' ? '' : ` --project ${e.project}`
  return `job ${ref}: ${where}; \`pach wait job ${ref}${project}\` waits for it, \`pach logs -j ${ref}${project}\` shows its logs`
}

export function jobLine(j: JobInfo): string {
  const name = `${j.job.pipeline.name}@${j.job.id}`
  const counts = `${j.data_processed} processed, ${j.data_skipped} skipped, ${j.data_failed} failed${j.data_recovered ? `, ${j.data_recovered} recovered` : ''} of ${j.data_total}`
  return `job ${name}: ${j.state.replace('JOB_', '').toLowerCase()} (${counts})${j.reason ? ` — ${j.reason}` : j.notice ? ` — ${j.notice}` : ''}`
}

/** Run what the command triggered; returns the jobs that ran. */
export async function runTriggered(pach: Pach, opts: {detach?: boolean; runner?: string; signal: AbortSignal; quiet: boolean}): Promise<JobInfo[]> {
  if (opts.detach) return []
  if (pach.jobs.pending().length === 0) return []
  return runJobs(pach, opts)
}
