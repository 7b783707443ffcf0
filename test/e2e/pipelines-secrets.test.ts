/**
 * E2E (PPS): secrets — `create/list/inspect/delete secret` (Kubernetes Secret manifests) and
 * `transform.secrets` as environment variables and read-only file mounts, for each runner.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect} from 'vitest'
import {expectUserError} from './_util.js'
import {lastJob, localTree, outputFiles, pipeline, project, RUNNERS, runnerIt, SCENARIO_TIMEOUT, writeSpec} from './pipelines-util.js'

describe.concurrent.each(RUNNERS)('secrets [%s runner]', (runner) => {
  const rit = runnerIt(runner)

  rit('a secret as an env var and as files; values never printed; missing secrets fail the job by name', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    const p = rp.p
    const manifest = join(p.dir, 'secret.json')
    writeFileSync(manifest, JSON.stringify({apiVersion: 'v1', kind: 'Secret', metadata: {name: 'db'}, data: {password: Buffer.from('hunter2').toString('base64')}, stringData: {user: 'admin'}}))
    expect(await rp.json(['create', 'secret', '-f', manifest])).toMatchObject({secret: {name: 'db'}, type: 'Opaque'})
    expectUserError(await rp.run(['create', 'secret', '-f', manifest]), 5, /secret db already exists/)
    const listed = await rp.json(['list', 'secret'])
    expect(listed.map((s: {secret: {name: string}}) => s.secret.name)).toEqual(['db'])
    expect(JSON.stringify(listed)).not.toContain('hunter2')
    expect(await rp.ok(['inspect', 'secret', 'db'])).not.toContain('hunter2')

    await rp.ok(['create', 'repo', 'in'])
    const dir = localTree(p, 'local', {a: 'x\n'})
    await rp.ok(['put', 'file', 'in@master:/a', '-f', `${dir}/a`])
    const spec = pipeline('useit', 'echo "$DB_PASSWORD" > /pfs/out/env; cat /secrets/db/user /secrets/db/password > /pfs/out/files; touch /secrets/db/user 2>/dev/null && echo writable > /pfs/out/rw; true', {pfs: {repo: 'in', glob: '/*'}}, {
      transform: {secrets: [{name: 'db', key: 'password', env_var: 'DB_PASSWORD'}, {name: 'db', mount_path: '/secrets/db'}]},
    })
    await rp.ok(['create', 'pipeline', '-f', writeSpec(p, 'useit', spec)])
    expect(await lastJob(rp, 'useit')).toMatchObject({state: 'JOB_SUCCESS'})
    // read-only mount: the touch failed, so no /rw
    expect(await outputFiles(rp, 'useit@master')).toEqual({'/env': 'hunter2\n', '/files': 'adminhunter2'})

    // a pipeline naming a secret that does not exist: its job fails, naming the secret
    const missing = pipeline('nosecret', 'true', {pfs: {repo: 'in', glob: '/*'}}, {transform: {secrets: [{name: 'nope', mount_path: '/secrets/nope'}]}})
    await rp.ok(['create', 'pipeline', '-f', writeSpec(p, 'nosecret', missing)])
    const j = await lastJob(rp, 'nosecret')
    expect(j.state).toBe('JOB_FAILURE')
    expect(j.reason).toContain('secret nope')

    expect(await rp.json(['delete', 'secret', 'db'])).toMatchObject({secret: {name: 'db'}})
    expectUserError(await rp.run(['inspect', 'secret', 'db']), 4, /secret db not found/)
  })
})
