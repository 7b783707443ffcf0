/**
 * pps_v2.API: pipelines, jobs, datums, logs, defaults and secrets, each method a thin
 * translation onto the core services the CLI's pipeline verbs use (pipelines, jobs, secrets);
 * message conversions are pps-convert.ts's.
 *
 * Rules (pachd's, src/server/pps/server/api_server.go):
 * - a pipeline or job with no project is in `default`; InspectPipeline names an older version
 *   as `name^N`.
 * - CreatePipeline (a message) takes the path of CreatePipelineV2 (protojson text): the
 *   spec is merged into the cluster and project defaults, parsed and validated by pach's one
 *   spec parser, then created or updated like `pach create/update pipeline`; the response
 *   is the effective spec as protojson. `dry_run` checks and creates nothing.
 * - Waits (InspectJob/InspectJobSet `wait`) and endless streams (SubscribeJob, GetLogs
 *   `follow`) re-read their state whenever the change feed says the database changed (at
 *   least once a second, which also picks up a running job's live log lines), until the
 *   client goes away.
 * - After a write that can make jobs runnable, the daemon is kicked: nobody has to call
 *   `pach run`.
 * - CreatePipelineV2's text is read as pachd's protojson reads it first: an unknown field is
 *   INVALID_ARGUMENT in pachd's words (protojson.ts).
 * - CreatePipeline(V2) with a `pach-transaction` header joins that transaction, as in pachd.
 *   Not done as pachd does: StopJob with a header is refused with TRANSACTION_ACTIVE
 *   (FAILED_PRECONDITION; BatchTransaction takes it); jq filters are not evaluated
 *   (a non-empty jqFilter is INVALID_ARGUMENT); `master` logs do not exist (pach runs no
 *   master process).
 */
import {status, type UntypedServiceImplementation} from '@grpc/grpc-js'
import {unknownFieldError} from './protojson.js'
import {grpcError} from './status.js'
import type {Handlers, CallContext} from './call.js'
import type {ServiceDeps} from './deps.js'
import {CancelledError, ConflictError, InvalidArgumentError, NotFoundError, isPachError} from '../../core/errors.js'
import {parseDefaults, parseSpecs, type PipelineSpec} from '../../core/pps/spec/index.js'
import {walkCron} from '../../core/pps/input.js'
import {queryLogs, type PipelineLogLine} from '../../core/pps/log-query.js'
import {isTerminalJobState} from '../../core/db/jobs.js'
import {DEFAULT_PROJECT, type DatumInfo, type DatumState, type JobInfo, type PipelineInfo} from '../../core/types.js'
import {commitOf, isoOf, projectOf, timestamp, type ProjectMsg, type Timestamp} from './convert.js'
import {datumInfoPB, inputDocument, jobHasSpec, jobInfoPB, logMessagePB, pipelineInfoPB, specDocument, specProtojson} from './pps-convert.js'
import {mustBeRoot} from './access.js'

type Json = Record<string, unknown>

interface PipelineMsg {
  name?: string
  project?: ProjectMsg | null
}
interface JobMsg {
  pipeline?: PipelineMsg | null
  id?: string
}

/** The pipeline a message names; INVALID_ARGUMENT when it names none. */
function pipelineOf(p: PipelineMsg | null | undefined): {project: string; name: string} {
  if (!p?.name) throw new InvalidArgumentError('MISSING_ARGUMENT', 'no pipeline specified')
  return {project: projectOf(p.project), name: p.name}
}

/** The job a message names; INVALID_ARGUMENT when it names no pipeline or no id. */
function jobOf(j: JobMsg | null | undefined): {project: string; pipeline: string; id: string} {
  const {project, name} = pipelineOf(j?.pipeline)
  if (!j?.id) throw new InvalidArgumentError('MISSING_ARGUMENT', `no job id specified for pipeline ${name}`)
  return {project, pipeline: name, id: j.id}
}

/** The projects a request's `projects` list names (undefined: every project). */
function projectFilter(ps: ProjectMsg[] | undefined): Set<string> | undefined {
  const names = (ps ?? []).map((p) => p.name).filter((n): n is string => !!n)
  return names.length ? new Set(names) : undefined
}

