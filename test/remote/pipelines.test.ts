/**
 * E2E: promoting a laptop's pipelines to a cluster (`pach push --pipelines`, core
 * src/core/remote/pipelines.ts) — the "cluster" is a second .pach served by the built
 * `pach serve` with the docker runner, reached through pach's PachdClient and the
 * PipelineTarget adapter; images go through the Docker publisher to Debian's docker-registry
 * on 127.0.0.1:5000 (.ci/setup-docker.sh leaves one running; this file starts one when nothing
 * answers there).
 *
 * Covered: pipelines created in DAG order in one remote transaction, jobs then running on
 * the remote for data committed there; a second promotion changes nothing, a local update
 * updates only that pipeline; a spec the remote refuses aborts before anything is created
 * (validate, and apply's one transaction); a local-only image pushed under a deterministic
 * tag and pinned by digest; a missing registry and an image built for another architecture
 * refused before anything moves.
 *
 * Needs Docker with `pach-test/busybox:1` and docker-registry: skipped locally without them,
 * FAILING when CI=true.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {get} from 'node:http'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createHash} from 'node:crypto'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {initPach, type Pach} from '../../src/core/pach.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {isPachError} from '../../src/core/errors.js'
import {preparePipelinePromotion, type PromotionOptions} from '../../src/core/remote/pipelines.js'
import {pipelineTarget} from '../../src/client/pipeline-target.js'
import {DockerImagePublisher} from '../../src/runner/image-publish.js'
import type {PachdClient} from '../../src/client/pachd-client.js'
import {serve, type Served} from '../helpers/serve.js'
import {dockerProblem, IMAGE} from '../e2e/pipelines-util.js'

const IN_CI = process.env.CI === 'true'
const REGISTRY = '127.0.0.1:5000'
const TIMEOUT = 120_000

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}
const problem =
  dockerProblem() ?? (!which('docker-registry') ? 'docker-registry is not installed (apt-get install docker-registry)' : !which('htpasswd') ? 'htpasswd is not installed (apt-get install apache2-utils)' : undefined)
const describeDocker = (name: string, body: () => void) => {
  if (!problem) describe(name, body)
  else if (IN_CI) describe(name, () => it(`prerequisite: ${problem}`, () => expect.fail(`${problem} (CI=true, so this is a failure, not a skip)`)))
  else describe.skip(`${name} (${problem})`, body)
}

const docker = (args: string[]) => execFileSync('docker', args, {stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000}).toString().trim()

/** HTTP status of GET /v2/ on the registry, or 0 when nothing answers. */
function v2Status(): Promise<number> {
  return new Promise((resolve) => {
    const req = get({host: '127.0.0.1', port: 5000, path: '/v2/', timeout: 2000}, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', () => resolve(0))
    req.on('timeout', () => req.destroy())
  })
}

let registryProc: ChildProcess | undefined
let registryDir: string | undefined
let privateProc: ChildProcess | undefined

/** A free loopback port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as {port: number}).port
      srv.close(() => resolve(port))
    })
  })
}

/** A registry with htpasswd basic auth (user `ana`, password `secret`) on a free loopback port; its host:port. */
async function privateRegistry(dir: string): Promise<string> {
  const port = await freePort()
  mkdirSync(join(dir, 'data'), {recursive: true})
  writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', 'ana', 'secret']))
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\nauth:\n  htpasswd:\n    realm: pach-test\n    path: ${join(dir, 'htpasswd')}\n`,
  )
  privateProc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {stdio: 'ignore'})
  for (let i = 0; i < 100; i++) {
    const code = await new Promise<number>((resolve) => {
      const req = get({host: '127.0.0.1', port, path: '/v2/', timeout: 2000}, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', () => resolve(0))
    })
    if (code === 401) return `127.0.0.1:${port}`
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`the private docker-registry did not answer on port ${port}`)
}

/** The registry on 127.0.0.1:5000: the one already answering, else one started here (as .ci/setup-docker.sh does). */
async function ensureRegistry(): Promise<void> {
  if ((await v2Status()) === 200) return
  registryDir = mkdtempSync(join(tmpdir(), 'pach-registry-'))
  mkdirSync(join(registryDir, 'data'))
  writeFileSync(join(registryDir, 'config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(registryDir, 'data')}\nhttp:\n  addr: ${REGISTRY}\n`)
  registryProc = spawn('docker-registry', ['serve', join(registryDir, 'config.yml')], {stdio: 'ignore'})
  for (let i = 0; i < 100; i++) {
    if ((await v2Status()) === 200) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`docker-registry did not answer on ${REGISTRY}`)
}

