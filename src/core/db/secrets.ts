/**
 * Secret rows (table `secrets`, schema 4): plain synchronous functions, handle first.
 * `data` is the JSON map of key → base64 bytes (as in a Kubernetes Secret); never logged.
 */
import type {DB} from './types.js'
import {st} from './statements.js'

export interface SecretRow {
  name: string
  type: string
  /** JSON {key: base64} */
  data: string
  created: string
}

/** Insert a secret; false when one of that name exists. */
export const insertSecret = (db: DB, r: SecretRow) =>
  st(db, 'INSERT OR IGNORE INTO secrets(name, type, data, created) VALUES (@name, @type, @data, @created)').run(r).changes === 1

export const getSecret = (db: DB, name: string) => st(db, 'SELECT * FROM secrets WHERE name = ?').get(name) as SecretRow | undefined

export const listSecrets = (db: DB) => st(db, 'SELECT * FROM secrets ORDER BY name').all() as SecretRow[]

export const deleteSecret = (db: DB, name: string) => st(db, 'DELETE FROM secrets WHERE name = ?').run(name)
