/**
 * Spouts and services while `pach serve` runs (src/core/pps/continuous.ts): their code runs
 * continuously on the local and the Docker runner, restarts with backoff when it exits, stops
 * with stop/delete pipeline and with the server; a spout gets Pachyderm's env and a pachctl
 * config with a per-pipeline token, which may write only its own output repo (and its output
 * branch); a service answers on its external port and restarts on a new input commit.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {status, type Metadata} from '@grpc/grpc-js'
import {PachdClient} from '../../src/client/pachd-client.js'
import {PachError} from '../../src/core/errors.js'
import {initPach} from '../../src/core/pach.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {networkGateway, type NetworkIpam} from '../../src/runner/container-policy.js'
import {mustBeRoot, mustWrite} from '../../src/server/grpc/access.js'
import type {CallContext} from '../../src/server/grpc/call.js'
import {serve, until, type Served} from '../helpers/serve.js'


const read = (f: string): string | undefined => (existsSync(f) ? readFileSync(f, 'utf8') : undefined)

/** A running process (a zombie nobody reaped yet counts as gone). */
function alive(pid: number): boolean {
  const st = read(`/proc/${pid}/stat`)
  return st !== undefined && !/^\d+ \(.*\) Z/.test(st)
}

/** A TCP port nobody listens on now. */
async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as {port: number}).port
      s.close(() => res(port))
    })
  })
}

async function fetchText(url: string): Promise<string | undefined> {
  try {
    const r = await fetch(url, {signal: AbortSignal.timeout(1000)})
    return r.ok ? await r.text() : undefined
  } catch {
    return undefined
  }
}

const state = async (s: Served, name: string): Promise<{state: string; reason: string; type: string}> =>
  (await s.client.unary(s.client.pps, 'InspectPipeline', {pipeline: {name, project: {name: 'default'}}, details: false})) as unknown as {state: string; reason: string; type: string}

const create = (s: Served, spec: object) => s.project.ok(['create', 'pipeline', '-f', '-'], {input: JSON.stringify(spec), env: {PACH_DETACH: '1'}})

const containers = (label: string): string[] =>
  execFileSync('docker', ['ps', '-a', '--filter', `label=io.pach.service=${label}`, '--format', '{{.ID}}'], {encoding: 'utf8'}).split('\n').filter(Boolean)

