/**
 * The worker shell protocol, shared by the Docker and the local runner.
 *
 * Concept: a worker keeps ONE long-lived `/bin/sh -s` (in its container, or in its
 * bubblewrap sandbox) and writes one line to its stdin per datum:
 *
 *   (cd '<workingDir>' 2>/dev/null || { echo "S <nonce> workdir" >&3; exit 126; }; \
 *    export K='V'…; command -v 'cmd' >/dev/null 2>&1 || { echo "S <nonce> not-found" >&3; exit 127; }; \
 *    exec 'cmd' 'arg'… 3>&-) 3>&1 <'<stdin file>'|/dev/null >'<stdout file>' 2>'<stderr file>'; echo "D <nonce> $?"
 *
 * The datum is the subshell: its exit status is the datum's exit code, and a datum costs a
 * fork and an exec in the shell instead of a process (or container exec) set up by pach.
 * The shell's stdout is the control channel: the datum's own output goes to files, and
 * `ControlChannel.datumEnd(nonce)` waits for the status. The nonce is fresh per datum, so a
 * stale line, or one that user code manages to write to the shell's stdout (through /proc,
 * say), cannot end a datum with a forged status.
 *
 * The datum's stderr file holds only what user code printed: the shell's own words when the
 * datum cannot start (`/bin/sh: exec: line 1: x: not found`, `can't cd to …`) would land
 * there, so the subshell checks first — the working directory can be entered, the command
 * exists (`command -v`, or for a path: it exists, is a regular file and executable) — and
 * when a check fails it reports `S <nonce> <why>` on the control channel (fd 3, closed
 * before user code runs) and exits 126/127 as a shell would. The runner turns that into the
 * datum's start error (startFailure). An exec that still fails (an unreadable interpreter)
 * leaves the shell's message, as before.
 *
 * Quoting: every argument, value and path is single-quoted (`'\''` for a quote), so argv and
 * env values reach the program byte for byte. Env names that are not shell identifiers go
 * through `exec env 'K=V'… cmd…` (the others are still exported, so the check sees PATH).
 */
import {randomBytes} from 'node:crypto'

/** POSIX shell single-quoting. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** A fresh nonce for one control line. */
export function newNonce(): string {
  return randomBytes(8).toString('hex')
}

export interface DatumScriptOptions {
  /** `cd` here first (exit 126 when it cannot) */
  workingDir?: string
  /** file to read stdin from; /dev/null when absent */
  stdin?: string
  /** files the datum's stdout and stderr are written to (truncated) */
  stdout: string
  stderr: string
  nonce: string
}

/** Why a datum could not start, as the subshell reports it on the control channel. */
export type StartFailure = 'workdir' | 'not-found' | 'not-executable'

const START_FAILURES: Record<string, StartFailure> = {workdir: 'workdir', 'not-found': 'not-found', 'not-exec': 'not-executable'}

/** The line the worker shell runs for one datum (see the header). */
export function datumScript(cmd: string[], env: Record<string, string>, opts: DatumScriptOptions): string {
  const entries = Object.entries(env)
  const fail = (why: string, code: number) => `{ echo "S ${opts.nonce} ${why}" >&3; exit ${code}; }`
  let body = opts.workingDir ? `cd ${shq(opts.workingDir)} 2>/dev/null || ${fail('workdir', 126)}; ` : ''
  body += entries
    .filter(([k]) => SHELL_NAME.test(k))
    .map(([k, v]) => `export ${k}=${shq(v)}; `)
    .join('')
  const prog = cmd[0] ?? ''
  if (prog.includes('/')) body += `[ -e ${shq(prog)} ] || ${fail('not-found', 127)}; [ -f ${shq(prog)} ] && [ -x ${shq(prog)} ] || ${fail('not-exec', 126)}; `
  else body += `command -v ${shq(prog)} >/dev/null 2>&1 || ${fail('not-found', 127)}; `
  const odd = entries.filter(([k]) => !SHELL_NAME.test(k))
  const argv = cmd.map(shq).join(' ')
  body += odd.length ? `exec env ${odd.map(([k, v]) => shq(`${k}=${v}`)).join(' ')} ${argv} 3>&-` : `exec ${argv} 3>&-`
  const stdin = opts.stdin !== undefined ? shq(opts.stdin) : '/dev/null'
  return `(${body}) 3>&1 <${stdin} >${shq(opts.stdout)} 2>${shq(opts.stderr)}; echo "D ${opts.nonce} $?"\n`
}

