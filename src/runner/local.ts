/**
 * The local runner: user code runs as host processes (node:child_process), for machines
 * without Docker.
 *
 * Concept: user code addresses its data as `/pfs/<input>/…` and `/pfs/out/…`, whatever runs
 * it. Each worker spawns ONE long-lived `/bin/sh -s` and runs each datum as one line written
 * to it, in the worker shell protocol the Docker runner speaks too (shell-protocol.ts): a
 * subshell with its stdin, stdout and stderr redirected to files in the worker's scratch
 * dir, then `echo "D <nonce> $?"` on the shell's stdout, the control channel. A datum thus
 * costs a fork and an exec in the shell, not a sandbox set-up and a spawn from pach's event
 * loop. Output is read back from the files when the datum ends (not streamed). Two ways to
 * keep the /pfs paths working without a container, chosen once per runner by a probe:
 *
 * - bubblewrap (`bwrap`), when it is installed and works: the worker's shell runs inside ONE
 *   sandbox per worker (started with the worker, and again after a timeout or an abort),
 *   laid out by `bwrapWorkerArgs`: the root is bwrap's own tmpfs holding a bind of every
 *   top-level entry of the host `/` (symlinks recreated as symlinks), the worker's inputsDir
 *   bound read-only at `/pfs`, its outDir bound writable at `/pfs/out`, secret mounts bound
 *   read-only, and `/` remounted read-only (the host's directories under it stay as writable
 *   as they are for any host process). Without `network`, `--unshare-net` leaves only a
 *   loopback interface. `--die-with-parent` ties the sandbox to pach:
 *     bwrap --dev-bind /usr /usr --symlink usr/bin /bin … (each top-level entry except /pfs)
 *           --ro-bind <inputsDir> /pfs --bind <outDir> /pfs/out [--ro-bind <secret> <target>]…
 *           --remount-ro / [--unshare-net] --die-with-parent --chdir <cwd> -- /bin/sh -s
 *   (`--dev-bind / /` cannot be used: bwrap would then create `/pfs` on the host's root.)
 *   The probe (once per runner) runs a command that reads an input, writes an output and
 *   must fail to write the input, in the same `bwrapWorkerArgs` layout: with `--unshare-net`
 *   and, if that fails, without it (then the network is not isolated; describe() says so).
 *   A worker with an `endpoint` (an s3 job's gateway) reaches that one server through a
 *   relay from the sandbox's loopback and a hosts file (local-endpoint.ts).
 *
 * - without bubblewrap: "/pfs" is rewritten. Every occurrence of the path prefix `/pfs` in
 *   cmd arguments, stdin, env values and the working directory is replaced by
 *   `<scratch>/pfs`, a symlink to inputsDir in the worker's scratch dir, and
 *   `<inputsDir>/out` is a symlink to outDir. A `/pfs` only counts when it starts a path (not
 *   preceded by a name character or `/`) and ends a path component. Inputs are then not
 *   read-only, the network is not isolated and secret mounts are refused; describe() says so.
 *
 * What is created on the host: inputsDir and outDir (when missing); `<inputsDir>/out` (the
 * `/pfs/out` mount point with bubblewrap, a symlink to outDir without); one scratch dir per
 * worker in the OS temp dir, `pach-worker-<pid>-*` (the datum's stdin, stdout and stderr
 * files, and the `pfs` link when rewriting), removed by close; and, while the probe runs,
 * `pach-bwrap-probe-<pid>-*`. Secret mount targets are never created on the host
 * (checkMountTarget refuses those bwrap would have to create inside a bound host directory).
 *
 * Either way: the datum's env is task.env plus PATH and HOME from the host;
 * user/cpu/memory/image are not applied (no cgroups, no user switching). The worker shell
 * runs in its own process group, which a timeout or an abort kills with SIGKILL (the next
 * datum starts a fresh shell), as do close() and pach's normal exit: a process a datum left
 * in the background lives until then. A non-zero exit, a timeout or a failure to start
 * resolves `run` (never rejects).
 *
 * If pach dies from a signal it does not handle, bubblewrap's --die-with-parent ends the
 * sandbox; without bubblewrap the worker shell reads end-of-file and exits after its current
 * datum. The scratch dirs stay behind; the next local runner removes those of dead pids.
 *
 * This is a convenience for running pipelines where Docker is absent, not a security
 * boundary: user code has the invoking user's rights on the host.
 */
