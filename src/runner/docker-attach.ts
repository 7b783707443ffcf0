/**
 * Attached runs on the Docker runner (`Runner.runAttached`, for `pach debug datum`): one
 * command in a worker's container, wired to the user's terminal — what `docker run -it`
 * does, through the Engine API (dockerode) rather than the docker CLI: the container is made
 * by the one container policy workers use (container-policy.ts `containerOptions`, the same
 * mounts, network, capabilities, limits, user and working directory), which a second
 * translation into CLI flags would have to repeat, and the engine is reached as for jobs
 * (DOCKER_HOST or the socket) whether or not a docker CLI is installed.
 *
 * Steps: create and start a worker container (it only sleeps, as a worker's does), exec the
 * command in it as a datum's exec runs (the container's user and working directory, the
 * spec's env), wait for the exec's end, read its exit code, remove the container (always).
 * A rerun (shell: false): stdin is the spec's text then end-of-file (else none), no TTY,
 * stdout and stderr demultiplexed to the terminal as they come. The signal removes the
 * container (a shell on a TTY gets Ctrl-C as a byte, so only a signal sent to pach does that). A shell: the terminal's stdin is forwarded (end-of-file half-closes the exec's
 * stdin, so `echo cmds | pach debug datum … --shell` works); when stdin and stdout are both
 * TTYs the exec gets a TTY, stdin is put in raw mode (Ctrl-C is a byte for the shell, not a
 * signal for pach), and the TTY is resized with the terminal.
 */
import {mkdirSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {resolve} from 'node:path'
import type Dockerode from 'dockerode'
import {RunnerError} from '../core/errors.js'
import type {AttachSpec, ServiceExit} from '../core/pps/runner.js'
import {containerOptions} from './container-policy.js'

type Hijacked = NodeJS.ReadWriteStream & {destroy?: () => void}

export async function runDockerAttached(docker: Dockerode, spec: AttachSpec, socketPath: string): Promise<ServiceExit> {
  if (spec.cmd.length === 0) throw new RunnerError(`${spec.name}: transform.cmd is empty`)
  const create = containerOptions({...spec}, socketPath)
  // the nested /pfs/out mount point must exist inside the read-only /pfs
  mkdirSync(resolve(spec.inputsDir, 'out'), {recursive: true})
  mkdirSync(spec.outDir, {recursive: true})
  const name = `pach-debug-${spec.name.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 80)}-${randomBytes(4).toString('hex')}`
  let container: Dockerode.Container
  try {
    container = await docker.createContainer({...create, name})
    await container.start()
  } catch (e) {
    await docker.getContainer(name).remove({force: true}).catch(() => undefined)
    throw new RunnerError(`cannot start a container from ${spec.image}: ${oneLine(e)}`, {cause: e})
  }
  const t = spec.terminal
  const tty = spec.shell && Boolean(t.stdin.isTTY) && Boolean(t.stdout.isTTY)
  const withStdin = spec.shell || spec.stdin !== undefined
  const env = {...spec.env}
  if (tty) env.TERM = process.env.TERM || 'xterm'
  const cleanups: (() => void)[] = []
  const remove = () => container.remove({force: true}).then(() => undefined, () => undefined)
  try {
    let exec: Dockerode.Exec
    let stream: Hijacked
    try {
      exec = await container.exec({Cmd: spec.cmd, Env: Object.entries(env).map(([k, v]) => `${k}=${v}`), AttachStdin: withStdin, AttachStdout: true, AttachStderr: true, Tty: tty})
      stream = await exec.start({hijack: true, stdin: withStdin, Tty: tty})
    } catch (e) {
      throw new RunnerError(`cannot run ${spec.cmd[0]} in a container from ${spec.image}: ${oneLine(e)}`, {cause: e})
    }
    const ended = new Promise<void>((res) => {
      stream.on('end', res)
      stream.on('close', res)
      stream.on('error', res)
    })
    if (tty) stream.on('data', (c: Buffer) => t.stdout.write(c))
    else {
      const out = {write: (c: Buffer) => t.stdout.write(c)} as unknown as NodeJS.WritableStream
      const err = {write: (c: Buffer) => t.stderr.write(c)} as unknown as NodeJS.WritableStream
      docker.modem.demuxStream(stream, out, err)
    }
    if (spec.shell) {
      if (tty) {
        t.stdin.setRawMode?.(true)
        cleanups.push(() => t.stdin.setRawMode?.(false))
        const resize = () => void exec.resize({h: t.stdout.rows ?? 24, w: t.stdout.columns ?? 80}).catch(() => undefined)
        t.stdout.on('resize', resize)
        cleanups.push(() => t.stdout.off('resize', resize))
        resize()
      }
      const onData = (c: Buffer) => stream.write(c)
      let closed = false
      const onEnd = () => {
        if (!closed) stream.end()
        closed = true
      }
      t.stdin.on('data', onData)
      t.stdin.on('end', onEnd)
      t.stdin.on('close', onEnd)
      // stdin that has already ended (/dev/null, a consumed pipe) says so by no event
      if ((t.stdin as {readableEnded?: boolean}).readableEnded) onEnd()
      else t.stdin.resume()
      cleanups.push(() => {
        t.stdin.off('data', onData)
        t.stdin.off('end', onEnd)
        t.stdin.off('close', onEnd)
        t.stdin.pause()
      })
    } else if (spec.stdin !== undefined) {
      stream.write(spec.stdin)
      stream.end()
    }
    const abort = () => void remove().finally(() => stream.destroy?.())
    spec.signal?.addEventListener('abort', abort, {once: true})
    cleanups.push(() => spec.signal?.removeEventListener('abort', abort))
    await ended
    if (spec.signal?.aborted) return {exitCode: -1, error: 'interrupted'}
    return {exitCode: await exitCodeOf(exec)}
  } finally {
    for (const c of cleanups.reverse()) c()
    await remove()
  }
}

/** The exec's exit code; inspect can briefly report Running just after the stream ends. */
async function exitCodeOf(exec: Dockerode.Exec): Promise<number> {
  for (let i = 0; ; i++) {
    const info = await exec.inspect().catch((e: unknown) => {
      throw new RunnerError(`cannot inspect an exec: ${oneLine(e)}`, {cause: e})
    })
    if (!info.Running && info.ExitCode !== null) return info.ExitCode
    if (i > 200) return -1
    await new Promise((r) => setTimeout(r, i < 10 ? 2 : 20))
  }
}

function oneLine(e: unknown): string {
  const err = e as {json?: {message?: string}; message?: string}
  const msg = err?.json?.message ?? err?.message ?? String(e)
  return msg.replace(/^\(HTTP code \d+\)\s*/, '').replace(/\s+/g, ' ').trim()
}
