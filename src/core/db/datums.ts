/**
 * Datum rows (tables `datums` and `job_datums`, db/migrations.ts): plain synchronous
 * functions, handle first.
 *
 * `datums` holds a full row (inputs, stats, output tree) only for a datum a job ran (or
 * skipped as the first job to see it); `job_datums` holds each finished job's datum set
 * (db/datum-sets.ts): a snapshot (`base` NULL) or a delta against the set of job `base` of the
 * same pipeline, with `depth` (deltas from the snapshot, this one included) and `chain` (their
 * bytes). Invariants: every entry of a set points (`source`) at a job whose `datums` table has
 * the row; every `base` names a set of the same pipeline, and following `base` ends at a
 * snapshot within MAX_CHAIN steps.
 *
 * Why a base is never lost: sets are deleted only with their whole pipeline
 * (deleteDatumsOfPipeline, as `delete pipeline` does), never one job at a time. Jobs and their
 * sets outlive their commits: squashing or dropping a commit (pfs/engine.ts) removes commit
 * rows only, so a set whose job's commit is gone still serves as the base of later deltas.
 * Anything that comes to delete a single job's set must first rewrite the sets based on it
 * as snapshots, in the same transaction.
 */
import {CorruptObjectError} from '../errors.js'
import type {DatumState} from '../types.js'
import {DatumSetBuilder, MAX_CHAIN, decodeDatumSet, encodeDatumSet, encodeDatumSetDelta, snapshotBytes, type DatumSetEntry} from './datum-sets.js'
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

/** Ids of the datums a job processed (not skipped), in plan order. */
export const listProcessedDatumIds = (db: DB, project: string, pipeline: string, job: string) =>
  st(db, "SELECT datum_id FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? AND state != 'SKIPPED' ORDER BY idx").pluck().all(project, pipeline, job) as string[]

interface SetRow {
  list: Buffer
  base: string | null
  depth: number
  chain: number
}

const getSetRow = (db: DB, project: string, pipeline: string, job: string) =>
  st(db, 'SELECT list, base, depth, chain FROM job_datums WHERE project = ? AND pipeline = ? AND job_id = ?').get(project, pipeline, job) as SetRow | undefined

/** A stored set by datum id, in order (its snapshot, then its chain's deltas applied); undefined when the job has no set. Throws CorruptObjectError for a broken chain. */
function readDatumSet(db: DB, project: string, pipeline: string, job: string): Map<string, DatumSetEntry> | undefined {
  let row = getSetRow(db, project, pipeline, job)
  if (!row) return undefined
  const deltas: Buffer[] = []
  let at = job
  while (row.base !== null) {
    if (deltas.length > MAX_CHAIN) throw new CorruptObjectError(`the datum set of job ${pipeline}@${job} is damaged: its chain of deltas is longer than ${MAX_CHAIN} (a cycle?)`)
    deltas.push(row.list)
    const base: string = row.base
    row = getSetRow(db, project, pipeline, base)
    if (!row) throw new CorruptObjectError(`the datum set of job ${pipeline}@${at} is damaged: it is a delta against job ${base}, which has no datum set`)
    at = base
  }
  const snapshot = decodeDatumSet(row.list)
  const out = new Map<string, DatumSetEntry>()
  if (deltas.length === 0) {
    for (const e of snapshot) out.set(e.id, e)
    return out
  }
  const b = new DatumSetBuilder(snapshot)
  for (let i = deltas.length - 1; i >= 0; i--) b.apply(deltas[i]!)
  for (const e of b.entries()) out.set(e.id, e)
  return out
}

