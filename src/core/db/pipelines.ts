/**
 * Pipeline rows (tables `pipelines` and `pipeline_versions`, db/migrations.ts): plain
 * synchronous functions, handle first.
 *
 * `pipelines` holds the current version of each pipeline (effective spec JSON with its salt,
 * the user's spec as given, stopped flag); `pipeline_versions` keeps every version's spec,
 * salt and spec commit, since a job runs with the version it was created for.
 */
import type {PipelineState} from '../types.js'
import type {DB} from './types.js'
import {st} from './statements.js'

export interface PipelineRow {
  project: string
  name: string
  version: number
  /** the effective spec (normalised, with salt), JSON */
  spec: string
  /** the spec as the user gave it, JSON */
  user_spec: string
  salt: string
  state: PipelineState
  stopped: number
  reason: string
  /** id of the P.spec commit of this version */
  spec_commit: string
  created: string
  updated: string
}

export interface PipelineVersionRow {
  spec: string
  salt: string
  spec_commit: string
}

export const getPipeline = (db: DB, project: string, name: string) =>
  st(db, 'SELECT * FROM pipelines WHERE project = ? AND name = ?').get(project, name) as PipelineRow | undefined

/** Pipelines newest first, of one project or all. */
export const listPipelines = (db: DB, project?: string) =>
  (project === undefined
    ? st(db, 'SELECT * FROM pipelines ORDER BY created DESC').all()
    : st(db, 'SELECT * FROM pipelines WHERE project = ? ORDER BY created DESC').all(project)) as PipelineRow[]

/** Pipelines that are not stopped, by project and name. */
export const listRunningPipelines = (db: DB) => st(db, 'SELECT * FROM pipelines WHERE stopped = 0 ORDER BY project, name').all() as PipelineRow[]

/** Insert a pipeline, or replace its current version (keeps `created`; clears stopped/reason). */
export const putPipeline = (db: DB, row: PipelineRow) =>
  st(
    db,
    `INSERT INTO pipelines(project, name, version, spec, user_spec, salt, state, stopped, reason, spec_commit, created, updated)
     VALUES (@project, @name, @version, @spec, @user_spec, @salt, @state, @stopped, @reason, @spec_commit, @created, @updated)
     ON CONFLICT(project, name) DO UPDATE SET version = excluded.version, spec = excluded.spec, user_spec = excluded.user_spec,
       salt = excluded.salt, state = excluded.state, stopped = 0, reason = '', spec_commit = excluded.spec_commit, updated = excluded.updated`,
  ).run(row)

export const insertPipelineVersion = (db: DB, row: PipelineRow) =>
  st(db, 'INSERT INTO pipeline_versions(project, name, version, spec, salt, spec_commit, created) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    row.project,
    row.name,
    row.version,
    row.spec,
    row.salt,
    row.spec_commit,
    row.updated,
  )

export const getPipelineVersion = (db: DB, project: string, name: string, version: number) =>
  st(db, 'SELECT spec, salt, spec_commit FROM pipeline_versions WHERE project = ? AND name = ? AND version = ?').get(project, name, version) as
    | PipelineVersionRow
    | undefined

/** Stop (stopped = 1) or start (stopped = 0) a pipeline, with the state that goes with it. */
export const setPipelineStopped = (db: DB, project: string, name: string, stopped: boolean, state: PipelineState, at: string) =>
  st(db, 'UPDATE pipelines SET stopped = ?, state = ?, updated = ? WHERE project = ? AND name = ?').run(stopped ? 1 : 0, state, at, project, name)

/** The run state of a spout or service as its supervisor sees it (state and reason; `updated` unchanged). */
export const setPipelineRunState = (db: DB, project: string, name: string, state: PipelineState, reason: string) =>
  st(db, 'UPDATE pipelines SET state = ?, reason = ? WHERE project = ? AND name = ? AND stopped = 0').run(state, reason, project, name)

/** Delete a pipeline and all its versions. */
export function deletePipeline(db: DB, project: string, name: string): void {
  st(db, 'DELETE FROM pipeline_versions WHERE project = ? AND name = ?').run(project, name)
  st(db, 'DELETE FROM pipelines WHERE project = ? AND name = ?').run(project, name)
}
