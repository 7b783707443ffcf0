/**
 * Prepared-statement cache shared by the row modules: preparing costs more than running, so
 * each SQL text is prepared once per connection and reused. Keyed by the connection (a
 * WeakMap), so a closed project's statements go with it.
 */
import type Database from 'better-sqlite3'
import type {DB} from './types.js'

const cache = new WeakMap<DB, Map<string, Database.Statement>>()

/** The cached statement for `sql` on `db`. */
export function st(db: DB, sql: string): Database.Statement {
  let m = cache.get(db)
  if (!m) cache.set(db, (m = new Map()))
  let s = m.get(sql)
  if (!s) m.set(sql, (s = db.prepare(sql)))
  return s
}