import {closeSync, existsSync, fstatSync, mkdtempSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {spawn, type ChildProcess} from 'node:child_process'
import {RunnerError} from '../core/errors.js'
import {pidAlive} from '../core/process.js'
import type {AttachSpec, DatumRunResult, DatumTask, Runner, ServiceExit, ServiceRoute, ServiceSpec, ServiceTask, Worker, WorkerSpec} from '../core/pps/runner.js'
import {LocalEndpoint} from './local-endpoint.js'
import {startLocalService} from './local-service.js'
import {armDeadline, cannotStart, killedResult} from './datum-outcome.js'
import {ControlChannel, datumScript, newNonce, startFailureMessage, type DatumEnd} from './shell-protocol.js'

export type LocalSandbox = 'bwrap' | 'none'

export interface LocalRunnerOptions {
  /** 'auto' (default): bubblewrap when it works, else path rewriting; 'bwrap': require it; 'none': always rewrite */
  sandbox?: 'auto' | LocalSandbox
  /** bwrap executable (default: `bwrap` on PATH) */
  bwrapPath?: string
}

/** What the bubblewrap probe found. */
export interface LocalSandboxInfo {
  sandbox: LocalSandbox
  /** --unshare-net works (so `network: false` is enforced) */
  netIsolation: boolean
  /** why bubblewrap is not used, when it is not */
  reason?: string
}

/** Create a local runner and probe bubblewrap once; removes scratch dirs killed pach processes left. */
export async function createLocalRunner(opts: LocalRunnerOptions = {}): Promise<LocalRunner> {
  removeDeadScratch()
  return new LocalRunner(opts).ready()
}

/**
 * A scratch directory in the OS temp dir, named after this process
 * (`pach-<kind>-<pid>-XXXXXX`) so that the next runner can remove it if pach is killed.
 */
export function scratchDir(kind: 'worker' | 'bwrap-probe' | 'service'): string {
  return mkdtempSync(join(tmpdir(), `pach-${kind}-${process.pid}-`))
}

/**
 * Remove the scratch dirs of pach processes on this host that are gone (SIGKILL, a crash),
 * and the `pach-local-<pid>-*` dirs earlier versions made.
 */
export function removeDeadScratch(): number {
  let n = 0
  let names: string[] = []
  try {
    names = readdirSync(tmpdir())
  } catch {
    return 0
  }
  for (const name of names) {
    const m = /^pach-(?:worker|local|bwrap-probe|service)-(\d+)-/.exec(name)
    if (!m || pidAlive(Number(m[1]))) continue
    try {
      rmSync(join(tmpdir(), name), {recursive: true, force: true})
      n++
    } catch {
      // not ours to remove (another user's): it stays
    }
  }
  return n
}

export class LocalRunner implements Runner {
  readonly kind = 'local' as const
  private readonly opts: LocalRunnerOptions
  private probed: LocalSandboxInfo | undefined
  private probing: Promise<LocalSandboxInfo> | undefined
  private readonly services = new Set<ServiceTask>()

  constructor(opts: LocalRunnerOptions = {}) {
    this.opts = opts
  }

  /** Probe bubblewrap (once); describe() is exact after this. */
  async ready(): Promise<this> {
    await this.probe()
    return this
  }

  describe(): string {
    const p = this.probed
    if (!p) return this.opts.sandbox === 'none' ? 'local (no bubblewrap: /pfs paths rewritten)' : 'local'
    if (p.sandbox === 'bwrap') return p.netIsolation ? 'local (bubblewrap)' : 'local (bubblewrap, network not isolated)'
    return 'local (no bubblewrap: /pfs paths rewritten)'
  }

  /** How datums are isolated (after ready()). */
  get sandbox(): LocalSandboxInfo | undefined {
    return this.probed
  }

  /** Long-running code (spouts, services): local-service.ts; always with the host's network. */
  async startService(spec: ServiceSpec): Promise<ServiceTask> {
    const probe = await this.probe()
    if (this.opts.sandbox === 'bwrap' && probe.sandbox !== 'bwrap') {
      throw new RunnerError(`bubblewrap is required but does not work here (${probe.reason ?? 'unknown'})`)
    }
    const task = await startLocalService(spec, probe.sandbox === 'bwrap' ? {kind: 'bwrap', bwrap: this.opts.bwrapPath ?? 'bwrap'} : {kind: 'rewrite'})
    this.services.add(task)
    void task.done.then(() => this.services.delete(task))
    return task
  }

  /** One command in a datum's sandbox attached to a terminal (local-attach.ts). */
  async runAttached(spec: AttachSpec): Promise<ServiceExit> {
    const probe = await this.probe()
    if (this.opts.sandbox === 'bwrap' && probe.sandbox !== 'bwrap') {
      throw new RunnerError(`bubblewrap is required but does not work here (${probe.reason ?? 'unknown'})`)
    }
    if (probe.sandbox === 'bwrap') for (const m of spec.mounts ?? []) checkMountTarget(m.container)
    const {runLocalAttached} = await import('./local-attach.js')
    return runLocalAttached(spec, probe.sandbox === 'bwrap' ? {kind: 'bwrap', bwrap: this.opts.bwrapPath ?? 'bwrap', netIsolation: probe.netIsolation} : {kind: 'rewrite'})
  }

  /** Stop the long-running tasks still running. */
  async close(): Promise<void> {
    await Promise.all([...this.services].map((t) => t.stop()))
  }

  /** Local code shares the host's network: the server's loopback address is reachable. */
  async serviceRoute(): Promise<ServiceRoute> {
    return {host: 'localhost'}
  }

  /** A worker's endpoint listens on loopback; an isolated sandbox reaches it through a relay (local-endpoint.ts). */
  async workerRoute(): Promise<ServiceRoute> {
    return {host: '127.0.0.1', listen: '127.0.0.1'}
  }

  async startWorker(spec: WorkerSpec): Promise<Worker> {
    const probe = await this.probe()
    if (this.opts.sandbox === 'bwrap' && probe.sandbox !== 'bwrap') {
      throw new RunnerError(`bubblewrap is required but does not work here (${probe.reason ?? 'unknown'})`)
    }
    const inputsDir = resolve(spec.inputsDir)
    const outDir = resolve(spec.outDir)
    mkdirSync(inputsDir, {recursive: true})
    mkdirSync(outDir, {recursive: true})
    if (probe.sandbox === 'bwrap') {
      for (const m of spec.mounts ?? []) checkMountTarget(m.container)
      return new LocalWorker(spec, inputsDir, outDir, {kind: 'bwrap', bwrap: this.opts.bwrapPath ?? 'bwrap', netIsolation: probe.netIsolation}).ready()
    }
    if (spec.mounts?.length) {
      throw new RunnerError(`file mounts (secrets with mount_path ${spec.mounts[0]!.container}) need bubblewrap (${probe.reason ?? 'not available'}); install it or use --runner docker`)
    }
    return new LocalWorker(spec, inputsDir, outDir, {kind: 'rewrite'}).ready()
  }

  private probe(): Promise<LocalSandboxInfo> {
    if (this.probed) return Promise.resolve(this.probed)
    this.probing ??= probeBwrap(this.opts).then((p) => (this.probed = p))
    return this.probing
  }
}

/**
 * Run one datum in the sandbox layout workers use (`bwrapWorkerArgs`), with `--unshare-net`
 * and then without it: it must read its input, write its output and fail to write its
 * input. Any failure means no bubblewrap.
 */
async function probeBwrap(opts: LocalRunnerOptions): Promise<LocalSandboxInfo> {
  if (opts.sandbox === 'none') return {sandbox: 'none', netIsolation: false, reason: 'disabled'}
  const bwrap = opts.bwrapPath ?? 'bwrap'
  const dir = scratchDir('bwrap-probe')
  try {
    const inputs = join(dir, 'pfs')
    const out = join(dir, 'out')
    mkdirSync(join(inputs, 'in'), {recursive: true})
    mkdirSync(join(inputs, 'out'))
    mkdirSync(out)
    writeFileSync(join(inputs, 'in', 'x'), 'ok')
    let reason = ''
    for (const net of [true, false]) {
      rmSync(join(out, 'x'), {force: true})
      const args = [...bwrapWorkerArgs(inputs, out, process.cwd(), net), '/bin/sh', '-c', 'cat /pfs/in/x > /pfs/out/x && ! (echo > /pfs/in/x) 2>/dev/null']
      const r = await runOnce(bwrap, args, 10_000)
      if (r.ok && existsSync(join(out, 'x')) && readFileSync(join(out, 'x'), 'utf8') === 'ok') {
        return {sandbox: 'bwrap', netIsolation: net}
      }
      reason ||= r.why
    }
    return {sandbox: 'none', netIsolation: false, reason}
  } catch (e) {
    return {sandbox: 'none', netIsolation: false, reason: (e as Error).message.split('\n')[0]}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

/** Run a command to its end (killed after `timeoutMs`): did it exit 0, and if not, why (one line). */
function runOnce(file: string, args: string[], timeoutMs: number): Promise<{ok: boolean; why: string}> {
  return new Promise((done) => {
    let stderr = ''
    const proc = spawn(file, args, {stdio: ['ignore', 'ignore', 'pipe'], env: hostEnv(), timeout: timeoutMs, killSignal: 'SIGKILL'})
    proc.stderr!.setEncoding('utf8')
    proc.stderr!.on('data', (c: string) => {
      if (stderr.length < 4096) stderr += c
    })
    proc.on('error', (e) => done({ok: false, why: e.message.split('\n')[0]!}))
    proc.on('close', (code, signal) => done({ok: code === 0, why: stderr.split('\n')[0] || (signal ? `killed by ${signal}` : `exit ${code}`)}))
  })
}

/**
 * bwrap arguments, up to and including `--`, for a worker's sandbox (see the header):
 * inputsDir read-only at /pfs, outDir at /pfs/out (its mount point `<inputsDir>/out` must
 * exist), `mounts` read-only, the rest of the host `/` read-only.
 */
export function bwrapWorkerArgs(inputsDir: string, outDir: string, cwd: string, unshareNet: boolean, mounts: {host: string; container: string}[] = [], extra: string[] = []): string[] {
  const args: string[] = []
  for (const e of readdirSync('/', {withFileTypes: true})) {
    if (e.name === 'pfs') continue // shadowed by ours
    const p = `/${e.name}`
    if (e.isSymbolicLink()) args.push('--symlink', readlinkSync(p), p)
    else if (e.isDirectory()) args.push('--dev-bind', p, p)
    else if (e.isFile()) args.push('--ro-bind', p, p)
  }
  args.push('--ro-bind', inputsDir, '/pfs', '--bind', outDir, '/pfs/out')
  for (const m of mounts) args.push('--ro-bind', m.host, m.container)
  args.push(...extra)
  args.push('--remount-ro', '/')
  if (unshareNet) args.push('--unshare-net')
  args.push('--die-with-parent', '--chdir', cwd, '--')
  return args
}

/**
 * A read-only mount target the sandbox can provide without touching the host: bubblewrap
 * creates missing mount points, which is harmless in its own root (a tmpfs) but would create
 * directories on the host inside a host directory bound into the sandbox.
 */
function checkMountTarget(target: string): void {
  if (!target.startsWith('/') || target.split('/').includes('..') || target === '/') {
    throw new RunnerError(`mount target ${JSON.stringify(target)} must be an absolute path`)
  }
  if (target === '/pfs' || target.startsWith('/pfs/')) throw new RunnerError(`mount target ${target} is inside /pfs`)
  const top = `/${target.split('/')[1]}`
  if (existsSync(top) && !existsSync(target)) {
    throw new RunnerError(`mount target ${target} does not exist on this host and the local runner will not create it inside ${top}; use a path under a new top-level directory (e.g. /secrets/...) or --runner docker`)
  }
}

/** `/pfs` as a path prefix: not preceded by a name character or `/`, ending a path component. */
const PFS_PREFIX = /(?<![\w.\-/])\/pfs(?![\w.\-])/g

/** Replace the path prefix /pfs by `<root>/pfs` (the no-bubblewrap mode). */
export function rewritePfs(s: string, root: string): string {
  return s.replace(PFS_PREFIX, () => `${root}/pfs`)
}

/** The worker shell's environment: PATH and HOME from the host, nothing else. */
export function hostEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  if (process.env.PATH !== undefined) env.PATH = process.env.PATH
  if (process.env.HOME !== undefined) env.HOME = process.env.HOME
  return env
}

type Mode = {kind: 'bwrap'; bwrap: string; netIsolation: boolean} | {kind: 'rewrite'}

/** Worker process groups still running, killed if pach exits first. */
const live = new Set<number>()
let exitHook = false
/** Kill this process group (SIGKILL) if pach exits while it runs. */
export function track(pid: number): void {
  live.add(pid)
  if (exitHook) return
  exitHook = true
  process.once('exit', () => {
    for (const p of live) killGroup(p)
  })
}

/** A process group ended (or was killed): no longer killed at exit. */
export function untrack(pid: number): void {
  live.delete(pid)
}

export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

/**
 * A file the worker shell redirects a datum's stdout or stderr into (`>path` truncates the
 * same inode), kept open by pach: after a datum one fstat tells whether there is anything to
 * read, instead of an open, fstat, read and close per stream per datum.
 */
class CaptureFile {
  private fd: number

  constructor(readonly path: string) {
    writeFileSync(path, '')
    this.fd = openSync(path, 'r')
  }

  /** Everything the last datum wrote. */
  take(): Buffer {
    const size = fstatSync(this.fd).size
    const buf = Buffer.allocUnsafe(size)
    let got = 0
    while (got < size) {
      const n = readSync(this.fd, buf, got, size - got, got)
      if (n === 0) break
      got += n
    }
    return buf.subarray(0, got)
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
  }
}


/** The worker shell: one `/bin/sh -s` (inside the worker's sandbox with bubblewrap) and its control channel. */
interface WorkerShell {
  proc: ChildProcess
  control: ControlChannel
}

/**
 * One worker: a long-lived shell that runs datums as subshells (see the header). A timeout
 * or an abort kills the shell's whole process group; the next datum starts a fresh shell.
 */
class LocalWorker implements Worker {
  private closed = false
  private shell: WorkerShell | undefined
  /** the worker's scratch dir: the datum's stdin, stdout and stderr; `pfs` → inputsDir when rewriting */
  private readonly scratch: string
  private readonly stdinPath: string
  private readonly out: CaptureFile
  private readonly err: CaptureFile
  /** the spec's endpoint (an s3 job's gateway), reached as local-endpoint.ts says */
  private readonly endpoint: LocalEndpoint | undefined

  constructor(
    private readonly spec: WorkerSpec,
    private readonly inputsDir: string,
    private readonly outDir: string,
    private readonly mode: Mode,
  ) {
    this.scratch = scratchDir('worker')
    this.stdinPath = join(this.scratch, 'stdin')
    this.out = new CaptureFile(join(this.scratch, 'stdout'))
    this.err = new CaptureFile(join(this.scratch, 'stderr'))
    if (spec.endpoint) this.endpoint = new LocalEndpoint(spec.endpoint, this.scratch, mode.kind === 'bwrap' && mode.netIsolation && !spec.network)
    // the worker sandbox binds inputsDir at /pfs (read-only) and outDir over <inputsDir>/out
    if (mode.kind === 'bwrap') mkdirSync(join(inputsDir, 'out'), {recursive: true})
    if (mode.kind === 'rewrite') {
      // /pfs -> inputsDir and /pfs/out -> outDir: make <inputsDir>/out a link to outDir
      const out = join(inputsDir, 'out')
      rmSync(out, {recursive: true, force: true})
      symlinkSync(outDir, out)
      symlinkSync(inputsDir, join(this.scratch, 'pfs'))
    }
  }

  /** Start what the worker needs before its first datum (the endpoint's relay); RunnerError when it cannot work here. */
  async ready(): Promise<this> {
    if (this.endpoint?.named && this.mode.kind === 'rewrite') {
      await this.close()
      throw new RunnerError(`the S3 endpoint ${this.endpoint.endpoint.host} is a name that code running on the host cannot resolve without bubblewrap; install bubblewrap or use --runner docker`)
    }
    try {
      await this.endpoint?.start()
    } catch (e) {
      await this.close()
      throw new RunnerError(`cannot relay the S3 endpoint into the sandbox: ${(e as Error).message}`)
    }
    return this
  }

  private start(): WorkerShell {
    const cwd = this.spec.workingDir ?? process.cwd()
    let file: string
    let args: string[]
    if (this.mode.kind === 'bwrap') {
      file = this.mode.bwrap
      // each datum `cd`s to workingDir itself (and reports a missing one): the shell starts in `/`,
      // as bwrap cannot start anywhere that does not exist
      const start = this.spec.workingDir ? '/' : cwd
      const unshare = !this.spec.network && this.mode.netIsolation
      args = [...bwrapWorkerArgs(this.inputsDir, this.outDir, start, unshare, this.spec.mounts, this.endpoint?.bwrapArgs()), ...(this.endpoint?.command() ?? ['/bin/sh', '-s'])]
    } else {
      file = '/bin/sh'
      args = ['-s']
    }
    const proc = spawn(file, args, {
      cwd: this.mode.kind === 'bwrap' ? undefined : existsSync(rewritePfs(cwd, this.scratch)) ? rewritePfs(cwd, this.scratch) : process.cwd(),
      env: hostEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    })
    const control = new ControlChannel()
    proc.stdout!.on('data', (c: Buffer) => control.push(c))
    proc.stderr!.on('data', () => undefined)
    proc.stdin!.on('error', () => undefined)
    proc.on('exit', () => {
      control.end()
      if (proc.pid !== undefined) live.delete(proc.pid)
    })
    proc.on('error', () => control.end())
    if (proc.pid !== undefined) track(proc.pid)
    this.shell = {proc, control}
    return this.shell
  }

  private kill(): void {
    const pid = this.shell?.proc.pid
    if (pid !== undefined) {
      killGroup(pid)
      live.delete(pid)
    }
    this.shell = undefined
  }

  async run(task: DatumTask): Promise<DatumRunResult> {
    const t0 = Date.now()
    if (this.closed) throw new RunnerError(`worker ${this.spec.name} is closed`)
    const refused = cannotStart(task)
    if (refused) return refused
    const rw = this.mode.kind === 'rewrite' ? (s: string) => rewritePfs(s, this.scratch) : (s: string) => s
    if (task.stdin !== undefined) writeFileSync(this.stdinPath, rw(task.stdin))
    const nonce = newNonce()
    const script = datumScript(task.cmd.map(rw), Object.fromEntries(Object.entries(task.env).map(([k, v]) => [k, rw(v)])), {
      workingDir: this.spec.workingDir ? rw(this.spec.workingDir) : undefined,
      stdin: task.stdin !== undefined ? this.stdinPath : undefined,
      stdout: this.out.path,
      stderr: this.err.path,
      nonce,
    })
    const shell = this.shell && !this.shell.control.ended ? this.shell : this.start()
    const deadline = armDeadline(task, () => this.kill())
    let end: DatumEnd | undefined
    try {
      shell.proc.stdin!.write(script)
      end = await shell.control.datumEnd(nonce)
    } finally {
      deadline.disarm()
    }
    for (const [stream, f] of [['stdout', this.out], ['stderr', this.err]] as const) {
      const b = f.take()
      if (b.length) task.onOutput(stream, b)
    }
    if (deadline.killed) return killedResult(deadline.killed, task, t0)
    if (end === undefined) {
      this.kill()
      return {exitCode: -1, timedOut: false, error: 'the worker shell exited unexpectedly', durationMs: Date.now() - t0}
    }
    if (end.startFailure) {
      return {exitCode: end.code, timedOut: false, error: startFailureMessage(end.startFailure, task.cmd, this.spec.workingDir), durationMs: Date.now() - t0}
    }
    return {exitCode: end.code, timedOut: false, durationMs: Date.now() - t0}
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.shell?.proc.stdin?.end()
    this.kill()
    this.out.close()
    this.err.close()
    this.endpoint?.close()
    rmSync(this.scratch, {recursive: true, force: true})
  }
}
