/**
 * Debugging one datum (`pach debug datum`): a datum's /pfs materialised exactly as its job saw
 * it, and its transform run again (or a shell opened) in the same sandbox, attached to the
 * user's terminal; nothing it writes reaches a repo.
 *
 * Which datum: those of a job are planned again in full over the job's input commits with the
 * spec version the job ran (job-plan.ts `datumsOf`: the same planner, so the same ids, paths
 * and commits — a datum the job skipped included); those of a spec not created are planned
 * against the current branch heads (job-plan.ts `preview`, what `list datum -f` shows). The
 * datum is named by filters, as `restart datum` takes them (datum-restart.ts `matchDatum`):
 * its id (or the first 8 or more characters of it), or input paths (or content hashes), every
 * one of which must belong to it; exactly one datum must match.
 *
 * What user code sees (the pure `planDatumDebug`, from the functions the job service uses):
 * the spec's image, cmd and stdin; the environment a job gives it (datum-run.ts `jobEnv`,
 * `userCodeEnv`: input variables, transform.env, PACH_JOB_ID…, PACH_DATUM_ID, secrets last) —
 * for a spec not created PACH_JOB_ID, PACH_OUTPUT_COMMIT_ID and PPS_SPEC_COMMIT are empty
 * (there is no job); with docker, the image id the job recorded (`inspect job`'s Image), even
 * when the spec's tag names another image since; the network, limits, user and working directory of a worker; secret
 * files mounted read-only where the spec says.
 *
 * The applier (`DatumDebugger.run`): a scratch directory `pach-debug-datum-*` in the OS temp
 * dir holds the datum's /pfs (a WorkerWorkspace: inputs in place, lazy and empty_files inputs
 * as a worker makes them), its /pfs/out and the secret files; the runner's `runAttached` runs
 * the command there. Afterwards the inputs and secrets are removed; /pfs/out is copied to
 * `out` (then the scratch directory goes too) or kept in `<scratch>/out`, whose path the result
 * gives (nothing is kept when it holds no file). No row, commit or chunk is written: the datum's output is not collected.
 *
 * Refused, one line each: a spout (no datums), an s3 pipeline (its S3 gateway is not served
 * here: an s3_out datum would write its output commit), an `out` that exists and is not empty.
 */
import {cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, type Dirent} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {CoreContext} from '../context.js'
import * as rows from '../db/pfs-rows.js'
import {InvalidArgumentError, NotFoundError, RunnerError} from '../errors.js'
import type {FileService} from '../pfs/file-service.js'
import type {DatumState} from '../types.js'
import {parseMemory} from '../units/quantity.js'
import type {Datum, DatumInput} from './datum.js'
import {jobEnv, userCodeEnv} from './datum-run.js'
import {matchDatum} from './datum-restart.js'
import type {Runner, Terminal} from './runner.js'
import {usesS3} from './s3-job.js'
import type {SecretService} from './secret-service.js'
import {pipelineKind, wantsNetwork, type PipelineSpec} from './spec/index.js'
import {inputEnv, WorkerWorkspace} from './workspace.js'

/** Where the datum comes from: a job, or a spec not created. */
export type DebugTarget = {job: {project: string; pipeline: string; id: string}} | {spec: PipelineSpec}

/** How a job's datums are known (JobService supplies these). */
export interface DebugSources {
  /** the job's spec version, its datums (planned again), the spec commit and the image id it ran with (docker); throws PIPELINE_NOT_FOUND / JOB_NOT_FOUND */
  jobDatums(project: string, pipeline: string, id: string): {spec: PipelineSpec; datums: Datum[]; specCommit: string; imageId?: string}
  /** a spec's datums at the branch heads; throws INPUT_REPO_NOT_FOUND */
  previewDatums(spec: PipelineSpec): Datum[]
  /** the datum's state in the job, when the job recorded it */
  datumState(project: string, pipeline: string, id: string, datum: string): {state: DatumState; reason: string} | undefined
}

