/**
 * Meta key/values (`meta`): small project-wide settings, such as the active transaction id.
 * Setting a key to undefined deletes it.
 */
import {st} from './statements.js'
import type {DB} from './types.js'

export const getMeta = (db: DB, key: string) => (st(db, 'SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined) ?? undefined
export const setMeta = (db: DB, key: string, value: string | undefined) =>
  value === undefined
    ? st(db, 'DELETE FROM meta WHERE key = ?').run(key)
    : st(db, 'INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value)
