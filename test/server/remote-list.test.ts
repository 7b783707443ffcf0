// Remotes are pachctl contexts (issue 14): connectRemote's refusals against real `pach serve`
// processes (and two tiny gRPC servers posing as pachd 1.x and 3.x), and `pach remote list`
// run as a user runs it, through contexts in a temp PACH_CONFIG.
import {Server, ServerCredentials, type ServiceDefinition} from '@grpc/grpc-js'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it, onTestFinished} from 'vitest'
import {connectRemote, probeRemote} from '../../src/client/connect.js'
import type {ResolvedRemote} from '../../src/cli/remotes.js'
import {isPachError, type PachError} from '../../src/core/errors.js'
import {openPach} from '../../src/core/pach.js'
import {touchRemote, upsertRemote} from '../../src/core/db/remotes.js'
import {tmpProject} from '../helpers/cli.js'
import {serve} from '../helpers/serve.js'
import {expectUserError} from '../e2e/_util.js'

/** A port nothing listens on (bound once by the OS, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', () => res()))
  const port = (srv.address() as {port: number}).port
  await new Promise<void>((res) => srv.close(() => res()))
  return port
}

/** A pachctl config in a temp dir; returns its path. */
function pachConfig(cfg: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'pach-remote-'))
  onTestFinished(() => rmSync(dir, {recursive: true, force: true}))
  const path = join(dir, 'config.json')
  writeFileSync(path, JSON.stringify(cfg, null, 2))
  return path
}

const remote = (address: string, more: Partial<ResolvedRemote> = {}): ResolvedRemote => ({name: 'test', address, project: 'default', source: 'context', ...more})

async function refusal(p: Promise<unknown>): Promise<PachError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  )
  if (!isPachError(e)) throw new Error(`expected a PachError, got ${String(e)}`)
  return e
}

/** A gRPC server answering GetVersion under `service` with `version` (a pachd of another major). */
async function fakePachd(service: string, version: {major: number; minor: number; micro: number}): Promise<string> {
  // Version: fields 1..3 are varints (the message is the same in versionpb and versionpb_v2)
  const encode = () => Buffer.from([0x08, version.major, 0x10, version.minor, 0x18, version.micro])
  const def: ServiceDefinition = {
    GetVersion: {
      path: `/${service}/GetVersion`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (x: Buffer) => x,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: encode,
      responseDeserialize: (b: Buffer) => b,
    },
  }
  const server = new Server()
  server.addService(def, {GetVersion: (_call: unknown, cb: (e: null, r: Buffer) => void) => cb(null, Buffer.alloc(0))})
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))))
  onTestFinished(() => void server.forceShutdown())
  return `grpc://127.0.0.1:${port}`
}

