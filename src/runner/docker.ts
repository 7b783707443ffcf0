/**
 * The Docker runner: user code runs in containers through the Docker Engine API (dockerode).
 *
 * Concept: one long-lived container per worker, datums are `docker exec`s into it. A
 * container per datum costs ~465 ms (create + start + wait + remove); an exec into a warm
 * container costs ~66 ms (reference/stack.md §5), so a worker starts one container that
 * only sleeps (`sleep 2147483647` under docker-init, which reaps orphans left by datums)
 * and each `run` is one exec: Cmd = task.cmd, Env = task.env, stdin written then closed,
 * stdout/stderr demultiplexed into task.onOutput, exit code from exec inspect.
 *
 * Mounts: `<inputsDir>:/pfs:ro`, `<outDir>:/pfs/out:rw` and the spec's extra mounts
 * read-only. `/pfs/out` is nested inside the read-only `/pfs`, so its mount point
 * `<inputsDir>/out` must exist on the host before the container starts (we create it).
 * The container binds the directories themselves: the job service must empty them in
 * place between datums, never delete and recreate them (and never delete `<inputsDir>/out`).
 *
 * Invariants (see src/core/pps/runner.ts):
 * - NetworkMode `none` unless the spec opts into a network (`bridge`);
 * - never privileged, `no-new-privileges`, capabilities only dropped (NET_RAW, MKNOD,
 *   AUDIT_WRITE), never added;
 * - the Docker socket is never mounted: every host path is resolved and rejected if it is,
 *   or contains, the engine's socket;
 * - cpu (NanoCpus) and memory (Memory = MemorySwap, so no swap beyond it) limits applied;
 * - images are never pulled: a missing image is a RunnerError naming it.
 *
 * Timeouts and aborts: the Engine API has no "kill exec" call, so on expiry the worker
 * kills and removes its container (which ends the exec) and reports `timedOut`; the next
 * `run` starts a fresh container. This costs one container start (~0.3 s) per timeout,
 * which is rare, and works for images without a shell.
 *
 * If pach dies without closing its workers, their containers keep sleeping; they carry the
 * label `io.pach.worker=<worker name>` so they can be found and removed.
 *
 * dockerode costs ~400 ms to import, so it is loaded only by `createDockerRunner` (or on
 * first use when the class is constructed without a client).
 */
import {existsSync, mkdirSync, realpathSync} from 'node:fs'
import {isAbsolute, resolve} from 'node:path'
import {randomBytes} from 'node:crypto'
import type Dockerode from 'dockerode'
import {RunnerError} from '../core/errors.js'
import type {DatumRunResult, DatumTask, Runner, Worker, WorkerSpec} from '../core/pps/runner.js'

/** Capabilities removed from Docker's default set; none are ever added. */
const CAP_DROP = ['NET_RAW', 'MKNOD', 'AUDIT_WRITE']
/** Label put on every worker container, so leftovers (after a crash) can be found. */
export const WORKER_LABEL = 'io.pach.worker'

const DEFAULT_SOCKET = '/var/run/docker.sock'

export interface DockerRunnerOptions {
  /** engine version for describe(), e.g. "20.10.24" (createDockerRunner fills it) */
  serverVersion?: string
}

/** Load dockerode, connect to the engine (DOCKER_HOST or the default socket), check it answers. */
export async function createDockerRunner(opts: {docker?: Dockerode; pingTimeoutMs?: number} = {}): Promise<DockerRunner> {
  const docker = opts.docker ?? (await loadDockerode())
  let version: string | undefined
  try {
    await withTimeout(docker.ping(), opts.pingTimeoutMs ?? 5000, 'no answer')
    version = (await withTimeout(docker.version(), opts.pingTimeoutMs ?? 5000, 'no answer')).Version
  } catch (e) {
    throw unreachable(e)
  }
  return new DockerRunner(docker, {serverVersion: version})
}

async function loadDockerode(): Promise<Dockerode> {
  const {default: Docker} = await import('dockerode')
  return new Docker()
}

export class DockerRunner implements Runner {
  readonly kind = 'docker' as const
  private client: Dockerode | undefined
  private readonly serverVersion: string | undefined
  private readonly workers = new Set<DockerWorker>()

