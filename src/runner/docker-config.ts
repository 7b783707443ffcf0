/**
 * Registry credentials, found where the Docker CLI finds them, for pulling a pipeline's image.
 *
 * Concepts:
 * - An image reference names its registry the way Docker normalises names: the part before
 *   the first `/` is a registry host when it contains a `.` or a `:` or is `localhost`;
 *   otherwise (`busybox`, `pachyderm/opencv`) the image is on Docker Hub, whose credentials
 *   are filed under `https://index.docker.io/v1/`.
 * - The Docker config is `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. A
 *   registry's credentials come from, in order: `credHelpers[<host>]`, then `credsStore`
 *   (both name a program `docker-credential-<name>` on PATH, asked with `get` and the server
 *   address on stdin, answering `{"Username", "Secret"}`; a Username of `<token>` means the
 *   Secret is an identity token), then `auths[<host>]` (`auth` = base64 of `user:password`,
 *   or `username`/`password`, or `identitytoken`). Keys of `auths` are matched by host, so
 *   `https://localhost:5000/v1/` serves `localhost:5000`.
 * - No config file, or no entry for the registry: the pull is anonymous. A config that is
 *   not JSON, or a helper that is missing or fails, is a RunnerError naming the file or the
 *   helper (as `docker pull` fails there too).
 *
 * Nothing here talks to the engine; docker-pull.ts sends what this finds with the pull.
 */
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {RunnerError} from '../core/errors.js'

/** Docker Hub's names: the key its credentials are filed under, and the hosts that mean it. */
export const HUB_SERVER = 'https://index.docker.io/v1/'
const HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])

export interface Registry {
  /** `localhost:5000`, `ghcr.io`; `docker.io` for Docker Hub */
  host: string
  hub: boolean
}

/** The registry an image reference pulls from (see the header). */
export function registryOf(image: string): Registry {
  const slash = image.indexOf('/')
  const first = slash < 0 ? '' : image.slice(0, slash)
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost') && !HUB_HOSTS.has(first)) return {host: first, hub: false}
  return {host: 'docker.io', hub: true}
}

/** "Docker Hub (docker.io)" or the registry host, for messages. */
export function registryName(r: Registry): string {
  return r.hub ? 'Docker Hub (docker.io)' : r.host
}

/** The command that stores credentials for `r`: `docker login` (Docker Hub) or `docker login <host>`. */
export function loginCommand(r: Registry): string {
  return r.hub ? 'docker login' : `docker login ${r.host}`
}

/** What the engine's pull takes as X-Registry-Auth. */
export interface AuthConfig {
  username?: string
  password?: string
  identitytoken?: string
  serveraddress: string
}

export interface Credentials {
  auth: AuthConfig
  /** where they came from, for messages: the config file, or `docker-credential-<name>` */
  source: string
}

export interface ConfigLocation {
  /** environment to read DOCKER_CONFIG and PATH from (default process.env) */
  env?: NodeJS.ProcessEnv
  /** home directory (default os.homedir()) */
  home?: string
}

/** The Docker config file pach reads (it may not exist). */
export function dockerConfigPath(loc: ConfigLocation = {}): string {
  const env = loc.env ?? process.env
  return env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(loc.home ?? homedir(), '.docker', 'config.json')
}

interface DockerConfigFile {
  auths?: Record<string, {auth?: string; username?: string; password?: string; identitytoken?: string}>
  credsStore?: string
  credHelpers?: Record<string, string>
}

/**
 * The credentials for `registry` from the user's Docker config; undefined when there are none.
 * @throws RunnerError when the config is not JSON, or its credential helper is missing or fails.
 * @example
 *   const c = credentialsFor(registryOf('localhost:5000/team/tool:1'))
 *   // → {auth: {username: 'alice', password: '…', serveraddress: 'localhost:5000'}, source: '/home/a/.docker/config.json'}
 */
