/**
 * The Docker runner: user code runs in containers through the Docker Engine API (dockerode).
 *
 * Concept: one long-lived container per worker, and inside it one long-lived shell. A
 * container per datum costs ~465 ms (create + start + wait + remove); an exec into a warm
 * container ~66 ms on an idle machine and 100–200 ms on a loaded one (create, start, attach
 * and inspect are four engine round trips, and the runtime sets up a process each time). So
 * a worker starts one container that only sleeps (`sleep 2147483647` under docker-init,
 * which reaps orphans left by datums), then opens ONE exec running `/bin/sh -s` (stdin,
 * stdout and stderr attached, hijacked and demultiplexed) and keeps it for its life. Each
 * datum is one line written to that shell, in the worker shell protocol the local runner
 * speaks too (shell-protocol.ts): a subshell with its stdin, stdout and stderr redirected to
 * files under `/.pach-worker`, then `echo "D <nonce> $?"` on the shell's stdout, the control
 * channel; the datum's exit code is the subshell's status. The subshell runs as the
 * container's user (the exec sets none) and `cd`s to the spec's workingDir.
 *
 * The datum's stdin, stdout and stderr are files in a per-worker host directory (under
 * os.tmpdir(), removed by close) bind-mounted read-write at the hidden path `/.pach-worker`:
 * pach writes stdin there before the datum and reads stdout/stderr back after it (then
 * hands them to task.onOutput: output is delivered when the datum ends, not streamed). The
 * directory is world-writable (any container user must create files in it) but sits inside
 * a 0700 directory, so no other host user can reach it. User code can put anything in it,
 * so the host never follows a link there: the files are unlinked before each datum, stdin is
 * created exclusively, and output is read with O_NOFOLLOW, from regular files only, up to
 * the size they had when the datum ended. The shell's own stderr (e.g. a failed
 * redirection) is passed to onOutput('stderr') during the datum.
 *
 * Fallback: if the image has no usable `/bin/sh` (checked once per worker: the shell exec
 * fails to start, or ends, or does not echo a probe line), or the runner is created with
 * `execPerDatum`, each datum is a `docker exec` instead: Cmd = task.cmd, Env = task.env,
 * stdin written then closed, stdout/stderr demultiplexed into task.onOutput as they come,
 * exit code from exec inspect; the runtime's own start error (`OCI runtime exec failed: …`,
 * which it writes to stdout) is not user output: it becomes the datum's start error. That
 * path works for any image, at ~4 engine round trips per datum.
 *
 * Mounts, network, capabilities, limits and labels are the container policy
 * (container-policy.ts): `/pfs` read-only, `/pfs/out` read-write, the control directory at
 * `/.pach-worker`, secrets read-only, no network unless asked, never the Docker socket.
 * `/pfs/out` is nested inside the read-only `/pfs`, so its mount point `<inputsDir>/out`
 * must exist on the host before the container starts (we create it). The container binds
 * the directories themselves: the job service must empty them in place between datums,
 * never delete and recreate them (and never delete `<inputsDir>/out`).
 *
 * Images: `imageId`, which the job service calls before a job's first datum, pulls an image
 * the engine does not have (docker-pull.ts: credentials from the user's Docker config,
 * progress through the runner's Reporter, a pull that fails is one RunnerError line that
 * fails the job). A present image is never re-pulled, whatever its tag.
 *
 * Timeouts and aborts: the Engine API has no "kill exec" call, and killing the datum inside
 * the shell would need the shell to be trusted after user code ran next to it, so on expiry
 * the worker kills and removes its container (which ends the shell) and reports `timedOut`;
 * the next `run` starts a fresh container and shell. This costs one container start
 * (~0.3 s) per timeout, which is rare. If the shell dies on its own (the container was
 * OOM-killed or removed by hand), the datum fails with an error and the next `run` starts a
 * fresh container too.
 *
 * If pach dies without closing its workers (SIGKILL, a crash), their containers keep
 * sleeping. Every container carries the labels `io.pach.worker=<worker name>`,
 * `io.pach.owner=<host>/<pid>` and `io.pach.control=<control root>`, so `createDockerRunner`
 * removes the containers (and control directories) of owners on this host that are no longer
 * alive before it starts any worker: the next `pach run` cleans up after a killed one.
 *
 * dockerode costs ~400 ms to import, so it is loaded only by `createDockerRunner` (or on
 * first use when the class is constructed without a client).
 */
