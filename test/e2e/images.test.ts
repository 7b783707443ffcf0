/**
 * E2E: what a user sees around pipeline images and user code, from the built CLI.
 *
 * - Images (docker runner): a pipeline whose image the engine lacks is pulled before its job
 *   starts, from two local registries run by this file (Debian's `docker-registry`, bound to
 *   loopback ports): a plain one and a private one with htpasswd basic auth. Credentials come
 *   from `$DOCKER_CONFIG/config.json`, `~/.docker/config.json` or a credential helper; an
 *   image that cannot be pulled fails the job with one line (image, registry, what to do).
 * - Worker logs (both runners): only what user code printed, and a failed datum's reason
 *   with its exit code and the last lines of its stderr.
 * - Ctrl-C during `create pipeline` / `pach run`, while user code runs or while the image
 *   is being pulled: the job is left pending, and the error line says `pach run` resumes it.
 *
 * Needs Docker with `pach-test/busybox:1`, `docker-registry` and `htpasswd` (.ci/setup-docker.sh
 * installs them): without them the registry tests are skipped locally and FAIL when CI=true.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {get} from 'node:http'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN} from '../helpers/cli.js'
import {dockerProblem, IMAGE, lastJob, pipeline, project, RUNNERS, runnerIt, writeSpec, type RP} from './pipelines-util.js'

const IN_CI = process.env.CI === 'true'
const TIMEOUT = 300_000

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

const registryProblem = dockerProblem() ?? (!which('docker-registry') ? 'docker-registry is not installed (apt-get install docker-registry)' : !which('htpasswd') ? 'htpasswd is not installed (apt-get install apache2-utils)' : undefined)

/** describe() for the registry tests: skipped locally, failing in CI, when a prerequisite is missing. */
function describeRegistry(name: string, body: () => void): void {
  if (!registryProblem) describe(name, body)
  else if (IN_CI) describe(name, () => it(`prerequisite: ${registryProblem}`, () => expect.fail(`${registryProblem} (CI=true, so this is a failure, not a skip)`)))
  else describe.skip(`${name} (${registryProblem})`, body)
}

const docker = (args: string[], config?: string) => execFileSync('docker', config ? ['--config', config, ...args] : args, {stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000}).toString()
const hasImage = (image: string) => {
  try {
    docker(['image', 'inspect', image])
    return true
  } catch {
    return false
  }
}
/** Remove a tag from the engine (the layers stay: pach-test/busybox:1 holds them). */
const forget = (image: string) => {
  if (hasImage(image)) docker(['image', 'rm', image])
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as {port: number}).port
      s.close(() => resolvePort(port))
    })
  })
}

/** HTTP status of GET /v2/ (200 open, 401 private), or 0 when nothing answers yet. */
function v2Status(port: number): Promise<number> {
  return new Promise((resolveStatus) => {
    const req = get({host: '127.0.0.1', port, path: '/v2/', timeout: 2000}, (res) => {
      res.resume()
      resolveStatus(res.statusCode ?? 0)
    })
    req.on('error', () => resolveStatus(0))
    req.on('timeout', () => req.destroy())
  })
}

/** Every registry process started, stopped by afterAll even when a later start failed. */
const servers: ChildProcess[] = []

interface Registry {
  port: number
  host: string
}

/** Run `docker-registry serve` on a loopback port (with htpasswd basic auth when `htpasswd` is given). */
async function startRegistry(root: string, name: string, htpasswd?: string): Promise<Registry> {
  const port = await freePort()
  const dir = join(root, name)
  mkdirSync(join(dir, 'data'), {recursive: true})
  let cfg = `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`
  if (htpasswd) cfg += `auth:\n  htpasswd:\n    realm: pach-test\n    path: ${htpasswd}\n`
  writeFileSync(join(dir, 'config.yml'), cfg)
  const proc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {stdio: ['ignore', 'ignore', 'pipe']})
  servers.push(proc)
  let err = ''
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()))
  for (let i = 0; i < 100; i++) {
    if ((await v2Status(port)) === (htpasswd ? 401 : 200)) return {port, host: `localhost:${port}`}
    if (proc.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 100))
  }
  proc.kill()
  throw new Error(`docker-registry on port ${port} did not start: ${err.slice(0, 500)}`)
}

const b64 = (s: string) => Buffer.from(s).toString('base64')
const configWith = (dir: string, cfg: unknown) => {
  mkdirSync(dir, {recursive: true})
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg))
  return dir
}

