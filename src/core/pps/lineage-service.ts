/**
 * `pach lineage`: resolves the asked file and walks its lineage (lineage.ts) over the rows
 * pach keeps for every job — read here, written by nothing here.
 *
 * What the rows say (db/migrations.ts, docs/format.md layer 7):
 * - a job is (pipeline, id) where id is its output commit's id; its datum set names every
 *   datum of the job with the job whose `datums` row describes it (itself, or the earlier job
 *   a skipped datum's output comes from);
 * - a `datums` row holds the datum's inputs (repo, commit, path, hash of each) and the tree of
 *   what it wrote to /pfs/out: the datums that wrote an output path are those whose tree holds
 *   it (a job's output commit is the union of these trees, merge.ts);
 * - `datum_inputs` (schema 14) indexes each row's inputs by input repo and path, and
 *   `commit_provenance` names the output commits (hence jobs) that read an input commit: the
 *   datums that read a file are found by key, not by reading every datum.
 * An input's commit is the one the job read (its output commit's provenance), which for a
 * skipped datum is later than the commit its source row recorded (same path and content: the
 * datum's hash says so).
 *
 * Rows are read once per job and kept for the walk: upstream, every datum of a job with its
 * inputs and output tree (which of them wrote a path is a lookup in each tree); downstream, a
 * job's datum set, and only the rows the index names.
 */
import {InvalidArgumentError, NotFoundError} from '../errors.js'
import type {CoreContext} from '../context.js'
import * as datumRows from '../db/datums.js'
import * as jobRows from '../db/jobs.js'
import {getPipeline} from '../db/pipelines.js'
import * as rows from '../db/pfs-rows.js'
import type {Resolver} from '../pfs/resolve.js'
import type {FileRef} from '../pfs/refs.js'
import {toHex} from '../store/hash.js'
import {repoLabel} from '../types.js'
import type {DatumInput} from './datum.js'
import {barePath, inputKeys, inputTouches, nodePath, traceLineage, type DatumFacts, type LineageDirection, type LineageFile, type LineageRow, type LineageSource, type LineageStep} from './lineage.js'

export interface LineageOptions {
  direction: LineageDirection
  /** stop below this depth (default: the whole lineage) */
  maxDepth?: number
}

/** One datum of a job as its row says: the row's inputs, and its output tree. */
interface JobDatum {
  datum: string
  /** the job whose row describes it */
  source: string
  inputs: DatumInput[]
  output: Buffer | null
}

interface JobRowsRead {
  datums: JobDatum[]
  /** input repo (project/name/type) → the commit the job read */
  inputCommits: Map<string, string>
}

const repoKey = (project: string, repo: string, type: string) => `${project}/${repo}/${type}`

