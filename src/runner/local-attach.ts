/**
 * Attached runs on the local runner (`Runner.runAttached`, for `pach debug datum`): one
 * command in a worker's sandbox, wired to the user's terminal.
 *
 * Layout: exactly a datum's (local.ts). With bubblewrap, `bwrapWorkerArgs` binds the inputs
 * read-only at /pfs, the output directory at /pfs/out, secret mounts read-only, the rest of
 * `/` read-only, and `--unshare-net` unless the spec asks for a network; the command starts
 * in the working directory (the spec's, else pach's). Without bubblewrap, `/pfs` is rewritten
 * in cmd, stdin, env values and the working directory to a scratch link to the inputs (as a
 * worker does), and `<inputsDir>/out` becomes a link to outDir; an interactive shell starts
 * in that `pfs` directory (what the user types is not rewritten), and secret mounts are refused.
 * The environment is the spec's plus PATH and HOME from the host (a worker's), and TERM for
 * an interactive shell.
 *
 * Terminal: a rerun (shell: false) runs in its own process group with stdin from the spec's
 * text (else empty) and its stdout/stderr streamed to the terminal as they come; the signal
 * kills the group. A shell gets the terminal's own file descriptors and stays in pach's
 * process group, so the terminal's Ctrl-C reaches it (the caller lets it pass); the signal
 * (a SIGTERM to pach, say) or pach's exit kills it.
 */
import {existsSync, mkdirSync, rmSync, symlinkSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {spawn} from 'node:child_process'
import {RunnerError} from '../core/errors.js'
import type {AttachSpec, ServiceExit} from '../core/pps/runner.js'
import {bwrapWorkerArgs, hostEnv, killGroup, rewritePfs, scratchDir, track, untrack} from './local.js'

export type LocalAttachMode = {kind: 'bwrap'; bwrap: string; netIsolation: boolean} | {kind: 'rewrite'}

export async function runLocalAttached(spec: AttachSpec, mode: LocalAttachMode): Promise<ServiceExit> {
  if (spec.cmd.length === 0) throw new RunnerError(`${spec.name}: transform.cmd is empty`)
  if (mode.kind === 'rewrite' && spec.mounts?.length) {
    throw new RunnerError(`file mounts (secrets with mount_path ${spec.mounts[0]!.container}) need bubblewrap; install it or use --runner docker`)
  }
  const inputsDir = resolve(spec.inputsDir)
  const outDir = resolve(spec.outDir)
  const scratch = scratchDir('worker')
  try {
    let file: string
    let args: string[]
    let rw = (s: string) => s
    let cwd: string | undefined
    if (mode.kind === 'bwrap') {
      mkdirSync(join(inputsDir, 'out'), {recursive: true})
      file = mode.bwrap
      const start = spec.workingDir ?? process.cwd()
      args = [...bwrapWorkerArgs(inputsDir, outDir, start, !spec.network && mode.netIsolation, spec.mounts), ...spec.cmd]
    } else {
      rmSync(join(inputsDir, 'out'), {recursive: true, force: true})
      symlinkSync(outDir, join(inputsDir, 'out'))
      symlinkSync(inputsDir, join(scratch, 'pfs'))
      rw = (s: string) => rewritePfs(s, scratch)
      file = rw(spec.cmd[0]!)
      args = spec.cmd.slice(1).map(rw)
      const wd = spec.workingDir ? rw(spec.workingDir) : undefined
      cwd = spec.shell && !wd ? join(scratch, 'pfs') : (wd ?? process.cwd())
      if (!existsSync(cwd)) throw new RunnerError(`the working directory ${spec.workingDir} does not exist on this host`)
    }
    const env = {...hostEnv(), ...Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, rw(v)]))}
    if (spec.shell && process.env.TERM) env.TERM = process.env.TERM
    const t = spec.terminal
    const proc = spawn(file, args, {
      cwd,
      env,
      stdio: spec.shell ? [t.stdin.fd ?? 'inherit', t.stdout.fd ?? 'inherit', t.stderr.fd ?? 'inherit'] : [spec.stdin !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: !spec.shell,
    })
    const done = new Promise<ServiceExit>((res) => {
      proc.on('error', (e) => res({exitCode: -1, error: `cannot start ${file}: ${e.message}`}))
      proc.on('close', (code, signal) => {
        if (proc.pid !== undefined) untrack(proc.pid)
        res(signal ? {exitCode: -1, error: `killed by ${signal}`} : {exitCode: code ?? -1})
      })
    })
    if (!spec.shell) {
      proc.stdout!.on('data', (c: Buffer) => t.stdout.write(c))
      proc.stderr!.on('data', (c: Buffer) => t.stderr.write(c))
      if (spec.stdin !== undefined) {
        proc.stdin!.on('error', () => undefined)
        proc.stdin!.end(rw(spec.stdin))
      }
      if (proc.pid !== undefined) track(proc.pid)
    }
    // a shell shares pach's process group (the terminal's): only it is ended
    const kill = () => {
      if (proc.pid === undefined) return
      if (spec.shell) proc.kill('SIGKILL')
      else killGroup(proc.pid)
    }
    spec.signal?.addEventListener('abort', kill, {once: true})
    try {
      const exit = await done
      if (spec.signal?.aborted) return {exitCode: -1, error: 'interrupted'}
      return exit
    } finally {
      spec.signal?.removeEventListener('abort', kill)
      // what the code left running in its process group goes with it
      if (!spec.shell) kill()
    }
  } finally {
    rmSync(scratch, {recursive: true, force: true})
  }
}
