/**
 * Jobs: running a pipeline over one commit set, incrementally.
 *
 * A job (pipeline P, id X) exists for every open AUTO commit P@X on the output branch. It
 * runs once every input commit it points at is finished:
 *   plan    every datum of the inputs (pure planner) and compare with the base job — the
 *           nearest ancestor output commit whose job succeeded — by datum id and hash;
 *   run     only the new or changed datums, through a Runner, `parallelism` workers at a
 *           time, with datum_tries attempts, datum_timeout, err_cmd recovery and
 *           accept_return_code;
 *   collect each datum's /pfs/out into a per-datum output tree (symlinks never followed out
 *           of /pfs; names PFS cannot hold fail the datum);
 *   merge   the output commit = union of every datum's output (skipped datums keep their
 *           base output; vanished datums' outputs disappear). Two datums writing one path
 *           fail the job with Pachyderm's message naming both;
 *   finish  output and meta commits, datum rows and the job row in one transaction.
 * State machine: JOB_CREATED → JOB_STARTING → JOB_RUNNING → JOB_FINISHING → JOB_SUCCESS |
 * JOB_FAILURE; JOB_KILLED (stop job, update, job_timeout); JOB_UNRUNNABLE (an input commit
 * has an error). A failed job is never a base; its commits carry the reason as error.
 *
 * Exactly-once: a job is taken with a lease (pid/host) in one UPDATE; a job whose lease
 * holder died is reset to JOB_CREATED (restart + 1) by the next `run`, so a killed pach
 * leaves nothing half-committed and nothing runs twice at once.
 */