import {chmodSync, closeSync, constants as fsc, fchmodSync, fstatSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {basename, join, resolve} from 'node:path'
import {randomBytes} from 'node:crypto'
import type Dockerode from 'dockerode'
import {RunnerError} from '../core/errors.js'
import {pidAlive} from '../core/process.js'
import type {AttachSpec, DatumRunResult, DatumTask, Reporter, Runner, ServiceExit, ServiceRoute, ServiceSpec, ServiceTask, Worker, WorkerSpec} from '../core/pps/runner.js'
import {startDockerService} from './docker-service.js'
import {CONTROL_LABEL, CONTROL_MOUNT, containerOptions, DEFAULT_SOCKET, ENDPOINT_NETWORK, networkGateway, OWNER_LABEL, type NetworkIpam} from './container-policy.js'
import {armDeadline, cannotStart, killedResult} from './datum-outcome.js'
import {pullImage} from './docker-pull.js'
import {ControlChannel, datumScript, newNonce, startFailureMessage, type DatumEnd} from './shell-protocol.js'

/** How long the worker shell may take to answer its start-up probe. */
const SHELL_PROBE_MS = 30_000

export interface DockerRunnerOptions {
  /** engine version for describe(), e.g. "20.10.24" (createDockerRunner fills it) */
  serverVersion?: string
  /** one `docker exec` per datum instead of a long-lived shell per worker (the fallback for images without /bin/sh) */
  execPerDatum?: boolean
  /** where image pulls report (start and end lines, byte progress) */
  reporter?: Reporter
  /** aborts image pulls (the command's Ctrl-C) */
  signal?: AbortSignal
}

/** Load dockerode, connect to the engine (DOCKER_HOST or the default socket), check it answers. */
export async function createDockerRunner(opts: {docker?: Dockerode; pingTimeoutMs?: number; execPerDatum?: boolean; reporter?: Reporter; signal?: AbortSignal} = {}): Promise<DockerRunner> {
  const docker = opts.docker ?? (await loadDockerode())
  let version: string | undefined
  try {
    await withTimeout(docker.ping(), opts.pingTimeoutMs ?? 5000, 'no answer')
    version = (await withTimeout(docker.version(), opts.pingTimeoutMs ?? 5000, 'no answer')).Version
  } catch (e) {
    throw unreachable(e)
  }
  await removeOrphans(docker)
  return new DockerRunner(docker, {serverVersion: version, execPerDatum: opts.execPerDatum, reporter: opts.reporter, signal: opts.signal})
}

/**
 * Remove worker containers whose pach process (on this host) is gone, with their control
 * directories. Best effort: an engine error here never stops a run.
 */
export async function removeOrphans(docker: Dockerode): Promise<number> {
  let list: Dockerode.ContainerInfo[]
  try {
    list = await docker.listContainers({all: true, filters: {label: [OWNER_LABEL]}})
  } catch {
    return 0
  }
  let n = 0
  for (const c of list) {
    const [host, pid] = (c.Labels[OWNER_LABEL] ?? '').split('/')
    if (host !== hostname() || !pid || pidAlive(Number(pid))) continue
    try {
      await docker.getContainer(c.Id).remove({force: true})
      n++
    } catch {
      continue // already being removed
    }
    const ctl = c.Labels[CONTROL_LABEL]
    try {
      if (ctl && basename(ctl).startsWith('pach-docker-')) rmSync(ctl, {recursive: true, force: true})
    } catch {
      // files user code left may belong to another user: they stay in the temp dir
    }
  }
  return n
}

async function loadDockerode(): Promise<Dockerode> {
  const {default: Docker} = await import('dockerode')
  return new Docker()
}

export class DockerRunner implements Runner {
  readonly kind = 'docker' as const
  private client: Dockerode | undefined
  private readonly serverVersion: string | undefined
  private readonly execPerDatum: boolean
  private readonly workers = new Set<DockerWorker>()
  private readonly services = new Set<ServiceTask>()
  /** the gateway address of ENDPOINT_NETWORK (made once per runner) */
  private endpointNet: Promise<string> | undefined
  private readonly opts: DockerRunnerOptions
  /** pulls in flight, by image (two jobs of one image pull it once) */
  private readonly pulls = new Map<string, Promise<void>>()

  constructor(docker?: Dockerode, opts: DockerRunnerOptions = {}) {
    this.client = docker
    this.serverVersion = opts.serverVersion
    this.execPerDatum = opts.execPerDatum ?? false
    this.opts = opts
  }

  describe(): string {
    return this.serverVersion ? `docker ${this.serverVersion}` : 'docker'
  }

  /**
   * The image's immutable id (sha256:…), pulling the image first when the engine does not
   * have it (see the header).
   * @throws RunnerError when the image cannot be inspected or pulled.
   */
  async imageId(image: string): Promise<string | undefined> {
    const docker = await this.docker()
    const inspect = async () => {
      try {
        return (await docker.getImage(image).inspect()).Id
      } catch (e) {
        if (statusOf(e) === 404) return undefined
        throw engineError(e, `cannot inspect image ${image}`)
      }
    }
    const id = await inspect()
    if (id !== undefined) return id
    let pull = this.pulls.get(image)
    if (!pull) {
      pull = pullImage(docker, image, {reporter: this.opts.reporter, signal: this.opts.signal}).finally(() => this.pulls.delete(image))
      this.pulls.set(image, pull)
    }
    await pull
    const pulled = await inspect()
    if (pulled === undefined) throw imageNotFound(image, undefined)
    return pulled
  }

  async hasImage(image: string): Promise<boolean> {
    const docker = await this.docker()
    try {
      await docker.getImage(image).inspect()
      return true
    } catch (e) {
      if (statusOf(e) === 404) return false
      throw engineError(e, `cannot inspect image ${image}`)
    }
  }

  async startWorker(spec: WorkerSpec): Promise<Worker> {
    const docker = await this.docker()
    // the control directory: a world-writable `w` (any container user writes there) inside a 0700 parent
    const ctlRoot = mkdtempSync(join(tmpdir(), 'pach-docker-'))
    let worker: DockerWorker
    try {
      const ctlDir = join(ctlRoot, 'w')
      mkdirSync(ctlDir)
      chmodSync(ctlDir, 0o777)
      const create = containerOptions(spec, socketPathOf(docker), ctlDir)
      // the nested /pfs/out mount point must exist inside the read-only /pfs
      mkdirSync(resolve(spec.inputsDir, 'out'), {recursive: true})
      mkdirSync(spec.outDir, {recursive: true})
      worker = new DockerWorker(docker, spec, create, {ctlRoot, ctlDir, shell: !this.execPerDatum}, () => this.workers.delete(worker))
    } catch (e) {
      rmSync(ctlRoot, {recursive: true, force: true})
      throw e
    }
    try {
      await worker.start()
    } catch (e) {
      await worker.close().catch(() => undefined)
      throw e
    }
    this.workers.add(worker)
    return worker
  }

  /** Long-running code in its own container (docker-service.ts); the image is pulled first when missing. */
  async startService(spec: ServiceSpec): Promise<ServiceTask> {
    await this.imageId(spec.image)
    const docker = await this.docker()
    const task = await startDockerService(docker, spec, socketPathOf(docker))
    this.services.add(task)
    void task.done.then(() => this.services.delete(task))
    return task
  }

  /** One command in a worker's container attached to a terminal (docker-attach.ts); the image is pulled first when missing. */
  async runAttached(spec: AttachSpec): Promise<ServiceExit> {
    await this.imageId(spec.image)
    const docker = await this.docker()
    const {runDockerAttached} = await import('./docker-attach.js')
    return runDockerAttached(docker, spec, socketPathOf(docker))
  }

  /**
   * Containers reach the host through `host.docker.internal` (mapped to the host gateway),
   * which is the default bridge network's gateway address: a server there must listen on it.
   */
  async serviceRoute(): Promise<ServiceRoute> {
    const docker = await this.docker()
    let gateway: string | undefined
    try {
      const net = (await docker.getNetwork('bridge').inspect()) as {IPAM?: NetworkIpam}
      gateway = networkGateway(net.IPAM)
    } catch (e) {
      throw engineError(e, 'cannot inspect the docker bridge network')
    }
    if (!gateway) throw new RunnerError('the docker bridge network has no gateway address; containers cannot reach pach serve')
    return {host: 'host.docker.internal', listen: gateway}
  }

  /**
   * Workers with an `endpoint` and no network join ENDPOINT_NETWORK (container-policy.ts),
   * made here when missing (kept afterwards); a server for them listens on its gateway
   * address, which they dial directly.
   */
  async workerRoute(): Promise<ServiceRoute> {
    this.endpointNet ??= this.endpointGateway()
    this.endpointNet.catch(() => (this.endpointNet = undefined))
    const gateway = await this.endpointNet
    return {host: gateway, listen: gateway}
  }

  private async endpointGateway(): Promise<string> {
    const docker = await this.docker()
    const gatewayOf = async (): Promise<string | undefined> => {
      try {
        const net = (await docker.getNetwork(ENDPOINT_NETWORK).inspect()) as {Internal?: boolean; IPAM?: NetworkIpam}
        if (!net.Internal) throw new RunnerError(`the docker network ${ENDPOINT_NETWORK} is not internal; remove it (\`docker network rm ${ENDPOINT_NETWORK}\`) and pach makes it again`)
        return networkGateway(net.IPAM)
      } catch (e) {
        if ((e as {statusCode?: number}).statusCode === 404) return undefined
        if (e instanceof RunnerError) throw e
        throw engineError(e, `cannot inspect the docker network ${ENDPOINT_NETWORK}`)
      }
    }
    let gateway = await gatewayOf()
    if (gateway === undefined) {
      try {
        await docker.createNetwork({
          Name: ENDPOINT_NETWORK,
          Driver: 'bridge',
          Internal: true,
          CheckDuplicate: true,
          Options: {'com.docker.network.bridge.enable_icc': 'false'},
          Labels: {[OWNER_LABEL]: 'pach'},
        })
      } catch (e) {
        // another pach process made it first (409): use it
        if ((e as {statusCode?: number}).statusCode !== 409) throw engineError(e, `cannot create the docker network ${ENDPOINT_NETWORK}`)
      }
      gateway = await gatewayOf()
    }
    if (!gateway) throw new RunnerError(`the docker network ${ENDPOINT_NETWORK} has no gateway address; s3 jobs cannot reach their gateway`)
    return gateway
  }

  /** Remove the containers of workers that were not closed; stop long-running tasks. */
  async close(): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.close()))
    await Promise.all([...this.services].map((t) => t.stop()))
  }

  private async docker(): Promise<Dockerode> {
    this.client ??= await loadDockerode()
    return this.client
  }
}

