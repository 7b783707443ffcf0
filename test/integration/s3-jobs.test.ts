/**
 * The job service's side of s3 pipelines (s3-job.ts), over a real temp project with the fake
 * runner and a recording S3 sidecar: which buckets a job opens and where (the runner's worker
 * route), what user code gets (env, an empty /pfs/<s3 input>, the endpoint on its worker
 * spec), that the sidecar is closed however the job ends (success, failure, kill), that with
 * s3_out the output commit starts empty and is what was written into it (not /pfs/out), and
 * that a run without a sidecar fails the job saying why. The real gateway and aws CLI are in
 * test/e2e/s3-pipelines.test.ts.
 */
import {readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import type {Pach} from '../../src/core/pach.js'
import {parseCommit, parseFile} from '../../src/core/pfs/refs.js'
import type {ServiceRoute, WorkerSpec} from '../../src/core/pps/runner.js'
import type {S3JobBuckets, S3Sidecar, S3SidecarHandle} from '../../src/core/pps/s3-sidecar.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {FakeRunner, type FakeUserCode} from '../helpers/fake-runner.js'
import {tempPach, text} from '../helpers/project.js'

const spec = (obj: unknown) => parseSpecs(JSON.stringify(obj), 'test.json').specs[0]!

async function put(pach: Pach, ref: string, files: Record<string, string>) {
  await pach.files.put('default', parseCommit(ref), Object.entries(files).map(([path, s]) => ({path, open: text(s)})))
}

function files(pach: Pach, ref: string): Record<string, string> {
  const out: Record<string, string> = {}
  const {commit} = pach.engine.resolve.commit(parseCommit(ref), 'default')
  for (const [p, e] of pach.ctx.trees.walk(commit.tree)) if (e.kind === 'file') out[p] = pach.files.readAll('default', parseFile(`${ref}:${p}`)).toString()
  return out
}

/** A sidecar that records what it is asked and, like the gateway, writes `out` into the job's output commit. */
class RecordingSidecar implements S3Sidecar {
  opened: {job: {pipeline: string; jobId: string}; buckets: S3JobBuckets; route: ServiceRoute}[] = []
  closed = 0

  async open(job: {pipeline: string; project: string; jobId: string}, buckets: S3JobBuckets, route: ServiceRoute): Promise<S3SidecarHandle> {
    this.opened.push({job, buckets, route})
    return {endpoint: `http://${route.host}:4567`, accessKey: 'default', secretKey: 'default', close: async () => void this.closed++}
  }
}

/** A fake runner with a worker route (as the real ones have), recording worker specs. */
class RoutedRunner extends FakeRunner {
  specs: WorkerSpec[] = []
  override async startWorker(spec: WorkerSpec) {
    this.specs.push(spec)
    return super.startWorker(spec)
  }
  async workerRoute(): Promise<ServiceRoute> {
    return {host: '10.9.8.1', listen: '10.9.8.1'}
  }
}

const S3_SPEC = {
  pipeline: {name: 'up'},
  transform: {cmd: ['x'], env: {AWS_ACCESS_KEY_ID: 'mine', KEEP: '1'}},
  input: {cross: [{pfs: {repo: 'cfg', glob: '/', s3: true, name: 'conf'}}, {pfs: {repo: 'items', glob: '/*'}}]},
  s3_out: true,
}

describe('s3 jobs (fake runner, recording sidecar)', () => {
  it('opens the job buckets on the worker route, gives code the endpoint and env, keeps /pfs/<s3 input> empty, closes after', async () => {
    const {pach} = tempPach()
    pach.repos.create('default', 'cfg')
    pach.repos.create('default', 'items')
    await put(pach, 'cfg@master', {'/c': 'config'})
    await put(pach, 'items@master', {'/a': 'A', '/b': 'B'})
    const seen: {env: Record<string, string>; conf: string[]; ls: string[]}[] = []
    const code: FakeUserCode = async (io) => {
      seen.push({env: io.env, conf: readdirSync(join(io.inputsDir, 'conf')), ls: readdirSync(io.inputsDir).sort()})
      // what the gateway would do for a PUT to bucket out: write into the open output commit
      await put(pach, `up@${io.env.PACH_OUTPUT_COMMIT_ID}`, {[`/${io.env.items!.split('/').pop()}`]: 'via s3'})
      return 0
    }
    const runner = new RoutedRunner(code)
    const s3 = new RecordingSidecar()
    pach.pipelines.put(spec(S3_SPEC), {update: false, reprocess: false, file: 't'})
    const [job] = await pach.jobs.runPending({runner: async () => runner, s3: async () => s3})
    expect(job!.state, job!.reason).toBe('JOB_SUCCESS')
    const cfgHead = pach.commits.inspect('default', parseCommit('cfg@master')).commit.id
    expect(s3.opened).toEqual([
      {
        job: {pipeline: 'up', project: 'default', jobId: job!.job.id},
        buckets: {inputs: [{bucket: 'conf', commit: {project: 'default', repo: 'cfg', commit: cfgHead}}], out: {project: 'default', repo: 'up', commit: job!.job.id}},
        route: {host: '10.9.8.1', listen: '10.9.8.1'},
      },
    ])
    expect(s3.closed).toBe(1)
    expect(runner.specs.map((w) => w.endpoint)).toEqual([{host: '10.9.8.1', address: '10.9.8.1', port: 4567}])
    expect(seen).toHaveLength(2)
    for (const s of seen) {
      expect(s.conf).toEqual([]) // nothing materialised
      expect(s.ls).toEqual(['conf', 'items', 'out'])
      // Pachyderm's variables win over transform.env; the rest of transform.env stays
      expect(s.env).toMatchObject({S3_ENDPOINT: 'http://10.9.8.1:4567', AWS_ACCESS_KEY_ID: 'default', AWS_SECRET_ACCESS_KEY: 'default', AWS_EC2_METADATA_DISABLED: 'true', KEEP: '1'})
    }
    expect(files(pach, 'up@master')).toEqual({'/a': 'via s3', '/b': 'via s3'})
  })

  it('s3_out: the output starts empty, /pfs/out is dropped, and no datum is skipped', async () => {
    const {pach} = tempPach()
    pach.repos.create('default', 'cfg')
    pach.repos.create('default', 'items')
    await put(pach, 'cfg@master', {'/c': 'config'})
    await put(pach, 'items@master', {'/a': 'A', '/b': 'B'})
    let writeViaS3 = true
    const code: FakeUserCode = async (io) => {
      const name = io.env.items!.split('/').pop()!
      writeFileSync(join(io.outDir, `pfs-out-${name}`), 'lost')
      if (writeViaS3) await put(pach, `up@${io.env.PACH_OUTPUT_COMMIT_ID}`, {[`/${name}`]: 'v1'})
      return 0
    }
    const runner = new RoutedRunner(code)
    const s3 = new RecordingSidecar()
    pach.pipelines.put(spec(S3_SPEC), {update: false, reprocess: false, file: 't'})
    await pach.jobs.runPending({runner: async () => runner, s3: async () => s3})
    expect(files(pach, 'up@master')).toEqual({'/a': 'v1', '/b': 'v1'})
    // a new item: every datum runs again; with nothing written this time the output is empty
    writeViaS3 = false
    await put(pach, 'items@master', {'/c': 'C'})
    const [job] = await pach.jobs.runPending({runner: async () => runner, s3: async () => s3})
    expect(job).toMatchObject({state: 'JOB_SUCCESS', data_total: 3, data_processed: 3, data_skipped: 0})
    expect(files(pach, 'up@master')).toEqual({})
    expect(s3.closed).toBe(2)
  })

  it('closes the sidecar when the job fails or is killed; fails the job when the run has no sidecar', async () => {
    const {pach} = tempPach()
    pach.repos.create('default', 'cfg')
    pach.repos.create('default', 'items')
    await put(pach, 'cfg@master', {'/c': 'config'})
    await put(pach, 'items@master', {'/a': 'A'})
    const s3 = new RecordingSidecar()
    pach.pipelines.put(spec({...S3_SPEC, datum_tries: 1}), {update: false, reprocess: false, file: 't'})
    let [job] = await pach.jobs.runPending({runner: async () => new RoutedRunner(() => 1), s3: async () => s3})
    expect(job!.state).toBe('JOB_FAILURE')
    expect(s3.closed).toBe(1)

    // killed while its code runs (stop job from elsewhere: the row is polled)
    await put(pach, 'items@master', {'/b': 'B'})
    const stopping = new RoutedRunner(async (io) => {
      pach.jobs.stop('default', 'up', io.env.PACH_JOB_ID!)
      await new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve()))
      return 1
    })
    ;[job] = await pach.jobs.runPending({runner: async () => stopping, s3: async () => s3})
    expect(job!.state).toBe('JOB_KILLED')
    expect(s3.closed).toBe(2)
    expect(s3.opened).toHaveLength(2)

    await put(pach, 'items@master', {'/c': 'C'})
    ;[job] = await pach.jobs.runPending({runner: async () => new RoutedRunner(() => 0)})
    expect(job).toMatchObject({state: 'JOB_FAILURE', reason: 'pipeline up reads or writes through S3 (an "s3" input or "s3_out"), but this run has no S3 gateway'})
  })
})
