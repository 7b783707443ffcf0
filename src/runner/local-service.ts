/**
 * Long-running user code on the local runner (a spout's or a service's; the Runner
 * interface's `startService`): one host process group per task, for as long as the code runs.
 *
 * Layout, as for datums (local.ts): with bubblewrap the code runs in the worker sandbox
 * layout (`bwrapWorkerArgs`): the task's inputs read-only at /pfs (an empty directory for a
 * spout), a scratch `/pfs/out`, the extra mounts read-only (a spout's `/pachctl`), the rest
 * of `/` read-only — but never `--unshare-net`: spouts and services talk to `pach serve` and
 * serve their port on the host's network. Without bubblewrap, `/pfs` is rewritten in cmd,
 * stdin and env to a scratch link to the inputs, and extra mounts are not applied (a spout
 * finds its config through PACH_CONFIG instead, which continuous.ts always sets locally).
 * Published ports need nothing: the code listens on the host, `internal_port` is the port it
 * binds, and an `external_port` different from it is refused (no forwarder here).
 *
 * Output is streamed to `onOutput` as it comes. `stop` sends SIGTERM to the process group,
 * then SIGKILL after STOP_GRACE_MS, and removes the scratch directory; pach's exit kills
 * the group (local.ts `track`), and the next local runner removes the scratch dirs of dead
 * pids (`pach-service-<pid>-*`).
 */
import {mkdirSync, rmSync, symlinkSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {spawn} from 'node:child_process'
import {RunnerError} from '../core/errors.js'
import type {ServiceExit, ServiceSpec, ServiceTask} from '../core/pps/runner.js'
import {bwrapWorkerArgs, hostEnv, killGroup, rewritePfs, scratchDir, track, untrack} from './local.js'

/** How long stop waits after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 5000

export type LocalServiceMode = {kind: 'bwrap'; bwrap: string} | {kind: 'rewrite'}

export async function startLocalService(spec: ServiceSpec, mode: LocalServiceMode): Promise<ServiceTask> {
  for (const p of spec.ports ?? []) {
    if (p.external !== p.internal) {
      throw new RunnerError(`the local runner cannot map port ${p.external} to ${p.internal} (code runs on the host network); set external_port equal to internal_port, or use --runner docker`)
    }
  }
  if (spec.cmd.length === 0) throw new RunnerError(`${spec.name}: transform.cmd is empty`)
  const scratch = scratchDir('service')
  try {
    const inputs = spec.inputsDir ? resolve(spec.inputsDir) : join(scratch, 'in')
    const out = join(scratch, 'out')
    mkdirSync(inputs, {recursive: true})
    mkdirSync(out)
    let file: string
    let args: string[]
    let rw = (s: string) => s
    const cwd = spec.workingDir ?? process.cwd()
    if (mode.kind === 'bwrap') {
      mkdirSync(join(inputs, 'out'), {recursive: true})
      file = mode.bwrap
      args = [...bwrapWorkerArgs(inputs, out, spec.workingDir ?? '/', false, spec.mounts), ...spec.cmd]
    } else {
      symlinkSync(inputs, join(scratch, 'pfs'))
      rw = (s: string) => rewritePfs(s, scratch)
      file = rw(spec.cmd[0]!)
      args = spec.cmd.slice(1).map(rw)
    }
    const env = {...hostEnv(), ...Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, rw(v)]))}
    const proc = spawn(file, args, {
      cwd: mode.kind === 'bwrap' ? undefined : rw(cwd),
      env,
      stdio: [spec.stdin !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let exited = false
    const done = new Promise<ServiceExit>((res) => {
      proc.on('error', (e) => {
        exited = true
        res({exitCode: -1, error: `cannot start ${spec.cmd[0]}: ${e.message}`})
      })
      proc.on('close', (code, signal) => {
        exited = true
        if (proc.pid !== undefined) untrack(proc.pid)
        res(signal ? {exitCode: -1, error: `killed by ${signal}`} : {exitCode: code ?? -1})
      })
    })
    proc.stdout!.on('data', (c: Buffer) => spec.onOutput('stdout', c))
    proc.stderr!.on('data', (c: Buffer) => spec.onOutput('stderr', c))
    if (spec.stdin !== undefined) {
      proc.stdin!.on('error', () => undefined)
      proc.stdin!.end(rw(spec.stdin))
    }
    if (proc.pid !== undefined) track(proc.pid)
    const cleanup = done.then(() => {
      // what the code left running in its process group goes with it
      if (proc.pid !== undefined) killGroup(proc.pid)
      rmSync(scratch, {recursive: true, force: true})
    })
    let stopping: Promise<void> | undefined
    return {
      done,
      stop() {
        stopping ??= (async () => {
          if (!exited && proc.pid !== undefined) {
            killGroup(proc.pid, 'SIGTERM')
            const t = setTimeout(() => killGroup(proc.pid!, 'SIGKILL'), STOP_GRACE_MS)
            await done
            clearTimeout(t)
          }
          await cleanup
        })()
        return stopping
      },
    }
  } catch (e) {
    rmSync(scratch, {recursive: true, force: true})
    throw e
  }
}