function refuseJq(jq: string | undefined, what: string): void {
  if (jq) {
    throw new InvalidArgumentError('USAGE', `jqFilter: pach serve does not evaluate jq filters (${JSON.stringify(jq)}); list the ${what} without one and filter them on the client`)
  }
}

const KEY_ORDER = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Within a time ordering, newest first by creation time (ties by id, for a stable order). */
const byCreated = (a: JobInfo, b: JobInfo) => KEY_ORDER(b.created, a.created) || KEY_ORDER(b.job.id, a.job.id)

/** "after" a pagination marker in the listing's direction (pachd skips the marker's own time). */
function afterMarker(created: string, marker: Timestamp | null | undefined, reverse: boolean): boolean {
  const m = isoOf(marker ?? null)
  if (!m) return true
  const t = Date.parse(created)
  const at = Date.parse(m)
  return reverse ? t > at : t < at
}

/** Datum states by wire name (ListDatum's filter). */
const DATUM_STATES = new Set<DatumState>(['SUCCESS', 'SKIPPED', 'FAILED', 'RECOVERED', 'STARTING', 'UNKNOWN'])

/**
 * The pipeline name a bare input is planned under (ListDatum with an `input`): a cron input
 * without a repo reads `<pipeline>_<name>`, which then names this, and does not exist.
 */
const DRY_PLAN_PIPELINE = 'list-datum'

