/**
 * Plan: which datums a job has and which of them must run (the first of a job's five steps:
 * plan → run → collect → merge → finish).
 *
 * The datums come from the pure planner (datum.ts) over listings of the job's input commits
 * — the provenance of its output commit. The base job is the nearest ancestor output commit
 * whose job succeeded; planIncremental compares by datum id and hash with the base's datum
 * set, so unchanged datums are skipped and keep their output. When the shape allows
 * (planFromChanges: one fixed-depth pfs input, same pipeline version, a base whose datums all
 * succeeded), only glob matches on the paths the input diff touches are planned, and the rest
 * of the base's set is never read: O(what changed × log datums), same result as a full plan.
 * A first job (no base) streams its datums instead of listing them: every one runs, so the
 * plan is a count and a stream walked again to run and to merge (memory: the inputs' leaf
 * listings at most, not the datums; a lone input not even its listing).
 * A job that runs again after it finished (a purge's repair, maintenance/purge.ts: its datum
 * set is stored) is planned against its own set first (`repairPlan`): a datum with the same id
 * and hash keeps its result, which its output commit still holds; one whose base job (already
 * repaired, jobs run oldest first) has it with the same id and hash takes that result
 * (`adopted`: its output and meta record are put back); any other runs. So a repair re-runs
 * only what the purge changed, and a datum an earlier repair recomputed is not run twice.
 * Read-only: nothing here writes rows or files.
 */
import {NotFoundError} from '../errors.js'
import type {CoreContext} from '../context.js'
import * as datumRows from '../db/datums.js'
import type {DatumSet} from '../db/datums.js'
import * as jobRows from '../db/jobs.js'
import type {JobRow} from '../db/jobs.js'
import * as rows from '../db/pfs-rows.js'
import type {CommitRow, RepoRow} from '../db/pfs-rows.js'
import type {FileService} from '../pfs/file-service.js'
import type {Entry} from '../store/tree-store.js'
import {toHex} from '../store/hash.js'
import type {DatumSetEntry} from '../db/datum-tree.js'
import {planDatums, planFromChanges, planIncremental, skips, streamDatums, streamPlan, type Datum, type IncrementalPlan, type Lister, type Match} from './datum.js'
import {cronAsPfs, inputKind, type CronInput, type PfsInput} from './input.js'
import type {PipelineSpec} from './spec/index.js'

export interface JobPlan {
  /** every datum of the job, in processing order, when planned in full; undefined when planned from the input's changes (planFromChanges) */
  datums: Datum[] | undefined
  /** what runs, what is skipped, which base outputs go */
  plan: IncrementalPlan
  /** the base job (nearest successful ancestor), if any */
  base: JobRow | undefined
  /** the base job's datum set (empty without a base) */
  baseSet: DatumSet
  /** the base job's output root */
  baseTree: Buffer | null
  /** the output the base job's datum set records for a datum */
  baseOutput: (id: string) => Buffer | null
  /**
   * The datums to run, in processing order: `plan.process`, or for a streamed plan (a first
   * job: `datums` undefined, `plan.process` empty) the datums planned again as they are read.
   * `datums()` may be called more than once.
   */
  run: {count: number; datums: () => Iterable<Datum>}
  /** set when the job runs again after it finished (a purge's repair): see RepairPlan */
  repair?: RepairPlan
}

/**
 * A repair's plan besides `plan` (whose `process` are the datums that run, `redo` and
 * `removed` own entries whose outputs go): the job's own set before it runs again, the datums
 * it takes from its base, and the trees they are merged into.
 */
export interface RepairPlan {
  /** the job's own datum set as the purge left it (entries whose outputs its commit holds) */
  own: DatumSet
  /** datums whose base entry (same id and hash) is taken as is: their output and meta record are put in */
  adopted: {datum: Datum; entry: DatumSetEntry}[]
  /** the output commit's tree now (what the own entries wrote) */
  outTree: Buffer | null
  /** the base job's meta commit tree (the adopted datums' records), if any */
  baseMeta: Buffer | null
}

const toMatch = (path: string, e: Entry): Match => ({path, isDir: e.kind === 'dir', hash: toHex(e.hash), size: e.size})

export class JobPlanner {
  constructor(
    private readonly ctx: CoreContext,
    private readonly files: FileService,
  ) {}

  private get db() {
    return this.ctx.db
  }

