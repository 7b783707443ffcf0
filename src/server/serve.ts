/**
 * `pach serve` as a library: pachd's gRPC API and the daemon over one open project, until
 * stopped. The command (src/commands/serve.ts) parses flags, prints, and handles signals;
 * this module owns the lifecycle:
 *   start: refuse an address beyond loopback without a token → open the change feed → bind
 *          → bind the S3 gateway (src/server/s3/, same loopback-unless-token rule) → start
 *          the daemon loop;
 *   stop:  stop accepting calls (gRPC and S3) → abort every open call (streams end with UNAVAILABLE
 *          "pach serve is shutting down") → stop the daemon (a running job goes back to
 *          pending, as on Ctrl-C; spouts' and services' code is stopped, their containers
 *          removed) → close the listeners opened for container code → close the feed. No lease or temp file is left: writes in
 *          flight are aborted before their commit, and the store's temp packs are removed by
 *          the writer that owns them.
 */
import {InvalidArgumentError} from '../core/errors.js'
import {ChangeFeed} from '../core/db/change-feed.js'
import {setAutoCheckpoint} from '../core/db/open.js'
import {Daemon, type DaemonOptions} from '../core/pps/daemon.js'
import type {Pach} from '../core/pach.js'
import {join} from 'node:path'
import {bind, buildServer} from './grpc/server.js'
import type {ServerIdentity} from './grpc/deps.js'
import {Continuous, type PipelineRef} from '../core/pps/continuous.js'
import {ServerCodeAccess} from './code-access.js'
import {randomBytes} from 'node:crypto'
import {listenS3, type S3Listener} from './s3/server.js'
import {MasterDriver} from './s3/driver.js'
import {Etags} from './s3/etags.js'
import {MultipartStore} from './s3/multipart.js'
import {S3SidecarServer} from './s3/sidecar.js'

export const DEFAULT_ADDRESS = 'localhost:30650'
/** The S3 gateway's default port (Pachyderm's NodePort, what `pachctl port-forward` maps). */
export const DEFAULT_S3_PORT = 30600

export interface ServeOptions {
  /** host:port, grpc://host:port, :port or a port (default localhost:30650) */
  address?: string
  /** the token every call must carry; required to bind beyond loopback */
  token?: string
  /**
   * the S3 gateway's host:port; default: the gRPC address's host, port 30600 (0 when the gRPC
   * port is 0, so tests get free ports for both); false: no gateway
   */
  s3Address?: string | false
  version: ServerIdentity['version']
  /** the daemon's job runner and event sink */
  daemon: Omit<DaemonOptions, 'onError'>
  /** a line of a spout's or service's output (also kept for `pach logs`) */
  onPipelineLog?: (p: PipelineRef, stream: 'stdout' | 'stderr', line: string) => void
  /** a spout's or service's code started or exited */
  onPipelineNote?: (p: PipelineRef, note: string) => void
  /** restart backoff of spouts and services (tests shorten it) */
  backoff?: {firstMs: number; maxMs: number; resetAfterMs: number}
  /** a bug in a handler or a daemon round (logged by the caller) */
  onError: (where: string, e: unknown) => void
}

export interface ServeHandle {
  /** the address bound, host:port (the real port when 0 was asked) */
  address: string
  host: string
  port: number
  /** this project's deployment id (ClusterInfo.deployment_id), for a pachctl context */
  deploymentId: string
  /** the S3 gateway's address (host:port), unless it is off */
  s3Address?: string
  /** per-job S3 gateways for `s3: true` inputs and `s3_out` (core/pps/s3-sidecar.ts) */
  s3Sidecar: S3SidecarServer
  stop(): Promise<void>
}

/** Split an address into host and port; INVALID_ADDRESS when it is not one. */
export function parseListenAddress(a: string): {host: string; port: number} {
  let s = a.trim().replace(/^(grpc|http):\/\//, '')
  if (/^\d+$/.test(s)) s = `localhost:${s}`
  if (s.startsWith(':')) s = `localhost${s}`
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d+)$/.exec(s)
  const port = m ? Number(m[2]) : NaN
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new InvalidArgumentError('INVALID_ADDRESS', `invalid address ${JSON.stringify(a)}: expected host:port`, {hint: `for example --address ${DEFAULT_ADDRESS}`})
  }
  return {host: m[1]!, port}
}

