// Label Studio's stock S3 source and target storage against the gateway, call for call
// (label_studio_flow.py, boto3 as Label Studio uses it), each result checked against pach:
// the objects it lists and shows are the repo's files, each exported annotation is one commit
// on the labels branch, a deleted annotation is a commit that deletes it, and the labels are
// versioned by branching as Pachyderm's Label Studio example does.
import {execa} from 'execa'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startGateway, type Gateway} from './helpers.js'

let g: Gateway
beforeAll(async () => {
  g = await startGateway()
  await g.ok(['create', 'repo', 'images'])
  await g.ok(['create', 'repo', 'labels'])
  await g.ok(['create', 'branch', 'labels@master'])
  await g.ok(['start', 'commit', 'images@master'])
  for (const [path, body] of [['/cats/a.jpg', 'JPEG-a'], ['/cats/b.jpg', 'JPEG-b'], ['/cats/c.jpg', 'JPEG-c'], ['/cats/notes.txt', 'not an image'], ['/cats/more/d.jpg', 'JPEG-d']]) {
    await g.ok(['put', 'file', `images@master:${path}`], body)
  }
  await g.ok(['finish', 'commit', 'images@master'])
}, 60_000)
afterAll(async () => g?.stop())

describe('Label Studio (stock S3 storage)', () => {
  it('validates, syncs, displays and exports as Label Studio does; each annotation is a commit', async () => {
    const before = (await g.json(['list', 'commit', 'labels@master'])).length
    const r = await execa('/usr/bin/python3', [join(import.meta.dirname, 'label_studio_flow.py'), g.endpoint], {
      reject: false,
      env: {AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true'},
    })
    if (r.exitCode !== 0) throw new Error(`label_studio_flow.py: ${r.stderr}`)
    const out = JSON.parse(r.stdout)
    expect(out.validate_source).toBe('ok')
    expect(out.validate_prefix_keycount).toBe(1)
    expect(out.sync_flat).toEqual(['cats/a.jpg', 'cats/b.jpg', 'cats/c.jpg', 'cats/notes.txt'])
    expect(out.sync_recursive_jpg).toEqual(['cats/a.jpg', 'cats/b.jpg', 'cats/c.jpg', 'cats/more/d.jpg'])
    expect(out.tasks[0]).toEqual({$undefined$: 's3://master.images/cats/a.jpg'})
    expect(out.cors_allow_origin).toBeTruthy()
    expect(out.presigned_cors).toBeTruthy()
    expect(out.presigned_body).toBe('JPEG-a')
    expect(out.proxy_range).toBe('JPEG')
    expect(out.proxy_content_range).toBe('bytes 0-3/6')
    expect(out.validate_target_keycount).toBe(0)
    expect(out.exported).toEqual(['annotations/1', 'annotations/3'])

    // three exports and one delete: four commits on the labels branch, in that order
    const commits = await g.json(['list', 'commit', 'labels@master'])
    expect(commits.length - before).toBe(4)
    const files = (await g.json(['glob', 'file', 'labels@master:/annotations/*'])).map((f: {file: {path: string}}) => f.file.path)
    expect(files).toEqual(['/annotations/1', '/annotations/3'])
    const a3 = JSON.parse(await g.ok(['get', 'file', 'labels@master:/annotations/3']))
    expect(a3.result[0].value.choices).toEqual(['cat'])
    // the deleted annotation is still in the history: the commit before the delete has it
    expect(JSON.parse(await g.ok(['get', 'file', 'labels@master^:/annotations/2'])).id).toBe(2)
    // versioning the labels as Pachyderm's example does: a branch at today's head
    await g.ok(['create', 'branch', 'labels@v1', '--head', 'master'])
    expect((await g.json(['glob', 'file', 'labels@v1:/annotations/*'])).length).toBe(2)
  })
})
