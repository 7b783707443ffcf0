/**
 * Running the jobs a command triggered, the local-first way: the command that finishes a
 * commit runs the downstream jobs to completion before it exits (unless --detach or
 * PACH_DETACH=1), showing progress on stderr. A failed downstream job is reported on stderr
 * and does not change the command's exit code (`pach wait job` / `list job` tell).
 */
import {Flags} from '@oclif/core'
import type {Pach} from '../core/pach.js'
import type {JobEvent} from '../core/pps/job-service.js'
import type {Runner} from '../core/pps/runner.js'
import type {JobInfo} from '../core/types.js'

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
