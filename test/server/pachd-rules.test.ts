/**
 * Where `pach serve` must behave as pachd does, because `pach push`/`pull` are tested against
 * it in place of a real pachd (issue 14): one test per rule, each checked against pachd's own
 * code (named in the test). Server-minted commit ids, unknown spec fields refused, dry runs,
 * pipelines that already exist, unfinished parents, finished commits, message limits.
 */
import {credentials, Metadata, status, type ServiceError} from '@grpc/grpc-js'
import {describe, expect, it} from 'vitest'
import {grpcObject} from '../../src/server/grpc/definitions.js'
import type {ProtoGrpcType} from '../../src/server/proto/gen/pfs.js'
import {serve, type Served} from '../helpers/serve.js'

const MiB = 1024 * 1024
const repo = (name: string) => ({name, type: 'user', project: {name: 'default'}})
const branch = (r: string, name = 'master') => ({repo: repo(r), name})
const spec = (name: string, extra: object = {}) => ({pipeline: {name}, transform: {image: 'pach-test/busybox:1', cmd: ['sh', '-c', 'true']}, input: {pfs: {repo: 'images', glob: '/*'}}, ...extra})

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

async function withImages(): Promise<Served> {
  const s = await serve()
  await s.client.unary(s.client.pfs, 'CreateRepo', {repo: repo('images')})
  return s
}