/** An image whose config says linux/arm64 (docker load of a hand-made archive: no emulation needed). */
function loadArmImage(tag: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'pach-arm-'))
  try {
    mkdirSync(join(dir, 'root'))
    writeFileSync(join(dir, 'root', 'x'), 'arm\n')
    execFileSync('tar', ['-C', join(dir, 'root'), '-cf', join(dir, 'layer.tar'), '.'])
    const sha = (f: string) => createHash('sha256').update(execFileSync('cat', [f])).digest('hex')
    const cfg = JSON.stringify({architecture: 'arm64', os: 'linux', config: {}, rootfs: {type: 'layers', diff_ids: [`sha256:${sha(join(dir, 'layer.tar'))}`]}})
    const cfgName = `${createHash('sha256').update(cfg).digest('hex')}.json`
    writeFileSync(join(dir, cfgName), cfg)
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{Config: cfgName, RepoTags: [tag], Layers: ['layer.tar']}]))
    execFileSync('tar', ['-C', dir, '-cf', join(dir, 'image.tar'), 'manifest.json', cfgName, 'layer.tar'])
    docker(['load', '-i', join(dir, 'image.tar')])
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

/** A pipeline spec (busybox sh): `cmd` over input repo `from`. */
const spec = (name: string, from: string, cmd: string, image = IMAGE) => ({pipeline: {name}, transform: {image, cmd: ['sh', '-c', cmd]}, input: {pfs: {repo: from, glob: '/*'}}})

/** A local project (in-process: no CLI start-up per step); closed and removed after the file. */
interface Local {
  pach: Pach
  /** create or update pipelines from spec documents, as `pach create/update pipeline` stores them (jobs left pending) */
  put(specs: object[], update?: boolean): void
}
const opened: Pach[] = []
const dirs: string[] = []

/** A local project with repos `images` and `logs` and the given pipelines. */
function localWith(specs: object[]): Local {
  const dir = mkdtempSync(join(tmpdir(), 'pach-local-'))
  dirs.push(dir)
  const pach = initPach(dir)
  opened.push(pach)
  pach.repos.create('default', 'images')
  pach.repos.create('default', 'logs')
  const put = (docs: object[], update = false) => {
    for (const doc of docs) {
      const {specs: [s], userSpecs} = parseSpecs(JSON.stringify(doc), 'spec.json')
      pach.pipelines.put(s!, {update, reprocess: false, file: 'spec.json', userSpec: JSON.stringify(userSpecs[0])})
    }
  }
  put(specs)
  return {pach, put}
}

const publisher = new DockerImagePublisher()

async function promote(local: Local, s: Served, opts: Partial<PromotionOptions> = {}) {
  return preparePipelinePromotion(local.pach, pipelineTarget(s.client), publisher, {pushedRepos: ['images'], registry: REGISTRY, ...opts})
}

const remotePipelines = async (c: PachdClient) => {
  const out: string[] = []
  for await (const p of c.stream(c.pps, 'ListPipeline', {})) out.push(p.pipeline?.name ?? '')
  return out.sort()
}
const remoteSpec = async (c: PachdClient, name: string) => JSON.parse((await c.unary(c.pps, 'InspectPipeline', {pipeline: {name, project: {name: 'default'}}, details: true})).user_spec_json) as {transform: {image: string; cmd: string[]}}
const repoExists = async (c: PachdClient, name: string) =>
  c.unary(c.pfs, 'InspectRepo', {repo: {name, type: 'user', project: {name: 'default'}}}).then(
    () => true,
    () => false,
  )

/** Put a file on the remote through its own CLI (detached: the server's daemon runs the jobs); returns the commit id. */
async function putRemote(s: Served, dest: string, content: string): Promise<string> {
  return (await s.project.json<{commit: {id: string}}>(['put', 'file', dest, '-f', '-', '--detach'], {input: content})).commit.id
}

