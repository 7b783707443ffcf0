/**
 * Reading jobs and datums in pachctl's shapes (JobInfo, DatumInfo): `list/inspect job`,
 * `list/inspect datum`. Read-only over job, datum, commit and tree rows.
 *
 * A successful job with no datum at all carries a `notice` saying why (Pachyderm says
 * nothing, and a glob that matches nothing looks like a healthy pipeline): the inputs whose
 * glob matched nothing in the job's input commit (or whose commit is empty), else that the
 * join/group paired none; and, when no job of the pipeline has ever had a datum, that too.
 *
 * A job's datums are its datum set (db/datums.ts): a datum the job ran is shown from its own
 * row; a datum it skipped is shown from the row of the job that last ran it, but with this
 * job's input commits (the same paths and hashes, in this job's commits), state SKIPPED.
 */
import {parseStored} from '../db/json.js'
import {NotFoundError} from '../errors.js'
import type {CoreContext} from '../context.js'
import * as datumRows from '../db/datums.js'
import type {DatumRow} from '../db/datums.js'
import * as jobRows from '../db/jobs.js'
import type {JobRow} from '../db/jobs.js'
import * as rows from '../db/pfs-rows.js'
import type {PfsEngine} from '../pfs/engine.js'
import {compileGlob} from '../pfs/glob.js'
import type {TreeStore} from '../store/tree-store.js'
import type {DatumInfo, FileInfo, JobInfo} from '../types.js'
import type {DatumInput} from './datum.js'
import {inputKind, walkPfs, type Input} from './input.js'
import {statsPB, type Stats} from './stats.js'

export class JobReader {
  /** whether a glob matches anything in a tree, by "tree hash/glob" (trees are immutable) */
  private readonly globHits = new Map<string, boolean>()

  constructor(
    private readonly ctx: CoreContext,
    private readonly engine: PfsEngine,
    /** throws PIPELINE_NOT_FOUND when the pipeline does not exist */
    private readonly mustPipeline: (project: string, name: string) => unknown,
  ) {}

  private get db() {
    return this.ctx.db
  }

  /** A job's row. Throws PIPELINE_NOT_FOUND or JOB_NOT_FOUND. */
  row(project: string, pipeline: string, id: string): JobRow {
    const j = jobRows.getJob(this.db, {project, pipeline, id})
    if (!j) {
      this.mustPipeline(project, pipeline)
      throw new NotFoundError('JOB_NOT_FOUND', `job ${pipeline}@${id} not found`, {hint: `list jobs with \`pach list job -p ${pipeline}\``})
    }
    return j
  }

  info(j: JobRow): JobInfo {
    const out = rows.getRepo(this.db, j.project, j.pipeline, 'user')
    const commit = out ? rows.getCommit(this.db, out.id, j.id) : undefined
    const details = parseStored<Record<string, unknown>>(j.details, `job ${j.pipeline}@${j.id} details`)
    const notice = this.noDatumNotice(j, details)
    return {
      job: {pipeline: {name: j.pipeline, project: {name: j.project}}, id: j.id},
      pipeline_version: j.pipeline_version,
      output_commit: out
        ? this.engine.resolve.commitPB(out, {id: j.id, branch: commit?.branch})
        : {repo: {name: j.pipeline, type: 'user', project: {name: j.project}}, id: j.id},
      restart: j.restart,
      data_processed: j.data_processed,
      data_skipped: j.data_skipped,
      data_total: j.data_total,
      data_failed: j.data_failed,
      data_recovered: j.data_recovered,
      stats: statsPB(parseStored<Partial<Stats>>(j.stats, `job ${j.pipeline}@${j.id} stats`)),
      state: j.state,
      reason: j.reason,
      created: j.created,
      started: j.started,
      finished: j.finished,
      details,
      ...(notice !== undefined && {notice}),
    }
  }

  /**
   * Why a successful job planned no datum (see the header), e.g. `0 datums: glob "/*.csv"
   * matched nothing in images@<id>`; undefined for a job that had datums, or did not succeed.
   */
  private noDatumNotice(j: JobRow, details: Record<string, unknown>): string | undefined {
    if (j.state !== 'JOB_SUCCESS' || j.data_total !== 0 || !details.input) return undefined
    const input = details.input as Input
    const commits = this.inputCommits(j)
    const why: string[] = []
    for (const leaf of walkPfs(input)) {
      const id = commits.get(`${leaf.project}/${leaf.repo}/${leaf.repo_type}`)
      const repo = rows.getRepo(this.db, leaf.project, leaf.repo, leaf.repo_type)
      const c = repo && id ? rows.getCommit(this.db, repo.id, id) : undefined
      const at = `${repoLabelOf(leaf)}@${id ?? leaf.branch}`
      if (!c?.tree) why.push(`${at} is empty`)
      else if (!this.globHit(c.tree, leaf.glob)) why.push(`glob ${JSON.stringify(leaf.glob)} matched nothing in ${at}`)
    }
    const kind = inputKind(input)
    if (!why.length) why.push(kind === 'join' || kind === 'group' ? `every glob matched, but the ${kind} paired none of the files (check join_on/group_by)` : 'the input gave none')
    const never = !jobRows.pipelineHadDatums(this.db, j.project, j.pipeline) ? `; no job of pipeline ${j.pipeline} has had a datum` : ''
    return `0 datums: ${why.join('; ')}${never}`
  }