export class LineageService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly resolve: Resolver,
  ) {}

  private get db() {
    return this.ctx.db
  }

  /**
   * The lineage of a file or directory (`ref`: repo@commit:path). Throws REPO_NOT_FOUND,
   * BRANCH_NOT_FOUND, COMMIT_NOT_FOUND, FILE_NOT_FOUND, or INVALID_ADDRESS for a meta/spec repo.
   */
  trace(project: string, ref: FileRef, opts: LineageOptions): LineageRow[] {
    if (ref.commit.repo.type !== 'user') {
      throw new InvalidArgumentError('INVALID_ADDRESS', `lineage is kept for files of data repos, not of ${repoLabel(ref.commit.repo)}`, {hint: `ask for ${ref.commit.repo.name}@…:/path`})
    }
    const {repo, commit} = this.resolve.commit(ref.commit, project)
    const path = barePath(ref.path || '/')
    const entry = this.ctx.trees.lookup(commit.tree, path)
    if (!entry && path !== '/') {
      throw new NotFoundError('FILE_NOT_FOUND', `file ${path} not found in repo ${repoLabel(repo)} at commit ${commit.id}`, {
        hint: `list files with \`pach list file ${repoLabel(repo)}@${commit.id}\``,
        data: {repo: repoLabel(repo), commit: commit.id, path},
      })
    }
    const root: LineageFile = {project: repo.project, repo: repo.name, commit: commit.id, path: nodePath(path, !entry || entry.kind === 'dir'), hash: entry ? toHex(entry.hash) : ''}
    return traceLineage(this.source(), root, opts.direction, {maxDepth: opts.maxDepth})
  }

  /** A LineageSource over this project's rows, with a per-walk cache of the jobs it read. */
  private source(): LineageSource {
    const jobs = new Map<string, JobRowsRead>()
    const read = (project: string, pipeline: string, job: string): JobRowsRead => {
      const key = `${project}\0${pipeline}\0${job}`
      let r = jobs.get(key)
      if (!r) jobs.set(key, (r = this.readJob(project, pipeline, job)))
      return r
    }
    const sets = new Map<string, datumRows.DatumSet>()
    const set = (project: string, pipeline: string, job: string): datumRows.DatumSet => {
      const key = `${project}\0${pipeline}\0${job}`
      let r = sets.get(key)
      if (!r) sets.set(key, (r = datumRows.getDatumSet(this.db, project, pipeline, job)))
      return r
    }
    return {
      writers: (f) => this.writers(f, read),
      readers: (f) => this.readers(f, set),
    }
  }

  /** A job's datums that succeeded (with their rows), and the input commits it read. */
  private readJob(project: string, pipeline: string, job: string): JobRowsRead {
    const out = rows.getRepo(this.db, project, pipeline, 'user')
    const inputCommits = new Map<string, string>()
    if (out) {
      for (const pr of rows.commitProvenance(this.db, out.id, job)) {
        const r = rows.getRepoById(this.db, pr.prov_repo_id)
        if (r) inputCommits.set(repoKey(r.project, r.name, r.type), pr.prov_commit_id)
      }
    }
    const set = datumRows.getDatumSet(this.db, project, pipeline, job)
    const datums: JobDatum[] = []
    for (const e of set.values()) {
      if (e.state !== 'SUCCESS' && e.state !== 'SKIPPED') continue
      const row = datumRows.getDatumRow(this.db, project, pipeline, e.source, e.id)
      if (!row) continue
      datums.push({datum: e.id, source: e.source, inputs: JSON.parse(row.inputs) as DatumInput[], output: row.output})
    }
    return {datums, inputCommits}
  }

  /** The job that made `f`'s commit, or a note why its datums are unknown; undefined for a repo no pipeline writes. */
  private jobOf(f: LineageFile, read: (p: string, pl: string, j: string) => JobRowsRead): {rowsRead: JobRowsRead} | {note: string} | undefined {
    if (!getPipeline(this.db, f.project, f.repo)) return undefined
    const job = jobRows.getJob(this.db, {project: f.project, pipeline: f.repo, id: f.commit})
    if (!job) return {note: `no job of pipeline ${f.repo} is recorded for commit ${f.commit} (its record deleted by \`pach delete job\`, or the commit brought by \`pach pull\`): which inputs made it is not known`}
    if (job.state !== 'JOB_SUCCESS') return {note: `job ${f.commit} of pipeline ${f.repo} is ${job.state}: its datums are not in this commit`}
    return {rowsRead: read(f.project, f.repo, f.commit)}
  }

  private writers(f: LineageFile, read: (p: string, pl: string, j: string) => JobRowsRead): LineageStep | undefined {
    const job = this.jobOf(f, read)
    if (!job) return undefined
    if ('note' in job) return {datums: [], note: job.note}
    const target = barePath(f.path)
    const datums: DatumFacts[] = []
    for (const d of job.rowsRead.datums) {
      if (!d.output || !this.ctx.trees.lookup(d.output, target)) continue
      const inputs = d.inputs.map(
        (i): LineageFile => ({
          project: i.project,
          repo: i.repo,
          commit: job.rowsRead.inputCommits.get(repoKey(i.project, i.repo, i.repo_type)) ?? i.commit,
          path: i.path,
          hash: i.hash,
        }),
      )
      datums.push({project: f.project, pipeline: f.repo, job: f.commit, datum: d.datum, inputs, outputs: []})
    }
    return {datums}
  }

  private readers(f: LineageFile, sets: (p: string, pl: string, j: string) => datumRows.DatumSet): LineageStep {
    const inRepo = rows.getRepo(this.db, f.project, f.repo, 'user')
    if (!inRepo) return {datums: []}
    const target = barePath(f.path)
    const isDir = f.path.endsWith('/')
    const keys = inputKeys(target, isDir)
    const datums: DatumFacts[] = []
    const notes: string[] = []
    for (const link of rows.commitSubvenance(this.db, inRepo.id, f.commit)) {
      const out = rows.getRepoById(this.db, link.repo_id)
      if (!out || out.type !== 'user' || !getPipeline(this.db, out.project, out.name)) continue
      const job = jobRows.getJob(this.db, {project: out.project, pipeline: out.name, id: link.commit_id})
      if (!job) continue
      const hits = datumRows.datumsReading(this.db, {project: f.project, repo: f.repo, type: 'user'}, out.project, out.name, keys.paths, keys.range).filter((h) => inputTouches(h.path, target, isDir))
      if (!hits.length) continue
      if (job.state !== 'JOB_SUCCESS') {
        notes.push(`job ${job.id} of pipeline ${out.name} is ${job.state}: not followed`)
        continue
      }
      // the hit rows that are this job's datums: the entry of the datum in the job's set
      // points at the row's job (a datum the job skipped, at the earlier job that ran it)
      const set = sets(out.project, out.name, job.id)
      const seen = new Set<string>()
      for (const h of hits) {
        const e = set.get(h.datum_id)
        if (!e || e.source !== h.job_id || (e.state !== 'SUCCESS' && e.state !== 'SKIPPED') || seen.has(h.datum_id)) continue
        seen.add(h.datum_id)
        const outputs: LineageFile[] = []
        for (const [p, o] of this.ctx.trees.walk(datumRows.getDatumOutput(this.db, out.project, out.name, h.job_id, h.datum_id))) {
          if (o.kind === 'file') outputs.push({project: out.project, repo: out.name, commit: job.id, path: p, hash: toHex(o.hash)})
        }
        datums.push({project: out.project, pipeline: out.name, job: job.id, datum: h.datum_id, inputs: [], outputs})
      }
    }
    return notes.length ? {datums, note: notes.join('; ')} : {datums}
  }
}
