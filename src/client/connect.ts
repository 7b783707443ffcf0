/**
 * Connecting to a remote pachd (issue 14): the one door every `pach push`/`pull` and
 * `pach remote list` goes through. It opens a PachdClient for a resolved remote (a pachctl
 * context or an address, src/cli/remotes.ts) and proves, under one deadline, that the far end
 * is a pachd pach can work with — or refuses with ONE PachError saying what is wrong and what
 * to do:
 * - REMOTE_UNREACHABLE: nothing answers (refused, DNS, TLS, deadline), or it is not gRPC;
 * - REMOTE_VERSION: it answers but is not pachd 2.x (a 1.x pachd serves `versionpb.API`, not
 *   `versionpb_v2.API`; it is asked there so the line can name its version);
 * - REMOTE_AUTH: it refuses the token (UNAUTHENTICATED / PERMISSION_DENIED);
 * - REMOTE_CLUSTER_CHANGED: the context's `cluster_deployment_id` is not the cluster's, i.e.
 *   the context now points at another cluster (pachctl fills that field in; pach only compares).
 *
 * The calls are pachctl's (src/internal/client/client.go): versionpb_v2 GetVersion, then
 * admin_v2 InspectCluster with `client_version` and `current_project` (pachd answers with
 * warnings on skew or a missing project; they are returned, not printed). pachd serves those
 * two without a token, so the token is proven by auth_v2 WhoAmI: UNIMPLEMENTED there means the
 * cluster has no auth activated (any token, or none, is fine).
 *
 * The client is the caller's to close; on a refusal it is closed here.
 */
import {status, type ServiceError} from '@grpc/grpc-js'
import type {ResolvedRemote} from '../cli/remotes.js'
import {ConflictError, PachError} from '../core/errors.js'
import {isGrpcError, PachdClient} from './pachd-client.js'

export interface RemoteVersion {
  major: number
  minor: number
  micro: number
  additional: string
}

export interface ConnectedRemote {
  client: PachdClient
  version: RemoteVersion
  /** InspectCluster's `deployment_id`: the key of the cluster in this .pach's `remotes` table */
  deploymentId: string
  /** InspectCluster's `id` */
  clusterId: string
  /** what InspectCluster warned about (version skew, a missing project), for stderr */
  warnings: string[]
}

export interface ConnectOptions {
  /** the deadline for the whole check (default 10 s) */
  timeoutMs?: number
}

/** The pachd API version pach's client speaks (its .proto files follow pachd 2.12). */
export const PACH_CLIENT_VERSION: RemoteVersion = {major: 2, minor: 12, micro: 0, additional: ''}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000

export const versionString = (v: RemoteVersion) => `${v.major}.${v.minor}.${v.micro}${v.additional ? `-${v.additional.replace(/^-/, '')}` : ''}`

/** How to look at the remote's settings, for hints. */
function checkHint(r: ResolvedRemote): string {
  return r.source === 'context' ? `check \`pachctl config get context ${r.name}\`` : `check the address ${r.name}`
}

/** The useful part of a grpc-js error's details ("connect ECONNREFUSED 127.0.0.1:1"). */
export function grpcReason(e: ServiceError, timeoutMs: number): string {
  if (e.code === status.DEADLINE_EXCEEDED) return `no answer within ${timeoutMs / 1000} s`
  // OpenSSL's "…:SSL routines:ssl3_get_record:wrong version number:file:line:" → its reason
  const ssl = /SSL routines:[^:]*:([^:]+):/.exec(e.details ?? '')
  if (ssl) return `TLS handshake failed: ${ssl[1]}${/wrong version number|packet length too long/.test(ssl[1]!) ? '; the server may not use TLS (grpc://)' : ''}`
  const d = (e.details || e.message || `gRPC status ${e.code}`)
    .replace(/^No connection established\. Last error: /, '')
    .replace(/^(Error: )+/, '')
    .replace(/\.? Resolution note: ?.*$/, '')
    .replace(/ \(\d{4}-\d\d-\d\dT[^)]*\)$/, '')
    .replace(/\s+/g, ' ')
    .trim()
  // an HTTP/1 server (Protocol error), or an HTTP/2 one that is not gRPC (a 404 from a proxy)
  if (d === 'Protocol error' || /^Received HTTP status code/.test(d)) return `${d}: not a gRPC server; is this pachd's gRPC port?`
  return d.length > 200 ? d.slice(0, 197) + '...' : d
}

