/**
 * `pach serve` runs as a child of itself, started with glibc's malloc tuned for a long-running
 * server that receives large messages (Linux with glibc only; elsewhere, and when the tuning
 * is already in the environment, it runs in place).
 *
 * Why: glibc's mmap threshold is dynamic. Freeing a large mmapped block (a 19 MiB message
 * from the Python SDK) raises the threshold to that size (up to 32 MiB), so every later
 * buffer below it (a 2 MiB ModifyFile message, a chunk) comes from the heap arenas instead,
 * which fragment and keep their pages: the server's RSS settles ~100-150 MiB higher for the
 * rest of its life. A fixed MALLOC_MMAP_THRESHOLD_ turns the adjustment off (measured by
 * bench/serve.mjs). glibc reads these variables once, when the process starts, and Node has
 * no mallopt(), so the only way to set them is to start the process with them: once.
 *
 * The parent is a transparent wrapper, so scripts and terminals see one `pach serve`:
 *   - the child gets the same arguments (the single executable's argv differs from node's:
 *     see childCommand), the same stdio (its --json line is the only thing on stdout);
 *   - the child runs in its own session (setsid), so a terminal's Ctrl-C reaches only the
 *     parent, which forwards SIGINT, SIGTERM and SIGHUP once (a second SIGINT still reaches
 *     the child as the second one, i.e. "stop now");
 *   - the parent exits with the child's exit code, or dies of the child's signal;
 *   - an IPC channel joins the two: if the parent dies without forwarding anything (SIGKILL),
 *     the child sees the channel close and stops as on SIGTERM (`watchParent`), so no server
 *     is left behind.
 */
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {constants} from 'node:os'
import {isSea} from 'node:sea'

/** glibc's malloc settings for `pach serve` (see the header). */
export const SERVE_MALLOC_ENV: Readonly<Record<string, string>> = {
  // fixed (not dynamic): blocks of 128 KiB and more are mmapped and returned on free
  MALLOC_MMAP_THRESHOLD_: '131072',
}

/** Signals the parent passes on to the child. */
export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** Whether this process should restart itself with `want` in its environment (pure). */
export function needsReexec(env: NodeJS.ProcessEnv, want: Readonly<Record<string, string>>, glibc: boolean): boolean {
  // any value the user set (even another one) is theirs to choose: no re-exec
  return glibc && Object.keys(want).every((k) => env[k] === undefined)
}

/** Whether glibc is this process's C library (its libc.so.6 is mapped; musl's is ld-musl-*). */
export function runsOnGlibc(): boolean {
  if (process.platform !== 'linux') return false
  try {
    return /\/libc\.so\.6$/m.test(readFileSync('/proc/self/maps', 'utf8'))
  } catch {
    return false
  }
}

/**
 * The command line that starts this same invocation again. Under node, argv is [node,
 * script, ...args] and node's own flags are in execArgv; the single executable's argv is
 * [binary, binary, ...args] and the binary takes the args directly.
 */
export function childCommand(p: {execPath: string; execArgv: string[]; argv: string[]}, sea: boolean): {file: string; args: string[]} {
  return sea ? {file: p.execPath, args: p.argv.slice(2)} : {file: p.execPath, args: [...p.execArgv, ...p.argv.slice(1)]}
}

/**
 * Run this invocation again as a child with `want` added to its environment and end this
 * process as the child ends (its code, or its signal). Never returns.
 */
export async function reexecWith(want: Readonly<Record<string, string>>): Promise<never> {
  const {file, args} = childCommand(process, isSea())
  const child = spawn(file, args, {env: {...process.env, ...want}, stdio: ['inherit', 'inherit', 'inherit', 'ipc'], detached: true})
  const forward = (sig: NodeJS.Signals) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig)
  }
  const handlers = FORWARDED_SIGNALS.map((sig) => [sig, forward(sig)] as const)
  for (const [sig, fn] of handlers) process.on(sig, fn)
  const end = await new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`pach serve: could not start: ${e.message}\n`)
      resolve({code: 1, signal: null})
    })
    child.on('exit', (code, signal) => resolve({code, signal}))
  })
  for (const [sig, fn] of handlers) process.off(sig, fn)
  if (end.signal) {
    process.kill(process.pid, end.signal)
    // a signal whose default action is not to end the process: the shell's number for it
    process.exit(128 + (constants.signals[end.signal] ?? 0))
  }
  process.exit(end.code ?? 1)
}

/**
 * In a re-executed child: call `stop` when the parent goes away without a word (the IPC
 * channel closes). The channel does not keep the process alive.
 */
export function watchParent(stop: () => void): void {
  if (!process.channel) return
  process.once('disconnect', stop)
  process.channel.unref()
}
