/**
 * Datum run: one datum through user code on a worker (Pachyderm's `RunUserCode` with its
 * retry loop) — the "run" and "collect" steps of a job for one datum.
 *
 * Steps: enter the workspace (inputs in place, /pfs/out empty), run `transform.cmd` with the
 * datum's environment, up to `datum_tries` attempts (default 3; each retry enters again from
 * clean inputs and an empty /pfs/out), each bounded by `datum_timeout`; an exit code in
 * `accept_return_code` counts as success. An attempt aborted by `pach restart datum`
 * (datum-restart.ts) runs again, from clean inputs, and is not one of the tries. After the
 * last failed attempt `err_cmd` (if any) may recover the datum (RECOVERED: no output is
 * stored). On success, /pfs/out is collected into the datum's output tree (not with s3_out:
 * the job's output is then what user code wrote to the bucket `out`, s3-job.ts).
 *
 * Outcome: SUCCESS (with its output tree, null when it wrote nothing), FAILED (with the
 * reason, also written to the datum's log as a `pach:` line) or RECOVERED. A non-zero exit's
 * reason carries the exit code and the last lines (up to 3) user code wrote to stderr in the
 * last attempt, so `list datum`/`inspect job` tell why without `pach logs`; the log line
 * leaves them out (they are just above it). The function
 * resolves for everything that is the datum's fault (user code, its output, a damaged lazy
 * input chunk); it rejects only when the worker or the store is broken — the job then fails.
 */
import type {PackWriter} from '../store/pack-store.js'
import type {DatumState} from '../types.js'
import {parseDuration} from '../units/duration.js'
import type {Datum} from './datum.js'
import type {DatumRestarts} from './datum-restart.js'
import type {DatumLog} from './job-logs.js'
import type {DatumRunResult, Worker} from './runner.js'
import type {PipelineSpec} from './spec/index.js'
import {zeroStats, type Stats} from './stats.js'
import {DatumError, type EnteredDatum, type WorkerWorkspace} from './workspace.js'
import type {TreeStore} from '../store/tree-store.js'

export interface DatumOutcome {
  state: DatumState
  reason: string
  /** root of the datum's output tree (SUCCESS only; null when it wrote nothing) */
  output: Buffer | null
  stats: Stats
  /** the datum's log as stored in the meta commit */
  logs: string
}

/** What every datum of a job shares. */
export interface DatumRunContext {
  spec: PipelineSpec
  worker: Worker
  workspace: WorkerWorkspace
  /** transform.env plus PACH_JOB_ID, PACH_OUTPUT_COMMIT_ID, PPS_* (PACH_DATUM_ID is added per datum) */
  jobEnv: Record<string, string>
  /** environment variables from transform.secrets (they win over everything else) */
  secretEnv: Record<string, string>
  trees: TreeStore
  writer: PackWriter
  signal: AbortSignal
  /** where `pach restart datum` reaches the running attempts (none: they cannot be restarted) */
  restarts?: DatumRestarts
}

/** A job's variables: transform.env, then PACH_JOB_ID, PACH_OUTPUT_COMMIT_ID, PPS_* (the spec commit, when there is one). */
export function jobEnv(spec: PipelineSpec, job: {project: string; pipeline: string; id: string}, specCommit: string): Record<string, string> {
  return {
    ...(spec.transform.env ?? {}),
    PACH_JOB_ID: job.id,
    PACH_OUTPUT_COMMIT_ID: job.id,
    PPS_PIPELINE_NAME: job.pipeline,
    PPS_PROJECT_NAME: job.project,
    PPS_SPEC_COMMIT: specCommit,
  }
}

/** What user code sees for a datum: its input variables, the job's, PACH_DATUM_ID, then the secrets' (which win). */
export function userCodeEnv(inputEnv: Record<string, string>, jobEnv: Record<string, string>, datumId: string, secretEnv: Record<string, string>): Record<string, string> {
  return {...inputEnv, ...jobEnv, PACH_DATUM_ID: datumId, ...secretEnv}
}

