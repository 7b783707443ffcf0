/**
 * The pure half of `pach pull`: given where the local branch stands against the remote (the
 * newest local commit the remote also has, and the local commits above it) and the remote
 * commits listed since then, decide what to do. No I/O; remote/pull.ts applies the plan.
 *
 * Rules (git's, for a fetch that fast-forwards):
 * - nothing new on the remote: up to date, even when the local branch has commits of its own
 *   (they are for `pach push`);
 * - new remote commits and no local commits above the shared one: pull them, oldest first
 *   (a fast-forward);
 * - new remote commits and local commits above the shared one: diverged, refused (git's
 *   "divergent branches"); the user pushes nothing and pulls into another local branch;
 * - a listing that does not end on the shared commit: the remote branch was rewritten (its
 *   history no longer holds what was pulled), refused the same way.
 * Open commits are never pulled: the newest commits of a branch may be open (a commit in
 * progress); the pull stops below them.
 */
import type {RemoteCommit} from './source.js'

export interface PullPosition {
  /** the remote id of the newest commit of the local branch's ancestry that the remote holds */
  base?: string
  /** local commits above `base` (newest first) that the remote does not hold */
  ahead: readonly string[]
}

export type PullPlan =
  | {kind: 'up-to-date'; ahead: number}
  | {kind: 'diverged'; ahead: number; behind: number}
  | {kind: 'rewritten'; base: string}
  | {kind: 'pull'; commits: RemoteCommit[]}

/**
 * Plan a pull from `listed`: the remote branch's ancestry from its head back to (not
 * including) `pos.base`, newest first, as ListCommit gave it, already cut by the caller's
 * `--depth`/`--since` when `cut` is true (then its oldest commit need not sit on `base`).
 * @example planPull({base: 'a', ahead: []}, [c3, c2], false) // → {kind: 'pull', commits: [c2, c3]}
 */
export function planPull(pos: PullPosition, listed: readonly RemoteCommit[], cut: boolean): PullPlan {
  let newest = 0
  while (newest < listed.length && !listed[newest]!.isFinished) newest++
  const ready = listed.slice(newest)
  // the first open commit below a finished one ends the pull there (nothing older than it is taken)
  const open = ready.findIndex((c) => !c.isFinished)
  const commits = open >= 0 ? ready.slice(0, open) : ready
  if (pos.base !== undefined && !cut && listed.length > 0 && listed[listed.length - 1]!.parent !== pos.base) {
    return {kind: 'rewritten', base: pos.base}
  }
  if (commits.length === 0) return {kind: 'up-to-date', ahead: pos.ahead.length}
  if (pos.ahead.length > 0) return {kind: 'diverged', ahead: pos.ahead.length, behind: commits.length}
  return {kind: 'pull', commits: [...commits].reverse()}
}
