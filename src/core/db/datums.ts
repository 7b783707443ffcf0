/**
 * Datum rows (tables `datums`, `job_datums`, `datum_nodes`; db/migrations.ts): plain
 * synchronous functions, handle first.
 *
 * `datums` holds a full row (inputs, stats, output tree) only for a datum a job ran (or
 * skipped as the first job to see it); `job_datums` holds each finished job's datum set: the
 * root of its datum tree (db/datum-tree.ts, nodes in `datum_nodes`), its entry count, and how
 * many of the job's own datums did not succeed (`unsettled`: a base with none can be planned
 * from its changes alone). Invariant: every entry of a set points (`source`) at a job whose
 * `datums` table has the row. Sets share nodes; a node no set reaches is removed by gc.
 *
 * `datum_inputs` indexes the rows' inputs by input repo and path (schema 14): which datums read
 * a file, for `pach lineage --downstream`. It is written with the rows and goes with them.
 *
 * Sets are deleted only with their whole pipeline (deleteDatumsOfPipeline, as `delete
 * pipeline` does). Jobs and their sets outlive their commits: squashing or dropping a commit
 * (pfs/engine.ts) removes commit rows only.
 */
import {DatumTree, type DatumEdit, type DatumNodeStore, type DatumSetEntry, memoryNodes} from './datum-tree.js'
import type {DatumState} from '../types.js'
import type {DB} from './types.js'
import {st} from './statements.js'

export interface DatumRow {
  project: string
  pipeline: string
  job_id: string
  datum_id: string
  /** position in the job's plan */
  idx: number
  hash: string
  state: DatumState
  reason: string
  /** JSON of the datum's inputs (pps/datum.ts DatumInput[]) */
  inputs: string
  /** JSON of the datum's stats */
  stats: string
  /** root tree of what the datum wrote to /pfs/out (null: nothing, or it failed) */
  output: Buffer | null
}

/** The rows a job wrote, by datum id. */
export const listDatumRows = (db: DB, project: string, pipeline: string, job: string) =>
  st(db, 'SELECT * FROM datums WHERE project = ? AND pipeline = ? AND job_id = ?').all(project, pipeline, job) as DatumRow[]

export const getDatumRow = (db: DB, project: string, pipeline: string, job: string, datum: string) =>
  st(db, 'SELECT * FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? AND datum_id = ?').get(project, pipeline, job, datum) as DatumRow | undefined

/** The output tree a job's row records for a datum. */
export const getDatumOutput = (db: DB, project: string, pipeline: string, job: string, datum: string) =>
  (st(db, 'SELECT output FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? AND datum_id = ?').pluck().get(project, pipeline, job, datum) as Buffer | null | undefined) ?? null

/** Forget a datum row's output tree (its files were purged), saying why in `reason`. */
export const clearDatumOutputRow = (db: DB, project: string, pipeline: string, job: string, datum: string, reason: string) =>
  st(db, 'UPDATE datums SET output = NULL, reason = ? WHERE project = ? AND pipeline = ? AND job_id = ? AND datum_id = ?').run(reason, project, pipeline, job, datum)

/** Ids of the datums a job processed (not skipped), in plan order. */
export const listProcessedDatumIds = (db: DB, project: string, pipeline: string, job: string) =>
  st(db, "SELECT datum_id FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? AND state != 'SKIPPED' ORDER BY idx").pluck().all(project, pipeline, job) as string[]

/** A datum-set node's bytes. */
export const getDatumNode = (db: DB, hash: Buffer) => st(db, 'SELECT data FROM datum_nodes WHERE hash = ?').pluck().get(hash) as Buffer | undefined
export const putDatumNode = (db: DB, hash: Buffer, data: Buffer) => void st(db, 'INSERT OR IGNORE INTO datum_nodes(hash, data) VALUES (?, ?)').run(hash, data)
export const hasDatumNode = (db: DB, hash: Buffer) => st(db, 'SELECT 1 FROM datum_nodes WHERE hash = ?').pluck().get(hash) !== undefined

const nodeStore = (db: DB): DatumNodeStore => ({
  get: (hash) => getDatumNode(db, hash),
  put: (hash, data) => putDatumNode(db, hash, data),
})

const trees = new WeakMap<DB, DatumTree>()

/** The datum tree over a project's `datum_nodes` (one per connection: its node cache is shared). */
export function datumTree(db: DB): DatumTree {
  let t = trees.get(db)
  if (!t) trees.set(db, (t = new DatumTree(nodeStore(db))))
  return t
}

/**
 * One job's datum set: entries by datum id, each with its state in this job (the stored state
 * when the job ran it, else SKIPPED), read from the tree node by node.
 */
export class DatumSet {
  constructor(
    private readonly tree: DatumTree,
    readonly job: string,
    readonly root: Buffer | null,
    readonly size: number,
    /** the job's own datums that neither succeeded nor were skipped */
    readonly unsettled: number,
  ) {}

