/**
 * Job rows (`jobs` table): plain synchronous functions over the handle, as in pfs-rows.ts.
 */
import type {DB} from './types.js'

// maintenance (fsck/gc) reads

/** The lease of every job a runner may be working on (its scratch dir must survive gc). */
export function listRunningJobLeases(db: DB): {pipeline: string; id: string; lease_pid: number | null; lease_host: string | null}[] {
  return db
    .prepare("SELECT pipeline, id, lease_pid, lease_host FROM jobs WHERE state IN ('JOB_STARTING', 'JOB_RUNNING', 'JOB_FINISHING')")
    .all() as {pipeline: string; id: string; lease_pid: number | null; lease_host: string | null}[]
}
