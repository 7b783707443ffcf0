/**
 * The worker shell protocol, shared by the Docker and the local runner.
 *
 * Concept: a worker keeps ONE long-lived `/bin/sh -s` (in its container, or in its
 * bubblewrap sandbox) and writes one line to its stdin per datum:
 *
 *   (cd '<workingDir>' || exit 126; export K='V'…; exec 'cmd' 'arg'…) \
 *     <'<stdin file>'|/dev/null >'<stdout file>' 2>'<stderr file>'; echo "D <nonce> $?"
 *
 * The datum is the subshell: its exit status is the datum's exit code, and a datum costs a
 * fork and an exec in the shell instead of a process (or container exec) set up by pach.
 * The shell's stdout is the control channel: the datum's own output goes to files, and
 * `ControlChannel.line('D <nonce> ')` waits for the status. The nonce is fresh per datum,
 * so a stale line, or one that user code manages to write to the shell's stdout (through
 * /proc, say), cannot end a datum with a forged status.
 *
 * Quoting: every argument, value and path is single-quoted (`'\''` for a quote), so argv and
 * env values reach the program byte for byte. Env names that are not shell identifiers go
 * through `exec env 'K=V'… cmd…` instead of `export`.
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

/** The line the worker shell runs for one datum (see the header). */
export function datumScript(cmd: string[], env: Record<string, string>, opts: DatumScriptOptions): string {
  const entries = Object.entries(env)
  const argv = cmd.map(shq).join(' ')
  let body = opts.workingDir ? `cd ${shq(opts.workingDir)} || exit 126; ` : ''
  if (entries.every(([k]) => SHELL_NAME.test(k))) body += entries.map(([k, v]) => `export ${k}=${shq(v)}; `).join('') + `exec ${argv}`
  else body += `exec env ${entries.map(([k, v]) => shq(`${k}=${v}`)).join(' ')} ${argv}`
  const stdin = opts.stdin !== undefined ? shq(opts.stdin) : '/dev/null'
  return `(${body}) <${stdin} >${shq(opts.stdout)} 2>${shq(opts.stderr)}; echo "D ${opts.nonce} $?"\n`
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

  private wake(): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }
}