/** A pipeline copying its input, with `image`; each gets fresh data, so its job has a datum to run (and pulls). */
async function imagePipeline(rp: RP, name: string, image: string, env: Record<string, string>) {
  await rp.ok(['create', 'repo', `in-${name}`])
  await rp.ok(['put', 'file', `in-${name}@master:/a`, '-f', '-'], {input: `${name}\n`})
  const spec = writeSpec(rp.p, name, pipeline(name, 'cp /pfs/in-*/a /pfs/out/a', {pfs: {repo: `in-${name}`, glob: '/'}}, {transform: {image}}))
  const r = await rp.run(['create', 'pipeline', '-f', spec], {env})
  expect(r.exitCode, r.stderr).toBe(0)
  return {stderr: r.stderr, job: await lastJob(rp, name)}
}

describeRegistry('images: pulled when missing, from a registry, with credentials', () => {
  let root: string
  let open: Registry
  let priv: Registry
  let img: string
  let privImg: string
  let goodCfg: string
  let noCfg: string
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pach-registry-'))
    const htpasswd = join(root, 'htpasswd')
    writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', 'alice', 's3cret']).toString())
    open = await startRegistry(root, 'open')
    priv = await startRegistry(root, 'private', htpasswd)
    img = `${open.host}/pach-test/busybox:1`
    privImg = `${priv.host}/pach-test/busybox:1`
    goodCfg = configWith(join(root, 'good'), {auths: {[priv.host]: {auth: b64('alice:s3cret')}}})
    noCfg = join(root, 'none') // no config.json: anonymous pulls
    // the docker CLI pushes with these configs only (whatever the user's own holds)
    const anon = configWith(join(root, 'anon'), {})
    for (const [image, cfg] of [[img, anon], [privImg, goodCfg]] as const) {
      docker(['tag', IMAGE, image])
      docker(['push', image], cfg)
      forget(image)
    }
  }, TIMEOUT)
  afterAll(() => {
    for (const p of servers) p.kill()
    for (const i of [img, privImg, `${open?.host}/pach-test/busybox:nope`]) if (i) forget(i)
    if (root) rmSync(root, {recursive: true, force: true})
  })

  it('pulls a missing image before its job starts, with progress on stderr, and only once', {timeout: TIMEOUT}, async (ctx) => {
    forget(img)
    const rp = await project(ctx, 'docker')
    const {stderr, job} = await imagePipeline(rp, 'p1', img, {DOCKER_CONFIG: noCfg})
    expect(job.state, stderr).toBe('JOB_SUCCESS')
    const lines = stderr.split('\n').filter(Boolean)
    const pulling = lines.indexOf(`pulling image ${img} from ${open.host} (not present locally)`)
    expect(pulling, stderr).toBeGreaterThanOrEqual(0)
    expect(lines[pulling + 1]).toMatch(new RegExp(`^pulled image ${img.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(sha256:[0-9a-f]{64}\\)$`))
    expect(lines.findIndex((l) => l.startsWith('job p1@'))).toBeGreaterThan(pulling)
    expect(hasImage(img)).toBe(true)
    expect((await rp.ok(['get', 'file', `p1@master:/a`]))).toBe('p1\n')
    // present now: the next job of the same image does not pull
    const again = await imagePipeline(rp, 'p2', img, {DOCKER_CONFIG: noCfg})
    expect(again.job.state).toBe('JOB_SUCCESS')
    expect(again.stderr).not.toContain('pulling image')
  })

  it('pulls from a private registry with credentials from $DOCKER_CONFIG/config.json or ~/.docker/config.json', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'docker')
    forget(privImg)
    const a = await imagePipeline(rp, 'env', privImg, {DOCKER_CONFIG: goodCfg})
    expect(a.job.state, a.stderr).toBe('JOB_SUCCESS')
    expect(a.stderr).toContain(`pulling image ${privImg} from ${priv.host} (not present locally) with credentials from ${join(goodCfg, 'config.json')}`)

    forget(privImg)
    const home = join(root, 'home')
    configWith(join(home, '.docker'), {auths: {[`https://${priv.host}/v1/`]: {username: 'alice', password: 's3cret'}}})
    const b = await imagePipeline(rp, 'home', privImg, {DOCKER_CONFIG: '', HOME: home})
    expect(b.job.state, b.stderr).toBe('JOB_SUCCESS')
    expect(b.stderr).toContain(`with credentials from ${join(home, '.docker', 'config.json')}`)
    expect(hasImage(privImg)).toBe(true)
  })

  it('asks a credential helper (credsStore / credHelpers) with the docker-credential protocol', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'docker')
    const bin = join(root, 'bin')
    mkdirSync(bin, {recursive: true})
    // answers `get` for our registry only, as docker-credential-* helpers do
    writeFileSync(
      join(bin, 'docker-credential-pachtest'),
      `#!/bin/sh\n[ "$1" = get ] || exit 1\nread server\n[ "$server" = "${priv.host}" ] || { echo "credentials not found in native keychain"; exit 1; }\necho '{"ServerURL":"${priv.host}","Username":"alice","Secret":"s3cret"}'\n`,
      {mode: 0o755},
    )
    const PATH = `${bin}:${process.env.PATH}`
    forget(privImg)
    const store = configWith(join(root, 'store'), {credsStore: 'pachtest'})
    const a = await imagePipeline(rp, 'store', privImg, {DOCKER_CONFIG: store, PATH})
    expect(a.job.state, a.stderr).toBe('JOB_SUCCESS')
    expect(a.stderr).toContain('with credentials from docker-credential-pachtest')

    forget(privImg)
    const missing = configWith(join(root, 'missing'), {credHelpers: {[priv.host]: 'pach-missing'}})
    const b = await imagePipeline(rp, 'missing', privImg, {DOCKER_CONFIG: missing, PATH})
    expect(b.job).toMatchObject({state: 'JOB_FAILURE'})
    expect(b.job.reason).toBe(
      `cannot pull image ${privImg} from ${priv.host}: credential helper docker-credential-pach-missing (credHelpers in ${join(missing, 'config.json')}) is not installed (not on PATH); install it, or remove it from the config and use \`auths\``,
    )
  })

  it('fails the job with one line naming the image, the registry and what to do when it cannot be pulled', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'docker')
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    const dead = `localhost:${await freePort()}/pach-test/busybox:1`
    const bad = configWith(join(root, 'bad'), {auths: {[priv.host]: {auth: b64('alice:wrong')}}})
    forget(privImg)
    const cases: [string, string, Record<string, string>, RegExp][] = [
      ['noauth', privImg, {DOCKER_CONFIG: noCfg}, new RegExp(`^cannot pull image ${esc(privImg)} from ${esc(priv.host)}: .*no basic auth credentials; log in with \`docker login ${esc(priv.host)}\` \\(pach reads credentials from ${esc(join(noCfg, 'config.json'))}\\)$`)],
      ['badauth', privImg, {DOCKER_CONFIG: bad}, new RegExp(`^cannot pull image ${esc(privImg)} from ${esc(priv.host)}: .*unauthorized.*; the registry refused the credentials from ${esc(join(bad, 'config.json'))}; log in again with \`docker login ${esc(priv.host)}\`$`)],
      ['notag', `${open.host}/pach-test/busybox:nope`, {DOCKER_CONFIG: noCfg}, new RegExp(`^cannot pull image ${esc(open.host)}/pach-test/busybox:nope from ${esc(open.host)}: .*manifest unknown.*; check the name and tag in transform.image, or build the image locally with \`docker build -t ${esc(open.host)}/pach-test/busybox:nope \\.\`$`)],
      ['dead', dead, {DOCKER_CONFIG: noCfg}, new RegExp(`^cannot pull image ${esc(dead)} from ${esc(dead.split('/')[0]!)}: .*connection refused; check that ${esc(dead.split('/')[0]!)} is reachable from the Docker engine, or put the image in the engine yourself`)],
    ]
    for (const [name, image, env, re] of cases) {
      const {stderr, job} = await imagePipeline(rp, name, image, env)
      expect(job.state, `${name}: ${stderr}`).toBe('JOB_FAILURE')
      expect(job.reason, name).toMatch(re)
      expect(job.reason).not.toContain('\n')
      // the command succeeded (a failed job is reported, not the command's error) and said why on stderr
      expect(stderr).toContain(`job ${name}@${job.job.id}: failure`)
      expect(stderr).toContain(job.reason)
      expect(hasImage(image)).toBe(false)
    }
  })
})