describe('connectRemote', () => {
  it('connects to pach serve: version 2.x, deployment and cluster ids, the warning for a missing project', async () => {
    const s = await serve()
    const info = await s.client.unary(s.client.admin, 'InspectCluster', {client_version: null, current_project: null})
    const c = await connectRemote(remote(s.url, {deploymentId: info.deployment_id}))
    c.client.close()
    expect(c.version).toMatchObject({major: 2, minor: 12})
    expect(c.deploymentId).toBe(info.deployment_id)
    expect(c.clusterId).toBe(info.id)
    expect(c.warnings).toEqual([])
    const other = await connectRemote(remote(s.url, {project: 'nope'}))
    other.client.close()
    expect(other.warnings).toEqual(['WARNING: Could not inspect project "nope": project "nope" not found'])
  })

  it('refuses a closed port fast, with the reason and what to check', async () => {
    const port = await closedPort()
    const t0 = Date.now()
    const e = await refusal(connectRemote(remote(`grpc://127.0.0.1:${port}`, {name: 'prod'})))
    expect(Date.now() - t0).toBeLessThan(1500)
    expect(e.code).toBe('REMOTE_UNREACHABLE')
    expect(e.exitCode).toBe(1)
    expect(e.message).toBe(`cannot reach pachd at grpc://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}): is it running?`)
    expect(e.hint).toBe('check `pachctl config get context prod`')
  })

  it('gives up on a server that accepts and never answers at the deadline', async () => {
    const socks: Socket[] = []
    const silent = createServer((sock) => {
      sock.on('error', () => {})
      socks.push(sock)
    })
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', () => res()))
    onTestFinished(() => {
      for (const sock of socks) sock.destroy()
      silent.close()
    })
    const port = (silent.address() as {port: number}).port
    const t0 = Date.now()
    const e = await refusal(connectRemote(remote(`grpc://127.0.0.1:${port}`), {timeoutMs: 300}))
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(e.code).toBe('REMOTE_UNREACHABLE')
    expect(e.message).toBe(`cannot reach pachd at grpc://127.0.0.1:${port} (no answer within 0.3 s): is it running?`)
  })

  it('says why a server is not pachd: TLS against a plaintext port, an HTTP/1 server', async () => {
    const s = await serve()
    const tls = await refusal(connectRemote(remote(s.url.replace('grpc://', 'grpcs://'))))
    expect(tls.code).toBe('REMOTE_UNREACHABLE')
    expect(tls.message).toBe(`cannot reach pachd at ${s.url.replace('grpc://', 'grpcs://')} (TLS handshake failed: wrong version number; the server may not use TLS (grpc://)): is it running?`)
    const http1 = createServer((sock) => {
      sock.on('error', () => {})
      sock.once('data', () => sock.end('HTTP/1.1 400 Bad Request\r\n\r\n'))
    })
    await new Promise<void>((res) => http1.listen(0, '127.0.0.1', () => res()))
    onTestFinished(() => void http1.close())
    const port = (http1.address() as {port: number}).port
    const e = await refusal(connectRemote(remote(`grpc://127.0.0.1:${port}`, {source: 'address', name: `127.0.0.1:${port}`})))
    expect(e.code).toBe('REMOTE_UNREACHABLE')
    expect(e.message).toMatch(/\(Protocol error: not a gRPC server; is this pachd's gRPC port\?\): is it running\?$/)
    expect(e.hint).toBe(`check the address 127.0.0.1:${port}`)
  })

  it('refuses a wrong or missing token against a serve started with one, and takes the right one', async () => {
    const s = await serve({token: 'sesame'})
    const wrong = await refusal(connectRemote(remote(s.url, {name: 'prod', token: 'open'})))
    expect(wrong.code).toBe('REMOTE_AUTH')
    expect(wrong.message).toBe('the remote refused the token of context prod (provided auth token is corrupted or has expired (try logging in again))')
    expect(wrong.hint).toBe('run `pachctl auth login` with context prod active')
    const none = await refusal(connectRemote(remote(s.url, {name: 'prod'})))
    expect(none.code).toBe('REMOTE_AUTH')
    expect(none.message).toMatch(/^the remote refused no token in context prod \(no authentication token/)
    const ok = await connectRemote(remote(s.url, {token: 'sesame'}))
    ok.client.close()
    expect(ok.version.major).toBe(2)
  })

  it('refuses a context whose cluster_deployment_id is another cluster', async () => {
    const s = await serve()
    const e = await refusal(connectRemote(remote(s.url, {name: 'prod', deploymentId: 'f'.repeat(32)})))
    expect(e.code).toBe('REMOTE_CLUSTER_CHANGED')
    expect(e.exitCode).toBe(5)
    expect(e.message).toMatch(new RegExp(`^context prod was made for cluster f{32}, but ${s.url} is now cluster [0-9a-f]{32}: the context points at another cluster$`))
    // the probe reports the same, with what the cluster is
    const p = await probeRemote(remote(s.url, {name: 'prod', deploymentId: 'f'.repeat(32)}))
    expect(p).toMatchObject({reachable: true, version: '2.12.0', deployment_id: expect.stringMatching(/^[0-9a-f]{32}$/), error: {code: 'REMOTE_CLUSTER_CHANGED'}})
  })

  it('refuses a pachd that is not 2.x: 1.x (versionpb.API, named by its version) and 3.x', async () => {
    const v1 = await fakePachd('versionpb.API', {major: 1, minor: 13, micro: 4})
    const e1 = await refusal(connectRemote(remote(v1)))
    expect(e1.code).toBe('REMOTE_VERSION')
    expect(e1.message).toBe(`${v1} is pachd 1.13.4; pach push/pull need pachd 2.x`)
    const v3 = await fakePachd('versionpb_v2.API', {major: 3, minor: 0, micro: 1})
    const e3 = await refusal(connectRemote(remote(v3)))
    expect(e3.code).toBe('REMOTE_VERSION')
    expect(e3.message).toBe(`${v3} is pachd 3.0.1; pach push/pull need pachd 2.x`)
  })
})

describe('pach remote list', () => {
  it('lists the contexts outside a project: a reachable row with version and deployment id, a closed port shown unreachable fast; --json; --no-check', async () => {
    const s = await serve()
    const info = await s.client.unary(s.client.admin, 'InspectCluster', {client_version: null, current_project: null})
    const port = await closedPort()
    const path = pachConfig({
      user_id: 'u',
      v2: {
        active_context: 'local',
        contexts: {
          local: {pachd_address: s.url, session_token: 'tok-never-shown', project: 'images'},
          down: {pachd_address: `grpc://127.0.0.1:${port}`},
        },
      },
    })
    const before = readFileSync(path, 'utf8')
    const outside = await tmpProject(false)
    const env = {PACH_CONFIG: path, PACHD_ADDRESS: ''}
    const t0 = Date.now()
    const human = await outside.ok(['remote', 'list'], {env})
    expect(Date.now() - t0).toBeLessThan(5000)
    const lines = human.split('\n')
    expect(lines[0]).toMatch(/^ACTIVE\s+NAME\s+ADDRESS\s+PROJECT\s+TOKEN\s+STATUS\s+VERSION\s+DEPLOYMENT$/)
    expect(lines[1]).toMatch(new RegExp(`^\\s+down\\s+grpc://127\\.0\\.0\\.1:${port}\\s+default\\s+no\\s+unreachable\\s+-\\s+-$`))
    expect(lines[2]).toMatch(new RegExp(`^\\*\\s+local\\s+${s.url}\\s+images\\s+yes\\s+ok\\s+2\\.12\\.0\\s+${info.deployment_id}$`))
    expect(human).toContain(`down: cannot reach pachd at grpc://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}): is it running?`)
    expect(human).not.toContain('tok-never-shown')

    const r = await outside.run(['remote', 'list', '--json'], {env})
    expect(r.exitCode).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.stdout).not.toContain('tok-never-shown')
    expect(r.json()).toEqual([
      {
        name: 'down',
        active: false,
        address: `grpc://127.0.0.1:${port}`,
        project: 'default',
        has_token: false,
        context_deployment_id: null,
        reachable: false,
        version: null,
        deployment_id: null,
        error: {code: 'REMOTE_UNREACHABLE', message: `cannot reach pachd at grpc://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}): is it running?`},
      },
      {name: 'local', active: true, address: s.url, project: 'images', has_token: true, context_deployment_id: null, reachable: true, version: '2.12.0', deployment_id: info.deployment_id, error: null},
    ])

    const quick = (await outside.run(['remote', 'list', '--json', '--no-check'], {env})).json()
    expect(quick.map((x: {reachable: unknown; version: unknown; error: unknown}) => [x.reachable, x.version, x.error])).toEqual([
      [null, null, null],
      [null, null, null],
    ])
    expect(await outside.ok(['remote', 'list', '--no-check'], {env})).toMatch(/^ACTIVE\s+NAME\s+ADDRESS\s+PROJECT\s+TOKEN\n/)
    // nothing was written to the pachctl config
    expect(readFileSync(path, 'utf8')).toBe(before)
  })

  it("inside a project: this project's last push and pull of that cluster, by deployment id", async () => {
    const s = await serve()
    const info = await s.client.unary(s.client.admin, 'InspectCluster', {client_version: null, current_project: null})
    const path = pachConfig({v2: {active_context: 'prod', contexts: {prod: {pachd_address: s.url}, never: {pachd_address: 'grpc://localhost:1'}}}})
    const local = await tmpProject()
    const pach = openPach({cwd: local.dir})
    upsertRemote(pach.db, {deployment_id: info.deployment_id, name: 'old-name', address: s.url})
    touchRemote(pach.db, info.deployment_id, 'last_push', '2026-01-02T03:04:05.000Z')
    pach.close()
    const env = {PACH_CONFIG: path, PACHD_ADDRESS: ''}
    const rows = (await local.run(['remote', 'list', '--json'], {env})).json()
    expect(rows.map((x: {name: string; last_push: unknown; last_pull: unknown}) => [x.name, x.last_push, x.last_pull])).toEqual([
      ['never', null, null],
      ['prod', '2026-01-02T03:04:05.000Z', null],
    ])
    const human = await local.ok(['remote', 'list', '--full-timestamps'], {env})
    expect(human.split('\n')[0]).toMatch(/\s+LAST PUSH\s+LAST PULL$/)
    expect(human).toMatch(/prod\s.*\s2026-01-02T03:04:05\.000Z\s+-\n/)
  })

  it('shows a refused token and a context without an address; a broken config file is one clear line', async () => {
    const s = await serve({token: 'sesame'})
    const path = pachConfig({v2: {active_context: 'prod', contexts: {prod: {pachd_address: s.url, session_token: 'wrong'}, empty: {}}}})
    const p = await tmpProject(false)
    const env = {PACH_CONFIG: path, PACHD_ADDRESS: ''}
    const rows = (await p.run(['remote', 'list', '--json'], {env})).json()
    expect(rows[0]).toMatchObject({name: 'empty', address: null, error: {code: 'INVALID_INPUT', message: expect.stringMatching(/has no pachd address$/)}})
    expect(rows[1]).toMatchObject({name: 'prod', reachable: true, error: {code: 'REMOTE_AUTH'}})
    expect(await p.ok(['remote', 'list'], {env})).toMatch(/prod\s.*\stoken refused\s/)
    writeFileSync(path, '{not json')
    expectUserError(await p.run(['remote', 'list'], {env}), 2, /is not a pachctl config/)
  })
})