import {createReadStream, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {basename, dirname, isAbsolute, join, resolve, sep} from 'node:path'
import {ConflictError, NotFoundError} from '../errors.js'
import type {CoreContext} from '../context.js'
import {decodeDatumSet, encodeDatumSet, type DatumSetEntry} from '../db/datum-sets.js'
import {withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {CommitRow, RepoRow} from '../db/pfs-rows.js'
import type {PfsEngine} from '../pfs/engine.js'
import type {FileService} from '../pfs/file-service.js'
import {validatePath} from '../pfs/paths.js'
import type {Entry, FileEntry, TreeOp} from '../store/tree-store.js'
import {smallContent, writeContent, type FileContent} from '../store/content.js'
import {contentHash, sha256, toHex} from '../store/hash.js'
import {pidAlive, type PackWriter} from '../store/pack-store.js'
import type {DatumInfo, DatumState, FileInfo, JobInfo, JobState, ProcessStats} from '../types.js'
import {datumId, planDatums, planIncremental, type Datum, type DatumInput, type Lister, type Match} from './datum.js'
import type {PfsInput} from './input.js'
import {compileGlob} from '../pfs/glob.js'
import type {PipelineRow, PipelineService} from './pipeline-service.js'
import type {SecretService} from './secret-service.js'
import type {DatumRunResult, Runner, Worker} from './runner.js'
import {nodeChildProcess} from '../builtins.js'
import {parseDuration, parseMemory, wantsNetwork, type PipelineSpec} from './spec.js'
import {LazyFeeder} from './lazy.js'

export interface JobRow {
  project: string
  pipeline: string
  id: string
  seq: number
  pipeline_version: number
  state: JobState
  reason: string
  created: string
  started: string | null
  finished: string | null
  data_processed: number
  data_skipped: number
  data_failed: number
  data_recovered: number
  data_total: number
  stats: string
  details: string
  lease_pid: number | null
  lease_host: string | null
  lease_at: string | null
  restart: number
}

interface DatumRow {
  project: string
  pipeline: string
  job_id: string
  datum_id: string
  idx: number
  hash: string
  state: DatumState
  reason: string
  inputs: string
  stats: string
  output: Buffer | null
}

export type JobEvent =
  | {type: 'job-start'; pipeline: string; id: string; total: number; toProcess: number; skipped: number}
  | {type: 'datum-start'; pipeline: string; id: string; datum: string}
  | {type: 'datum-end'; pipeline: string; id: string; datum: string; state: DatumState; reason?: string}
  | {type: 'log'; pipeline: string; id: string; datum: string; stream: 'stdout' | 'stderr'; line: string}
  | {type: 'job-end'; job: JobInfo}

export interface RunOptions {
  runner: () => Promise<Runner>
  signal?: AbortSignal
  onEvent?: (e: JobEvent) => void
  /** only jobs of these pipelines (default: all) */
  pipelines?: string[]
}

const TERMINAL = new Set<JobState>(['JOB_SUCCESS', 'JOB_FAILURE', 'JOB_KILLED', 'JOB_UNRUNNABLE'])

interface Stats {
  download_ms: number
  process_ms: number
  upload_ms: number
  download_bytes: number
  upload_bytes: number
}

const zeroStats = (): Stats => ({download_ms: 0, process_ms: 0, upload_ms: 0, download_bytes: 0, upload_bytes: 0})

function statsPB(s: Partial<Stats>): ProcessStats {
  const d = (ms = 0) => `${(ms / 1000).toFixed(6).replace(/\.?0+$/, '')}s`
  return {
    download_time: d(s.download_ms),
    process_time: d(s.process_ms),
    upload_time: d(s.upload_ms),
    download_bytes: s.download_bytes ?? 0,
    upload_bytes: s.upload_bytes ?? 0,
  }
}

function addStats(a: Stats, b: Stats): void {
  a.download_ms += b.download_ms
  a.process_ms += b.process_ms
  a.upload_ms += b.upload_ms
  a.download_bytes += b.download_bytes
  a.upload_bytes += b.upload_bytes
}

/** A datum failed in a way that is the datum's fault (not the worker's). */
class DatumError extends Error {}

export class JobService {
  constructor(
    readonly ctx: CoreContext,
    readonly engine: PfsEngine,
    readonly pipelines: PipelineService,
    readonly files: FileService,
    readonly secrets: SecretService,
  ) {}

  private get db() {
    return this.ctx.db
  }

  // ------------------------------------------------------------------ reads

  row(project: string, pipeline: string, id: string): JobRow {
    const j = this.db.prepare('SELECT * FROM jobs WHERE project = ? AND pipeline = ? AND id = ?').get(project, pipeline, id) as JobRow | undefined
    if (!j) {
      this.pipelines.must(project, pipeline)
      throw new NotFoundError('JOB_NOT_FOUND', `job ${pipeline}@${id} not found`, {hint: `list jobs with \`pach list job -p ${pipeline}\``})
    }
    return j
  }

  info(j: JobRow): JobInfo {
    const out = rows.getRepo(this.db, j.project, j.pipeline, 'user')
    const commit = out ? rows.getCommit(this.db, out.id, j.id) : undefined
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
      stats: statsPB(JSON.parse(j.stats) as Partial<Stats>),
      state: j.state,
      reason: j.reason,
      created: j.created,
      started: j.started,
      finished: j.finished,
      details: JSON.parse(j.details) as Record<string, unknown>,
    }
  }

  inspect(project: string, pipeline: string, id: string): JobInfo {
    return this.info(this.row(project, pipeline, id))
  }

  /** Jobs, newest first: of one pipeline, of one job set (id), or all. */
  list(opts: {project?: string; pipeline?: string; id?: string; number?: number} = {}): JobInfo[] {
    const where: string[] = []
    const args: unknown[] = []
    if (opts.project) {
      where.push('project = ?')
      args.push(opts.project)
    }
    if (opts.pipeline) {
      if (opts.project) this.pipelines.must(opts.project, opts.pipeline)
      where.push('pipeline = ?')
      args.push(opts.pipeline)
    }
    if (opts.id) {
      where.push('id = ?')
      args.push(opts.id)
    }
    const sql = `SELECT * FROM jobs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC ${opts.number ? `LIMIT ${Math.floor(opts.number)}` : ''}`
    return (this.db.prepare(sql).all(...args) as JobRow[]).map((j) => this.info(j))
  }

  /** `commits`: for a datum described by an earlier job's row, this job's input commits. */
  private datumInfo(j: JobRow, d: DatumRow, commits?: Map<string, string>): DatumInfo {
    const inputs = (JSON.parse(d.inputs) as DatumInput[]).map((i) => {
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
      stats: statsPB(JSON.parse(d.stats) as Partial<Stats>),
    }
  }

  /** Every datum of a job (skipped ones shown with this job's input commits), by datum id. */
  listDatums(project: string, pipeline: string, id: string): DatumInfo[] {
    const j = this.row(project, pipeline, id)
    const set = this.datumSet(project, pipeline, id)
    const bySource = new Map<string, Map<string, DatumRow>>()
    const rowsOf = (job: string) => {
      let m = bySource.get(job)
      if (!m) {
        m = new Map((this.db.prepare('SELECT * FROM datums WHERE project = ? AND pipeline = ? AND job_id = ?').all(project, pipeline, job) as DatumRow[]).map((d) => [d.datum_id, d]))
        bySource.set(job, m)
      }
      return m
    }
    const out: DatumInfo[] = []
    const commits = this.jobInputCommits(j)
    for (const e of [...set.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      const d = rowsOf(e.source).get(e.id)
      if (d) out.push(this.datumInfo(j, {...d, state: e.state}, e.source === j.id ? undefined : commits))
    }
    return out
  }

  inspectDatum(project: string, pipeline: string, id: string, datumId: string): DatumInfo {
    const j = this.row(project, pipeline, id)
    const e = this.datumSet(project, pipeline, id).get(datumId)
    const d = e && (this.db.prepare('SELECT * FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? AND datum_id = ?').get(project, pipeline, e.source, datumId) as DatumRow | undefined)
    if (!e || !d) throw new NotFoundError('DATUM_NOT_FOUND', `datum ${datumId} not found in job ${pipeline}@${id}`, {hint: `list them with \`pach list datum ${pipeline}@${id}\``})
    return this.datumInfo(j, {...d, state: e.state}, e.source === j.id ? undefined : this.jobInputCommits(j))
  }

  /**
   * Incremental planning in O(what changed), for the common shape: one pfs input whose glob has
   * a fixed depth (only literals, `*`, `?`, `[...]`), run by the same pipeline version as the
   * base job. The datums are the base job's, except those whose glob match lies on a path the
   * input diff (base input commit → this one) touches: those are planned afresh with the same
   * planner (so ids and hashes equal a full plan's), vanished ones are dropped, new ones are
   * appended. Datums that did not change are returned as {id, hash} with no inputs: the
   * incremental plan skips them (same id and hash as the base), so they are never run.
   * Returns undefined when the shape does not qualify; the caller then plans in full.
   */
  private planFromDiff(
    j: JobRow,
    base: JobRow,
    out: RepoRow,
    spec: PipelineSpec,
    salt: string,
    baseSet: Map<string, DatumSetEntry>,
    commitOf: (project: string, repo: string, type: 'user' | 'meta' | 'spec') => CommitRow | undefined,
  ): Datum[] | undefined {
    const pfs = (spec.input as {pfs?: PfsInput}).pfs
    if (!pfs || base.pipeline_version !== j.pipeline_version || spec.reprocess_spec === 'every_job' || spec.s3_out) return undefined
    if (pfs.join_on || pfs.group_by || pfs.s3 || typeof pfs.glob !== 'string' || /[{}()@!+]|\*\*/.test(pfs.glob)) return undefined
    if (baseSet.size === 0 || [...baseSet.values()].some((e) => e.state !== 'SUCCESS' && e.state !== 'SKIPPED')) return undefined
    let g: ReturnType<typeof compileGlob>
    try {
      g = compileGlob(pfs.glob)
    } catch {
      return undefined
    }
    if (g.source === '/' || g.groupCount > 0) return undefined
    const depth = g.source.split('/').length - 1
    const now = commitOf(pfs.project, pfs.repo, pfs.repo_type)
    const inRepo = rows.getRepo(this.db, pfs.project, pfs.repo, pfs.repo_type)
    const then = inRepo && rows.commitProvenance(this.db, out.id, base.id).find((pr) => pr.prov_repo_id === inRepo.id)
    const thenCommit = then ? rows.getCommit(this.db, inRepo.id, then.prov_commit_id) : undefined
    if (!now || !thenCommit) return undefined
    // glob matches on the changed paths
    const touched = new Set<string>()
    for (const item of this.ctx.trees.diff(thenCommit.tree, now.tree)) {
      const segs = item.path.split('/')
      if (segs.length - 1 < depth) continue
      const q = segs.slice(0, depth + 1).join('/')
      if (g.test(q)) touched.add(q)
    }
    const idOf = (path: string, e: Entry) => datumId([{name: pfs.name, repo: pfs.repo, branch: pfs.branch, path: e.kind === 'dir' ? path + '/' : path}])
    const replaced = new Set<string>()
    const matches: Match[] = []
    for (const q of touched) {
      const old = this.ctx.trees.lookup(thenCommit.tree, q)
      if (old) replaced.add(idOf(q, old))
      const e = this.ctx.trees.lookup(now.tree, q)
      if (e) matches.push({path: q, isDir: e.kind === 'dir', hash: toHex(e.hash), size: e.size})
    }
    const fresh = new Map(planDatums(spec.input, () => ({commit: now.id, entries: matches}), salt).map((d) => [d.id, d]))
    const datums: Datum[] = []
    for (const e of baseSet.values()) {
      if (!replaced.has(e.id)) datums.push({id: e.id, hash: e.hash, inputs: []})
      else if (fresh.has(e.id)) {
        datums.push(fresh.get(e.id)!)
        fresh.delete(e.id)
      }
    }
    datums.push(...fresh.values())
    return datums
  }

  /** A job's datum set by datum id (datum-sets.ts); a job that never finished has its own rows only. */
  private datumSet(project: string, pipeline: string, job: string): Map<string, DatumSetEntry> {
    const list = this.db.prepare('SELECT list FROM job_datums WHERE project = ? AND pipeline = ? AND job_id = ?').pluck().get(project, pipeline, job) as Buffer | undefined
    if (list) return new Map(decodeDatumSet(list).map((e) => [e.id, e]))
    const own = this.db.prepare('SELECT datum_id, hash, state FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? ORDER BY idx').all(project, pipeline, job) as Pick<DatumRow, 'datum_id' | 'hash' | 'state'>[]
    return new Map(own.map((r) => [r.datum_id, {id: r.datum_id, hash: r.hash, state: r.state, source: job}]))
  }

  private datumOutput(project: string, pipeline: string, job: string, datum: string): Buffer | null {
    return (this.db.prepare('SELECT output FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? AND datum_id = ?').pluck().get(project, pipeline, job, datum) as Buffer | null | undefined) ?? null
  }

  /** The input commits of a job (its output commit's provenance), keyed by "project/repo/type". */
  private jobInputCommits(j: JobRow): Map<string, string> {
    const out = new Map<string, string>()
    const outRepo = rows.getRepo(this.db, j.project, j.pipeline, 'user')
    if (!outRepo) return out
    for (const pr of rows.commitProvenance(this.db, outRepo.id, j.id)) {
      const r = this.db.prepare('SELECT project, name, type FROM repos WHERE id = ?').get(pr.prov_repo_id) as {project: string; name: string; type: string} | undefined
      if (r) out.set(`${r.project}/${r.name}/${r.type}`, pr.prov_commit_id)
    }
    return out
  }

  /** Block until the job is in a terminal state. */
  async wait(project: string, pipeline: string, id: string, opts: {signal?: AbortSignal; timeoutMs?: number; drive?: () => Promise<void>} = {}): Promise<JobInfo> {
    const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : Infinity
    let delay = 20
    for (;;) {
      const j = this.row(project, pipeline, id)
      if (TERMINAL.has(j.state)) return this.info(j)
      if (opts.drive) await opts.drive()
      const again = this.row(project, pipeline, id)
      if (TERMINAL.has(again.state)) return this.info(again)
      if (Date.now() > deadline) throw new ConflictError('TIMEOUT', `job ${pipeline}@${id} did not finish in time (state ${again.state})`)
      opts.signal?.throwIfAborted()
      await new Promise((r) => setTimeout(r, delay))
      delay = Math.min(delay * 2, 250)
    }
  }

  /** Stop a job: JOB_KILLED; a process running it notices and aborts. */
  stop(project: string, pipeline: string, id: string, reason = 'job stopped'): JobInfo {
    return withTx(this.db, () => {
      const j = this.row(project, pipeline, id)
      if (!TERMINAL.has(j.state)) this.pipelines.finishJobCommits({project, name: pipeline}, id, reason, 'JOB_KILLED')
      return this.info(this.row(project, pipeline, id))
    })
  }

  /** Stored logs of a job's datums (from its meta commit, or the live log dir while running). */
  logs(project: string, pipeline: string, opts: {job?: string; datum?: string} = {}): {job: string; datum: string; ts: string; stream: string; message: string}[] {
    const meta = rows.getRepo(this.db, project, pipeline, 'meta')
    if (!meta) {
      this.pipelines.must(project, pipeline)
      return []
    }
    const jobs = opts.job
      ? [this.row(project, pipeline, opts.job)]
      : (this.db.prepare('SELECT * FROM jobs WHERE project = ? AND pipeline = ? ORDER BY seq').all(project, pipeline) as JobRow[])
    const out: {job: string; datum: string; ts: string; stream: string; message: string}[] = []
    for (const j of jobs) {
      const c = rows.getCommit(this.db, meta.id, j.id)
      if (!c?.finished) {
        const live = this.liveLogDir(j)
        let names: string[] = []
        try {
          names = readdirSync(live)
        } catch {
          // nothing yet
        }
        for (const n of names.sort()) {
          const datum = n.replace(/\.jsonl$/, '')
          if (opts.datum && datum !== opts.datum) continue
          const text = this.readText(join(live, n))
          for (const l of parseLogLines(text)) out.push({job: j.id, datum, ...l})
        }
        continue
      }
      const processed = this.db
        .prepare("SELECT datum_id FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? AND state != 'SKIPPED' ORDER BY idx")
        .pluck()
        .all(project, pipeline, j.id) as string[]
      for (const datum of processed) {
        if (opts.datum && datum !== opts.datum) continue
        const e = this.ctx.trees.lookup(c.tree, `/meta/${datum}/logs`)
        if (!e || e.kind !== 'file') continue
        const text = Buffer.concat(e.chunks.map((ch) => this.ctx.store.readBlob(ch))).toString('utf8')
        for (const l of parseLogLines(text)) out.push({job: j.id, datum, ...l})
      }
    }
    return out
  }

  private readText(p: string): string {
    try {
      return readFileSync(p, 'utf8')
    } catch {
      return ''
    }
  }

  private liveLogDir(j: {pipeline: string; id: string}): string {
    return join(this.workDir(j), 'logs')
  }

  /** A running job's scratch space (inputs, outputs, live logs): `.pach/tmp/jobs/<pipeline>-<id>`. */
  private workDir(j: {pipeline: string; id: string}): string {
    return join(this.ctx.pachDir, 'tmp', 'jobs', `${j.pipeline}-${j.id}`)
  }

  // ------------------------------------------------------------------ running

  /** Reset jobs whose lease holder died (crash recovery). */
  recoverStale(): number {
    const host = hostname()
    const stale = (this.db.prepare("SELECT * FROM jobs WHERE state IN ('JOB_STARTING','JOB_RUNNING','JOB_FINISHING')").all() as JobRow[]).filter(
      (j) => j.lease_host === host && j.lease_pid !== null && j.lease_pid !== process.pid && !pidAlive(j.lease_pid),
    )
    for (const j of stale) {
      this.db
        .prepare("UPDATE jobs SET state = 'JOB_CREATED', lease_pid = NULL, lease_host = NULL, restart = restart + 1 WHERE project = ? AND pipeline = ? AND id = ? AND state = ?")
        .run(j.project, j.pipeline, j.id, j.state)
      // the dead run's scratch space: a restart makes its own, and a job that never runs
      // again (its commit deleted, the pipeline stopped) would keep it for ever
      removeLater(this.workDir(j))
    }
    return stale.length
  }

  /** Jobs waiting to run, oldest first. */
  pending(pipelines?: string[]): JobRow[] {
    const list = this.db.prepare("SELECT * FROM jobs WHERE state = 'JOB_CREATED' ORDER BY seq").all() as JobRow[]
    return pipelines ? list.filter((j) => pipelines.includes(j.pipeline)) : list
  }

  /** Whether a job can start now: 'run', 'wait' (inputs not finished / earlier job pending) or 'unrunnable' with a reason. */
  readiness(j: JobRow): {state: 'run' | 'wait' | 'unrunnable' | 'gone'; reason?: string} {
    const out = rows.getRepo(this.db, j.project, j.pipeline, 'user')
    const commit = out ? rows.getCommit(this.db, out.id, j.id) : undefined
    if (!out || !commit) return {state: 'gone', reason: 'output commit removed'}
    const earlier = this.db
      .prepare("SELECT 1 FROM jobs WHERE project = ? AND pipeline = ? AND seq < ? AND state NOT IN ('JOB_SUCCESS','JOB_FAILURE','JOB_KILLED','JOB_UNRUNNABLE')")
      .pluck()
      .get(j.project, j.pipeline, j.seq)
    if (earlier) return {state: 'wait'}
    const failed: string[] = []
    for (const p of rows.commitProvenance(this.db, out.id, j.id)) {
      const c = rows.getCommit(this.db, p.prov_repo_id, p.prov_commit_id)
      if (!c) continue
      if (!c.finished) return {state: 'wait'}
      if (c.error) failed.push(rows.getRepoById(this.db, p.prov_repo_id)!.name)
    }
    if (failed.length) return {state: 'unrunnable', reason: `unrunnable because the following upstream pipelines failed: ${failed.join(', ')}`}
    return {state: 'run'}
  }

  /**
   * Run every runnable pending job (repeatedly: a finished job can make downstream jobs
   * runnable) until none is left. Returns the jobs this call finished.
   */
  async runPending(opts: RunOptions): Promise<JobInfo[]> {
    this.recoverStale()
    const done: JobInfo[] = []
    // the runner starts (docker ping, bubblewrap probe) while the first job plans its datums
    let runner: Promise<Runner> | undefined
    try {
      for (;;) {
        opts.signal?.throwIfAborted()
        let progressed = false
        for (const j of this.pending(opts.pipelines)) {
          const r = this.readiness(j)
          if (r.state === 'wait') continue
          if (r.state === 'gone' || r.state === 'unrunnable') {
            withTx(this.db, () => this.pipelines.finishJobCommits({project: j.project, name: j.pipeline}, j.id, r.reason!, r.state === 'gone' ? 'JOB_KILLED' : 'JOB_UNRUNNABLE'))
            const info = this.info(this.row(j.project, j.pipeline, j.id))
            done.push(info)
            opts.onEvent?.({type: 'job-end', job: info})
            progressed = true
            continue
          }
          if (!this.lease(j)) continue
          if (!runner) {
            runner = opts.runner()
            runner.catch(() => {}) // awaited by runJob; a failure surfaces there
          }
          done.push(await this.runJob(this.row(j.project, j.pipeline, j.id), runner, opts))
          progressed = true
          break // re-read the pending list: this job may have made others runnable
        }
        if (!progressed) break
      }
    } finally {
      if (runner) await (await runner.catch(() => undefined))?.close?.()
    }
    return done
  }

  private lease(j: JobRow): boolean {
    const r = this.db
      .prepare("UPDATE jobs SET state = 'JOB_STARTING', lease_pid = ?, lease_host = ?, lease_at = ? WHERE project = ? AND pipeline = ? AND id = ? AND state = 'JOB_CREATED'")
      .run(process.pid, hostname(), this.ctx.now(), j.project, j.pipeline, j.id)
    return r.changes === 1
  }

  private setState(j: JobRow, state: JobState, extra: Record<string, unknown> = {}): void {
    const sets = ['state = @state', ...Object.keys(extra).map((k) => `${k} = @${k}`)]
    this.db
      .prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE project = @project AND pipeline = @pipeline AND id = @id AND state NOT IN ('JOB_KILLED')`)
      .run({...extra, state, project: j.project, pipeline: j.pipeline, id: j.id})
  }

  /** Run one leased job to a terminal state. Never throws for user-code failures. */
  async runJob(j: JobRow, runnerReady: Runner | Promise<Runner>, opts: RunOptions): Promise<JobInfo> {
    const p = this.pipelines.must(j.project, j.pipeline)
    const {spec, salt, spec_commit} = this.pipelines.specAt(j.project, j.pipeline, j.pipeline_version)
    const workRoot = this.workDir(j)
    const abort = new AbortController()
    const onOuterAbort = () => abort.abort(opts.signal?.reason)
    opts.signal?.addEventListener('abort', onOuterAbort)
    let killedReason: string | undefined
    const jobTimeout = spec.job_timeout ? parseDuration(spec.job_timeout) : undefined
    const timer = jobTimeout
      ? setTimeout(() => {
          killedReason = 'job timed out'
          abort.abort(new Error(killedReason))
        }, jobTimeout)
      : undefined
    // another process may `stop job`: poll the row
    const poll = setInterval(() => {
      try {
        const cur = this.db.prepare('SELECT state, reason FROM jobs WHERE project = ? AND pipeline = ? AND id = ?').get(j.project, j.pipeline, j.id) as
          | {state: JobState; reason: string}
          | undefined
        if (!cur || cur.state === 'JOB_KILLED') {
          killedReason = cur?.reason || 'job stopped'
          abort.abort(new Error(killedReason))
        }
      } catch {
        // database busy: try again next tick
      }
    }, 250)
    let writer: PackWriter | undefined
    try {
      const out = rows.getRepo(this.db, j.project, j.pipeline, 'user')!
      const meta = rows.getRepo(this.db, j.project, j.pipeline, 'meta')!
      const outCommit = rows.getCommit(this.db, out.id, j.id)!
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
        if (!c) return {commit: '', entries: []}
        return {commit: c.id, entries: this.candidates(c.tree, input.glob)}
      }
      const base = this.baseJob(j, out, outCommit)
      const baseSet = base ? this.datumSet(j.project, j.pipeline, base.id) : new Map<string, DatumSetEntry>()
      const datums = (base && this.planFromDiff(j, base, out, spec, salt, baseSet, commitOf)) || planDatums(spec.input, lister, salt)
      const baseOutput = (id: string): Buffer | null => {
        const e = baseSet.get(id)
        return e ? this.datumOutput(j.project, j.pipeline, e.source, id) : null
      }
      const plan = planIncremental(
        datums,
        baseSet,
        {reprocessEveryJob: spec.reprocess_spec === 'every_job', s3Out: spec.s3_out},
      )
      let runner: Runner
      try {
        runner = await runnerReady
      } catch (e) {
        throw new RunnerUnavailable(e)
      }
      let imageId: string | undefined
      if (plan.process.length && runner.imageId) imageId = await runner.imageId(spec.transform.image)
      const details = {...spec, salt, input: spec.input, image_id: imageId ?? null, runner: runner.describe()}
      this.setState(j, 'JOB_RUNNING', {started: this.ctx.now(), data_total: datums.length, data_skipped: plan.skip.length, details: JSON.stringify(details)})
      opts.onEvent?.({type: 'job-start', pipeline: j.pipeline, id: j.id, total: datums.length, toProcess: plan.process.length, skipped: plan.skip.length})

      // ---- run datums
      writer = await this.ctx.store.writerWait()
      const results = new Map<string, {state: DatumState; reason: string; output: Buffer | null; stats: Stats; logs: string}>()
      const index = new Map(datums.map((d, i) => [d.id, i]))
      const total = zeroStats()
      if (plan.process.length) {
        rmSync(workRoot, {recursive: true, force: true})
        mkdirSync(join(workRoot, 'logs'), {recursive: true})
        mkdirSync(join(workRoot, 'trash'), {recursive: true})
        const n = Math.max(1, Math.min(spec.parallelism_spec?.constant || 1, plan.process.length))
        const queue = [...plan.process]
        const workers: Worker[] = []
        try {
          const secrets = this.resolveSecrets(spec, workRoot)
          for (let w = 0; w < n; w++) {
            const inputsDir = join(workRoot, `w${w}`, 'pfs')
            const outDir = join(workRoot, `w${w}`, 'out')
            mkdirSync(join(inputsDir, 'out'), {recursive: true})
            mkdirSync(outDir, {recursive: true})
            workers.push(
              await runner.startWorker({
                image: spec.transform.image,
                inputsDir,
                outDir,
                network: wantsNetwork(spec),
                cpu: spec.resource_limits?.cpu,
                memoryBytes: spec.resource_limits?.memory ? parseMemory(spec.resource_limits.memory) : undefined,
                user: spec.transform.user || undefined,
                workingDir: spec.transform.working_dir || undefined,
                mounts: secrets.mounts,
                name: `${j.pipeline}-${j.id.slice(0, 8)}-${w}`,
              }),
            )
          }
          await Promise.all(
            workers.map(async (worker, w) => {
              const inputsDir = join(workRoot, `w${w}`, 'pfs')
              const outDir = join(workRoot, `w${w}`, 'out')
              const real = {out: realpathSync(outDir), in: realpathSync(inputsDir)}
              const inputs: WorkerInputs = {prev: undefined, dirs: new Set()}
              for (;;) {
                if (abort.signal.aborted) return
                const d = queue.shift()
                if (!d) return
                opts.onEvent?.({type: 'datum-start', pipeline: j.pipeline, id: j.id, datum: d.id})
                const r = await this.runDatum({j, p, spec, spec_commit, d, worker, inputsDir, outDir, real, inputs, secretEnv: secrets.env, writer: writer!, signal: abort.signal, opts, workRoot})
                results.set(d.id, r)
                addStats(total, r.stats)
                opts.onEvent?.({type: 'datum-end', pipeline: j.pipeline, id: j.id, datum: d.id, state: r.state, reason: r.reason || undefined})
              }
            }),
          )
        } finally {
          await Promise.allSettled(workers.map((w) => w.close()))
        }
      }
      if (abort.signal.aborted) {
        const reason = killedReason ?? 'job interrupted'
        await writer.abort()
        writer = undefined
        if (!killedReason && opts.signal?.aborted) {
          // pach itself was interrupted (Ctrl-C): leave the job for the next `pach run`
          withTx(this.db, () =>
            this.db
              .prepare("UPDATE jobs SET state = 'JOB_CREATED', lease_pid = NULL, lease_host = NULL, restart = restart + 1 WHERE project = ? AND pipeline = ? AND id = ?")
              .run(j.project, j.pipeline, j.id),
          )
          throw opts.signal.reason
        }
        withTx(this.db, () => this.pipelines.finishJobCommits({project: j.project, name: j.pipeline}, j.id, reason, 'JOB_KILLED'))
        return this.finishEvent(j, opts)
      }

      // ---- merge outputs
      const failedIds = plan.process.filter((d) => results.get(d.id)?.state === 'FAILED').map((d) => d.id)
      // every datum's output tree: read only for a full merge or to name a collision's owner
      const allOutputs = (): {id: string; tree: Buffer | null}[] =>
        datums.map((d) => {
          const r = results.get(d.id)
          return {id: d.id, tree: r ? (r.state === 'SUCCESS' ? r.output : null) : baseOutput(d.id)}
        })
      const baseTree = base ? (rows.getCommit(this.db, out.id, base.id)?.tree ?? null) : null
      const {tree: outTree, error: mergeError} =
        base && baseTree !== undefined && plan.process.length + plan.removed.length < datums.length / 2
          ? this.mergeIncremental(baseTree, plan, results, baseOutput, allOutputs)
          : this.mergeAll(allOutputs())

      // ---- meta commit content: per datum /meta/<id>/meta and /meta/<id>/logs
      const metaCommit = rows.getCommit(this.db, meta.id, j.id)
      const metaOps: TreeOp[] = []
      for (const id of [...plan.removed, ...plan.redo]) metaOps.push({type: 'delete', path: `/meta/${id}`})
      for (const d of plan.process) {
        const r = results.get(d.id)
        if (!r) continue
        const metaDoc = JSON.stringify({job: {pipeline: j.pipeline, id: j.id}, datum: d.id, hash: d.hash, state: r.state, reason: r.reason, inputs: d.inputs, stats: statsPB(r.stats), index: index.get(d.id), image_id: imageId ?? null}, null, 2)
        metaOps.push({type: 'put', path: `/meta/${d.id}/meta`, content: await this.small(Buffer.from(metaDoc), writer)})
        metaOps.push({type: 'put', path: `/meta/${d.id}/logs`, content: await this.small(Buffer.from(r.logs), writer)})
      }
      await writer.close()
      // the workers are closed and the outputs stored: the scratch space goes before the job
      // is finished, so a pach killed right after the finish leaves no dir behind
      removeLater(workRoot)

      // ---- finish: one transaction
      const state: JobState = failedIds.length || mergeError ? 'JOB_FAILURE' : 'JOB_SUCCESS'
      const reason = mergeError || (failedIds.length ? `datum ${failedIds[0]} failed` : '')
      const counts = {
        data_processed: plan.process.filter((d) => results.get(d.id)?.state === 'SUCCESS').length,
        data_failed: failedIds.length,
        data_recovered: plan.process.filter((d) => results.get(d.id)?.state === 'RECOVERED').length,
      }
      withTx(this.db, () => {
        const cur = this.row(j.project, j.pipeline, j.id)
        if (cur.state === 'JOB_KILLED') return
        const now = this.ctx.now()
        const oc = rows.getCommit(this.db, out.id, j.id)
        if (oc && !oc.finished) {
          rows.setCommitTree(this.db, out.id, j.id, outTree, this.engine.treeSize(outTree))
          rows.finishCommitRow(this.db, out.id, j.id, now, reason, null)
          this.engine.commitFinished(out, rows.getCommit(this.db, out.id, j.id)!)
        }
        if (metaCommit && !metaCommit.finished) {
          const mt = this.ctx.trees.apply(metaCommit.tree, metaOps)
          rows.setCommitTree(this.db, meta.id, j.id, mt, this.engine.treeSize(mt))
          rows.finishCommitRow(this.db, meta.id, j.id, now, reason, null)
        }
        const ins = this.db.prepare(
          'INSERT OR REPLACE INTO datums(project, pipeline, job_id, datum_id, idx, hash, state, reason, inputs, stats, output) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        // rows for the datums this job ran; a skipped datum points at its base's source row
        const entries: DatumSetEntry[] = datums.map((d, i) => {
          const r = results.get(d.id)
          if (r) {
            ins.run(j.project, j.pipeline, j.id, d.id, i, d.hash, r.state, r.reason, JSON.stringify(d.inputs), JSON.stringify(r.stats), r.output)
            return {id: d.id, hash: d.hash, state: r.state, source: j.id}
          }
          const b = baseSet.get(d.id)
          if (b) return {id: d.id, hash: d.hash, state: 'SKIPPED', source: b.source}
          ins.run(j.project, j.pipeline, j.id, d.id, i, d.hash, 'SKIPPED', '', JSON.stringify(d.inputs), '{}', null)
          return {id: d.id, hash: d.hash, state: 'SKIPPED', source: j.id}
        })
        this.db
          .prepare('INSERT OR REPLACE INTO job_datums(project, pipeline, job_id, list) VALUES (?, ?, ?, ?)')
          .run(j.project, j.pipeline, j.id, encodeDatumSet(entries))
        this.db
          .prepare(
            `UPDATE jobs SET state = @state, reason = @reason, finished = @now, data_processed = @data_processed, data_failed = @data_failed,
             data_recovered = @data_recovered, stats = @stats, lease_pid = NULL WHERE project = @project AND pipeline = @pipeline AND id = @id`,
          )
          .run({state, reason, now, ...counts, stats: JSON.stringify(total), project: j.project, pipeline: j.pipeline, id: j.id})
      })
      writer.release()
      writer = undefined
      return this.finishEvent(j, opts)
    } catch (e) {
      if (writer) await writer.abort()
      // no runner (e.g. `--runner docker` without an engine): the command fails, as before
      // any job started; the lease is recovered by the next `pach run`
      if (e instanceof RunnerUnavailable) throw e.cause
      if (opts.signal?.aborted) throw e
      // a broken worker or runner: the job fails with that reason (user-visible, not a crash)
      const code = (e as {code?: string}).code
      const reason =
        code === 'ENOSPC' || code === 'SQLITE_FULL'
          ? `no space left on device while storing the job's output; free some space (\`pach gc\`) and run it again with \`pach rerun pipeline ${j.pipeline}\``
          : ((e as Error).message ?? String(e))
      withTx(this.db, () => this.pipelines.finishJobCommits({project: j.project, name: j.pipeline}, j.id, reason, 'JOB_FAILURE'))
      return this.finishEvent(j, opts)
    } finally {
      clearInterval(poll)
      if (timer) clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onOuterAbort)
    }
  }

  private finishEvent(j: JobRow, opts: RunOptions): JobInfo {
    const info = this.info(this.row(j.project, j.pipeline, j.id))
    opts.onEvent?.({type: 'job-end', job: info})
    return info
  }

  /** Nearest ancestor output commit whose job succeeded. */
  private baseJob(j: JobRow, out: RepoRow, commit: CommitRow): JobRow | undefined {
    let c = commit.parent ? rows.getCommit(this.db, out.id, commit.parent) : undefined
    while (c) {
      const job = this.db.prepare('SELECT * FROM jobs WHERE project = ? AND pipeline = ? AND id = ?').get(j.project, j.pipeline, c.id) as JobRow | undefined
      if (job && job.state === 'JOB_SUCCESS' && !c.error) return job
      c = c.parent ? rows.getCommit(this.db, out.id, c.parent) : undefined
    }
    return undefined
  }

  private async runDatum(a: {
    j: JobRow
    p: PipelineRow
    spec: PipelineSpec
    spec_commit: string
    d: Datum
    worker: Worker
    inputsDir: string
    outDir: string
    /** realpaths of outDir and inputsDir (resolved once per worker) */
    real: {out: string; in: string}
    /** the worker's materialized inputs: last datum's paths, directories known to exist */
    inputs: WorkerInputs
    /** environment variables from transform.secrets */
    secretEnv: Record<string, string>
    writer: PackWriter
    signal: AbortSignal
    opts: RunOptions
    workRoot: string
  }): Promise<DatumOutcome> {
    const {j, spec, d, inputsDir, outDir} = a
    const stats = zeroStats()
    const logLines: string[] = []
    const liveLog = join(a.workRoot, 'logs', `${d.id}.jsonl`)
    let partial: Record<string, string> = {stdout: '', stderr: ''}
    const onOutput = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
      const text = partial[stream] + chunk.toString('utf8')
      const lines = text.split('\n')
      partial[stream] = lines.pop()!
      for (const line of lines) emit(stream, line)
    }
    const emit = (stream: 'stdout' | 'stderr', line: string) => {
      const rec = JSON.stringify({ts: this.ctx.now(), stream, message: line})
      logLines.push(rec)
      try {
        writeFileSync(liveLog, rec + '\n', {flag: 'a'})
      } catch {
        // live log is best effort
      }
      a.opts.onEvent?.({type: 'log', pipeline: j.pipeline, id: j.id, datum: d.id, stream, line})
    }
    const flush = () => {
      for (const s of ['stdout', 'stderr'] as const) if (partial[s]) emit(s, partial[s]!)
      partial = {stdout: '', stderr: ''}
    }
    // download
    const t0 = Date.now()
    const trash = join(a.workRoot, 'trash')
    // inputs: remove what the previous datum got (inputs are mounted read-only for user code),
    // keeping the directories above it; a first datum starts from a cleared directory
    const ws = a.inputs
    if (ws.prev === undefined) clearDir(inputsDir, trash, 'out')
    for (const p of ws.prev ?? []) {
      if (!p.dir) {
        try {
          unlinkSync(p.path)
        } catch {
          // already gone
        }
      }
      else {
        clearDir(dirname(p.path), trash, undefined, basename(p.path))
        ws.dirs.clear()
      }
    }
    ws.prev = []
    clearDir(outDir, trash)
    const env: Record<string, string> = {}
    const placeholders = new Map<string, FileEntry>()
    const lazy = new LazyFeeder((id) => this.ctx.store.readBlob(id))
    for (const inp of d.inputs) {
      const c = this.inputCommit(inp)
      const entry = c ? this.ctx.trees.lookup(c.tree, inp.path) : undefined
      const rel = inp.path === '/' ? '' : inp.path.replace(/\/$/, '')
      const dest = join(inputsDir, inp.name, rel)
      const parent = dirname(dest)
      if (!ws.dirs.has(parent)) {
        mkdirSync(parent, {recursive: true})
        ws.dirs.add(parent)
      }
      ws.prev.push({path: dest, dir: !entry || entry.kind === 'dir'})
      if (entry) {
        if (inp.empty_files || inp.lazy) {
          // placeholders (0-byte files, or FIFOs fed on open): a link to one in /pfs/out is
          // stored as the real file, by reference
          const files = this.placeholderFiles(entry, dest)
          for (const f of files) placeholders.set(a.real.in + f.path.slice(inputsDir.length), f.entry)
          if (inp.lazy) lazy.add(files)
          else emptyFiles(files)
        } else stats.download_bytes += this.files.materializeEntry(entry, dest).bytes
      }
      env[inp.name] = `/pfs/${inp.name}${rel}`
      env[`${inp.name}_COMMIT`] = inp.commit
      if (inp.join_on) env[`PACH_DATUM_${inp.name}_JOIN_ON`] = inp.join_on
      if (inp.group_by) env[`PACH_DATUM_${inp.name}_GROUP_BY`] = inp.group_by
    }
    Object.assign(env, spec.transform.env ?? {}, {
      PACH_JOB_ID: j.id,
      PACH_DATUM_ID: d.id,
      PACH_OUTPUT_COMMIT_ID: j.id,
      PPS_PIPELINE_NAME: j.pipeline,
      PPS_PROJECT_NAME: j.project,
      PPS_SPEC_COMMIT: a.spec_commit,
    })
    Object.assign(env, a.secretEnv)
    lazy.start()
    try {
      return await this.processDatum({a, env, stats, t0, placeholders, lazy, emit, flush, onOutput, logLines, trash})
    } finally {
      lazy.stop()
    }
  }

  /** Run user code on a prepared datum (with retries, err_cmd) and store its output. */
  private async processDatum(c: DatumRun): Promise<DatumOutcome> {
    const {a, env, stats, t0, placeholders, lazy, emit, flush, onOutput, logLines, trash} = c
    const {spec, worker, outDir, inputsDir} = a
    stats.download_ms = Date.now() - t0
    // process
    const tries = Math.max(1, spec.datum_tries || 3)
    const timeoutMs = spec.datum_timeout ? parseDuration(spec.datum_timeout) : undefined
    const stdin = spec.transform.stdin?.length ? spec.transform.stdin.join('\n') + '\n' : undefined
    const accept = new Set(spec.transform.accept_return_code ?? [])
    let last: DatumRunResult | undefined
    let reason = ''
    const t1 = Date.now()
    for (let attempt = 1; attempt <= tries; attempt++) {
      if (a.signal.aborted) break
      if (attempt > 1) clearDir(outDir, trash)
      last = await worker.run({cmd: spec.transform.cmd, stdin, env, timeoutMs, signal: a.signal, onOutput})
      flush()
      if (!last.timedOut && !last.error && (last.exitCode === 0 || accept.has(last.exitCode))) break
      reason = last.timedOut
        ? `datum timed out after ${spec.datum_timeout}`
        : last.error
          ? last.error
          : `user code exited with code ${last.exitCode}`
      emit('stderr', `pach: attempt ${attempt}/${tries} failed: ${reason}`)
      last = {...last, exitCode: last.exitCode === 0 ? -1 : last.exitCode}
    }
    stats.process_ms = Date.now() - t1
    stats.download_bytes += lazy.bytes
    if (lazy.error) {
      emit('stderr', `pach: ${lazy.error}`)
      return {state: 'FAILED', reason: lazy.error, output: null, stats, logs: logLines.join('\n') + '\n'}
    }
    const ok = last && !last.timedOut && !last.error && (last.exitCode === 0 || accept.has(last.exitCode))
    if (!ok) {
      if (spec.transform.err_cmd?.length && !a.signal.aborted) {
        const errStdin = spec.transform.err_stdin?.length ? spec.transform.err_stdin.join('\n') + '\n' : undefined
        const r = await worker.run({cmd: spec.transform.err_cmd, stdin: errStdin, env, timeoutMs, signal: a.signal, onOutput})
        flush()
        if (r.exitCode === 0 && !r.timedOut) return {state: 'RECOVERED', reason, output: null, stats, logs: logLines.join('\n') + '\n'}
      }
      return {state: 'FAILED', reason: reason || 'datum failed', output: null, stats, logs: logLines.join('\n') + '\n'}
    }
    // upload
    const t2 = Date.now()
    try {
      const ops = await this.collect(outDir, inputsDir, a.real, a.writer, stats, placeholders)
      const output = ops.length ? this.ctx.trees.apply(null, ops) : null
      stats.upload_ms = Date.now() - t2
      return {state: 'SUCCESS', reason: '', output, stats, logs: logLines.join('\n') + (logLines.length ? '\n' : '')}
    } catch (e) {
      if (!(e instanceof DatumError) && !(e as {code?: string}).code?.startsWith?.('PATH')) throw e
      const msg = (e as Error).message
      emit('stderr', `pach: ${msg}`)
      return {state: 'FAILED', reason: msg, output: null, stats, logs: logLines.join('\n') + '\n'}
    }
  }

  /** Output tree = union of every datum's output; two datums writing one path is an error. O(all outputs). */
  private mergeAll(outputs: {id: string; tree: Buffer | null}[]): {tree: Buffer | null; error: string} {
    const ops: TreeOp[] = []
    const owner = new Map<string, string>()
    for (const o of outputs) {
      if (!o.tree) continue
      for (const [path, e] of this.ctx.trees.walk(o.tree)) {
        if (e.kind !== 'file') continue
        const prev = owner.get(path)
        if (prev !== undefined) return {tree: null, error: duplicateMessage(path, prev, o.id)}
        owner.set(path, o.id)
        ops.push({type: 'putEntry', path, entry: e})
      }
    }
    try {
      return {tree: this.ctx.trees.apply(null, ops), error: ''}
    } catch (e) {
      return {tree: null, error: (e as Error).message}
    }
  }

  /**
   * The same result, computed from the base job's output: remove what vanished or re-run
   * datums wrote there, add what this job's datums wrote. O(what changed) — the common
   * case of one changed input among thousands. Owners of existing paths are looked up only
   * when a collision is found.
   */
  private mergeIncremental(
    baseTree: Buffer | null,
    plan: {process: Datum[]; removed: string[]; redo: string[]},
    results: Map<string, {state: DatumState; output: Buffer | null}>,
    baseOutput: (id: string) => Buffer | null,
    allOutputs: () => {id: string; tree: Buffer | null}[],
  ): {tree: Buffer | null; error: string} {
    // one apply for deletes and puts (one save of each changed directory); a put collides
    // with what the base keeps: a file not deleted here, or a directory that still has files
    // after the deletes (then, rarely, the deletes are applied on their own to find out)
    const deletes: TreeOp[] = []
    const puts: TreeOp[] = []
    const deleted = new Set<string>()
    for (const id of [...plan.removed, ...plan.redo]) {
      const t = baseOutput(id)
      if (!t) continue
      for (const [path, e] of this.ctx.trees.walk(t)) {
        if (e.kind !== 'file') continue
        deletes.push({type: 'delete', path})
        deleted.add(path)
      }
    }
    let afterDeletes: Buffer | null | undefined
    const keptInBase = (path: string): boolean => {
      const hit = this.ctx.trees.lookup(baseTree, path)
      if (!hit || deleted.has(path)) return false
      if (hit.kind === 'file') return true
      if (afterDeletes === undefined) afterDeletes = deletes.length ? this.ctx.trees.apply(baseTree, deletes) : baseTree
      return this.ctx.trees.lookup(afterDeletes, path) !== undefined
    }
    const owner = new Map<string, string>()
    try {
      for (const d of plan.process) {
        const r = results.get(d.id)
        if (!r || r.state !== 'SUCCESS' || !r.output) continue
        for (const [path, e] of this.ctx.trees.walk(r.output)) {
          if (e.kind !== 'file') continue
          const prev = owner.get(path)
          if (prev !== undefined) return {tree: null, error: duplicateMessage(path, prev, d.id)}
          if (keptInBase(path)) {
            const other = allOutputs().find((o) => o.id !== d.id && o.tree && this.ctx.trees.lookup(o.tree, path))
            return {tree: null, error: duplicateMessage(path, other?.id ?? 'an earlier datum', d.id)}
          }
          owner.set(path, d.id)
          puts.push({type: 'putEntry', path, entry: e})
        }
      }
      const ops = [...deletes, ...puts]
      return {tree: ops.length ? this.ctx.trees.apply(baseTree, ops) : baseTree, error: ''}
    } catch (e) {
      return {tree: null, error: (e as Error).message}
    }
  }

  private async small(buf: Buffer, writer: PackWriter): Promise<FileContent> {
    if (buf.length <= this.ctx.config.chunker.minSize) return smallContent(buf, writer)
    const c = await writeContent(once(buf), writer, this.ctx.config.chunker)
    if (writer.full) await writer.drain()
    return c
  }

  /**
   * transform.secrets for one job: `env_var` + `key` → an environment variable, `mount_path` →
   * the secret's keys written as files under the job's work directory and mounted read-only
   * there. A secret missing from `pach create secret` may come from the environment
   * (PACH_SECRET_<name>_<key>, for env vars only); otherwise the job fails naming it.
   */
  private resolveSecrets(spec: PipelineSpec, workRoot: string): {env: Record<string, string>; mounts: {host: string; container: string}[]} {
    const env: Record<string, string> = {}
    const mounts: {host: string; container: string}[] = []
    ;(spec.transform.secrets ?? []).forEach((s, i) => {
      const values = this.secrets.values(s.name)
      const missing = () => new NotFoundError('SECRET_NOT_FOUND', `secret ${s.name} (transform.secrets[${i}]) not found`, {hint: 'create it with `pach create secret -f secret.json`'})
      if (s.env_var) {
        const fromEnv = process.env[`PACH_SECRET_${s.name}_${s.key ?? ''}`.replace(/[^A-Za-z0-9_]/g, '_')]
        const v = values ? values.get(s.key ?? '')?.toString('utf8') : fromEnv
        if (v === undefined) {
          if (!values && fromEnv === undefined) throw missing()
          throw new NotFoundError('SECRET_KEY_NOT_FOUND', `secret ${s.name} has no key ${JSON.stringify(s.key ?? '')} (transform.secrets[${i}])`)
        }
        env[s.env_var] = v
      }
      if (s.mount_path) {
        if (!values) throw missing()
        const dir = join(workRoot, 'secrets', String(i))
        mkdirSync(dir, {recursive: true})
        for (const [k, v] of values) writeFileSync(join(dir, k), v, {mode: 0o644})
        mounts.push({host: dir, container: s.mount_path})
      }
    })
    return {env, mounts}
  }

  /** A datum input's commit (finished, so immutable: looked up once per process, not per datum). */
  private inputCommit(inp: DatumInput): CommitRow | undefined {
    const key = `${inp.project}/${inp.repo}/${inp.repo_type}@${inp.commit}`
    if (this.inputCommits.has(key)) return this.inputCommits.get(key)
    const repo = rows.getRepo(this.db, inp.project, inp.repo, inp.repo_type)
    const c = repo && inp.commit ? rows.getCommit(this.db, repo.id, inp.commit) : undefined
    if (c?.finished) this.inputCommits.set(key, c)
    return c
  }

  private readonly inputCommits = new Map<string, CommitRow | undefined>()

  /** The files of an input entry placed at `dest` (host paths), for placeholders. */
  private placeholderFiles(entry: Entry, dest: string): {path: string; entry: FileEntry}[] {
    if (entry.kind === 'file') return [{path: dest, entry}]
    const out: {path: string; entry: FileEntry}[] = []
    for (const [p, e] of this.ctx.trees.walk(entry.hash, '/')) if (e.kind === 'file') out.push({path: join(dest, p), entry: e})
    return out
  }

  /**
   * Store what user code left in /pfs/out. Symlinks are resolved in the container's view
   * (/pfs/<input>/…, /pfs/out/…, or relative) and must land inside /pfs; anything else
   * (a link out of /pfs, a device, a FIFO, a socket, a name PFS cannot hold) fails the datum.
   */
  private async collect(
    outDir: string,
    inputsDir: string,
    real: {out: string; in: string},
    writer: PackWriter,
    stats: Stats,
    placeholders: Map<string, FileEntry>,
  ): Promise<TreeOp[]> {
    const ops: TreeOp[] = []
    const {out: realOut, in: realIn} = real
    const inside = (p: string) => p === realOut || p.startsWith(realOut + sep) || p.startsWith(realIn + sep)
    const toHost = (containerPath: string): string => {
      if (containerPath === '/pfs/out' || containerPath.startsWith('/pfs/out/')) return join(outDir, containerPath.slice('/pfs/out'.length))
      if (containerPath.startsWith('/pfs/')) return join(inputsDir, containerPath.slice('/pfs'.length))
      return containerPath
    }
    const pfsPath = (relPath: string): string => {
      try {
        return validatePath(relPath)
      } catch (e) {
        throw new DatumError(`cannot upload file produced by the user code because its name cannot be represented in PFS: ${(e as Error).message}`)
      }
    }
    // what the user code wrote (not what its links point at), removed once everything is read:
    // the next datum then finds /pfs/out empty with no rename to the trash
    const written: string[] = []
    const visit = async (hostDir: string, containerDir: string, rel: string, depth: number, own: boolean): Promise<void> => {
      if (depth > 64) throw new DatumError(`output ${rel || '/'} is nested too deeply (symlink loop?)`)
      for (const name of readdirSync(hostDir).sort()) {
        const host = join(hostDir, name)
        const relPath = `${rel}/${name}`
        const st = lstatSync(host)
        if (own) written.push(host)
        let target = host
        let tst = st
        if (st.isSymbolicLink()) {
          const link = readlinkSync(host)
          const containerTarget = isAbsolute(link) ? link : resolve(`${containerDir}/${name}`, '..', link)
          const hostTarget = toHost(containerTarget)
          let real: string
          try {
            real = realpathSync(hostTarget)
          } catch {
            throw new DatumError(`output ${relPath} is a symlink to ${link}, which does not exist`)
          }
          if (!inside(real)) throw new DatumError(`output ${relPath} is a symlink to ${link}, outside /pfs; it is not followed`)
          target = real
          tst = statSync(real)
        }
        if (tst.isDirectory()) {
          await visit(target, `${containerDir}/${name}`, relPath, depth + 1, own && target === host)
          continue
        }
        const stand = placeholders.get(target)
        if (stand) {
          // a link to a lazy / empty_files input: the real file, by reference (no bytes read)
          ops.push({type: 'put', path: pfsPath(relPath), content: {size: stand.size, hash: stand.hash, chunks: stand.chunks, sizes: stand.sizes}})
          continue
        }
        if (!tst.isFile()) throw new DatumError(`cannot upload ${relPath}: not a regular file (devices, FIFOs and sockets are not stored)`)
        const path = pfsPath(relPath)
        let content: FileContent
        if (tst.size <= this.ctx.config.chunker.minSize) {
          // one chunk: hash in place, no stream machinery (the common case for many small outputs)
          const buf = readFileSync(target)
          content = smallContent(buf, writer)
        } else {
          content = await writeContent(createReadStream(target, {highWaterMark: 1 << 20}), writer, this.ctx.config.chunker)
        }
        stats.upload_bytes += content.size
        ops.push({type: 'put', path, content})
        if (writer.full) await writer.drain()
      }
    }
    await visit(outDir, '/pfs/out', '', 0, true)
    for (const path of written.reverse()) {
      try {
        unlinkSync(path)
      } catch {
        try {
          rmdirSync(path)
        } catch {
          // left for the next datum's clearDir
        }
      }
    }
    return ops
  }

  /**
   * Glob candidates for the planner: the entries the glob can match (found with a depth-bounded
   * walk), plus, for the root glob, one file so the planner knows the commit is not empty.
   */
  private candidates(tree: Buffer | null, glob: string): Match[] {
    const m = (path: string, e: Entry): Match => ({path, isDir: e.kind === 'dir', hash: toHex(e.hash), size: e.size})
    const out = this.files.globEntries(tree, glob).map(([p, e]) => m(p, e))
    if (out.length === 1 && out[0]!.path === '/') {
      for (const [p, e] of this.ctx.trees.walk(tree)) {
        if (e.kind === 'file') {
          out.push(m(p, e))
          break
        }
      }
    }
    return out
  }

  /** Datums of a spec that is not created (list datum -f): planned against current heads. */
  previewDatums(spec: PipelineSpec): Datum[] {
    const lister: Lister = (input) => {
      const repo = rows.getRepo(this.db, input.project, input.repo, input.repo_type)
      if (!repo) throw new NotFoundError('INPUT_REPO_NOT_FOUND', `input repo ${input.repo} not found`, {hint: `create it with \`pach create repo ${input.repo}\``})
      const b = rows.getBranch(this.db, repo.id, input.branch)
      const c = b ? rows.getCommit(this.db, repo.id, b.head) : undefined
      if (!c) return {commit: '', entries: []}
      return {
        commit: c.id,
        entries: this.candidates(c.tree, input.glob),
      }
    }
    return planDatums(spec.input, lister, spec.salt ?? '')
  }
}

