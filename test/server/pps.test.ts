import {status} from '@grpc/grpc-js'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import type {PachdClient} from '../../src/client/pachd-client.js'
import {serve, type Served} from '../helpers/serve.js'
import {specDocument, specProtojson} from '../../src/server/grpc/pps-convert.js'
import type {PipelineSpec} from '../../src/core/pps/spec/index.js'

const LOCAL = {args: ['--runner', 'local']}

/** Every message of a server stream. */
async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/** Put a file through the CLI (detached: the server's daemon, not the CLI, runs the jobs); returns the commit id. */
async function putFile(s: Served, dest: string, content: string): Promise<string> {
  const path = join(s.project.dir, `in-${Math.random().toString(36).slice(2)}`)
  writeFileSync(path, content)
  return (await s.project.json<{commit: {id: string}}>(['put', 'file', dest, '-f', path, '--detach'])).commit.id
}

const job = (pipeline: string, id: string) => ({pipeline: {name: pipeline, project: {name: 'default'}}, id})

/** Wait for a job through the API (InspectJob wait). */
const waitJob = (c: PachdClient, pipeline: string, id: string) => c.unary(c.pps, 'InspectJob', {job: job(pipeline, id), wait: true, details: true})

const copySpec = (name: string, extra: Record<string, unknown> = {}) => ({
  pipeline: {name},
  transform: {cmd: ['sh', '-c', 'for f in /pfs/images/*; do echo "saw $(basename $f)"; cp $f /pfs/out/; done']},
  input: {pfs: {repo: 'images', glob: '/*'}},
  ...extra,
})

