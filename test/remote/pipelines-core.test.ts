/**
 * The effectful half of the pipeline promotion (src/core/remote/pipelines.ts) over a real
 * local project and recording fakes of the remote (PipelineTarget) and the image engine
 * (ImagePublisher): what is asked of the remote and in which order, what is left alone,
 * how refusals and transport failures come out. No Docker, no server: fast.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {initPach, type Pach} from '../../src/core/pach.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {isPachError} from '../../src/core/errors.js'
import {archOf, preparePipelinePromotion, RemoteRefusal, type ImagePublisher, type LocalImage, type PipelineTarget, type PromotionOptions} from '../../src/core/remote/pipelines.js'

const ID = 'sha256:' + '0123456789ab'.repeat(5) + '0123'
const DIGEST = 'sha256:' + 'f'.repeat(64)

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

/** A local project with repos images/logs, pipelines from `docs`, and every warning it reports. */
function project(docs: object[]): {pach: Pach; warnings: string[]} {
  const dir = mkdtempSync(join(tmpdir(), 'pach-promote-'))
  const warnings: string[] = []
  const pach = initPach(dir, {reporter: {warn: (m) => warnings.push(m), info() {}, progress: () => ({add() {}, total() {}, stage() {}, done() {}})}})
  cleanups.push(() => {
    pach.close()
    rmSync(dir, {recursive: true, force: true})
  })
  pach.repos.create('default', 'images')
  for (const doc of docs) {
    const {specs, userSpecs} = parseSpecs(JSON.stringify(doc), 'spec.json')
    pach.pipelines.put(specs[0]!, {update: false, reprocess: false, file: 'spec.json', userSpec: JSON.stringify(userSpecs[0])})
  }
  return {pach, warnings}
}

const spec = (name: string, from: string, image = 'tool:dev', extra: object = {}) => ({pipeline: {name}, transform: {image, cmd: ['run']}, input: {pfs: {repo: from, glob: '/*'}}, ...extra})

/** A remote that records every call; `refuse(json)` decides which CreatePipelineV2 it refuses; `existing` are its pipelines' user specs. */
function fakeTarget(opts: {platform?: string; existing?: Record<string, string>; refuse?: (json: string) => string | undefined; fail?: Error; repos?: string[]} = {}) {
  const calls: string[] = []
  const target: PipelineTarget = {
    async platform() {
      return opts.platform
    },
    async userSpec(project, name) {
      calls.push(`InspectPipeline ${project}/${name}`)
      return opts.existing?.[name]
    },
    async projectExists(project) {
      calls.push(`InspectProject ${project}`)
      return true
    },
    async repoExists(project, name) {
      calls.push(`InspectRepo ${project}/${name}`)
      return (opts.repos ?? []).includes(name)
    },
    async startTransaction() {
      calls.push('StartTransaction')
      return 'tx1'
    },
    async createRepo(project, name, tx) {
      calls.push(`CreateRepo ${project}/${name} in ${tx}`)
    },
    async createPipeline(json, {reprocess, transaction}) {
      const doc = JSON.parse(json) as {pipeline: {name: string}}
      calls.push(`CreatePipelineV2 ${doc.pipeline.name}${reprocess ? ' reprocess' : ''} in ${transaction}`)
      if (opts.fail) throw opts.fail
      const why = opts.refuse?.(json)
      if (why) throw new RemoteRefusal(why)
    },
    async finishTransaction(id) {
      calls.push(`FinishTransaction ${id}`)
    },
    async deleteTransaction(id) {
      calls.push(`DeleteTransaction ${id}`)
    },
  }
  return {target, calls}
}

/** An engine where every image exists only locally (linux/amd64), recording pushes. */
function fakeImages(over: Partial<LocalImage> = {}) {
  const calls: string[] = []
  const images: ImagePublisher = {
    async unavailable() {
      return undefined
    },
    async inspect(ref) {
      calls.push(`inspect ${ref}`)
      return {id: ID, repoDigests: [], architecture: 'amd64', os: 'linux', ...over}
    },
    async checkPush(registry) {
      calls.push(`checkPush ${registry}`)
      return undefined
    },
    async push(source, target) {
      calls.push(`push ${source} ${target}`)
      return DIGEST
    },
  }
  return {images, calls}
}

const OPTS: PromotionOptions = {pushedRepos: ['images'], registry: 'reg.example.com:5000'}