/** Whether `host` is only reachable from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h)
}

export async function startServe(pach: Pach, opts: ServeOptions): Promise<ServeHandle> {
  const {host, port} = parseListenAddress(opts.address ?? DEFAULT_ADDRESS)
  if (!isLoopback(host) && !opts.token) {
    throw new InvalidArgumentError('INSECURE_ADDRESS', `refusing to serve on ${host}: anyone who can reach it could read and change every repo`, {
      hint: 'set a token (PACH_SERVE_TOKEN or --token) that every client must send, or serve on localhost',
    })
  }
  const s3 = opts.s3Address === false ? undefined : parseListenAddress(opts.s3Address ?? `${host}:${port === 0 ? 0 : DEFAULT_S3_PORT}`)
  if (s3 && !isLoopback(s3.host) && !opts.token) {
    throw new InvalidArgumentError('INSECURE_ADDRESS', `refusing to serve S3 on ${s3.host}: anyone who can reach it could read and change every repo`, {
      hint: 'set a token (PACH_SERVE_TOKEN or --token) that every client must sign with, or serve S3 on localhost',
    })
  }
  const feed = new ChangeFeed(join(pach.pachDir, 'pach.db'))
  // a server commits many small transactions (each gateway PUT is a commit): SQLite's default
  // checkpoint every 1,000 WAL pages copies the same hot pages over and over and syncs the
  // database on the event loop each time. 10,000 pages (about 40 MiB of WAL) between
  // checkpoints does that a tenth as often; durability and crash safety do not depend on it.
  setAutoCheckpoint(pach.ctx.db, 10_000)
  const shutdown = new AbortController()
  const ids = pach.instanceIds()
  const pipelineTokens = new Map<string, PipelineRef>()
  let daemon: Daemon | undefined
  const deps = {pach, feed, identity: {clusterId: ids.clusterId, deploymentId: ids.deploymentId, version: opts.version}, kick: () => daemon?.kick()}
  const server = buildServer({
    deps,
    auth: {token: opts.token, pipelineTokens},
    shutdown: shutdown.signal,
    onBug: (method, e) => opts.onError(method, e),
  })
  let bound: number
  try {
    bound = await bind(server, `${host}:${port}`)
  } catch (e) {
    feed.close()
    server.forceShutdown()
    const msg = e instanceof Error ? e.message : String(e)
    throw new InvalidArgumentError('INVALID_ADDRESS', `cannot listen on ${host}:${port}: ${msg}`, {
      hint: /in use|EADDRINUSE/i.test(msg) ? 'another program (another pach serve?) uses that port; pick another with --address' : 'check the address',
    })
  }
  const etags = new Etags(pach)
  const kick = () => daemon?.kick()
  let s3Listener: S3Listener | undefined
  if (s3) {
    try {
      s3Listener = await listenS3(s3.host, s3.port, {
        pach,
        driver: new MasterDriver(pach),
        auth: {token: opts.token},
        etags,
        multipart: new MultipartStore(pach.ctx),
        kick,
        onBug: (where, e) => opts.onError(where, e),
      })
    } catch (e) {
      feed.close()
      server.forceShutdown()
      const msg = e instanceof Error ? e.message : String(e)
      throw new InvalidArgumentError('INVALID_ADDRESS', `cannot serve S3 on ${s3.host}:${s3.port}: ${msg}`, {
        hint: /in use|EADDRINUSE/i.test(msg) ? 'another program (another pach serve?) uses that port; pick another with --s3-address, or turn the gateway off with --no-s3' : 'check --s3-address',
      })
    }
  }
  const s3Sidecar = new S3SidecarServer(pach, {token: opts.token, kick, etags, onBug: (where, e) => opts.onError(where, e)})
  // container code dials a second listener that takes pipeline tokens only (code-access.ts)
  const access = new ServerCodeAccess(pipelineTokens, {host, port: bound}, async (address) => {
    const s = buildServer({deps, auth: {token: randomBytes(32).toString('hex'), pipelineTokens}, shutdown: shutdown.signal, onBug: (method, e) => opts.onError(method, e)})
    const port = await bind(s, `${address}:0`)
    return {port, close: () => new Promise<void>((res) => s.tryShutdown(() => res()))}
  })
  const continuous = new Continuous(
    {ctx: pach.ctx, pipelines: pach.pipelines, lifecycle: pach.jobs.lifecycle, files: pach.files, secrets: pach.secrets},
    {runner: opts.daemon.runner, access, wake: () => daemon?.kick(), onLog: opts.onPipelineLog, onNote: opts.onPipelineNote, backoff: opts.backoff},
  )
  daemon = new Daemon({jobs: pach.jobs, pipelines: pach.pipelines, branches: pach.branches, feed, now: () => new Date(pach.now()), continuous})
  // jobs with an s3 input or s3_out get a per-job gateway from this server's sidecar
  const looping = daemon.run(shutdown.signal, {s3: async () => s3Sidecar, ...opts.daemon, onError: (e) => opts.onError('daemon', e)})
  let stopping: Promise<void> | undefined
  return {
    address: `${host}:${bound}`,
    host,
    port: bound,
    deploymentId: ids.deploymentId,
    ...(s3Listener && {s3Address: `${s3Listener.host}:${s3Listener.port}`}),
    s3Sidecar,
    stop() {
      stopping ??= (async () => {
        shutdown.abort()
        await Promise.all([new Promise<void>((res) => server.tryShutdown(() => res())), s3Listener?.close()])
        await looping
        await s3Sidecar.closeAll()
        await access.close()
        feed.close()
      })()
      return stopping
    },
  }
}