export function credentialsFor(registry: Registry, loc: ConfigLocation = {}): Credentials | undefined {
  const path = dockerConfigPath(loc)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined
    throw new RunnerError(`cannot read the Docker config ${path}: ${(e as Error).message}`, {cause: e})
  }
  let cfg: DockerConfigFile
  try {
    cfg = JSON.parse(text) as DockerConfigFile
    if (typeof cfg !== 'object' || cfg === null) throw new Error('not a JSON object')
  } catch (e) {
    throw new RunnerError(`the Docker config ${path} is not valid JSON (${(e as Error).message}); fix it or move it away`, {cause: e})
  }
  const server = registry.hub ? HUB_SERVER : registry.host

  const helper = entryFor(cfg.credHelpers ?? {}, registry) ?? cfg.credsStore
  if (helper) {
    const from = cfg.credHelpers && entryFor(cfg.credHelpers, registry) ? `credHelpers in ${path}` : `credsStore in ${path}`
    const got = askHelper(helper, server, from, loc.env ?? process.env)
    if (got) return got
  }

  const a = entryFor(cfg.auths ?? {}, registry)
  if (!a) return undefined
  if (a.identitytoken) return {auth: {identitytoken: a.identitytoken, serveraddress: server}, source: path}
  if (a.auth) {
    const plain = Buffer.from(a.auth, 'base64').toString('utf8')
    const colon = plain.indexOf(':')
    if (colon < 0) throw new RunnerError(`the Docker config ${path} has an auth entry for ${registry.host} that is not base64 of user:password; run \`${loginCommand(registry)}\` again`)
    return {auth: {username: plain.slice(0, colon), password: plain.slice(colon + 1), serveraddress: server}, source: path}
  }
  if (a.username !== undefined) return {auth: {username: a.username, password: a.password ?? '', serveraddress: server}, source: path}
  return undefined
}

/** The host a config key names (`https://host/v1/` → `host`), as the Docker CLI compares them. */
function keyHost(key: string): string {
  return key.replace(/^https?:\/\//, '').split('/')[0]!
}

function entryFor<T>(map: Record<string, T>, registry: Registry): T | undefined {
  for (const [k, v] of Object.entries(map)) {
    const h = keyHost(k)
    if (registry.hub ? HUB_HOSTS.has(h) : h === registry.host) return v
  }
  return undefined
}

/** Ask `docker-credential-<name> get` for `server`'s credentials; undefined when it has none. */
function askHelper(name: string, server: string, from: string, env: NodeJS.ProcessEnv): Credentials | undefined {
  const program = `docker-credential-${name}`
  const r = spawnSync(program, ['get'], {input: server, env, timeout: 30_000, encoding: 'utf8'})
  if (r.error) {
    const why = (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is not installed (not on PATH)' : `failed (${r.error.message})`
    throw new RunnerError(`credential helper ${program} (${from}) ${why}; install it, or remove it from the config and use \`auths\``)
  }
  const out = `${r.stdout ?? ''}`.trim()
  if (r.status !== 0) {
    // the protocol's answer for "no credentials for this server"
    if (/credentials not found/i.test(out) || /credentials not found/i.test(r.stderr ?? '')) return undefined
    const why = (out || `${r.stderr ?? ''}`.trim() || `exit ${r.status}`).split('\n')[0]
    throw new RunnerError(`credential helper ${program} (${from}) failed for ${server}: ${why}`)
  }
  let ans: {Username?: string; Secret?: string}
  try {
    ans = JSON.parse(out) as {Username?: string; Secret?: string}
  } catch {
    throw new RunnerError(`credential helper ${program} (${from}) answered something that is not JSON for ${server}`)
  }
  if (!ans.Secret) return undefined
  if (ans.Username === '<token>') return {auth: {identitytoken: ans.Secret, serveraddress: server}, source: program}
  return {auth: {username: ans.Username ?? '', password: ans.Secret, serveraddress: server}, source: program}
}