export async function runDatum(c: DatumRunContext, d: Datum, log: DatumLog): Promise<DatumOutcome> {
  const {spec, worker, workspace} = c
  const stats = zeroStats()
  const failed = (reason: string): DatumOutcome => ({state: 'FAILED', reason, output: null, stats, logs: log.text()})
  const tries = Math.max(1, spec.datum_tries || 3)
  const timeoutMs = spec.datum_timeout ? parseDuration(spec.datum_timeout) : undefined
  const stdin = spec.transform.stdin?.length ? spec.transform.stdin.join('\n') + '\n' : undefined
  const accept = new Set(spec.transform.accept_return_code ?? [])
  const succeeded = (r: DatumRunResult | undefined) => !!r && !r.timedOut && !r.error && (r.exitCode === 0 || accept.has(r.exitCode))

  const t0 = Date.now()
  let entered: EnteredDatum = workspace.enter(d)
  let lazyError: string | undefined
  const leave = () => {
    workspace.leave(entered)
    stats.download_bytes += entered.downloadBytes + entered.lazy.bytes
    lazyError ??= entered.lazy.error
  }
  const envOf = (e: EnteredDatum) => userCodeEnv(e.env, c.jobEnv, d.id, c.secretEnv)
  stats.download_ms = Date.now() - t0
  try {
    let last: DatumRunResult | undefined
    let reason = ''
    const t1 = Date.now()
    let fresh = true
    for (let attempt = 1; attempt <= tries; attempt++) {
      if (c.signal.aborted) break
      if (!fresh) {
        leave()
        entered = workspace.enter(d)
      }
      fresh = false
      const tail = new StderrTail()
      const onOutput = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
        if (stream === 'stderr') tail.push(chunk)
        log.output(stream, chunk)
      }
      const run = c.restarts?.attempt(d, attempt, c.signal)
      try {
        last = await worker.run({cmd: spec.transform.cmd, stdin, env: envOf(entered), timeoutMs, signal: run?.signal ?? c.signal, onOutput})
      } finally {
        run?.end()
      }
      log.flush()
      if (run?.restarted()) {
        // not a failed attempt: the same attempt again, from clean inputs (datum-restart.ts)
        log.line('stderr', `pach: attempt ${attempt}/${tries} restarted by \`pach restart datum\``)
        attempt--
        continue
      }
      if (succeeded(last)) break
      reason = last.timedOut ? `datum timed out after ${spec.datum_timeout}` : last.error ? last.error : `user code exited with code ${last.exitCode}`
      log.line('stderr', `pach: attempt ${attempt}/${tries} failed: ${reason}`)
      if (!last.timedOut && !last.error) reason += tail.describe()
      last = {...last, exitCode: last.exitCode === 0 ? -1 : last.exitCode}
    }
    stats.process_ms = Date.now() - t1
    lazyError ??= entered.lazy.error
    if (lazyError) {
      log.line('stderr', `pach: ${lazyError}`)
      return failed(lazyError)
    }
    if (!succeeded(last)) {
      if (spec.transform.err_cmd?.length && !c.signal.aborted) {
        const errStdin = spec.transform.err_stdin?.length ? spec.transform.err_stdin.join('\n') + '\n' : undefined
        const r = await worker.run({cmd: spec.transform.err_cmd, stdin: errStdin, env: envOf(entered), timeoutMs, signal: c.signal, onOutput: log.output})
        log.flush()
        if (r.exitCode === 0 && !r.timedOut) return {state: 'RECOVERED', reason, output: null, stats, logs: log.text()}
      }
      return failed(reason || 'datum failed')
    }
    // collect (with s3_out /pfs/out is not the output, as in Pachyderm: what is there is dropped)
    if (c.spec.s3_out) {
      workspace.clearOutput()
      return {state: 'SUCCESS', reason: '', output: null, stats, logs: log.text()}
    }
    const t2 = Date.now()
    try {
      const ops = await workspace.collect(c.writer, stats, entered.placeholders)
      const output = ops.length ? c.trees.apply(null, ops) : null
      stats.upload_ms = Date.now() - t2
      return {state: 'SUCCESS', reason: '', output, stats, logs: log.text()}
    } catch (e) {
      // the datum's own output is at fault (a name PFS cannot hold, a link out of /pfs…)
      if (!(e instanceof DatumError) && !(e as {code?: string}).code?.startsWith?.('PATH')) throw e
      const msg = (e as Error).message
      log.line('stderr', `pach: ${msg}`)
      return failed(msg)
    }
  } finally {
    leave()
  }
}

/** The last lines a datum wrote to stderr (at most 3, the last 4 KiB), for a failure reason. */
class StderrTail {
  private buf = ''

  push(chunk: Buffer): void {
    this.buf = (this.buf + chunk.toString('utf8')).slice(-4096)
  }

  /** `; last lines of stderr: "…", "…"` (each line cut to 200 characters), or '' when it wrote nothing. */
  describe(): string {
    const lines = this.buf
      .split('\n')
      .map((l) => l.replace(/\r$/, ''))
      .filter((l) => l.trim() !== '')
      .slice(-3)
      .map((l) => JSON.stringify(l.length > 200 ? `${l.slice(0, 200)}…` : l))
    return lines.length ? `; last lines of stderr: ${lines.join(', ')}` : ''
  }
}