/** A job's datum set by datum id, in the set's order; a job that never finished has only its own rows. */
export function getDatumSet(db: DB, project: string, pipeline: string, job: string): Map<string, DatumSetEntry> {
  const set = readDatumSet(db, project, pipeline, job)
  if (set) return set
  const own = st(db, 'SELECT datum_id, hash, state FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? ORDER BY idx').all(project, pipeline, job) as Pick<
    DatumRow,
    'datum_id' | 'hash' | 'state'
  >[]
  return new Map(own.map((r) => [r.datum_id, {id: r.datum_id, hash: r.hash, state: r.state, source: job}]))
}

export const putDatumRow = (db: DB, r: DatumRow) =>
  st(
    db,
    `INSERT OR REPLACE INTO datums(project, pipeline, job_id, datum_id, idx, hash, state, reason, inputs, stats, output)
     VALUES (@project, @pipeline, @job_id, @datum_id, @idx, @hash, @state, @reason, @inputs, @stats, @output)`,
  ).run(r)

/**
 * Store a job's datum set: as a delta against `base` (the job it was planned from, and that
 * job's set as read, in order) when the chain rules of db/datum-sets.ts allow, else whole.
 * Returns how it was stored.
 */
export function putDatumSet(
  db: DB,
  project: string,
  pipeline: string,
  job: string,
  entries: readonly DatumSetEntry[],
  base?: {job: string; set: ReadonlyMap<string, DatumSetEntry>},
): 'delta' | 'snapshot' {
  const b = base && base.job !== job ? st(db, 'SELECT depth, chain FROM job_datums WHERE project = ? AND pipeline = ? AND job_id = ?').get(project, pipeline, base.job) as Pick<SetRow, 'depth' | 'chain'> | undefined : undefined
  if (base && b && b.depth < MAX_CHAIN) {
    const delta = encodeDatumSetDelta(base.set, entries)
    if (b.chain + delta.length <= snapshotBytes(entries.length) / 2) {
      st(db, 'INSERT OR REPLACE INTO job_datums(project, pipeline, job_id, list, base, depth, chain) VALUES (?, ?, ?, ?, ?, ?, ?)').run(project, pipeline, job, delta, base.job, b.depth + 1, b.chain + delta.length)
      return 'delta'
    }
  }
  st(db, 'INSERT OR REPLACE INTO job_datums(project, pipeline, job_id, list, base, depth, chain) VALUES (?, ?, ?, ?, NULL, 0, 0)').run(project, pipeline, job, encodeDatumSet(entries))
  return 'snapshot'
}

/** How a job's set is stored (tests, bench): snapshot or delta, its base and chain. */
export const datumSetStorage = (db: DB, project: string, pipeline: string, job: string) =>
  st(db, 'SELECT base, depth, chain, length(list) AS bytes FROM job_datums WHERE project = ? AND pipeline = ? AND job_id = ?').get(project, pipeline, job) as
    | {base: string | null; depth: number; chain: number; bytes: number}
    | undefined

export interface DatumSetProblem {
  project: string
  pipeline: string
  job: string
  problem: string
}

/**
 * Check that every stored datum set resolves (fsck): each delta's base exists in the same
 * pipeline, `depth` and `chain` agree with the chain, and every delta applies to its base's
 * set with the count it records. Each set is rebuilt once, from its base's (sets are visited
 * from the snapshots down), so the cost is the snapshots' decoding plus every delta once.
 */