async function refusal(p: Promise<unknown>): Promise<{code: string; message: string; hint?: string}> {
  try {
    await p
  } catch (e) {
    if (isPachError(e)) return e as never
    throw e
  }
  throw new Error('expected a refusal')
}

describeDocker('pach push --pipelines: pipelines and images promoted to a served .pach', () => {
  let localOnlyId = ''
  beforeAll(async () => {
    await ensureRegistry()
    docker(['tag', IMAGE, 'pachtest/local-only:dev'])
    localOnlyId = docker(['image', 'inspect', '--format', '{{.Id}}', 'pachtest/local-only:dev'])
  }, TIMEOUT)
  afterAll(() => {
    for (const p of opened) p.close()
    for (const d of dirs) rmSync(d, {recursive: true, force: true})
    // the tags pushes made (127.0.0.1:<port>/…:pach-<id>) and the ones this file made
    const pushedTags = docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
      .split('\n')
      .filter((t) => /^127\.0\.0\.1:\d+\/(pachtest\/local-only|pach-test\/busybox):pach-[0-9a-f]{12}$/.test(t))
    for (const t of ['pachtest/local-only:dev', 'pachtest/arm:dev', ...pushedTags]) {
      try {
        docker(['image', 'rm', t])
      } catch {
        // not there
      }
    }
    registryProc?.kill()
    privateProc?.kill()
    if (registryDir) rmSync(registryDir, {recursive: true, force: true})
  })

  it('creates the pipelines in DAG order after a validation that leaves nothing behind; jobs then run on the remote; a second promotion changes nothing; an update updates one', {timeout: TIMEOUT}, async () => {
    const local = localWith([
      spec('edges', 'images', 'for f in /pfs/images/*; do tr a-z A-Z < $f > /pfs/out/$(basename $f); done'),
      spec('montage', 'edges', 'cat /pfs/edges/* > /pfs/out/all'),
      spec('stats', 'logs', 'true'),
    ])
    const s = await serve({args: ['--runner', 'docker']})
    const c = s.client
    const p = await promote(local, s)
    expect(p.plan.pipelines.map((x) => x.name)).toEqual(['edges', 'montage'])
    expect(p.plan.skipped).toEqual([{name: 'stats', reason: 'reads logs, which this push does not send'}])

    // validation before any data: the remote has no `images` yet; nothing is left behind
    await p.validate()
    expect(await remotePipelines(c)).toEqual([])
    expect(await repoExists(c, 'images')).toBe(false)

    // the data push (another module) creates the repo; then the pipelines
    await c.unary(c.pfs, 'CreateRepo', {repo: {name: 'images', type: 'user', project: {name: 'default'}}})
    const r = await p.apply()
    expect(r.created).toEqual(['edges', 'montage'])
    expect(r.updated).toEqual([])
    expect(await remotePipelines(c)).toEqual(['edges', 'montage'])
    const hex = localOnlyId.replace('sha256:', '').slice(0, 12)
    const pinned = (await remoteSpec(c, 'edges')).transform.image
    expect(pinned).toMatch(new RegExp(`^${REGISTRY.replace(/\./g, '\\.')}/pach-test/busybox@sha256:[0-9a-f]{64}$`))
    expect(r.images.map((i) => [i.pipeline, i.sent, i.pushed])).toEqual([
      ['edges', pinned, true],
      ['montage', pinned, true],
    ])
    expect(docker(['image', 'inspect', '--format', '{{.Id}}', `${REGISTRY}/pach-test/busybox:pach-${hex}`])).toBe(localOnlyId)

    // data committed on the remote makes both jobs run there (docker runner, the pinned image)
    const id = await putRemote(s, 'images@master:/a.txt', 'hello\n')
    const job = await c.unary(c.pps, 'InspectJob', {job: {pipeline: {name: 'montage', project: {name: 'default'}}, id}, wait: true, details: true})
    expect(job.reason).toBe('')
    expect(job.state).toBe('JOB_SUCCESS')
    expect(await s.project.ok(['get', 'file', 'montage@master:/all'])).toBe('HELLO\n')

    // again: same tag, same digest, same specs: nothing to do
    const again = await (await promote(local, s)).apply()
    expect([again.created, again.updated, again.unchanged]).toEqual([[], [], ['edges', 'montage']])

    // a local update of one pipeline updates that one only
    local.put([spec('edges', 'images', 'for f in /pfs/images/*; do tr a-z A-Z < $f > /pfs/out/$(basename $f).up; done')], true)
    const third = await (await promote(local, s)).apply()
    expect([third.created, third.updated, third.unchanged]).toEqual([[], ['edges'], ['montage']])
    expect((await remoteSpec(c, 'edges')).transform.cmd[2]).toContain('.up')
  })

  it('a spec the remote refuses aborts before any pipeline is created: in validate, and in apply\'s one transaction', {timeout: TIMEOUT}, async () => {
    const local = localWith([spec('edges', 'images', 'cp /pfs/images/* /pfs/out/'), spec('montage', 'edges', 'cp /pfs/edges/* /pfs/out/')])
    const s = await serve({args: ['--runner', 'docker']})
    const c = s.client
    // the remote has a plain repo where the second pipeline's output would go
    await c.unary(c.pfs, 'CreateRepo', {repo: {name: 'montage', type: 'user', project: {name: 'default'}}})
    const p = await promote(local, s)
    const e = await refusal(p.validate())
    expect(e.code).toBe('REMOTE_SPEC_REJECTED')
    expect(e.message).toMatch(/^the cluster refused pipeline "montage": .*a repo with the same name already exists/)
    expect(e.hint).toMatch(/nothing was sent/)
    expect(await remotePipelines(c)).toEqual([])
    expect(await repoExists(c, 'images')).toBe(false)

    // applied anyway (the data is there now): one transaction, so not even `edges` is created
    await c.unary(c.pfs, 'CreateRepo', {repo: {name: 'images', type: 'user', project: {name: 'default'}}})
    const a = await refusal(p.apply())
    expect(a.code).toBe('REMOTE_SPEC_REJECTED')
    expect(a.message).toMatch(/^the cluster refused pipeline "montage"/)
    expect(await remotePipelines(c)).toEqual([])
    expect((await c.unary(c.transaction, 'ListTransaction', {})).transaction_info).toEqual([])
  })

  it('pushes an image that exists only locally under a deterministic tag and pins it by digest', {timeout: TIMEOUT}, async () => {
    const local = localWith([spec('edges', 'images', 'cp /pfs/images/* /pfs/out/', 'pachtest/local-only:dev')])
    const s = await serve({args: ['--runner', 'docker']})
    const c = s.client
    await c.unary(c.pfs, 'CreateRepo', {repo: {name: 'images', type: 'user', project: {name: 'default'}}})
    const p = await promote(local, s)
    await p.validate()
    const r = await p.apply()
    expect(r.created).toEqual(['edges'])
    const image = (await remoteSpec(c, 'edges')).transform.image
    const digest = /^127\.0\.0\.1:5000\/pachtest\/local-only@(sha256:[0-9a-f]{64})$/.exec(image)?.[1]
    expect(digest, image).toBeDefined()
    // the registry holds that digest under the deterministic tag
    const hex = localOnlyId.replace('sha256:', '').slice(0, 12)
    const head = await new Promise<string | undefined>((resolve) => {
      const req = get({host: '127.0.0.1', port: 5000, path: `/v2/pachtest/local-only/manifests/pach-${hex}`, method: 'HEAD', headers: {Accept: 'application/vnd.docker.distribution.manifest.v2+json'}}, (res) => {
        res.resume()
        resolve(res.headers['docker-content-digest'] as string | undefined)
      })
      req.on('error', () => resolve(undefined))
      req.end()
    })
    expect(head).toBe(digest)
    // and the remote runs it
    const id = await putRemote(s, 'images@master:/a.txt', 'x\n')
    const job = await c.unary(c.pps, 'InspectJob', {job: {pipeline: {name: 'edges', project: {name: 'default'}}, id}, wait: true, details: true})
    expect(job.state).toBe('JOB_SUCCESS')
  })

  it('refuses before anything moves: a local-only image with no registry, one built for another architecture, a registry that does not answer', {timeout: TIMEOUT}, async () => {
    loadArmImage('pachtest/arm:dev')
    const s = await serve({args: ['--runner', 'docker']})
    const c = s.client

    const noReg = localWith([spec('edges', 'images', 'true', 'pachtest/local-only:dev')])
    const e1 = await refusal((await promote(noReg, s, {registry: undefined})).validate())
    expect(e1.code).toBe('IMAGE_NOT_PUBLISHABLE')
    expect(e1.message).toBe('pipeline "edges": image pachtest/local-only:dev exists only on this machine and its name names no registry the cluster could pull it from')

    const arm = localWith([spec('edges', 'images', 'true', 'pachtest/arm:dev')])
    const e2 = await refusal((await promote(arm, s)).validate())
    expect(e2.code).toBe('IMAGE_NOT_PUBLISHABLE')
    expect(e2.message).toBe('pipeline "edges": image pachtest/arm:dev is built for linux/arm64, but the cluster runs linux/amd64')
    expect(e2.hint).toBe('rebuild it with `docker buildx build --platform linux/amd64 -t pachtest/arm:dev .`')

    const e3 = await refusal((await promote(noReg, s, {registry: '127.0.0.1:1'})).validate())
    expect(e3.code).toBe('IMAGE_PUSH_FAILED')
    expect(e3.message).toMatch(/^cannot push pachtest\/local-only:dev \(pipeline "edges"\) to 127\.0\.0\.1:1: the registry does not answer \(.*\); start it, or name another with --registry$/)

    expect(await remotePipelines(c)).toEqual([])
    expect(await repoExists(c, 'images')).toBe(false)
  })

  it('a registry that asks for credentials: refused before anything moves without them or with wrong ones, pushed with the right ones', {timeout: TIMEOUT}, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pach-private-'))
    try {
      const host = await privateRegistry(join(dir, 'registry'))
      const s = await serve({args: ['--runner', 'docker']})
      const c = s.client
      await c.unary(c.pfs, 'CreateRepo', {repo: {name: 'images', type: 'user', project: {name: 'default'}}})
      const local = localWith([spec('edges', 'images', 'true', 'pachtest/local-only:dev')])
      const config = (name: string, auths: object) => {
        mkdirSync(join(dir, name), {recursive: true})
        writeFileSync(join(dir, name, 'config.json'), JSON.stringify({auths}))
        return join(dir, name)
      }
      const withConfig = (cfg: string) => new DockerImagePublisher({env: {...process.env, DOCKER_CONFIG: cfg}})
      const run = async (cfg: string) => preparePipelinePromotion(local.pach, pipelineTarget(c), withConfig(cfg), {pushedRepos: ['images'], registry: host})

      const none = await refusal((await run(config('none', {}))).validate())
      expect(none.code).toBe('IMAGE_PUSH_FAILED')
      expect(none.message).toBe(`cannot push pachtest/local-only:dev (pipeline "edges") to ${host}: the registry asks for credentials and ${join(dir, 'none', 'config.json')} has none for it; run \`docker login ${host}\` first`)

      const auth = (u: string, p: string) => ({[host]: {auth: Buffer.from(`${u}:${p}`).toString('base64')}})
      const wrong = await refusal((await run(config('wrong', auth('ana', 'nope')))).validate())
      expect(wrong.code).toBe('IMAGE_PUSH_FAILED')
      expect(wrong.message).toBe(`cannot push pachtest/local-only:dev (pipeline "edges") to ${host}: the registry refused the credentials from ${join(dir, 'wrong', 'config.json')}; log in again with \`docker login ${host}\``)
      expect(await remotePipelines(c)).toEqual([])

      const good = await run(config('good', auth('ana', 'secret')))
      await good.validate()
      const r = await good.apply()
      expect(r.created).toEqual(['edges'])
      expect((await remoteSpec(c, 'edges')).transform.image).toMatch(new RegExp(`^${host.replace(/\./g, '\\.')}/pachtest/local-only@sha256:[0-9a-f]{64}$`))
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