  /** Plan job `j` (output repo `out`, output commit `outCommit`) with its pipeline version's spec and salt. */
  plan(j: JobRow, spec: PipelineSpec, salt: string, out: RepoRow, outCommit: CommitRow): JobPlan {
    const {commitOf, lister} = this.inputsOf(j, out)
    const base = this.baseJob(j, out, outCommit)
    if (datumRows.hasStoredDatumSet(this.db, j.project, j.pipeline, j.id)) return this.repairPlan(j, spec, salt, out, outCommit, base, lister)
    const baseSet = base ? datumRows.getDatumSet(this.db, j.project, j.pipeline, base.id) : datumRows.emptyDatumSet(this.db, '')
    const baseOutput = (id: string): Buffer | null => {
      const e = baseSet.get(id)
      return e ? datumRows.getDatumOutput(this.db, j.project, j.pipeline, e.source, id) : null
    }
    const baseTree = base ? (rows.getCommit(this.db, out.id, base.id)?.tree ?? null) : null
    const planned = (plan: IncrementalPlan, datums?: Datum[]): JobPlan => ({datums, plan, base, baseSet, baseTree, baseOutput, run: {count: plan.process.length, datums: () => plan.process}})
    const changes = base && baseSet.unsettled === 0 ? this.fromChanges(j, base, out, spec, salt, baseSet, commitOf) : undefined
    if (changes) return planned(changes)
    // a first job streams its datums: a lone input from a walk of its commit, any other input
    // from its leaves' listings (datum.ts streamPlan), never holding the datums themselves
    const stream = base ? undefined : (this.streamed(spec, salt, commitOf) ?? streamPlan(spec.input, lister, salt))
    if (stream) {
      // every datum runs: count them (not kept), and plan them again as they run
      let total = 0
      for (const _ of stream()) total++
      return {datums: undefined, plan: {process: [], skipped: 0, removed: [], redo: [], total}, base, baseSet, baseTree, baseOutput, run: {count: total, datums: stream}}
    }
    const datums = planDatums(spec.input, lister, salt)
    return planned(planIncremental(datums, base && baseSet, {reprocessEveryJob: spec.reprocess_spec === 'every_job', s3Out: spec.s3_out}), datums)
  }

  /**
   * A finished job running again (a purge's repair): planned in full over its (rewritten) input
   * commits against its own stored set first, then its base's (see the header). A pipeline with
   * s3_out runs every datum (its output is only what the code writes); reprocess_spec
   * every_job takes nothing from the base.
   */
  private repairPlan(j: JobRow, spec: PipelineSpec, salt: string, out: RepoRow, outCommit: CommitRow, base: JobRow | undefined, lister: Lister): JobPlan {
    const own = datumRows.getDatumSet(this.db, j.project, j.pipeline, j.id)
    const baseSet = base ? datumRows.getDatumSet(this.db, j.project, j.pipeline, base.id) : datumRows.emptyDatumSet(this.db, '')
    const datums = planDatums(spec.input, lister, salt)
    const all = spec.s3_out === true
    const fromBase = !all && spec.reprocess_spec !== 'every_job'
    const process: Datum[] = []
    const redo: string[] = []
    const adopted: RepairPlan['adopted'] = []
    const ids = new Set<string>()
    let skipped = 0
    for (const d of datums) {
      ids.add(d.id)
      const o = own.stored(d.id)
      if (!all && o && skips(o, d)) {
        skipped++
        continue
      }
      if (o) redo.push(d.id)
      const b = fromBase ? baseSet.stored(d.id) : undefined
      if (b && skips(b, d)) {
        skipped++
        adopted.push({datum: d, entry: b})
      } else process.push(d)
    }
    const removed = [...own.keys()].filter((id) => !ids.has(id))
    const ownOutput = (id: string): Buffer | null => {
      const e = own.stored(id)
      return e ? datumRows.getDatumOutput(this.db, j.project, j.pipeline, e.source, id) : null
    }
    const metaRepo = base && rows.getRepo(this.db, j.project, j.pipeline, 'meta')
    const baseMeta = (metaRepo && base && rows.getCommit(this.db, metaRepo.id, base.id)?.tree) ?? null
    return {
      datums,
      plan: {process, skipped, removed, redo, total: datums.length},
      base,
      baseSet,
      baseTree: base ? (rows.getCommit(this.db, out.id, base.id)?.tree ?? null) : null,
      baseOutput: ownOutput,
      run: {count: process.length, datums: () => process},
      repair: {own, adopted, outTree: outCommit.tree, baseMeta},
    }
  }

  /** Every datum of job `j` (output repo `out`), planned in full over its input commits: the datums it had, whatever it ran. */
  datumsOf(j: JobRow, spec: PipelineSpec, salt: string, out: RepoRow): Datum[] {
    return planDatums(spec.input, this.inputsOf(j, out).lister, salt)
  }

  /** A job's input commits (its output commit's provenance) and the planner's lister over them. */
  private inputsOf(j: JobRow, out: RepoRow): {commitOf: (project: string, repo: string, type: 'user' | 'meta' | 'spec') => CommitRow | undefined; lister: Lister} {
    const prov = new Map<number, CommitRow>()
    for (const pr of rows.commitProvenance(this.db, out.id, j.id)) {
      const c = rows.getCommit(this.db, pr.prov_repo_id, pr.prov_commit_id)
      if (c) prov.set(pr.prov_repo_id, c)
    }
    const commitOf = (project: string, repo: string, type: 'user' | 'meta' | 'spec') => {
      const r = rows.getRepo(this.db, project, repo, type)
      return r ? prov.get(r.id) : undefined
    }
    const lister: Lister = (input) => {
      const c = commitOf(input.project, input.repo, input.repo_type)
      return c ? {commit: c.id, entries: this.candidates(c.tree, input.glob)} : {commit: '', entries: []}
    }
    return {commitOf, lister}
  }