type HijackedStream = NodeJS.ReadWriteStream & {destroy?: () => void}

/** A worker's control directory (see the header). */
interface WorkerControl {
  /** 0700 directory holding `ctlDir`; removed by close */
  ctlRoot: string
  /** world-writable, bind-mounted at CONTROL_MOUNT */
  ctlDir: string
  /** try the long-lived shell (false: an exec per datum) */
  shell: boolean
}

/** One warm container; datums go to its long-lived shell, or are execs into it (fallback). */
export class DockerWorker implements Worker {
  /** id of the current container (changes after a timeout or abort recreates it) */
  containerId: string | undefined
  /**
   * How datums run: `shell` (lines written to one `/bin/sh -s` per container) or `exec` (one
   * `docker exec` per datum: the image has no usable /bin/sh, or the runner asked for it).
   * Decided by the first start, then fixed for the worker's life.
   */
  mode: 'shell' | 'exec' | undefined
  private container: Dockerode.Container | undefined
  private shell: ShellSession | undefined
  private closed = false

  constructor(
    private readonly docker: Dockerode,
    private readonly spec: WorkerSpec,
    private readonly create: Dockerode.ContainerCreateOptions,
    private readonly ctl: WorkerControl,
    private readonly onClose: () => void,
  ) {
    if (!ctl.shell) this.mode = 'exec'
  }

