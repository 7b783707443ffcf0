/**
 * The database handle type every row module takes first. Declared here, below both
 * `open.ts` and `migrations.ts`, so neither imports the other for it.
 */
import type Database from 'better-sqlite3'

export type DB = Database.Database