describe("pach serve keeps pachd's rules", () => {
  // pachd: uuid.NewWithoutDashes (src/internal/uuid): a random (version 4, RFC 4122 variant) UUID without dashes
  it('mints commit ids itself: dashless UUIDv4, one per StartCommit', async () => {
    const s = await withImages()
    const c = s.client
    const ids = new Set<string>()
    for (let i = 0; i < 5; i++) {
      const started = await c.unary(c.pfs, 'StartCommit', {branch: branch('images')})
      expect(started.id).toMatch(/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/)
      ids.add(started.id)
      await c.unary(c.pfs, 'FinishCommit', {commit: started})
    }
    expect(ids.size).toBe(5)
  })

  // pachd: makeEffectiveSpec's protojson.Unmarshal (src/server/pps/server/api_server.go) →
  // badRequest("could not make effective spec: could not parse <json> as Create Pipeline Request message: proto: (line L:C): unknown field \"x\"")
  it('refuses an unknown field in create_pipeline_request_json: INVALID_ARGUMENT, protojson\'s words, nothing created', async () => {
    const s = await withImages()
    const c = s.client
    const json = JSON.stringify(spec('p', {bogus_field: 1}))
    const e = (await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: json}).catch((x: unknown) => x)) as ServiceError
    expect(e.code).toBe(status.INVALID_ARGUMENT)
    const col = json.indexOf('"bogus_field"') + 1
    expect(e.details).toBe(`could not make effective spec: could not parse ${json} as Create Pipeline Request message: proto: (line 1:${col}): unknown field "bogus_field"`)
    // nested too
    const nested = JSON.stringify(spec('p', {transform: {image: 'x', cmd: ['true'], nope: true}}))
    const e2 = (await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: nested}).catch((x: unknown) => x)) as ServiceError
    expect(e2.code).toBe(status.INVALID_ARGUMENT)
    expect(e2.details).toMatch(/: proto: \(line 1:\d+\): unknown field "nope"$/)
    // line and column (in characters, from 1) of the key's opening quote, across lines
    const pretty = '{\n  "pipeline": {"name": "p"},\n  "description": "héllo wörld", "nope": 1\n}'
    const e3 = (await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: pretty}).catch((x: unknown) => x)) as ServiceError
    const line3 = '  "description": "héllo wörld", "nope": 1'
    expect(e3.details).toBe(`could not make effective spec: could not parse ${pretty} as Create Pipeline Request message: proto: (line 3:${line3.indexOf('"nope"') + 1}): unknown field "nope"`)
    // every known spelling passes this check (proto and JSON names, a map's free keys, a list of messages)
    const known = JSON.stringify(spec('ok', {datumTries: '2', transform: {image: 'x', cmd: ['true'], env: {ANY_KEY: 'v'}, secrets: [{name: 's', env_var: 'E', key: 'k'}]}, update: false}))
    await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: known, dry_run: true})
    expect(await all(c.stream(c.pps, 'ListPipeline', {}))).toEqual([])
  })

  // pachd: createPipeline returns the effective spec's protojson before the transaction when dry_run
  it('dry_run answers the effective spec (defaults merged) and creates nothing', async () => {
    const s = await withImages()
    const c = s.client
    await c.unary(c.pps, 'SetClusterDefaults', {cluster_defaults_json: JSON.stringify({create_pipeline_request: {datum_tries: 7}})})
    const r = await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(spec('dry')), dry_run: true})
    const eff = JSON.parse(r.effective_create_pipeline_request_json) as {pipeline: {name: string; project: {name: string}}; datumTries?: string}
    expect(eff.pipeline).toMatchObject({name: 'dry', project: {name: 'default'}})
    // int64 as protojson writes it: a string
    expect(eff.datumTries).toBe('7')
    expect(await all(c.stream(c.pps, 'ListPipeline', {}))).toEqual([])
    expect((await all(c.stream(c.pfs, 'ListRepo', {}))).map((x) => x.repo!.name)).toEqual(['images'])
  })

  // pachd: CreatePipelineInTransaction → ErrPipelineAlreadyExists (codes.AlreadyExists, `pipeline %q already exists`)
  it('update:false on an existing pipeline: ALREADY_EXISTS, pipeline "default/p" already exists', async () => {
    const s = await withImages()
    const c = s.client
    await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(spec('p'))})
    await expect(c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(spec('p')), update: false})).rejects.toMatchObject({
      code: status.ALREADY_EXISTS,
      details: 'pipeline "default/p" already exists',
    })
    expect((await c.unary(c.pps, 'InspectPipeline', {pipeline: {name: 'p'}})).version).toBe(1)
  })

  // pachd: linkParent (src/server/pfs/server/server_commit.go) errors.Errorf, wrapped by
  // startCommit ("create commit") and StartCommitInTransaction: a plain error, UNKNOWN
  it('StartCommit on a branch whose head is not finished: UNKNOWN, pachd\'s words', async () => {
    const s = await withImages()
    const c = s.client
    const open = await c.unary(c.pfs, 'StartCommit', {branch: branch('images')})
    await expect(c.unary(c.pfs, 'StartCommit', {branch: branch('images')})).rejects.toMatchObject({
      code: status.UNKNOWN,
      details: `start commit in transaction: create commit: parent commit default/images@${open.id} has not been finished`,
    })
    // an explicit unfinished parent, too
    await c.unary(c.pfs, 'CreateBranch', {branch: branch('images', 'dev'), head: null, provenance: [], trigger: null, new_commit_set: false})
    await expect(c.unary(c.pfs, 'StartCommit', {branch: branch('images', 'dev'), parent: {repo: repo('images'), id: open.id}})).rejects.toMatchObject({
      code: status.UNKNOWN,
      details: `start commit in transaction: create commit: parent commit default/images@${open.id} has not been finished`,
    })
  })

  // pachd: modifyFile (src/server/pfs/server/server_file.go): an explicitly named finished
  // commit is ErrCommitFinished (no gRPC status of its own: UNKNOWN); a branch gets a one-off commit
  it('ModifyFile into an explicitly named finished commit: UNKNOWN `commit … has already finished`, nothing written', async () => {
    const s = await withImages()
    const c = s.client
    const started = await c.unary(c.pfs, 'StartCommit', {branch: branch('images')})
    await c.unary(c.pfs, 'FinishCommit', {commit: started})
    const e = (await c
      .send(c.pfs, 'ModifyFile', [{set_commit: {repo: repo('images'), id: started.id, branch: null}}, {add_file: {path: '/late', raw: {value: Buffer.from('x')}}}])
      .catch((x: unknown) => x)) as ServiceError
    expect(e.code).toBe(status.UNKNOWN)
    expect(e.details).toBe(`commit default/images@${started.id} has already finished`)
    // FinishCommit of it again: the same error
    await expect(c.unary(c.pfs, 'FinishCommit', {commit: {repo: repo('images'), id: started.id, branch: null}})).rejects.toMatchObject({
      code: status.UNKNOWN,
      details: `commit default/images@${started.id} has already finished`,
    })
    expect((await all(c.stream(c.pfs, 'ListCommit', {repo: repo('images')}))).length).toBe(1)
  })

  // pachd: grpcutil.MaxMsgSize = 20 MiB for every message in and out (src/internal/grpcutil)
  it('refuses a message over 20 MiB with RESOURCE_EXHAUSTED and takes one just under it', async () => {
    const s = await withImages()
    // a client that sends what it is given (pach's own client stops at 20 MiB itself)
    const o = grpcObject() as unknown as ProtoGrpcType
    const raw = new o.pfs_v2.API(s.address, credentials.createInsecure(), {'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1})
    const upload = (bytes: number) =>
      new Promise<void>((resolve, reject) => {
        const w = raw.ModifyFile(new Metadata(), (err) => (err ? reject(err) : resolve()))
        w.write({set_commit: {repo: repo('images'), id: '', branch: branch('images')}})
        w.write({add_file: {path: `/f${bytes}`, raw: {value: Buffer.alloc(bytes, 1)}}})
        w.end()
      })
    try {
      const e = (await upload(20 * MiB + 1).catch((x: unknown) => x)) as ServiceError
      expect(e.code).toBe(status.RESOURCE_EXHAUSTED)
      expect(e.details).toMatch(/larger than max \(\d+ vs\.? 20971520\)/)
      // the Python SDK's 19 MiB chunks fit
      await upload(19 * MiB)
      const c = s.client
      const info = await c.unary(c.pfs, 'InspectFile', {file: {commit: {repo: repo('images'), id: '', branch: branch('images')}, path: `/f${19 * MiB}`, datum: ''}})
      expect(Number(info.size_bytes)).toBe(19 * MiB)
    } finally {
      raw.close()
    }
  })
})
