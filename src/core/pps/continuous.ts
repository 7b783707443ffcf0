/**
 * Spouts and services: pipelines whose user code runs continuously while `pach serve` runs
 * (the daemon calls `reconcile` every round and `stopAll` when it stops). One supervisor per
 * project: it claims the project (continuous-owner.ts), so that other processes show the
 * states it writes and a second `pach serve` on the same project leaves the code to it.
 *
 * - A spout (no input) runs its code from the moment it is created or started until it is
 *   stopped, updated (then restarted with the new version) or deleted. Its code commits by
 *   itself, through the API, with a per-pipeline token (`CodeAccess.grant`) that may write
 *   only its own output repo and may commit on its output branch (PfsHooks.ownsOutput).
 * - A service runs its code over its latest input: the newest of its pending jobs whose input
 *   commits are all finished is leased (JOB_RUNNING) and its whole input materialised at
 *   /pfs/<input> (one datum); a newer such job stops the code, ends the running job (and the
 *   jobs it skipped) with JOB_SUCCESS and starts the code again over the new input
 *   (Pachyderm's service.go). `service.external_port` is published on localhost to
 *   `internal_port`; `spout.service` does the same for a spout.
 *
 * What the code gets (Pachyderm's worker env, reference/pachd-api.md §6): PPS_PIPELINE_NAME,
 * PPS_PROJECT_NAME, PPS_SPEC_COMMIT, PACHD_PEER_SERVICE_HOST/PORT and PEER_PORT (the server as
 * the code reaches it), transform.env and secrets, and a pachctl config with only standard
 * keys (`{"v2": {"active_context": "default", "contexts": {"default": {pachd_address,
 * session_token, project}}}}`) at /pachctl/config.json (a read-only mount), and on the local
 * runner also at PACH_CONFIG (a host file) with the token in PACH_PYTHON_AUTH_TOKEN too, so
 * that `Client.new_in_cluster()` (which falls back to PACHD_PEER_SERVICE_HOST/PORT when
 * /pachctl/config.json is absent) carries it.
 *
 * Restarts: code that exits is started again after a backoff that doubles from 1 s to 30 s
 * and goes back to 1 s once the code has run for a minute. The pipeline is RUNNING while the
 * code runs and CRASHING (with the exit in its reason) while it waits to restart after exits
 * in a row. Output lines go to the pipeline's log file (`pach logs -p <pipeline>`;
 * `continuousLogFile`), with the job id for a service.
 *
 * Invariants: at most one task per pipeline; every task this supervisor started is stopped
 * by `stopAll` (the runner's close stops any it missed); scratch directories
 * (`.pach/tmp/continuous/…`) go with their task, and what a killed supervisor left goes
 * when the next one claims the project; a token is revoked when its task ends.
 */
