/**
 * Pulling a pipeline's image when the engine does not have it, as a cluster node would
 * (Kubernetes' `IfNotPresent`: an image present locally is used as it is, whatever its tag;
 * one that is missing is pulled once, before the job's first datum).
 *
 * The pull goes through the engine (`POST /images/create`, dockerode `pull`) with the
 * credentials docker-config.ts finds for the image's registry. Progress is reported, never
 * printed: one `info` line when the pull starts and one when it ends, and in between a
 * byte counter (`Reporter.progress`) over the layers' download progress, which the CLI
 * draws on a TTY. The engine reports some failures as an HTTP error before any progress
 * (404 unknown manifest, 500 unreachable registry or refused credentials) and others as an
 * `error` line in the progress stream; both end as ONE RunnerError line:
 *   cannot pull image <image> from <registry>: <engine's reason>; <what to do>
 * An aborted signal (Ctrl-C) ends the pull with the signal's reason instead.
 */
import type Dockerode from 'dockerode'
import {RunnerError} from '../core/errors.js'
import type {Progress, Reporter} from '../core/pps/runner.js'
import {credentialsFor, dockerConfigPath, loginCommand, registryName, registryOf, type ConfigLocation, type Credentials, type Registry} from './docker-config.js'

export interface PullOptions {
  reporter?: Reporter
  signal?: AbortSignal
  /** where the Docker config is (default: DOCKER_CONFIG / the home directory) */
  config?: ConfigLocation
}

/** One line of the engine's pull progress stream. */
export interface PullEvent {
  status?: string
  id?: string
  progressDetail?: {current?: number; total?: number}
  error?: string
  errorDetail?: {message?: string}
}

/**
 * Folds pull events into one byte count: per layer being downloaded, its current and total
 * bytes (a completed download counts as its total; layers the engine already has count for
 * nothing). Feed `event`; read `current`, `total` and the image's `digest`.
 */
export class PullProgress {
  private readonly layers = new Map<string, {current: number; total: number}>()
  digest: string | undefined

  event(e: PullEvent): void {
    if (e.status?.startsWith('Digest: ')) this.digest = e.status.slice('Digest: '.length).trim()
    if (!e.id) return
    if (e.status === 'Downloading' && e.progressDetail?.total) {
      const total = e.progressDetail.total
      this.layers.set(e.id, {total, current: Math.min(e.progressDetail.current ?? 0, total)})
    } else if (e.status === 'Download complete') {
      const l = this.layers.get(e.id)
      if (l) l.current = l.total
    }
  }

  get current(): number {
    let n = 0
    for (const l of this.layers.values()) n += l.current
    return n
  }

  get total(): number {
    let n = 0
    for (const l of this.layers.values()) n += l.total
    return n
  }
}

/**
 * Pull `image` into the engine.
 * @throws RunnerError `cannot pull image <image> from <registry>: …; <what to do>` when it cannot.
 * @example
 *   await pullImage(docker, 'localhost:5000/team/tool:1', {reporter})
 */
export async function pullImage(docker: Dockerode, image: string, opts: PullOptions = {}): Promise<void> {
  const registry = registryOf(image)
  const where = registryName(registry)
  const reporter = opts.reporter
  let creds: Credentials | undefined
  try {
    creds = credentialsFor(registry, opts.config)
  } catch (e) {
    throw new RunnerError(`cannot pull image ${image} from ${where}: ${(e as Error).message}`, {cause: e, data: {image, registry: registry.host}})
  }
  opts.signal?.throwIfAborted()
  reporter?.info(`pulling image ${image} from ${where} (not present locally)${creds ? ` with credentials from ${creds.source}` : ''}`)
  const progress = new PullProgress()
  let bar: Progress | undefined
  try {
    const stream = (await docker.pull(image, {...(creds ? {authconfig: creds.auth} : {}), abortSignal: opts.signal})) as NodeJS.ReadableStream
    bar = reporter?.progress(`pulling ${image}`, 'bytes')
    let shown = 0
    const failure = await new Promise<string | undefined>((resolveDone, reject) => {
      let streamError: string | undefined
      docker.modem.followProgress(
        stream,
        (err: Error | null) => (err ? reject(err) : resolveDone(streamError)),
        (e: PullEvent) => {
          if (e.error || e.errorDetail?.message) streamError ??= e.errorDetail?.message ?? e.error
          progress.event(e)
          if (progress.total) bar?.total(progress.total)
          const now = progress.current
          if (now > shown) bar?.add(now - shown)
          shown = now
        },
      )
    })
    // an abort can end the stream quietly
    opts.signal?.throwIfAborted()
    if (failure) throw new Error(failure)
  } catch (e) {
    if (opts.signal?.aborted) throw opts.signal.reason
    throw pullFailed(image, registry, creds, e, opts.config)
  } finally {
    bar?.done()
  }
  reporter?.info(`pulled image ${image}${progress.digest ? ` (${progress.digest})` : ''}`)
}

/** The engine's reason in one line, without its HTTP framing. */
function engineReason(e: unknown): string {
  const err = e as {json?: {message?: string}; message?: string}
  const msg = err?.json?.message ?? err?.message ?? String(e)
  const line = msg
    .replace(/^\(HTTP code \d+\)\s*/, '')
    .replace(/^(unexpected|server error|bad parameter|no such image|impossible)\s+-\s+/, '')
    .replace(/\s+/g, ' ')
    .trim()
  return line.length > 300 ? `${line.slice(0, 300)}…` : line
}

/** The one-line error for a failed pull: which image, from where, the engine's reason, what to do. */
export function pullFailed(image: string, registry: Registry, creds: Credentials | undefined, e: unknown, config?: ConfigLocation): RunnerError {
  const status = (e as {statusCode?: number}).statusCode
  const reason = engineReason(e)
  const build = `\`docker build -t ${image} .\``
  let todo: string
  if (status === 400 || /invalid reference format/i.test(reason)) {
    todo = 'fix transform.image in the pipeline spec'
  } else if (/pull access denied/i.test(reason)) {
    // Docker Hub says this both for a name that does not exist and for a private one
    todo = creds
      ? `check transform.image in the pipeline spec; if the image is private, the credentials from ${creds.source} may not grant access to it`
      : `check transform.image in the pipeline spec; if the image is private, log in with \`${loginCommand(registry)}\``
  } else if (/no basic auth credentials|unauthori[sz]ed|authentication required|denied|forbidden/i.test(reason)) {
    todo = creds
      ? `the registry refused the credentials from ${creds.source}; log in again with \`${loginCommand(registry)}\``
      : `log in with \`${loginCommand(registry)}\` (pach reads credentials from ${dockerConfigPath(config)})`
  } else if (status === 404 || /manifest unknown|not found|does not exist/i.test(reason)) {
    todo = `check the name and tag in transform.image, or build the image locally with ${build}`
  } else if (/dial tcp|connection refused|no such host|i\/o timeout|network is unreachable|TLS|certificate|EOF/i.test(reason)) {
    todo = `check that ${registry.hub ? 'Docker Hub' : registry.host} is reachable from the Docker engine, or put the image in the engine yourself (${build} or \`docker load\`)`
  } else {
    todo = `run \`docker pull ${image}\` to see more`
  }
  return new RunnerError(`cannot pull image ${image} from ${registryName(registry)}: ${reason}; ${todo}`, {cause: e, data: {image, registry: registry.host}})
}