  private inJob(e: DatumSetEntry): DatumSetEntry {
    return e.source === this.job || e.state === 'SKIPPED' ? e : {...e, state: 'SKIPPED'}
  }

  get(id: string): DatumSetEntry | undefined {
    const e = this.tree.get(this.root, id)
    return e && this.inJob(e)
  }

  /** Entries as stored (state in their source job): what a next job's tree keeps unchanged. */
  stored(id: string): DatumSetEntry | undefined {
    return this.tree.get(this.root, id)
  }

  /** How many of the set's datums have an id below `id`: its place in the order of `list datum`. */
  countBelow(id: string): number {
    return this.tree.countBelow(this.root, id)
  }

  *values(): Generator<DatumSetEntry> {
    for (const e of this.tree.entries(this.root)) yield this.inJob(e)
  }

  *keys(): Generator<string> {
    for (const e of this.tree.entries(this.root)) yield e.id
  }

  /** This set with edits applied, as another job's (nodes are written as they are made). */
  edit(job: string, edits: readonly DatumEdit[], unsettled: number): DatumSet {
    const root = this.tree.edit(this.root, edits)
    return new DatumSet(this.tree, job, root, this.tree.size(root), unsettled)
  }
}

/** The set of a job with no base: built from its entries, given in ascending id order. */
export function buildDatumSet(db: DB, job: string, sorted: Iterable<DatumSetEntry>, unsettled: number): DatumSet {
  const tree = datumTree(db)
  const root = tree.build(sorted)
  return new DatumSet(tree, job, root, tree.size(root), unsettled)
}

/** The empty set (a job with no base). */
export const emptyDatumSet = (db: DB, job: string) => new DatumSet(datumTree(db), job, null, 0, 0)

interface SetRow {
  root: Buffer | null
  size: number
  unsettled: number
}

const getSetRow = (db: DB, project: string, pipeline: string, job: string) =>
  st(db, 'SELECT root, size, unsettled FROM job_datums WHERE project = ? AND pipeline = ? AND job_id = ?').get(project, pipeline, job) as SetRow | undefined

/** A job's datum set; a job that never finished has only its own rows (in a tree held in memory). */
export function getDatumSet(db: DB, project: string, pipeline: string, job: string): DatumSet {
  const row = getSetRow(db, project, pipeline, job)
  if (row) return new DatumSet(datumTree(db), job, row.root, row.size, row.unsettled)
  const own = st(db, 'SELECT datum_id, hash, state FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? ORDER BY datum_id').all(project, pipeline, job) as Pick<
    DatumRow,
    'datum_id' | 'hash' | 'state'
  >[]
  const tree = new DatumTree(memoryNodes())
  const root = tree.build(own.map((r) => ({id: r.datum_id, hash: r.hash, state: r.state as DatumSetEntry['state'], source: job})))
  return new DatumSet(tree, job, root, own.length, 0)
}

/** Whether a job's datum set is stored (it finished having run; a job running again after that is a purge's repair). */
export const hasStoredDatumSet = (db: DB, project: string, pipeline: string, job: string) => getSetRow(db, project, pipeline, job) !== undefined

export const putDatumRow = (db: DB, r: DatumRow) =>
  st(
    db,
    `INSERT OR REPLACE INTO datums(project, pipeline, job_id, datum_id, idx, hash, state, reason, inputs, stats, output)
     VALUES (@project, @pipeline, @job_id, @datum_id, @idx, @hash, @state, @reason, @inputs, @stats, @output)`,
  ).run(r)

/** Record a job's datum set (its tree's nodes are stored already). */
export const putDatumSet = (db: DB, project: string, pipeline: string, set: DatumSet) =>
  st(db, 'INSERT OR REPLACE INTO job_datums(project, pipeline, job_id, root, size, unsettled) VALUES (?, ?, ?, ?, ?, ?)').run(project, pipeline, set.job, set.root, set.size, set.unsettled)

/** How a job's set is stored (tests, bench): its root, entry count and node count and bytes. */
export function datumSetStorage(db: DB, project: string, pipeline: string, job: string): {root: Buffer | null; size: number; nodes: number; bytes: number} | undefined {
  const row = getSetRow(db, project, pipeline, job)
  if (!row) return undefined
  let nodes = 0
  let bytes = 0
  const store = nodeStore(db)
  for (const h of datumTree(db).nodes(row.root)) {
    nodes++
    bytes += store.get(h)!.length
  }
  return {root: row.root, size: row.size, nodes, bytes}
}

