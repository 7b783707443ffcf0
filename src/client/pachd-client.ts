/**
 * pach's own client of pachd's gRPC API (the same .proto definitions `pach serve` serves):
 * typed, streaming, promise-based. Used to talk to `pach serve` and, for `pach push`/`pull`,
 * to a real pachd.
 *
 * Connection: `grpc://host:port` (or `host:port`, `http://…`) is cleartext HTTP/2,
 * `grpcs://`/`https://` is TLS (with `serverCas`, a PEM, as pachctl's context `server_cas`).
 * Every call carries `authn-token` when a token is set and `pach-transaction` when a
 * transaction is named (per client or per call), as pachctl and the Python SDK send them.
 * Channel settings mirror pachctl's: 20 MiB messages, keepalive every 20 s.
 *
 * Typing: each service's client type comes from the types generated at build time
 * (src/server/proto/gen); `unary`/`stream`/`send` take the service client and a method name,
 * and infer the request and response types from the method.
 * @example
 *   const c = new PachdClient('grpc://localhost:30650')
 *   const repo = await c.unary(c.pfs, 'InspectRepo', {repo: {name: 'images', type: 'user', project: {name: 'default'}}})
 *   for await (const info of c.stream(c.pfs, 'ListRepo', {type: 'user'})) console.log(info.repo?.name)
 */
import {ChannelCredentials, credentials, Metadata, type CallOptions, type ClientReadableStream, type ClientUnaryCall, type ClientWritableStream, type requestCallback, type ServiceError} from '@grpc/grpc-js'
import {grpcObject} from '../server/grpc/definitions.js'
import type {ProtoGrpcType as PfsProto} from '../server/proto/gen/pfs.js'
import type {ProtoGrpcType as PpsProto} from '../server/proto/gen/pps.js'
import type {ProtoGrpcType as TxProto} from '../server/proto/gen/transaction.js'
import type {ProtoGrpcType as AdminProto} from '../server/proto/gen/admin.js'
import type {ProtoGrpcType as VersionProto} from '../server/proto/gen/version.js'
import type {ProtoGrpcType as HealthProto} from '../server/proto/gen/health.js'
import type {ProtoGrpcType as AuthProto} from '../server/proto/gen/auth.js'
import type {ProtoGrpcType as EnterpriseProto} from '../server/proto/gen/enterprise.js'
import type {ProtoGrpcType as MetadataProto} from '../server/proto/gen/metadata.js'

type Ctor<T> = new (address: string, creds: ChannelCredentials, options?: object) => T
type InstanceOf<C> = C extends Ctor<infer T> ? T : never

export type PfsClient = InstanceOf<PfsProto['pfs_v2']['API']>
export type PpsClient = InstanceOf<PpsProto['pps_v2']['API']>
export type TransactionClient = InstanceOf<TxProto['transaction_v2']['API']>
export type AdminClient = InstanceOf<AdminProto['admin_v2']['API']>
export type VersionClient = InstanceOf<VersionProto['versionpb_v2']['API']>
export type HealthClient = InstanceOf<HealthProto['grpc']['health']['v1']['Health']>
export type AuthClient = InstanceOf<AuthProto['auth_v2']['API']>
export type EnterpriseClient = InstanceOf<EnterpriseProto['enterprise_v2']['API']>
/** pachd 2.10+ user metadata (EditMetadata); older pachd answers UNIMPLEMENTED */
export type MetadataClient = InstanceOf<MetadataProto['metadata']['API']>

