/**
 * E2E (PPS): the life of a pipeline — create (--detach, `pach run`, `wait job`), inspect
 * (effective spec, version), list/draw, stop/start pipeline, stop job, update, delete
 * (--keep-repo) — for each runner; and the spec/input errors, once (no code runs).
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {expectJsonError, expectUserError, ID_RE} from './_util.js'
import {project, IMAGE, jobs, lastJob, localTree, outputFiles, pipeline, RUNNERS, runnerIt, SCENARIO_TIMEOUT, writeSpec, type Job, type RP} from './pipelines-util.js'

const repoNames = async (rp: RP) =>
  ((await rp.json(['list', 'repo', '--all'])) as {repo: {name: string; type: string}}[]).map((r) => `${r.repo.name}.${r.repo.type}`).sort()

describe.concurrent.each(RUNNERS)('pipeline lifecycle [%s runner]', (runner) => {
  const rit = runnerIt(runner)

  rit('create --detach + run, put --detach + wait job, stop/start pipeline, stop job, update', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    const p = rp.p
    await rp.ok(['create', 'repo', 'data'])
    const dir = localTree(p, 'local', {a: 'A\n', b: 'B\n', c: 'C\n', d: 'D\n'})
    await rp.ok(['put', 'file', 'data@master:/a', '-f', `${dir}/a`])
    const file = writeSpec(p, 'cp', pipeline('cp', 'cp "$data" /pfs/out/', {pfs: {repo: 'data', glob: '/*'}}))

    // ---- create --detach: the first job waits as JOB_CREATED; `pach run` runs it
    await rp.ok(['create', 'pipeline', '-f', file, '--detach'])
    const [created] = await jobs(rp, 'cp')
    expect(created).toMatchObject({state: 'JOB_CREATED', pipeline_version: 1})
    const ran = (await rp.json(['run'])) as Job[]
    expect(ran.map((j) => [j.job.pipeline.name, j.job.id, j.state])).toEqual([['cp', created!.job.id, 'JOB_SUCCESS']])

    // ---- put --detach + wait job: wait runs what is pending and reports the job
    const bId = (await rp.json(['put', 'file', 'data@master:/b', '-f', `${dir}/b`, '--detach'])).commit.id
    const waited = (await rp.json(['wait', 'job', `cp@${bId}`])) as Job[]
    expect(waited).toHaveLength(1)
    expect(waited[0]).toMatchObject({job: {id: bId}, state: 'JOB_SUCCESS', data_processed: 1, data_skipped: 1})

    // ---- stop pipeline: new input commits make no job; start: one new job over the current heads
    await rp.ok(['stop', 'pipeline', 'cp'])
    const stopped = await rp.json(['inspect', 'pipeline', 'cp'])
    expect(stopped).toMatchObject({stopped: true, state: 'PIPELINE_PAUSED'})
    // the first job came from the create's commit set: its id is the spec commit's
    expect(stopped.spec_commit.id).toBe(created!.job.id)
    const cId = (await rp.json(['put', 'file', 'data@master:/c', '-f', `${dir}/c`])).commit.id
    const afterStop = await jobs(rp, 'cp')
    expect(afterStop.map((j) => j.job.id)).toEqual([bId, created!.job.id])
    await rp.ok(['start', 'pipeline', 'cp'])
    const afterStart = await jobs(rp, 'cp')
    expect(afterStart).toHaveLength(3)
    expect(afterStart[0]!.job.id).not.toBe(cId)
    expect(afterStart[0]).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1, data_skipped: 2, data_total: 3})

    // ---- stop job: a created job becomes JOB_KILLED, its output commit carries the reason; nothing left to run
    const dId = (await rp.json(['put', 'file', 'data@master:/d', '-f', `${dir}/d`, '--detach'])).commit.id
    await rp.ok(['stop', 'job', `cp@${dId}`])
    const killed = await rp.json(['inspect', 'job', `cp@${dId}`])
    expect(killed.state).toBe('JOB_KILLED')
    expect(killed.reason).toMatch(/\S/)
    expect((await rp.json(['inspect', 'commit', `cp@${dId}`])).error).toBe(killed.reason)
    expect(await rp.json(['run'])).toEqual([])

    // ---- update: version 2 with the new code; the killed job was no base, so /d runs now
    // (with the new code) while the unchanged datums stay skipped (same salt)
    const spec2 = pipeline('cp', 'cp "$data" /pfs/out/ && echo v2 > "/pfs/out/$(basename "$data").v2"', {pfs: {repo: 'data', glob: '/*'}})
    await rp.ok(['update', 'pipeline', '-f', writeSpec(p, 'cp', spec2)])
    const info2 = await rp.json(['inspect', 'pipeline', 'cp'])
    expect(info2).toMatchObject({version: 2, last_job_state: 'JOB_SUCCESS', details: {transform: {cmd: (spec2.transform as {cmd: string[]}).cmd}}})
    expect(await lastJob(rp, 'cp')).toMatchObject({state: 'JOB_SUCCESS', pipeline_version: 2, data_processed: 1, data_skipped: 3})
    expect(await outputFiles(rp, 'cp@master')).toEqual({'/a': 'A\n', '/b': 'B\n', '/c': 'C\n', '/d': 'D\n', '/d.v2': 'v2\n'})
  })
})

describe.concurrent('pipeline inspect, list, draw, delete, spec errors (no code runs)', () => {
  it('inspect shows the effective spec; list has pachctl headers; draw shows the DAG; delete removes P, P.spec, P.meta (--keep-repo keeps P)', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const {expect} = ctx
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'data'])
    await rp.ok(['put', 'file', 'data@master:/a', '-f', '-'], {input: 'A\n'})
    const spec = pipeline('cp', 'cp "$data" /pfs/out/', {pfs: {repo: 'data', glob: '/*'}}, {description: 'copies data'})
    const other = pipeline('other', 'true', {pfs: {repo: 'cp', glob: '/'}})
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'cp', spec), '-f', writeSpec(rp.p, 'other', other), '--detach'])

    // ---- inspect pipeline: the effective spec (defaults filled in), version 1
    const info = await rp.json(['inspect', 'pipeline', 'cp'])
    expect(info).toMatchObject({
      pipeline: {name: 'cp', project: {name: 'default'}},
      version: 1,
      stopped: false,
      type: 'PIPELINE_TYPE_TRANSFORM',
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

    // ---- list pipeline (pachctl headers) and draw pipeline (data -> cp -> other)
    const table = (await rp.ok(['list', 'pipeline'])).split('\n')
    expect(table[0]).toMatch(/^PROJECT\s+NAME\s+VERSION\s+INPUT\s+CREATED\s+STATE \/ LAST JOB\s+.*DESCRIPTION\s*$/)
    expect(table.find((l) => /^default\s+cp\s/.test(l))).toMatch(/^default\s+cp\s+1\s+data:\/\*\s.*copies data\s*$/)
    expect(table.find((l) => /^default\s+other\s/.test(l))).toMatch(/^default\s+other\s+1\s+cp:\/\s/)
    const drawn = (await rp.ok(['draw', 'pipeline'])).split('\n')
    const at = (name: string) => drawn.findIndex((l) => new RegExp(`(^|[^\\w.])${name}($|[^\\w.])`).test(l))
    expect(at('data')).toBeGreaterThanOrEqual(0)
    expect(at('cp')).toBeGreaterThan(at('data'))
    expect(at('other')).toBeGreaterThan(at('cp'))

    // ---- an input repo used by a pipeline cannot be deleted
    expectUserError(await rp.run(['delete', 'repo', 'data']), 5, /data/)

    // ---- delete other: its three repos go (with its pending job); --keep-repo keeps cp as a plain repo
    expect(await repoNames(rp)).toEqual(['cp.meta', 'cp.spec', 'cp.user', 'data.user', 'other.meta', 'other.spec', 'other.user'])
    await rp.ok(['delete', 'pipeline', 'other'])
    expect(await repoNames(rp)).toEqual(['cp.meta', 'cp.spec', 'cp.user', 'data.user'])
    await rp.ok(['delete', 'pipeline', 'cp', '--keep-repo'])
    expect(await repoNames(rp)).toEqual(['cp.user', 'data.user'])
    expect(await rp.json(['run'])).toEqual([])
    expectUserError(await rp.run(['inspect', 'pipeline', 'cp']), 4)
    // with no pipeline left, the input repo can go
    await rp.ok(['delete', 'repo', 'data'])
  })

  it('user_spec_json is each spec as written, from YAML documents and from concatenated JSON objects', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const {expect} = ctx
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'data'])
    const dir = join(rp.p.dir, 'specs')
    mkdirSync(dir, {recursive: true})
    // YAML: two documents, lowerCamelCase keys, a null (unset) field, a comment
    const yamlFile = join(dir, 'two.yaml')
    writeFileSync(
      yamlFile,
      [
        '# two pipelines',
        'pipeline: {name: y1}',
        `transform: {image: ${IMAGE}, cmd: [sh, -c, 'true']}`,
        'input: {pfs: {repo: data, glob: /*, outerJoin: false}}',
        'datumTries: 2',
        'description: null',
        '---',
        'pipeline: {name: y2}',
        `transform: {image: ${IMAGE}, cmd: ["true"]}`,
        'input: {pfs: {repo: y1, glob: /}}',
        '',
      ].join('\n'),
    )
    // JSON: two objects one after the other (not an array)
    const j1 = pipeline('j1', 'true', {pfs: {repo: 'data', glob: '/'}}, {parallelism_spec: {constant: '2'}})
    const j2 = pipeline('j2', 'true', {pfs: {repo: 'j1', glob: '/*'}})
    const jsonFile = join(dir, 'stream.json')
    writeFileSync(jsonFile, `${JSON.stringify(j1, null, 2)}\n${JSON.stringify(j2)}\n`)
    await rp.ok(['create', 'pipeline', '-f', yamlFile, '-f', jsonFile, '--detach'])

    const userSpec = async (name: string) => JSON.parse((await rp.json(['inspect', 'pipeline', name])).user_spec_json) as unknown
    expect(await userSpec('y1')).toEqual({
      pipeline: {name: 'y1'},
      transform: {image: IMAGE, cmd: ['sh', '-c', 'true']},
      input: {pfs: {repo: 'data', glob: '/*', outerJoin: false}},
      datumTries: 2,
      description: null,
    })
    expect(await userSpec('y2')).toEqual({pipeline: {name: 'y2'}, transform: {image: IMAGE, cmd: ['true']}, input: {pfs: {repo: 'y1', glob: '/'}}})
    expect(await userSpec('j1')).toEqual(j1)
    expect(await userSpec('j2')).toEqual(j2)
    // the effective spec is the normalised one
    const effective = JSON.parse((await rp.json(['inspect', 'pipeline', 'y1'])).effective_spec_json)
    expect(effective).toMatchObject({datum_tries: 2, description: '', input: {pfs: {outer_join: false, name: 'data', branch: 'master'}}})
  })

  it('missing input repo exits 4 naming repo and file; missing cmd exits 2 naming the field; nothing is created', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const {expect} = ctx
    const rp = await project(ctx, 'local')
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

    // an input repo without any commit is fine: its branch is created, the first job has 0 datums and succeeds
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'empty', pipeline('empty', 'true', {pfs: {repo: 'present', glob: '/'}}))])
    expect(await jobs(rp, 'empty')).toMatchObject([{state: 'JOB_SUCCESS', data_total: 0, data_processed: 0}])
    expect(((await rp.json(['list', 'branch', 'present'])) as {branch: {name: string}}[]).map((b) => b.branch.name)).toEqual(['master'])
  })
})

describe('a runner that cannot start', () => {
  it('--runner docker without an engine: one line, exit 1, the job waits for a `pach run` that can run it', async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'a'])
    await rp.ok(['put', 'file', 'a@master:/x', '-f', '-'], {input: 'x\n'})
    const spec = writeSpec(rp.p, 'p', pipeline('p', 'cp /pfs/a/x /pfs/out/x', {pfs: {repo: 'a', glob: '/'}}))
    const r = await rp.run(['create', 'pipeline', '-f', spec], {env: {PACH_RUNNER: 'docker', DOCKER_HOST: 'unix:///nonexistent/docker.sock'}})
    expectUserError(r, 1, /cannot reach the Docker engine.*use --runner local/)
    // the pipeline exists; its job was left to the next run
    expect((await jobs(rp, 'p'))[0]!.state).not.toBe('JOB_SUCCESS')
    await rp.ok(['run'])
    expect((await jobs(rp, 'p'))[0]).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1})
    expect(await rp.ok(['get', 'file', 'p@master:/x'])).toBe('x\n')
  })
})
