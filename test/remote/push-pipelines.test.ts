/**
 * E2E: `pach push REMOTE REPO@BRANCH --pipelines` as a user runs it (the built CLI) against a
 * second .pach served by `pach serve` with the docker runner: the "done when" flow.
 * The specs are tried on the cluster before any data moves (a refused spec sends nothing),
 * the data goes first and the pipelines after it, so their first job runs on the pushed head
 * and its output appears on the cluster; the local-only image is pushed to the registry on
 * 127.0.0.1:5000 and the remote spec pins it by digest; a second push changes nothing;
 * --dry-run says what would happen and moves nothing.
 *
 * Needs Docker with `pach-test/busybox:1` and docker-registry: skipped locally without them,
 * FAILING when CI=true.
 */
import {beforeAll, expect, it} from 'vitest'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {serve, until} from '../helpers/serve.js'
import {localProject, put, remoteCommits, remoteFiles} from './push-fixture.js'
import {cleanUpAfterAll, describeDocker, ensureRegistry, remotePipelines, remoteSpec, spec, REGISTRY, TIMEOUT} from './pipelines-util.js'

interface Summary {
  commits: number
  bytes_sent: number
  pipelines?: {planned: string[]; skipped: {name: string; reason: string}[]; created: string[]; updated: string[]; unchanged: string[]; images: {pipeline: string; image: string; sent: string; pushed: boolean}[]; validated: boolean}
}

describeDocker('pach push --pipelines (the built CLI)', () => {
  beforeAll(() => ensureRegistry(), TIMEOUT)
  cleanUpAfterAll(/^127\.0\.0\.1:5000\/pach-test\/busybox:pach-[0-9a-f]{12}$/)

  it('tries the specs first, sends the data, then creates the pipelines: the job runs on the cluster; a second push changes nothing', {timeout: TIMEOUT}, async () => {
    const {p, pach} = await localProject()
    pach.repos.create('default', 'images')
    await put(pach, 'images@master', {'/a.txt': 'alpha\n', '/b.txt': 'beta\n'})
    for (const doc of [spec('upper', 'images', 'for f in /pfs/images/*; do tr a-z A-Z < $f > /pfs/out/$(basename $f); done'), spec('broken', 'upper', 'true')]) {
      const {specs: [s], userSpecs} = parseSpecs(JSON.stringify(doc), 'spec.json')
      pach.pipelines.put(s!, {update: false, reprocess: false, file: 'spec.json', userSpec: JSON.stringify(userSpecs[0])})
    }
    const s = await serve({args: ['--runner', 'docker']})
    const c = s.client

    // a spec the cluster refuses (its name is taken by a plain repo there) stops the push before any data moves
    await c.unary(c.pfs, 'CreateRepo', {repo: {name: 'broken', type: 'user', project: {name: 'default'}}, description: '', update: false})
    const refused = await p.run(['push', s.url, 'images@master', '--pipelines', '--registry', REGISTRY])
    expect(refused.exitCode, refused.stderr).toBe(2)
    expect(refused.stderr).toMatch(/REMOTE_SPEC_REJECTED|the cluster refused/)
    expect(refused.stderr.trim().split('\n').length).toBeLessThanOrEqual(2)
    expect(await remoteCommits(s, 'images').catch(() => [])).toEqual([])
    expect(await remotePipelines(c)).toEqual([])
    await c.unary(c.pfs, 'DeleteRepo', {repo: {name: 'broken', type: 'user', project: {name: 'default'}}, force: true})

    // --dry-run: what would happen, nothing moves
    const dry = await p.json<Summary>(['push', s.url, 'images@master', '--pipelines', '--registry', REGISTRY, '--dry-run'])
    expect(dry.commits).toBe(1)
    expect(dry.pipelines!.planned).toEqual(['upper', 'broken'])
    expect(dry.pipelines!.validated).toBe(true)
    expect(dry.pipelines!.images.map((i) => i.pipeline)).toEqual(['upper', 'broken'])
    expect(await remotePipelines(c)).toEqual([])

    const r = await p.json<Summary>(['push', s.url, 'images@master', '--pipelines', '--registry', REGISTRY])
    expect(r.commits).toBe(1)
    expect(r.pipelines!.created).toEqual(['upper', 'broken'])
    expect(await remotePipelines(c)).toEqual(['broken', 'upper'])
    expect((await remoteSpec(c, 'upper')).transform.image).toMatch(new RegExp(`^${REGISTRY.replace(/\./g, '\\.')}/pach-test/busybox@sha256:[0-9a-f]{64}$`))
    // the first job runs on the cluster over the pushed head
    const out = await until('the job of upper to write its output on the cluster', async () => {
      const files = await remoteFiles(s, 'upper').catch(() => ({}))
      return Object.keys(files).length === 2 ? files : undefined
    }, 60_000)
    expect(Object.keys(out).sort()).toEqual(['/a.txt', '/b.txt'])

    const again = await p.json<Summary>(['push', s.url, 'images@master', '--pipelines', '--registry', REGISTRY])
    expect(again.commits).toBe(0)
    expect(again.bytes_sent).toBe(0)
    expect(again.pipelines!.created).toEqual([])
    expect(again.pipelines!.updated).toEqual([])
    expect(again.pipelines!.unchanged.sort()).toEqual(['broken', 'upper'])
    await s.stop()
  })
})
