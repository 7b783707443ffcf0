/**
 * Running the jobs a command triggered, the local-first way: the command that finishes a
 * commit runs the downstream jobs to completion before it exits (unless --detach or
 * PACH_DETACH=1), showing progress on stderr. A failed downstream job is reported on stderr
 * and does not change the command's exit code (`pach wait job` / `list job` tell).
 * Where jobs are the command's own result (`pach run`, `wait … --fail-on-error`), a job that
 * did not succeed is JOB_FAILED (exit 3): `jobFailure` builds that error.
 */
import {Flags} from '@oclif/core'
import {JobFailedError} from '../core/errors.js'
import type {Pach} from '../core/repo.js'
import type {JobEvent} from '../core/pps/job-service.js'
import type {Runner} from '../core/pps/runner.js'
import type {JobInfo, JobState} from '../core/types.js'

export type RunnerChoice = 'docker' | 'local' | 'auto'

export const jobFlags = {
  detach: Flags.boolean({description: 'do not run triggered jobs now (leave them JOB_CREATED; `pach run` runs them)', env: 'PACH_DETACH', helpGroup: 'JOBS'}),
  runner: Flags.string({description: 'where pipeline code runs', options: ['docker', 'local', 'auto'], env: 'PACH_RUNNER', helpGroup: 'JOBS'}),
}

/** Runner choice: flag/env, else the project's config, else auto. */
export function runnerChoice(pach: Pach, flag?: string): RunnerChoice {
  const c = flag ?? (pach.ctx.config as {runner?: string}).runner ?? 'auto'
  return c === 'docker' || c === 'local' ? c : 'auto'
}

export function runnerFactory(pach: Pach, choice: RunnerChoice): () => Promise<Runner> {
  return async () => {
    const {selectRunner} = await import('../runner/select.js')
    return selectRunner(choice, (msg) => pach.ctx.reporter.info(msg))
  }
}

/** Plain stderr progress: one line per job (and a live counter on a TTY). */
export function jobEventPrinter(quiet: boolean): (e: JobEvent) => void {
  const tty = Boolean(process.stderr.isTTY) && !quiet
  const counts = new Map<string, {done: number; todo: number; failed: number}>()
  return (e) => {
    if (e.type === 'job-start') {
      counts.set(e.id + e.pipeline, {done: 0, todo: e.toProcess, failed: 0})
      if (tty) process.stderr.write(`\r\x1b[2K${e.pipeline}@${e.id}: ${e.toProcess} to process, ${e.skipped} skipped`)
    } else if (e.type === 'datum-end') {
      const c = counts.get(e.id + e.pipeline)
      if (c) {
        c.done++
        if (e.state === 'FAILED') c.failed++
        if (tty) process.stderr.write(`\r\x1b[2K${e.pipeline}@${e.id}: ${c.done}/${c.todo} datums${c.failed ? ` (${c.failed} failed)` : ''}`)
      }
    } else if (e.type === 'job-end') {
      if (tty) process.stderr.write('\r\x1b[2K')
      if (!quiet || e.job.state !== 'JOB_SUCCESS') process.stderr.write(jobLine(e.job) + '\n')
    }
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
    hint: `\`pach logs -p ${first.pipeline.name} --job ${first.id}\` shows what the code printed`,
    data: {...data, jobs},
  })
}

export function jobLine(j: JobInfo): string {
  const name = `${j.job.pipeline.name}@${j.job.id}`
  const counts = `${j.data_processed} processed, ${j.data_skipped} skipped, ${j.data_failed} failed${j.data_recovered ? `, ${j.data_recovered} recovered` : ''} of ${j.data_total}`
  return `job ${name}: ${j.state.replace('JOB_', '').toLowerCase()} (${counts})${j.reason ? ` — ${j.reason}` : ''}`
}

/** Run what the command triggered; returns the jobs that ran. */
export async function runTriggered(pach: Pach, opts: {detach?: boolean; runner?: string; signal?: AbortSignal; quiet: boolean}): Promise<JobInfo[]> {
  if (opts.detach) return []
  if (pach.jobs.pending().length === 0) return []
  const live = !opts.quiet && process.stderr.isTTY && !process.env.CI ? (await import('../ui/job-progress.js')).startJobProgress() : undefined
  try {
    return await pach.jobs.runPending({
      runner: runnerFactory(pach, runnerChoice(pach, opts.runner)),
      signal: opts.signal,
      onEvent: live?.onEvent ?? jobEventPrinter(opts.quiet),
    })
  } finally {
    live?.stop()
  }
}