/** A gRPC failure of one of the connect calls as the one PachError a user sees. */
function refusal(r: ResolvedRemote, e: unknown, timeoutMs: number): PachError {
  const data = {remote: r.name, address: r.address}
  if (!isGrpcError(e)) {
    return new PachError('REMOTE_UNREACHABLE', `cannot reach pachd at ${r.address} (${(e as Error)?.message ?? String(e)}): is it running?`, {hint: checkHint(r), data, cause: e})
  }
  const reason = grpcReason(e, timeoutMs)
  if (e.code === status.UNAUTHENTICATED || e.code === status.PERMISSION_DENIED) {
    const had = r.token ? 'the token of' : 'no token in'
    return new PachError('REMOTE_AUTH', `the remote refused ${had} ${r.source === 'context' ? `context ${r.name}` : r.address} (${reason})`, {
      hint: r.source === 'context' ? `run \`pachctl auth login\` with context ${r.name} active` : 'use a pachctl context with a token (`pachctl connect` then `pachctl auth login`)',
      data: {...data, grpc_code: e.code},
      cause: e,
    })
  }
  return new PachError('REMOTE_UNREACHABLE', `cannot reach pachd at ${r.address} (${reason}): is it running?`, {hint: checkHint(r), data: {...data, grpc_code: e.code}, cause: e})
}

/** The context's `cluster_deployment_id` is not the cluster's: it points at another cluster now. */
function clusterChanged(r: ResolvedRemote, actual: string): ConflictError {
  return new ConflictError(
    'REMOTE_CLUSTER_CHANGED',
    `context ${r.name} was made for cluster ${r.deploymentId}, but ${r.address} is now cluster ${actual}: the context points at another cluster`,
    {
      hint: `check the address with \`pachctl config get context ${r.name}\`; if the cluster was redeployed on purpose, run \`pachctl config update context ${r.name} --remove-cluster-deployment-id\``,
      data: {remote: r.name, address: r.address, context_deployment_id: r.deploymentId, deployment_id: actual},
    },
  )
}

/**
 * Ask a server that does not serve versionpb_v2 for pachd 1.x's `versionpb.API/GetVersion`
 * (same message, older package name). Undefined when that is not served either.
 */
async function legacyVersion(c: PachdClient, deadline: Date): Promise<RemoteVersion | undefined> {
  const svc = (c.version.constructor as unknown as {service: {GetVersion: {responseDeserialize(b: Buffer): RemoteVersion}}}).service
  return new Promise((resolve) => {
    c.version.makeUnaryRequest('/versionpb.API/GetVersion', () => Buffer.alloc(0), (b: Buffer) => svc.GetVersion.responseDeserialize(b), {}, c.headers(), {deadline}, (err, res) =>
      resolve(err || !res ? undefined : res),
    )
  })
}

/**
 * Open a client for `r` and check it is a pachd 2.x that accepts the token and is the cluster
 * the context was made for. Throws one PachError (see the header) and closes the client then.
 */