/** What user code sees for the datum (planDatumDebug). */
export interface DatumDebugPlan {
  datum: Datum
  image: string
  cmd: string[]
  stdin?: string
  env: Record<string, string>
  network: boolean
  cpu?: number
  memoryBytes?: number
  user?: string
  workingDir?: string
  /** exit codes that count as success besides 0 (transform.accept_return_code) */
  accept: number[]
}

export interface DatumDebugOptions {
  /** the datum's id, or its input paths / content hashes (all must belong to it) */
  filters: string[]
  /** an interactive shell instead of the transform */
  shell: boolean
  runner: () => Promise<Runner>
  terminal: Terminal
  signal?: AbortSignal
  /** copy /pfs/out here afterwards (a new or empty directory) */
  out?: string
  /** told when the datum is in place, just before its code starts */
  onReady?: (r: {datum: string; cmd: string[]; runner: string; inputs: DebugInput[]}) => void
}

export interface DebugInput {
  name: string
  repo: string
  commit: string
  path: string
}

/** `pach debug datum`'s result. */
export interface DatumDebugResult {
  job: {pipeline: {name: string; project: {name: string}}; id: string} | null
  datum: {id: string; hash: string}
  /** the datum's state in its job (null: a spec not created, or a job that has not recorded it) */
  state: DatumState | null
  reason: string
  inputs: DebugInput[]
  mode: 'run' | 'shell'
  runner: string
  image: string
  /** the command's exit code (-1 when it could not start or was killed) */
  exit_code: number
  /** why it could not start or was killed */
  error: string
  /** exit 0 or an accepted code (accept_return_code), for a rerun; a shell's status is not the datum's */
  succeeded: boolean
  /** where /pfs/out is: `out`, or the kept scratch directory (null: nothing was written there, and nothing is kept) */
  out_dir: string | null
  /** files user code left in /pfs/out */
  out_files: number
}

/**
 * The one datum `filters` name among `datums` (`where` names the job or spec in messages).
 * @throws MISSING_ARGUMENT (no filter), DATUM_NOT_FOUND, AMBIGUOUS_DATUM (several match)
 */
export function selectDatum(datums: readonly Datum[], filters: readonly string[], where: string, listHint: string): Datum {
  if (filters.length === 0) {
    throw new InvalidArgumentError('MISSING_ARGUMENT', `name the datum of ${where} to debug: its id, or its input paths separated by ","`, {hint: `list them with \`${listHint}\``})
  }
  let hits = datums.filter((d) => matchDatum(filters, d))
  // a datum id shortened as messages show it (12 characters; at least 8)
  const prefix = filters.length === 1 && /^[0-9a-f]{8,63}$/.test(filters[0]!) ? filters[0]! : undefined
  if (hits.length === 0 && prefix) hits = datums.filter((d) => d.id.startsWith(prefix))
  const asked = filters.join(',')
  if (hits.length === 0) throw new NotFoundError('DATUM_NOT_FOUND', `no datum of ${where} matches ${asked}`, {hint: `list them with \`${listHint}\``})
  if (hits.length > 1) {
    const ids = hits.slice(0, 3).map((d) => d.id.slice(0, 12))
    const more = hits.length > 3 ? ` and ${hits.length - 3} more` : ''
    throw new InvalidArgumentError('AMBIGUOUS_DATUM', `${hits.length} datums of ${where} match ${asked} (${ids.join(', ')}${more})`, {
      hint: 'add input paths separated by "," or give the datum id',
      data: {datums: hits.map((d) => d.id)},
    })
  }
  return hits[0]!
}

/**
 * What user code sees for datum `d` (see the header). Pure.
 * @param job the job (undefined for a spec not created: its job variables are empty)
 * @param secretEnv transform.secrets' environment variables (SecretService.forJob)
 */