  /** Create and start a fresh container, and open its shell (unless datums are execs). */
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
    if (this.mode === 'exec') return
    const shell = await this.openShell(container)
    if (shell) {
      this.shell = shell
      this.mode = 'shell'
    } else if (this.mode === undefined) {
      // no usable /bin/sh in this image (checked once per worker): fall back to an exec per datum
      this.mode = 'exec'
    } else {
      await this.discard()
      throw new RunnerError(`the shell of worker ${this.spec.name} did not start in a fresh container from ${this.spec.image}`)
    }
  }

  /** Open `/bin/sh -s` in the container and check that it answers; undefined when it does not. */
  private async openShell(container: Dockerode.Container): Promise<ShellSession | undefined> {
    let exec: Dockerode.Exec
    try {
      exec = await container.exec({Cmd: ['/bin/sh', '-s'], AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false})
    } catch (e) {
      throw engineError(e, `cannot exec in worker ${this.spec.name}`)
    }
    let stream: HijackedStream
    try {
      stream = await exec.start({hijack: true, stdin: true})
    } catch (e) {
      if (isConnectError(e)) throw unreachable(e)
      return undefined
    }
    const shell = new ShellSession(stream, this.docker.modem)
    const nonce = newNonce()
    const timer = setTimeout(() => shell.destroy(), SHELL_PROBE_MS)
    shell.write(`echo "R ${nonce}"\n`)
    const answer = await shell.control.line(`R ${nonce}`)
    clearTimeout(timer)
    if (answer === undefined) {
      shell.destroy()
      return undefined
    }
    return shell
  }

  async run(task: DatumTask): Promise<DatumRunResult> {
    const t0 = Date.now()
    if (this.closed) throw new RunnerError(`worker ${this.spec.name} is closed`)
    const refused = cannotStart(task)
    if (refused) return refused
    if (!this.container || (this.mode === 'shell' && (!this.shell || this.shell.ended))) {
      // after a timeout or an abort, or the container (or its shell) died between datums
      if (this.container) await this.discard()
      await this.start()
    }
    return this.mode === 'shell' ? this.runInShell(task, t0) : this.runExec(task, t0, true)
  }

  /** One datum as a subshell of the worker shell (see the header). */
  private async runInShell(task: DatumTask, t0: number): Promise<DatumRunResult> {
    const shell = this.shell!
    const dir = this.ctl.ctlDir
    try {
      for (const f of ['stdin', 'stdout', 'stderr']) rmSync(join(dir, f), {recursive: true, force: true})
      if (task.stdin !== undefined) writeExclusive(join(dir, 'stdin'), task.stdin)
    } catch (e) {
      throw new RunnerError(`cannot prepare the control directory of worker ${this.spec.name}: ${oneLine(e)}`, {cause: e})
    }
    const nonce = newNonce()

    // removing the container ends the shell; the next run starts a fresh one
    const deadline = armDeadline(task, () => {
      void this.discard()
        .catch(() => undefined)
        .finally(() => shell.destroy())
    })
    shell.onStderr = (c) => task.onOutput('stderr', c)
    let end: DatumEnd | undefined
    try {
      const d = CONTROL_MOUNT
      shell.write(datumScript(task.cmd, task.env, {workingDir: this.spec.workingDir, stdin: task.stdin !== undefined ? `${d}/stdin` : undefined, stdout: `${d}/stdout`, stderr: `${d}/stderr`, nonce}))
      end = await shell.control.datumEnd(nonce)
    } finally {
      deadline.disarm()
      shell.onStderr = undefined
    }
    // output written before a kill is delivered too
    readBack(join(dir, 'stdout'), (c) => task.onOutput('stdout', c))
    readBack(join(dir, 'stderr'), (c) => task.onOutput('stderr', c))

    if (deadline.killed) {
      await this.discardPromise
      return killedResult(deadline.killed, task, t0)
    }
    if (end === undefined) {
      // the shell (or its container) died under the datum: report it, start afresh next time
      const oom = await this.container
        ?.inspect()
        .then((i) => i.State?.OOMKilled === true)
        .catch(() => false)
      shell.destroy()
      await this.discard()
      const why = oom ? ' (the container ran out of memory)' : ''
      return {exitCode: -1, timedOut: false, error: `the worker shell exited unexpectedly${why}`, durationMs: Date.now() - t0}
    }
    if (end.startFailure) {
      return {exitCode: end.code, timedOut: false, error: startFailureMessage(end.startFailure, task.cmd, this.spec.workingDir, `image ${this.spec.image}`), durationMs: Date.now() - t0}
    }
    // `error` stays unset for any exit code, so accept_return_code can accept it (137 may be the memory limit)
    return {exitCode: end.code, timedOut: false, durationMs: Date.now() - t0}
  }

  /** One datum as a `docker exec` (images without /bin/sh). */
  private async runExec(task: DatumTask, t0: number, mayRestart: boolean): Promise<DatumRunResult> {
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
      return this.runExec(task, t0, false)
    }

    let stream: HijackedStream
    try {
      stream = await exec.start({hijack: true, stdin: task.stdin !== undefined})
    } catch (e) {
      return {exitCode: -1, timedOut: false, error: `could not start: ${oneLine(e)}`, durationMs: Date.now() - t0}
    }

    // ending the container ends the exec stream; `run` then reports and the next run restarts it
    const deadline = armDeadline(task, () => {
      void this.discard()
        .catch(() => undefined)
        .finally(() => stream.destroy?.())
    })

    // the runtime writes its own start error (`OCI runtime exec failed: …`) to the exec's
    // stdout: stdout is held while it could still be that line, which is not user output
    const held = new RuntimeErrorFilter((c) => task.onOutput('stdout', c))
    try {
      await new Promise<void>((resolveDone) => {
        // plain sinks (demuxStream only calls write) deliver every frame before 'end' is seen
        const out = {write: (c: Buffer) => held.write(c)} as unknown as NodeJS.WritableStream
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
      deadline.disarm()
    }

    if (deadline.killed) {
      held.flush()
      await this.discardPromise
      return killedResult(deadline.killed, task, t0)
    }
    const exitCode = await this.exitCodeOf(exec)
    const runtime = exitCode === 126 || exitCode === 127 ? held.startError() : undefined
    if (runtime !== undefined) {
      const where = `image ${this.spec.image}`
      const error = /executable file not found|no such file or directory/i.test(runtime)
        ? startFailureMessage('not-found', task.cmd, this.spec.workingDir, where, exitCode)
        : /permission denied/i.test(runtime)
          ? startFailureMessage('not-executable', task.cmd, this.spec.workingDir, where, exitCode)
          : `could not start: ${runtime} (exit ${exitCode})`
      return {exitCode, timedOut: false, error, durationMs: Date.now() - t0}
    }
    held.flush()
    // `error` stays unset for any exit code, so accept_return_code can accept it (137 may be the memory limit)
    return {exitCode, timedOut: false, durationMs: Date.now() - t0}
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.shell?.destroy()
    this.shell = undefined
    try {
      await this.discard()
    } finally {
      // files user code left behind may belong to another user; what cannot be removed stays
      try {
        rmSync(this.ctl.ctlRoot, {recursive: true, force: true})
      } catch {
        // left in the temp dir
      }
      this.onClose()
    }
  }

  private discardPromise: Promise<void> | undefined

  /** Kill and remove the current container (idempotent while in flight). */
  private discard(): Promise<void> {
    const container = this.container
    if (!container) return this.discardPromise ?? Promise.resolve()
    this.container = undefined
    this.containerId = undefined
    this.shell = undefined
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

/**
 * The worker's `/bin/sh -s` exec: scripts go to its stdin; its stdout is the control channel
 * (shell-protocol.ts); its own stderr goes to `onStderr` (the running datum's stderr).
 */
class ShellSession {
  readonly control = new ControlChannel()
  onStderr: ((chunk: Buffer) => void) | undefined

  constructor(
    private readonly stream: HijackedStream,
    modem: Dockerode['modem'],
  ) {
    const out = {write: (c: Buffer) => (this.control.push(c), true)} as unknown as NodeJS.WritableStream
    const err = {write: (c: Buffer) => (this.onStderr?.(c), true)} as unknown as NodeJS.WritableStream
    modem.demuxStream(stream, out, err)
    const end = () => this.control.end()
    stream.on('end', end)
    stream.on('close', end)
    stream.on('error', end)
  }

  get ended(): boolean {
    return this.control.ended
  }

  write(script: string): void {
    if (!this.ended) this.stream.write(script)
  }

  destroy(): void {
    this.control.end()
    this.stream.destroy?.()
  }
}

const RUNTIME_ERROR = 'OCI runtime exec failed'

/**
 * An exec's stdout, passed on unless it starts with the runtime's start error: bytes are
 * held only while they are a prefix of that line (or the line itself, up to 4 KiB), so user
 * output is delayed by at most a few bytes.
 */
class RuntimeErrorFilter {
  private held: Buffer | undefined = Buffer.alloc(0)

  constructor(private readonly emit: (chunk: Buffer) => void) {}

  write(c: Buffer): void {
    if (!this.held) return this.emit(c)
    this.held = Buffer.concat([this.held, c])
    const head = this.held.subarray(0, RUNTIME_ERROR.length).toString('latin1')
    if (!RUNTIME_ERROR.startsWith(head) || this.held.length > 4096) this.flush()
  }

  /** The runtime's message (without `OCI runtime exec failed: ` and `: unknown`), when that is all stdout holds. */
  startError(): string | undefined {
    const text = this.held?.toString('utf8').trim()
    if (!text?.startsWith(RUNTIME_ERROR) || text.includes('\n')) return undefined
    this.held = undefined
    return text
      .replace(/^OCI runtime exec failed:\s*(exec failed:\s*)?/, '')
      .replace(/^unable to start container process:\s*/, '')
      .replace(/:\s*unknown$/, '')
  }

  /** Pass on what is held; from now on everything passes. */
  flush(): void {
    const h = this.held
    this.held = undefined
    if (h?.length) this.emit(h)
  }
}

/** Create `path` (never through a link: it must not exist) readable by any container user, holding `data`. */
function writeExclusive(path: string, data: string): void {
  const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o644)
  try {
    fchmodSync(fd, 0o644)
    writeFileSync(fd, data)
  } finally {
    closeSync(fd)
  }
}

/** Hand a datum's output file to `emit` in chunks: a regular file only, never through a link, up to its current size. */
function readBack(path: string, emit: (chunk: Buffer) => void): void {
  let fd: number
  try {
    // O_NONBLOCK: a FIFO planted by user code must not block pach
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK)
  } catch {
    return // nothing written (or not something we read)
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) return
    let left = st.size
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(left, 1 << 20))
      const n = readSync(fd, buf, 0, buf.length, null)
      if (n <= 0) break
      emit(n === buf.length ? buf : buf.subarray(0, n))
      left -= n
    }
  } finally {
    closeSync(fd)
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
  return new RunnerError(`image ${image} is not in the Docker engine (removed after pach checked for it); build or pull it and run the job again`, {
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
