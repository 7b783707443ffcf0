/**
 * Process identity, liveness and leases: how pach tells whether the process that left
 * something behind (a lease row, a scratch directory, a container, a half-built database) is
 * still running.
 *
 * Concept: a process is named by `<host>/<pid>`. On this host a pid is alive when signal 0
 * reaches it (EPERM counts: the process exists under another user). A process on another
 * host cannot be checked and is assumed alive: its leftovers are never removed from here.
 *
 * Invariant: a lease is live while its holder is; a stale lease (holder gone after a SIGKILL
 * or a crash) is ignored by every reader and removed by the next gc.
 *
 * @example
 *   if (liveLeases(db, 'gc').length) throw new LockedError('pach gc is running')
 */
import {hostname} from 'node:os'
import {listLeasesByKind, type LeaseRow} from './db/leases.js'
import type {DB} from './db/open.js'

export type Lease = LeaseRow

/** Is a process with this pid running on this host? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Leases of `kind` whose holder may still be running (this process, a live pid here, or another host). */
export function liveLeases(db: DB, kind: string): Lease[] {
  const host = hostname()
  return listLeasesByKind(db, kind).filter((l) => l.host !== host || l.pid === process.pid || pidAlive(l.pid))
}