export function planDatumDebug(spec: PipelineSpec, d: Datum, job: {project: string; pipeline: string; id: string} | undefined, specCommit: string, secretEnv: Record<string, string>): DatumDebugPlan {
  const jobVars = jobEnv(spec, job ?? {project: spec.pipeline.project?.name ?? 'default', pipeline: spec.pipeline.name, id: ''}, specCommit)
  return {
    datum: d,
    image: spec.transform.image,
    cmd: spec.transform.cmd,
    stdin: spec.transform.stdin?.length ? spec.transform.stdin.join('\n') + '\n' : undefined,
    env: userCodeEnv(inputEnv(d.inputs), jobVars, d.id, secretEnv),
    network: wantsNetwork(spec),
    cpu: spec.resource_limits?.cpu,
    memoryBytes: spec.resource_limits?.memory ? parseMemory(spec.resource_limits.memory) : undefined,
    user: spec.transform.user || undefined,
    workingDir: spec.transform.working_dir || undefined,
    accept: spec.transform.accept_return_code ?? [],
  }
}

const debugInput = (i: DatumInput): DebugInput => ({name: i.name, repo: i.repo, commit: i.commit, path: i.path})

export class DatumDebugger {
  constructor(
    private readonly ctx: CoreContext,
    private readonly files: FileService,
    private readonly secrets: SecretService,
    private readonly sources: DebugSources,
  ) {}

  /**
   * The image to run: with docker, the image id the job ran with (its tag may have been moved
   * since, by a rebuild), while the engine still has it; else the spec's image.
   */
  private async imageFor(runner: Runner, image: string, jobImageId: string | undefined): Promise<string> {
    if (runner.kind !== 'docker' || !jobImageId || !runner.imageId) return image
    const now = await runner.imageId(image)
    if (now === jobImageId) return image
    if (await runner.hasImage?.(jobImageId)) return jobImageId
    this.ctx.reporter.warn(`the image the job ran with (${jobImageId}) is no longer in the Docker engine; running ${image} (now ${now ?? 'unknown'})`)
    return image
  }