  private globHit(tree: Buffer, glob: string): boolean {
    const k = `${tree.toString('hex')}/${glob}`
    let hit = this.globHits.get(k)
    if (hit === undefined) this.globHits.set(k, (hit = globMatchesAny(this.ctx.trees, tree, glob)))
    return hit
  }

  /** Jobs, newest first: of one pipeline, of one job set (id), or all. */
  list(opts: {project?: string; pipeline?: string; id?: string; number?: number} = {}): JobInfo[] {
    if (opts.project && opts.pipeline) this.mustPipeline(opts.project, opts.pipeline)
    return jobRows.listJobs(this.db, {project: opts.project, pipeline: opts.pipeline, id: opts.id, limit: opts.number}).map((j) => this.info(j))
  }

  /** Every datum of a job (skipped ones shown with this job's input commits), by datum id. */
  listDatums(project: string, pipeline: string, id: string): DatumInfo[] {
    const j = this.row(project, pipeline, id)
    const set = datumRows.getDatumSet(this.db, project, pipeline, id)
    const bySource = new Map<string, Map<string, DatumRow>>()
    const rowsOf = (job: string) => {
      let m = bySource.get(job)
      if (!m) bySource.set(job, (m = new Map(datumRows.listDatumRows(this.db, project, pipeline, job).map((d) => [d.datum_id, d]))))
      return m
    }
    const out: DatumInfo[] = []
    const commits = this.inputCommits(j)
    for (const e of [...set.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      const d = rowsOf(e.source).get(e.id)
      if (d) out.push(this.datumInfo(j, {...d, state: e.state}, e.source === j.id ? undefined : commits))
    }
    return out
  }

  /** One datum of a job. Throws DATUM_NOT_FOUND. */
  inspectDatum(project: string, pipeline: string, id: string, datumId: string): DatumInfo {
    const j = this.row(project, pipeline, id)
    const e = datumRows.getDatumSet(this.db, project, pipeline, id).get(datumId)
    const d = e && datumRows.getDatumRow(this.db, project, pipeline, e.source, datumId)
    if (!e || !d) throw new NotFoundError('DATUM_NOT_FOUND', `datum ${datumId} not found in job ${pipeline}@${id}`, {hint: `list them with \`pach list datum ${pipeline}@${id}\``})
    return this.datumInfo(j, {...d, state: e.state}, e.source === j.id ? undefined : this.inputCommits(j))
  }

  /** The input commits of a job (its output commit's provenance), keyed by "project/repo/type". */
  inputCommits(j: JobRow): Map<string, string> {
    const out = new Map<string, string>()
    const outRepo = rows.getRepo(this.db, j.project, j.pipeline, 'user')
    if (!outRepo) return out
    for (const pr of rows.commitProvenance(this.db, outRepo.id, j.id)) {
      const r = rows.getRepoById(this.db, pr.prov_repo_id)
      if (r) out.set(`${r.project}/${r.name}/${r.type}`, pr.prov_commit_id)
    }
    return out
  }

  /** `commits`: for a datum described by an earlier job's row, this job's input commits. */
  private datumInfo(j: JobRow, d: DatumRow, commits?: Map<string, string>): DatumInfo {
    const inputs = parseStored<DatumInput[]>(d.inputs, `datum ${d.datum_id} inputs`).map((i) => {
      const c = commits?.get(`${i.project}/${i.repo}/${i.repo_type}`)
      return c ? {...i, commit: c} : i
    })
    const data: FileInfo[] = inputs.map((i) => {
      const repo = rows.getRepo(this.db, i.project, i.repo, i.repo_type)
      return {
        file: {
          commit: repo ? this.engine.resolve.commitPB(repo, {id: i.commit, branch: i.branch}) : {repo: {name: i.repo, type: i.repo_type, project: {name: i.project}}, id: i.commit},
          path: i.path,
        },
        file_type: i.isDir ? 'DIR' : 'FILE',
        committed: null,
        size_bytes: i.size,
        hash: i.hash,
      }
    })
    return {
      datum: {job: {pipeline: {name: j.pipeline, project: {name: j.project}}, id: j.id}, id: d.datum_id},
      state: d.state,
      reason: d.reason,
      data,
      stats: statsPB(parseStored<Partial<Stats>>(d.stats, `datum ${d.datum_id} stats`)),
    }
  }
}

const repoLabelOf = (leaf: {repo: string; repo_type: string}) => (leaf.repo_type === 'user' ? leaf.repo : `${leaf.repo}.${leaf.repo_type}`)

/** Whether a Pachyderm glob matches any path of a tree (as the planner's candidates: the root glob needs a file). Stops at the first match. */
function globMatchesAny(trees: TreeStore, root: Buffer, glob: string): boolean {
  const g = compileGlob(glob)
  if (g.source === '/') {
    for (const [, e] of trees.walk(root)) if (e.kind === 'file') return true
    return false
  }
  const depth = g.source.includes('**') ? Infinity : g.source.split('/').length - 1
  const visit = (hash: Buffer, base: string, d: number): boolean => {
    for (const e of trees.entries(hash)) {
      const p = `${base}/${e.name}`
      if (g.test(p)) return true
      if (e.kind === 'dir' && d + 1 < depth && visit(e.hash, p, d + 1)) return true
    }
    return false
  }
  return visit(root, '', 0)
}
