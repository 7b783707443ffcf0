/**
 * Remotes are pachctl contexts (issue 14): `pach push`/`pull`/`remote list` name a context of
 * the user's pachctl config, or give an address, and reach that pachd exactly as pachctl would.
 * pach never writes that file here (only `pach serve --set-context` does, on request).
 *
 * Resolution, as pachctl's `getUserMachineAddrAndOpts` (src/internal/client/client.go):
 * - the REMOTE argument: an address (`grpc://`, `grpcs://`, `http://`, `https://`,
 *   `unix://`, or bare `host:port`) is used as is; anything else names a context, which must
 *   exist. No argument = `$PACH_CONTEXT` (an unknown name is an error), else the active context.
 * - a context's address: `$PACHD_ADDRESS` overrides it (pachctl lets it override everything,
 *   server_cas included: the CAs then come from the deprecated `$PACH_CA_CERTS`, which needs
 *   grpcs://), else `pachd_address`, else `port_forwarders.pachd` → `localhost:<port>`; with none of them
 *   the user is told to run `pachctl connect` (pach does not port-forward through kubectl).
 * - `session_token` is sent as `authn-token`; `server_cas` (base64 PEM) is the only trust
 *   for TLS and needs `grpcs://`; `project` (empty = `default`) is the remote project.
 * - keys may be snake_case (pachctl writes them) or lowerCamel (protojson); a legacy `v1`
 *   object is the context `default`.
 * Address syntax (src/internal/grpcutil/addr.go): no path, user, query or fragment; default
 * port 30650; the canonical form is `grpc://host:port` (or grpcs, or unix://path).
 */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {InvalidArgumentError} from '../core/errors.js'
import {pachctlConfigPath, readPachctlConfig, type PachctlConfig} from './pachctl-config.js'

type Env = Readonly<Record<string, string | undefined>>

export interface ResolvedRemote {
  /** the context's name, or the address as the user gave it */
  name: string
  /** canonical `grpc://host:port`, `grpcs://host:port` or `unix:///path` */
  address: string
  token?: string
  /** PEM text of the CAs to trust (the context's `server_cas`, decoded) */
  serverCas?: string
  /** the remote project (the context's `project`, else `default`) */
  project: string
  /** the context's `cluster_deployment_id`, when it has one (compared, never written) */
  deploymentId?: string
  /** where it came from: `context` (from the config file) or `address` */
  source: 'context' | 'address'
}

export interface ContextSummary {
  name: string
  active: boolean
  /** canonical address, or null when the context has none pach can use */
  address: string | null
  project: string
  hasToken: boolean
  deploymentId: string | null
}

const SCHEMES = ['grpc', 'grpcs', 'http', 'https', 'unix'] as const
export const DEFAULT_PACHD_PORT = 30650

/** True when `arg` reads as an address rather than a context name. */
export function looksLikeAddress(arg: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(arg) || /^[^/\s]+:\d+$/.test(arg)
}

/**
 * The canonical form of a pachd address, or an INVALID_INPUT error saying what is wrong.
 * `host:port` and `host` mean grpc://; http(s) are grpc(s).
 */
export function canonicalAddress(text: string): string {
  const bad = (why: string) =>
    new InvalidArgumentError('INVALID_INPUT', `invalid pachd address ${JSON.stringify(text)}: ${why}`, {hint: 'use grpc://HOST:PORT or grpcs://HOST:PORT (port 30650 when left out)'})
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `grpc://${text}`
  const scheme = withScheme.slice(0, withScheme.indexOf(':')).toLowerCase()
  if (!(SCHEMES as readonly string[]).includes(scheme)) throw bad(`unknown scheme ${scheme}:// (known: ${SCHEMES.join(', ')})`)
  if (scheme === 'unix') {
    const path = withScheme.slice('unix://'.length)
    if (!path.startsWith('/')) throw bad('a unix socket address needs an absolute path (unix:///path)')
    return `unix://${path}`
  }
  let url: URL
  try {
    // a scheme the URL parser has no default port for (with http:, an explicit :80 vanished)
    url = new URL(withScheme.replace(/^[a-z]+:/i, 'pach:'))
  } catch {
    throw bad('not a URL')
  }
  if (url.username || url.password) throw bad('no user or password may be given in the address')
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash) throw bad('no path, query or fragment may be given')
  if (!url.hostname) throw bad('no host')
  const tls = scheme === 'grpcs' || scheme === 'https'
  return `${tls ? 'grpcs' : 'grpc'}://${url.hostname.toLowerCase()}:${url.port || DEFAULT_PACHD_PORT}`
}

/** A context's value under its snake_case key or its lowerCamel one. */
function field(ctx: Record<string, unknown>, snake: string): unknown {
  if (ctx[snake] !== undefined) return ctx[snake]
  return ctx[snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())]
}

function contextsOf(cfg: PachctlConfig): {contexts: Record<string, Record<string, unknown>>; active: string | undefined} {
  const v2 = cfg.v2 as Record<string, unknown> | undefined
  const contexts = {...((v2?.contexts as Record<string, Record<string, unknown>> | undefined) ?? {})}
  const v1 = cfg.v1 as Record<string, unknown> | undefined
  if (v1 && typeof v1 === 'object' && !contexts.default) contexts.default = v1
  const active = (v2 && (field(v2, 'active_context') as string | undefined)) || (v1 && !v2 ? 'default' : undefined)
  return {contexts, active}
}

function contextAddress(ctx: Record<string, unknown>): string | null {
  const addr = field(ctx, 'pachd_address')
  if (typeof addr === 'string' && addr !== '') return canonicalAddress(addr)
  const fwd = field(ctx, 'port_forwarders') as Record<string, unknown> | undefined
  const port = fwd && typeof fwd === 'object' ? Number(fwd.pachd) : NaN
  return Number.isInteger(port) && port > 0 ? `grpc://localhost:${port}` : null
}