  constructor(docker?: Dockerode, opts: DockerRunnerOptions = {}) {
    this.client = docker
    this.serverVersion = opts.serverVersion
  }

  describe(): string {
    return this.serverVersion ? `docker ${this.serverVersion}` : 'docker'
  }

  /** The image's immutable id (sha256:…); never contacts a registry. */
  async imageId(image: string): Promise<string | undefined> {
    const docker = await this.docker()
    try {
      return (await docker.getImage(image).inspect()).Id
    } catch (e) {
      if (statusOf(e) === 404) throw imageNotFound(image, e)
      throw engineError(e, `cannot inspect image ${image}`)
    }
  }

  async startWorker(spec: WorkerSpec): Promise<Worker> {
    const docker = await this.docker()
    const create = containerOptions(spec, socketPathOf(docker))
    // the nested /pfs/out mount point must exist inside the read-only /pfs
    mkdirSync(resolve(spec.inputsDir, 'out'), {recursive: true})
    mkdirSync(spec.outDir, {recursive: true})
    const worker = new DockerWorker(docker, spec, create, () => this.workers.delete(worker))
    await worker.start()
    this.workers.add(worker)
    return worker
  }

  /** Remove the containers of workers that were not closed. */
  async close(): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.close()))
  }

  private async docker(): Promise<Dockerode> {
    this.client ??= await loadDockerode()
    return this.client
  }
}

/** Container create options for a worker; throws RunnerError for a spec that breaks an invariant. */
export function containerOptions(spec: WorkerSpec, socketPath: string = DEFAULT_SOCKET): Dockerode.ContainerCreateOptions {
  const binds: string[] = [`${hostPath(spec.inputsDir, 'inputsDir')}:/pfs:ro`, `${hostPath(spec.outDir, 'outDir')}:/pfs/out:rw`]
  for (const m of spec.mounts ?? []) {
    const host = hostPath(m.host, 'mount')
    if (!existsSync(host)) throw new RunnerError(`mount source ${host} does not exist`)
    if (!isAbsolute(m.container) || m.container.includes(':') || m.container.includes(',')) {
      throw new RunnerError(`mount target ${JSON.stringify(m.container)} must be an absolute path without ':' or ','`)
    }
    if (m.container === '/pfs' || m.container.startsWith('/pfs/')) throw new RunnerError(`mount target ${m.container} is inside /pfs`)
    binds.push(`${host}:${m.container}:ro`)
  }
  assertNoDockerSocket(binds, socketPath)
  const hostConfig: Dockerode.HostConfig = {
    Binds: binds,
    NetworkMode: spec.network ? 'bridge' : 'none',
    Privileged: false,
    ReadonlyRootfs: false,
    CapDrop: CAP_DROP,
    SecurityOpt: ['no-new-privileges'],
    Init: true,
  }
  if (spec.cpu !== undefined && spec.cpu > 0) hostConfig.NanoCpus = Math.round(spec.cpu * 1e9)
  if (spec.memoryBytes !== undefined && spec.memoryBytes > 0) {
    hostConfig.Memory = Math.round(spec.memoryBytes)
    hostConfig.MemorySwap = hostConfig.Memory
  }
  const opts: Dockerode.ContainerCreateOptions = {
    Image: spec.image,
    // Entrypoint replaces the image's entrypoint and CMD: the container only waits for execs
    Entrypoint: ['sleep', '2147483647'],
    Labels: {[WORKER_LABEL]: spec.name},
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    HostConfig: hostConfig,
  }
  if (spec.user) opts.User = spec.user
  if (spec.workingDir) opts.WorkingDir = spec.workingDir
  return opts
}

function hostPath(p: string, what: string): string {
  const abs = resolve(p)
  if (abs.includes(':') || abs.includes(',')) throw new RunnerError(`${what} ${abs} contains ':' or ',', which Docker bind mounts cannot express`)
  return abs
}