/** How a datum ended, from its control lines: the exit status, and why it did not start if it did not. */
export interface DatumEnd {
  code: number
  startFailure?: StartFailure
}

/**
 * The datum's start error for a runner result, one line with its exit code, e.g.
 * `could not start: command foo not found (exit 127)`; `where` names the image, if any.
 */
export function startFailureMessage(why: StartFailure, cmd: string[], workingDir: string | undefined, where = '', code = why === 'not-found' ? 127 : 126): string {
  const prog = cmd[0] ?? ''
  const at = where ? ` in ${where}` : ''
  if (why === 'workdir') return `could not start: cannot enter the working directory ${workingDir ?? ''}${at} (exit ${code})`
  if (why === 'not-executable') return `could not start: ${prog}${at} is not an executable file (exit ${code})`
  return prog.includes('/') ? `could not start: ${prog} does not exist${at} (exit ${code})` : `could not start: command ${prog} not found${at} (exit ${code})`
}

/**
 * The shell's stdout read as lines. Feed it with `push` and `end`; `line(prefix)` waits for
 * the next line starting with `prefix`. At most 1,000 unread lines of up to 4 KiB are kept
 * (the shell itself writes only control lines).
 */
export class ControlChannel {
  private lines: string[] = []
  private partial = ''
  private waiter: (() => void) | undefined
  private closed = false

  /** True once the shell's stdout ended (the shell exited or was killed). */
  get ended(): boolean {
    return this.closed
  }

  push(chunk: Buffer): void {
    // latin1: control lines are ASCII, and no byte sequence can be split into something else
    const parts = (this.partial + chunk.toString('latin1')).split('\n')
    this.partial = parts.pop()!.slice(-4096)
    this.lines.push(...parts)
    if (this.lines.length > 1000) this.lines.splice(0, this.lines.length - 1000)
    this.wake()
  }

  end(): void {
    this.closed = true
    this.wake()
  }

  /** The rest of the first line starting with `prefix` (earlier lines are dropped); undefined once the channel ended. */
  async line(prefix: string): Promise<string | undefined> {
    for (;;) {
      const i = this.lines.findIndex((l) => l.startsWith(prefix))
      if (i >= 0) return this.lines.splice(0, i + 1)[i]!.slice(prefix.length)
      if (this.closed) return undefined
      await new Promise<void>((r) => (this.waiter = r))
    }
  }

  /**
   * The end of the datum run with `nonce`: its status line `D <nonce> <code>`, and the
   * `S <nonce> <why>` line before it when the datum could not start; undefined once the
   * channel ended without it (the shell died).
   */
  async datumEnd(nonce: string): Promise<DatumEnd | undefined> {
    const done = `D ${nonce} `
    const start = `S ${nonce} `
    for (;;) {
      const i = this.lines.findIndex((l) => l.startsWith(done))
      if (i >= 0) {
        const seen = this.lines.splice(0, i + 1)
        const code = Number(seen.pop()!.slice(done.length).trim())
        if (!Number.isInteger(code)) return undefined
        const s = seen.find((l) => l.startsWith(start))
        const why = s === undefined ? undefined : START_FAILURES[s.slice(start.length).trim()]
        return why ? {code, startFailure: why} : {code}
      }
      if (this.closed) return undefined
      await new Promise<void>((r) => (this.waiter = r))
    }
  }

  private wake(): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }
}
