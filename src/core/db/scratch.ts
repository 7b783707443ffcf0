/**
 * A running job's scratch tables: what its datums produced, kept in SQLite's temp schema
 * (a file of its own, private to the connection, gone when it closes; never in pach.db)
 * instead of in memory, so a job over a million datums holds a few rows at a time.
 *
 * - outcomes: one row per datum the job ran, the `datums` row it will write (inputs, state,
 *   reason, stats, output tree; its inputs become `datum_inputs` rows) and its log file's
 *   content (JSON of a Content), keyed
 *   by datum id so they read back in id order (the order of a datum set and of `/meta`).
 * - paths: every file path of the merged output with the datum that wrote it, keyed by path,
 *   so two datums writing one path are found by the key and the output tree is built from
 *   paths in order.
 * Writes are buffered and inserted in batches of BATCH rows, each batch one synchronous
 * transaction on the temp schema (it takes no lock on pach.db). Reads in order come in pages
 * of BATCH rows by key (an open better-sqlite3 iterator would keep the connection busy, and
 * the caller writes trees between rows). `drop` removes the tables.
 */
import type {DatumRow} from './datums.js'
import type Database from 'better-sqlite3'
import type {DB} from './types.js'

const BATCH = 1000
let serial = 0

/** A datum the job ran: its row to be, and its log file's content (a Content as JSON). */
export interface OutcomeRow extends Omit<DatumRow, 'project' | 'pipeline' | 'job_id'> {
  logs: string
}

export class JobScratch {
  private readonly outcomes: string
  private readonly paths: string
  private pending: OutcomeRow[] = []
  private pendingPaths = new Map<string, [datum: string, entry: string]>()
  private readonly statements = new Map<string, Database.Statement>()

  constructor(private readonly db: DB) {
    const n = ++serial
    this.outcomes = `temp.job_outcomes_${process.pid}_${n}`
    this.paths = `temp.job_paths_${process.pid}_${n}`
    db.exec(`CREATE TABLE ${this.outcomes}(datum_id TEXT PRIMARY KEY, idx INTEGER NOT NULL, hash TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL,
        inputs TEXT NOT NULL, stats TEXT NOT NULL, output BLOB, logs TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE ${this.paths}(path TEXT PRIMARY KEY, datum TEXT NOT NULL, entry TEXT NOT NULL) WITHOUT ROWID`)
  }

  /** Record a datum's outcome (replacing an earlier one of the same datum). */
  put(row: OutcomeRow): void {
    this.pending.push(row)
    if (this.pending.length >= BATCH) this.flush()
  }

  private flush(): void {
    if (this.pending.length) {
      const ins = this.q(`INSERT OR REPLACE INTO ${this.outcomes} VALUES (@datum_id, @idx, @hash, @state, @reason, @inputs, @stats, @output, @logs)`)
      const rows = this.pending
      this.pending = []
      this.db.transaction(() => {
        for (const r of rows) ins.run(r)
      })()
    }
  }

  get(id: string): OutcomeRow | undefined {
    this.flush()
    return this.q(`SELECT * FROM ${this.outcomes} WHERE datum_id = ?`).get(id) as OutcomeRow | undefined
  }

  /** Every outcome in datum-id order, a page at a time. */
  *all(): Generator<OutcomeRow> {
    this.flush()
    yield* this.pages<OutcomeRow>(`SELECT * FROM ${this.outcomes} WHERE datum_id > ? ORDER BY datum_id LIMIT ${BATCH}`, (r) => r.datum_id)
  }

  /** Id, hash and state of every outcome in datum-id order (the set's edits). */
  *states(): Generator<Pick<OutcomeRow, 'datum_id' | 'hash' | 'state'>> {
    this.flush()
    yield* this.pages<Pick<OutcomeRow, 'datum_id' | 'hash' | 'state'>>(`SELECT datum_id, hash, state FROM ${this.outcomes} WHERE datum_id > ? ORDER BY datum_id LIMIT ${BATCH}`, (r) => r.datum_id)
  }

  /** Rows of a keyset-paged query (`?` = the last key read), every page read whole first. */
  private *pages<T>(sql: string, key: (row: T) => string): Generator<T> {
    let after = ''
    for (;;) {
      const page = this.q(sql).all(after) as T[]
      yield* page
      if (page.length < BATCH) return
      after = key(page.at(-1)!)
    }
  }

  /**
   * Write every outcome as a `datums` row of job `job`, and each of its inputs as a
   * `datum_inputs` row (the lineage index, db/datums.ts), inside the caller's transaction.
   */
  insertRows(project: string, pipeline: string, job: string): void {
    this.flush()
    this.q(
      `INSERT OR REPLACE INTO datums(project, pipeline, job_id, datum_id, idx, hash, state, reason, inputs, stats, output)
       SELECT ?, ?, ?, datum_id, idx, hash, state, reason, inputs, stats, output FROM ${this.outcomes}`,
    ).run(project, pipeline, job)
    this.q(
      `INSERT OR IGNORE INTO datum_inputs(project, repo, repo_type, path, pipeline_project, pipeline, job_id, datum_id)
       SELECT json_extract(i.value, '$.project'), json_extract(i.value, '$.repo'), json_extract(i.value, '$.repo_type'), json_extract(i.value, '$.path'), ?, ?, ?, o.datum_id
       FROM ${this.outcomes} o, json_each(o.inputs) i`,
    ).run(project, pipeline, job)
  }

  /**
   * Claim an output path for a datum: true when it was free, else false (a duplicate path).
   * Claims are checked against what was flushed and what is pending.
   */
  claim(path: string, datum: string, entry: string): boolean {
    if (this.pendingPaths.has(path) || this.q(`SELECT 1 FROM ${this.paths} WHERE path = ?`).get(path)) return false
    this.pendingPaths.set(path, [datum, entry])
    if (this.pendingPaths.size >= BATCH) this.flushPaths()
    return true
  }

  /** The datum that claimed a path. */
  owner(path: string): string | undefined {
    const p = this.pendingPaths.get(path)
    if (p) return p[0]
    return this.q(`SELECT datum FROM ${this.paths} WHERE path = ?`).pluck().get(path) as string | undefined
  }

  private flushPaths(): void {
    if (!this.pendingPaths.size) return
    const ins = this.q(`INSERT INTO ${this.paths} VALUES (?, ?, ?)`)
    const rows = this.pendingPaths
    this.pendingPaths = new Map()
    this.db.transaction(() => {
      for (const [path, [datum, entry]] of rows) ins.run(path, datum, entry)
    })()
  }

  /** Every claimed path in byte order, with its entry (JSON), a page at a time. */
  *claimed(): Generator<{path: string; entry: string}> {
    this.flushPaths()
    yield* this.pages<{path: string; entry: string}>(`SELECT path, entry FROM ${this.paths} WHERE path > ? ORDER BY path LIMIT ${BATCH}`, (r) => r.path)
  }

  /** A statement on this job's tables, prepared once (not in the connection-wide cache: the tables are gone with the job). */
  private q(sql: string): Database.Statement {
    let stmt = this.statements.get(sql)
    if (!stmt) this.statements.set(sql, (stmt = this.db.prepare(sql)))
    return stmt
  }

  drop(): void {
    this.statements.clear()
    this.pending = []
    this.pendingPaths = new Map()
    this.db.exec(`DROP TABLE IF EXISTS ${this.outcomes}; DROP TABLE IF EXISTS ${this.paths}`)
  }
}