import {appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {CoreContext} from '../context.js'
import * as jobRows from '../db/jobs.js'
import type {JobRow} from '../db/jobs.js'
import {withTx} from '../db/open.js'
import * as pipelineRows from '../db/pipelines.js'
import * as rows from '../db/pfs-rows.js'
import type {FileService} from '../pfs/file-service.js'
import type {PipelineState} from '../types.js'
import {parseMemory} from '../units/quantity.js'
import {claimContinuous, releaseContinuous} from './continuous-owner.js'
import {walkPfs} from './input.js'
import type {JobLifecycle} from './job-lifecycle.js'
import type {LogLine} from './job-logs.js'
import type {PipelineService} from './pipeline-service.js'
import type {Runner, ServiceExit, ServiceTask} from './runner.js'
import type {SecretService} from './secret-service.js'
import {pipelineKind, servicePorts, type PipelineSpec} from './spec/index.js'

/** The pipeline whose code a grant is for. */
export interface PipelineRef {
  project: string
  pipeline: string
}

/**
 * How pipeline code reaches the server it runs under (implemented by `pach serve`): `grant`
 * issues a token the server maps to the pipeline and makes the server reachable from where
 * the runner runs code; `revoke` undoes both.
 */
export interface CodeAccess {
  grant(runner: Runner, p: PipelineRef): Promise<{host: string; port: number; token: string}>
  revoke(token: string): void
}

export interface ContinuousOptions {
  /** the runner (built once, when the first spout or service needs it) */
  runner: () => Promise<Runner>
  access: CodeAccess
  /** something changed that a round should look at soon (a restart is due) */
  wake?: () => void
  /** a line of user code's output, or a note of pach's (stream stderr, prefixed `pach: `) */
  onLog?: (p: PipelineRef, stream: 'stdout' | 'stderr', line: string) => void
  /** pach's own news of a pipeline's code: started, exited (and when it restarts) */
  onNote?: (p: PipelineRef, note: string) => void
  /** backoff (defaults: 1 s doubling to 30 s, reset after 60 s of running) */
  backoff?: {firstMs: number; maxMs: number; resetAfterMs: number}
}

export interface ContinuousDeps {
  ctx: CoreContext
  pipelines: PipelineService
  lifecycle: JobLifecycle
  files: FileService
  secrets: SecretService
}

/** Where a spout's or service's output is kept (JSON lines {ts, stream, message, job}). */
export function continuousLogFile(pachDir: string, project: string, pipeline: string): string {
  return join(pachDir, 'logs', 'pipelines', project, `${pipeline}.jsonl`)
}

/** The log lines of a spout or service (oldest first; the previous file after a rotation first). */
export function readContinuousLogs(pachDir: string, project: string, pipeline: string): (LogLine & {job: string})[] {
  const out: (LogLine & {job: string})[] = []
  const file = continuousLogFile(pachDir, project, pipeline)
  for (const f of [`${file}.1`, file]) {
    let text = ''
    try {
      text = readFileSync(f, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n')) {
      if (!line) continue
      try {
        const r = JSON.parse(line) as LogLine & {job?: string}
        out.push({ts: r.ts, stream: r.stream, message: r.message, job: r.job ?? ''})
      } catch {
        out.push({ts: '', stream: 'stdout', message: line, job: ''})
      }
    }
  }
  return out
}

/** A log file is rotated (kept as `.1`) past this size. */
const LOG_ROTATE_BYTES = 16 * 1024 * 1024

/** One pipeline's supervised code. */
interface Entry {
  ref: PipelineRef
  kind: 'spout' | 'service'
  /** the pipeline version the task runs */
  version: number
  /** a service's job the task runs */
  job?: string
  task?: ServiceTask
  /** set while a start is in flight */
  starting?: Promise<void>
  token?: string
  scratch?: string
  startedAt: number
  /** exits in a row that came before a minute of running */
  failures: number
  /** no start before this (ms since the epoch) */
  notBefore: number
  timer?: ReturnType<typeof setTimeout>
  stopping?: boolean
}

const key = (p: PipelineRef) => `${p.project}/${p.pipeline}`

export class Continuous {
  private readonly entries = new Map<string, Entry>()
  private runner: Promise<Runner> | undefined
  private claimed = false
  private readonly backoff: {firstMs: number; maxMs: number; resetAfterMs: number}

  constructor(
    private readonly d: ContinuousDeps,
    private readonly opts: ContinuousOptions,
  ) {
    this.backoff = opts.backoff ?? {firstMs: 1000, maxMs: 30_000, resetAfterMs: 60_000}
  }

  private get db() {
    return this.d.ctx.db
  }

  /**
   * Bring running code in line with the pipelines: stop what was stopped, deleted or
   * replaced; start what should run and is due. Errors starting one pipeline's code are
   * that pipeline's (CRASHING with the reason), never the round's.
   */
  async reconcile(): Promise<void> {
    const running = pipelineRows.listRunningPipelines(this.db)
    // nothing to supervise yet: the project is not claimed (no write while there is no spout or service)
    if (!this.claimed && this.entries.size === 0 && !running.some((p) => pipelineKind(this.d.pipelines.spec(p)) !== 'transform')) return
    if (!this.claimed) {
      // another pach serve on this project runs them (checked again each round)
      if (!withTx(this.db, () => claimContinuous(this.db))) return
      this.claimed = true
      // what a killed supervisor left (scratch dirs, configs with their dead tokens)
      rmSync(join(this.d.ctx.pachDir, 'tmp', 'continuous'), {recursive: true, force: true})
    }
    const want = new Map<string, {ref: PipelineRef; kind: 'spout' | 'service'; version: number; spec: PipelineSpec; job?: JobRow}>()
    for (const p of running) {
      const spec = this.d.pipelines.spec(p)
      const kind = pipelineKind(spec)
      if (kind === 'transform') continue
      const ref = {project: p.project, pipeline: p.name}
      if (kind === 'spout') {
        want.set(key(ref), {ref, kind, version: p.version, spec})
        continue
      }
      const job = this.latestReadyJob(ref)
      const running = this.entries.get(key(ref))
      if (job) want.set(key(ref), {ref, kind, version: job.pipeline_version, spec: this.d.pipelines.specAt(p.project, p.name, job.pipeline_version).spec, job})
      else if (running?.job && this.jobActive(ref, running.job)) want.set(key(ref), {ref, kind, version: running.version, spec, job: jobRows.getJob(this.db, {...ref, id: running.job}) as JobRow})
    }
    // stop what should no longer run (or runs an older version / job)
    for (const [k, e] of this.entries) {
      const w = want.get(k)
      if (w && w.version === e.version && w.job?.id === e.job) continue
      await this.retire(e, w ? 'replaced' : 'stopped')
    }
    // start what is due
    for (const [k, w] of want) {
      let e = this.entries.get(k)
      if (!e) {
        e = {ref: w.ref, kind: w.kind, version: w.version, job: w.job?.id, startedAt: 0, failures: 0, notBefore: 0}
        this.entries.set(k, e)
      }
      if (e.task || e.starting || e.stopping || Date.now() < e.notBefore) continue
      // not awaited: an image pull must not hold up the jobs of this round
      const entry = e
      entry.starting = this.start(entry, w.spec, w.job).finally(() => (entry.starting = undefined))
    }
  }

  /** Stop every task (the server is stopping); the runner is closed. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.retire(e, 'server stopping')))
    if (this.runner) await (await this.runner.catch(() => undefined))?.close?.()
    this.runner = undefined
    if (this.claimed) {
      try {
        withTx(this.db, () => releaseContinuous(this.db))
      } catch {
        // the database is closing: the claim dies with this process anyway
      }
      this.claimed = false
    }
  }

  /** The newest pending job of a service whose input commits are all finished (older pending ones it skips). */
  private latestReadyJob(ref: PipelineRef): JobRow | undefined {
    const jobs = this.d.lifecycle.pendingServiceJobs(ref.project, ref.pipeline)
    const out = rows.getRepo(this.db, ref.project, ref.pipeline, 'user')
    if (!out) return undefined
    for (let i = jobs.length - 1; i >= 0; i--) {
      const j = jobs[i]!
      const prov = rows.commitProvenance(this.db, out.id, j.id)
      if (prov.every((p) => rows.getCommit(this.db, p.prov_repo_id, p.prov_commit_id)?.finished)) return j
    }
    return undefined
  }

  private jobActive(ref: PipelineRef, id: string): boolean {
    const j = jobRows.getJob(this.db, {...ref, id})
    return j !== undefined && !jobRows.isTerminalJobState(j.state)
  }

  private setState(e: Entry, state: PipelineState, reason: string): void {
    try {
      withTx(this.db, () => pipelineRows.setPipelineRunState(this.db, e.ref.project, e.ref.pipeline, state, reason))
    } catch {
      // the pipeline went away meanwhile
    }
  }

  private log(e: Entry, stream: 'stdout' | 'stderr', message: string): void {
    const file = continuousLogFile(this.d.ctx.pachDir, e.ref.project, e.ref.pipeline)
    try {
      mkdirSync(join(file, '..'), {recursive: true})
      try {
        if (statSync(file).size > LOG_ROTATE_BYTES) renameSync(file, `${file}.1`)
      } catch {
        // no file yet
      }
      appendFileSync(file, JSON.stringify({ts: this.d.ctx.now(), stream, message, ...(e.job && {job: e.job})}) + '\n')
    } catch {
      // the log is best effort
    }
    this.opts.onLog?.(e.ref, stream, message)
  }

  private getRunner(): Promise<Runner> {
    this.runner ??= this.opts.runner()
    this.runner.catch(() => (this.runner = undefined))
    return this.runner
  }

  /** Start the code of `e` (a failure to start counts as an exit: backoff, CRASHING). */
  private async start(e: Entry, spec: PipelineSpec, job: JobRow | undefined): Promise<void> {
    const scratch = join(this.d.ctx.pachDir, 'tmp', 'continuous', `${e.ref.project}-${e.ref.pipeline}-${e.version}${job ? `-${job.id}` : ''}`)
    e.scratch = scratch
    try {
      const runner = await this.getRunner()
      if (!runner.startService) throw new Error(`the ${runner.kind} runner cannot run spouts or services`)
      rmSync(scratch, {recursive: true, force: true})
      mkdirSync(scratch, {recursive: true})
      let inputsDir: string | undefined
      if (job) {
        if (job.state === 'JOB_CREATED') {
          if (!this.d.lifecycle.lease(job)) return // another process took it
          this.d.lifecycle.running(job, {started: this.d.ctx.now(), data_total: 1, data_skipped: 0, details: JSON.stringify({...spec, runner: runner.describe()})})
        }
        inputsDir = join(scratch, 'pfs')
        this.materializeInputs(spec, job, inputsDir)
      }
      const grant = await this.opts.access.grant(runner, e.ref)
      e.token = grant.token
      const address = `grpc://${grant.host}:${grant.port}`
      const configDir = join(scratch, 'pachctl')
      mkdirSync(configDir, {recursive: true})
      const configFile = join(configDir, 'config.json')
      writeFileSync(
        configFile,
        JSON.stringify({v2: {active_context: 'default', contexts: {default: {pachd_address: address, session_token: grant.token, project: e.ref.project}}}}, null, 2) + '\n',
        {mode: 0o644},
      )
      const secrets = this.d.secrets.forJob(spec, join(scratch, 'secrets'), this.d.ctx.env)
      const env: Record<string, string> = {
        ...(spec.transform.env ?? {}),
        ...secrets.env,
        PPS_PIPELINE_NAME: e.ref.pipeline,
        PPS_PROJECT_NAME: e.ref.project,
        PPS_SPEC_COMMIT: this.d.pipelines.specAt(e.ref.project, e.ref.pipeline, e.version).spec_commit,
        PACHD_PEER_SERVICE_HOST: grant.host,
        PACHD_PEER_SERVICE_PORT: String(grant.port),
        PEER_PORT: String(grant.port),
        ...(job && {PACH_JOB_ID: job.id, PACH_OUTPUT_COMMIT_ID: job.id}),
        // the host runs local code: /pachctl cannot be created there, PACH_CONFIG names the file
        ...(runner.kind === 'local' && {PACH_CONFIG: configFile, PACH_PYTHON_AUTH_TOKEN: grant.token}),
      }
      const ports = servicePorts(spec)
      const t = spec.transform
      const lines = {stdout: '', stderr: ''}
      const task = await runner.startService({
        name: `${e.ref.project}-${e.ref.pipeline}`,
        image: t.image,
        cmd: t.cmd,
        stdin: t.stdin?.length ? t.stdin.join('\n') + '\n' : undefined,
        env,
        inputsDir,
        mounts: [{host: configDir, container: '/pachctl'}, ...secrets.mounts],
        ports: ports?.internal_port && ports.external_port ? [{internal: ports.internal_port, external: ports.external_port}] : [],
        cpu: spec.resource_limits?.cpu,
        memoryBytes: spec.resource_limits?.memory ? parseMemory(spec.resource_limits.memory) : undefined,
        user: t.user || undefined,
        workingDir: t.working_dir || undefined,
        onOutput: (stream, chunk) => {
          const parts = (lines[stream] + chunk.toString('utf8')).split('\n')
          lines[stream] = parts.pop()!
          for (const l of parts) this.log(e, stream, l)
        },
      })
      e.task = task
      e.startedAt = Date.now()
      this.setState(e, 'PIPELINE_RUNNING', '')
      this.opts.onNote?.(e.ref, `${e.kind} started on the ${runner.kind} runner${job ? ` over job ${job.id}` : ''}`)
      void task.done.then((exit) => {
        for (const s of ['stdout', 'stderr'] as const) if (lines[s]) this.log(e, s, lines[s])
        this.exited(e, task, exit)
      })
    } catch (err) {
      this.cleanup(e)
      this.exited(e, undefined, {exitCode: -1, error: err instanceof Error ? err.message.split('\n')[0] : String(err)})
    }
  }

  /** The code ended (or never started): unless it was stopped on purpose, restart after a backoff. */
  private exited(e: Entry, task: ServiceTask | undefined, exit: ServiceExit): void {
    if (task && e.task !== task) return
    e.task = undefined
    this.cleanup(e)
    if (e.stopping || this.entries.get(key(e.ref)) !== e) return
    const ran = task ? Date.now() - e.startedAt : 0
    if (ran >= this.backoff.resetAfterMs) e.failures = 0
    const delay = Math.min(this.backoff.firstMs * 2 ** e.failures, this.backoff.maxMs)
    e.failures++
    e.notBefore = Date.now() + delay
    const what = exit.error ? exit.error : `exited with code ${exit.exitCode}`
    this.log(e, 'stderr', `pach: user code ${what}; restarting in ${delay / 1000} s`)
    this.opts.onNote?.(e.ref, `user code ${what}; restarting in ${delay / 1000} s`)
    this.setState(e, e.failures > 1 ? 'PIPELINE_CRASHING' : 'PIPELINE_RESTARTING', `user code ${what}; restarting in ${delay / 1000} s`)
    clearTimeout(e.timer)
    e.timer = setTimeout(() => this.opts.wake?.(), delay)
  }

  /** Revoke the token and remove the scratch directory of a task that ended. */
  private cleanup(e: Entry): void {
    if (e.token) this.opts.access.revoke(e.token)
    e.token = undefined
    if (e.scratch) rmSync(e.scratch, {recursive: true, force: true})
    e.scratch = undefined
  }

  /** Stop an entry's code for good (stopped, deleted, replaced, server stopping); a service's job ends. */
  private async retire(e: Entry, why: string): Promise<void> {
    e.stopping = true
    clearTimeout(e.timer)
    await e.starting
    const task = e.task
    e.task = undefined
    if (task) await task.stop()
    this.cleanup(e)
    if (this.entries.get(key(e.ref)) === e) this.entries.delete(key(e.ref))
    if (e.job && why === 'replaced') {
      // replaced by a newer input: this job (and the pending ones the newer skipped) succeeded
      const ref = e.ref
      for (const j of this.d.lifecycle.pendingServiceJobs(ref.project, ref.pipeline)) {
        const newest = this.latestReadyJob(ref)
        if (newest && j.seq < newest.seq) this.d.lifecycle.finish(j, {state: 'JOB_SUCCESS', reason: ''})
      }
      this.d.lifecycle.finish({...ref, id: e.job}, {state: 'JOB_SUCCESS', reason: ''})
    } else if (e.job && why === 'server stopping') {
      // the next serve resumes it
      this.d.lifecycle.release({...e.ref, id: e.job})
    }
  }

  /** The whole input of a service's job at `<dir>/<input name>/…` (one datum). */
  private materializeInputs(spec: PipelineSpec, job: JobRow, dir: string): void {
    const out = rows.getRepo(this.db, job.project, job.pipeline, 'user')!
    const prov = rows.commitProvenance(this.db, out.id, job.id)
    mkdirSync(dir, {recursive: true})
    for (const leaf of walkPfs(spec.input)) {
      const repo = rows.getRepo(this.db, leaf.project, leaf.repo, leaf.repo_type)
      const link = repo && prov.find((p) => p.prov_repo_id === repo.id)
      const commit = link && rows.getCommit(this.db, repo.id, link.prov_commit_id)
      const dest = join(dir, leaf.name)
      const root = commit ? this.d.ctx.trees.lookup(commit.tree, '/') : undefined
      if (root) this.d.files.materializeEntry(root, dest)
      else mkdirSync(dest, {recursive: true})
    }
  }
}