describe('pach serve: pps_v2 pipelines and jobs', () => {
  it('CreatePipelineV2 (camelCase protojson) → the daemon runs the job of a CLI put; InspectJob wait, ListJob, job sets, datums, logs', async () => {
    const s = await serve(LOCAL)
    const c = s.client
    await s.project.ok(['create', 'repo', 'images'])
    const json = JSON.stringify({
      pipeline: {name: 'edges', project: {name: 'default'}},
      transform: {cmd: ['sh', '-c', 'for f in /pfs/images/*; do echo "saw $(basename $f)"; cp $f /pfs/out/; done']},
      input: {pfs: {repo: 'images', glob: '/*'}},
      parallelismSpec: {constant: '1'},
      datumTries: '2',
      datumTimeout: '60s',
      update: false,
    })
    const r = await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: json, dry_run: false, update: false, reprocess: false})
    const eff = JSON.parse(r.effective_create_pipeline_request_json!)
    expect(eff).toMatchObject({pipeline: {name: 'edges', project: {name: 'default'}}, datumTries: '2', datumTimeout: '60s', parallelismSpec: {constant: '1'}, outputBranch: 'master'})
    expect(eff.input.pfs).toMatchObject({repo: 'images', glob: '/*', repoType: 'user'})
    expect(eff.salt).toMatch(/^[0-9a-f]{32}$/)

    const id = await putFile(s, 'images@master:/a.txt', 'hello\n')
    // nobody runs `pach run`: the server's daemon runs the job
    const j = await waitJob(c, 'edges', id)
    expect(j.state).toBe('JOB_SUCCESS')
    expect(j).toMatchObject({data_processed: 1, data_total: 1, job: job('edges', id), output_commit: {repo: {name: 'edges', type: 'user'}, id}})
    expect(Number(j.created!.seconds)).toBeGreaterThan(1.7e9)
    expect(j.details?.transform?.cmd?.[0]).toBe('sh')
    expect(j.details?.datum_timeout).toMatchObject({seconds: 60})
    expect(await s.project.ok(['get', 'file', 'edges@master:/a.txt'])).toBe('hello\n')

    const p = await c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'edges'}, details: true})
    expect(p).toMatchObject({pipeline: {name: 'edges', project: {name: 'default'}}, version: 1, type: 'PIPELINE_TYPE_TRANSFORM', last_job_state: 'JOB_SUCCESS', stopped: false})
    expect(p.details).toMatchObject({output_branch: 'master', datum_tries: 2, parallelism_spec: {constant: 1}, input: {pfs: {repo: 'images', glob: '/*'}}})
    expect(JSON.parse(p.user_spec_json!)).toEqual(JSON.parse(json))
    expect(JSON.parse(p.effective_spec_json!)).toMatchObject({datumTries: '2', datumTimeout: '60s'})
    expect((await c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'edges'}, details: false})).details).toBeNull()

    const jobs = await all(c.stream(c.pps, 'ListJob', {pipeline: {name: 'edges'}, details: false}))
    expect(jobs[0]!.job!.id).toBe(id) // newest first
    expect(jobs.every((x) => x.state === 'JOB_SUCCESS')).toBe(true)
    expect((await all(c.stream(c.pps, 'ListJob', {pipeline: {name: 'edges'}, reverse: true})))[0]!.job!.id).not.toBe(id)
    expect(await all(c.stream(c.pps, 'ListJob', {pipeline: {name: 'edges'}, number: 1}))).toHaveLength(1)
    const byInput = await all(c.stream(c.pps, 'ListJob', {input_commit: [{repo: {name: 'images', type: 'user', project: {name: 'default'}}, id}]}))
    expect(byInput.map((x) => x.job!.id)).toEqual([id])
    const sets = await all(c.stream(c.pps, 'ListJobSet', {}))
    expect(sets[0]!.job_set!.id).toBe(id)
    expect(sets[0]!.jobs!.map((x) => x.job!.pipeline!.name)).toEqual(['edges'])
    const inSet = await all(c.stream(c.pps, 'InspectJobSet', {job_set: {id}, wait: true}))
    expect(inSet.map((x) => [x.job!.pipeline!.name, x.state])).toEqual([['edges', 'JOB_SUCCESS']])

    const datums = await all(c.stream(c.pps, 'ListDatum', {job: job('edges', id)}))
    expect(datums).toHaveLength(1)
    expect(datums[0]).toMatchObject({state: 'SUCCESS', datum: {job: job('edges', id)}})
    expect(datums[0]!.data![0]).toMatchObject({file: {path: '/a.txt', commit: {id}}, file_type: 'FILE', size_bytes: 6})
    expect(await all(c.stream(c.pps, 'ListDatum', {job: job('edges', id), filter: {state: ['FAILED']}}))).toEqual([])
    const dInfo = await c.unary(c.pps, 'InspectDatum', {datum: {job: job('edges', id), id: datums[0]!.datum!.id}})
    expect(dInfo.state).toBe('SUCCESS')
    // a dry plan over an input (pachctl list datum -f)
    await putFile(s, 'images@master:/b.txt', 'more\n')
    const planned = await all(c.stream(c.pps, 'ListDatum', {input: {pfs: {repo: 'images', glob: '/*'}}}))
    expect(planned.map((x) => x.data![0]!.file!.path)).toEqual(['/a.txt', '/b.txt'])
    expect(planned[0]!.state).toBe('UNKNOWN')

    const logs = await all(c.stream(c.pps, 'GetLogs', {pipeline: {name: 'edges'}, job: job('edges', id)}))
    expect(logs.map((l) => l.message)).toEqual(['saw a.txt'])
    expect(logs[0]).toMatchObject({pipeline_name: 'edges', job_id: id, project_name: 'default', user: true, datum_id: datums[0]!.datum!.id})
    expect(logs[0]!.data!.map((f) => f.path)).toEqual(['/a.txt'])
    expect(Buffer.from(logs[0]!.data![0]!.hash!).toString('hex')).toBe(Buffer.from(datums[0]!.data![0]!.hash!).toString('hex'))
    // data_filters: lines of the datums that read a file (by path or hash)
    expect(await all(c.stream(c.pps, 'GetLogs', {pipeline: {name: 'edges'}, data_filters: ['/nope.txt']}))).toEqual([])
    expect((await all(c.stream(c.pps, 'GetLogs', {pipeline: {name: 'edges'}, data_filters: ['/a.txt']}))).map((l) => l.message)).toEqual(['saw a.txt'])
    expect(Number(logs[0]!.ts!.seconds)).toBeGreaterThan(1.7e9)
  })

  it('CreatePipeline as a message (the Python SDK): zero values and empty messages are not set fields; update with reprocess; stop, start, delete', async () => {
    const s = await serve(LOCAL)
    const c = s.client
    await s.project.ok(['create', 'repo', 'images'])
    const id1 = await putFile(s, 'images@master:/a.txt', 'one\n')
    // what the SDK sends for create_pipeline(pipeline=…, transform=…, input=…, parallelism_spec=ParallelismSpec(), egress=Egress(), resource_limits=ResourceSpec())
    const msg = {
      pipeline: {name: 'copy'},
      transform: {image: '', cmd: ['sh', '-c', 'cp /pfs/images/* /pfs/out/'], env: {}, accept_return_code: [0]},
      input: {pfs: {repo: 'images', glob: '/*', branch: '', lazy: false}, cross: []},
      parallelism_spec: {constant: 0},
      egress: {},
      resource_limits: {},
      update: false,
      output_branch: '',
      s3_out: false,
      autoscaling: false,
      datum_tries: 0,
      salt: '',
      reprocess_spec: '',
    }
    await c.unary(c.pps, 'CreatePipeline', msg)
    const p = await c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'copy', project: {name: 'default'}}, details: true})
    expect(p.details).toMatchObject({parallelism_spec: {constant: 1}, datum_tries: 3, output_branch: 'master', egress: null})
    expect(p.details!.transform!.accept_return_code).toEqual([0])
    const first = (await all(c.stream(c.pps, 'ListJob', {pipeline: {name: 'copy'}})))[0]!
    expect((await waitJob(c, 'copy', first.job!.id!)).state).toBe('JOB_SUCCESS')
    expect(await s.project.ok(['get', 'file', `copy@master:/a.txt`])).toBe('one\n')
    expect(id1).toMatch(/^[0-9a-f]{32}$/)

    // update: same salt without reprocess; a new salt with it (RerunPipeline too)
    const salt1 = p.details!.salt
    await c.unary(c.pps, 'CreatePipeline', {...msg, transform: {...msg.transform, env: {X: '1'}}, update: true})
    const p2 = await c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'copy'}, details: true})
    expect(p2.version).toBe(2)
    expect(p2.details!.salt).toBe(salt1)
    expect(p2.details!.transform!.env).toEqual({X: '1'})
    const v2 = await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify({pipeline: {name: 'copy'}, transform: {cmd: ['sh', '-c', 'cp /pfs/images/* /pfs/out/']}, input: {pfs: {repo: 'images', glob: '/*'}}}), update: true, reprocess: true})
    expect(JSON.parse(v2.effective_create_pipeline_request_json!)).toMatchObject({update: true, reprocess: true})
    const p3 = await c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'copy'}, details: true})
    expect(p3.version).toBe(3)
    expect(p3.details!.salt).not.toBe(salt1)
    const older = await c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'copy^1'}, details: true})
    expect(older.version).toBe(2)
    expect(older.details!.transform!.env).toEqual({X: '1'})
    const hist = await all(c.stream(c.pps, 'ListPipeline', {pipeline: {name: 'copy'}, history: -1}))
    expect(hist.map((x) => x.version)).toEqual([3, 2, 1])
    const last = (await all(c.stream(c.pps, 'ListJob', {pipeline: {name: 'copy'}})))[0]!
    const done = await waitJob(c, 'copy', last.job!.id!)
    expect(done).toMatchObject({state: 'JOB_SUCCESS', pipeline_version: 3, data_processed: 1, data_skipped: 0})
    // ListJob's history: only the current version's jobs unless asked
    expect((await all(c.stream(c.pps, 'ListJob', {pipeline: {name: 'copy'}}))).every((x) => x.pipeline_version === 3)).toBe(true)
    expect((await all(c.stream(c.pps, 'ListJob', {pipeline: {name: 'copy'}, history: -1}))).some((x) => x.pipeline_version === 1)).toBe(true)

    // dry run: the effective spec, nothing created
    const dry = await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(copySpec('dry')), dry_run: true})
    expect(JSON.parse(dry.effective_create_pipeline_request_json!).pipeline.name).toBe('dry')
    await expect(c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'dry'}})).rejects.toMatchObject({code: status.NOT_FOUND, details: 'pipeline "default/dry" not found'})

    // stop: no job for a new commit; start: one job over the current heads
    await c.unary(c.pps, 'StopPipeline', {pipeline: {name: 'copy'}})
    expect((await c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'copy'}})).state).toBe('PIPELINE_PAUSED')
    const stoppedId = await putFile(s, 'images@master:/b.txt', 'two\n')
    expect((await all(c.stream(c.pps, 'ListJob', {pipeline: {name: 'copy'}}))).some((x) => x.job!.id === stoppedId)).toBe(false)
    await c.unary(c.pps, 'StartPipeline', {pipeline: {name: 'copy'}})
    const restarted = (await all(c.stream(c.pps, 'ListJob', {pipeline: {name: 'copy'}})))[0]!
    expect((await waitJob(c, 'copy', restarted.job!.id!)).state).toBe('JOB_SUCCESS')
    expect(await s.project.ok(['get', 'file', 'copy@master:/b.txt'])).toBe('two\n')
    expect((await all(c.stream(c.pps, 'ListPipeline', {}))).map((x) => [x.pipeline!.name, x.stopped])).toEqual([['copy', false]])

    // delete: a missing pipeline is no error unless must_exist
    await c.unary(c.pps, 'DeletePipeline', {pipeline: {name: 'nope'}})
    await expect(c.unary(c.pps, 'DeletePipeline', {pipeline: {name: 'nope'}, must_exist: true})).rejects.toMatchObject({code: status.NOT_FOUND, details: 'pipeline "default/nope" not found'})
    await c.unary(c.pps, 'DeletePipeline', {pipeline: {name: 'copy'}, keep_repo: true})
    expect(await all(c.stream(c.pps, 'ListPipeline', {}))).toEqual([])
    expect(await s.project.ok(['list', 'repo'])).toMatch(/copy/)
  })

  it('GetLogs follow gets the line of a job that starts after the call; SubscribeJob sees the new job', async () => {
    const s = await serve(LOCAL)
    const c = s.client
    await s.project.ok(['create', 'repo', 'images'])
    await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(copySpec('edges'))})
    const before = await putFile(s, 'images@master:/before.txt', 'x\n')
    expect((await waitJob(c, 'edges', before)).state).toBe('JOB_SUCCESS')
    const ac = new AbortController()
    const follow = c.stream(c.pps, 'GetLogs', {pipeline: {name: 'edges'}, follow: true}, {signal: ac.signal})
    const sub = c.stream(c.pps, 'SubscribeJob', {pipeline: {name: 'edges'}}, {signal: ac.signal})
    // the stored line first: the stream is open before the next job exists
    expect((await follow.next()).value).toMatchObject({message: 'saw before.txt', job_id: before})
    const firstJob = sub.next()
    const id = await putFile(s, 'images@master:/later.txt', 'x\n')
    const later = await follow.next()
    expect(later.value).toMatchObject({message: 'saw later.txt', job_id: id, pipeline_name: 'edges'})
    // every job was finished when the subscription began: the first one it sends is the new one
    expect((await firstJob).value?.job).toMatchObject({id, pipeline: {name: 'edges'}})
    ac.abort()
    await follow.return(undefined).catch(() => undefined)
    await sub.return(undefined).catch(() => undefined)
  })

  it('a job waiting for an open input commit: details from its pipeline version, InspectJob wait returns once the commit is finished', async () => {
    const s = await serve(LOCAL)
    const c = s.client
    await s.project.ok(['create', 'repo', 'images'])
    await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(copySpec('edges', {datumTries: 5}))})
    const id = (await s.project.json<{commit: {id: string}}>(['start', 'commit', 'images@master'])).commit.id
    await s.project.ok(['put', 'file', 'images@master:/open.txt', '-f', '-', '--detach'], {input: 'open\n'})
    const waiting = await c.unary(c.pps, 'InspectJob', {job: job('edges', id), details: true})
    expect(waiting.state).toBe('JOB_CREATED')
    expect(waiting.details).toMatchObject({datum_tries: 5, transform: {cmd: ['sh', '-c', expect.stringContaining('/pfs/images')]}})
    expect(waiting.details!.salt).toMatch(/^[0-9a-f]{32}$/)
    let settled = false
    const done = waitJob(c, 'edges', id).finally(() => (settled = true))
    await new Promise((r) => setTimeout(r, 300))
    expect(settled).toBe(false) // blocked on the open input
    await s.project.ok(['finish', 'commit', 'images@master', '--detach'])
    expect((await done).state).toBe('JOB_SUCCESS')
    expect(await s.project.ok(['get', 'file', 'edges@master:/open.txt'])).toBe('open\n')
  })

  it('RunCron ticks a cron input now and the daemon runs the job; RerunPipeline makes a new version; DeletePipelines by project', async () => {
    const s = await serve(LOCAL)
    const c = s.client
    await c.unary(c.pps, 'CreatePipelineV2', {
      create_pipeline_request_json: JSON.stringify({pipeline: {name: 'ticker'}, transform: {cmd: ['sh', '-c', 'ls /pfs/tick > /pfs/out/ticks']}, input: {cron: {name: 'tick', spec: '@every 1h'}}}),
    })
    const before = (await all(c.stream(c.pps, 'ListJob', {pipeline: {name: 'ticker'}}))).map((x) => x.job!.id)
    await c.unary(c.pps, 'RunCron', {pipeline: {name: 'ticker'}})
    const after = await all(c.stream(c.pps, 'ListJob', {pipeline: {name: 'ticker'}}))
    const ticked = after.find((x) => !before.includes(x.job!.id!))!
    expect((await waitJob(c, 'ticker', ticked.job!.id!)).state).toBe('JOB_SUCCESS')
    expect(await s.project.ok(['get', 'file', 'ticker@master:/ticks'])).toMatch(/^\d{4}-\d{2}-\d{2}T/)
    await expect(c.unary(c.pps, 'RunCron', {pipeline: {name: 'nope'}})).rejects.toMatchObject({code: status.NOT_FOUND, details: 'pipeline "default/nope" not found'})

    const salt = (await c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'ticker'}, details: true})).details!.salt
    await c.unary(c.pps, 'RerunPipeline', {pipeline: {name: 'ticker'}, reprocess: true})
    const rerun = await c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'ticker'}, details: true})
    expect(rerun.version).toBe(2)
    expect(rerun.details!.salt).not.toBe(salt)

    expect((await c.unary(c.pps, 'DeletePipelines', {projects: [{name: 'other'}]})).pipelines).toEqual([])
    expect((await c.unary(c.pps, 'DeletePipelines', {projects: [{name: 'default'}]})).pipelines).toEqual([{name: 'ticker', project: {name: 'default'}}])
    expect(await all(c.stream(c.pps, 'ListPipeline', {}))).toEqual([])
  })

  it('StopJob (with a reason) and DeleteJob; RestartDatum restarts a running datum; a pipeline in another project', async () => {
    const s = await serve(LOCAL)
    const c = s.client
    await s.project.ok(['create', 'repo', 'images'])
    await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(copySpec('edges'))})
    const open = (await s.project.json<{commit: {id: string}}>(['start', 'commit', 'images@master'])).commit.id
    await c.unary(c.pps, 'StopJob', {job: job('edges', open), reason: 'not this one'})
    expect(await c.unary(c.pps, 'InspectJob', {job: job('edges', open)})).toMatchObject({state: 'JOB_KILLED', reason: 'not this one'})
    await c.unary(c.pps, 'DeleteJob', {job: job('edges', open)})
    await expect(c.unary(c.pps, 'InspectJob', {job: job('edges', open)})).rejects.toMatchObject({code: status.NOT_FOUND})
    await s.project.ok(['finish', 'commit', 'images@master', '--detach'])

    await c.unary(c.pps, 'CreatePipelineV2', {
      create_pipeline_request_json: JSON.stringify({pipeline: {name: 'slow'}, transform: {cmd: ['sh', '-c', 'echo start; sleep 1.5; cp /pfs/images/* /pfs/out/']}, input: {pfs: {repo: 'images', glob: '/*'}}}),
    })
    const id = await putFile(s, 'images@master:/a.txt', 'a\n')
    await expect(c.unary(c.pps, 'RestartDatum', {job: job('slow', 'f'.repeat(32)), data_filters: ['/a.txt']})).rejects.toMatchObject({code: status.NOT_FOUND})
    // once its datum runs, the job's datum restarts: user code starts twice
    for (let i = 0; ; i++) {
      try {
        await c.unary(c.pps, 'RestartDatum', {job: job('slow', id), data_filters: ['/a.txt']})
        break
      } catch (e) {
        if (i > 100) throw e
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    expect((await waitJob(c, 'slow', id)).state).toBe('JOB_SUCCESS')
    const lines = await all(c.stream(c.pps, 'GetLogs', {job: job('slow', id)}))
    expect(lines.filter((l) => l.message === 'start').length).toBe(2)
    await expect(c.unary(c.pps, 'RestartDatum', {job: job('slow', id), data_filters: ['/a.txt']})).rejects.toMatchObject({code: status.FAILED_PRECONDITION})

    await s.project.ok(['create', 'project', 'lab'])
    await s.project.ok(['create', 'repo', 'images', '--project', 'lab'])
    await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify({...copySpec('edges'), pipeline: {name: 'edges', project: {name: 'lab'}}})})
    const lab = await c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'edges', project: {name: 'lab'}}, details: true})
    expect(lab.details!.input!.pfs).toMatchObject({project: 'lab', repo: 'images'})
    expect((await all(c.stream(c.pps, 'ListPipeline', {projects: [{name: 'lab'}]}))).map((x) => `${x.pipeline!.project!.name}/${x.pipeline!.name}`)).toEqual(['lab/edges'])
    expect((await all(c.stream(c.pps, 'ListPipeline', {}))).length).toBe(3)
    await expect(c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'nope', project: {name: 'lab'}}})).rejects.toMatchObject({code: status.NOT_FOUND, details: 'pipeline "lab/nope" not found'})
    expect((await all(c.stream(c.pps, 'ListJob', {projects: [{name: 'lab'}]}))).every((x) => x.job!.pipeline!.project!.name === 'lab')).toBe(true)
  })

  it('errors: NOT_FOUND in pachd\'s words, an invalid spec with pach\'s message, jqFilter, StopJob in a transaction', async () => {
    const s = await serve(LOCAL)
    const c = s.client
    await expect(c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'x'}})).rejects.toMatchObject({code: status.NOT_FOUND, details: 'pipeline "default/x" not found'})
    await expect(c.unary(c.pps, 'InspectJob', {job: job('x', 'a'.repeat(32))})).rejects.toMatchObject({code: status.NOT_FOUND})
    const bad = JSON.stringify({pipeline: {name: 'x'}, transform: {cmdd: ['sh']}, input: {pfs: {repo: 'images', glob: '/*'}}})
    // an unknown field: refused first as pachd's protojson refuses it (pachd-rules.test.ts)
    await expect(c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: bad})).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringMatching(/: proto: \(line 1:\d+\): unknown field "cmdd"$/),
    })
    // any other mistake: pach's message
    const wrong = JSON.stringify({pipeline: {name: 'x'}, transform: {cmd: ['sh']}, input: {pfs: {repo: 'images', glob: '/*'}}, datum_tries: 'many'})
    await expect(c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: wrong})).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^create_pipeline_request_json: pipeline "x": datum_tries/),
    })
    await expect(c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(copySpec('x'))})).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: expect.stringContaining('repo images not found'),
    })
    // pach refuses what it does not run (an egress that says something)
    await s.project.ok(['create', 'repo', 'images'])
    await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(copySpec('twice'))})
    await expect(c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(copySpec('twice'))})).rejects.toMatchObject({
      code: status.ALREADY_EXISTS,
      details: 'pipeline "default/twice" already exists',
    })
    await c.unary(c.pps, 'DeletePipeline', {pipeline: {name: 'twice'}})
    await expect(c.unary(c.pps, 'CreatePipeline', {...copySpec('x'), egress: {URL: 's3://bucket/dir'}})).rejects.toMatchObject({code: status.INVALID_ARGUMENT, details: expect.stringContaining('egress')})
    await expect(all(c.stream(c.pps, 'ListPipeline', {jqFilter: '.state'}))).rejects.toMatchObject({code: status.INVALID_ARGUMENT, details: expect.stringContaining('jq')})
    const tx = (await s.project.json<{transaction: {id: string}}>(['start', 'transaction'])).transaction.id
    // StopJob cannot join a transaction by header (BatchTransaction takes it)
    await expect(c.unary(c.pps, 'StopJob', {job: {pipeline: {name: 'x'}, id: 'a'.repeat(32)}, reason: ''}, {transaction: tx})).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: expect.stringContaining(`cannot join transaction ${tx}`),
    })
    await expect(c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(copySpec('x'))}, {transaction: 'f'.repeat(32)})).rejects.toMatchObject({code: status.NOT_FOUND})
    expect(await all(c.stream(c.pps, 'ListPipeline', {}))).toEqual([])
  })

  it('defaults (cluster and project) apply to new pipelines; secrets: create from a manifest, inspect, list, delete; DeleteAll', async () => {
    const s = await serve(LOCAL)
    const c = s.client
    expect((await c.unary(c.pps, 'GetClusterDefaults', {})).cluster_defaults_json).toBe('{}')
    await c.unary(c.pps, 'SetClusterDefaults', {cluster_defaults_json: JSON.stringify({createPipelineRequest: {datumTries: '7'}})})
    expect(JSON.parse((await c.unary(c.pps, 'GetClusterDefaults', {})).cluster_defaults_json!)).toEqual({createPipelineRequest: {datumTries: '7'}})
    await c.unary(c.pps, 'SetProjectDefaults', {project: {name: 'default'}, project_defaults_json: JSON.stringify({create_pipeline_request: {description: 'from defaults'}})})
    expect(JSON.parse((await c.unary(c.pps, 'GetProjectDefaults', {project: {name: 'default'}})).project_defaults_json!)).toEqual({create_pipeline_request: {description: 'from defaults'}})
    await expect(c.unary(c.pps, 'GetProjectDefaults', {project: {name: 'nope'}})).rejects.toMatchObject({code: status.NOT_FOUND, details: 'project "nope" not found'})
    await s.project.ok(['create', 'repo', 'images'])
    await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(copySpec('edges'))})
    const p = await c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'edges'}, details: true})
    expect(p.details).toMatchObject({datum_tries: 7, description: 'from defaults'})
    const affected = await c.unary(c.pps, 'SetClusterDefaults', {cluster_defaults_json: JSON.stringify({createPipelineRequest: {datumTries: '4'}}), regenerate: true, dry_run: true})
    expect(affected.affected_pipelines).toEqual([{name: 'edges', project: {name: 'default'}}])
    await expect(c.unary(c.pps, 'SetClusterDefaults', {cluster_defaults_json: '{"createPipelineRequest": {"datumTriez": 1}}'})).rejects.toMatchObject({code: status.INVALID_ARGUMENT})

    const manifest = {apiVersion: 'v1', kind: 'Secret', metadata: {name: 'creds'}, data: {token: Buffer.from('s3cr3t').toString('base64')}}
    await c.unary(c.pps, 'CreateSecret', {file: Buffer.from(JSON.stringify(manifest))})
    const si = await c.unary(c.pps, 'InspectSecret', {secret: {name: 'creds'}})
    expect(si).toMatchObject({secret: {name: 'creds'}, type: 'Opaque'})
    expect(Number(si.creation_timestamp!.seconds)).toBeGreaterThan(1.7e9)
    expect((await c.unary(c.pps, 'ListSecret', {})).secret_info!.map((x) => x.secret!.name)).toEqual(['creds'])
    await expect(c.unary(c.pps, 'CreateSecret', {file: Buffer.from('{"kind": "Secret"}')})).rejects.toMatchObject({code: status.INVALID_ARGUMENT, details: expect.stringContaining('metadata.name')})
    await c.unary(c.pps, 'DeleteSecret', {secret: {name: 'creds'}})
    await expect(c.unary(c.pps, 'InspectSecret', {secret: {name: 'creds'}})).rejects.toMatchObject({code: status.NOT_FOUND})

    await c.unary(c.pps, 'DeleteAll', {})
    expect(await all(c.stream(c.pps, 'ListPipeline', {}))).toEqual([])
  })

  it('runs a job in the docker runner (pach-test/busybox:1) when the spec names an image', async () => {
    const s = await serve({args: ['--runner', 'docker']})
    const c = s.client
    await s.project.ok(['create', 'repo', 'images'])
    await c.unary(c.pps, 'CreatePipeline', {
      pipeline: {name: 'upper'},
      transform: {image: 'pach-test/busybox:1', cmd: ['sh', '-c', 'tr a-z A-Z < /pfs/images/a.txt > /pfs/out/a.txt']},
      input: {pfs: {repo: 'images', glob: '/'}},
    })
    const id = await putFile(s, 'images@master:/a.txt', 'docker\n')
    const j = await waitJob(c, 'upper', id)
    expect(j.reason).toBe('')
    expect(j.state).toBe('JOB_SUCCESS')
    expect(await s.project.ok(['get', 'file', 'upper@master:/a.txt'])).toBe('DOCKER\n')
  })
})