function duplicateMessage(path: string, a: string, b: string): string {
  return `duplicate path output by different datums (${path} from ${a} and ${path} from ${b})`
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b
}

/**
 * Empty a worker directory in place (the runner's mounts point at the directory itself).
 * Entries are renamed into `trash` (one syscall each) and deleted later, off the datum's
 * critical path.
 */
/** Empty `dir` (all of it, or only `only`), except `keep`: entries are renamed to the trash. */
function clearDir(dir: string, trash: string, keep?: string, only?: string): void {
  let names: string[] = []
  try {
    names = only === undefined ? readdirSync(dir) : [only]
  } catch {
    mkdirSync(dir, {recursive: true})
    return
  }
  for (const n of names) {
    if (n === keep) continue
    try {
      renameSync(join(dir, n), join(trash, `${process.hrtime.bigint()}-${n}`))
    } catch {
      rmSync(join(dir, n), {recursive: true, force: true})
    }
  }
}

interface WorkerInputs {
  prev: {path: string; dir: boolean}[] | undefined
  dirs: Set<string>
}

/** Delete a work directory in the background (a native rm, off pach's event loop). */
function removeLater(dir: string): void {
  const doomed = `${dir}.deleting-${process.pid}-${Date.now()}`
  try {
    renameSync(dir, doomed)
  } catch {
    return
  }
  try {
    const child = nodeChildProcess().spawn('rm', ['-rf', doomed], {stdio: 'ignore', detached: true})
    child.on('error', () => rmSync(doomed, {recursive: true, force: true}))
    child.unref()
  } catch {
    rmSync(doomed, {recursive: true, force: true})
  }
}