export async function connectRemote(r: ResolvedRemote, opts: ConnectOptions = {}): Promise<ConnectedRemote> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  const deadline = new Date(Date.now() + timeoutMs)
  let client: PachdClient
  try {
    client = new PachdClient(r.address, {token: r.token, serverCas: r.serverCas})
  } catch (e) {
    throw refusal(r, e, timeoutMs)
  }
  try {
    let version: RemoteVersion
    try {
      const v = await client.unary(client.version, 'GetVersion', {}, {deadline})
      version = {major: v.major, minor: v.minor, micro: v.micro, additional: v.additional}
    } catch (e) {
      // UNIMPLEMENTED is also grpc-js's reading of an HTTP 404 from something that is not gRPC
      if (!isGrpcError(e, status.UNIMPLEMENTED) || /^Received HTTP status code/.test(e.details)) throw refusal(r, e, timeoutMs)
      const old = await legacyVersion(client, deadline)
      throw new PachError(
        'REMOTE_VERSION',
        old ? `${r.address} is pachd ${versionString(old)}; pach push/pull need pachd 2.x` : `${r.address} does not serve pachd 2.x's versionpb_v2 GetVersion (${grpcReason(e, timeoutMs)}); pach push/pull need pachd 2.x`,
        {hint: 'upgrade the cluster to Pachyderm 2.x, or use a context for a 2.x cluster', data: {remote: r.name, address: r.address, ...(old ? {version: versionString(old)} : {})}},
      )
    }
    if (version.major !== 2) {
      throw new PachError('REMOTE_VERSION', `${r.address} is pachd ${versionString(version)}; pach push/pull need pachd 2.x`, {
        hint: 'use a context for a Pachyderm 2.x cluster',
        data: {remote: r.name, address: r.address, version: versionString(version)},
      })
    }
    const [info, who] = await Promise.all([
      client.unary(client.admin, 'InspectCluster', {client_version: PACH_CLIENT_VERSION, current_project: {name: r.project}}, {deadline}).catch((e: unknown) => {
        throw refusal(r, e, timeoutMs)
      }),
      client.unary(client.auth, 'WhoAmI', {}, {deadline}).then(
        () => undefined,
        (e: unknown) => e,
      ),
    ])
    // UNIMPLEMENTED: auth is not activated on the cluster (pachd's "the auth service is not activated")
    if (who !== undefined && !isGrpcError(who, status.UNIMPLEMENTED)) throw refusal(r, who, timeoutMs)
    if (!info.deployment_id) {
      throw new PachError('REMOTE_VERSION', `${r.address} answered InspectCluster without a deployment id; pach push/pull need pachd 2.x`, {hint: checkHint(r), data: {remote: r.name, address: r.address}})
    }
    if (r.deploymentId && r.deploymentId !== info.deployment_id) throw clusterChanged(r, info.deployment_id)
    return {client, version, deploymentId: info.deployment_id, clusterId: info.id, warnings: [...info.warnings]}
  } catch (e) {
    client.close()
    throw e
  }
}

/** What a quick look at a remote found (`pach remote list`): never throws. */
export interface RemoteProbe {
  reachable: boolean
  /** pachd's version, when it answered GetVersion */
  version: string | null
  deployment_id: string | null
  /** the refusal connectRemote would give, when there is one */
  error: {code: string; message: string} | null
}

/**
 * connectRemote with a short deadline (default 2 s), as a result: the version and deployment
 * id when it is a pachd 2.x that takes the token, else the refusal. A context whose
 * `cluster_deployment_id` differs is reachable, with the cluster's id and the refusal.
 */
export async function probeRemote(r: ResolvedRemote, timeoutMs = 2000): Promise<RemoteProbe> {
  try {
    const c = await connectRemote({...r, deploymentId: undefined}, {timeoutMs})
    c.client.close()
    const probe: RemoteProbe = {reachable: true, version: versionString(c.version), deployment_id: c.deploymentId, error: null}
    if (r.deploymentId && r.deploymentId !== c.deploymentId) {
      const e = clusterChanged(r, c.deploymentId)
      probe.error = {code: e.code, message: e.message}
    }
    return probe
  } catch (e) {
    const pe = e as PachError
    const reachable = pe.code === 'REMOTE_VERSION' || pe.code === 'REMOTE_AUTH'
    const version = typeof pe.data?.version === 'string' ? pe.data.version : null
    return {reachable, version, deployment_id: null, error: {code: pe.code ?? 'REMOTE_UNREACHABLE', message: pe.message ?? String(e)}}
  }
}