export function ppsService(d: ServiceDeps, h: Handlers): UntypedServiceImplementation {
  const pach = d.pach

  /** Refuse a transactable request that names a transaction: pach cannot queue it. */
  function refuseTransaction(ctx: CallContext, what: string): void {
    if (!ctx.transaction) return
    pach.transactions.scoped(ctx.transaction, () => undefined) // TRANSACTION_NOT_FOUND for an unknown id
    throw new ConflictError('TRANSACTION_ACTIVE', `${what} cannot join transaction ${ctx.transaction}: a pach transaction queues repo, branch, commit and pipeline requests only`, {
      hint: what === 'StopJob' ? 'stop the job outside the transaction, or in a BatchTransaction' : 'send the request without the transaction (before or after it)',
    })
  }

  /**
   * Create (or update) a pipeline from spec text as CreatePipelineV2 takes it; returns the
   * effective spec as protojson. `file` names the spec in messages.
   */
  function createPipeline(text: string, file: string, opts: {update: boolean; reprocess: boolean; dryRun: boolean}, ctx?: CallContext): string {
    const {specs} = parseSpecs(text, file, DEFAULT_PROJECT, (project) => pach.pipelines.defaultsFor(project))
    if (specs.length !== 1) {
      throw new InvalidArgumentError('INVALID_SPEC', `${file}: one pipeline spec per request, got ${specs.length}`, {hint: 'send each pipeline in its own request'})
    }
    const spec = specs[0]!
    const extra = {...(opts.update && {update: true}), ...(opts.reprocess && {reprocess: true})}
    if (opts.dryRun) return specProtojson(pach.pipelines.check(spec, {update: opts.update, reprocess: opts.reprocess, file}), {...extra, dry_run: true})
    if (ctx?.transaction) {
      // joins the transaction: tried now with the requests before it (an input repo created
      // earlier in the same transaction counts), applied at FinishTransaction
      const req = {create_pipeline: {spec: spec as unknown as Record<string, unknown>, update: opts.update, reprocess: opts.reprocess, file, user_spec: text}}
      pach.transactions.scoped(ctx.transaction, () => pach.transactions.queue(req))
      return specProtojson(spec, extra)
    }
    const {info} = pach.pipelines.put(spec, {update: opts.update, reprocess: opts.reprocess, file, userSpec: text})
    d.kick()
    return specProtojson(info.details as unknown as PipelineSpec, extra)
  }

  /** A pipeline's info at `version` (an older one from its stored versions). */
  function infoAt(cur: PipelineInfo, version: number): PipelineInfo {
    if (version === cur.version) return cur
    const v = pach.pipelines.specAt(cur.pipeline.project.name, cur.pipeline.name, version)
    return {...cur, version, details: v.spec as unknown as Json, effective_spec_json: JSON.stringify(v.spec), spec_commit: {...cur.spec_commit, id: v.spec_commit}}
  }

  /** A pipeline by name, `name^N` naming the version N before the current one. */
  function inspectPipeline(project: string, name: string): PipelineInfo {
    const m = /^(.+?)\^(\d+)$/.exec(name)
    const cur = pach.pipelines.inspect(project, m ? m[1]! : name)
    if (!m) return cur
    const v = cur.version - Number(m[2])
    if (v < 1) throw new NotFoundError('PIPELINE_VERSION_NOT_FOUND', `pipeline ${cur.pipeline.name} has no version ${v} (it is at version ${cur.version})`)
    return infoAt(cur, v)
  }

  /**
   * A job as a JobInfo message, with its details when asked: the spec it ran with, or — for
   * a job that has not started — its pipeline version's spec (as pachd fills them in).
   */
  function jobPB(j: JobInfo, details: boolean): Json {
    if (!details) return jobInfoPB(j, null)
    if (jobHasSpec(j)) return jobInfoPB(j, j.details as unknown as PipelineSpec)
    try {
      const v = pach.pipelines.specAt(j.job.pipeline.project.name, j.job.pipeline.name, j.pipeline_version)
      return jobInfoPB(j, {...v.spec, salt: v.salt})
    } catch (e) {
      if (isPachError(e) && (e.code === 'PIPELINE_VERSION_NOT_FOUND' || e.code === 'PIPELINE_NOT_FOUND')) return jobInfoPB(j, null)
      throw e
    }
  }

  /** Wait until a job is in a terminal state, waking on every database change. */
  async function waitJob(k: {project: string; pipeline: string; id: string}, signal: AbortSignal): Promise<JobInfo> {
    for (;;) {
      const j = pach.jobs.inspect(k.project, k.pipeline, k.id)
      if (isTerminalJobState(j.state)) return j
      if (signal.aborted) throw new CancelledError('the wait was cancelled')
      await d.feed.next(signal)
    }
  }

  /** The jobs of one job set, oldest first (upstream before downstream). */
  const jobsOfSet = (id: string): JobInfo[] => pach.jobs.list({id}).sort((a, b) => -byCreated(a, b))

  /** Current version of every pipeline, "project/name" → version. */
  function currentVersions(): Map<string, number> {
    return new Map(pach.pipelines.list().map((p) => [`${p.pipeline.project.name}/${p.pipeline.name}`, p.version]))
  }

  /**
   * Delete the pipelines of some projects (undefined: every project), as `pach delete
   * pipeline --all` does: newest first, each forced (the set goes as a whole, whatever reads
   * whose output inside it).
   */
  function deletePipelines(projects: Set<string> | undefined, opts: {keepRepo: boolean}) {
    const out: {name: string; project: {name: string}}[] = []
    for (const p of pach.pipelines.list()) {
      if (projects && !projects.has(p.pipeline.project.name)) continue
      pach.pipelines.delete(p.pipeline.project.name, p.pipeline.name, {keepRepo: opts.keepRepo, force: true})
      out.push(p.pipeline)
    }
    return out
  }

  return {
    // ---------------------------------------------------------------- pipelines

    CreatePipelineV2: h.unary('CreatePipelineV2', (req: {create_pipeline_request_json: string; dry_run: boolean; update: boolean; reprocess: boolean}, ctx) => {
      mustBeRoot(ctx, 'PIPELINE_CREATE')
      // pachd reads the text with protojson first: an unknown field is refused in its words
      const unknown = unknownFieldError(req.create_pipeline_request_json)
      if (unknown) {
        throw grpcError(status.INVALID_ARGUMENT, `could not make effective spec: could not parse ${req.create_pipeline_request_json} as Create Pipeline Request message: ${unknown}`)
      }
      const json = createPipeline(req.create_pipeline_request_json, 'create_pipeline_request_json', {update: req.update, reprocess: req.reprocess, dryRun: req.dry_run}, ctx)
      return {effective_create_pipeline_request_json: json}
    }),

    CreatePipeline: h.unary('CreatePipeline', (req: Json & {update: boolean; reprocess: boolean; dry_run: boolean}, ctx) => {
      mustBeRoot(ctx, 'PIPELINE_CREATE')
      createPipeline(JSON.stringify(specDocument(req)), 'CreatePipelineRequest', {update: req.update, reprocess: req.reprocess, dryRun: req.dry_run}, ctx)
      return {}
    }),

    InspectPipeline: h.unary('InspectPipeline', (req: {pipeline: PipelineMsg | null; details: boolean}) => {
      const {project, name} = pipelineOf(req.pipeline)
      return pipelineInfoPB(inspectPipeline(project, name), req.details)
    }),

    ListPipeline: h.serverStream(
      'ListPipeline',
      function* (req: {pipeline: PipelineMsg | null; history: number; jqFilter: string; commit_set: {id: string} | null; projects: ProjectMsg[]; page: {page_size: number; page_index: number} | null}) {
        refuseJq(req.jqFilter, 'pipelines')
        const projects = projectFilter(req.projects)
        let infos: PipelineInfo[]
        if (req.pipeline?.name) {
          const {project, name} = pipelineOf(req.pipeline)
          infos = [inspectPipeline(project, name)]
        } else infos = pach.pipelines.list().filter((p) => !projects || projects.has(p.pipeline.project.name))
        const setId = req.commit_set?.id
        const out: PipelineInfo[] = []
        for (const cur of infos) {
          if (setId) {
            // the pipeline as it was when it ran that job set (pipelines without a job in it are left out)
            const [job] = pach.jobs.list({project: cur.pipeline.project.name, pipeline: cur.pipeline.name, id: setId})
            if (job) out.push({...infoAt(cur, job.pipeline_version), last_job_state: job.state})
            continue
          }
          const oldest = req.history < 0 ? 1 : Math.max(1, cur.version - req.history)
          for (let v = cur.version; v >= oldest; v--) {
            try {
              out.push(infoAt(cur, v))
            } catch (e) {
              if (isPachError(e) && e.code === 'PIPELINE_VERSION_NOT_FOUND') continue
              throw e
            }
          }
        }
        const size = req.page?.page_size ?? 0
        const page = size > 0 ? out.slice(size * (req.page?.page_index ?? 0), size * ((req.page?.page_index ?? 0) + 1)) : out
        for (const p of page) yield pipelineInfoPB(p, true)
      },
    ),

    DeletePipeline: h.unary('DeletePipeline', (req: {pipeline: PipelineMsg | null; all: boolean; force: boolean; keep_repo: boolean; must_exist: boolean}, ctx) => {
      mustBeRoot(ctx, 'PIPELINE_DELETE')
      if (req.all) {
        deletePipelines(undefined, {keepRepo: req.keep_repo})
        return {}
      }
      const {project, name} = pipelineOf(req.pipeline)
      if (!req.must_exist && !pach.pipelines.get(project, name)) return {}
      pach.pipelines.delete(project, name, {keepRepo: req.keep_repo, force: req.force})
      return {}
    }),

    DeletePipelines: h.unary('DeletePipelines', (req: {projects: ProjectMsg[]; force: boolean; keep_repo: boolean; all: boolean}, ctx) => {
      mustBeRoot(ctx, 'PIPELINE_DELETE')
      const projects = req.all ? undefined : (projectFilter(req.projects) ?? new Set<string>())
      return {pipelines: deletePipelines(projects, {keepRepo: req.keep_repo})}
    }),

    StartPipeline: h.unary('StartPipeline', (req: {pipeline: PipelineMsg | null}, ctx) => {
      mustBeRoot(ctx, 'PIPELINE_START')
      const {project, name} = pipelineOf(req.pipeline)
      pach.pipelines.start(project, name)
      d.kick()
      return {}
    }),

    StopPipeline: h.unary('StopPipeline', (req: {pipeline: PipelineMsg | null; must_exist: boolean}, ctx) => {
      mustBeRoot(ctx, 'PIPELINE_STOP')
      const {project, name} = pipelineOf(req.pipeline)
      if (!req.must_exist && !pach.pipelines.get(project, name)) return {}
      pach.pipelines.stop(project, name)
      return {}
    }),

    RunCron: h.unary('RunCron', (req: {pipeline: PipelineMsg | null}, ctx) => {
      mustBeRoot(ctx, 'PIPELINE_RUN_CRON')
      const {project, name} = pipelineOf(req.pipeline)
      const p = pach.pipelines.must(project, name)
      if (walkCron(pach.pipelines.spec(p).input).length === 0) throw new NotFoundError('NO_CRON_INPUT', `pipeline "${name}" has no cron input`)
      pach.pipelines.cronTicks(new Date(pach.now()), {project, name, force: true})
      d.kick()
      return {}
    }),

    RerunPipeline: h.unary('RerunPipeline', (req: {pipeline: PipelineMsg | null; reprocess: boolean}, ctx) => {
      mustBeRoot(ctx, 'PIPELINE_RERUN')
      const {project, name} = pipelineOf(req.pipeline)
      const p = pach.pipelines.must(project, name)
      pach.pipelines.put(pach.pipelines.spec(p), {update: true, reprocess: req.reprocess, file: `pipeline ${name}`, userSpec: p.user_spec})
      d.kick()
      return {}
    }),

    DeleteAll: h.unary('DeleteAll', (_req: unknown, ctx) => {
      mustBeRoot(ctx, 'CLUSTER_DELETE_ALL')
      deletePipelines(undefined, {keepRepo: false})
      for (const s of pach.secrets.list()) pach.secrets.delete(s.secret.name)
      return {}
    }),

    // ---------------------------------------------------------------- jobs

    InspectJob: h.unary('InspectJob', async (req: {job: JobMsg | null; wait: boolean; details: boolean}, ctx) => {
      const k = jobOf(req.job)
      const j = req.wait ? await waitJob(k, ctx.signal) : pach.jobs.inspect(k.project, k.pipeline, k.id)
      return jobPB(j, req.details)
    }),

    InspectJobSet: h.serverStream('InspectJobSet', async function* (req: {job_set: {id: string} | null; wait: boolean; details: boolean}, ctx) {
      const id = req.job_set?.id
      if (!id) throw new InvalidArgumentError('MISSING_ARGUMENT', 'no job set specified')
      const sent = new Set<string>()
      for (;;) {
        // with wait, a job finishing can start more of the set downstream: look again until none is new
        const next = jobsOfSet(id).filter((j) => !sent.has(`${j.job.pipeline.project.name}/${j.job.pipeline.name}`))
        if (next.length === 0) return
        for (const j of next) {
          sent.add(`${j.job.pipeline.project.name}/${j.job.pipeline.name}`)
          const info = req.wait ? await waitJob({project: j.job.pipeline.project.name, pipeline: j.job.pipeline.name, id}, ctx.signal) : j
          yield jobPB(info, req.details)
        }
        if (!req.wait) return
      }
    }),

    ListJob: h.serverStream(
      'ListJob',
      function* (req: {projects: ProjectMsg[]; pipeline: PipelineMsg | null; input_commit: Json[]; history: number; details: boolean; jqFilter: string; paginationMarker: Timestamp | null; number: number; reverse: boolean}) {
        refuseJq(req.jqFilter, 'jobs')
        const projects = projectFilter(req.projects)
        const one = req.pipeline?.name ? pipelineOf(req.pipeline) : undefined
        let jobs = one ? pach.jobs.list({project: one.project, pipeline: one.name}) : pach.jobs.list()
        if (projects) jobs = jobs.filter((j) => projects.has(j.job.pipeline.project.name))
        // history: jobs of the pipelines' current versions, or of `history` versions before them (-1: all)
        const versions = currentVersions()
        jobs = jobs.filter((j) => {
          const cur = versions.get(`${j.job.pipeline.project.name}/${j.job.pipeline.name}`)
          return cur !== undefined && (req.history < 0 || j.pipeline_version >= cur - req.history)
        })
        if (req.input_commit?.length) {
          const wanted = req.input_commit.map((c) => {
            const {ref, project} = commitOf(c)
            const info = pach.commits.inspect(project, ref)
            return `${info.commit.repo.project.name}/${info.commit.repo.name}/${info.commit.repo.type}@${info.commit.id}`
          })
          jobs = jobs.filter((j) => {
            const prov = new Set(pach.commits.inspect(j.job.pipeline.project.name, {repo: {name: j.job.pipeline.name, type: 'user'}, id: j.job.id}).direct_provenance.map((c) => `${c.repo.project.name}/${c.repo.name}/${c.repo.type}@${c.id}`))
            return wanted.every((w) => prov.has(w) || w.endsWith(`@${j.job.id}`))
          })
        }
        jobs.sort(byCreated)
        if (req.reverse) jobs.reverse()
        jobs = jobs.filter((j) => afterMarker(j.created, req.paginationMarker, req.reverse))
        if (req.number > 0) jobs = jobs.slice(0, req.number)
        for (const j of jobs) yield jobPB(j, req.details)
      },
    ),

    ListJobSet: h.serverStream('ListJobSet', function* (req: {details: boolean; projects: ProjectMsg[]; paginationMarker: Timestamp | null; number: number; reverse: boolean; jqFilter: string}) {
      refuseJq(req.jqFilter, 'job sets')
      const projects = projectFilter(req.projects)
      const jobs = pach.jobs.list().sort(byCreated)
      if (req.reverse) jobs.reverse()
      const seen = new Set<string>()
      let left = req.number > 0 ? req.number : Infinity
      for (const j of jobs) {
        if (left <= 0) return
        if (seen.has(j.job.id)) continue
        seen.add(j.job.id)
        if (!afterMarker(j.created, req.paginationMarker, req.reverse)) continue
        const set = jobsOfSet(j.job.id).filter((x) => !projects || projects.has(x.job.pipeline.project.name))
        if (set.length === 0) continue
        yield {job_set: {id: j.job.id}, jobs: set.map((x) => jobPB(x, req.details))}
        left--
      }
    }),

    SubscribeJob: h.serverStream('SubscribeJob', async function* (req: {pipeline: PipelineMsg | null; details: boolean}, ctx) {
      const {project, name} = pipelineOf(req.pipeline)
      pach.pipelines.must(project, name)
      // each job once: those unfinished when the call came, then every new one — even one the
      // daemon finished before this looked (pachd's watch sees a job's creation)
      const seen = new Set(pach.jobs.list({project, pipeline: name}).filter((j) => isTerminalJobState(j.state)).map((j) => j.job.id))
      while (!ctx.signal.aborted) {
        for (const j of pach.jobs.list({project, pipeline: name}).sort((a, b) => -byCreated(a, b))) {
          if (seen.has(j.job.id)) continue
          seen.add(j.job.id)
          yield jobPB(j, req.details)
        }
        await d.feed.next(ctx.signal)
      }
    }),

    DeleteJob: h.unary('DeleteJob', (req: {job: JobMsg | null}, ctx) => {
      mustBeRoot(ctx, 'JOB_DELETE')
      const k = jobOf(req.job)
      pach.pipelines.deleteJob(k.project, k.pipeline, k.id)
      return {}
    }),

    StopJob: h.unary('StopJob', (req: {job: JobMsg | null; reason: string}, ctx) => {
      mustBeRoot(ctx, 'JOB_STOP')
      refuseTransaction(ctx, 'StopJob')
      const k = jobOf(req.job)
      pach.jobs.stop(k.project, k.pipeline, k.id, req.reason || undefined)
      return {}
    }),

    // ---------------------------------------------------------------- datums

    ListDatum: h.serverStream(
      'ListDatum',
      function* (req: {job: JobMsg | null; input: Json | null; filter: {state: string[]} | null; paginationMarker: string; number: number; reverse: boolean}) {
        let datums: DatumInfo[]
        if (req.input) {
          // the planner reads only the input; the spec's validation asks for a command anyway
          const doc = {pipeline: {name: DRY_PLAN_PIPELINE}, transform: {cmd: ['true']}, input: inputDocument(req.input)}
          const {specs} = parseSpecs(JSON.stringify(doc), 'input', DEFAULT_PROJECT)
          datums = pach.jobs.previewDatumInfos(specs[0]!, {name: '', project: {name: ''}})
        } else {
          const k = jobOf(req.job)
          datums = pach.jobs.listDatums(k.project, k.pipeline, k.id)
        }
        const states = (req.filter?.state ?? []).filter((s): s is DatumState => DATUM_STATES.has(s as DatumState))
        if (states.length) datums = datums.filter((x) => states.includes(x.state))
        if (req.reverse) datums.reverse()
        if (req.paginationMarker) {
          const at = datums.findIndex((x) => x.datum.id === req.paginationMarker)
          if (at >= 0) datums = datums.slice(at + 1)
        }
        if (req.number > 0) datums = datums.slice(0, req.number)
        for (const x of datums) yield datumInfoPB(x)
      },
    ),

    InspectDatum: h.unary('InspectDatum', (req: {datum: {job: JobMsg | null; id: string} | null}) => {
      const k = jobOf(req.datum?.job)
      if (!req.datum?.id) throw new InvalidArgumentError('MISSING_ARGUMENT', 'no datum id specified')
      return datumInfoPB(pach.jobs.inspectDatum(k.project, k.pipeline, k.id, req.datum.id))
    }),

    RestartDatum: h.unary('RestartDatum', async (req: {job: JobMsg | null; data_filters: string[]}, ctx) => {
      mustBeRoot(ctx, 'JOB_RESTART_DATUM')
      const k = jobOf(req.job)
      await pach.jobs.restartDatum(k.project, k.pipeline, k.id, req.data_filters)
      return {}
    }),

    // ---------------------------------------------------------------- logs

    GetLogs: h.serverStream(
      'GetLogs',
      async function* (
        req: {pipeline: PipelineMsg | null; job: JobMsg | null; data_filters: string[]; datum: {job: JobMsg | null; id: string} | null; master: boolean; follow: boolean; tail: number; since: {seconds: number; nanos: number} | null},
        ctx,
      ) {
        if (req.master) {
          throw new InvalidArgumentError('USAGE', 'master: pach runs no master or worker process; its logs are what user code printed', {hint: 'ask without master for the output of user code; a job\'s failure is in InspectJob'})
        }
        const job = req.job?.id ? jobOf(req.job) : req.datum?.job?.id ? jobOf(req.datum.job) : undefined
        const pipeline = job ? {project: job.project, name: job.pipeline} : req.pipeline?.name ? pipelineOf(req.pipeline) : undefined
        const project = pipeline?.project ?? projectOf(req.pipeline?.project)
        const sinceMs = req.since && (req.since.seconds || req.since.nanos) ? Number(req.since.seconds) * 1000 + Math.floor(Number(req.since.nanos) / 1e6) : undefined
        const q = {project, pipeline: pipeline?.name, job: job?.id, datum: req.datum?.id || undefined, inputs: req.data_filters.filter((s) => s !== ''), sinceMs}
        const get = () => queryLogs(pach.jobs, pach.pipelines, pach.now(), q)
        const key = (l: PipelineLogLine) => `${l.pipeline}\0${l.job}\0${l.datum}\0${l.ts}\0${l.stream}\0${l.message}`
        // the files each line's datum read (LogMessage.data), listed once per job
        const inputs = new Map<string, Map<string, {path: string; hash: Buffer}[]>>()
        const dataOf = (l: PipelineLogLine) => {
          if (!l.job || !l.datum) return [] // a spout's or service's own output: no datum read anything
          const k = `${l.pipeline}@${l.job}`
          let byDatum = inputs.get(k)
          if (!byDatum?.has(l.datum)) {
            byDatum = new Map(pach.jobs.listDatums(project, l.pipeline, l.job).map((x) => [x.datum.id, x.data.map((f) => ({path: f.file.path, hash: Buffer.from(f.hash, 'hex')}))]))
            inputs.set(k, byDatum)
          }
          return byDatum.get(l.datum) ?? []
        }
        let lines = get()
        if (req.tail > 0) lines = lines.slice(-req.tail)
        const seen = new Set(lines.map(key))
        for (const l of lines) yield logMessagePB(project, l, dataOf(l))
        if (!req.follow) return
        while (!ctx.signal.aborted) {
          await d.feed.next(ctx.signal)
          if (ctx.signal.aborted) return
          for (const l of get()) {
            const k = key(l)
            if (seen.has(k)) continue
            seen.add(k)
            yield logMessagePB(project, l, dataOf(l))
          }
        }
      },
    ),

    // ---------------------------------------------------------------- defaults

    GetClusterDefaults: h.unary('GetClusterDefaults', () => ({cluster_defaults_json: JSON.stringify(pach.pipelines.defaults({cluster: true}) ?? {})})),

    SetClusterDefaults: h.unary('SetClusterDefaults', (req: {regenerate: boolean; reprocess: boolean; dry_run: boolean; cluster_defaults_json: string}, ctx) => {
      mustBeRoot(ctx, 'CLUSTER_SET_DEFAULTS')
      const doc = parseDefaults(req.cluster_defaults_json, 'cluster_defaults_json')
      const {affected} = pach.pipelines.setDefaults({cluster: true}, doc, {regenerate: req.regenerate, reprocess: req.reprocess, dryRun: req.dry_run})
      if (!req.dry_run) d.kick()
      return {affected_pipelines: affected.map(pipelineMsgOf)}
    }),

    GetProjectDefaults: h.unary('GetProjectDefaults', (req: {project: ProjectMsg | null}) => {
      const doc = pach.pipelines.defaults({project: projectOf(req.project)})
      return {project_defaults_json: JSON.stringify(doc ?? {}), created_by: '', created_at: null}
    }),

    SetProjectDefaults: h.unary('SetProjectDefaults', (req: {project: ProjectMsg | null; regenerate: boolean; reprocess: boolean; dry_run: boolean; project_defaults_json: string}, ctx) => {
      mustBeRoot(ctx, 'PROJECT_SET_DEFAULTS')
      const doc = parseDefaults(req.project_defaults_json, 'project_defaults_json')
      const {affected} = pach.pipelines.setDefaults({project: projectOf(req.project)}, doc, {regenerate: req.regenerate, reprocess: req.reprocess, dryRun: req.dry_run})
      if (!req.dry_run) d.kick()
      return {affected_pipelines: affected.map(pipelineMsgOf)}
    }),

    // ---------------------------------------------------------------- secrets

    CreateSecret: h.unary('CreateSecret', (req: {file: Buffer}, ctx) => {
      mustBeRoot(ctx, 'SECRET_CREATE')
      let manifest: unknown
      try {
        manifest = JSON.parse(Buffer.from(req.file ?? []).toString('utf8'))
      } catch (e) {
        throw new InvalidArgumentError('INVALID_SECRET', `file: not a JSON Kubernetes Secret manifest (${(e as Error).message})`)
      }
      pach.secrets.create(manifest, 'file')
      return {}
    }),

    InspectSecret: h.unary('InspectSecret', (req: {secret: {name: string} | null}, ctx) => {
      mustBeRoot(ctx, 'SECRET_INSPECT')
      return secretInfoPB(pach.secrets.inspect(secretName(req.secret)))
    }),

    ListSecret: h.unary('ListSecret', (_req: unknown, ctx) => {
      mustBeRoot(ctx, 'SECRET_LIST')
      return {secret_info: pach.secrets.list().map(secretInfoPB)}
    }),

    DeleteSecret: h.unary('DeleteSecret', (req: {secret: {name: string} | null}, ctx) => {
      mustBeRoot(ctx, 'SECRET_DELETE')
      pach.secrets.delete(secretName(req.secret))
      return {}
    }),
  }
}

/** "p" or "project/p" (setDefaults' names) as a Pipeline message. */
function pipelineMsgOf(s: string): {name: string; project: {name: string}} {
  const i = s.indexOf('/')
  return i < 0 ? {name: s, project: {name: DEFAULT_PROJECT}} : {name: s.slice(i + 1), project: {name: s.slice(0, i)}}
}

function secretName(s: {name: string} | null | undefined): string {
  if (!s?.name) throw new InvalidArgumentError('MISSING_ARGUMENT', 'no secret specified')
  return s.name
}

function secretInfoPB(s: {secret: {name: string}; type: string; creation_timestamp: string}) {
  return {secret: s.secret, type: s.type, creation_timestamp: timestamp(s.creation_timestamp)}
}