function parseLogLines(text: string): {ts: string; stream: string; message: string}[] {
  const out: {ts: string; stream: string; message: string}[] = []
  for (const line of text.split('\n')) {
    if (!line) continue
    try {
      const r = JSON.parse(line) as {ts: string; stream: string; message: string}
      out.push(r)
    } catch {
      out.push({ts: '', stream: 'stdout', message: line})
    }
  }
  return out
}

/** The runner could not be started: not a job failure but the command's error. */
class RunnerUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super('runner unavailable')
  }
}

type DatumOutcome = {state: DatumState; reason: string; output: Buffer | null; stats: Stats; logs: string}

/** A datum whose inputs are in place, ready to run (JobService.processDatum). */
interface DatumRun {
  a: Parameters<JobService['runDatum']>[0]
  env: Record<string, string>
  stats: Stats
  t0: number
  /** host realpath of each lazy / empty_files placeholder → the real file */
  placeholders: Map<string, FileEntry>
  lazy: LazyFeeder
  emit: (stream: 'stdout' | 'stderr', line: string) => void
  flush: () => void
  onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void
  logLines: string[]
  trash: string
}

/** 0-byte placeholders for an empty_files input (the files of placeholderFiles). */
function emptyFiles(files: {path: string}[]): void {
  const made = new Set<string>()
  for (const f of files) {
    const dir = dirname(f.path)
    if (!made.has(dir)) mkdirSync(dir, {recursive: true})
    made.add(dir)
    writeFileSync(f.path, '')
  }
}
