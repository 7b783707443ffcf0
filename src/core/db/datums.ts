/**
 * Datum rows (tables `datums` and `job_datums`, db/migrations.ts): plain synchronous
 * functions, handle first.
 *
 * `datums` holds a full row (inputs, stats, output tree) only for a datum a job ran (or
 * skipped as the first job to see it); `job_datums` holds each finished job's whole datum
 * set as one blob (db/datum-sets.ts). Invariant: every entry of a set points (`source`) at a
 * job whose `datums` table has the row.
 */
import type {DatumState} from '../types.js'
import {decodeDatumSet, encodeDatumSet, type DatumSetEntry} from './datum-sets.js'
import type {DB} from './types.js'
import {st} from './statements.js'

export interface DatumRow {
  project: string
  pipeline: string
  job_id: string
  datum_id: string
  /** position in the job's plan */
  idx: number
  hash: string
  state: DatumState
  reason: string
  /** JSON of the datum's inputs (pps/datum.ts DatumInput[]) */
  inputs: string
  /** JSON of the datum's stats */
  stats: string
  /** root tree of what the datum wrote to /pfs/out (null: nothing, or it failed) */
  output: Buffer | null
}

/** The rows a job wrote, by datum id. */
export const listDatumRows = (db: DB, project: string, pipeline: string, job: string) =>
  st(db, 'SELECT * FROM datums WHERE project = ? AND pipeline = ? AND job_id = ?').all(project, pipeline, job) as DatumRow[]

export const getDatumRow = (db: DB, project: string, pipeline: string, job: string, datum: string) =>
  st(db, 'SELECT * FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? AND datum_id = ?').get(project, pipeline, job, datum) as DatumRow | undefined

/** The output tree a job's row records for a datum. */
export const getDatumOutput = (db: DB, project: string, pipeline: string, job: string, datum: string) =>
  (st(db, 'SELECT output FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? AND datum_id = ?').pluck().get(project, pipeline, job, datum) as Buffer | null | undefined) ?? null

/** Ids of the datums a job processed (not skipped), in plan order. */
export const listProcessedDatumIds = (db: DB, project: string, pipeline: string, job: string) =>
  st(db, "SELECT datum_id FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? AND state != 'SKIPPED' ORDER BY idx").pluck().all(project, pipeline, job) as string[]

/** A job's datum set by datum id; a job that never finished has only its own rows. */
export function getDatumSet(db: DB, project: string, pipeline: string, job: string): Map<string, DatumSetEntry> {
  const list = st(db, 'SELECT list FROM job_datums WHERE project = ? AND pipeline = ? AND job_id = ?').pluck().get(project, pipeline, job) as Buffer | undefined
  if (list) return new Map(decodeDatumSet(list).map((e) => [e.id, e]))
  const own = st(db, 'SELECT datum_id, hash, state FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? ORDER BY idx').all(project, pipeline, job) as Pick<
    DatumRow,
    'datum_id' | 'hash' | 'state'
  >[]
  return new Map(own.map((r) => [r.datum_id, {id: r.datum_id, hash: r.hash, state: r.state, source: job}]))
}

export const putDatumRow = (db: DB, r: DatumRow) =>
  st(
    db,
    `INSERT OR REPLACE INTO datums(project, pipeline, job_id, datum_id, idx, hash, state, reason, inputs, stats, output)
     VALUES (@project, @pipeline, @job_id, @datum_id, @idx, @hash, @state, @reason, @inputs, @stats, @output)`,
  ).run(r)

export const putDatumSet = (db: DB, project: string, pipeline: string, job: string, entries: readonly DatumSetEntry[]) =>
  st(db, 'INSERT OR REPLACE INTO job_datums(project, pipeline, job_id, list) VALUES (?, ?, ?, ?)').run(project, pipeline, job, encodeDatumSet(entries))

/** Delete every datum row and datum set of a pipeline. */
export function deleteDatumsOfPipeline(db: DB, project: string, pipeline: string): void {
  st(db, 'DELETE FROM datums WHERE project = ? AND pipeline = ?').run(project, pipeline)
  st(db, 'DELETE FROM job_datums WHERE project = ? AND pipeline = ?').run(project, pipeline)
}

/** Every datum's output tree (maintenance: kept for incremental merges even when no commit holds it whole). */
/** Point every datum output at `from` to `to` (the tree upgrade). */
export const replaceDatumOutput = (db: DB, from: Buffer, to: Buffer) => st(db, 'UPDATE datums SET output = ? WHERE output = ?').run(to, from)
export const listDatumOutputTrees = (db: DB) => st(db, 'SELECT DISTINCT output FROM datums WHERE output IS NOT NULL').pluck().all() as Buffer[]