  /** A first job's datums over a lone pfs or cron input, streamed from a walk of its input commit (datum.ts streamDatums). */
  private streamed(spec: PipelineSpec, salt: string, commitOf: (project: string, repo: string, type: 'user' | 'meta' | 'spec') => CommitRow | undefined) {
    const kind = inputKind(spec.input)
    if (kind !== 'pfs' && kind !== 'cron') return undefined
    const pfs = kind === 'pfs' ? (spec.input as {pfs: PfsInput}).pfs : cronAsPfs((spec.input as {cron: CronInput}).cron)
    const c = commitOf(pfs.project, pfs.repo, pfs.repo_type)
    if (!c || typeof pfs.glob !== 'string') return undefined
    const files = this.files
    return streamDatums(spec.input, c.id, function* () {
      for (const [p, e] of files.globWalk(c.tree, pfs.glob)) yield toMatch(p, e)
    }, salt)
  }

  /** Datums of a spec that is not created (`list datum -f`): planned against current heads. Throws INPUT_REPO_NOT_FOUND. */
  preview(spec: PipelineSpec): Datum[] {
    const lister: Lister = (input) => {
      const repo = rows.getRepo(this.db, input.project, input.repo, input.repo_type)
      if (!repo) throw new NotFoundError('INPUT_REPO_NOT_FOUND', `input repo ${input.repo} not found`, {hint: `create it with \`pach create repo ${input.repo}\``})
      const b = rows.getBranch(this.db, repo.id, input.branch)
      const c = b ? rows.getCommit(this.db, repo.id, b.head) : undefined
      return c ? {commit: c.id, entries: this.candidates(c.tree, input.glob)} : {commit: '', entries: []}
    }
    return planDatums(spec.input, lister, spec.salt ?? '')
  }

  /** planFromChanges over the input diff from the base job's input commit, when the job qualifies (the caller checked that the base's datums all succeeded). */
  private fromChanges(
    j: JobRow,
    base: JobRow,
    out: RepoRow,
    spec: PipelineSpec,
    salt: string,
    baseSet: DatumSet,
    commitOf: (project: string, repo: string, type: 'user' | 'meta' | 'spec') => CommitRow | undefined,
  ): IncrementalPlan | undefined {
    const pfs = (spec.input as {pfs?: PfsInput}).pfs
    if (!pfs || base.pipeline_version !== j.pipeline_version || spec.reprocess_spec === 'every_job' || spec.s3_out) return undefined
    const now = commitOf(pfs.project, pfs.repo, pfs.repo_type)
    const inRepo = rows.getRepo(this.db, pfs.project, pfs.repo, pfs.repo_type)
    const then = inRepo && rows.commitProvenance(this.db, out.id, base.id).find((pr) => pr.prov_repo_id === inRepo.id)
    const thenCommit = then ? rows.getCommit(this.db, inRepo.id, then.prov_commit_id) : undefined
    if (!now || !thenCommit) return undefined
    const trees = this.ctx.trees
    const at = (tree: Buffer | null) => (path: string) => {
      const e = trees.lookup(tree, path)
      return e && toMatch(path, e)
    }
    const changed = (function* () {
      for (const item of trees.diff(thenCommit.tree, now.tree)) yield item.path
    })()
    return planFromChanges(spec.input, baseSet, {commit: now.id, changed, before: at(thenCommit.tree), after: at(now.tree)}, salt)
  }

  /**
   * Glob candidates for the planner: the entries the glob can match (found with a depth-bounded
   * walk), plus, for the root glob, one file so the planner knows the commit is not empty.
   */
  private candidates(tree: Buffer | null, glob: string): Match[] {
    const out = this.files.globEntries(tree, glob).map(([p, e]) => toMatch(p, e))
    if (out.length === 1 && out[0]!.path === '/') {
      for (const [p, e] of this.ctx.trees.walk(tree)) {
        if (e.kind === 'file') {
          out.push(toMatch(p, e))
          break
        }
      }
    }
    return out
  }

  /** Nearest ancestor output commit whose job succeeded. */
  private baseJob(j: JobRow, out: RepoRow, commit: CommitRow): JobRow | undefined {
    let c = commit.parent ? rows.getCommit(this.db, out.id, commit.parent) : undefined
    while (c) {
      const job = jobRows.getJob(this.db, {project: j.project, pipeline: j.pipeline, id: c.id})
      if (job && job.state === 'JOB_SUCCESS' && !c.error) return job
      c = c.parent ? rows.getCommit(this.db, out.id, c.parent) : undefined
    }
    return undefined
  }
}
