/**
 * Pipelines: create/update/list/inspect/delete/stop/start (pachctl's pipeline verbs).
 *
 * A pipeline P owns three repos: P (output, type user), P.spec (one empty USER commit per
 * create/update: the version marker) and P.meta (per-datum metadata and logs). The output
 * and meta branches (`output_branch`, default master) have provenance = every input branch +
 * P.spec@master, so a new input commit — or a new spec commit — propagates an open AUTO
 * commit with the same global id to the output and meta branches, and `onAutoCommit`
 * hands it to the job lifecycle, which creates the job (JOB_CREATED); the job service runs
 * it. Pipeline rows live in db/pipelines.ts; this service holds no SQL.
 *
 * Refused (UNSUPPORTED_SPEC_FIELD, before anything is written): specs setting a field pach
 * does not implement yet and whose absence would change the result (spec/types.ts
 * REFUSED_FIELDS: egress; an s3 input to a service).
 *
 * Spouts and services (continuous.ts runs their code while `pach serve` runs): a spout's
 * output branch has provenance on its spec branch only, and takes no jobs: an AUTO commit
 * propagated onto it (create, update, start) is finished at once, empty, so that the spout's
 * own commits (PfsHooks.ownsOutput: its code, through its per-pipeline token) follow a
 * finished head. A service gets jobs like a transform; the supervisor, not the job service,
 * takes them. Their state (RUNNING, CRASHING) is written by the supervisor and shown only
 * while it lives (meta `pps.continuous.owner`); otherwise STANDBY.
 *
 * Defaults (pachctl create/inspect/delete defaults): the documents live in the meta table
 * (`pps.defaults.cluster`, `pps.defaults.project.<project>`), as the user wrote them;
 * spec/defaults.ts merges them under every spec of the project (callers pass defaultsFor to
 * parseSpecs); setDefaults can regenerate the pipelines they change.
 *
 * Rules (Pachyderm's): the salt is kept across updates unless --reprocess; updating kills
 * the pipeline's unfinished jobs ("all jobs killed because pipeline was updated"); input
 * repos must exist; a pipeline cannot read its own output or anything downstream of it; a
 * pipeline name cannot clash with an existing non-pipeline repo; stop removes the output
 * branch's provenance (new input commits make no output commits), start restores it.
 */