/** Reject any bind whose host side is, or contains, the Docker socket (after resolving symlinks). */
function assertNoDockerSocket(binds: string[], socketPath: string): void {
  const sockets = new Set([socketPath, DEFAULT_SOCKET, '/run/docker.sock'])
  for (const s of [...sockets]) {
    try {
      sockets.add(realpathSync(s))
    } catch {
      // socket absent: its literal path is still refused
    }
  }
  for (const b of binds) {
    const host = b.split(':')[0]!
    let real = host
    try {
      real = realpathSync(host)
    } catch {
      // checked literally
    }
    for (const candidate of [host, real]) {
      if (candidate.includes('docker.sock')) throw new RunnerError(`refusing to mount ${host}: the Docker socket is never mounted into user containers`)
      for (const s of sockets) {
        if (candidate === s || s.startsWith(candidate.endsWith('/') ? candidate : candidate + '/')) {
          throw new RunnerError(`refusing to mount ${host}: it contains the Docker socket (${s}), which is never mounted into user containers`)
        }
      }
    }
  }
}

/** One warm container; datums are execs into it. */
export class DockerWorker implements Worker {
  /** id of the current container (changes after a timeout or abort recreates it) */
  containerId: string | undefined
  private container: Dockerode.Container | undefined
  private closed = false

  constructor(
    private readonly docker: Dockerode,
    private readonly spec: WorkerSpec,
    private readonly create: Dockerode.ContainerCreateOptions,
    private readonly onClose: () => void,
  ) {}

  /** Create and start a fresh container. */
  async start(): Promise<void> {
    let container: Dockerode.Container
    try {
      const name = `pach-${this.spec.name.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 80)}-${randomBytes(4).toString('hex')}`
      container = await this.docker.createContainer({...this.create, name})
    } catch (e) {
      if (statusOf(e) === 404) throw imageNotFound(this.spec.image, e)
      throw engineError(e, `cannot create a container for worker ${this.spec.name}`)
    }
    try {
      await container.start()
    } catch (e) {
      await container.remove({force: true}).catch(() => undefined)
      throw engineError(e, `cannot start a container from ${this.spec.image} for worker ${this.spec.name}`)
    }
    this.container = container
    this.containerId = container.id
  }

  async run(task: DatumTask): Promise<DatumRunResult> {
    return this.runOnce(task, true)
  }

  private async runOnce(task: DatumTask, mayRestart: boolean): Promise<DatumRunResult> {
    const t0 = Date.now()
    if (this.closed) throw new RunnerError(`worker ${this.spec.name} is closed`)
    if (task.signal?.aborted) return {exitCode: -1, timedOut: false, error: 'aborted before start', durationMs: 0}
    if (task.cmd.length === 0) return {exitCode: -1, timedOut: false, error: 'could not start: empty cmd', durationMs: 0}
    if (!this.container) await this.start()
    const container = this.container!

    let exec: Dockerode.Exec
    try {
      exec = await container.exec({
        Cmd: task.cmd,
        Env: Object.entries(task.env).map(([k, v]) => `${k}=${v}`),
        AttachStdin: task.stdin !== undefined,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
      })
    } catch (e) {
      // the container died under us (OOM-killed pid 1, removed by hand): one fresh start
      const status = statusOf(e)
      if (status === 400) return {exitCode: -1, timedOut: false, error: `could not start: ${oneLine(e)}`, durationMs: Date.now() - t0}
      if ((status !== 404 && status !== 409) || !mayRestart) throw engineError(e, `cannot exec in worker ${this.spec.name}`)
      await this.discard()
      await this.start()
      return this.runOnce(task, false)
    }

    let stream: NodeJS.ReadWriteStream & {destroy?: () => void}
    try {
      stream = await exec.start({hijack: true, stdin: task.stdin !== undefined})
    } catch (e) {
      return {exitCode: -1, timedOut: false, error: `could not start: ${oneLine(e)}`, durationMs: Date.now() - t0}
    }

    let killed: 'timeout' | 'abort' | undefined
    const kill = (why: 'timeout' | 'abort') => {
      if (killed) return
      killed = why
      // ending the container ends the exec stream; `run` then reports and the next run restarts it
      void this.discard().finally(() => stream.destroy?.())
    }
    const timer = task.timeoutMs !== undefined && task.timeoutMs > 0 ? setTimeout(() => kill('timeout'), task.timeoutMs) : undefined
    const onAbort = () => kill('abort')
    task.signal?.addEventListener('abort', onAbort, {once: true})

    try {
      await new Promise<void>((resolveDone) => {
        // plain sinks (demuxStream only calls write) deliver every frame before 'end' is seen
        const out = {write: (c: Buffer) => task.onOutput('stdout', c)} as unknown as NodeJS.WritableStream
        const err = {write: (c: Buffer) => task.onOutput('stderr', c)} as unknown as NodeJS.WritableStream
        this.docker.modem.demuxStream(stream, out, err)
        let done = false
        const finish = () => {
          if (done) return
          done = true
          resolveDone()
        }
        stream.on('end', finish)
        stream.on('close', finish)
        stream.on('error', finish)
        if (task.stdin !== undefined) {
          stream.write(task.stdin)
          stream.end()
        }
      })
    } finally {
      if (timer) clearTimeout(timer)
      task.signal?.removeEventListener('abort', onAbort)
    }

    if (killed) {
      await this.discardPromise
      return {
        exitCode: -1,
        timedOut: killed === 'timeout',
        error: killed === 'timeout' ? `timed out after ${task.timeoutMs} ms; killed` : 'aborted; killed',
        durationMs: Date.now() - t0,
      }
    }
    // `error` stays unset for any exit code, so accept_return_code can accept it (137 may be the memory limit)
    return {exitCode: await this.exitCodeOf(exec), timedOut: false, durationMs: Date.now() - t0}
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.discard()
    this.onClose()
  }