describe('spouts on the local runner', () => {
  it("run with Pachyderm's env and a pachctl config of standard keys, show RUNNING and their output, and restart with backoff when they exit", async () => {
    const s = await serve({args: ['--runner', 'local']})
    const dir = s.project.dir
    const marks = join(dir, 'starts')
    const script = `echo "$(date +%s%N)" >> ${marks}; cp "$PACH_CONFIG" ${dir}/config.json; env > ${dir}/env.txt; echo "hello from $PPS_PIPELINE_NAME"; sleep 0.3; exit 7`
    await create(s, {pipeline: {name: 'feed'}, transform: {cmd: ['sh', '-c', script]}, spout: {}})
    const starts = await until('three starts', () => {
      const l = read(marks)?.trim().split('\n') ?? []
      return l.length >= 3 ? l.map((x) => Number(x) / 1e6) : undefined
    })
    // backoff: 1 s, then 2 s (each after the 0.3 s the code ran)
    const gap1 = starts[1]! - starts[0]! - 300
    const gap2 = starts[2]! - starts[1]! - 300
    expect(gap1).toBeGreaterThanOrEqual(900)
    expect(gap2).toBeGreaterThanOrEqual(1900)
    expect(gap2).toBeLessThan(4000)
    const info = await state(s, 'feed')
    expect(info.type).toBe('PIPELINE_TYPE_SPOUT')
    expect(['PIPELINE_CRASHING', 'PIPELINE_RUNNING']).toContain(info.state)
    await until('CRASHING', async () => ((await state(s, 'feed')).state === 'PIPELINE_CRASHING' ? true : undefined))
    expect((await state(s, 'feed')).reason).toMatch(/^user code exited with code 7; restarting in \d+ s$/)

    const config = JSON.parse(read(join(dir, 'config.json'))!)
    const ctxs = config.v2.contexts
    expect(Object.keys(config)).toEqual(['v2'])
    expect(Object.keys(config.v2).sort()).toEqual(['active_context', 'contexts'])
    expect(config.v2.active_context).toBe('default')
    expect(Object.keys(ctxs.default).sort()).toEqual(['pachd_address', 'project', 'session_token'])
    expect(ctxs.default.pachd_address).toBe(`grpc://localhost:${s.address.split(':').pop()}`)
    expect(ctxs.default.session_token).toMatch(/^[0-9a-f]{64}$/)
    const env = Object.fromEntries(read(join(dir, 'env.txt'))!.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
    expect(env).toMatchObject({
      PPS_PIPELINE_NAME: 'feed',
      PPS_PROJECT_NAME: 'default',
      PACHD_PEER_SERVICE_HOST: 'localhost',
      PACHD_PEER_SERVICE_PORT: s.address.split(':').pop(),
      PEER_PORT: s.address.split(':').pop(),
      PACH_PYTHON_AUTH_TOKEN: ctxs.default.session_token,
    })
    expect(env.PPS_SPEC_COMMIT).toMatch(/^[0-9a-f]{32}$/)

    const logs = await s.project.ok(['logs', '-p', 'feed'])
    expect(logs).toContain('hello from feed')
    expect(logs).toMatch(/user code exited with code 7; restarting in 1 s/)
  })

  it("commits into its output repo from its own code, through the API with the config it was given (pach's client in a node spout)", async () => {
    const s = await serve({args: ['--runner', 'local']})
    const client = join(import.meta.dirname, '../../dist/client/pachd-client.js')
    // what a spout does on a cluster: read the mounted config, commit, write, finish, repeat
    const code = `
      const {PachdClient} = await import(${JSON.stringify(client)})
      const {readFileSync} = await import('node:fs')
      const ctx = JSON.parse(readFileSync(process.env.PACH_CONFIG, 'utf8')).v2.contexts.default
      const c = new PachdClient(ctx.pachd_address, {token: ctx.session_token})
      const repo = {name: process.env.PPS_PIPELINE_NAME, type: 'user', project: {name: ctx.project}}
      for (const n of [1, 2]) {
        const commit = await c.unary(c.pfs, 'StartCommit', {branch: {repo, name: 'master'}, parent: null, description: 'batch ' + n})
        await c.send(c.pfs, 'ModifyFile', [{set_commit: commit}, {add_file: {path: '/batch-' + n, raw: {value: Buffer.from('data ' + n)}}}])
        await c.unary(c.pfs, 'FinishCommit', {commit, description: '', error: '', force: false})
        console.log('committed batch ' + n)
      }
      c.close()
      setInterval(() => {}, 1000)`
    await create(s, {pipeline: {name: 'ingest'}, transform: {cmd: ['node', '--input-type=module', '-e', code]}, spout: {}})
    const files = await until('two batches', async () => {
      const l = (await s.project.json(['list', 'file', 'ingest@master:/'])) as {file: {path: string}}[]
      return l.length === 2 ? l.map((f) => f.file.path) : undefined
    })
    expect(files).toEqual(['/batch-1', '/batch-2'])
    expect(await s.project.ok(['get', 'file', 'ingest@master:/batch-2'])).toBe('data 2')
    const commits = (await s.project.json(['list', 'commit', 'ingest@master'])) as {description: string; origin: {kind: string}}[]
    expect(commits.slice(0, 2).map((c) => c.description)).toEqual(['batch 2', 'batch 1'])
    expect(await s.project.ok(['logs', '-p', 'ingest'])).toContain('committed batch 2')
  })

  it('stop, start and delete pipeline stop and start the code, and stopping the server stops it', async () => {
    const s = await serve({args: ['--runner', 'local']})
    const pidFile = join(s.project.dir, 'pid')
    await create(s, {pipeline: {name: 'feed'}, transform: {cmd: ['sh', '-c', `echo $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile} && exec sleep 1000`]}, spout: {}})
    const pidOf = () => {
      const t = read(pidFile)?.trim()
      return t ? Number(t) : undefined
    }
    const first = await until('the spout to start', () => {
      const pid = pidOf()
      return pid && alive(pid) ? pid : undefined
    })
    await until('RUNNING', async () => ((await state(s, 'feed')).state === 'PIPELINE_RUNNING' ? true : undefined))
    const list = (await s.project.json(['list', 'pipeline'])) as {pipeline: {name: string}; state: string}[]
    expect(list.find((p) => p.pipeline.name === 'feed')?.state).toBe('PIPELINE_RUNNING')

    await s.project.ok(['stop', 'pipeline', 'feed'])
    await until('the code to stop', () => (alive(first) ? undefined : true))
    expect((await state(s, 'feed')).state).toBe('PIPELINE_PAUSED')

    await s.project.ok(['start', 'pipeline', 'feed'], {env: {PACH_DETACH: '1'}})
    const second = await until('the code to start again', () => {
      const pid = pidOf()
      return pid && pid !== first && alive(pid) ? pid : undefined
    })
    await s.project.ok(['delete', 'pipeline', 'feed'])
    await until('the code to stop after delete', () => (alive(second) ? undefined : true))

    await create(s, {pipeline: {name: 'feed2'}, transform: {cmd: ['sh', '-c', `echo $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile} && exec sleep 1000`]}, spout: {}})
    const third = await until('the second spout', () => {
      const pid = pidOf()
      return pid && pid !== second && alive(pid) ? pid : undefined
    })
    expect(await s.stop()).toBe(0)
    expect(alive(third)).toBe(false)
    // with no server, the spout is STANDBY (its code runs while pach serve runs)
    expect((await s.project.json(['inspect', 'pipeline', 'feed2'])).state).toBe('PIPELINE_STANDBY')
  })
})

describe("a spout's token", () => {
  it('commits on its own output branch through the API; writes elsewhere are PERMISSION_DENIED; reads work; without it the output branch is refused', async () => {
    const s = await serve({args: ['--runner', 'local']})
    const dir = s.project.dir
    await s.project.ok(['create', 'repo', 'other'])
    await create(s, {pipeline: {name: 'feed'}, transform: {cmd: ['sh', '-c', `cp "$PACH_CONFIG" ${dir}/config.tmp && mv ${dir}/config.tmp ${dir}/config.json && exec sleep 1000`]}, spout: {}})
    const config = await until('the spout config', () => read(join(dir, 'config.json')))
    const ctx = JSON.parse(config).v2.contexts.default as {pachd_address: string; session_token: string}
    const c = new PachdClient(ctx.pachd_address, {token: ctx.session_token})
    const repo = (name: string) => ({name, type: 'user', project: {name: 'default'}})
    try {
      const started = await c.unary(c.pfs, 'StartCommit', {branch: {repo: repo('feed'), name: 'master'}, parent: null, description: 'from the spout'})
      expect(started.id).toMatch(/^[0-9a-f]{32}$/)
      await c.unary(c.pfs, 'FinishCommit', {commit: {repo: repo('feed'), id: started.id, branch: null}, description: '', error: '', force: false})
      const commits = (await s.project.json(['list', 'commit', 'feed@master'])) as {commit: {id: string}; description: string}[]
      expect(commits[0]).toMatchObject({commit: {id: started.id}, description: 'from the spout'})
      // ModifyFile on its branch: a one-off commit, as `pachctl put file feed@master:/x` makes
      await c.send(c.pfs, 'ModifyFile', [{set_commit: {repo: repo('feed'), id: '', branch: {repo: repo('feed'), name: 'master'}}}, {add_file: {path: '/x', raw: {value: Buffer.from('spouted')}}}] as never)
      expect(await s.project.ok(['get', 'file', 'feed@master:/x'])).toBe('spouted')
      await expect(
        c.send(c.pfs, 'ModifyFile', [{set_commit: {repo: repo('other'), id: '', branch: {repo: repo('other'), name: 'master'}}}, {add_file: {path: '/x', raw: {value: Buffer.from('no')}}}] as never),
      ).rejects.toMatchObject({code: status.PERMISSION_DENIED})
      for (const call of [
        () => c.unary(c.pfs, 'StartCommit', {branch: {repo: repo('other'), name: 'master'}, parent: null, description: ''}),
        () => c.unary(c.pfs, 'CreateRepo', {repo: repo('mine'), description: '', update: false}),
        () => c.unary(c.pfs, 'CreateBranch', {branch: {repo: repo('other'), name: 'dev'}, head: null, provenance: [], trigger: null, new_commit_set: false}),
        () => c.unary(c.pfs, 'DeleteRepo', {repo: repo('other'), force: true}),
        () => c.unary(c.pps, 'StopPipeline', {pipeline: {name: 'feed', project: {name: 'default'}}, must_exist: false}),
        () => c.unary(c.transaction, 'BatchTransaction', {requests: [{create_repo: {repo: repo('sneaky'), description: '', update: false}}]} as never),
      ]) {
        await expect(call()).rejects.toMatchObject({code: status.PERMISSION_DENIED, details: expect.stringMatching(/^pipeline:default\/feed is not authorized to perform this operation - needs permissions \[/)})
      }
      expect((await c.unary(c.pfs, 'InspectRepo', {repo: repo('other')})).repo.name).toBe('other')
      // the root caller (no token) may not commit on an output branch: only the spout may
      await expect(s.client.unary(s.client.pfs, 'StartCommit', {branch: {repo: repo('feed'), name: 'master'}, parent: null, description: ''})).rejects.toMatchObject({
        details: expect.stringMatching(/cannot start a commit on an output branch/),
      })
    } finally {
      c.close()
    }
  })

  const ctxOf = (access: CallContext['access']): CallContext => ({access, signal: new AbortController().signal, metadata: {} as Metadata})

  it('may write only its own output repo (PERMISSION_DENIED elsewhere, in pachd words); the root caller may write anything', () => {
    const spout = ctxOf({kind: 'pipeline', project: 'default', pipeline: 'feed'})
    expect(mustWrite(spout, {name: 'feed'})).toEqual({project: 'default', pipeline: 'feed'})
    expect(mustWrite(spout, {project: 'default', name: 'feed', type: 'user'})).toEqual({project: 'default', pipeline: 'feed'})
    for (const repo of [{name: 'other'}, {name: 'feed', type: 'meta'}, {name: 'feed', type: 'spec'}, {project: 'p2', name: 'feed'}]) {
      let err: unknown
      try {
        mustWrite(spout, repo)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(PachError)
      expect((err as PachError).code).toBe('PERMISSION_DENIED')
      expect((err as PachError).message).toMatch(/^pipeline:default\/feed is not authorized to perform this operation - needs permissions \[REPO_WRITE\] on REPO /)
    }
    expect(() => mustBeRoot(spout, 'CLUSTER_MODIFY_BINDINGS')).toThrow(/is not authorized to perform this operation/)
    const root = ctxOf({kind: 'root'})
    expect(mustWrite(root, {name: 'anything'})).toBeUndefined()
    expect(() => mustBeRoot(root, 'x')).not.toThrow()
  })

  it("lets the core commit on the spout's own output branch only through the explicit writer", async () => {
    const {mkdtempSync, rmSync} = await import('node:fs')
    const {tmpdir} = await import('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'pach-spout-'))
    const pach = initPach(dir)
    try {
      pach.repos.create('default', 'other', {})
      const spec = parseSpecs(JSON.stringify({pipeline: {name: 'feed'}, transform: {cmd: ['true']}, spout: {}}), 'feed.json').specs[0]!
      pach.pipelines.put(spec, {update: false, reprocess: false, file: 'feed.json'})
      const feed = {repo: {name: 'feed', type: 'user' as const}, branch: 'master'}
      const writer = {project: 'default', pipeline: 'feed'}
      // no writer: pachd's refusal of user commits on an output branch
      expect(() => pach.commits.start('default', feed, {})).toThrow(/cannot start a commit on an output branch/)
      await expect(pach.files.put('default', feed, [{path: '/x', open: async function* () {}}])).rejects.toMatchObject({code: 'OUTPUT_BRANCH'})
      // another pipeline's writer is no better
      expect(() => pach.commits.start('default', feed, {writer: {project: 'default', pipeline: 'other'}})).toThrow(/output branch/)
      // the spout's own writer: a commit, files into it, finished; and a one-off file write
      const c = pach.commits.start('default', feed, {writer}) as {commit: {id: string}}
      await pach.files.put('default', {repo: feed.repo, id: c.commit.id}, [{path: '/a', open: async function* () { yield Buffer.from('A') }}])
      pach.commits.finish('default', {repo: feed.repo, id: c.commit.id}, {})
      await pach.files.put('default', feed, [{path: '/b', open: async function* () { yield Buffer.from('B') }}], {writer})
      pach.files.delete('default', feed, ['/a'], {writer})
      expect([...pach.files.list('default', {commit: feed, path: '/'})].map((f) => f.file.path)).toEqual(['/b'])
      // a stopped spout writes no more
      pach.pipelines.stop('default', 'feed')
      pach.pipelines.start('default', 'feed')
      expect(pach.commits.start('default', feed, {writer})).toBeTruthy()
    } finally {
      pach.db.close()
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('services on the local runner', () => {
  it('answer on their port over the latest input, restarted on a new input commit', async () => {
    const s = await serve({args: ['--runner', 'local']})
    const port = await freePort()
    await s.project.ok(['create', 'repo', 'in'])
    await s.project.ok(['put', 'file', 'in@master:/page.txt', '-f', '-'], {input: 'one'})
    await create(s, {
      pipeline: {name: 'web'},
      input: {pfs: {repo: 'in', glob: '/'}},
      transform: {cmd: ['python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', '/pfs/in']},
      service: {internal_port: port, external_port: port},
    })
    expect(await until('the first page', async () => ((await fetchText(`http://127.0.0.1:${port}/page.txt`)) === 'one' ? 'one' : undefined))).toBe('one')
    const jobs1 = (await s.project.json(['list', 'job', '-p', 'web'])) as {job: {id: string}; state: string}[]
    expect(jobs1.map((j) => j.state)).toEqual(['JOB_RUNNING'])
    expect((await state(s, 'web'))).toMatchObject({type: 'PIPELINE_TYPE_SERVICE', state: 'PIPELINE_RUNNING'})
    await s.project.ok(['put', 'file', 'in@master:/page.txt', '-f', '-'], {input: 'two', env: {PACH_DETACH: '1'}})
    expect(await until('the page of the new commit', async () => ((await fetchText(`http://127.0.0.1:${port}/page.txt`)) === 'two' ? 'two' : undefined))).toBe('two')
    const jobs2 = (await s.project.json(['list', 'job', '-p', 'web'])) as {job: {id: string}; state: string}[]
    expect(jobs2.map((j) => j.state)).toEqual(['JOB_RUNNING', 'JOB_SUCCESS'])
    expect(jobs2[1]!.job.id).toBe(jobs1[0]!.job.id)
    expect(await s.stop()).toBe(0)
    expect(await fetchText(`http://127.0.0.1:${port}/page.txt`)).toBeUndefined()
  })
})

describe('spouts and services on the Docker runner', () => {
  it('reach the server from a container (a listener on the bridge gateway, pipeline tokens only), publish a service port, and leave no container after SIGTERM', async () => {
    const s = await serve({args: ['--runner', 'docker']})
    // the spout proves it reaches the server at the address of its mounted config
    const probe = 'addr=$(sed -n \'s/.*"pachd_address": "grpc:\\/\\/\\([^"]*\\)".*/\\1/p\' /pachctl/config.json); ' +
      'host=${addr%:*}; port=${addr##*:}; ' +
      'if nc -w 3 $host $port </dev/null; then echo "reach-ok $PPS_PIPELINE_NAME $PACHD_PEER_SERVICE_HOST:$PACHD_PEER_SERVICE_PORT"; else echo reach-fail; fi; exec sleep 1000'
    await create(s, {pipeline: {name: 'dfeed'}, transform: {image: 'pach-test/busybox:1', cmd: ['sh', '-c', probe]}, spout: {}})
    const line = await until('the container spout to report', async () => {
      const logs = await s.project.ok(['logs', '-p', 'dfeed'])
      return /reach-(ok|fail).*/.exec(logs)?.[0]
    }, 40_000)
    expect(line).toMatch(/^reach-ok dfeed host\.docker\.internal:\d+$/)
    const port = Number(line.split(':').pop())
    expect(port).not.toBe(Number(s.address.split(':').pop()))
    expect(containers('default-dfeed')).toHaveLength(1)
    // that listener takes the spout's token (from its generated config) and nothing else
    // the host's address on the bridge, found as the runner finds it (Docker 20.10 records no gateway for it)
    const gateway = networkGateway(JSON.parse(execFileSync('docker', ['network', 'inspect', 'bridge', '--format', '{{json .IPAM}}'], {encoding: 'utf8'})) as NetworkIpam)
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    const config = JSON.parse(readFileSync(join(s.project.dir, '.pach', 'tmp', 'continuous', 'default-dfeed-1', 'pachctl', 'config.json'), 'utf8'))
    const token = config.v2.contexts.default.session_token as string
    const withToken = new PachdClient(`grpc://${gateway}:${port}`, {token})
    const without = new PachdClient(`grpc://${gateway}:${port}`)
    try {
      expect((await withToken.unary(withToken.admin, 'InspectCluster', {client_version: null, current_project: null})).deployment_id).toMatch(/^[0-9a-f]{32}$/)
      await expect(without.unary(without.admin, 'InspectCluster', {client_version: null, current_project: null})).rejects.toMatchObject({code: status.UNAUTHENTICATED})
    } finally {
      withToken.close()
      without.close()
    }

    const web = await freePort()
    await s.project.ok(['create', 'repo', 'in'])
    await s.project.ok(['put', 'file', 'in@master:/index.html', '-f', '-'], {input: 'from a container', env: {PACH_DETACH: '1'}})
    await create(s, {
      pipeline: {name: 'dweb'},
      input: {pfs: {repo: 'in', glob: '/'}},
      transform: {image: 'pach-test/busybox:1', cmd: ['busybox', 'httpd', '-f', '-p', '8080', '-h', '/pfs/in']},
      service: {internal_port: 8080, external_port: web},
    })
    expect(await until('the container service', () => fetchText(`http://127.0.0.1:${web}/index.html`), 40_000)).toBe('from a container')
    expect(await s.stop()).toBe(0)
    expect(containers('default-dfeed')).toEqual([])
    expect(containers('default-dweb')).toEqual([])
  })
})
