/**
 * The pure half of `pach push --pipelines`: which pipelines are promoted, in which order, the
 * spec each is sent as (pipelines-plan.ts), and what happens to each image (images.ts).
 */
import {describe, expect, it} from 'vitest'
import {isPachError} from '../../src/core/errors.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {planPromotion, type LocalPipeline} from '../../src/core/remote/pipelines-plan.js'
import {parseImageRef, planImage, type LocalImage} from '../../src/core/remote/images.js'

const IMG = 'pach-test/busybox:1'

/** A local pipeline as pach stores it: the user's document and its normalised spec. */
function local(doc: Record<string, unknown>, defaults?: Record<string, unknown>): LocalPipeline {
  const {specs} = parseSpecs(JSON.stringify(doc), 'spec.json', 'default', defaults && (() => defaults))
  return {name: specs[0]!.pipeline.name, userSpec: doc, spec: specs[0]!}
}
const pipe = (name: string, input: unknown, extra: Record<string, unknown> = {}) => local({pipeline: {name}, transform: {image: IMG, cmd: ['sh', '-c', 'true']}, input, ...extra})
const pfs = (repo: string, more: Record<string, unknown> = {}) => ({pfs: {repo, glob: '/*', ...more}})
const opts = {localProject: 'default', project: 'prod', pushedRepos: ['images', 'labels']}

function refusal(fn: () => unknown): {code: string; message: string; hint?: string; data?: Record<string, unknown>} {
  try {
    fn()
  } catch (e) {
    if (isPachError(e)) return e as never
    throw e
  }
  throw new Error('expected a refusal')
}

describe('planPromotion: selection and order', () => {
  it('promotes the pipelines whose inputs are pushed or promoted, upstream first, and lists the rest with why', () => {
    const plan = planPromotion(
      [
        pipe('montage', {cross: [pfs('edges'), pfs('labels')]}),
        pipe('edges', pfs('images')),
        pipe('zeta', pfs('montage')),
        pipe('stats', pfs('logs')),
        pipe('late', pfs('stats')),
        pipe('ticker', {cron: {name: 'tick', spec: '@every 1h'}}),
        local({pipeline: {name: 'feed'}, transform: {image: IMG, cmd: ['sh']}, spout: {}}),
      ],
      opts,
    )
    expect(plan.pipelines.map((p) => p.name)).toEqual(['edges', 'montage', 'zeta'])
    expect(plan.outputs).toEqual(['edges', 'montage', 'zeta'])
    expect(plan.pipelines[1]!.inputs).toEqual(['edges', 'labels'])
    expect(plan.skipped).toEqual([
      {name: 'feed', reason: 'reads no repo (a spout)'},
      {name: 'late', reason: 'reads stats, the output of pipeline stats, which is not promoted'},
      {name: 'stats', reason: 'reads logs, which this push does not send'},
      {name: 'ticker', reason: 'reads only cron inputs, none pushed'},
    ])
  })

  it('orders by dependency, not by name, and ties by name', () => {
    const plan = planPromotion([pipe('a', pfs('c')), pipe('c', pfs('images')), pipe('b', pfs('images')), pipe('d', {union: [pfs('a'), pfs('b')]})], opts)
    expect(plan.pipelines.map((p) => p.name)).toEqual(['b', 'c', 'a', 'd'])
  })

  it('does not promote a pipeline reading another project', () => {
    const plan = planPromotion([pipe('x', {cross: [pfs('images'), pfs('images', {project: 'other', name: 'o'})]})], opts)
    expect(plan.pipelines).toEqual([])
    expect(plan.skipped).toEqual([{name: 'x', reason: 'reads other/images, in another project'}])
  })

  it('keeps a cron input beside a pushed one (the cluster creates cron repos)', () => {
    const plan = planPromotion([pipe('x', {cross: [pfs('images'), {cron: {name: 'tick', spec: '@every 1h'}}]})], opts)
    expect(plan.pipelines.map((p) => p.name)).toEqual(['x'])
  })
})

