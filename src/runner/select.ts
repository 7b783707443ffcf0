/**
 * Choosing a runner: `docker`, `local`, or `auto` (Docker when an engine answers, else
 * local). Where the choice comes from (flag, env, project config) is the caller's business.
 *
 * `auto` pings the engine with a raw HTTP `GET /_ping` over its unix socket (DOCKER_HOST
 * when it names one, else /var/run/docker.sock) with a ~1 s budget, so a machine without
 * Docker does not pay dockerode's ~400 ms import; only a positive answer loads dockerode.
 */
import {request} from 'node:http'
import {RunnerError} from '../core/errors.js'
import type {Reporter, Runner} from '../core/pps/runner.js'

export type RunnerChoice = 'docker' | 'local' | 'auto'

export const NO_DOCKER_NOTICE = 'no Docker engine answered; running pipelines with the local runner'

export interface SelectOptions {
  /** unix socket to ping in auto mode (default: DOCKER_HOST's unix path, else /var/run/docker.sock) */
  socketPath?: string
  /** auto-mode ping budget (default 1000 ms) */
  pingTimeoutMs?: number
  /** where the docker runner reports image pulls */
  reporter?: Reporter
  /** aborts image pulls */
  signal?: AbortSignal
}

/**
 * Build the runner for `choice`.
 * @throws RunnerError (`RUNNER_ERROR`) when `docker` is chosen and the engine cannot be reached.
 * @example
 *   const runner = await selectRunner('auto', (msg) => reporter.info(msg))
 */
export async function selectRunner(choice: RunnerChoice, report: (msg: string) => void, opts: SelectOptions = {}): Promise<Runner> {
  if (choice === 'docker') {
    const {createDockerRunner} = await import('./docker.js')
    return createDockerRunner({reporter: opts.reporter, signal: opts.signal})
  }
  if (choice === 'local') return localRunner()

  const host = process.env.DOCKER_HOST
  const socket = opts.socketPath ?? (host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock')
  const timeoutMs = opts.pingTimeoutMs ?? 1000
  let reachable: boolean
  if (!opts.socketPath && host && !host.startsWith('unix://')) {
    // tcp/ssh engines: let dockerode (which knows TLS and ssh) do the ping, within the budget
    reachable = true
  } else {
    reachable = await pingSocket(socket, timeoutMs)
  }
  if (reachable) {
    try {
      const {createDockerRunner} = await import('./docker.js')
      return await createDockerRunner({pingTimeoutMs: Math.max(timeoutMs, 1000), reporter: opts.reporter, signal: opts.signal})
    } catch (e) {
      if (!(e instanceof RunnerError)) throw e
    }
  }
  report(NO_DOCKER_NOTICE)
  return localRunner()
}

async function localRunner(): Promise<Runner> {
  const {createLocalRunner} = await import('./local.js')
  return createLocalRunner()
}

/** Does a Docker engine answer `GET /_ping` on this unix socket within `timeoutMs`? */
export function pingSocket(socketPath: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolvePing) => {
    let settled = false
    const done = (ok: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.destroy()
      resolvePing(ok)
    }
    const req = request({socketPath, path: '/_ping', method: 'GET', headers: {Host: 'docker'}}, (res) => {
      res.resume()
      done(res.statusCode === 200)
    })
    const timer = setTimeout(() => done(false), timeoutMs)
    req.on('error', () => done(false))
    req.end()
  })
}
