/**
 * Shared by test/remote/pipelines*.test.ts (promoting pipelines and images to a served .pach):
 * the registry on 127.0.0.1:5000, private registries, local projects built in-process, and
 * the promotion wired as `pach push --pipelines` wires it (PachdClient → PipelineTarget,
 * Docker publisher).
 *
 * The registry on 127.0.0.1:5000 is the one .ci/setup-docker.sh leaves running; when nothing
 * answers there, ensureRegistry starts Debian's docker-registry the same way (own session,
 * storage in a temp dir) and leaves it running for the other files and the next run, as the
 * CI script does: files running in parallel share it, so none may stop it.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {get} from 'node:http'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createHash} from 'node:crypto'
import {afterAll, describe, expect, it} from 'vitest'
import {initPach, type Pach} from '../../src/core/pach.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {isPachError} from '../../src/core/errors.js'
import {preparePipelinePromotion, type PromotionOptions} from '../../src/core/remote/pipelines.js'
import {pipelineTarget} from '../../src/client/pipeline-target.js'
import {DockerImagePublisher} from '../../src/runner/image-publish.js'
import type {PachdClient} from '../../src/client/pachd-client.js'
import type {Served} from '../helpers/serve.js'
import {dockerProblem, IMAGE} from '../e2e/pipelines-util.js'

export const IN_CI = process.env.CI === 'true'
export const REGISTRY = '127.0.0.1:5000'
export const TIMEOUT = 120_000

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
export const describeDocker = (name: string, body: () => void) => {
  if (!problem) describe(name, body)
  else if (IN_CI) describe(name, () => it(`prerequisite: ${problem}`, () => expect.fail(`${problem} (CI=true, so this is a failure, not a skip)`)))
  else describe.skip(`${name} (${problem})`, body)
}

export const docker = (args: string[]) => execFileSync('docker', args, {stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000}).toString().trim()

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

const privateProcs: ChildProcess[] = []

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
export async function privateRegistry(dir: string): Promise<string> {
  const port = await freePort()
  mkdirSync(join(dir, 'data'), {recursive: true})
  writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', 'ana', 'secret']))
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\nauth:\n  htpasswd:\n    realm: pach-test\n    path: ${join(dir, 'htpasswd')}\n`,
  )
  privateProcs.push(spawn('docker-registry', ['serve', join(dir, 'config.yml')], {stdio: 'ignore'}))
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

/** The registry on 127.0.0.1:5000: the one already answering, else one started as .ci/setup-docker.sh starts it (see the header). */
export async function ensureRegistry(): Promise<void> {
  if ((await v2Status()) === 200) return
  const dir = mkdtempSync(join(tmpdir(), 'pach-registry-'))
  mkdirSync(join(dir, 'data'))
  writeFileSync(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: ${REGISTRY}\n`)
  spawn('docker-registry', ['serve', join(dir, 'config.yml')], {stdio: 'ignore', detached: true}).unref()
  for (let i = 0; i < 100; i++) {
    if ((await v2Status()) === 200) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`docker-registry did not answer on ${REGISTRY}`)
}

/**
 * Every file's clean-up: close and remove the local projects, stop the private registries,
 * remove the image tags matching `tags` (the file's own, and the ones its pushes made).
 */
export function cleanUpAfterAll(tags: RegExp): void {
  afterAll(() => {
    for (const p of opened.splice(0)) p.close()
    for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
    for (const p of privateProcs.splice(0)) p.kill()
    for (const t of docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']).split('\n').filter((t) => tags.test(t))) {
      try {
        docker(['image', 'rm', t])
      } catch {
        // removed meanwhile
      }
    }
  })
}

/** An image whose config says linux/arm64 (docker load of a hand-made archive: no emulation needed). */
export function loadArmImage(tag: string): void {
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
export const spec = (name: string, from: string, cmd: string, image = IMAGE) => ({pipeline: {name}, transform: {image, cmd: ['sh', '-c', cmd]}, input: {pfs: {repo: from, glob: '/*'}}})

/** A local project (in-process: no CLI start-up per step); closed and removed after the file. */
export interface Local {
  pach: Pach
  /** create or update pipelines from spec documents, as `pach create/update pipeline` stores them (jobs left pending) */
  put(specs: object[], update?: boolean): void
}
const opened: Pach[] = []
const dirs: string[] = []

/** A local project with repos `images` and `logs` and the given pipelines. */
export function localWith(specs: object[]): Local {
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

export const publisher = new DockerImagePublisher()

export async function promote(local: Local, s: Served, opts: Partial<PromotionOptions> = {}) {
  return preparePipelinePromotion(local.pach, pipelineTarget(s.client), publisher, {pushedRepos: ['images'], registry: REGISTRY, ...opts})
}

export const remotePipelines = async (c: PachdClient) => {
  const out: string[] = []
  for await (const p of c.stream(c.pps, 'ListPipeline', {})) out.push(p.pipeline?.name ?? '')
  return out.sort()
}
export const remoteSpec = async (c: PachdClient, name: string, project = 'default') =>
  JSON.parse((await c.unary(c.pps, 'InspectPipeline', {pipeline: {name, project: {name: project}}, details: true})).user_spec_json) as {pipeline: {project: {name: string}}; transform: {image: string; cmd: string[]}}
export const repoExists = async (c: PachdClient, name: string) =>
  c.unary(c.pfs, 'InspectRepo', {repo: {name, type: 'user', project: {name: 'default'}}}).then(
    () => true,
    () => false,
  )

/** Put a file on the remote through its own CLI (detached: the server's daemon runs the jobs); returns the commit id. */
export async function putRemote(s: Served, dest: string, content: string): Promise<string> {
  return (await s.project.json<{commit: {id: string}}>(['put', 'file', dest, '-f', '-', '--detach'], {input: content})).commit.id
}

export async function refusal(p: Promise<unknown>): Promise<{code: string; message: string; hint?: string}> {
  try {
    await p
  } catch (e) {
    if (isPachError(e)) return e as never
    throw e
  }
  throw new Error('expected a refusal')
}

