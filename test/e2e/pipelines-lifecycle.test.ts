/**
 * E2E (PPS): the life of a pipeline — create (--detach, `pach run`, `wait job`), inspect
 * (effective spec, version), list/draw, stop/start pipeline, stop job, update, delete
 * (--keep-repo) — for each runner; and the spec/input errors, once (no code runs).
 */
import {describe, expect, it} from 'vitest'
import {tmpProject} from '../helpers/cli.js'
import {expectJsonError, expectUserError, ID_RE} from './_util.js'
import {bind, IMAGE, jobs, lastJob, localTree, outputFiles, pipeline, RUNNERS, runnerIt, SCENARIO_TIMEOUT, writeSpec, type Job} from './pipelines-util.js'

const repoNames = async (rp: ReturnType<typeof bind>) =>
  ((await rp.json(['list', 'repo', '--all'])) as {repo: {name: string; type: string}}[]).map((r) => `${r.repo.name}.${r.repo.type}`).sort()

describe.each(RUNNERS)('pipeline lifecycle [%s runner]', (runner) => {
  const rit = runnerIt(runner)

  rit('detach/run/wait, inspect, stop/start, stop job, update, list/draw, delete', {timeout: SCENARIO_TIMEOUT}, async () => {
    const p = await tmpProject()
    const rp = bind(p, runner)
    await rp.ok(['create', 'repo', 'data'])
    const dir = localTree(p, 'local', {a: 'A\n', b: 'B\n', c: 'C\n', d: 'D\n'})
    await rp.ok(['put', 'file', 'data@master:/a', '-f', `${dir}/a`])
    const spec = pipeline('cp', 'cp "$data" /pfs/out/', {pfs: {repo: 'data', glob: '/*'}}, {description: 'copies data'})
    const file = writeSpec(p, 'cp', spec)

    // ---- create --detach: the first job waits as JOB_CREATED; `pach run` runs it
    await rp.ok(['create', 'pipeline', '-f', file, '--detach'])
    const [created] = await jobs(rp, 'cp')
    expect(created).toMatchObject({state: 'JOB_CREATED', pipeline_version: 1})
    const ran = (await rp.json(['run'])) as Job[]
    expect(ran.map((j) => [j.job.pipeline.name, j.job.id, j.state])).toEqual([['cp', created!.job.id, 'JOB_SUCCESS']])
    expect(await outputFiles(rp, 'cp@master')).toEqual({'/a': 'A\n'})

    // ---- inspect pipeline: the effective spec (defaults filled in), version 1
    const info = await rp.json(['inspect', 'pipeline', 'cp'])
    expect(info).toMatchObject({
      pipeline: {name: 'cp', project: {name: 'default'}},
      version: 1,
      stopped: false,
      type: 'PIPELINE_TYPE_TRANSFORM',
      last_job_state: 'JOB_SUCCESS',
      spec_commit: {repo: {name: 'cp', type: 'spec'}},
      details: {
        description: 'copies data',
        transform: {image: IMAGE, cmd: (spec.transform as {cmd: string[]}).cmd},
        input: {pfs: {name: 'data', repo: 'data', branch: 'master', glob: '/*', repo_type: 'user'}},
        datum_tries: 3,
        parallelism_spec: {constant: 1},
        output_branch: 'master',
        reprocess_spec: 'until_success',
      },
    })
    expect(info.spec_commit.id).toMatch(ID_RE)
    expect(info.details.salt).toMatch(/\S/)
    expect(JSON.parse(info.effective_spec_json)).toMatchObject({datum_tries: 3, transform: {image: IMAGE}, input: {pfs: {glob: '/*'}}})
    // user_spec_json is the user's original spec (reference §2.1), without the defaults
    expect.soft(JSON.parse(info.user_spec_json), 'user_spec_json should be the spec as submitted').toEqual(spec)

    // ---- put --detach + wait job: wait runs what is pending and reports the job
    const bId = (await rp.json(['put', 'file', 'data@master:/b', '-f', `${dir}/b`, '--detach'])).commit.id
    expect((await lastJob(rp, 'cp'))).toMatchObject({job: {id: bId}, state: 'JOB_CREATED'})
    const waited = (await rp.json(['wait', 'job', `cp@${bId}`])) as Job[]
    expect(waited).toHaveLength(1)
    expect(waited[0]).toMatchObject({job: {id: bId}, state: 'JOB_SUCCESS', data_processed: 1, data_skipped: 1})

    // ---- stop pipeline: new input commits make no job; start: one new job over the current heads
    await rp.ok(['stop', 'pipeline', 'cp'])
    expect(await rp.json(['inspect', 'pipeline', 'cp'])).toMatchObject({stopped: true, state: 'PIPELINE_PAUSED'})
    const cId = (await rp.json(['put', 'file', 'data@master:/c', '-f', `${dir}/c`])).commit.id
    const afterStop = await jobs(rp, 'cp')
    expect(afterStop).toHaveLength(2)
    expect(afterStop.map((j) => j.job.id)).not.toContain(cId)
    await rp.ok(['start', 'pipeline', 'cp'])
    const afterStart = await jobs(rp, 'cp')
    expect(afterStart).toHaveLength(3)
    expect(afterStart[0]).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1, data_skipped: 2, data_total: 3})
    expect((await rp.json(['inspect', 'pipeline', 'cp'])).stopped).toBe(false)
    expect(await outputFiles(rp, 'cp@master')).toEqual({'/a': 'A\n', '/b': 'B\n', '/c': 'C\n'})

    // ---- stop job: a created job becomes JOB_KILLED, its output commit carries the reason; nothing left to run
    const dId = (await rp.json(['put', 'file', 'data@master:/d', '-f', `${dir}/d`, '--detach'])).commit.id
    await rp.ok(['stop', 'job', `cp@${dId}`])
    const killed = await rp.json(['inspect', 'job', `cp@${dId}`])
    expect(killed.state).toBe('JOB_KILLED')
    expect(killed.reason).toMatch(/\S/)
    expect((await rp.json(['inspect', 'commit', `cp@${dId}`])).error).toBe(killed.reason)
    expect(await rp.json(['run'])).toEqual([])

    // ---- update: version 2, the new code in the effective spec
    const spec2 = pipeline('cp', 'cp "$data" /pfs/out/ && echo v2 > "/pfs/out/$(basename "$data").v2"', {pfs: {repo: 'data', glob: '/*'}})
    await rp.ok(['update', 'pipeline', '-f', writeSpec(p, 'cp', spec2)])
    const info2 = await rp.json(['inspect', 'pipeline', 'cp'])
    expect(info2.version).toBe(2)
    expect(info2.details.transform.cmd).toEqual((spec2.transform as {cmd: string[]}).cmd)
    expect(info2.spec_commit.id).not.toBe(info.spec_commit.id)
    // the killed job was no base: /d runs now (with the new code); unchanged datums stay skipped
    expect(await lastJob(rp, 'cp')).toMatchObject({state: 'JOB_SUCCESS', pipeline_version: 2, data_processed: 1, data_skipped: 3})
    expect(await outputFiles(rp, 'cp@master')).toEqual({'/a': 'A\n', '/b': 'B\n', '/c': 'C\n', '/d': 'D\n', '/d.v2': 'v2\n'})

    // ---- list pipeline (pachctl headers) and draw pipeline (the DAG)
    const table = (await rp.ok(['list', 'pipeline'])).split('\n')
    expect(table[0]).toMatch(/^PROJECT\s+NAME\s+VERSION\s+INPUT\s+CREATED\s+STATE \/ LAST JOB\s+.*DESCRIPTION\s*$/)
    const row = table.find((l) => /^default\s+cp\s/.test(l))
    expect(row).toBeDefined()
    expect(row).toMatch(/^default\s+cp\s+2\s+data:\/\*\s/)
    expect(row).toMatch(/success/)
    const drawn = await rp.ok(['draw', 'pipeline'])
    const dataLine = drawn.split('\n').findIndex((l) => /\bdata\b/.test(l))
    const cpLine = drawn.split('\n').findIndex((l) => /\bcp\b/.test(l))
    expect(dataLine).toBeGreaterThanOrEqual(0)
    expect(cpLine).toBeGreaterThan(dataLine)

    // ---- an input repo used by a pipeline cannot be deleted
    expectUserError(await rp.run(['delete', 'repo', 'data']), 5, /data/)

    // ---- delete: P, P.spec, P.meta go (a pipeline with a pending job too); --keep-repo keeps P
    await rp.ok(['create', 'pipeline', '-f', writeSpec(p, 'other', pipeline('other', 'true', {pfs: {repo: 'data', glob: '/'}})), '--detach'])
    expect(await repoNames(rp)).toEqual(['cp.meta', 'cp.spec', 'cp.user', 'data.user', 'other.meta', 'other.spec', 'other.user'])
    await rp.ok(['delete', 'pipeline', 'other'])
    expect(await repoNames(rp)).toEqual(['cp.meta', 'cp.spec', 'cp.user', 'data.user'])
    expect(await rp.json(['run'])).toEqual([])
    await rp.ok(['delete', 'pipeline', 'cp', '--keep-repo'])
    expect(await repoNames(rp)).toEqual(['cp.user', 'data.user'])
    expect(await rp.json(['list', 'pipeline'])).toEqual([])
    expect(await outputFiles(rp, 'cp@master')).toEqual({'/a': 'A\n', '/b': 'B\n', '/c': 'C\n', '/d': 'D\n', '/d.v2': 'v2\n'})
    // with no pipeline left, the input repo can go
    await rp.ok(['delete', 'repo', 'data'])
  })
})