describe('planPromotion: the spec sent to pachd', () => {
  it('is the user document in pachd field names, in the remote project, with CLI-only and 1.x keys handled', () => {
    const doc = {
      pipeline: {name: 'edges', project: {name: 'default'}},
      transform: {image: IMG, cmd: ['sh'], env: {N: 3, ON: true}},
      input: {atom: {repo: 'images', glob: '/*', project: 'default'}},
      parallelismSpec: {constant: '2'},
      resourceRequests: {memory: 512},
      standby: true,
      enable_stats: true,
      reprocess: true,
      update: true,
      datumTries: 5,
    }
    const plan = planPromotion([local(doc)], opts)
    expect(plan.pipelines[0]!.doc).toEqual({
      pipeline: {name: 'edges', project: {name: 'prod'}},
      transform: {image: IMG, cmd: ['sh'], env: {N: '3', ON: 'true'}},
      input: {pfs: {repo: 'images', glob: '/*', project: 'prod'}},
      parallelism_spec: {constant: 2},
      resource_requests: {memory: '512'},
      autoscaling: true,
      datum_tries: 5,
    })
    // the local document is not changed
    expect(doc.pipeline.project.name).toBe('default')
  })

  it('rewrites every input project, nested, and leaves unset ones unset (pachd fills in the pipeline\'s)', () => {
    const plan = planPromotion([pipe('j', {join: [pfs('images', {project: 'default', join_on: '$1', glob: '/(*)'}), {group: [pfs('labels', {group_by: '$1', glob: '/(*)'})]}]})], opts)
    const input = plan.pipelines[0]!.doc.input as {join: [{pfs: {project?: string}}, {group: [{pfs: {project?: string}}]}]}
    expect(input.join[0].pfs.project).toBe('prod')
    expect(input.join[1].group[0].pfs.project).toBeUndefined()
  })

  it('strips the pach.io/network annotation with a notice, keeping the other annotations', () => {
    const plan = planPromotion(
      [pipe('a', pfs('images'), {metadata: {annotations: {'pach.io/network': 'true', 'team.example.com/owner': 'ana'}}}), pipe('b', pfs('images'), {metadata: {annotations: {'pach.io/network': 'true'}}})],
      opts,
    )
    expect(plan.pipelines[0]!.doc.metadata).toEqual({annotations: {'team.example.com/owner': 'ana'}})
    expect(plan.pipelines[1]!.doc.metadata).toBeUndefined()
    expect(plan.notices).toEqual([
      `pipeline "a": metadata.annotations["pach.io/network"] is pach's local network opt-in; not sent (pods on a cluster have the cluster's network)`,
      `pipeline "b": metadata.annotations["pach.io/network"] is pach's local network opt-in; not sent (pods on a cluster have the cluster's network)`,
    ])
  })

  it('refuses an image-only spec (its cmd from the local defaults, which are not sent), with a line saying what to do', () => {
    const e = refusal(() => planPromotion([local({pipeline: {name: 'entry'}, transform: {image: IMG}, input: pfs('images')}, {transform: {cmd: ['sh', '-c', 'run']}})], opts))
    expect(e.code).toBe('PIPELINE_NOT_PROMOTABLE')
    expect(e.message).toBe(
      `pipeline "entry": the spec sent has no transform.cmd (here it comes from the local pipeline defaults, which a push does not send); a cluster runs only transform.cmd, never the image's ENTRYPOINT (pachd: "nothing to run: no transform.cmd")`,
    )
    expect(e.hint).toBe('put the command in the pipeline\'s own transform.cmd (e.g. ["/entrypoint.sh"]) with `pach update pipeline`, then push again')
  })

  it('refuses Kubernetes-invalid metadata keys and label values, every problem of every pipeline reported', () => {
    const e = refusal(() =>
      planPromotion(
        [pipe('a', pfs('images'), {metadata: {annotations: {'bad key!': 'x', 'ok.example.com/fine': 'any value at all!'}, labels: {tier: 'not ok!'}}}), pipe('b', pfs('images'), {metadata: {labels: {['x'.repeat(64)]: 'v'}}})],
        opts,
      ),
    )
    expect(e.code).toBe('PIPELINE_NOT_PROMOTABLE')
    expect(e.message).toBe('pipeline "a": metadata.annotations key "bad key!" is not a valid Kubernetes annotation key, so the cluster\'s pods would be refused (and 2 more problems)')
    const errors = e.data!.errors as {pipeline: string; field: string}[]
    expect(errors.map((x) => `${x.pipeline} ${x.field}`)).toEqual(['a metadata.annotations', 'a metadata.labels', 'b metadata.labels'])
  })

  it('does not refuse a pipeline it does not promote', () => {
    const plan = planPromotion([local({pipeline: {name: 'entry'}, transform: {image: IMG}, input: pfs('logs')}, {transform: {cmd: ['sh']}})], opts)
    expect(plan.pipelines).toEqual([])
  })
})

