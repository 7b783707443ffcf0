/**
 * Branch triggers (Pachyderm master_trigger.go): a branch T with `trigger{branch: S, …}`
 * follows S, but only moves to S's head when a commit on S finishes without error and the
 * condition holds, evaluated against T's old head:
 *
 * - `size` (a human size, decimal: "1K" = 1000 bytes, "100MB", "1.5G"): the new head's size
 *   minus the old head's is at least that;
 * - `commits: n`: n commits from the new head back to the old head (exclusive);
 * - `rate_limit_spec` (cron): the next activation after the old head's finishing time is
 *   before the new head's finishing time;
 * - `all: true` ANDs the conditions that are set, otherwise they are ORed (so a trigger
 *   with no condition fires only with `all`, as in Pachyderm);
 * - `cron_spec` (pachctl's `--trigger-cron`) is exclusive: T moves to S's head on schedule,
 *   not when commits finish. pach has no background ticker: due cron triggers are applied by
 *   `pach run` (a tick has passed since T's head finished, and S's head is newer).
 *
 * Pure: validation and the condition; the engine moves branches.
 */
import {cronError, cronNext} from '../units/cron.js'
import {parseHumanSize} from '../units/human-size.js'
import {InvalidArgumentError} from '../errors.js'

export interface Trigger {
  branch: string
  all?: boolean
  rate_limit_spec?: string
  size?: string
  commits?: number
  cron_spec?: string
}

/** A branch row's trigger (stored as JSON in `branches.trigger`), if it has one. */
export function triggerOf(b: {trigger?: string | null} | undefined): Trigger | undefined {
  return b?.trigger ? (JSON.parse(b.trigger) as Trigger) : undefined
}

/** Normalise and check a trigger; throws InvalidArgumentError naming the bad part. */
export function checkTrigger(t: Trigger, self: string): Trigger {
  if (!t.branch) throw new InvalidArgumentError('INVALID_TRIGGER', 'a trigger needs a branch to follow (--trigger <branch>)')
  if (t.branch === self) throw new InvalidArgumentError('INVALID_TRIGGER', `branch ${self} cannot trigger on itself`)
  if (t.size) parseHumanSize(t.size)
  if (t.commits !== undefined && (!Number.isInteger(t.commits) || t.commits < 0)) {
    throw new InvalidArgumentError('INVALID_TRIGGER', `trigger commits must be a non-negative integer, got ${t.commits}`)
  }
  for (const [k, v] of [['cron_spec', t.cron_spec], ['rate_limit_spec', t.rate_limit_spec]] as const) {
    if (!v) continue
    const err = cronError(v)
    if (err) throw new InvalidArgumentError('INVALID_TRIGGER', `trigger ${k} ${JSON.stringify(v)} is not a valid cron expression: ${err}`)
  }
  if (t.cron_spec && (t.size || t.commits || t.rate_limit_spec)) {
    throw new InvalidArgumentError('INVALID_TRIGGER', 'a cron trigger (--trigger-cron) cannot be combined with other trigger conditions')
  }
  const out: Trigger = {branch: t.branch}
  if (t.all) out.all = true
  if (t.rate_limit_spec) out.rate_limit_spec = t.rate_limit_spec
  if (t.size) out.size = t.size
  if (t.commits) out.commits = t.commits
  if (t.cron_spec) out.cron_spec = t.cron_spec
  return out
}

export interface HeadFacts {
  size: number
  /** finishing time (ISO), if any */
  finishing: string | null
}

/**
 * Does the trigger fire for a move from `oldHead` to `newHead`? `commitsBetween(n)` counts
 * commits from the new head back to the old one (exclusive), stopping at n.
 */
export function isTriggered(t: Trigger, oldHead: HeadFacts | undefined, newHead: HeadFacts, commitsBetween: (limit: number) => number): boolean {
  let result = t.all === true
  const merge = (cond: boolean) => {
    result = t.all ? result && cond : result || cond
  }
  if (t.size) merge(newHead.size - (oldHead?.size ?? 0) >= parseHumanSize(t.size))
  if (t.rate_limit_spec) {
    const oldTime = oldHead?.finishing ? new Date(oldHead.finishing) : new Date(0)
    const next = cronNext(t.rate_limit_spec, oldTime)
    merge(next !== null && newHead.finishing !== null && next.getTime() < Date.parse(newHead.finishing))
  }
  if (t.commits) merge(commitsBetween(t.commits) === t.commits)
  return result
}

/** Is a cron trigger due: a tick after the follower's head finished has passed by `now`? */
export function cronDue(t: Trigger, followerFinishing: string | null, now: Date): boolean {
  if (!t.cron_spec) return false
  const next = cronNext(t.cron_spec, followerFinishing ? new Date(followerFinishing) : new Date(0))
  return next !== null && next.getTime() <= now.getTime()
}
