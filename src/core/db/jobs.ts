/**
 * Job rows (table `jobs`, db/migrations.ts): plain synchronous functions, handle first.
 *
 * A job is (project, pipeline, id), where id is its output commit's id — the commit set that
 * caused it. `seq` orders jobs globally by creation. The job state machine, whose only
 * writer is pps/job-lifecycle.ts:
 *
 *   JOB_CREATED → JOB_STARTING (leased) → JOB_RUNNING → JOB_FINISHING → JOB_SUCCESS | JOB_FAILURE
 *   JOB_CREATED → JOB_UNRUNNABLE (an input commit has an error)
 *   any non-terminal state → JOB_KILLED (stop job, update/stop/delete pipeline, job_timeout,
 *                                        output commit removed)
 *   JOB_STARTING | JOB_RUNNING | JOB_FINISHING → JOB_CREATED (lease holder died or was
 *                                        interrupted; restart + 1)
 *
 * A leased job carries its holder (lease_pid, lease_host, lease_at); a terminal one has no
 * lease. The state sets below are the one place job states are listed; SQL `IN (…)` lists
 * are built from them.
 */
import type {JobState} from '../types.js'
import type {DB} from './types.js'
import {st} from './statements.js'

/** States a job never leaves. */
export const TERMINAL_JOB_STATES = ['JOB_SUCCESS', 'JOB_FAILURE', 'JOB_KILLED', 'JOB_UNRUNNABLE'] as const satisfies readonly JobState[]
/** States of a job some process holds the lease of. */
export const LEASED_JOB_STATES = ['JOB_STARTING', 'JOB_RUNNING', 'JOB_FINISHING'] as const satisfies readonly JobState[]

const terminal = new Set<JobState>(TERMINAL_JOB_STATES)
export const isTerminalJobState = (s: JobState): boolean => terminal.has(s)
const leased = new Set<JobState>(LEASED_JOB_STATES)
export const isLeasedJobState = (s: JobState): boolean => leased.has(s)

const sqlList = (states: readonly string[]) => states.map((s) => `'${s}'`).join(', ')
const TERMINAL_SQL = sqlList(TERMINAL_JOB_STATES)
const LEASED_SQL = sqlList(LEASED_JOB_STATES)

export interface JobRow {
  project: string
  pipeline: string
  id: string
  seq: number
  pipeline_version: number
  state: JobState
  reason: string
  created: string
  started: string | null
  finished: string | null
  data_processed: number
  data_skipped: number
  data_failed: number
  data_recovered: number
  data_total: number
  /** JSON of the job's summed datum stats */
  stats: string
  /** JSON: the effective spec, salt, image id and runner the job ran with */
  details: string
  lease_pid: number | null
  lease_host: string | null
  lease_at: string | null
  restart: number
}

/** Identifies one job. */
export interface JobKey {
  project: string
  pipeline: string
  id: string
}

export const getJob = (db: DB, k: JobKey) =>
  st(db, 'SELECT * FROM jobs WHERE project = ? AND pipeline = ? AND id = ?').get(k.project, k.pipeline, k.id) as JobRow | undefined

/** Jobs newest first, filtered by project, pipeline and/or id (the job set). */
export function listJobs(db: DB, f: {project?: string; pipeline?: string; id?: string; limit?: number} = {}): JobRow[] {
  const where: string[] = []
  const args: unknown[] = []
  for (const [col, v] of [['project', f.project], ['pipeline', f.pipeline], ['id', f.id]] as const) {
    if (v === undefined) continue
    where.push(`${col} = ?`)
    args.push(v)
  }
  const limit = f.limit ? ` LIMIT ${Math.floor(f.limit)}` : ''
  return st(db, `SELECT * FROM jobs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC${limit}`).all(...args) as JobRow[]
}

/** A pipeline's jobs, oldest first. */
export const listJobsOfPipeline = (db: DB, project: string, pipeline: string) =>
  st(db, 'SELECT * FROM jobs WHERE project = ? AND pipeline = ? ORDER BY seq').all(project, pipeline) as JobRow[]

/** Jobs waiting for a runner (JOB_CREATED), oldest first. */
export const listCreatedJobs = (db: DB) => st(db, "SELECT * FROM jobs WHERE state = 'JOB_CREATED' ORDER BY seq").all() as JobRow[]

/** Jobs some process holds the lease of. */
export const listLeasedJobs = (db: DB) => st(db, `SELECT * FROM jobs WHERE state IN (${LEASED_SQL})`).all() as JobRow[]

/** Ids of a pipeline's jobs that are not terminal. */
export const listUnfinishedJobIds = (db: DB, project: string, pipeline: string) =>
  st(db, `SELECT id FROM jobs WHERE project = ? AND pipeline = ? AND state NOT IN (${TERMINAL_SQL})`).pluck().all(project, pipeline) as string[]

/** Whether an earlier job (lower seq) of the pipeline is not terminal yet. */
export const hasUnfinishedJobBefore = (db: DB, project: string, pipeline: string, seq: number) =>
  st(db, `SELECT 1 FROM jobs WHERE project = ? AND pipeline = ? AND seq < ? AND state NOT IN (${TERMINAL_SQL})`).pluck().get(project, pipeline, seq) !== undefined

/** Whether some job of the pipeline is leased (running). */
export const hasLeasedJob = (db: DB, project: string, pipeline: string) =>
  st(db, `SELECT 1 FROM jobs WHERE project = ? AND pipeline = ? AND state IN (${LEASED_SQL})`).pluck().get(project, pipeline) !== undefined