  private discardPromise: Promise<void> | undefined

  /** Kill and remove the current container (idempotent while in flight). */
  private discard(): Promise<void> {
    const container = this.container
    if (!container) return this.discardPromise ?? Promise.resolve()
    this.container = undefined
    this.containerId = undefined
    this.discardPromise = container
      .remove({force: true})
      .then(() => undefined)
      .catch((e: unknown) => {
        // already gone, or removal in progress
        if (statusOf(e) !== 404 && statusOf(e) !== 409) throw engineError(e, `cannot remove the container of worker ${this.spec.name}`)
      })
    return this.discardPromise
  }

  /** The exec's exit code; inspect can briefly report Running just after the stream ends. */
  private async exitCodeOf(exec: Dockerode.Exec): Promise<number> {
    for (let i = 0; ; i++) {
      let info: Dockerode.ExecInspectInfo
      try {
        info = await exec.inspect()
      } catch (e) {
        throw engineError(e, `cannot inspect an exec in worker ${this.spec.name}`)
      }
      if (!info.Running && info.ExitCode !== null) return info.ExitCode
      if (i > 200) throw new RunnerError(`exec in worker ${this.spec.name} ended its output but never reported an exit code`)
      await new Promise((r) => setTimeout(r, i < 10 ? 2 : 20))
    }
  }
}

// ---- errors

function statusOf(e: unknown): number | undefined {
  return (e as {statusCode?: number} | undefined)?.statusCode
}

function oneLine(e: unknown): string {
  const err = e as {json?: {message?: string}; reason?: string; message?: string}
  const msg = err?.json?.message ?? err?.message ?? String(e)
  return msg.replace(/^\(HTTP code \d+\)\s*/, '').replace(/\s+/g, ' ').trim()
}

const CONNECT_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH'])

function isConnectError(e: unknown): boolean {
  const code = (e as {code?: string} | undefined)?.code
  return (code !== undefined && CONNECT_CODES.has(code)) || (e as Error | undefined)?.message === 'no answer'
}

function unreachable(e: unknown): RunnerError {
  const code = (e as {code?: string} | undefined)?.code
  const address = (e as {address?: string} | undefined)?.address
  const why = code ? `${code}${address ? ` ${address}` : ''}` : oneLine(e)
  return new RunnerError(`cannot reach the Docker engine (${why}); start it or use --runner local`, {cause: e, data: {reason: why}})
}

function engineError(e: unknown, what: string): RunnerError {
  if (e instanceof RunnerError) return e
  if (isConnectError(e)) return unreachable(e)
  return new RunnerError(`${what}: ${oneLine(e)}`, {cause: e})
}

function imageNotFound(image: string, cause: unknown): RunnerError {
  return new RunnerError(`image ${image} not found locally; build or pull it (no registry is contacted)`, {
    cause,
    data: {image},
    hint: `docker build -t ${image} . (or docker pull ${image})`,
  })
}

function socketPathOf(docker: Dockerode): string {
  const p = (docker.modem as {socketPath?: unknown}).socketPath
  return typeof p === 'string' ? p : DEFAULT_SOCKET
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
