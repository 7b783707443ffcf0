/**
 * The daemon: what pachd does on its own, for as long as `pach serve` runs. Without it, pach
 * is driven by commands (each command that commits runs the jobs it triggered; `pach run`
 * ticks cron inputs). With it:
 * - pending jobs run as soon as they are runnable, whoever made the commit (an API client, a
 *   CLI command with --detach, a cron tick); a job another pach process has leased is left to
 *   it (job-handoff.ts);
 * - cron inputs tick and cron branch triggers move on schedule (checked every second);
 * - spouts and services run (continuous.ts `reconcile` each round, `stopAll` at the end).
 *
 * One loop, one job run at a time (as a CLI command runs them): it wakes on any change to
 * the database (ChangeFeed), on `kick()`, and at least once a second for cron.
 * Invariant: stopping (the signal) interrupts the running job the way Ctrl-C interrupts a
 * command: the job goes back to pending, to be resumed by the next run.
 */
import type {ChangeFeed} from '../db/change-feed.js'
import type {JobService, RunOptions} from './job-service.js'
import type {PipelineService} from './pipeline-service.js'
import type {BranchService} from '../pfs/branch-service.js'

export interface DaemonDeps {
  jobs: JobService
  pipelines: PipelineService
  branches: BranchService
  feed: ChangeFeed
  now: () => Date
  /** spouts' and services' code (continuous.ts) */
  continuous?: {reconcile(): Promise<void>; stopAll(): Promise<void>}
}

export interface DaemonOptions extends Omit<RunOptions, 'signal'> {
  /** how often cron is checked when nothing else happens (default 1 s) */
  cronEveryMs?: number
  /** a round failed (the error is not the loop's to throw: it logs and goes on) */
  onError?: (e: unknown) => void
}

/** The reason a round's wait on the feed is ended with (nobody reads it). */
const ROUND_OVER = new Error('the daemon round is over')

export class Daemon {
  private kicked = false
  private wakeUp: (() => void) | undefined

  constructor(private readonly d: DaemonDeps) {}

  /** Something may be runnable now: run a round soon. */
  kick(): void {
    this.kicked = true
    this.wakeUp?.()
  }

  /** Run rounds until `signal` aborts. Resolves once the last round has stopped. */
  async run(signal: AbortSignal, opts: DaemonOptions): Promise<void> {
    const every = opts.cronEveryMs ?? 1000
    while (!signal.aborted) {
      this.kicked = false
      try {
        this.d.pipelines.cronTicks(this.d.now())
        this.d.branches.applyCronTriggers()
        await this.d.continuous?.reconcile()
        if (this.d.jobs.pending().length > 0) await this.d.jobs.runPending({...opts, signal})
      } catch (e) {
        if (signal.aborted) break
        opts.onError?.(e)
      }
      if (this.kicked || signal.aborted) continue
      // one wait on the feed per round, ended with the round (a kick or the cron timer would
      // otherwise leave it, and its listener on `signal`, until the next change: one per PUT)
      await new Promise<void>((resolve) => {
        const round = new AbortController()
        // a reason made once: abort() without one builds a DOMException (a stack trace) per round
        const stop = () => round.abort(ROUND_OVER)
        const done = () => {
          clearTimeout(t)
          signal.removeEventListener('abort', stop)
          this.wakeUp = undefined
          round.abort(ROUND_OVER)
          resolve()
        }
        const t = setTimeout(done, every)
        this.wakeUp = done
        signal.addEventListener('abort', stop)
        void this.d.feed.next(round.signal).then(done)
      })
    }
    await this.d.continuous?.stopAll()
  }
}
