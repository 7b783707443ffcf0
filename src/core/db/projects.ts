/**
 * Project rows (`projects`): the namespaces repos and pipelines live in. Plain synchronous
 * functions over the handle (Pachyderm's pfsdb style): handle first, no awaits, plain rows.
 */
import {st} from './statements.js'
import type {DB} from './types.js'

export interface ProjectRow {
  name: string
  description: string
  created: string
  /** user metadata JSON (db/metadata.ts); absent on rows built before insert */
  metadata?: string
}

export const getProject = (db: DB, name: string) => st(db, 'SELECT * FROM projects WHERE name = ?').get(name) as ProjectRow | undefined
export const listProjects = (db: DB) => st(db, 'SELECT * FROM projects ORDER BY name').all() as ProjectRow[]
export const insertProject = (db: DB, p: ProjectRow) =>
  st(db, 'INSERT INTO projects(name, description, created) VALUES (@name, @description, @created)').run(p)
export const setProjectDescription = (db: DB, name: string, description: string) =>
  st(db, 'UPDATE projects SET description = ? WHERE name = ?').run(description, name)
export const deleteProjectRow = (db: DB, name: string) => st(db, 'DELETE FROM projects WHERE name = ?').run(name)
