/**
 * The core's ImagePublisher (src/core/remote/images.ts) over the local Docker engine and the
 * `docker` CLI, for promoting pipelines to a cluster.
 *
 * - unavailable: the engine's ping (no engine: the core sends images as written).
 * - inspect: dockerode `image.inspect` (Id, RepoDigests, Architecture, Os); a missing image is
 *   undefined.
 * - checkPush: GET `/v2/` of the registry (https; plain http for a loopback registry, which
 *   Docker also treats as insecure by default). 200: open. 401: the registry wants
 *   credentials, so the user's Docker config must have some for it (docker-config.ts finds
 *   them as `docker push` does: credHelpers, credsStore, auths), and they must be accepted,
 *   checked as `docker login` checks them: `/v2/` with Basic auth, or the Bearer challenge's
 *   token realm with Basic auth (an identity token is left to the push). No answer, not a
 *   registry, no or refused credentials: one line saying what to do.
 * - push: `docker tag` + `docker push` (node:child_process; execa is a dev dependency only), so the user's own login and credential
 *   helpers are used; the digest is read from the push output (`digest: sha256:…`), else from
 *   the image's RepoDigests. A failure is one line (IMAGE_PUSH_FAILED) with what to do.
 */
import {spawn} from 'node:child_process'
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'
import type Dockerode from 'dockerode'
import {PachError} from '../core/errors.js'
import type {ImagePublisher, LocalImage} from '../core/remote/images.js'
import {credentialsFor, dockerConfigPath, loginCommand, registryOf, type ConfigLocation} from './docker-config.js'

export interface DockerImagePublisherOptions extends ConfigLocation {
  /** the engine (default: dockerode with the environment's DOCKER_HOST) */
  docker?: Dockerode
  /** ms to wait for a registry's /v2/ (default 5000) */
  timeoutMs?: number
}

/** Whether `host` (host[:port]) is on the loopback interface. */
function loopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
  return name === 'localhost' || name === '::1' || /^127\./.test(name)
}

