/**
 * The rows a pach archive carries (core/archive): which tables, how each maps to another
 * store's, and the table-generic reads `pach export` pages through and the writes `pach import`
 * makes in its one transaction. Plain synchronous functions, handle first, like the other row
 * modules; the archive's services hold no SQL.
 *
 * Concepts: a `TableSpec` says how a table's rows travel — the key columns that identify a
 * row, columns holding a local repo id (archived as [project, name, type]), local columns not
 * archived, and whether an existing row with the same key is compared (a difference is a
 * conflict) or kept as it is (projects: a container whose description is the store's own;
 * commit sets: an id shared by commits, whose timestamps follow whichever commits the store
 * has). A `Selection` is what an export takes: repos by local id, pipelines, projects.
 *
 * Reads page by keyset (`seq` or `rowid`, PAGE rows a query) so memory does not grow with the
 * store; the generators run their queries between yields, so an export may await its sink
 * between rows (it holds one read transaction across them: every page sees the same snapshot).
 */
import type {DB} from './types.js'
import {st} from './statements.js'

export interface TableSpec {
  name: string
  key: readonly string[]
  repoCols?: readonly string[]
  drop?: readonly string[]
  /** renumbered in archive order after the store's own (commits.seq, jobs.seq) */
  seq?: boolean
  compare: boolean
}

/** In the order an import inserts them (a row's own repo and parent row first). */
export const TABLES: readonly TableSpec[] = [
  {name: 'projects', key: ['name'], compare: false},
  {name: 'repos', key: ['project', 'name', 'type'], drop: ['id'], compare: true},
  {name: 'commit_sets', key: ['id'], compare: false},
  {name: 'commits', key: ['repo_id', 'id'], repoCols: ['repo_id'], drop: ['seq'], seq: true, compare: true},
  {name: 'commit_provenance', key: ['repo_id', 'commit_id', 'prov_repo_id', 'prov_commit_id'], repoCols: ['repo_id', 'prov_repo_id'], compare: true},
  {name: 'branches', key: ['repo_id', 'name'], repoCols: ['repo_id'], compare: true},
  {name: 'branch_provenance', key: ['repo_id', 'branch', 'prov_repo_id', 'prov_branch'], repoCols: ['repo_id', 'prov_repo_id'], compare: true},
  {name: 'pipelines', key: ['project', 'name'], compare: true},
  {name: 'pipeline_versions', key: ['project', 'name', 'version'], compare: true},
  {name: 'jobs', key: ['project', 'pipeline', 'id'], drop: ['seq', 'lease_pid', 'lease_host', 'lease_at'], seq: true, compare: true},
  {name: 'job_datums', key: ['project', 'pipeline', 'job_id'], compare: true},
  {name: 'datums', key: ['project', 'pipeline', 'job_id', 'datum_id'], compare: true},
]
export const TABLE_BY_NAME: ReadonlyMap<string, TableSpec> = new Map(TABLES.map((t) => [t.name, t]))

const PAGE = 1000

export interface RepoIdRow {
  id: number
  project: string
  name: string
  type: string
}

/** What an export reads: these repos (local ids), these pipelines, these projects. */
export interface Selection {
  repoIds: readonly number[]
  pipelines: readonly {project: string; name: string}[]
  projects: readonly string[]
}

// ---------------------------------------------------------------- export

/** The graph an export plans over: every repo, repo-level provenance edges, every pipeline. */
export function archiveGraph(db: DB): {repos: RepoIdRow[]; edges: (readonly [number, number])[]; pipelines: {project: string; name: string}[]} {
  return {
    repos: st(db, 'SELECT id, project, name, type FROM repos ORDER BY project, name, type').all() as RepoIdRow[],
    edges: (st(db, 'SELECT DISTINCT repo_id, prov_repo_id FROM commit_provenance UNION SELECT DISTINCT repo_id, prov_repo_id FROM branch_provenance').raw().all() as [number, number][]).map(
      ([a, b]) => [a, b] as const,
    ),
    pipelines: st(db, 'SELECT project, name FROM pipelines ORDER BY project, name').all() as {project: string; name: string}[],
  }
}

const selectedRepos = (s: Selection) => JSON.stringify(s.repoIds)
const selectedPipelines = (s: Selection) => JSON.stringify(s.pipelines.map((p) => `${p.project}\0${p.name}`))