describeRegistry('images: Ctrl-C during a pull', () => {
  it('stops the pull and leaves the job pending, for create pipeline and for pach run', {timeout: TIMEOUT}, async (ctx) => {
    // a "registry" that accepts connections and never answers: the pull hangs until interrupted
    const sockets: import('node:net').Socket[] = []
    const server = createServer((c) => sockets.push(c))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    ctx.onTestFinished(() => {
      for (const c of sockets) c.destroy()
      server.close()
    })
    const image = `localhost:${(server.address() as {port: number}).port}/pach-test/hang:1`
    const rp = await project(ctx, 'docker')
    await rp.ok(['create', 'repo', 'in'])
    await rp.ok(['put', 'file', 'in@master:/a', '-f', '-'], {input: 'x\n'})
    const spec = writeSpec(rp.p, 'hang', pipeline('hang', 'true', {pfs: {repo: 'in', glob: '/*'}}, {transform: {image}}))
    for (const args of [['create', 'pipeline', '-f', spec], ['run']]) {
      const child = execa('node', [BIN, ...args], {cwd: rp.p.dir, env: {PACH_DETACH: '', PACH_RUNNER: 'docker', DOCKER_CONFIG: join(rp.p.dir, 'no-docker-config')}, reject: false})
      let err = ''
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()))
      for (let i = 0; i < 300 && !err.includes('pulling image'); i++) await new Promise((r) => setTimeout(r, 100))
      child.kill('SIGINT')
      const r = await child
      const job = await lastJob(rp, 'hang')
      expect(r.exitCode, r.stderr).toBe(130)
      expect(r.stderr.split('\n').filter(Boolean)).toEqual([`pulling image ${image} from ${image.split('/')[0]} (not present locally)`, `pach: interrupted; job hang@${job.job.id} is left pending (\`pach run\` resumes it)`])
    }
  })
})