// the last overload of each generated method: (argument, callback) for unary, (argument,
// options?) for server streams, (callback) for client streams
type UnaryReq<F> = F extends (arg: infer A, cb: requestCallback<infer _R>) => ClientUnaryCall ? A : never
type UnaryRes<F> = F extends (arg: infer _A, cb: requestCallback<infer R>) => ClientUnaryCall ? R : never
type StreamReq<F> = F extends (arg: infer A, options?: CallOptions) => ClientReadableStream<infer _R> ? A : never
type StreamRes<F> = F extends (arg: infer _A, options?: CallOptions) => ClientReadableStream<infer R> ? R : never
type SendReq<F> = F extends (cb: requestCallback<infer _R>) => ClientWritableStream<infer Q> ? Q : never
type SendRes<F> = F extends (cb: requestCallback<infer R>) => ClientWritableStream<infer _Q> ? R : never

export interface PachdClientOptions {
  /** sent as `authn-token` */
  token?: string
  /** sent as `pach-transaction` on every call (a call's own option wins) */
  transaction?: string
  /** PEM of the CAs to trust for grpcs:// */
  serverCas?: string | Buffer
}

export interface PachdCallOptions {
  signal?: AbortSignal
  /** overrides the client's transaction for this call ('' = none) */
  transaction?: string
  deadline?: Date
}

/** Split a pachd address into the grpc-js target and whether it uses TLS. */
export function parsePachdAddress(address: string): {target: string; tls: boolean} {
  // a unix socket is grpc-js's own target syntax, with no port
  if (/^unix:/i.test(address.trim())) return {target: address.trim(), tls: false}
  const m = /^(grpcs?|https?):\/\/(.+)$/.exec(address.trim())
  const scheme = m?.[1] ?? 'grpc'
  let target = (m?.[2] ?? address.trim()).replace(/\/+$/, '')
  if (!/:\d+$/.test(target)) target += ':30650'
  return {target, tls: scheme === 'grpcs' || scheme === 'https'}
}

/** 20 MiB, as pachd's own limit: the largest message either side sends. */
const MAX_MESSAGE = 20 * 1024 * 1024

export class PachdClient {
  readonly pfs: PfsClient
  readonly pps: PpsClient
  readonly transaction: TransactionClient
  readonly admin: AdminClient
  readonly version: VersionClient
  readonly health: HealthClient
  readonly auth: AuthClient
  readonly enterprise: EnterpriseClient
  readonly metadata: MetadataClient
  private readonly all: {close(): void}[]

  constructor(readonly address: string, readonly opts: PachdClientOptions = {}) {
    const {target, tls} = parsePachdAddress(address)
    const creds = tls ? credentials.createSsl(opts.serverCas ? Buffer.from(opts.serverCas) : undefined) : credentials.createInsecure()
    const channelOptions = {
      'grpc.max_receive_message_length': MAX_MESSAGE,
      'grpc.max_send_message_length': MAX_MESSAGE,
      'grpc.keepalive_time_ms': 20_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.keepalive_permit_without_calls': 1,
      // HTTP/2 windows with room for whole messages (Node's 64 KiB default makes a long
      // listing wait for a window update every few hundred entries)
      'grpc-node.flow_control_window': 32 * 1024 * 1024,
    }
    const o = grpcObject() as unknown as PfsProto & PpsProto & TxProto & AdminProto & VersionProto & HealthProto & AuthProto & EnterpriseProto & MetadataProto
    // one channel for every service (grpc-js shares it between clients with equal settings)
    this.pfs = new o.pfs_v2.API(target, creds, channelOptions)
    this.pps = new o.pps_v2.API(target, creds, channelOptions)
    this.transaction = new o.transaction_v2.API(target, creds, channelOptions)
    this.admin = new o.admin_v2.API(target, creds, channelOptions)
    this.version = new o.versionpb_v2.API(target, creds, channelOptions)
    this.health = new o.grpc.health.v1.Health(target, creds, channelOptions)
    this.auth = new o.auth_v2.API(target, creds, channelOptions)
    this.enterprise = new o.enterprise_v2.API(target, creds, channelOptions)
    this.metadata = new o.metadata.API(target, creds, channelOptions)
    this.all = [this.pfs, this.pps, this.transaction, this.admin, this.version, this.health, this.auth, this.enterprise, this.metadata]
  }