/** WHERE clause and parameter selecting the rows of `t` in the selection. */
function filterOf(t: TableSpec, s: Selection): {where: string; param: string} {
  switch (t.name) {
    case 'projects':
      return {where: 'name IN (SELECT value FROM json_each(@p))', param: JSON.stringify(s.projects)}
    case 'repos':
      return {where: 'id IN (SELECT value FROM json_each(@p))', param: selectedRepos(s)}
    case 'commit_sets':
      return {where: 'id IN (SELECT id FROM commits WHERE repo_id IN (SELECT value FROM json_each(@p)))', param: selectedRepos(s)}
    case 'commits':
    case 'commit_provenance':
    case 'branches':
    case 'branch_provenance':
      return {where: 'repo_id IN (SELECT value FROM json_each(@p))', param: selectedRepos(s)}
    case 'pipelines':
    case 'pipeline_versions':
      return {where: "project || char(0) || name IN (SELECT value FROM json_each(@p))", param: selectedPipelines(s)}
    default:
      return {where: "project || char(0) || pipeline IN (SELECT value FROM json_each(@p))", param: selectedPipelines(s)}
  }
}

/** Page through `sql` (selecting `_k`, the keyset column, and binding @p and @after), row by row. */
function* paged<R extends {_k: number}>(db: DB, sql: string, param: string): Generator<R> {
  const q = st(db, sql)
  for (let after = Number.MIN_SAFE_INTEGER; ; ) {
    const batch = q.all({p: param, after}) as R[]
    yield* batch
    if (batch.length < PAGE) return
    after = batch[batch.length - 1]!._k
  }
}

/** The selected rows of table `t`, every column (`_k`, the paging key, removed), in key order. */
export function* archivedRows(db: DB, t: TableSpec, s: Selection): Generator<Record<string, unknown>> {
  const f = filterOf(t, s)
  const order = t.seq ? 'seq' : 'rowid'
  for (const r of paged<{_k: number} & Record<string, unknown>>(db, `SELECT ${order} AS _k, * FROM ${t.name} WHERE (${f.where}) AND ${order} > @after ORDER BY ${order} LIMIT ${PAGE}`, f.param)) {
    const {_k, ...row} = r
    yield row
  }
}

/** The root trees the selection reaches: each selected commit's, then each selected pipeline's datum outputs. */
export function* archivedTreeRoots(db: DB, s: Selection): Generator<Buffer> {
  for (const r of paged<{_k: number; h: Buffer}>(db, `SELECT seq AS _k, tree AS h FROM commits WHERE repo_id IN (SELECT value FROM json_each(@p)) AND tree IS NOT NULL AND seq > @after ORDER BY seq LIMIT ${PAGE}`, selectedRepos(s))) yield r.h
  for (const r of paged<{_k: number; h: Buffer}>(
    db,
    `SELECT rowid AS _k, output AS h FROM datums WHERE project || char(0) || pipeline IN (SELECT value FROM json_each(@p)) AND output IS NOT NULL AND rowid > @after ORDER BY rowid LIMIT ${PAGE}`,
    selectedPipelines(s),
  ))
    yield r.h
}

/** The roots of the selected pipelines' datum sets. */
export function* archivedDatumSetRoots(db: DB, s: Selection): Generator<Buffer> {
  for (const r of paged<{_k: number; root: Buffer}>(
    db,
    `SELECT rowid AS _k, root FROM job_datums WHERE project || char(0) || pipeline IN (SELECT value FROM json_each(@p)) AND root IS NOT NULL AND rowid > @after ORDER BY rowid LIMIT ${PAGE}`,
    selectedPipelines(s),
  ))
    yield r.root
}

// ---------------------------------------------------------------- import

/** The columns of each archived table in this store's schema. */
export function archivedColumns(db: DB): Map<string, Set<string>> {
  return new Map(TABLES.map((t) => [t.name, new Set((st(db, `PRAGMA table_info(${t.name})`).all() as {name: string}[]).map((c) => c.name))]))
}

/** The row of `t` whose key columns (in spec order, repo columns as local ids) are `key`. */
export const rowByKey = (db: DB, t: TableSpec, key: readonly unknown[]) =>
  st(db, `SELECT * FROM ${t.name} WHERE ${t.key.map((k) => `${k} = ?`).join(' AND ')}`).get(...key) as Record<string, unknown> | undefined

/** The next `seq` of commits and of jobs (rows imported are numbered after the store's own). */
export const nextSeqs = (db: DB) => ({
  commits: (st(db, 'SELECT COALESCE(MAX(seq), 0) FROM commits').pluck().get() as number) + 1,
  jobs: (st(db, 'SELECT COALESCE(MAX(seq), 0) FROM jobs').pluck().get() as number) + 1,
})

/** Insert one row of `t` (values by column name); returns its rowid. */
export function insertArchivedRow(db: DB, t: TableSpec, values: Record<string, unknown>): number {
  const names = Object.keys(values)
  return Number(st(db, `INSERT INTO ${t.name}(${names.join(', ')}) VALUES (${names.map((n) => `@${n}`).join(', ')})`).run(values).lastInsertRowid)
}
