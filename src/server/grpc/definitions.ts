/**
 * The wire definitions of pachd's API as pach speaks it: the project's .proto files
 * (src/server/proto), compiled at build time into one JSON descriptor (proto/gen), loaded
 * here once with @grpc/proto-loader. The server and the client share these definitions and
 * the loader options, which fix how messages look in JavaScript:
 * - field names as in the .proto (snake_case, and pachd's few camelCase names such as
 *   `paginationMarker`, `jqFilter`, `URL`);
 * - 64-bit integers as JavaScript numbers (pachd's counters and sizes fit);
 * - enums as their names (`"FINISHED"`), accepted as names or numbers on the way out;
 * - absent fields filled with their defaults (messages with null), and each oneof's present
 *   member named in a virtual field (`ModifyFileRequest.body === "add_file"`), so presence is
 *   read from the discriminator, never from emptiness (an empty `raw` is still a file).
 */
import {loadPackageDefinition, type GrpcObject, type ServiceDefinition} from '@grpc/grpc-js'
import {fromJSON, type Options, type PackageDefinition} from '@grpc/proto-loader'
import {DESCRIPTOR} from '../proto/gen/descriptor.js'

export const LOADER_OPTIONS: Options = {keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true}

/**
 * Largest message either side accepts or sends: pachd's own limit (grpcutil.MaxMsgSize, 20 MiB),
 * so a client tested against pach serve meets pachd's RESOURCE_EXHAUSTED (the Python SDK's
 * 19 MiB chunks fit).
 */
export const MAX_MESSAGE_BYTES = 20 * 1024 * 1024
/** The most payload a streamed response message carries (any client's default 4 MiB limit takes it). */
export const RESPONSE_CHUNK_BYTES = 2 * 1024 * 1024

let cached: PackageDefinition | undefined

/** The package definition (every service and message), parsed on first use. */
export function packageDefinition(): PackageDefinition {
  cached ??= fromJSON(DESCRIPTOR as Parameters<typeof fromJSON>[0], LOADER_OPTIONS)
  return cached
}

/** The service at its full name (`pfs_v2.API`, `grpc.health.v1.Health`). */
export function serviceDefinition(fullName: string): ServiceDefinition {
  const def: unknown = packageDefinition()[fullName]
  if (!def || typeof def !== 'object' || 'format' in def) throw new Error(`no service ${fullName} in the proto definitions`)
  return def as ServiceDefinition
}

/** Client constructors per service, for pach's own client (src/server/client). */
export function grpcObject(): GrpcObject {
  return loadPackageDefinition(packageDefinition())
}

/** Every service declared in the .proto files, by full name. */
export function serviceNames(): string[] {
  const def = packageDefinition()
  return Object.keys(def).filter((k) => {
    const v = def[k] as Record<string, unknown>
    return !('format' in v) && Object.values(v).every((m) => typeof m === 'object' && m !== null && 'path' in m)
  })
}