/** GET url, resolving to the status code and the WWW-Authenticate header, or rejecting with the connection error. */
function status(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<{code: number; challenge: string}> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, {method: 'GET', timeout: timeoutMs, headers}, (res) => {
      res.resume()
      resolve({code: res.statusCode ?? 0, challenge: String(res.headers['www-authenticate'] ?? '')})
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

/** The parameters of a `Bearer realm="…",service="…"` challenge. */
function challengeParams(challenge: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of challenge.matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!.toLowerCase()] = m[2]!
  return out
}

/** Run `docker args…`; resolves to its exit code and output (never rejects for a non-zero exit). */
function docker(args: string[], env: NodeJS.ProcessEnv): Promise<{exitCode: number; stdout: string; stderr: string; message?: string}> {
  return new Promise((resolve) => {
    const p = spawn('docker', args, {env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    p.on('error', (e) => resolve({exitCode: -1, stdout, stderr, message: `cannot run docker: ${e.message}`}))
    p.on('close', (code) => resolve({exitCode: code ?? -1, stdout, stderr}))
  })
}

/** The last non-empty line of a command's output. */
const lastLine = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop() ?? ''

export class DockerImagePublisher implements ImagePublisher {
  private client: Dockerode | undefined

  constructor(private readonly opts: DockerImagePublisherOptions = {}) {
    this.client = opts.docker
  }

  private async engine(): Promise<Dockerode> {
    if (!this.client) {
      const {default: Docker} = await import('dockerode')
      this.client = new Docker()
    }
    return this.client
  }

  async unavailable(): Promise<string | undefined> {
    try {
      await (await this.engine()).ping()
      return undefined
    } catch (e) {
      return `Docker: ${(e as Error).message.split('\n')[0]}`
    }
  }

  async inspect(ref: string): Promise<LocalImage | undefined> {
    const engine = await this.engine()
    try {
      const i = await engine.getImage(ref).inspect()
      return {id: i.Id, repoDigests: i.RepoDigests ?? [], architecture: i.Architecture, os: i.Os}
    } catch (e) {
      if ((e as {statusCode?: number}).statusCode === 404) return undefined
      throw new PachError('IMAGE_PUSH_FAILED', `cannot inspect image ${ref} in the local Docker engine: ${(e as Error).message}`, {hint: 'check that Docker runs (`docker info`)', cause: e})
    }
  }

  async checkPush(registry: string): Promise<string | undefined> {
    const timeoutMs = this.opts.timeoutMs ?? 5000
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry
    const urls = [`https://${host}/v2/`, ...(loopback(host) ? [`http://${host}/v2/`] : [])]
    let answer: {code: number; challenge: string} | undefined
    let base = ''
    let lastError = ''
    for (const url of urls) {
      try {
        answer = await status(url, timeoutMs)
        base = url
        break
      } catch (e) {
        lastError = `${url}: ${(e as Error).message}`
      }
    }
    if (!answer) return `the registry does not answer (${lastError}); start it, or name another with --registry`
    if (answer.code === 200) return undefined
    if (answer.code !== 401) return `GET /v2/ answered HTTP ${answer.code}, which a Docker registry does not; check the registry's address`
    const reg = registryOf(`${registry}/x`)
    let creds
    try {
      creds = credentialsFor(reg, this.opts)
    } catch (e) {
      return (e as Error).message
    }
    if (!creds) return `the registry asks for credentials and ${dockerConfigPath(this.opts)} has none for it; run \`${loginCommand(reg)}\` first`
    // what `docker login` checks: the credentials open /v2/ (Basic), or get a token (Bearer)
    const {username, password, identitytoken} = creds.auth
    if (identitytoken || username === undefined) return undefined // a refresh token: checked by the push itself
    const basic = {Authorization: `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`}
    let check: {code: number}
    try {
      if (/^bearer/i.test(answer.challenge)) {
        const p = challengeParams(answer.challenge)
        if (!p.realm) return undefined
        const url = new URL(p.realm)
        if (p.service) url.searchParams.set('service', p.service)
        check = await status(url.toString(), timeoutMs, basic)
      } else check = await status(base, timeoutMs, basic)
    } catch (e) {
      return `cannot check the credentials from ${creds.source} (${(e as Error).message}); try \`${loginCommand(reg)}\``
    }
    if (check.code === 401 || check.code === 403) return `the registry refused the credentials from ${creds.source}; log in again with \`${loginCommand(reg)}\``
    return undefined
  }

  async push(source: string, target: string): Promise<string> {
    const reg = registryOf(target)
    const env = this.opts.env ?? process.env
    const fail = (what: string, r: {stderr?: unknown; stdout?: unknown; message?: string}) => {
      const text = `${String(r.stderr ?? '')}\n${String(r.stdout ?? '')}`
      const line = lastLine(String(r.stderr ?? '')) || lastLine(String(r.stdout ?? '')) || r.message || 'failed'
      const auth = /unauthorized|denied|authentication required|no basic auth credentials|login/i.test(text)
      return new PachError('IMAGE_PUSH_FAILED', `cannot push image ${source} as ${target}: ${what} failed: ${line}`, {
        hint: auth ? `log in with \`${loginCommand(reg)}\` (or pass --registry for one you can push to) and push again; nothing was sent` : `check that \`docker push ${target}\` works, then push again; nothing was sent`,
        data: {image: source, target, registry: reg.host},
      })
    }
    const tag = await docker(['tag', source, target], env)
    if (tag.exitCode !== 0) throw fail('docker tag', tag)
    const pushed = await docker(['push', target], env)
    if (pushed.exitCode !== 0) throw fail('docker push', pushed)
    const m = /digest: (sha256:[0-9a-f]{64})/.exec(String(pushed.stdout))
    if (m) return m[1]!
    const i = await this.inspect(target)
    const repo = target.replace(/:[^:/]+$/, '')
    const rd = i?.repoDigests.find((d) => d.startsWith(`${repo}@`))
    if (!rd) throw fail('reading the pushed digest', {stderr: `docker push printed no digest and the image has none for ${repo}`})
    return rd.slice(rd.indexOf('@') + 1)
  }
}
