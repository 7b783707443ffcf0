/**
 * The local runner: user code runs as a host process (execa), for machines without Docker.
 *
 * Concept: user code addresses its data as `/pfs/<input>/…` and `/pfs/out/…`, whatever runs
 * it. Two ways to keep those paths working without a container:
 *
 * - bubblewrap (`bwrap`), when it is installed and works (probed once per runner): each
 *   datum runs in a private mount namespace whose root is a fresh tmpfs holding a bind of
 *   every top-level entry of the host `/` (symlinks recreated as symlinks), plus `/pfs`: a
 *   tmpfs holding read-only binds of the worker's input entries and a writable bind of its
 *   outDir at `/pfs/out`, then remounted read-only. `/` is remounted read-only too (the
 *   host's directories under it stay as writable as they are for any host process). Every
 *   mount point is created inside bwrap's own tmpfs, so nothing is created on the host: no
 *   `/pfs`, not even `<inputsDir>/out`. Without `network`, `--unshare-net` leaves only a
 *   loopback interface. `--die-with-parent` ties the sandbox to pach.
 *   Invocation (per datum):
 *     bwrap --dev-bind /usr /usr --symlink usr/bin /bin … (each top-level entry except /pfs)
 *           --tmpfs /pfs --ro-bind <inputsDir>/<name> /pfs/<name> … --bind <outDir> /pfs/out
 *           --remount-ro /pfs --remount-ro / [--unshare-net] --die-with-parent
 *           --chdir <cwd> -- <cmd…>
 *   (`--dev-bind / /` cannot be used: bwrap would then create `/pfs` on the host's root.)
 *
 * - without bubblewrap: "/pfs" is rewritten. Every occurrence of the path prefix `/pfs` in
 *   cmd arguments, stdin, env values and the working directory is replaced by
 *   `<workspace>/pfs`, a per-worker directory in the OS temp dir that holds symlinks
 *   `<name> -> <inputsDir>/<name>` (refreshed before each datum) and `out -> <outDir>`. A
 *   `/pfs` only counts when it starts a path (not preceded by a name character or `/`) and
 *   ends a path component. Inputs are then not read-only and the network is not isolated;
 *   describe() says so.
 *
 * Either way: env is task.env plus PATH and HOME from the host; user/cpu/memory/image are
 * not applied (no cgroups, no user switching); the process runs in its own process group,
 * which a timeout or an abort kills with SIGKILL. A non-zero exit, a timeout or a failure
 * to start resolves `run` (never rejects).
 *
 * The process group is killed on timeout, on abort, after the datum exits (so nothing it
 * backgrounded outlives it) and when pach exits normally. If pach dies from a signal it does
 * not handle, bubblewrap's --die-with-parent ends the sandbox; without bubblewrap a running
 * datum can outlive pach. Its scratch dirs in the OS temp dir (`pach-worker-<pid>-*`,
 * `pach-local-<pid>-*`) stay behind; the next local runner removes those of dead pids.
 *
 * This is a convenience for running pipelines where Docker is absent, not a security
 * boundary: user code has the invoking user's rights on the host.
 */
import {closeSync, existsSync, fstatSync, mkdtempSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {spawn, type ChildProcess} from 'node:child_process'
import {execa} from 'execa'
import {RunnerError} from '../core/errors.js'
import {pidAlive} from '../core/process.js'
import type {DatumRunResult, DatumTask, Runner, Worker, WorkerSpec} from '../core/pps/runner.js'

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
function scratchDir(kind: 'worker' | 'local' | 'bwrap-probe'): string {
  return mkdtempSync(join(tmpdir(), `pach-${kind}-${process.pid}-`))
}

/** Remove the scratch dirs of pach processes on this host that are gone (SIGKILL, a crash). */
export function removeDeadScratch(): number {
  let n = 0
  let names: string[] = []
  try {
    names = readdirSync(tmpdir())
  } catch {
    return 0
  }
  for (const name of names) {
    const m = /^pach-(?:worker|local|bwrap-probe)-(\d+)-/.exec(name)
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
      return new LocalWorker(spec, inputsDir, outDir, {kind: 'bwrap', bwrap: this.opts.bwrapPath ?? 'bwrap', netIsolation: probe.netIsolation})
    }
    if (spec.mounts?.length) {
      throw new RunnerError(`file mounts (secrets with mount_path ${spec.mounts[0]!.container}) need bubblewrap (${probe.reason ?? 'not available'}); install it or use --runner docker`)
    }
    const workspace = scratchDir('local')
    mkdirSync(join(workspace, 'pfs'))
    return new LocalWorker(spec, inputsDir, outDir, {kind: 'rewrite', workspace})
  }

  private probe(): Promise<LocalSandboxInfo> {
    if (this.probed) return Promise.resolve(this.probed)
    this.probing ??= probeBwrap(this.opts).then((p) => (this.probed = p))
    return this.probing
  }
}