export function verifyDatumSets(db: DB): DatumSetProblem[] {
  const problems: DatumSetProblem[] = []
  const all = st(db, 'SELECT project, pipeline, job_id, base, depth, chain, length(list) AS bytes FROM job_datums ORDER BY project, pipeline').all() as {
    project: string
    pipeline: string
    job_id: string
    base: string | null
    depth: number
    chain: number
    bytes: number
  }[]
  const byPipeline = new Map<string, typeof all>()
  for (const r of all) {
    const k = `${r.project}\0${r.pipeline}`
    const list = byPipeline.get(k)
    if (list) list.push(r)
    else byPipeline.set(k, [r])
  }
  const listOf = st(db, 'SELECT list FROM job_datums WHERE project = ? AND pipeline = ? AND job_id = ?').pluck()
  for (const sets of byPipeline.values()) {
    const {project, pipeline} = sets[0]!
    const byJob = new Map(sets.map((r) => [r.job_id, r]))
    const children = new Map<string, typeof all>()
    const reported = new Set<string>()
    const report = (job: string, problem: string) => {
      reported.add(job)
      problems.push({project, pipeline, job, problem})
    }
    for (const r of sets) {
      if (r.base === null) continue
      if (!byJob.has(r.base)) {
        report(r.job_id, `its datum set is a delta against job ${r.base}, which has no datum set`)
        continue
      }
      const c = children.get(r.base)
      if (c) c.push(r)
      else children.set(r.base, [r])
    }
    const reached = new Set<string>()
    // from each snapshot down its chain, applying each delta in place; only where a set has
    // several dependents is it copied (one copy per extra branch), so memory stays O(one set)
    const walk = (top: (typeof all)[number], set: DatumSetBuilder, depth0: number, chain0: number) => {
      let [r, b, depth, chain] = [top, set, depth0, chain0]
      for (;;) {
        reached.add(r.job_id)
        if (r.depth !== depth || r.chain !== chain) report(r.job_id, `its datum set records depth ${r.depth} and chain ${r.chain} bytes; its chain has ${depth} and ${chain}`)
        if (depth > MAX_CHAIN) report(r.job_id, `its datum set's chain of deltas is ${depth} long, more than ${MAX_CHAIN}`)
        const kids = children.get(r.job_id) ?? []
        if (!kids.length) return
        for (const c of kids.slice(0, -1)) {
          const copy = new DatumSetBuilder([...b.entries()])
          if (applyTo(copy, r, c)) walk(c, copy, depth + 1, chain + c.bytes)
        }
        const last = kids.at(-1)!
        if (!applyTo(b, r, last)) return
        ;[r, depth, chain] = [last, depth + 1, chain + last.bytes]
      }
    }
    const applyTo = (b: DatumSetBuilder, base: (typeof all)[number], c: (typeof all)[number]): boolean => {
      try {
        b.apply(listOf.get(project, pipeline, c.job_id) as Buffer)
        return true
      } catch (e) {
        report(c.job_id, `its datum set does not apply to job ${base.job_id}'s: ${(e as Error).message}`)
        return false
      }
    }
    for (const r of sets) {
      if (r.base !== null) continue
      let b: DatumSetBuilder
      try {
        b = new DatumSetBuilder(decodeDatumSet(listOf.get(project, pipeline, r.job_id) as Buffer))
      } catch (e) {
        report(r.job_id, `its datum set does not decode: ${(e as Error).message}`)
        continue
      }
      walk(r, b, 0, 0)
    }
    for (const r of sets) {
      if (!reached.has(r.job_id) && !reported.has(r.job_id)) report(r.job_id, 'its datum set is on a chain of deltas that reaches no snapshot (a cycle, or a base that does not resolve)')
    }
  }
  return problems
}

/** Delete every datum row and datum set of a pipeline. */
export function deleteDatumsOfPipeline(db: DB, project: string, pipeline: string): void {
  st(db, 'DELETE FROM datums WHERE project = ? AND pipeline = ?').run(project, pipeline)
  st(db, 'DELETE FROM job_datums WHERE project = ? AND pipeline = ?').run(project, pipeline)
}

/** Every datum's output tree (maintenance: kept for incremental merges even when no commit holds it whole). */
/** Point every datum output at `from` to `to` (the tree upgrade). */
export const replaceDatumOutput = (db: DB, from: Buffer, to: Buffer) => st(db, 'UPDATE datums SET output = ? WHERE output = ?').run(to, from)
export const listDatumOutputTrees = (db: DB) => st(db, 'SELECT DISTINCT output FROM datums WHERE output IS NOT NULL').pluck().all() as Buffer[]