  /**
   * Materialise the datum and run its transform (or a shell) attached to `opts.terminal`.
   * @throws JOB_NOT_FOUND, PIPELINE_NOT_FOUND, DATUM_NOT_FOUND, AMBIGUOUS_DATUM, MISSING_ARGUMENT,
   *   INVALID_INPUT (a spout), UNSUPPORTED_SPEC_FIELD (s3), OUTPUT_EXISTS, SECRET_NOT_FOUND, RUNNER_ERROR
   * @example
   *   await jobs.debugDatum({job: {project: 'default', pipeline: 'edges', id}}, {filters: ['/a.png'], shell: false, runner, terminal: process})
   */
  async run(target: DebugTarget, opts: DatumDebugOptions): Promise<DatumDebugResult> {
    const job = 'job' in target ? target.job : undefined
    let spec: PipelineSpec
    let datums: Datum[]
    let specCommit = ''
    let imageId: string | undefined
    const where = job ? `job ${job.pipeline}@${job.id}` : `spec ${('spec' in target && target.spec.pipeline.name) || ''}`
    if (job) {
      const r = this.sources.jobDatums(job.project, job.pipeline, job.id)
      spec = r.spec
      refuse(spec)
      datums = r.datums
      specCommit = r.specCommit
      imageId = r.imageId
    } else {
      spec = (target as {spec: PipelineSpec}).spec
      refuse(spec)
      datums = this.sources.previewDatums(spec)
    }
    const d = selectDatum(datums, opts.filters, where, job ? `pach list datum ${job.pipeline}@${job.id}` : 'pach list datum -f <spec>')
    if (opts.out !== undefined && existsSync(opts.out) && (!statSync(opts.out).isDirectory() || readdirSync(opts.out).length > 0)) {
      throw new InvalidArgumentError('OUTPUT_EXISTS', `${opts.out} exists and is not an empty directory`, {hint: 'give --out a new or empty directory'})
    }
    const recorded = job ? this.sources.datumState(job.project, job.pipeline, job.id, d.id) : undefined

    const root = mkdtempSync(join(tmpdir(), 'pach-debug-datum-'))
    const outDir = join(root, 'out')
    let kept = false
    try {
      mkdirSync(join(root, 'trash'))
      const secrets = this.secrets.forJob(spec, join(root, 'secrets'), this.ctx.env)
      const plan = planDatumDebug(spec, d, job, specCommit, secrets.env)
      const workspace = new WorkerWorkspace(
        {
          ctx: this.ctx,
          commitOf: (inp) => {
            const repo = rows.getRepo(this.ctx.db, inp.project, inp.repo, inp.repo_type)
            return repo && inp.commit ? rows.getCommit(this.ctx.db, repo.id, inp.commit) : undefined
          },
          materialize: (entry, dest) => this.files.materializeEntry(entry, dest).bytes,
        },
        root,
        join(root, 'trash'),
      )
      const runner = await opts.runner()
      try {
        if (!runner.runAttached) throw new RunnerError(`the ${runner.describe()} runner cannot attach to a terminal`)
        const image = await this.imageFor(runner, plan.image, imageId)
        const entered = workspace.enter(d)
        const cmd = opts.shell ? ['/bin/sh'] : plan.cmd
        opts.onReady?.({datum: d.id, cmd: plan.cmd, runner: runner.describe(), inputs: d.inputs.map(debugInput)})
        let exit
        try {
          exit = await runner.runAttached({
            name: `debug-${spec.pipeline.name}-${d.id.slice(0, 8)}`,
            image,
            inputsDir: workspace.inputsDir,
            outDir: workspace.outDir,
            network: plan.network,
            cpu: plan.cpu,
            memoryBytes: plan.memoryBytes,
            user: plan.user,
            workingDir: plan.workingDir,
            mounts: secrets.mounts,
            cmd,
            env: plan.env,
            stdin: opts.shell ? undefined : plan.stdin,
            shell: opts.shell,
            terminal: opts.terminal,
            signal: opts.signal,
          })
        } finally {
          workspace.leave(entered)
        }
        const succeeded = !exit.error && (exit.exitCode === 0 || plan.accept.includes(exit.exitCode))
        const outFiles = countFiles(outDir)
        let outAt: string | null = outDir
        if (opts.out !== undefined) {
          cpSync(outDir, opts.out, {recursive: true, verbatimSymlinks: true})
          outAt = opts.out
        } else if (outFiles > 0) kept = true
        else outAt = null
        return {
          job: job ? {pipeline: {name: job.pipeline, project: {name: job.project}}, id: job.id} : null,
          datum: {id: d.id, hash: d.hash},
          state: recorded?.state ?? null,
          reason: recorded?.reason ?? '',
          inputs: d.inputs.map(debugInput),
          mode: opts.shell ? 'shell' : 'run',
          runner: runner.describe(),
          image,
          exit_code: exit.exitCode,
          error: exit.error ?? '',
          succeeded,
          out_dir: outAt,
          out_files: outFiles,
        }
      } finally {
        await runner.close?.()
      }
    } finally {
      for (const n of readdirSync(root)) if (!(kept && n === 'out')) rmQuiet(join(root, n))
      if (!kept) rmQuiet(root)
    }
  }
}

/** A spout has no datums; an s3 pipeline's gateway is not served here. */
function refuse(spec: PipelineSpec): void {
  if (pipelineKind(spec) === 'spout') {
    throw new InvalidArgumentError('INVALID_INPUT', `pipeline "${spec.pipeline.name}" is a spout: it has no input, so no datum to debug`)
  }
  if (usesS3(spec)) {
    throw new InvalidArgumentError('UNSUPPORTED_SPEC_FIELD', `pipeline "${spec.pipeline.name}" reads or writes through S3 (an "s3" input or "s3_out"); pach debug datum does not serve its S3 gateway`, {
      hint: 'run its jobs with `pach run`, and read their logs with `pach logs`',
    })
  }
}

function countFiles(dir: string): number {
  let n = 0
  let entries: Dirent[]
  try {
    entries = readdirSync(dir, {withFileTypes: true})
  } catch {
    return 0
  }
  for (const e of entries) n += e.isDirectory() ? countFiles(join(dir, e.name)) : 1
  return n
}

function rmQuiet(p: string): void {
  try {
    rmSync(p, {recursive: true, force: true})
  } catch {
    // files user code made as another user may stay in the temp dir
  }
}
