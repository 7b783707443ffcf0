/**
 * E2E: promoting a laptop's pipelines to a cluster (`pach push --pipelines`, core
 * src/core/remote/pipelines.ts). The "cluster" is a second .pach served by the built
 * `pach serve` with the docker runner, reached through pach's PachdClient and the
 * PipelineTarget adapter; images go to the registry on 127.0.0.1:5000 (pipelines-util.ts).
 *
 * Covered: pipelines created in DAG order in one remote transaction after a validation that
 * leaves nothing behind, jobs then running on the remote for data committed there; a second
 * promotion changes nothing, a local update updates only that pipeline; a spec the remote
 * refuses aborts before anything is created (validate, and apply's one transaction); a
 * promotion into another remote project, which must exist first.
 * Images: pipelines-images.test.ts.
 *
 * Needs Docker with `pach-test/busybox:1` and docker-registry: skipped locally without them,
 * FAILING when CI=true.
 */
import {beforeAll, expect, it} from 'vitest'
import {IMAGE} from '../e2e/pipelines-util.js'
import {serve} from '../helpers/serve.js'
import {cleanUpAfterAll, describeDocker, docker, ensureRegistry, localWith, promote, putRemote, refusal, remotePipelines, remoteSpec, repoExists, spec, REGISTRY, TIMEOUT} from './pipelines-util.js'

describeDocker('pach push --pipelines: pipelines promoted to a served .pach', () => {
  let localOnlyId = ''
  beforeAll(async () => {
    await ensureRegistry()
    localOnlyId = docker(['image', 'inspect', '--format', '{{.Id}}', IMAGE])
  }, TIMEOUT)
  cleanUpAfterAll(/^127\.0\.0\.1:5000\/pach-test\/busybox:pach-[0-9a-f]{12}$/)

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

    // again (validated against the pipelines now there): same tag, same digest, same specs: nothing to do
    const second = await promote(local, s)
    await second.validate()
    const again = await second.apply()
    expect([again.created, again.updated, again.unchanged]).toEqual([[], [], ['edges', 'montage']])

    // a local update of one pipeline updates that one only
    local.put([spec('edges', 'images', 'for f in /pfs/images/*; do tr a-z A-Z < $f > /pfs/out/$(basename $f).up; done')], true)
    const version = async () => (await c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'edges', project: {name: 'default'}}})).version
    const before = await version()
    const update = await promote(local, s)
    await update.validate()
    expect(await version()).toBe(before) // the validation's transaction was thrown away
    const third = await update.apply()
    expect(await version()).toBe(before + 1)
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

  it('promotes into another remote project, which must exist first', {timeout: TIMEOUT}, async () => {
    const local = localWith([spec('edges', 'images', 'cp /pfs/images/* /pfs/out/')])
    const s = await serve({args: ['--runner', 'docker']})
    const c = s.client
    const p = await promote(local, s, {project: 'prod'})
    const e = await refusal(p.validate())
    expect(e.code).toBe('PROJECT_NOT_FOUND')
    expect(e.message).toBe('project prod does not exist on the cluster, so its pipelines cannot be checked there')
    await c.unary(c.pfs, 'CreateProject', {project: {name: 'prod'}})
    await p.validate()
    await c.unary(c.pfs, 'CreateRepo', {repo: {name: 'images', type: 'user', project: {name: 'prod'}}})
    expect((await p.apply()).created).toEqual(['edges'])
    expect((await remoteSpec(c, 'edges', 'prod')).pipeline.project.name).toBe('prod')
    const id = (await s.project.json<{commit: {id: string}}>(['put', 'file', 'images@master:/a.txt', '-f', '-', '--detach', '--project', 'prod'], {input: 'p\n'})).commit.id
    const job = await c.unary(c.pps, 'InspectJob', {job: {pipeline: {name: 'edges', project: {name: 'prod'}}, id}, wait: true, details: true})
    expect(job.state).toBe('JOB_SUCCESS')
  })
})
