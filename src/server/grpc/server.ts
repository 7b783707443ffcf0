/**
 * `pach serve`'s gRPC server: pachd's API (the services in src/server/proto) over one open
 * pach project.
 *
 * Every service and method the .proto files declare is registered, so a client never gets
 * grpc-js's own "does not implement the method" answer, which Pachyderm's clients do not
 * recognise: methods with behaviour come from the service modules (admin.ts, pfs.ts, …);
 * the auth_v2 and identity_v2 methods answer UNIMPLEMENTED `the auth service is not
 * activated` (the text clients match to know auth is off); the rest answer UNIMPLEMENTED
 * with one line saying why pach does not serve them (unsupported.ts).
 *
 * Transport: cleartext HTTP/2 (grpc://), messages up to pachd's 20 MiB either way (larger
 * ones are RESOURCE_EXHAUSTED, as pachd answers; the Python SDK sends 19 MiB chunks),
 * responses streamed in 2 MiB pieces.
 */
import {Server, ServerCredentials, status, type ServiceDefinition, type UntypedServiceImplementation} from '@grpc/grpc-js'
import type {Http2Session} from 'node:http2'
import {MAX_MESSAGE_BYTES, serviceDefinition, serviceNames} from './definitions.js'
import {Encoded, EncodedValue} from './wire.js'
import {handlers, methodKind, type AuthConfig, type Handlers} from './call.js'
import {AUTH_NOT_ACTIVATED} from './status.js'
import {unsupportedReason} from './unsupported.js'
import type {ServiceDeps} from './deps.js'
import {adminServices} from './admin.js'
import {pfsService} from './pfs.js'
import {pfsFileMethods} from './pfs-files.js'
import {ppsService} from './pps.js'
import {transactionService} from './transaction.js'
import {metadataService} from './metadata.js'

export type ServiceModule = (deps: ServiceDeps, h: Handlers) => Record<string, UntypedServiceImplementation>

/** The service modules; each returns implementations by full service name. */
const MODULES: ServiceModule[] = [
  adminServices,
  (d, h) => ({'pfs_v2.API': {...pfsService(d, h), ...pfsFileMethods(d, h)}}),
  (d, h) => ({'pps_v2.API': ppsService(d, h)}),
  (d, h) => ({'transaction_v2.API': transactionService(d, h)}),
  (d, h) => ({'metadata.API': metadataService(d, h)}),
]

const AUTH_SERVICES = new Set(['auth_v2.API', 'identity_v2.API'])

export interface GrpcServerOptions {
  deps: ServiceDeps
  auth: AuthConfig
  /** aborted to end every open call (shutdown) */
  shutdown: AbortSignal
  onBug: (method: string, e: unknown) => void
}

/** The implementations the service modules provide, by full service name. */
export function implementations(deps: ServiceDeps, h: Handlers): Record<string, UntypedServiceImplementation> {
  const impls: Record<string, UntypedServiceImplementation> = {}
  for (const m of MODULES) Object.assign(impls, m(deps, h))
  return impls
}

/** Build the server with every declared service registered (not yet bound). */
export function buildServer(opts: GrpcServerOptions): Server {
  const server = new Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  })
  const h = handlers({auth: opts.auth, shutdown: opts.shutdown, onBug: opts.onBug})
  const impls = implementations(opts.deps, h)
  for (const name of serviceNames()) {
    const def = serviceDefinition(name)
    const impl: UntypedServiceImplementation = {}
    // a handler may answer with bytes it encoded itself (wire.ts)
    const wired: Record<string, ServiceDefinition[string]> = {}
    for (const [method, md] of Object.entries(def)) {
      const serialize = md.responseSerialize
      wired[method] = {...md, responseSerialize: (v: unknown) => (v instanceof Encoded ? v.bytes : v instanceof EncodedValue ? v.bytes() : serialize(v))}
      const own = impls[name]?.[method]
      if (own) impl[method] = own
      else if (AUTH_SERVICES.has(name)) impl[method] = h.refuse(methodKind(md), status.UNIMPLEMENTED, AUTH_NOT_ACTIVATED)
      else impl[method] = h.refuse(methodKind(md), status.UNIMPLEMENTED, unsupportedReason(name, method))
    }
    server.addService(wired, impl)
  }
  return server
}

/**
 * HTTP/2 flow-control windows per connection and per stream. Node's default (64 KiB) makes
 * an upload wait for a window update every 64 KiB, and none is sent while the event loop
 * chunks and hashes the previous message, so a client's send and the server's work take
 * turns. With room for a whole 19 MiB message (the Python SDK's) they overlap.
 */
export const STREAM_WINDOW_BYTES = 32 * 1024 * 1024
export const SESSION_WINDOW_BYTES = 64 * 1024 * 1024
/**
 * The largest HTTP/2 frame the server accepts (SETTINGS_MAX_FRAME_SIZE; HTTP/2's default is
 * 16 KiB). grpcio (the Python SDK) and Go send frames up to what the peer accepts: with 16 KiB,
 * a 19 MiB message arrives as ~1,200 frames, each its own 'data' event through Node's stream
 * and grpc-js's decoder; with larger frames, one event per socket read (64 KiB).
 */
export const MAX_FRAME_BYTES = 1024 * 1024

/** Bind `address` (`host:port`); resolves to the port bound. */
export function bind(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => {
      if (err) return reject(err)
      // grpc-js has no option for the windows: set them on each new HTTP/2 session
      const listeners = (server as unknown as {http2Servers?: Map<{on(e: 'session', f: (s: Http2Session) => void): void}, unknown>}).http2Servers
      for (const h of listeners?.keys() ?? []) {
        h.on('session', (s) => {
          try {
            s.settings({initialWindowSize: STREAM_WINDOW_BYTES, maxFrameSize: MAX_FRAME_BYTES})
            s.setLocalWindowSize(SESSION_WINDOW_BYTES)
          } catch {
            // a session already closing: nothing to tune
          }
        })
      }
      resolve(port)
    })
  })
}
