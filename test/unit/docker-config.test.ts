/**
 * Registry credentials and pull errors (src/runner/docker-config.ts, docker-pull.ts) without
 * an engine: which registry an image names, which Docker config entry serves it, the pull
 * progress fold and the one-line failure for each kind of engine error. The pulls
 * themselves are tested against real registries in test/e2e/images.test.ts.
 */
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it, onTestFinished} from 'vitest'
import {credentialsFor, dockerConfigPath, HUB_SERVER, registryOf} from '../../src/runner/docker-config.js'
import {PullProgress, pullFailed} from '../../src/runner/docker-pull.js'

function home(cfg?: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'pach-docker-config-'))
  onTestFinished(() => rmSync(dir, {recursive: true, force: true}))
  if (cfg !== undefined) {
    mkdirSync(join(dir, '.docker'))
    writeFileSync(join(dir, '.docker', 'config.json'), typeof cfg === 'string' ? cfg : JSON.stringify(cfg))
  }
  return dir
}
const b64 = (s: string) => Buffer.from(s).toString('base64')

describe('registryOf', () => {
  it('reads the registry host as Docker does (a dot, a port or localhost), else Docker Hub', () => {
    expect(registryOf('busybox')).toEqual({host: 'docker.io', hub: true})
    expect(registryOf('pachyderm/opencv:1.0')).toEqual({host: 'docker.io', hub: true})
    expect(registryOf('docker.io/library/busybox')).toEqual({host: 'docker.io', hub: true})
    expect(registryOf('localhost/x')).toEqual({host: 'localhost', hub: false})
    expect(registryOf('localhost:5000/team/tool:1')).toEqual({host: 'localhost:5000', hub: false})
    expect(registryOf('ghcr.io/org/img@sha256:' + 'a'.repeat(64))).toEqual({host: 'ghcr.io', hub: false})
  })
})

describe('credentialsFor', () => {
  it('reads auths (base64 auth, username/password, identitytoken) keyed by host or URL; none without a config or an entry', () => {
    const loc = {env: {}, home: home({auths: {'https://localhost:5000/v1/': {auth: b64('alice:pa:ss')}, 'reg.example': {username: 'bob', password: 'pw'}, [HUB_SERVER]: {identitytoken: 'tok'}}})}
    const path = join(loc.home, '.docker', 'config.json')
    expect(credentialsFor(registryOf('localhost:5000/x:1'), loc)).toEqual({auth: {username: 'alice', password: 'pa:ss', serveraddress: 'localhost:5000'}, source: path})
    expect(credentialsFor(registryOf('reg.example/x'), loc)).toEqual({auth: {username: 'bob', password: 'pw', serveraddress: 'reg.example'}, source: path})
    expect(credentialsFor(registryOf('busybox'), loc)).toEqual({auth: {identitytoken: 'tok', serveraddress: HUB_SERVER}, source: path})
    expect(credentialsFor(registryOf('other.example/x'), loc)).toBeUndefined()
    expect(credentialsFor(registryOf('localhost:5000/x'), {env: {}, home: home()})).toBeUndefined()
  })

  it('prefers $DOCKER_CONFIG to the home directory', () => {
    const dir = home({auths: {'r.example': {auth: b64('a:b')}}})
    const env = {DOCKER_CONFIG: join(dir, '.docker')}
    expect(dockerConfigPath({env, home: '/nonexistent'})).toBe(join(dir, '.docker', 'config.json'))
    expect(credentialsFor(registryOf('r.example/x'), {env, home: '/nonexistent'})?.auth.username).toBe('a')
  })

  it('refuses a config that is not JSON, a bad auth entry and a missing helper, each in one line', () => {
    expect(() => credentialsFor(registryOf('r.example/x'), {env: {}, home: home('{nope')})).toThrow(/^the Docker config .*config\.json is not valid JSON \(.*\); fix it or move it away$/)
    expect(() => credentialsFor(registryOf('r.example/x'), {env: {}, home: home({auths: {'r.example': {auth: b64('nocolon')}}})})).toThrow(
      /has an auth entry for r\.example that is not base64 of user:password; run `docker login r\.example` again$/,
    )
    expect(() => credentialsFor(registryOf('r.example/x'), {env: {PATH: '/nonexistent'}, home: home({credsStore: 'pach-nothere'})})).toThrow(
      /^credential helper docker-credential-pach-nothere \(credsStore in .*config\.json\) is not installed \(not on PATH\); install it, or remove it from the config and use `auths`$/,
    )
  })
})

