/**
 * metadata.API/EditMetadata against a real `pach serve` (pach's own client): every target and
 * op, edits applied all or none, pachd's validation and failure texts and codes, metadata in
 * the infos (InspectProject/Repo/Branch/Commit, ListCommit, InspectCluster), finished commits
 * editable, the transaction header ignored, and the CLI's `edit metadata` / `inspect` JSON.
 */
import {status} from '@grpc/grpc-js'
import {describe, expect, it} from 'vitest'
import type {PachdClient} from '../../src/client/pachd-client.js'
import {serve} from '../helpers/serve.js'

const repo = (name: string, project = 'default') => ({name, type: 'user', project: {name: project}})
const repoPicker = (name: string, project = 'default', type = '') => ({name: {project: {name: project}, name, type}})
const branchPicker = (r: string, name: string, project = 'default') => ({name: {repo: repoPicker(r, project), name}})
const byId = (r: string, id: string, project = 'default') => ({id: {repo: repoPicker(r, project), id}})

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

async function commit(c: PachdClient, r: string): Promise<string> {
  const started = await c.unary(c.pfs, 'StartCommit', {branch: {repo: repo(r), name: 'master'}})
  await c.unary(c.pfs, 'FinishCommit', {commit: started})
  return started.id
}

const edit = (c: PachdClient, edits: object[], transaction?: string) => c.unary(c.metadata, 'EditMetadata', {edits}, transaction ? {transaction} : {})