async function refusal(p: Promise<unknown>) {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

describe('preparePipelinePromotion', () => {
  it('validates in a transaction it throws away, pushing nothing; applies in one transaction, upstream first, each image pushed once', async () => {
    const {pach} = project([spec('edges', 'images'), spec('montage', 'edges')])
    const t = fakeTarget()
    const i = fakeImages()
    const p = await preparePipelinePromotion(pach, t.target, i.images, OPTS)
    await p.validate()
    expect(t.calls).toEqual(['InspectProject default', 'InspectRepo default/images', 'StartTransaction', 'CreateRepo default/images in tx1', 'CreatePipelineV2 edges in tx1', 'CreatePipelineV2 montage in tx1', 'DeleteTransaction tx1'])
    expect(i.calls).toEqual(['inspect tool:dev', 'checkPush reg.example.com:5000'])
    t.calls.length = 0
    const r = await p.apply()
    expect(i.calls.slice(2)).toEqual(['push tool:dev reg.example.com:5000/tool:pach-0123456789ab'])
    expect(t.calls).toEqual(['InspectPipeline default/edges', 'InspectPipeline default/montage', 'StartTransaction', 'CreatePipelineV2 edges in tx1', 'CreatePipelineV2 montage in tx1', 'FinishTransaction tx1'])
    expect(r).toEqual({
      created: ['edges', 'montage'],
      updated: [],
      unchanged: [],
      images: [
        {pipeline: 'edges', image: 'tool:dev', sent: `reg.example.com:5000/tool@${DIGEST}`, pushed: true},
        {pipeline: 'montage', image: 'tool:dev', sent: `reg.example.com:5000/tool@${DIGEST}`, pushed: true},
      ],
    })
    expect(await p.images()).toEqual([
      {pipeline: 'edges', plan: expect.objectContaining({kind: 'push', target: 'reg.example.com:5000/tool:pach-0123456789ab'})},
      {pipeline: 'montage', plan: expect.objectContaining({kind: 'push'})},
    ])
  })

  it('leaves a pipeline whose remote user spec equals what it would send alone (not with --reprocess); no transaction when nothing changes', async () => {
    const {pach} = project([spec('edges', 'images')])
    const sent = {pipeline: {name: 'edges', project: {name: 'default'}}, transform: {image: `reg.example.com:5000/tool@${DIGEST}`, cmd: ['run']}, input: {pfs: {repo: 'images', glob: '/*'}}}
    // key order does not matter: the documents are compared, not the text
    const existing = {edges: JSON.stringify({input: sent.input, transform: sent.transform, pipeline: sent.pipeline})}
    const same = fakeTarget({existing})
    const r = await (await preparePipelinePromotion(pach, same.target, fakeImages().images, OPTS)).apply()
    expect([r.created, r.updated, r.unchanged]).toEqual([[], [], ['edges']])
    expect(same.calls).toEqual(['InspectPipeline default/edges'])

    const again = fakeTarget({existing})
    const rr = await (await preparePipelinePromotion(pach, again.target, fakeImages().images, {...OPTS, reprocess: true})).apply()
    expect([rr.created, rr.updated, rr.unchanged]).toEqual([[], ['edges'], []])
    expect(again.calls).toContain('CreatePipelineV2 edges reprocess in tx1')
  })

  it('a refusal by the remote is REMOTE_SPEC_REJECTED naming the pipeline, and the transaction is deleted; a transport failure passes through as it is', async () => {
    const {pach} = project([spec('edges', 'images'), spec('montage', 'edges')])
    const t = fakeTarget({refuse: (json) => (json.includes('"montage"') ? 'unknown field "foo"' : undefined)})
    const p = await preparePipelinePromotion(pach, t.target, fakeImages().images, OPTS)
    const e = await refusal(p.validate())
    expect(isPachError(e) && e.code).toBe('REMOTE_SPEC_REJECTED')
    expect((e as Error).message).toBe('the cluster refused pipeline "montage": unknown field "foo"')
    expect(t.calls.at(-1)).toBe('DeleteTransaction tx1')
    t.calls.length = 0
    await refusal(p.apply())
    expect(t.calls.slice(-2)).toEqual(['CreatePipelineV2 montage in tx1', 'DeleteTransaction tx1'])
    expect(t.calls).not.toContain('FinishTransaction tx1')

    const down = Object.assign(new Error('14 UNAVAILABLE: connection refused'), {code: 14})
    const u = fakeTarget({fail: down})
    expect(await refusal((await preparePipelinePromotion(pach, u.target, fakeImages().images, OPTS)).validate())).toBe(down)
    expect(u.calls.at(-1)).toBe('DeleteTransaction tx1')
  })

  it('refuses before asking the remote anything when an image cannot be published; reports stripped fields and unsent local defaults', async () => {
    const {pach, warnings} = project([spec('edges', 'images', 'tool:dev', {metadata: {annotations: {'pach.io/network': 'true'}}})])
    const t = fakeTarget()
    const noRegistry = await preparePipelinePromotion(pach, t.target, fakeImages().images, {pushedRepos: ['images']})
    const e = await refusal(noRegistry.validate())
    expect(isPachError(e) && e.code).toBe('IMAGE_NOT_PUBLISHABLE')
    const arm = await preparePipelinePromotion(pach, t.target, fakeImages({architecture: 'arm64'}).images, OPTS)
    const a = await refusal(arm.validate())
    expect(isPachError(a) && a.code).toBe('IMAGE_NOT_PUBLISHABLE')
    expect((a as Error).message).toBe('pipeline "edges": image tool:dev is built for linux/arm64, but the cluster runs linux/amd64')
    const i = fakeImages()
    i.images.checkPush = async () => 'the registry does not answer (…); start it, or name another with --registry'
    const silent = await preparePipelinePromotion(pach, t.target, i.images, OPTS)
    const s = await refusal(silent.validate())
    expect(isPachError(s) && s.code).toBe('IMAGE_PUSH_FAILED')
    expect((s as Error).message).toBe('cannot push tool:dev (pipeline "edges") to reg.example.com:5000: the registry does not answer (…); start it, or name another with --registry')
    expect(t.calls).toEqual([])
    expect(warnings).toEqual(Array(3).fill(`pipeline "edges": metadata.annotations["pach.io/network"] is pach's local network opt-in; not sent (pods on a cluster have the cluster's network)`))

    pach.pipelines.setDefaults({cluster: true}, {create_pipeline_request: {datum_tries: 5}}, {})
    warnings.length = 0
    await preparePipelinePromotion(pach, t.target, fakeImages().images, OPTS)
    expect(warnings[1]).toBe("the local pipeline defaults of project default are not sent: the cluster's own defaults apply to the promoted pipelines (set them there with `pachctl update defaults`)")
  })

  it('with no image engine, sends every image as written, with a notice', async () => {
    const {pach, warnings} = project([spec('edges', 'images', 'tool:dev')])
    const t = fakeTarget()
    const i = fakeImages()
    i.images.unavailable = async () => 'Docker: connect ENOENT /var/run/docker.sock'
    const p = await preparePipelinePromotion(pach, t.target, i.images, {pushedRepos: ['images']})
    const r = await p.apply()
    expect(r.images).toEqual([{pipeline: 'edges', image: 'tool:dev', sent: 'tool:dev', pushed: false}])
    expect(i.calls).toEqual([])
    expect(warnings).toEqual(["no image engine answers (Docker: connect ENOENT /var/run/docker.sock): the pipelines' images are sent as written, not pinned by digest"])
  })

  it('takes the cluster architecture from the platform pachd reports, unless told', async () => {
    expect([archOf('amd64'), archOf('arm64'), archOf('linux/x64'), archOf('darwin/arm64'), archOf(''), archOf(undefined)]).toEqual(['amd64', 'arm64', 'amd64', 'arm64', undefined, undefined])
    const {pach} = project([spec('edges', 'images', 'tool:dev')])
    const arm = fakeImages({architecture: 'arm64'}).images
    await (await preparePipelinePromotion(pach, fakeTarget({platform: 'arm64'}).target, arm, OPTS)).validate()
    const e = await refusal((await preparePipelinePromotion(pach, fakeTarget({platform: 'arm64'}).target, arm, {...OPTS, clusterArch: 'amd64'})).validate())
    expect((e as Error).message).toBe('pipeline "edges": image tool:dev is built for linux/arm64, but the cluster runs linux/amd64')
    const e2 = await refusal((await preparePipelinePromotion(pach, fakeTarget({platform: 'linux/x64'}).target, arm, OPTS)).validate())
    expect((e2 as Error).message).toMatch(/the cluster runs linux\/amd64$/)
  })
})