describe('PullProgress', () => {
  it('sums the layers being downloaded; completed downloads count in full; keeps the digest', () => {
    const p = new PullProgress()
    p.event({status: 'Pulling from team/tool', id: '1'})
    p.event({status: 'Already exists', id: 'aaa'})
    p.event({status: 'Pulling fs layer', id: 'bbb'})
    p.event({status: 'Downloading', id: 'bbb', progressDetail: {current: 10, total: 100}})
    p.event({status: 'Downloading', id: 'ccc', progressDetail: {current: 5, total: 50}})
    expect([p.current, p.total]).toEqual([15, 150])
    p.event({status: 'Download complete', id: 'bbb'})
    p.event({status: 'Extracting', id: 'bbb', progressDetail: {current: 1, total: 100}})
    expect([p.current, p.total]).toEqual([105, 150])
    p.event({status: 'Digest: sha256:abc'})
    expect(p.digest).toBe('sha256:abc')
  })
})

describe('pullFailed', () => {
  const reg = registryOf('localhost:5000/t:1')
  const creds = {auth: {username: 'a', password: 'b', serveraddress: 'localhost:5000'}, source: '/h/.docker/config.json'}
  const engine = (statusCode: number, message: string) => Object.assign(new Error(`(HTTP code ${statusCode}) server error - ${message}`), {statusCode, json: {message}})

  it('says which image, from where, the engine reason and what to do, in one line', () => {
    const msg = (e: unknown, c?: typeof creds) => pullFailed('localhost:5000/t:1', reg, c, e, {env: {}, home: '/h'}).message
    expect(msg(engine(500, 'Head "http://localhost:5000/v2/t/manifests/1": no basic auth credentials'))).toBe(
      'cannot pull image localhost:5000/t:1 from localhost:5000: Head "http://localhost:5000/v2/t/manifests/1": no basic auth credentials; log in with `docker login localhost:5000` (pach reads credentials from /h/.docker/config.json)',
    )
    expect(msg(engine(500, 'unauthorized: authentication required'), creds)).toBe(
      'cannot pull image localhost:5000/t:1 from localhost:5000: unauthorized: authentication required; the registry refused the credentials from /h/.docker/config.json; log in again with `docker login localhost:5000`',
    )
    expect(msg(engine(404, 'manifest for localhost:5000/t:1 not found: manifest unknown: manifest unknown'))).toMatch(/: manifest for .* not found: manifest unknown: manifest unknown; check the name and tag in transform\.image, or build the image locally with `docker build -t localhost:5000\/t:1 \.`$/)
    expect(msg(engine(500, 'Get "http://localhost:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused'))).toMatch(/connection refused; check that localhost:5000 is reachable from the Docker engine, or put the image in the engine yourself/)
    expect(msg(engine(400, 'invalid reference format: repository name must be lowercase'))).toMatch(/must be lowercase; fix transform\.image in the pipeline spec$/)
    expect(msg(new Error('something else\nentirely'))).toBe('cannot pull image localhost:5000/t:1 from localhost:5000: something else entirely; run `docker pull localhost:5000/t:1` to see more')
    const hub = pullFailed('team/private:1', registryOf('team/private:1'), undefined, engine(404, 'pull access denied for team/private, repository does not exist or may require \'docker login\''))
    expect(hub.message).toMatch(/^cannot pull image team\/private:1 from Docker Hub \(docker\.io\): pull access denied .*; check transform\.image in the pipeline spec; if the image is private, log in with `docker login`$/)
  })
})
