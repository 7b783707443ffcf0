import {status} from '@grpc/grpc-js'
import {describe, expect, it} from 'vitest'
import {serve} from '../helpers/serve.js'

const repo = (name: string) => ({name, type: 'user', project: {name: 'default'}})

describe('pach serve: transaction_v2', () => {
  it('StartTransaction makes a transaction the CLI does not see as active; Inspect, List, Delete; a deleted one is NOT_FOUND', async () => {
    const s = await serve()
    const c = s.client
    const t = await c.unary(c.transaction, 'StartTransaction', {})
    expect(t.id).toMatch(/^[0-9a-f]{12}4[0-9a-f]{19}$/)
    const info = await c.unary(c.transaction, 'InspectTransaction', {transaction: t})
    expect(info).toMatchObject({transaction: {id: t.id}, requests: [], responses: []})
    const list = await c.unary(c.transaction, 'ListTransaction', {})
    expect(list.transaction_info.map((x) => x.transaction?.id)).toEqual([t.id])
    // not the CLI's active transaction: a CLI write applies at once
    await s.project.ok(['create', 'repo', 'direct'])
    expect((await s.project.json(['list', 'repo'])).map((r: {repo: {name: string}}) => r.repo.name)).toEqual(['direct'])
    await c.unary(c.transaction, 'DeleteTransaction', {transaction: t})
    await expect(c.unary(c.transaction, 'DeleteTransaction', {transaction: t})).rejects.toMatchObject({code: status.NOT_FOUND, details: `transaction ${t.id} not found`})
    await expect(c.unary(c.transaction, 'InspectTransaction', {transaction: {id: t.id}})).rejects.toMatchObject({code: status.NOT_FOUND})
  })

  it('BatchTransaction applies its requests together under one commit-set id, or none of them', async () => {
    const s = await serve()
    const c = s.client
    const info = await c.unary(c.transaction, 'BatchTransaction', {
      requests: [
        {create_repo: {repo: repo('a'), description: 'A', update: false}},
        {create_repo: {repo: repo('b'), description: '', update: false}},
        {start_commit: {branch: {repo: repo('a'), name: 'master'}, parent: null, description: 'first'}},
        {start_commit: {branch: {repo: repo('b'), name: 'master'}, parent: null, description: ''}},
      ],
    })
    const id = info.transaction!.id
    expect(info.responses.map((r) => r.commit?.id ?? null)).toEqual([null, null, id, id])
    const a = await s.project.json(['inspect', 'commit', `a@${id}`])
    const b = await s.project.json(['inspect', 'commit', `b@${id}`])
    expect(a.description).toBe('first')
    expect(b.commit.id).toBe(id)
    // a request that cannot apply rolls back the batch: repo c is not created
    const bad = c.unary(c.transaction, 'BatchTransaction', {
      requests: [{create_repo: {repo: repo('c'), description: '', update: false}}, {start_commit: {branch: {repo: repo('nope'), name: 'master'}, parent: null, description: ''}}],
    })
    await expect(bad).rejects.toMatchObject({code: status.NOT_FOUND, details: 'repo default/nope not found'})
    expect((await s.project.json(['list', 'repo'])).map((r: {repo: {name: string}}) => r.repo.name).sort()).toEqual(['a', 'b'])
    expect((await c.unary(c.transaction, 'ListTransaction', {})).transaction_info).toEqual([])
  })
})

describe('pach serve: a pipeline in a transaction', () => {
  it('CreatePipelineV2 with the header joins the transaction: the input repo and the pipeline appear together at finish', async () => {
    const s = await serve({args: ['--runner', 'local']})
    const c = s.client
    const t = await c.unary(c.transaction, 'StartTransaction', {})
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('raw'), description: '', update: false}, {transaction: t.id})
    const spec = {pipeline: {name: 'cook', project: {name: 'default'}}, input: {pfs: {repo: 'raw', glob: '/*'}}, transform: {cmd: ['sh', '-c', 'cp /pfs/raw/* /pfs/out/']}}
    await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(spec), dry_run: false, update: false, reprocess: false}, {transaction: t.id})
    expect(await s.project.json(['list', 'pipeline'])).toEqual([])
    const info = await c.unary(c.transaction, 'InspectTransaction', {transaction: t})
    expect(info.requests.map((r) => Object.keys(r).filter((k) => (r as Record<string, unknown>)[k]))).toEqual([['create_repo'], ['create_pipeline_v2']])
    // a pipeline whose input does not exist, even counting the transaction, is refused at once
    const bad = {...spec, pipeline: {name: 'bad', project: {name: 'default'}}, input: {pfs: {repo: 'nope', glob: '/*'}}}
    await expect(c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(bad), dry_run: false, update: false, reprocess: false}, {transaction: t.id})).rejects.toMatchObject({
      details: expect.stringContaining('nope'),
    })
    await c.unary(c.transaction, 'FinishTransaction', {transaction: t})
    const pipes = (await s.project.json(['list', 'pipeline'])) as {pipeline: {name: string}}[]
    expect(pipes.map((p) => p.pipeline.name)).toEqual(['cook'])
    await s.project.ok(['put', 'file', 'raw@master:/a', '-f', '-'], {input: 'A', env: {PACH_DETACH: '1'}})
    await s.project.ok(['wait', 'commit', 'cook@master']) // the daemon runs the job
    expect(await s.project.ok(['get', 'file', 'cook@master:/a'])).toBe('A')
  })
})