describe('pps_v2 spec conversions', () => {
  it('a decoded CreatePipelineRequest reads as protojson would write it: zeros and empty messages left out, a spout kept, durations and times as text', () => {
    const doc = specDocument({
      pipeline: {name: 'p', project: null},
      transform: {image: '', cmd: ['sh', ''], env: {}, accept_return_code: [0, 1], secrets: [], debug: false},
      input: {
        pfs: null,
        cross: [
          {pfs: {repo: 'a', glob: '/*', lazy: false, trigger: null}, cross: [], union: [], join: [], group: [], cron: null},
          {cron: {name: 'tick', spec: '@every 1m', start: {seconds: 1700000000, nanos: 0}, overwrite: false}, cross: [], union: [], join: [], group: [], pfs: null},
        ],
        union: [],
        join: [],
        group: [],
        cron: null,
      },
      parallelism_spec: {constant: 0},
      egress: {URL: '', object_storage: null, sql_database: null, target: undefined},
      service: {internal_port: 0, external_port: 0, ip: '', type: ''},
      spout: {service: null},
      resource_limits: {cpu: 0, memory: '', gpu: null, disk: ''},
      datum_timeout: {seconds: 90, nanos: 500000000},
      tolerations: [{key: 'k', operator: 'EXISTS', value: '', effect: 'ALL_EFFECTS', toleration_seconds: {value: 30}}],
      update: true,
      reprocess: true,
      dry_run: false,
      spec_commit: null,
      autoscaling: false,
      datum_tries: 0,
      salt: '',
    })
    expect(doc).toEqual({
      pipeline: {name: 'p'},
      transform: {cmd: ['sh', ''], accept_return_code: [0, 1]},
      input: {cross: [{pfs: {repo: 'a', glob: '/*'}}, {cron: {name: 'tick', spec: '@every 1m', start: '2023-11-14T22:13:20.000Z'}}]},
      spout: {},
      datum_timeout: '90.5s',
      tolerations: [{key: 'k', operator: 'EXISTS', toleration_seconds: 30}],
    })
  })

  it('an effective spec as protojson: lowerCamelCase fields (map keys as they are), int64 as strings, durations in seconds', () => {
    const spec = {
      pipeline: {name: 'p', project: {name: 'default'}},
      description: '',
      transform: {image: 'i', cmd: ['a'], env: {MY_VAR: '1'}, stdin: [], accept_return_code: [0]},
      input: {pfs: {repo: 'a', repo_type: 'user', glob: '/*', join_on: '', outer_join: false}},
      parallelism_spec: {constant: 2},
      datum_tries: 3,
      datum_timeout: '1m30s',
      metadata: {annotations: {'pach.io/network': 'true'}},
      autoscaling: false,
    } as unknown as PipelineSpec
    expect(JSON.parse(specProtojson(spec, {update: true}))).toEqual({
      pipeline: {name: 'p', project: {name: 'default'}},
      transform: {image: 'i', cmd: ['a'], env: {MY_VAR: '1'}, acceptReturnCode: ['0']},
      input: {pfs: {repo: 'a', repoType: 'user', glob: '/*'}},
      parallelismSpec: {constant: '2'},
      datumTries: '3',
      datumTimeout: '90s',
      metadata: {annotations: {'pach.io/network': 'true'}},
      update: true,
    })
  })
})
