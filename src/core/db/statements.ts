/**
 * Prepared-statement cache shared by the row modules: preparing a statement costs more than
 * running it, so each SQL text is prepared once per connection and reused. Keyed weakly by
 * the connection, so a closed database takes its statements with it.
 */
import type Database from 'better-sqlite3'
import type {DB} from './types.js'

const cache = new WeakMap<DB, Map<string, Database.Statement>>()

/** The prepared statement for `sql` on this connection (prepared on first use). */
export function st(db: DB, sql: string): Database.Statement {
  let m = cache.get(db)
  if (!m) cache.set(db, (m = new Map()))
  let s = m.get(sql)
  if (!s) m.set(sql, (s = db.prepare(sql)))
  return s
}