import {parseStored} from '../db/json.js'
import {AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError} from '../errors.js'
import type {CoreContext} from '../context.js'
import {withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {CommitRow, RepoRow} from '../db/pfs-rows.js'
import * as jobRows from '../db/jobs.js'
import * as datumRows from '../db/datums.js'
import * as pipelineRows from '../db/pipelines.js'
import type {PipelineRow} from '../db/pipelines.js'
import type {JobLifecycle} from './job-lifecycle.js'
import type {PfsEngine} from '../pfs/engine.js'
import type {CreatePipelineRequest, PfsHooks} from '../pfs/hooks.js'
import {repoLabel, type JobState, type PipelineInfo, type PipelineState} from '../types.js'
import {walkCron, walkPfs, type CronInput} from './input.js'
import type {Trigger} from '../pfs/trigger.js'
import {cronNext} from '../units/cron.js'
import {didYouMean} from '../text/edit-distance.js'
import {emptyContent} from '../store/content.js'
import type {TreeOp} from '../store/tree-store.js'
import {effectiveDefaults, localRefusals, parseSpecs, pipelineKind, type PipelineSpec} from './spec/index.js'
import {continuousOwnerAlive} from './continuous-owner.js'
import {continuousLogFile} from './continuous.js'
import {rmSync} from 'node:fs'
import {getMeta, setMeta} from '../db/meta.js'
import {imageDrift, type ImageDrift} from './image-drift.js'
import type {LocalImageIds} from './runner.js'

export type {PipelineRow} from '../db/pipelines.js'

/** Whose defaults: the cluster's (every project of the .pach) or one project's. */
export type DefaultsScope = {cluster: true} | {project: string}

/** The meta key of a scope's defaults. */
const defaultsKey = (scope: DefaultsScope): string => ('cluster' in scope ? 'pps.defaults.cluster' : `pps.defaults.project.${scope.project}`)

/**
 * Refuse a spec that sets a field pach does not implement and whose absence would change the
 * result (spec/ localRefusals): one line per field, every field in one error.
 *
 * @throws InvalidArgumentError UNSUPPORTED_SPEC_FIELD
 */
function refuseUnsupported(spec: PipelineSpec, file: string): void {
  const refusals = localRefusals(spec)
  const first = refusals[0]
  if (!first) return
  const prefix = `${file}: pipeline "${spec.pipeline.name}": `
  const errors = refusals.map((r) => ({message: prefix + r.message, field: r.field, pipeline: spec.pipeline.name, hint: r.hint}))
  const more = errors.length - 1
  throw new InvalidArgumentError('UNSUPPORTED_SPEC_FIELD', errors[0]!.message + (more > 0 ? ` (and ${more} more unsupported field${more === 1 ? '' : 's'})` : ''), {
    hint: first.hint,
    data: {file, field: first.field, pipeline: spec.pipeline.name, errors},
  })
}

export class PipelineService implements PfsHooks {
  constructor(
    readonly ctx: CoreContext,
    readonly engine: PfsEngine,
    private readonly jobs: JobLifecycle,
  ) {}

  private get db() {
    return this.ctx.db
  }

  get(project: string, name: string): PipelineRow | undefined {
    return pipelineRows.getPipeline(this.db, project, name)
  }

  must(project: string, name: string): PipelineRow {
    const p = this.get(project, name)
    if (!p) {
      const {hint, suggestion} = didYouMean(name, pipelineRows.listPipelines(this.db, project).map((o) => o.name), 'list pipelines with `pach list pipeline`')
      throw new NotFoundError('PIPELINE_NOT_FOUND', `pipeline ${name} not found`, {hint, data: {pipeline: name, project, ...(suggestion && {suggestion})}})
    }
    return p
  }

  spec(p: PipelineRow): PipelineSpec {
    return parseStored<PipelineSpec>(p.spec, `pipeline ${p.name} spec`)
  }

  specAt(project: string, name: string, version: number): {spec: PipelineSpec; salt: string; spec_commit: string} {
    const v = pipelineRows.getPipelineVersion(this.db, project, name, version)
    if (!v) throw new NotFoundError('PIPELINE_VERSION_NOT_FOUND', `pipeline ${name} has no version ${version}`)
    return {spec: parseStored<PipelineSpec>(v.spec, `pipeline ${name} version ${version} spec`), salt: v.salt, spec_commit: v.spec_commit}
  }

  // ---- PfsHooks ----

  pipelineOf(repo: RepoRow): string | undefined {
    return this.get(repo.project, repo.name) ? repo.name : undefined
  }

  isSpecCommit(repo: RepoRow, commit: CommitRow): boolean {
    return repo.type === 'spec' && commit.origin === 'USER' && this.get(repo.project, repo.name) !== undefined
  }

  isOutputCommit(repo: RepoRow, commit: CommitRow): boolean {
    return (repo.type === 'user' || repo.type === 'meta') && commit.origin === 'AUTO' && this.get(repo.project, repo.name) !== undefined
  }

  /** A new AUTO commit on a pipeline's output branch is a new job (a spout's is finished at once: it has no jobs). */
  onAutoCommit(repo: RepoRow, branch: string, commit: CommitRow): void {
    const p = repo.type === 'user' || repo.type === 'meta' ? this.get(repo.project, repo.name) : undefined
    if (p && pipelineKind(this.spec(p)) === 'spout') {
      this.engine.finishCommit(repo, commit, {})
      return
    }
    this.jobs.create(repo, branch, commit)
  }

  /** PfsHooks: a spout (running) writes its own output branch. */
  ownsOutput(repo: RepoRow, branch: string, writer: {project: string; pipeline: string}): boolean {
    if (repo.type !== 'user' || repo.project !== writer.project || repo.name !== writer.pipeline) return false
    const p = this.get(repo.project, repo.name)
    if (!p || p.stopped) return false
    const spec = this.spec(p)
    return pipelineKind(spec) === 'spout' && spec.output_branch === branch
  }

  // ---- verbs ----

  /**
   * What put would check, without writing anything (pachctl's `--dry-run`): the spec must not
   * set a field pach refuses (localRefusals), the project must exist, a create must not name an
   * existing pipeline or repo, input repos must exist (cron repos put would create excepted)
   * and no input may be downstream of the pipeline. Returns the effective spec: the
   * normalised one, with the salt an update would keep. `batch`: the other specs the same
   * command creates first (their output repos count as existing inputs).
   *
   * @throws UNSUPPORTED_SPEC_FIELD, PROJECT_NOT_FOUND, PIPELINE_EXISTS, REPO_EXISTS, INPUT_REPO_NOT_FOUND, PIPELINE_CYCLE
   */
  check(spec: PipelineSpec, opts: {update: boolean; reprocess: boolean; file: string; batch?: PipelineSpec[]}): PipelineSpec {
    const existing = this.precheck(spec, opts)
    const toCreate = new Set([...walkCron(spec.input).map((c) => `${c.project}/${c.repo}`), ...(opts.batch ?? []).map((s) => `${s.pipeline.project.name}/${s.pipeline.name}`)])
    this.checkInputs(spec, opts.file, toCreate)
    const salt = existing && !opts.reprocess ? existing.salt : opts.reprocess ? undefined : spec.salt
    return {...spec, ...(salt !== undefined ? {salt} : {})}
  }

  /** put's and check's checks before any input: refusals, project, existence. Returns the existing pipeline, if any. */
  private precheck(spec: PipelineSpec, opts: {update: boolean; file: string}): PipelineRow | undefined {
    const project = spec.pipeline.project.name
    const name = spec.pipeline.name
    refuseUnsupported(spec, opts.file)
    this.engine.resolve.project(project)
    const existing = this.get(project, name)
    if (existing && !opts.update) {
      throw new AlreadyExistsError('PIPELINE_EXISTS', `pipeline "${name}" already exists`, {hint: 'use `pach update pipeline` to change it', data: {pipeline: name, project}})
    }
    if (!existing && rows.getRepo(this.db, project, name, 'user')) {
      throw new AlreadyExistsError('REPO_EXISTS', `${opts.file}: pipeline "${name}" cannot be created because a repo with the same name already exists`, {
        hint: 'choose another pipeline name, or delete the repo',
      })
    }
    return existing
  }

  /**
   * Create (or, with update, replace) a pipeline from a normalised spec, in one transaction.
   * Returns the info and the id of the change (the first job's id). Checks as `check` does.
   */
  /** A transaction's create_pipeline request, applied (PfsHooks): `put` of its spec. */
  createPipeline(req: CreatePipelineRequest): void {
    this.put(req.spec as unknown as PipelineSpec, {update: req.update, reprocess: req.reprocess, file: req.file, userSpec: req.user_spec})
  }

  put(spec: PipelineSpec, opts: {update: boolean; reprocess: boolean; file: string; userSpec?: string}): {info: PipelineInfo; id: string} {
    return withTx(this.db, () => {
      const project = spec.pipeline.project.name
      const name = spec.pipeline.name
      const existing = this.precheck(spec, opts)
      const outRepo = rows.getRepo(this.db, project, name, 'user')
      // cron inputs read <pipeline>_<name>, created here when missing (Pachyderm does the same)
      for (const c of walkCron(spec.input)) {
        if (!rows.getRepo(this.db, c.project, c.repo, 'user')) this.engine.createRepo(c.project, c.repo, 'user', `cron ticks of pipeline ${name} (${c.spec})`, false)
      }
      this.checkInputs(spec, opts.file)
      const id = this.ctx.newId()
      const now = this.ctx.now()
      const salt = existing && !opts.reprocess ? existing.salt : opts.reprocess ? this.ctx.newId() : (spec.salt ?? this.ctx.newId())
      const effective: PipelineSpec = {...spec, salt}
      const version = existing ? existing.version + 1 : 1
      const out = outRepo ?? this.engine.createRepo(project, name, 'user', spec.description ?? '', false)
      const specRepo = rows.getRepo(this.db, project, name, 'spec') ?? this.engine.createRepo(project, name, 'spec', '', false)
      const metaRepo = rows.getRepo(this.db, project, name, 'meta') ?? this.engine.createRepo(project, name, 'meta', '', false)
      if (existing) this.killJobs(existing, 'all jobs killed because pipeline was updated')
      const row: PipelineRow = {
        project,
        name,
        version,
        spec: JSON.stringify(effective),
        user_spec: opts.userSpec ?? JSON.stringify(spec),
        salt,
        state: 'PIPELINE_STARTING',
        stopped: 0,
        reason: '',
        spec_commit: id,
        created: existing?.created ?? now,
        updated: now,
      }
      pipelineRows.putPipeline(this.db, row)
      pipelineRows.insertPipelineVersion(this.db, row)
      if (existing && spec.description !== undefined) rows.setRepoDescription(this.db, out.id, spec.description)
      // the spec commit: a version marker on P.spec@master (propagates to an updated pipeline's output)
      const sc = this.engine.startCommit(specRepo, 'master', {id, origin: 'USER', description: `version ${version}`})
      this.engine.finishCommit(specRepo, sc, {})
      // trigger inputs read <pipeline>-trigger-<n>, a branch of the input repo that follows
      // trigger.branch when its condition holds (pfs/trigger.ts)
      for (const leaf of walkPfs(effective.input)) {
        if (!leaf.trigger) continue
        const repo = rows.getRepo(this.db, leaf.project, leaf.repo, leaf.repo_type)!
        this.engine.createBranch(repo, leaf.branch, {trigger: leaf.trigger as Trigger, id: this.ctx.newId()})
      }
      const provenance = this.provenanceOf(effective, specRepo)
      if (existing && existing.spec) {
        const old = this.spec(existing)
        if (old.output_branch !== effective.output_branch) {
          rows.setBranchProvenance(this.db, out.id, old.output_branch, [])
          rows.setBranchProvenance(this.db, metaRepo.id, old.output_branch, [])
        }
      }
      this.engine.createBranch(metaRepo, effective.output_branch, {provenance, id})
      this.engine.createBranch(out, effective.output_branch, {provenance, id})
      return {info: this.info(this.must(project, name)), id}
    })
  }

  /**
   * Provenance of the output and meta branches: every input branch plus the spec branch. An
   * input with `propagation_spec.never` is a `never` link (its commits make no job); a branch
   * used by several inputs is `never` only if every one of them says so.
   */
  private provenanceOf(spec: PipelineSpec, specRepo: RepoRow): {repo: RepoRow; branch: string; never?: boolean}[] {
    const byKey = new Map<string, {repo: RepoRow; branch: string; never?: boolean}>()
    for (const leaf of walkPfs(spec.input)) {
      const repo = rows.getRepo(this.db, leaf.project, leaf.repo, leaf.repo_type)!
      const k = `${repo.id}@${leaf.branch}`
      const never = leaf.propagation_spec?.never === true
      const had = byKey.get(k)
      if (had) had.never = had.never && never
      else byKey.set(k, {repo, branch: leaf.branch, never})
    }
    const prov = [...byKey.values()]
    prov.push({repo: specRepo, branch: 'master'})
    return prov
  }

  /**
   * Cron inputs (reference: a tick writes a file named by its RFC 3339 time to the cron repo;
   * `overwrite` replaces the previous ones). pach has no ticker: `pach run` writes, for each
   * cron input of a running pipeline, one commit for the latest tick due since the last one
   * (or since `start` / the pipeline's creation); missed earlier ticks are not replayed.
   * `force` (`pach run cron`) ticks now. One commit per tick, in its own change (global id);
   * returns the tick commits.
   */
  cronTicks(now: Date, opts: {project?: string; name?: string; force?: boolean} = {}): {project: string; repo: string; id: string}[] {
    const ids: {project: string; repo: string; id: string}[] = []
    const all = pipelineRows.listRunningPipelines(this.db)
    for (const p of all) {
      if ((opts.project && p.project !== opts.project) || (opts.name && p.name !== opts.name)) continue
      const spec = this.spec(p)
      for (const c of walkCron(spec.input)) {
        withTx(this.db, () => {
          const repo = rows.getRepo(this.db, c.project, c.repo, 'user')
          if (!repo) return
          const b = rows.getBranch(this.db, repo.id, 'master')
          const head = b ? rows.getCommit(this.db, repo.id, b.head) : undefined
          if (head && !head.finished) return // someone is writing to it
          const tick = opts.force ? now : this.dueTick(c, head?.tree ?? null, p.created, now)
          if (!tick) return
          const ops: TreeOp[] = c.overwrite ? [{type: 'delete', path: '/'}] : []
          ops.push({type: 'put', path: `/${tick.toISOString().replace(/\.\d{3}Z$/, 'Z')}`, content: emptyContent()})
          const commit = this.engine.startCommit(repo, 'master', {id: this.ctx.newId(), origin: 'USER', description: `cron tick ${c.spec}`})
          const root = this.ctx.trees.apply(commit.tree, ops)
          rows.setCommitTree(this.db, repo.id, commit.id, root, this.engine.treeSize(root))
          this.engine.finishCommit(repo, rows.getCommit(this.db, repo.id, commit.id)!, {})
          ids.push({project: c.project, repo: c.repo, id: commit.id})
        })
      }
    }
    return ids
  }

  /** The latest tick of `c` due by `now` after the last one written (or start / creation). */
  private dueTick(c: CronInput, tree: Buffer | null, created: string, now: Date): Date | null {
    let last = c.start ? new Date(c.start) : new Date(created)
    for (const e of (tree && this.ctx.trees.list(tree, '/')) || []) {
      const t = Date.parse(e.name)
      if (e.kind === 'file' && !Number.isNaN(t) && t > last.getTime()) last = new Date(t)
    }
    let tick = cronNext(c.spec, last)
    if (!tick || tick > now) return null
    for (let i = 0; i < 1_000_000; i++) {
      const next = cronNext(c.spec, tick)
      if (!next || next > now) break
      tick = next
    }
    return tick
  }

  /** Input repos exist (or are among `toCreate`, "project/repo"); no cycles through this pipeline's output. */
  private checkInputs(spec: PipelineSpec, file: string, toCreate = new Set<string>()): void {
    const name = spec.pipeline.name
    const project = spec.pipeline.project.name
    const out = rows.getRepo(this.db, project, name, 'user')
    for (const leaf of walkPfs(spec.input)) {
      const repo = rows.getRepo(this.db, leaf.project, leaf.repo, leaf.repo_type)
      if (!repo && leaf.repo_type === 'user' && toCreate.has(`${leaf.project}/${leaf.repo}`)) continue
      if (!repo) {
        const others = rows.listRepos(this.db, leaf.project).filter((o) => o.type === leaf.repo_type)
        const {hint, suggestion} = didYouMean(leaf.repo, others.map((o) => o.name), `create it with \`pach create repo ${leaf.repo}\``)
        throw new NotFoundError('INPUT_REPO_NOT_FOUND', `${file}: pipeline "${name}": input.pfs.repo: repo ${repoLabel({name: leaf.repo, type: leaf.repo_type})} not found`, {
          hint,
          ...(suggestion && {data: {suggestion}}),
        })
      }
      if (leaf.project === project && leaf.repo === name) {
        throw new InvalidArgumentError('PIPELINE_CYCLE', `${file}: pipeline "${name}": input.pfs.repo: a pipeline cannot read its own output`)
      }
      if (out) {
        const b = rows.getBranch(this.db, repo.id, leaf.branch)
        if (b && this.engine.resolve.closure(repo.id, leaf.branch, 'up').some(([r]) => r === out.id)) {
          throw new InvalidArgumentError('PIPELINE_CYCLE', `${file}: pipeline "${name}": input.pfs.repo: ${leaf.repo} is downstream of ${name}; that would be a cycle`)
        }
      }
    }
  }

  // ---- defaults (pachctl create/update/inspect/delete defaults; spec/defaults.ts) ----

  /** PfsHooks: a deleted project's defaults go with it. */
  onProjectDeleted(project: string): void {
    setMeta(this.db, defaultsKey({project}), undefined)
  }

  /** The stored defaults document of the cluster (the whole .pach) or of one project, as written. */
  defaults(scope: DefaultsScope): Record<string, unknown> | undefined {
    if ('project' in scope) this.engine.resolve.project(scope.project)
    const v = getMeta(this.db, defaultsKey(scope))
    return v === undefined ? undefined : parseStored<Record<string, unknown>>(v, `${defaultsKey(scope)} defaults`)
  }

  /** What every spec of `project` is merged into: cluster ⊕ project defaults (undefined when neither is set). */
  defaultsFor(project: string): Record<string, unknown> | undefined {
    return effectiveDefaults(this.defaults({cluster: true}), this.defaults({project}))
  }

  /**
   * Store (`doc`) or delete (undefined) defaults, in one transaction. With `regenerate`, each
   * pipeline in scope is read again from its user spec under the new defaults and updated
   * when its effective spec changes (`reprocess`: with a new salt). `dryRun`: change nothing,
   * report what would change. Returns the pipelines regenerated (or that would be).
   *
   * @throws PROJECT_NOT_FOUND; INVALID_SPEC (a pipeline's spec is invalid under the new defaults: nothing is stored)
   */
  setDefaults(scope: DefaultsScope, doc: Record<string, unknown> | undefined, opts: {regenerate?: boolean; reprocess?: boolean; dryRun?: boolean} = {}): {affected: string[]} {
    return withTx(this.db, () => {
      if ('project' in scope) this.engine.resolve.project(scope.project)
      const cluster = 'cluster' in scope ? doc : this.defaults({cluster: true})
      const affected: string[] = []
      const regenerate = opts.regenerate || opts.reprocess
      const updates: {spec: PipelineSpec; p: PipelineRow}[] = []
      if (regenerate) {
        for (const p of pipelineRows.listPipelines(this.db, 'project' in scope ? scope.project : undefined)) {
          const project = 'project' in scope ? doc : this.defaults({project: p.project})
          const spec = parseSpecs(p.user_spec, `pipeline ${p.name}`, p.project, () => effectiveDefaults(cluster, project)).specs[0]!
          if (JSON.stringify({...this.spec(p), salt: undefined}) === JSON.stringify({...spec, salt: undefined})) continue
          affected.push(p.project === 'default' ? p.name : `${p.project}/${p.name}`)
          updates.push({spec, p})
        }
      }
      if (opts.dryRun) return {affected}
      setMeta(this.db, defaultsKey(scope), doc === undefined ? undefined : JSON.stringify(doc))
      for (const {spec, p} of updates) this.put(spec, {update: true, reprocess: Boolean(opts.reprocess), file: `pipeline ${p.name}`, userSpec: p.user_spec})
      return {affected}
    })
  }

  /** Kill every unfinished job of a pipeline (their output and meta commits finish with the reason). */
  private killJobs(p: PipelineRow, reason: string): number {
    return this.jobs.killAll(p.project, p.name, reason)
  }

  info(p: PipelineRow): PipelineInfo {
    const spec = this.spec(p)
    const last = jobRows.lastJobState(this.db, p.project, p.name)
    const running = jobRows.hasLeasedJob(this.db, p.project, p.name)
    const specRepo = rows.getRepo(this.db, p.project, p.name, 'spec')
    const kind = pipelineKind(spec)
    let state: PipelineState = p.stopped ? 'PIPELINE_PAUSED' : p.state === 'PIPELINE_FAILURE' ? 'PIPELINE_FAILURE' : running ? 'PIPELINE_RUNNING' : 'PIPELINE_STANDBY'
    let reason = p.reason
    if (kind !== 'transform' && !p.stopped) {
      const supervised = continuousOwnerAlive(this.db)
      state = supervised ? p.state : 'PIPELINE_STANDBY'
      reason = supervised ? p.reason : `its code runs while \`pach serve\` runs`
    }
    return {
      pipeline: {name: p.name, project: {name: p.project}},
      version: p.version,
      spec_commit: specRepo ? this.engine.resolve.commitPB(specRepo, {id: p.spec_commit, branch: 'master'}) : {repo: {name: p.name, type: 'spec', project: {name: p.project}}, id: p.spec_commit},
      stopped: !!p.stopped,
      state,
      reason,
      last_job_state: last ?? null,
      parallelism: spec.parallelism_spec?.constant || 1,
      type: kind === 'spout' ? 'PIPELINE_TYPE_SPOUT' : kind === 'service' ? 'PIPELINE_TYPE_SERVICE' : 'PIPELINE_TYPE_TRANSFORM',
      details: spec as unknown as Record<string, unknown>,
      user_spec_json: p.user_spec,
      effective_spec_json: p.spec,
      created_at: p.created,
      updated_at: p.updated,
    }
  }

  /**
   * Which of these pipelines' images drifted (pps/image-drift.ts): each `image` (the spec's
   * reference: the current one, or the one an update is about to set) against the newest job
   * of the pipeline that recorded an id. The engine is asked only about references some job
   * recorded; no engine, no drift.
   */
  async imageDrift(project: string, pipelines: readonly {name: string; image: string | undefined}[], lookup: LocalImageIds): Promise<Map<string, ImageDrift>> {
    const uses = new Map<string, {job: string; image: string; image_id: string}>()
    for (const p of pipelines) {
      const u = p.image ? jobRows.lastImageUse(this.db, project, p.name) : undefined
      if (u?.image && u.image === p.image) uses.set(p.name, {job: u.job, image: u.image, image_id: u.image_id})
    }
    const out = new Map<string, ImageDrift>()
    if (!uses.size) return out
    const now = await lookup([...new Set([...uses.values()].map((u) => u.image))])
    if (!now) return out
    for (const p of pipelines) {
      const d = p.image ? imageDrift(p.image, uses.get(p.name), now) : undefined
      if (d) out.set(p.name, d)
    }
    return out
  }

  list(project?: string): PipelineInfo[] {
    return pipelineRows.listPipelines(this.db, project).map((p) => this.info(p))
  }

  inspect(project: string, name: string): PipelineInfo {
    return this.info(this.must(project, name))
  }

  /**
   * Delete a job (pachctl's `delete job`): its record goes, so `list job` and `inspect job`
   * no longer show it. A job waiting to run is killed first (its output commit finished with
   * "job deleted", as Pachyderm does); a job a process is running is refused. Its output and
   * meta commits stay, and so do its datum rows and datum set: later jobs' skipped datums and
   * delta-stored sets refer to them. The pipeline's next job is planned against the nearest
   * earlier successful job instead. Returns the job as it was deleted.
   * Throws PIPELINE_NOT_FOUND, JOB_NOT_FOUND, JOB_RUNNING.
   */
  deleteJob(project: string, pipeline: string, id: string): {job: {pipeline: {name: string; project: {name: string}}; id: string}; state: JobState} {
    return withTx(this.db, () => {
      this.must(project, pipeline)
      const k = {project, pipeline, id}
      const j = jobRows.getJob(this.db, k)
      if (!j) throw new NotFoundError('JOB_NOT_FOUND', `job ${pipeline}@${id} not found`, {hint: `list jobs with \`pach list job -p ${pipeline}\``})
      if (jobRows.isLeasedJobState(j.state)) {
        throw new ConflictError('JOB_RUNNING', `job ${pipeline}@${id} is running (${j.state}); it cannot be deleted`, {hint: `stop it first with \`pach stop job ${pipeline}@${id}\``})
      }
      if (!jobRows.isTerminalJobState(j.state)) this.jobs.kill(k, 'job deleted')
      const state = jobRows.getJob(this.db, k)!.state
      jobRows.deleteJob(this.db, k)
      return {job: {pipeline: {name: pipeline, project: {name: project}}, id}, state}
    })
  }

  /** Delete a pipeline, its jobs and its repos (the output repo is kept with keepRepo). */
  delete(project: string, name: string, opts: {keepRepo?: boolean; force?: boolean}): PipelineInfo {
    return withTx(this.db, () => {
      const p = this.must(project, name)
      const info = this.info(p)
      const spec = this.spec(p)
      const out = rows.getRepo(this.db, project, name, 'user')
      if (out && !opts.force) {
        const deps = rows.branchSubvenance(this.db, out.id, spec.output_branch).filter((s) => s.repo_id !== out.id)
        const names = [...new Set(deps.map((d) => rows.getRepoById(this.db, d.repo_id)!.name))]
        if (names.length) {
          throw new ConflictError('PIPELINE_HAS_DEPENDENTS', `cannot delete pipeline ${name}: ${names.join(', ')} read${names.length === 1 ? 's' : ''} its output`, {
            hint: 'delete the downstream pipelines first, or pass --force',
          })
        }
      }
      this.killJobs(p, 'pipeline deleted')
      datumRows.deleteDatumsOfPipeline(this.db, project, name)
      jobRows.deleteJobsOfPipeline(this.db, project, name)
      pipelineRows.deletePipeline(this.db, project, name)
      for (const type of ['meta', 'spec', 'user'] as const) {
        const repo = rows.getRepo(this.db, project, name, type)
        if (!repo) continue
        if (type === 'user' && opts.keepRepo) {
          for (const b of rows.listBranches(this.db, repo.id)) rows.setBranchProvenance(this.db, repo.id, b.name, [])
          continue
        }
        this.engine.deleteRepo(repo, true, () => undefined)
      }
      // a spout's or service's own log (continuous.ts) goes with it
      for (const f of [continuousLogFile(this.ctx.pachDir, project, name), `${continuousLogFile(this.ctx.pachDir, project, name)}.1`]) rmSync(f, {force: true})
      return info
    })
  }

  /** Stop: no new jobs (output branch loses its provenance); unfinished jobs are killed. */
  stop(project: string, name: string): PipelineInfo {
    return withTx(this.db, () => {
      const p = this.must(project, name)
      const spec = this.spec(p)
      this.killJobs(p, 'pipeline stopped')
      for (const type of ['user', 'meta'] as const) {
        const repo = rows.getRepo(this.db, project, name, type)
        if (repo && rows.getBranch(this.db, repo.id, spec.output_branch)) rows.setBranchProvenance(this.db, repo.id, spec.output_branch, [])
      }
      pipelineRows.setPipelineStopped(this.db, project, name, true, 'PIPELINE_PAUSED', this.ctx.now())
      return this.info(this.must(project, name))
    })
  }

  /** Start: provenance restored; one new job against the current input heads. */
  start(project: string, name: string): {info: PipelineInfo; id: string} {
    return withTx(this.db, () => {
      const p = this.must(project, name)
      const spec = this.spec(p)
      pipelineRows.setPipelineStopped(this.db, project, name, false, 'PIPELINE_STARTING', this.ctx.now())
      const specRepo = rows.getRepo(this.db, project, name, 'spec')!
      const provenance = this.provenanceOf(spec, specRepo)
      const id = this.ctx.newId()
      for (const type of ['meta', 'user'] as const) {
        const repo = rows.getRepo(this.db, project, name, type)!
        this.engine.createBranch(repo, spec.output_branch, {provenance, id})
      }
      return {info: this.info(this.must(project, name)), id}
    })
  }
}