/** Run `true` the way datums run (with and then without --unshare-net); any failure means no bwrap. */
async function probeBwrap(opts: LocalRunnerOptions): Promise<LocalSandboxInfo> {
  if (opts.sandbox === 'none') return {sandbox: 'none', netIsolation: false, reason: 'disabled'}
  const bwrap = opts.bwrapPath ?? 'bwrap'
  const dir = scratchDir('bwrap-probe')
  try {
    const inputs = join(dir, 'pfs')
    const out = join(dir, 'out')
    mkdirSync(join(inputs, 'in'), {recursive: true})
    mkdirSync(out)
    writeFileSync(join(inputs, 'in', 'x'), 'ok')
    let reason = ''
    for (const net of [true, false]) {
      const args = [...bwrapArgs(inputs, out, process.cwd(), net), 'sh', '-c', 'cat /pfs/in/x > /pfs/out/x && ! (echo > /pfs/in/x) 2>/dev/null']
      const r = await execa(bwrap, args, {reject: false, timeout: 10_000, stdin: 'ignore', env: hostEnv({}), extendEnv: false})
      if (r.exitCode === 0 && existsSync(join(out, 'x')) && readFileSync(join(out, 'x'), 'utf8') === 'ok') {
        return {sandbox: 'bwrap', netIsolation: net}
      }
      reason ||= (r.stderr || r.shortMessage || `exit ${r.exitCode}`).toString().split('\n')[0]!
    }
    return {sandbox: 'none', netIsolation: false, reason}
  } catch (e) {
    return {sandbox: 'none', netIsolation: false, reason: (e as Error).message.split('\n')[0]}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

/** bwrap arguments up to (not including) the command; see the header. */
export function bwrapArgs(inputsDir: string, outDir: string, cwd: string, unshareNet: boolean): string[] {
  const args: string[] = []
  for (const e of readdirSync('/', {withFileTypes: true})) {
    if (e.name === 'pfs') continue // shadowed by ours
    const p = `/${e.name}`
    if (e.isSymbolicLink()) args.push('--symlink', readlinkSync(p), p)
    else if (e.isDirectory()) args.push('--dev-bind', p, p)
    else if (e.isFile()) args.push('--ro-bind', p, p)
  }
  args.push('--tmpfs', '/pfs')
  for (const e of readdirSync(inputsDir)) {
    if (e === 'out') continue
    args.push('--ro-bind', join(inputsDir, e), `/pfs/${e}`)
  }
  args.push('--bind', outDir, '/pfs/out', '--remount-ro', '/pfs', '--remount-ro', '/')
  if (unshareNet) args.push('--unshare-net')
  args.push('--die-with-parent', '--chdir', cwd, '--')
  return args
}

/** `/pfs` as a path prefix: not preceded by a name character or `/`, ending a path component. */
const PFS_PREFIX = /(?<![\w.\-/])\/pfs(?![\w.\-])/g

/** Replace the path prefix /pfs by `<root>/pfs` (the no-bubblewrap mode). */
export function rewritePfs(s: string, root: string): string {
  return s.replace(PFS_PREFIX, () => `${root}/pfs`)
}

function hostEnv(env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = {}
  if (process.env.PATH !== undefined) base.PATH = process.env.PATH
  if (process.env.HOME !== undefined) base.HOME = process.env.HOME
  return {...base, ...env}
}

type Mode = {kind: 'bwrap'; bwrap: string; netIsolation: boolean} | {kind: 'rewrite'; workspace: string}

/** Worker process groups still running, killed if pach exits first. */
const live = new Set<number>()
let exitHook = false
function track(pid: number): void {
  live.add(pid)
  if (exitHook) return
  exitHook = true
  process.once('exit', () => {
    for (const p of live) killGroup(p)
  })
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

/** POSIX shell single-quoting. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** bwrap arguments for a long-lived worker sandbox: /pfs = inputsDir (ro), /pfs/out = outDir. */
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

export function bwrapWorkerArgs(inputsDir: string, outDir: string, cwd: string, unshareNet: boolean, mounts: {host: string; container: string}[] = []): string[] {
  const args: string[] = []
  for (const e of readdirSync('/', {withFileTypes: true})) {
    if (e.name === 'pfs') continue
    const p = `/${e.name}`
    if (e.isSymbolicLink()) args.push('--symlink', readlinkSync(p), p)
    else if (e.isDirectory()) args.push('--dev-bind', p, p)
    else if (e.isFile()) args.push('--ro-bind', p, p)
  }
  args.push('--ro-bind', inputsDir, '/pfs', '--bind', outDir, '/pfs/out')
  for (const m of mounts) args.push('--ro-bind', m.host, m.container)
  args.push('--remount-ro', '/')
  if (unshareNet) args.push('--unshare-net')
  args.push('--die-with-parent', '--chdir', cwd, '--')
  return args
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

/**
 * One long-lived shell per worker (inside one bubblewrap sandbox when available): each datum
 * is a subshell the shell forks, so a datum costs a fork+exec in the shell — not a sandbox
 * set-up and a process spawn from pach's event loop. The shell's stdout is a control channel
 * ("P <pid>", "D <exit status>"); user output goes to per-worker files that are read back
 * after the datum. A timeout or an abort kills the whole worker process group and the next
 * datum starts a fresh worker.
 */
class LocalWorker implements Worker {
  private closed = false
  private proc: ChildProcess | undefined
  private lines: string[] = []
  private partial = ''
  private waiter: (() => void) | undefined
  private exited = false
  private readonly ctl: string
  private readonly out: CaptureFile
  private readonly err: CaptureFile

  constructor(
    private readonly spec: WorkerSpec,
    private readonly inputsDir: string,
    private readonly outDir: string,
    private readonly mode: Mode,
  ) {
    this.ctl = scratchDir('worker')
    this.out = new CaptureFile(join(this.ctl, 'stdout'))
    this.err = new CaptureFile(join(this.ctl, 'stderr'))
    // the worker sandbox binds inputsDir at /pfs (read-only) and outDir over <inputsDir>/out
    if (mode.kind === 'bwrap') mkdirSync(join(inputsDir, 'out'), {recursive: true})
    if (mode.kind === 'rewrite') {
      // /pfs -> inputsDir and /pfs/out -> outDir: make <inputsDir>/out a link to outDir
      const out = join(inputsDir, 'out')
      rmSync(out, {recursive: true, force: true})
      symlinkSync(outDir, out)
      symlinkSync(inputsDir, join(this.ctl, 'pfs'))
    }
  }

  private start(): ChildProcess {
    const cwd = this.spec.workingDir ?? process.cwd()
    let file: string
    let args: string[]
    if (this.mode.kind === 'bwrap') {
      file = this.mode.bwrap
      args = [...bwrapWorkerArgs(this.inputsDir, this.outDir, cwd, !this.spec.network && this.mode.netIsolation, this.spec.mounts), '/bin/sh', '-s']
    } else {
      file = '/bin/sh'
      args = ['-s']
    }
    const proc = spawn(file, args, {
      cwd: this.mode.kind === 'bwrap' ? undefined : existsSync(rewritePfs(cwd, this.root)) ? rewritePfs(cwd, this.root) : process.cwd(),
      env: hostEnv({}),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    })
    this.exited = false
    this.lines = []
    this.partial = ''
    proc.stdout!.setEncoding('utf8')
    proc.stdout!.on('data', (c: string) => {
      const parts = (this.partial + c).split('\n')
      this.partial = parts.pop()!
      this.lines.push(...parts)
      this.waiter?.()
    })
    proc.stderr!.on('data', () => undefined)
    proc.stdin!.on('error', () => undefined)
    proc.on('exit', () => {
      this.exited = true
      if (proc.pid !== undefined) live.delete(proc.pid)
      this.waiter?.()
    })
    proc.on('error', () => {
      this.exited = true
      this.waiter?.()
    })
    if (proc.pid !== undefined) track(proc.pid)
    this.proc = proc
    return proc
  }

  /** `/pfs` is rewritten to `<root>/pfs`, a link to inputsDir (no-bubblewrap mode). */
  private get root(): string {
    return this.ctl
  }

  private async line(prefix: string): Promise<string | undefined> {
    for (;;) {
      const i = this.lines.findIndex((l) => l.startsWith(prefix))
      if (i >= 0) return this.lines.splice(0, i + 1)[i]!.slice(prefix.length)
      if (this.exited) return undefined
      await new Promise<void>((r) => (this.waiter = r))
      this.waiter = undefined
    }
  }

  private kill(): void {
    const pid = this.proc?.pid
    if (pid !== undefined) {
      killGroup(pid)
      live.delete(pid)
    }
    this.proc = undefined
  }

  async run(task: DatumTask): Promise<DatumRunResult> {
    const t0 = Date.now()
    if (this.closed) throw new RunnerError(`worker ${this.spec.name} is closed`)
    if (task.signal?.aborted) return {exitCode: -1, timedOut: false, error: 'aborted before start', durationMs: 0}
    if (task.cmd.length === 0) return {exitCode: -1, timedOut: false, error: 'could not start: empty cmd', durationMs: 0}
    const rw = this.mode.kind === 'rewrite' ? (s: string) => rewritePfs(s, this.root) : (s: string) => s
    const cmd = task.cmd.map(rw)
    const env = Object.entries(task.env).map(([k, v]) => shq(`${k}=${rw(v)}`))
    // names the shell can export are set by the subshell itself (no `env` exec per datum)
    const setEnv = Object.keys(task.env).every((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) ? `${env.length ? `export ${env.join(' ')}; ` : ''}exec` : `exec env ${env.join(' ')}`
    const stdinPath = join(this.ctl, 'stdin')
    if (task.stdin !== undefined) writeFileSync(stdinPath, rw(task.stdin))
    const cwd = this.spec.workingDir ? rw(this.spec.workingDir) : undefined
    const script =
      `(${cwd ? `cd ${shq(cwd)} || exit 126; ` : ''}${setEnv} ${cmd.map(shq).join(' ')}) ` +
      `<${task.stdin !== undefined ? shq(stdinPath) : '/dev/null'} >${shq(this.out.path)} 2>${shq(this.err.path)} &\n` +
      'echo "P $!"\nwait $!\necho "D $?"\n'
    const proc = this.proc && !this.exited ? this.proc : this.start()
    let killed: 'timeout' | 'abort' | undefined
    const stop = (why: 'timeout' | 'abort') => {
      if (killed) return
      killed = why
      this.kill()
    }
    const timer = task.timeoutMs !== undefined && task.timeoutMs > 0 ? setTimeout(() => stop('timeout'), task.timeoutMs) : undefined
    const onAbort = () => stop('abort')
    task.signal?.addEventListener('abort', onAbort, {once: true})
    let status: string | undefined
    try {
      proc.stdin!.write(script)
      status = await this.line('D ')
    } finally {
      if (timer) clearTimeout(timer)
      task.signal?.removeEventListener('abort', onAbort)
    }
    for (const [stream, f] of [['stdout', this.out], ['stderr', this.err]] as const) {
      const b = f.take()
      if (b.length) task.onOutput(stream, b)
    }
    const durationMs = Date.now() - t0
    if (killed) {
      return {exitCode: -1, timedOut: killed === 'timeout', error: killed === 'timeout' ? `timed out after ${task.timeoutMs} ms; killed` : 'aborted; killed', durationMs}
    }
    if (status === undefined) {
      this.kill()
      return {exitCode: -1, timedOut: false, error: 'the worker shell exited unexpectedly', durationMs}
    }
    return {exitCode: Number(status.trim()), timedOut: false, durationMs}
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.proc?.stdin?.end()
    this.kill()
    this.out.close()
    this.err.close()
    rmSync(this.ctl, {recursive: true, force: true})
    if (this.mode.kind === 'rewrite') rmSync(this.mode.workspace, {recursive: true, force: true})
  }
}
