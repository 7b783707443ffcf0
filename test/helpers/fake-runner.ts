/**
 * The fake runner: a deterministic in-process runner for tests.
 *
 * Concept: "user code" is a TypeScript function given the worker's host directories (its
 * `/pfs` is `inputsDir`, its `/pfs/out` is `outDir`), the datum's env, cmd and stdin. It
 * reads and writes with node:fs and returns an exit code. Nothing is spawned, so tests of
 * the job service run in milliseconds and without Docker.
 *
 * Contract, as for the real runners: `run` never rejects for user-code failures. A thrown
 * error resolves with exitCode -1 and the error's message; a function still running when
 * `timeoutMs` expires (or the task's signal aborts) resolves with timedOut (or an abort
 * error) and `ctx.signal` is aborted so a cooperative function can stop. Nothing enforces
 * read-only inputs or the absence of network: the function is trusted.
 *
 * `runner.calls` records every run (worker name, cmd, env, stdin) for assertions.
 */
import {mkdirSync} from 'node:fs'
import {resolve} from 'node:path'
import {RunnerError} from '../../src/core/errors.js'
import type {DatumRunResult, DatumTask, Runner, Worker, WorkerSpec} from '../../src/core/pps/runner.js'

export interface FakeContext {
  /** host dir seen by real user code as /pfs */
  inputsDir: string
  /** host dir seen by real user code as /pfs/out */
  outDir: string
  env: Record<string, string>
  cmd: string[]
  stdin?: string
  /** the worker's spec (image, limits, name) */
  spec: WorkerSpec
  /** aborted on timeout or when the task's signal aborts */
  signal: AbortSignal
  /** emit log output as user code would on stdout/stderr */
  output(stream: 'stdout' | 'stderr', text: string | Buffer): void
}

export type FakeUserCode = (ctx: FakeContext) => Promise<number> | number

export interface FakeCall {
  worker: string
  cmd: string[]
  env: Record<string, string>
  stdin?: string
}

export class FakeRunner implements Runner {
  readonly kind = 'fake' as const
  readonly calls: FakeCall[] = []
  /** number of workers started (a job with parallelism N starts N) */
  workersStarted = 0

  constructor(private readonly code: FakeUserCode) {}

  describe(): string {
    return 'fake (in-process)'
  }

  async imageId(image: string): Promise<string | undefined> {
    return `fake:${image}`
  }

  async startWorker(spec: WorkerSpec): Promise<Worker> {
    mkdirSync(spec.inputsDir, {recursive: true})
    mkdirSync(spec.outDir, {recursive: true})
    this.workersStarted++
    return new FakeWorker(spec, this.code, this.calls)
  }
}

class FakeWorker implements Worker {
  private closed = false
  constructor(
    private readonly spec: WorkerSpec,
    private readonly code: FakeUserCode,
    private readonly calls: FakeCall[],
  ) {}

  async run(task: DatumTask): Promise<DatumRunResult> {
    const t0 = Date.now()
    if (this.closed) throw new RunnerError(`worker ${this.spec.name} is closed`)
    this.calls.push({worker: this.spec.name, cmd: [...task.cmd], env: {...task.env}, ...(task.stdin !== undefined ? {stdin: task.stdin} : {})})
    if (task.signal?.aborted) return {exitCode: -1, timedOut: false, error: 'aborted before start', durationMs: 0}

    const ac = new AbortController()
    const ctx: FakeContext = {
      inputsDir: resolve(this.spec.inputsDir),
      outDir: resolve(this.spec.outDir),
      env: {...task.env},
      cmd: [...task.cmd],
      ...(task.stdin !== undefined ? {stdin: task.stdin} : {}),
      spec: this.spec,
      signal: ac.signal,
      output: (stream, text) => {
        if (!ac.signal.aborted) task.onOutput(stream, Buffer.isBuffer(text) ? text : Buffer.from(text))
      },
    }

    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    const stopped = new Promise<'timeout' | 'abort'>((res) => {
      if (task.timeoutMs !== undefined && task.timeoutMs > 0) timer = setTimeout(() => res('timeout'), task.timeoutMs)
      onAbort = () => res('abort')
      task.signal?.addEventListener('abort', onAbort, {once: true})
    })
    const ran = (async () => this.code(ctx))().then(
      (code) => ({code}),
      (e: unknown) => ({thrown: e}),
    )
    try {
      const r = await Promise.race([ran, stopped])
      if (r === 'timeout' || r === 'abort') {
        ac.abort()
        return {
          exitCode: -1,
          timedOut: r === 'timeout',
          error: r === 'timeout' ? `timed out after ${task.timeoutMs} ms; killed` : 'aborted; killed',
          durationMs: Date.now() - t0,
        }
      }
      if ('thrown' in r) return {exitCode: -1, timedOut: false, error: `user code threw: ${(r.thrown as Error)?.message ?? String(r.thrown)}`, durationMs: Date.now() - t0}
      const code = Number.isInteger(r.code) ? r.code : -1
      return {exitCode: code, timedOut: false, durationMs: Date.now() - t0}
    } finally {
      if (timer) clearTimeout(timer)
      if (onAbort) task.signal?.removeEventListener('abort', onAbort)
    }
  }

  async close(): Promise<void> {
    this.closed = true
  }
}