describe('pach serve: metadata.API EditMetadata', () => {
  it('edits every target with every op and shows the metadata in the infos', async () => {
    const s = await serve()
    const c = s.client
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('images')})
    const first = await commit(c, 'images')
    const second = await commit(c, 'images')
    await edit(c, [
      {project: {name: 'default'}, add_key: {key: 'team', value: 'vision'}},
      {repo: repoPicker('images'), replace: {replacement: {a: '1', b: '2'}}},
      {branch: branchPicker('images', 'master'), edit_key: {key: 'state', value: 'ok'}},
      // a finished commit, picked by id; then by branch head; by ancestry; from the root
      {commit: byId('images', first), add_key: {key: 'pach.local_commit_id', value: 'abc'}},
      {commit: {branch_head: branchPicker('images', 'master')}, edit_key: {key: 'head', value: 'yes'}},
      {commit: {ancestor: {offset: 1, start: {branch_head: branchPicker('images', 'master')}}}, edit_key: {key: 'parent', value: 'yes'}},
      {commit: {branch_root: {offset: 0, branch: branchPicker('images', 'master')}}, edit_key: {key: 'root', value: 'yes'}},
      {repo: repoPicker('images'), delete_key: {key: 'a'}},
      {repo: repoPicker('images'), delete_key: {key: 'never-there'}},
      {cluster: {}, add_key: {key: 'environment', value: 'laptop'}},
    ])
    expect((await c.unary(c.pfs, 'InspectProject', {project: {name: 'default'}})).metadata).toEqual({team: 'vision'})
    expect((await c.unary(c.pfs, 'InspectRepo', {repo: repo('images')})).metadata).toEqual({b: '2'})
    expect((await c.unary(c.pfs, 'InspectBranch', {branch: {repo: repo('images'), name: 'master'}})).metadata).toEqual({state: 'ok'})
    expect((await c.unary(c.pfs, 'InspectCommit', {commit: {repo: repo('images'), id: first}})).metadata).toEqual({'pach.local_commit_id': 'abc', parent: 'yes', root: 'yes'})
    expect((await c.unary(c.pfs, 'InspectCommit', {commit: {repo: repo('images'), id: second}})).metadata).toEqual({head: 'yes'})
    const listed = await all(c.stream(c.pfs, 'ListCommit', {repo: repo('images')}))
    expect(listed.map((x) => [x.commit!.id, x.metadata])).toEqual([
      [second, {head: 'yes'}],
      [first, {'pach.local_commit_id': 'abc', parent: 'yes', root: 'yes'}],
    ])
    expect((await c.unary(c.admin, 'InspectCluster', {})).metadata).toEqual({environment: 'laptop'})
    // the CLI shows it as pachctl --raw does (and nothing when there is none)
    const shown = await s.project.json<{metadata?: object}>(['inspect', 'commit', `images@${first}`])
    expect(shown.metadata).toEqual({'pach.local_commit_id': 'abc', parent: 'yes', root: 'yes'})
    const project = await s.project.json<{metadata?: object}>(['inspect', 'project', 'default'])
    expect(project.metadata).toEqual({team: 'vision'})
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('plain')})
    expect(await s.project.json(['inspect', 'repo', 'plain'])).not.toHaveProperty('metadata')
    // replace with an empty map clears
    await edit(c, [{repo: repoPicker('images'), replace: {}}])
    expect((await c.unary(c.pfs, 'InspectRepo', {repo: repo('images')})).metadata).toEqual({})
  })

  it('applies all edits or none, and words every failure as pachd (code from the text)', async () => {
    const s = await serve()
    const c = s.client
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('images')})
    const id = await commit(c, 'images')
    await edit(c, [{commit: byId('images', id), add_key: {key: 'k', value: 'v'}}])
    // the good first edit is not kept when a later one fails
    await expect(
      edit(c, [
        {commit: byId('images', id), edit_key: {key: 'k', value: 'changed'}},
        {commit: byId('images', 'f'.repeat(32)), edit_key: {key: 'x', value: 'y'}},
        {branch: branchPicker('images', 'nope'), edit_key: {key: 'x', value: 'y'}},
        {repo: repoPicker('nope'), edit_key: {key: 'x', value: 'y'}},
        {project: {name: 'nope'}, edit_key: {key: 'x', value: 'y'}},
        {repo: repoPicker('images', 'nope'), edit_key: {key: 'x', value: 'y'}},
        {commit: {ancestor: {offset: 3, start: byId('images', id)}}, edit_key: {key: 'x', value: 'y'}},
        {commit: {branch_head: {}}, edit_key: {key: 'x', value: 'y'}},
      ]),
    ).rejects.toMatchObject({
      code: status.UNKNOWN,
      details: [
        `apply edits: edit #1: pick commit: picking commit: get commit by commit key: commit (int_id=0, commit_id=default/images.user@${'f'.repeat(32)}) not found`,
        'edit #2: pick branch: picking branch: branch (id=0, branch=default/images@nope) not found',
        'edit #3: pick repo: picking repo: repo (id=0, project=default, name=nope, type=user) not found',
        'edit #4: pick project: picking project: project "nope" not found',
        'edit #5: pick repo: picking repo: picking project: project "nope" not found',
        `edit #6: pick commit: picking commit: invalid offset for ancestor of commit: default/images.user@${id}, offset requested: 3, offset traversable: 0`,
        'edit #7: pick commit: picking commit: branch picker cannot be nil',
      ].join('\n'),
    })
    expect((await c.unary(c.pfs, 'InspectCommit', {commit: {repo: repo('images'), id}})).metadata).toEqual({k: 'v'})
    // add_key of a key that exists (also one added earlier in the same request)
    await expect(edit(c, [{commit: byId('images', id), add_key: {key: 'k', value: 'again'}}])).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: `apply edits: edit #0: edit commit "default/images.user@${id}": add_key target key "k" already exists; use edit_key instead`,
    })
    await expect(
      edit(c, [
        {project: {name: 'default'}, add_key: {key: 'n', value: '1'}},
        {project: {name: 'default'}, add_key: {key: 'n', value: '2'}},
      ]),
    ).rejects.toMatchObject({code: status.FAILED_PRECONDITION, details: 'apply edits: edit #1: edit project "default": add_key target key "n" already exists; use edit_key instead'})
    expect((await c.unary(c.pfs, 'InspectProject', {project: {name: 'default'}})).metadata).toEqual({})
  })

  it("refuses what pachd's validation refuses, before anything is looked up", async () => {
    const s = await serve()
    const c = s.client
    await expect(edit(c, [{}, {project: {name: 'default'}, add_key: {key: '', value: 'v'}}, {project: {name: 'x'}, replace: {replacement: {'': 'v'}}}])).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details:
        'validate request: invalid EditMetadataRequest.Edits[0]: embedded message failed validation | caused by: invalid Edit.Target: value is required; invalid Edit.Op: value is required; ' +
        'invalid EditMetadataRequest.Edits[1]: embedded message failed validation | caused by: invalid Edit.AddKey: embedded message failed validation | caused by: invalid Edit_AddKey.Key: value length must be at least 1 runes; ' +
        'invalid EditMetadataRequest.Edits[2]: embedded message failed validation | caused by: invalid Edit.Replace: embedded message failed validation | caused by: invalid Edit_Replace.Replacement[]: value length must be at least 1 runes',
    })
    // no edits: nothing to do
    await expect(edit(c, [])).resolves.toEqual({})
    // pipelines carry no metadata in pach
    await expect(edit(c, [{pipeline: {name: {project: {name: 'default'}, name: 'p'}}, edit_key: {key: 'k', value: 'v'}}])).rejects.toMatchObject({code: status.UNIMPLEMENTED})
  })

  it('applies at once whatever transaction the header names (pachd does not queue EditMetadata)', async () => {
    const s = await serve()
    const c = s.client
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('images')})
    const txn = await c.unary(c.transaction, 'StartTransaction', {})
    await edit(c, [{repo: repoPicker('images'), edit_key: {key: 'k', value: 'v'}}], txn.id)
    expect((await c.unary(c.pfs, 'InspectRepo', {repo: repo('images')})).metadata).toEqual({k: 'v'})
    const info = await c.unary(c.transaction, 'InspectTransaction', {transaction: txn})
    expect(info.requests).toEqual([])
    await c.unary(c.transaction, 'DeleteTransaction', {transaction: txn})
  })

  it('pach edit metadata (pachctl edit metadata): groups of four, all or none, shown by the server and inspect', async () => {
    const s = await serve()
    const c = s.client
    await s.project.ok(['create', 'repo', 'images'])
    await s.project.ok(['put', 'file', 'images@master:/a', '-f', '-'], {input: 'a'})
    await s.project.ok(['put', 'file', 'images@master:/b', '-f', '-'], {input: 'b'})
    const out = await s.project.json<{edits: number}>([
      'edit', 'metadata',
      'commit', 'images@master', 'add', 'verified_by=me',
      'commit', 'images@master^1', 'edit', '"two words"=\'x;y\'',
      'commit', 'images@master.1', 'edit', 'root=yes',
      'branch', 'default/images@master', 'edit', 'b=1',
      'repo', 'images', 'replace', '{"owner":"vision"}',
      'project', 'default', 'replace', 'a=1;b=2',
      'cluster', '.', 'add', 'env=laptop',
    ])
    expect(out).toEqual({edits: 7})
    const head = await s.project.json<{commit: {id: string}; metadata: object}>(['inspect', 'commit', 'images@master'])
    expect(head.metadata).toEqual({verified_by: 'me'})
    expect((await c.unary(c.pfs, 'InspectCommit', {commit: {repo: repo('images'), id: 'master^1'}})).metadata).toEqual({'two words': 'x;y', root: 'yes'})
    expect((await c.unary(c.pfs, 'InspectBranch', {branch: {repo: repo('images'), name: 'master'}})).metadata).toEqual({b: '1'})
    expect((await s.project.json<{metadata: object}>(['inspect', 'repo', 'images'])).metadata).toEqual({owner: 'vision'})
    expect((await s.project.json<{metadata: object}>(['inspect', 'project', 'default'])).metadata).toEqual({a: '1', b: '2'})
    expect((await c.unary(c.admin, 'InspectCluster', {})).metadata).toEqual({env: 'laptop'})
    // a failing edit: nothing changes, exit 5 (METADATA_KEY_EXISTS) or 4 (not found), every failure in data
    const r = await s.project.run(['edit', 'metadata', 'repo', 'images', 'delete', 'owner', 'commit', 'images@master', 'add', 'verified_by=again', 'branch', 'images@nope', 'edit', 'k=v', '--json'])
    expect(r.exitCode).toBe(5)
    const err = JSON.parse(r.stdout) as {error: {code: string; data: {failures: {edit: number; code: string}[]}}}
    expect(err.error.code).toBe('METADATA_KEY_EXISTS')
    expect(err.error.data.failures.map((f) => [f.edit, f.code])).toEqual([
      [1, 'METADATA_KEY_EXISTS'],
      [2, 'BRANCH_NOT_FOUND'],
    ])
    expect((await s.project.json<{metadata: object}>(['inspect', 'repo', 'images'])).metadata).toEqual({owner: 'vision'})
    // malformed arguments: usage, exit 2, nothing sent
    expect((await s.project.run(['edit', 'metadata', 'commit', 'images@master', 'add'])).exitCode).toBe(2)
    expect((await s.project.run(['edit', 'metadata', 'pipeline', 'p', 'add', 'k=v'])).exitCode).toBe(2)
    expect((await s.project.run(['edit', 'metadata', 'commit', 'images@master', 'add', 'novalue'])).exitCode).toBe(2)
  })
})
