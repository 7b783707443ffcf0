/**
 * A worker's one server without a network (WorkerSpec.endpoint, an s3 job's gateway), on the
 * real runners: user code dials the endpoint by its name and port and gets an answer; with
 * no network of its own it reaches nothing else: locally not even another port of the host's
 * loopback; in Docker nothing beyond the host (the internal network has no route out, and no
 * traffic between its containers; the host's own addresses stay reachable, as they are from
 * any bridge network — the narrowest Docker offers without a relay inside the user's image). Python's urllib is the client
 * (the host's /usr/bin/python3 locally; pach-test/awscli:1, which has it, in Docker).
 *
 * Docker needs an engine and pach-test/awscli:1 (.ci/setup-docker.sh), the local runner
 * bubblewrap with network isolation: skipped locally without them, a failure under CI=true.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import type {Runner, WorkerEndpoint} from '../../src/core/pps/runner.js'
import {createDockerRunner} from '../../src/runner/docker.js'
import {createLocalRunner} from '../../src/runner/local.js'

const IMAGE = 'pach-test/awscli:1'
const IN_CI = process.env.CI === 'true'

function describeIf(ok: boolean, reason: string, name: string, body: () => void): void {
  if (ok) describe(name, body)
  else if (IN_CI) describe(name, () => it(`prerequisite: ${reason}`, () => expect.fail(`${name}: ${reason} (CI=true, so this is a failure, not a skip)`)))
  else describe.skip(`${name} (${reason})`, body)
}

/** An HTTP server answering `body` on address:0 (a free port). */
async function server(address: string, body: string): Promise<{srv: Server; port: number}> {
  const srv = createServer((req, res) => res.end(`${body} ${req.headers.host}`))
  await new Promise<void>((r) => srv.listen(0, address, r))
  return {srv, port: (srv.address() as {port: number}).port}
}

/** A python one-liner printing each URL's body, or `blocked` when it cannot be reached within 2 s. */
const fetchAll = (python: string, urls: string[]) =>
  `${python} -c 'import sys, urllib.request as u
for url in sys.argv[1:]:
    try: print(u.urlopen(url, timeout=2).read().decode())
    except Exception: print("blocked")' ${urls.join(' ')}`

async function runIn(runner: Runner, image: string, endpoint: WorkerEndpoint, script: string, network = false): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pach-endpoint-test-'))
  const worker = await runner.startWorker({image, inputsDir: join(dir, 'pfs'), outDir: join(dir, 'out'), network, name: 'endpoint-test', endpoint})
  try {
    let out = ''
    let err = ''
    const r = await worker.run({cmd: ['sh', '-c', script], env: {}, onOutput: (s, c) => (s === 'stdout' ? (out += c) : (err += c))})
    expect(r.exitCode, err).toBe(0)
    return out.trim().split('\n')
  } finally {
    await worker.close()
    rmSync(dir, {recursive: true, force: true})
  }
}

const local = await createLocalRunner()
const bwrapOk = local.sandbox?.sandbox === 'bwrap' && local.sandbox.netIsolation

describeIf(bwrapOk, 'bubblewrap with network isolation is not available', 'local runner (bubblewrap): endpoint', () => {
  const servers: Server[] = []
  afterAll(() => servers.forEach((s) => s.close()))

  it('reaches the endpoint by its name and port, and no other port of the host', async () => {
    const route = await local.workerRoute()
    expect(route).toEqual({host: '127.0.0.1', listen: '127.0.0.1'})
    const gw = await server(route.listen!, 'gateway')
    const other = await server('127.0.0.1', 'other')
    servers.push(gw.srv, other.srv)
    const lines = await runIn(local, '', {host: 's3-abc', address: route.listen!, port: gw.port}, fetchAll('/usr/bin/python3', [`http://s3-abc:${gw.port}/`, `http://127.0.0.1:${other.port}/`]))
    expect(lines).toEqual([`gateway s3-abc:${gw.port}`, 'blocked'])
  })

  it('with a network of its own (the spec opted in) the name still resolves', async () => {
    const gw = await server('127.0.0.1', 'gateway')
    servers.push(gw.srv)
    const lines = await runIn(local, '', {host: 's3-def', address: '127.0.0.1', port: gw.port}, fetchAll('/usr/bin/python3', [`http://s3-def:${gw.port}/`]), true)
    expect(lines).toEqual([`gateway s3-def:${gw.port}`])
  })
})

async function probeDocker(): Promise<Runner | string> {
  try {
    const runner = await createDockerRunner({pingTimeoutMs: 2000})
    const {default: Docker} = await import('dockerode')
    await new Docker().getImage(IMAGE).inspect()
    return runner
  } catch (e) {
    return `no Docker engine or no image ${IMAGE} (${(e as Error).message.split('\n')[0]}); run .ci/setup-docker.sh`
  }
}
const docker = await probeDocker()

describeIf(typeof docker !== 'string', String(docker), 'docker runner: endpoint', () => {
  const runner = docker as Runner
  const servers: Server[] = []
  afterAll(async () => {
    servers.forEach((s) => s.close())
    await runner.close?.()
  })

  it('joins the internal network: reaches the endpoint on its gateway, not the host loopback nor the outside', async () => {
    const route = await runner.workerRoute!()
    expect(route.host).toBe(route.listen)
    const gw = await server(route.listen!, 'gateway')
    const loop = await server('127.0.0.1', 'loopback')
    servers.push(gw.srv, loop.srv)
    const urls = [`http://s3-abc:${gw.port}/`, `http://127.0.0.1:${loop.port}/`, 'http://1.1.1.1/']
    const lines = await runIn(runner, IMAGE, {host: 's3-abc', address: route.listen!, port: gw.port}, fetchAll('python3', urls))
    expect(lines).toEqual([`gateway s3-abc:${gw.port}`, 'blocked', 'blocked'])
    // a spec that asked for a network keeps the bridge, and still reaches the endpoint by name
    expect(await runIn(runner, IMAGE, {host: 's3-abc', address: route.listen!, port: gw.port}, fetchAll('python3', [urls[0]!]), true)).toEqual([`gateway s3-abc:${gw.port}`])
    // the network is made once and kept: a second runner finds it
    const again = await createDockerRunner()
    expect(await again.workerRoute()).toEqual(route)
    await again.close()
  })
})
