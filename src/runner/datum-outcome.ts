/**
 * How a worker ends a datum that does not run to its own end, the same way in every runner:
 * - before it starts: its signal is already aborted, or its cmd is empty (`cannotStart`);
 * - at its deadline: its timeout or its abort signal, whichever comes first, calls `kill`
 *   once (`armDeadline`), and the worker reports the datum with `killedResult`.
 * Either way `run` resolves with exit code -1 (`timedOut` only for the timeout), never
 * rejects.
 */
import type {DatumRunResult, DatumTask} from '../core/pps/runner.js'

export type KillReason = 'timeout' | 'abort'

export interface Deadline {
  /** why the datum was killed, once it was */
  readonly killed: KillReason | undefined
  /** stop watching (call when the datum ended, killed or not) */
  disarm(): void
}

/** Watch `task`'s timeout and signal; `kill` runs at most once. */
export function armDeadline(task: Pick<DatumTask, 'timeoutMs' | 'signal'>, kill: (why: KillReason) => void): Deadline {
  let killed: KillReason | undefined
  const fire = (why: KillReason) => {
    if (killed) return
    killed = why
    kill(why)
  }
  const timer = task.timeoutMs !== undefined && task.timeoutMs > 0 ? setTimeout(() => fire('timeout'), task.timeoutMs) : undefined
  const onAbort = () => fire('abort')
  task.signal?.addEventListener('abort', onAbort, {once: true})
  return {
    get killed() {
      return killed
    },
    disarm() {
      if (timer) clearTimeout(timer)
      task.signal?.removeEventListener('abort', onAbort)
    },
  }
}

/** The result of a datum killed at its deadline. */
export function killedResult(why: KillReason, task: Pick<DatumTask, 'timeoutMs'>, t0: number): DatumRunResult {
  return {
    exitCode: -1,
    timedOut: why === 'timeout',
    error: why === 'timeout' ? `timed out after ${task.timeoutMs} ms; killed` : 'aborted; killed',
    durationMs: Date.now() - t0,
  }
}

/** The result for a datum that cannot start (its signal already aborted, an empty cmd); undefined when it can. */
export function cannotStart(task: Pick<DatumTask, 'cmd' | 'signal'>): DatumRunResult | undefined {
  if (task.signal?.aborted) return {exitCode: -1, timedOut: false, error: 'aborted before start', durationMs: 0}
  if (task.cmd.length === 0) return {exitCode: -1, timedOut: false, error: 'could not start: empty cmd', durationMs: 0}
  return undefined
}