describe('images', () => {
  const img = (over: Partial<LocalImage> = {}): LocalImage => ({id: 'sha256:' + 'ab12'.repeat(16), repoDigests: [], architecture: 'amd64', os: 'linux', ...over})
  const o = {clusterArch: 'amd64', pipeline: 'p'}

  it('parses references as Docker does', () => {
    expect(parseImageRef('busybox')).toEqual({path: 'busybox'})
    expect(parseImageRef('docker.io/library/busybox:1')).toEqual({path: 'busybox', tag: '1'})
    expect(parseImageRef('localhost:5000/a/b:dev')).toEqual({registry: 'localhost:5000', path: 'a/b', tag: 'dev'})
    expect(parseImageRef('ghcr.io/x/y@sha256:00')).toEqual({registry: 'ghcr.io', path: 'x/y', digest: 'sha256:00'})
    expect(parseImageRef('team/tool:1')).toEqual({path: 'team/tool', tag: '1'})
  })

  it('pins an image the engine knows a registry digest for, in its own repository', () => {
    const d = 'sha256:' + 'cd'.repeat(32)
    expect(planImage('ubuntu:20.04', img({repoDigests: [`ubuntu@${d}`]}), o)).toEqual({kind: 'pinned', image: 'ubuntu:20.04', pinned: `ubuntu@${d}`})
    expect(planImage('127.0.0.1:5000/t/x:1', img({repoDigests: [`other/x@${d}`, `127.0.0.1:5000/t/x@${d}`]}), o)).toEqual({kind: 'pinned', image: '127.0.0.1:5000/t/x:1', pinned: `127.0.0.1:5000/t/x@${d}`})
    expect(planImage('x@sha256:00', undefined, o)).toEqual({kind: 'pinned', image: 'x@sha256:00', pinned: 'x@sha256:00'})
  })

  it('sends an image the engine lacks as written', () => {
    expect(planImage('ubuntu:20.04', undefined, o)).toEqual({kind: 'absent', image: 'ubuntu:20.04'})
  })

  it('tags a local-only image deterministically from its id, for the registry its name names or --registry', () => {
    const target = {kind: 'push', image: 'pachtest/local-only:dev', registry: '127.0.0.1:5000', host: '127.0.0.1:5000', target: '127.0.0.1:5000/pachtest/local-only:pach-ab12ab12ab12', repository: '127.0.0.1:5000/pachtest/local-only', id: img().id}
    expect(planImage('pachtest/local-only:dev', img(), {...o, registry: '127.0.0.1:5000'})).toEqual(target)
    // a digest for another repository does not count
    expect(planImage('pachtest/local-only:dev', img({repoDigests: ['elsewhere/x@sha256:00']}), {...o, registry: '127.0.0.1:5000'})).toEqual(target)
    expect(planImage('localhost:5000/t:dev', img(), {...o, registry: 'ignored:1'})).toMatchObject({kind: 'push', host: 'localhost:5000', target: 'localhost:5000/t:pach-ab12ab12ab12'})
    expect(planImage('tool:dev', img(), {...o, registry: 'ghcr.io/team'})).toMatchObject({host: 'ghcr.io', target: 'ghcr.io/team/tool:pach-ab12ab12ab12', repository: 'ghcr.io/team/tool'})
  })

  it('refuses a local-only image with no registry, and one built for another architecture', () => {
    const none = refusal(() => planImage('pachtest/local-only:dev', img(), o))
    expect(none.code).toBe('IMAGE_NOT_PUBLISHABLE')
    expect(none.message).toBe('pipeline "p": image pachtest/local-only:dev exists only on this machine and its name names no registry the cluster could pull it from')
    expect(none.hint).toMatch(/--registry/)
    const arm = refusal(() => planImage('127.0.0.1:5000/t:dev', img({architecture: 'arm64'}), o))
    expect(arm.code).toBe('IMAGE_NOT_PUBLISHABLE')
    expect(arm.message).toBe('pipeline "p": image 127.0.0.1:5000/t:dev is built for linux/arm64, but the cluster runs linux/amd64')
    expect(arm.hint).toBe('rebuild it with `docker buildx build --platform linux/amd64 -t 127.0.0.1:5000/t:dev .`')
    // a registry image may be multi-platform: not refused
    expect(planImage('ubuntu:20.04', img({architecture: 'arm64', repoDigests: ['ubuntu@sha256:00']}), o).kind).toBe('pinned')
  })
})
