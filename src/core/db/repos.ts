/**
 * Repo rows (`repos`): id (integer key the other PFS tables reference), project, name, type
 * (user, meta, spec) and description. Deleting a repo row removes its branches and commits
 * (ON DELETE CASCADE); provenance links from other repos are removed by their own modules.
 * Plain synchronous functions over the handle: handle first, no awaits, plain rows.
 */
import type {RepoType} from '../types.js'
import {st} from './statements.js'
import type {DB} from './types.js'

export interface RepoRow {
  id: number
  project: string
  name: string
  type: RepoType
  description: string
  created: string
  /** user metadata JSON (db/metadata.ts) */
  metadata?: string
}

export const getRepo = (db: DB, project: string, name: string, type: RepoType) =>
  st(db, 'SELECT * FROM repos WHERE project = ? AND name = ? AND type = ?').get(project, name, type) as RepoRow | undefined
export const getRepoById = (db: DB, id: number) => st(db, 'SELECT * FROM repos WHERE id = ?').get(id) as RepoRow | undefined
export const listRepos = (db: DB, project?: string) =>
  (project === undefined
    ? st(db, 'SELECT * FROM repos ORDER BY created DESC, id DESC').all()
    : st(db, 'SELECT * FROM repos WHERE project = ? ORDER BY created DESC, id DESC').all(project)) as RepoRow[]
export function insertRepo(db: DB, r: Omit<RepoRow, 'id'>): number {
  return Number(
    st(db, 'INSERT INTO repos(project, name, type, description, created) VALUES (@project, @name, @type, @description, @created)').run(r)
      .lastInsertRowid,
  )
}

export const setRepoDescription = (db: DB, id: number, description: string) =>
  st(db, 'UPDATE repos SET description = ? WHERE id = ?').run(description, id)
/** Deletes the repo row; its branches and commits go with it (ON DELETE CASCADE). */
export const deleteRepoRow = (db: DB, id: number) => st(db, 'DELETE FROM repos WHERE id = ?').run(id)
