/**
 * E2E: the images of promoted pipelines (`pach push --pipelines`, src/core/remote/images.ts
 * and src/runner/image-publish.ts) against a served .pach and Debian's docker-registry: a
 * local-only image pushed under a deterministic tag and pinned by digest (and run by the
 * remote); refused before anything moves: no registry, an image built for another
 * architecture, a registry that does not answer, a private registry without or with wrong
 * credentials (and pushed to with the right ones).
 *
 * Needs Docker with `pach-test/busybox:1`, docker-registry and htpasswd: skipped locally
 * without them, FAILING when CI=true.
 */
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {get} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, expect, it} from 'vitest'
import {preparePipelinePromotion} from '../../src/core/remote/pipelines.js'
import {pipelineTarget} from '../../src/client/pipeline-target.js'
import {DockerImagePublisher} from '../../src/runner/image-publish.js'
import {IMAGE} from '../e2e/pipelines-util.js'
import {serve} from '../helpers/serve.js'
import {cleanUpAfterAll, describeDocker, docker, ensureRegistry, localWith, promote, putRemote, refusal, remotePipelines, remoteSpec, repoExists, spec, TIMEOUT, loadArmImage, privateRegistry} from './pipelines-util.js'

describeDocker('pach push --pipelines: images pushed and pinned by digest, or refused before anything moves', () => {
  let localOnlyId = ''
  beforeAll(async () => {
    await ensureRegistry()
    docker(['tag', IMAGE, 'pachtest/local-only:dev'])
    localOnlyId = docker(['image', 'inspect', '--format', '{{.Id}}', 'pachtest/local-only:dev'])
  }, TIMEOUT)
  cleanUpAfterAll(/^(pachtest\/(local-only|arm):dev|127\.0\.0\.1:\d+\/pachtest\/local-only:pach-[0-9a-f]{12})$/)

  it('pushes an image that exists only locally under a deterministic tag and pins it by digest', {timeout: TIMEOUT}, async () => {
    const local = localWith([spec('edges', 'images', 'cp /pfs/images/* /pfs/out/', 'pachtest/local-only:dev')])
    const s = await serve({args: ['--runner', 'docker']})
    const c = s.client
    await c.unary(c.pfs, 'CreateRepo', {repo: {name: 'images', type: 'user', project: {name: 'default'}}})
    const p = await promote(local, s)
    await p.validate()
    const r = await p.apply()
    expect(r.created).toEqual(['edges'])
    const image = (await remoteSpec(c, 'edges')).transform.image
    const digest = /^127\.0\.0\.1:5000\/pachtest\/local-only@(sha256:[0-9a-f]{64})$/.exec(image)?.[1]
    expect(digest, image).toBeDefined()
    // the registry holds that digest under the deterministic tag
    const hex = localOnlyId.replace('sha256:', '').slice(0, 12)
    const head = await new Promise<string | undefined>((resolve) => {
      const req = get({host: '127.0.0.1', port: 5000, path: `/v2/pachtest/local-only/manifests/pach-${hex}`, method: 'HEAD', headers: {Accept: 'application/vnd.docker.distribution.manifest.v2+json'}}, (res) => {
        res.resume()
        resolve(res.headers['docker-content-digest'] as string | undefined)
      })
      req.on('error', () => resolve(undefined))
      req.end()
    })
    expect(head).toBe(digest)
    // and the remote runs it
    const id = await putRemote(s, 'images@master:/a.txt', 'x\n')
    const job = await c.unary(c.pps, 'InspectJob', {job: {pipeline: {name: 'edges', project: {name: 'default'}}, id}, wait: true, details: true})
    expect(job.state).toBe('JOB_SUCCESS')
  })

  it('refuses before anything moves: a local-only image with no registry, one built for another architecture, a registry that does not answer', {timeout: TIMEOUT}, async () => {
    loadArmImage('pachtest/arm:dev')
    const s = await serve({args: ['--runner', 'docker']})
    const c = s.client

    const noReg = localWith([spec('edges', 'images', 'true', 'pachtest/local-only:dev')])
    const e1 = await refusal((await promote(noReg, s, {registry: undefined})).validate())
    expect(e1.code).toBe('IMAGE_NOT_PUBLISHABLE')
    expect(e1.message).toBe('pipeline "edges": image pachtest/local-only:dev exists only on this machine and its name names no registry the cluster could pull it from')

    const arm = localWith([spec('edges', 'images', 'true', 'pachtest/arm:dev')])
    const e2 = await refusal((await promote(arm, s)).validate())
    expect(e2.code).toBe('IMAGE_NOT_PUBLISHABLE')
    expect(e2.message).toBe('pipeline "edges": image pachtest/arm:dev is built for linux/arm64, but the cluster runs linux/amd64')
    expect(e2.hint).toBe('rebuild it with `docker buildx build --platform linux/amd64 -t pachtest/arm:dev .`')

    const e3 = await refusal((await promote(noReg, s, {registry: '127.0.0.1:1'})).validate())
    expect(e3.code).toBe('IMAGE_PUSH_FAILED')
    expect(e3.message).toMatch(/^cannot push pachtest\/local-only:dev \(pipeline "edges"\) to 127\.0\.0\.1:1: the registry does not answer \(.*\); start it, or name another with --registry$/)

    expect(await remotePipelines(c)).toEqual([])
    expect(await repoExists(c, 'images')).toBe(false)
  })

  it('a registry that asks for credentials: refused before anything moves without them or with wrong ones, pushed with the right ones', {timeout: TIMEOUT}, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pach-private-'))
    try {
      const host = await privateRegistry(join(dir, 'registry'))
      const s = await serve({args: ['--runner', 'docker']})
      const c = s.client
      await c.unary(c.pfs, 'CreateRepo', {repo: {name: 'images', type: 'user', project: {name: 'default'}}})
      const local = localWith([spec('edges', 'images', 'true', 'pachtest/local-only:dev')])
      const config = (name: string, auths: object) => {
        mkdirSync(join(dir, name), {recursive: true})
        writeFileSync(join(dir, name, 'config.json'), JSON.stringify({auths}))
        return join(dir, name)
      }
      const withConfig = (cfg: string) => new DockerImagePublisher({env: {...process.env, DOCKER_CONFIG: cfg}})
      const run = async (cfg: string) => preparePipelinePromotion(local.pach, pipelineTarget(c), withConfig(cfg), {pushedRepos: ['images'], registry: host})

      const none = await refusal((await run(config('none', {}))).validate())
      expect(none.code).toBe('IMAGE_PUSH_FAILED')
      expect(none.message).toBe(`cannot push pachtest/local-only:dev (pipeline "edges") to ${host}: the registry asks for credentials and ${join(dir, 'none', 'config.json')} has none for it; run \`docker login ${host}\` first`)

      const auth = (u: string, p: string) => ({[host]: {auth: Buffer.from(`${u}:${p}`).toString('base64')}})
      const wrong = await refusal((await run(config('wrong', auth('ana', 'nope')))).validate())
      expect(wrong.code).toBe('IMAGE_PUSH_FAILED')
      expect(wrong.message).toBe(`cannot push pachtest/local-only:dev (pipeline "edges") to ${host}: the registry refused the credentials from ${join(dir, 'wrong', 'config.json')}; log in again with \`docker login ${host}\``)
      expect(await remotePipelines(c)).toEqual([])

      const good = await run(config('good', auth('ana', 'secret')))
      await good.validate()
      const r = await good.apply()
      expect(r.created).toEqual(['edges'])
      expect((await remoteSpec(c, 'edges')).transform.image).toMatch(new RegExp(`^${host.replace(/\./g, '\\.')}/pachtest/local-only@sha256:[0-9a-f]{64}$`))
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