function decodeCas(b64: unknown, where: string): string | undefined {
  if (typeof b64 !== 'string' || b64 === '') return undefined
  const pem = Buffer.from(b64, 'base64').toString('utf8')
  if (!pem.includes('-----BEGIN')) throw new InvalidArgumentError('INVALID_INPUT', `${where}: server_cas is not a base64-encoded PEM certificate`, {hint: 'fix the context with pachctl config update context'})
  return pem
}

/**
 * The CAs of the deprecated `$PACH_CA_CERTS` (comma-separated files or directories, read as
 * pachctl reads them, skipping what cannot be read); it needs a grpcs:// `$PACHD_ADDRESS`.
 */
function envCas(env: Env, address: string): string | undefined {
  if (!env.PACH_CA_CERTS) return undefined
  if (!address.startsWith('grpcs://')) throw new InvalidArgumentError('INVALID_ENV', `PACH_CA_CERTS is set but PACHD_ADDRESS ${address} is not grpcs://`, {hint: 'use PACHD_ADDRESS=grpcs://HOST:PORT, or unset PACH_CA_CERTS'})
  const pems: string[] = []
  const walk = (p: string): void => {
    try {
      if (statSync(p).isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e))
      else pems.push(readFileSync(p, 'utf8'))
    } catch {
      // pachctl logs and skips a path it cannot read
    }
  }
  for (const p of env.PACH_CA_CERTS.split(',')) walk(p)
  return pems.length ? pems.join('\n') : undefined
}

/** Every context of the user's pachctl config, for `pach remote list`. */
export function listContexts(env: Env = process.env): {path: string; contexts: ContextSummary[]} {
  const path = pachctlConfigPath(env)
  const {contexts, active: configured} = contextsOf(readPachctlConfig(path))
  // the context push/pull use by default: $PACH_CONTEXT first (pachctl's ActiveContext)
  const active = env.PACH_CONTEXT || configured
  const out = Object.entries(contexts)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, ctx]): ContextSummary => {
      let address: string | null
      try {
        address = contextAddress(ctx)
      } catch {
        address = null
      }
      const token = field(ctx, 'session_token')
      const dep = field(ctx, 'cluster_deployment_id')
      return {name, active: name === active, address, project: (field(ctx, 'project') as string) || 'default', hasToken: typeof token === 'string' && token !== '', deploymentId: typeof dep === 'string' && dep !== '' ? dep : null}
    })
  return {path, contexts: out}
}

/**
 * What REMOTE (a context name, an address, or nothing for the current context) points at.
 * Throws INVALID_INPUT with a line saying what to do when it cannot be resolved.
 */
export function resolveRemote(arg: string | undefined, env: Env = process.env): ResolvedRemote {
  if (arg !== undefined && looksLikeAddress(arg)) {
    const address = canonicalAddress(arg)
    return {name: arg, address, project: 'default', source: 'address'}
  }
  const path = pachctlConfigPath(env)
  const {contexts, active} = contextsOf(readPachctlConfig(path))
  const name = arg ?? (env.PACH_CONTEXT || active)
  if (!name) {
    throw new InvalidArgumentError('INVALID_INPUT', `no remote given and no active pachctl context in ${path}`, {hint: 'name a context or an address (grpc://HOST:PORT), or run `pachctl connect grpc://HOST:PORT` first'})
  }
  const ctx = contexts[name]
  if (!ctx) {
    const known = Object.keys(contexts)
    const from = arg === undefined && env.PACH_CONTEXT ? ' ($PACH_CONTEXT)' : ''
    throw new InvalidArgumentError('INVALID_INPUT', `no pachctl context named ${JSON.stringify(name)}${from} in ${path}${known.length ? ` (known: ${known.join(', ')})` : ''}`, {
      hint: 'run `pach remote list` to see the contexts, or give an address (grpc://HOST:PORT)',
    })
  }
  const where = `context ${JSON.stringify(name)} in ${path}`
  let address: string | null
  let serverCas: string | undefined
  if (env.PACHD_ADDRESS) {
    // as pachctl: $PACHD_ADDRESS replaces the context's address AND its server_cas (the
    // deprecated $PACH_CA_CERTS gives the CAs then); the token still comes from the context
    address = canonicalAddress(env.PACHD_ADDRESS)
    serverCas = envCas(env, address)
  } else {
    if (env.PACH_CA_CERTS) throw new InvalidArgumentError('INVALID_ENV', 'PACH_CA_CERTS is set without PACHD_ADDRESS', {hint: 'unset PACH_CA_CERTS (deprecated; use the context\'s server_cas) or set PACHD_ADDRESS=grpcs://HOST:PORT'})
    address = contextAddress(ctx)
    if (!address) throw new InvalidArgumentError('INVALID_INPUT', `${where} has no pachd address`, {hint: 'run `pachctl connect grpc://HOST:PORT` (pach does not port-forward through kubectl)'})
    serverCas = decodeCas(field(ctx, 'server_cas'), where)
    if (serverCas && !address.startsWith('grpcs://')) throw new InvalidArgumentError('INVALID_INPUT', `${where} has server_cas but address ${address} is not grpcs://`, {hint: 'use a grpcs:// address with server_cas'})
  }
  const token = field(ctx, 'session_token')
  const dep = field(ctx, 'cluster_deployment_id')
  return {
    name,
    address,
    project: (field(ctx, 'project') as string) || 'default',
    source: 'context',
    ...(typeof token === 'string' && token !== '' ? {token} : {}),
    ...(serverCas ? {serverCas} : {}),
    ...(typeof dep === 'string' && dep !== '' ? {deploymentId: dep} : {}),
  }
}