describe.each(RUNNERS)('worker logs and failure reasons [%s runner]', (runner) => {
  const rit = runnerIt(runner)

  rit('logs carry only what user code printed; the reason has the exit code and the last stderr lines', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    await rp.ok(['create', 'repo', 'in'])
    await rp.ok(['put', 'file', 'in@master:/a', '-f', '-'], {input: 'x\n'})
    const specs = {
      missing: pipeline('missing', ['no-such-command', 'arg'], {pfs: {repo: 'in', glob: '/*'}}, {datum_tries: 1}),
      exit3: pipeline('exit3', 'echo out; echo one >&2; echo two >&2; echo three >&2; echo four >&2; exit 3', {pfs: {repo: 'in', glob: '/*'}}, {datum_tries: 1}),
    }
    for (const [name, spec] of Object.entries(specs)) await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, name, spec)])

    const logs = async (p: string) => ((await rp.json(['logs', '-p', p])) as {stream: string; message: string}[]).map((l) => `${l.stream}: ${l.message}`)
    const datum = async (p: string) => ((await rp.json(['list', 'datum', `${p}@${(await lastJob(rp, p)).job.id}`])) as {state: string; reason: string}[])[0]!

    const where = runner === 'docker' ? ` in image ${IMAGE}` : ''
    expect(await logs('missing')).toEqual([`stderr: pach: attempt 1/1 failed: could not start: command no-such-command not found${where} (exit 127)`])
    expect(await datum('missing')).toMatchObject({state: 'FAILED', reason: `could not start: command no-such-command not found${where} (exit 127)`})

    expect(await logs('exit3')).toEqual(['stdout: out', 'stderr: one', 'stderr: two', 'stderr: three', 'stderr: four', 'stderr: pach: attempt 1/1 failed: user code exited with code 3'])
    expect(await datum('exit3')).toMatchObject({state: 'FAILED', reason: 'user code exited with code 3; last lines of stderr: "two", "three", "four"'})
  })
})

describe('Ctrl-C while a job runs', () => {
  it('leaves the job pending and says that `pach run` resumes it (create pipeline, then pach run)', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'in'])
    await rp.ok(['put', 'file', 'in@master:/a', '-f', '-'], {input: 'x\n'})
    // the datum waits for a host file the test creates once it has interrupted twice (the local runner sees the host)
    const go = join(rp.p.dir, 'go')
    const spec = writeSpec(rp.p, 'slow', pipeline('slow', `while [ ! -e '${go}' ]; do sleep 0.1; done; cp /pfs/in/a /pfs/out/a`, {pfs: {repo: 'in', glob: '/*'}}))

    /** Start `pach <args>`, send SIGINT once its job runs, and return how it ended. */
    const interrupt = async (args: string[]) => {
      const child = execa('node', [BIN, ...args], {cwd: rp.p.dir, env: {PACH_DETACH: '', PACH_RUNNER: 'local'}, reject: false})
      for (let i = 0; i < 300; i++) {
        const jobs = (await rp.json(['list', 'job', '-p', 'slow']).catch(() => [])) as {state: string}[]
        if (jobs[0]?.state === 'JOB_RUNNING') break
        await new Promise((r) => setTimeout(r, 100))
      }
      child.kill('SIGINT')
      return child
    }

    for (const args of [['create', 'pipeline', '-f', spec], ['run']]) {
      const r = await interrupt(args)
      const job = await lastJob(rp, 'slow')
      expect(r.exitCode, r.stderr).toBe(130)
      expect(r.stderr.split('\n').filter(Boolean)).toEqual([`pach: interrupted; job slow@${job.job.id} is left pending (\`pach run\` resumes it)`])
      expect(job.state).toBe('JOB_CREATED')
    }
    writeFileSync(go, '')
    const done = await rp.okr(['run'])
    expect(done.stderr).toContain('job slow@')
    expect((await lastJob(rp, 'slow')).state).toBe('JOB_SUCCESS')
    expect(await rp.ok(['get', 'file', 'slow@master:/a'])).toBe('x\n')
  })
})