/** Every set's root (gc marks their nodes). */
export const listDatumSetRoots = (db: DB) => st(db, 'SELECT root FROM job_datums WHERE root IS NOT NULL').pluck().all() as Buffer[]
export const listDatumNodeHashes = (db: DB) => st(db, 'SELECT hash FROM datum_nodes').pluck().all() as Buffer[]
export const deleteDatumNode = (db: DB, hash: Buffer) => st(db, 'DELETE FROM datum_nodes WHERE hash = ?').run(hash)

export interface DatumSetProblem {
  project: string
  pipeline: string
  job: string
  problem: string
}

/**
 * Check every stored datum set (fsck): its tree's nodes decode, ids ascend, counts and
 * boundaries are as db/datum-tree.ts says, and its recorded size is the tree's. Nodes shared by
 * several sets are checked once (each set's own nodes, and the items that point at shared ones).
 */
export function verifyDatumSets(db: DB): DatumSetProblem[] {
  const problems: DatumSetProblem[] = []
  const tree = datumTree(db)
  const seen = new Set<string>()
  for (const r of st(db, 'SELECT project, pipeline, job_id, root, size FROM job_datums').all() as {project: string; pipeline: string; job_id: string; root: Buffer | null; size: number}[]) {
    const report = (problem: string) => problems.push({project: r.project, pipeline: r.pipeline, job: r.job_id, problem})
    const found = tree.verify(r.root, seen)
    for (const p of found) report(`its datum set is damaged: ${p}`)
    if (!found.length && tree.size(r.root) !== r.size) report(`its datum set records ${r.size} datums; its tree holds ${tree.size(r.root)}`)
  }
  return problems
}

/** Delete every datum row and datum set of a pipeline. */
export function deleteDatumsOfPipeline(db: DB, project: string, pipeline: string): void {
  st(db, 'DELETE FROM datums WHERE project = ? AND pipeline = ?').run(project, pipeline)
  st(db, 'DELETE FROM job_datums WHERE project = ? AND pipeline = ?').run(project, pipeline)
  st(db, 'DELETE FROM datum_inputs WHERE pipeline_project = ? AND pipeline = ?').run(project, pipeline)
}

/**
 * Index the inputs of every datum row of these jobs into `datum_inputs` (rows that came in
 * whole, e.g. from `pach import`, rather than through a job's scratch tables); idempotent.
 */
export function indexDatumInputs(db: DB, jobs: Iterable<{project: string; pipeline: string; job_id: string}>): void {
  const q = st(
    db,
    `INSERT OR IGNORE INTO datum_inputs(project, repo, repo_type, path, pipeline_project, pipeline, job_id, datum_id)
     SELECT json_extract(i.value, '$.project'), json_extract(i.value, '$.repo'), coalesce(json_extract(i.value, '$.repo_type'), 'user'), json_extract(i.value, '$.path'),
       d.project, d.pipeline, d.job_id, d.datum_id
     FROM datums d, json_each(d.inputs) i
     WHERE d.project = ? AND d.pipeline = ? AND d.job_id = ?
       AND json_extract(i.value, '$.repo') IS NOT NULL AND json_extract(i.value, '$.path') IS NOT NULL`,
  )
  for (const j of jobs) q.run(j.project, j.pipeline, j.job_id)
}

/** A datum row that read an input path (table `datum_inputs`): the job whose row it is, the datum, the path it read. */
export interface DatumInputHit {
  job_id: string
  datum_id: string
  path: string
}

/**
 * The datum rows of pipeline (pipelineProject, pipeline) that read input repo
 * (project, repo, type) at one of `paths` or at a path in [from, to) (a directory's
 * contents); by the table's key, the lineage index of `pach lineage --downstream`.
 */
export function datumsReading(
  db: DB,
  input: {project: string; repo: string; type: string},
  pipelineProject: string,
  pipeline: string,
  paths: readonly string[],
  range?: {from: string; to: string},
): DatumInputHit[] {
  const head = 'SELECT job_id, datum_id, path FROM datum_inputs WHERE project = ? AND repo = ? AND repo_type = ? AND pipeline_project = ? AND pipeline = ?'
  const key = [input.project, input.repo, input.type, pipelineProject, pipeline]
  const out = paths.length ? (st(db, `${head} AND path IN (${paths.map(() => '?').join(', ')})`).all(...key, ...paths) as DatumInputHit[]) : []
  if (range) out.push(...(st(db, `${head} AND path >= ? AND path < ?`).all(...key, range.from, range.to) as DatumInputHit[]))
  return out
}

/** Every datum's output tree (maintenance: kept for incremental merges even when no commit holds it whole). */
/** Point every datum output at `from` to `to` (the tree upgrade). */
export const replaceDatumOutput = (db: DB, from: Buffer, to: Buffer) => st(db, 'UPDATE datums SET output = ? WHERE output = ?').run(to, from)
export const listDatumOutputTrees = (db: DB) => st(db, 'SELECT DISTINCT output FROM datums WHERE output IS NOT NULL').pluck().all() as Buffer[]