  /** The headers (gRPC metadata) every call carries. */
  headers(call: PachdCallOptions = {}): Metadata {
    const md = new Metadata()
    if (this.opts.token) md.set('authn-token', this.opts.token)
    const tx = call.transaction ?? this.opts.transaction
    if (tx) md.set('pach-transaction', tx)
    return md
  }

  /** A unary call; rejects with the ServiceError (code, details). */
  unary<C, M extends keyof C & string>(client: C, method: M, req: UnaryReq<C[M]>, call: PachdCallOptions = {}): Promise<UnaryRes<C[M]>> {
    return new Promise((resolve, reject) => {
      const fn = client[method] as unknown as (a: unknown, md: Metadata, o: CallOptions, cb: requestCallback<UnaryRes<C[M]>>) => ClientUnaryCall
      const c = fn.call(client, req, this.headers(call), {deadline: call.deadline}, (err, res) => (err ? reject(err) : resolve(res as UnaryRes<C[M]>)))
      call.signal?.addEventListener('abort', () => c.cancel(), {once: true})
    })
  }

  /** A server stream, as an async iterable; ends when the server ends it, throws its error. */
  async *stream<C, M extends keyof C & string>(client: C, method: M, req: StreamReq<C[M]>, call: PachdCallOptions = {}): AsyncGenerator<StreamRes<C[M]>> {
    const fn = client[method] as unknown as (a: unknown, md: Metadata, o: CallOptions) => ClientReadableStream<StreamRes<C[M]>>
    const s = fn.call(client, req, this.headers(call), {deadline: call.deadline})
    const onAbort = () => s.cancel()
    call.signal?.addEventListener('abort', onAbort, {once: true})
    try {
      for await (const msg of s) yield msg as StreamRes<C[M]>
    } finally {
      call.signal?.removeEventListener('abort', onAbort)
      s.cancel()
    }
  }

  /** A client stream: writes every request (with backpressure), then half-closes; resolves to the response. */
  async send<C, M extends keyof C & string>(client: C, method: M, reqs: AsyncIterable<SendReq<C[M]>> | Iterable<SendReq<C[M]>>, call: PachdCallOptions = {}): Promise<SendRes<C[M]>> {
    let w!: ClientWritableStream<SendReq<C[M]>>
    const result = new Promise<SendRes<C[M]>>((resolve, reject) => {
      const fn = client[method] as unknown as (md: Metadata, o: CallOptions, cb: requestCallback<SendRes<C[M]>>) => ClientWritableStream<SendReq<C[M]>>
      w = fn.call(client, this.headers(call), {deadline: call.deadline}, (err, res) => (err ? reject(err) : resolve(res as SendRes<C[M]>)))
    })
    const onAbort = () => w.cancel()
    call.signal?.addEventListener('abort', onAbort, {once: true})
    // settles when the call ends either way: a write waiting for 'drain' must not outlive it
    let over = false
    const ended = result.then(
      () => void (over = true),
      () => void (over = true),
    )
    try {
      for await (const r of reqs) {
        if (!w.write(r)) {
          await Promise.race([new Promise<void>((res) => w.once('drain', () => res())), ended])
        }
        // a flag, not a race of promises per request (100,000 requests of a small-file upload)
        if (over) break
      }
      // a cancelled call is never half-closed: the server must not take it as complete
      if (!call.signal?.aborted) w.end()
      return await result
    } catch (e) {
      w.cancel()
      throw e
    } finally {
      call.signal?.removeEventListener('abort', onAbort)
    }
  }

  close(): void {
    for (const c of this.all) c.close()
  }
}

/** Whether `e` is a gRPC error with `code` (a grpc-js `status` value). */
export function isGrpcError(e: unknown, code?: number): e is ServiceError {
  return typeof e === 'object' && e !== null && typeof (e as ServiceError).code === 'number' && 'details' in e && (code === undefined || (e as ServiceError).code === code)
}
