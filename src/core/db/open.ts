/**
 * The metadata database: one SQLite file (`.pach/pach.db`) in WAL mode, opened with
 * better-sqlite3 (synchronous API).
 *
 * Invariants:
 * - every multi-statement change runs inside `withTx` (BEGIN IMMEDIATE), which is
 *   synchronous: no `await` may happen inside it (better-sqlite3 issue #319).
 * - a writer that finds the database busy waits up to `busyTimeoutMs` and then gets a
 *   LockedError; it never sees a half-applied change.
 * - the schema version lives in PRAGMA user_version and is migrated forward only
 *   (see migrations.ts); a database from a newer pach is refused before any write.
 */
import Database from 'better-sqlite3'
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {InvalidArgumentError, translateSystemError} from '../errors.js'
import {migrate, SCHEMA_VERSION} from './migrations.js'
import type {DB} from './types.js'

export type {DB}

export interface OpenDbOptions {
  readonly?: boolean
  busyTimeoutMs?: number
  /** create the file if missing (init) */
  create?: boolean
}

/** better-sqlite3's native addon: its loaded exports, or the path of its `.node` file. */
export type NativeBinding = string | object

let provider: (() => NativeBinding) | undefined

/**
 * Where the addon comes from when it is not in node_modules: the single executable
 * (src/cli/binary.ts) carries it inside itself and registers a provider, called on the first
 * open (commands that open no database never load it).
 */
export function provideNativeBinding(fn: () => NativeBinding): void {
  provider = fn
  addonPath = undefined
}

/**
 * The compiled addon: the provider's, else located directly: better-sqlite3's default lookup
 * (the `bindings` package) probes a dozen paths and walks a stack trace on every start.
 * Undefined when the addon is not where a release build puts it (then better-sqlite3 searches
 * as usual).
 */
let addonPath: NativeBinding | null | undefined
function nativeBinding(): NativeBinding | undefined {
  if (addonPath === undefined && provider) addonPath = provider()
  if (addonPath === undefined) {
    try {
      const pkg = createRequire(import.meta.url).resolve('better-sqlite3/package.json')
      const path = join(dirname(pkg), 'build', 'Release', 'better_sqlite3.node')
      addonPath = existsSync(path) ? path : null
    } catch {
      addonPath = null
    }
  }
  return addonPath ?? undefined
}

export function openDb(file: string, opts: OpenDbOptions = {}): DB {
  let db: DB
  try {
    db = new Database(file, {
      readonly: opts.readonly ?? false,
      fileMustExist: !opts.create,
      timeout: opts.busyTimeoutMs ?? 15_000,
      // better-sqlite3 also takes the loaded exports (lib/database.js); its types only say string
      nativeBinding: nativeBinding() as string | undefined,
    })
  } catch (e) {
    throw translateSystemError(e)
  }
  try {
    // the version is read before anything that may write (journal_mode rewrites the header)
    const version = db.pragma('user_version', {simple: true}) as number
    if (version > SCHEMA_VERSION) {
      throw new InvalidArgumentError(
        'FORMAT_TOO_NEW',
        `this .pach was written by a newer pach (schema ${version}, this pach knows ${SCHEMA_VERSION})`,
        {hint: 'upgrade pach to open it; nothing was changed'},
      )
    }
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
    }
    db.pragma('foreign_keys = ON')
    if (version < SCHEMA_VERSION) {
      if (opts.readonly) {
        throw new InvalidArgumentError('FORMAT_TOO_OLD', `this .pach needs a schema upgrade (schema ${version})`, {
          hint: 'run any writing pach command (for example `pach list repo`) with write access to upgrade it',
        })
      }
      withTx(db, () => migrate(db, version))
    }
  } catch (e) {
    db.close()
    throw translateSystemError(e)
  }
  return db
}

/**
 * Run `fn` inside one read transaction (BEGIN DEFERRED), so every statement it runs sees the
 * same state of the database; inside a transaction already, just run it. `fn` is synchronous.
 */
export function withRead<T>(db: DB, fn: () => T): T {
  if (db.inTransaction) return fn()
  try {
    return db.transaction(fn).deferred()
  } catch (e) {
    throw translateSystemError(e)
  }
}

/** Run fn inside BEGIN IMMEDIATE … COMMIT (inside a transaction already, just run it); rolls back on throw. fn must be synchronous. */
export function withTx<T>(db: DB, fn: () => T): T {
  if (db.inTransaction) return fn()
  try {
    return db.transaction(fn).immediate()
  } catch (e) {
    throw translateSystemError(e)
  }
}

/**
 * Run `fn` inside a savepoint: what it wrote stays if it returns and is rolled back if it
 * throws (the throw goes on), while the enclosing transaction goes on either way. Outside a
 * transaction the savepoint is one (deferred). `fn` is synchronous.
 */
export function inSavepoint<T>(db: DB, fn: () => T): T {
  db.exec('SAVEPOINT pach_sp')
  try {
    const v = fn()
    db.exec('RELEASE pach_sp')
    return v
  } catch (e) {
    db.exec('ROLLBACK TO pach_sp')
    db.exec('RELEASE pach_sp')
    throw e
  }
}

/**
 * Open a read transaction that stays open across awaits (an export streams one snapshot);
 * returns the function that ends it. Writers in other connections go on meanwhile (WAL).
 */
export function beginSnapshot(db: DB): () => void {
  db.exec('BEGIN')
  return () => {
    if (db.inTransaction) db.exec('COMMIT')
  }
}

/**
 * Run `fn` with every commit synced to disk before it returns (synchronous = FULL), then
 * restore the connection's setting: for work that deletes files right after the commit that
 * stops referencing them (gc), so an OS crash cannot bring the old references back.
 */
export async function withFullSync<T>(db: DB, fn: () => Promise<T>): Promise<T> {
  const sync = db.pragma('synchronous', {simple: true})
  db.pragma('synchronous = FULL')
  try {
    return await fn()
  } finally {
    db.pragma(`synchronous = ${Number(sync)}`)
  }
}

/** Checkpoint the WAL into the database and truncate it to zero bytes. */
export const checkpointTruncate = (db: DB) => void db.pragma('wal_checkpoint(TRUNCATE)')

/** WAL pages between automatic checkpoints (SQLite's default: 1,000). */
export const setAutoCheckpoint = (db: DB, pages: number) => void db.pragma(`wal_autocheckpoint = ${Math.floor(pages)}`)

/** SQLite's quick_check: 'ok', or the first problem it found. */
export const quickCheck = (db: DB) => String(db.pragma('quick_check', {simple: true}))