describe('pipeline spec and input errors', () => {
  it('missing input repo exits 4 naming repo and file; missing cmd exits 2 naming the field; nothing is created', async () => {
    const rp = bind(await tmpProject(), 'local')
    await rp.ok(['create', 'repo', 'present'])
    const missing = writeSpec(rp.p, 'missing-input', pipeline('m', 'true', {cross: [{pfs: {repo: 'present', glob: '/'}}, {pfs: {repo: 'ghost', glob: '/*'}}]}))
    const line = expectUserError(await rp.run(['create', 'pipeline', '-f', missing]), 4, /ghost/)
    expect(line).toContain('missing-input.json')
    const e4 = expectJsonError(await rp.run(['create', 'pipeline', '-f', missing, '--json']), 4)
    expect(e4.message).toContain('ghost')

    const noCmd = writeSpec(rp.p, 'no-cmd', {pipeline: {name: 'n'}, transform: {image: IMAGE}, input: {pfs: {repo: 'present', glob: '/*'}}})
    const line2 = expectUserError(await rp.run(['create', 'pipeline', '-f', noCmd]), 2, /transform\.cmd/)
    expect(line2).toContain('no-cmd.json')
    const e2 = expectJsonError(await rp.run(['create', 'pipeline', '-f', noCmd, '--json']), 2)
    expect(e2.message).toContain('cmd')

    expect(await rp.json(['list', 'pipeline'])).toEqual([])
    expect(((await rp.json(['list', 'repo', '--all'])) as {repo: {name: string}}[]).map((r) => r.repo.name)).toEqual(['present'])
  })
})