/** Whether some job of the pipeline has planned at least one datum. */
export const pipelineHadDatums = (db: DB, project: string, pipeline: string) =>
  st(db, 'SELECT 1 FROM jobs WHERE project = ? AND pipeline = ? AND data_total > 0').pluck().get(project, pipeline) !== undefined

/** The state of the pipeline's newest job. */
export const lastJobState = (db: DB, project: string, pipeline: string) =>
  st(db, 'SELECT state FROM jobs WHERE project = ? AND pipeline = ? ORDER BY seq DESC LIMIT 1').pluck().get(project, pipeline) as JobState | undefined

/** The newest job of a pipeline whose details record the image id it ran with (pps/image-drift.ts). */
export const lastImageUse = (db: DB, project: string, pipeline: string) =>
  st(
    db,
    `SELECT id AS job, pipeline_version, json_extract(details, '$.transform.image') AS image, json_extract(details, '$.image_id') AS image_id FROM jobs
     WHERE project = ? AND pipeline = ? AND json_extract(details, '$.image_id') IS NOT NULL ORDER BY seq DESC LIMIT 1`,
  ).get(project, pipeline) as {job: string; pipeline_version: number; image: string | null; image_id: string} | undefined

/** Insert a JOB_CREATED job with the next global seq. */
export function insertJob(db: DB, k: JobKey, pipelineVersion: number, created: string): void {
  const seq = st(db, 'SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs').pluck().get() as number
  st(db, "INSERT INTO jobs(project, pipeline, id, seq, pipeline_version, state, created) VALUES (?, ?, ?, ?, ?, 'JOB_CREATED', ?)").run(
    k.project,
    k.pipeline,
    k.id,
    seq,
    pipelineVersion,
    created,
  )
}

/** JOB_CREATED → JOB_STARTING with this holder, in one UPDATE; false when someone else took it. */
export const leaseJob = (db: DB, k: JobKey, holder: {pid: number; host: string; at: string}) =>
  st(db, "UPDATE jobs SET state = 'JOB_STARTING', lease_pid = ?, lease_host = ?, lease_at = ? WHERE project = ? AND pipeline = ? AND id = ? AND state = 'JOB_CREATED'").run(
    holder.pid,
    holder.host,
    holder.at,
    k.project,
    k.pipeline,
    k.id,
  ).changes === 1

/** Back to JOB_CREATED without a lease, restart + 1; only from `from` when given. False when the row was not in that state. */
export function releaseJob(db: DB, k: JobKey, from?: JobState): boolean {
  const sql = "UPDATE jobs SET state = 'JOB_CREATED', lease_pid = NULL, lease_host = NULL, restart = restart + 1 WHERE project = ? AND pipeline = ? AND id = ?"
  return (from ? st(db, sql + ' AND state = ?').run(k.project, k.pipeline, k.id, from) : st(db, sql).run(k.project, k.pipeline, k.id)).changes === 1
}

/** The columns a running job updates as it goes. */
export interface JobProgress {
  started?: string
  data_total?: number
  data_skipped?: number
  details?: string
}

/** Move a leased job to `state` (never out of JOB_KILLED: a stop wins over a running process). */
export function advanceJob(db: DB, k: JobKey, state: JobState, progress: JobProgress = {}): void {
  const cols = Object.keys(progress).filter((c) => (progress as Record<string, unknown>)[c] !== undefined)
  const sets = ['state = @state', ...cols.map((c) => `${c} = @${c}`)].join(', ')
  st(db, `UPDATE jobs SET ${sets} WHERE project = @project AND pipeline = @pipeline AND id = @id AND state != 'JOB_KILLED'`).run({...progress, state, project: k.project, pipeline: k.pipeline, id: k.id})
}

/** What a terminal job records. */
export interface JobEnd {
  state: JobState
  reason: string
  finished: string
  /** counts and summed stats (JSON) of a job that ran; absent for one that never did */
  counts?: {data_processed: number; data_failed: number; data_recovered: number; stats: string}
}

/** Record a terminal state and release the lease. */
export function endJob(db: DB, k: JobKey, end: JobEnd): void {
  if (end.counts) {
    st(
      db,
      `UPDATE jobs SET state = @state, reason = @reason, finished = @finished, data_processed = @data_processed, data_failed = @data_failed,
       data_recovered = @data_recovered, stats = @stats, lease_pid = NULL WHERE project = @project AND pipeline = @pipeline AND id = @id`,
    ).run({state: end.state, reason: end.reason, finished: end.finished, ...end.counts, project: k.project, pipeline: k.pipeline, id: k.id})
  } else {
    st(db, 'UPDATE jobs SET state = ?, reason = ?, finished = ?, lease_pid = NULL WHERE project = ? AND pipeline = ? AND id = ?').run(
      end.state,
      end.reason,
      end.finished,
      k.project,
      k.pipeline,
      k.id,
    )
  }
}

/** Delete every job of a pipeline (its datums go with db/datums.ts deleteDatumsOfPipeline). */
export const deleteJobsOfPipeline = (db: DB, project: string, pipeline: string) =>
  st(db, 'DELETE FROM jobs WHERE project = ? AND pipeline = ?').run(project, pipeline)

/** Delete one job's row (its datum rows and datum set stay: later jobs refer to them; see pps/pipeline-service.ts deleteJob). */
export const deleteJob = (db: DB, k: JobKey) => st(db, 'DELETE FROM jobs WHERE project = ? AND pipeline = ? AND id = ?').run(k.project, k.pipeline, k.id).changes === 1
