/**
 * pfs_v2.API's metadata methods against a real `pach serve` (pach's own client): projects,
 * repos, commits, commit sets, branches, DeleteAll, Fsck; pachd's NOT_FOUND / ALREADY_EXISTS
 * codes and messages; the Python SDK's request shapes (empty project, `master^1` as an id);
 * waits and subscriptions woken by a commit the CLI makes in another process.
 */
import {status} from '@grpc/grpc-js'
import {readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import type {PachdClient} from '../../src/client/pachd-client.js'
import {serve, type Served} from '../helpers/serve.js'

const ID = /^[0-9a-f]{12}4[0-9a-f]{19}$/
const repo = (name: string, project = 'default') => ({name, type: 'user', project: {name: project}})
const branch = (r: string, name: string, project = 'default') => ({repo: repo(r, project), name})

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const ms = (t: {seconds: number | string; nanos: number} | null | undefined) => Number(t!.seconds) * 1000 + Math.floor(t!.nanos / 1e6)

/** A commit on `r@master` through the API, finished; returns its id. */
async function commit(c: PachdClient, r: string, description = ''): Promise<string> {
  const started = await c.unary(c.pfs, 'StartCommit', {branch: branch(r, 'master'), description})
  await c.unary(c.pfs, 'FinishCommit', {commit: started})
  return started.id
}

describe('pach serve: pfs_v2 projects and repos', () => {
  it('creates, updates, inspects, lists and deletes projects with pachd\'s codes and messages', async () => {
    const s = await serve()
    const c = s.client
    await c.unary(c.pfs, 'CreateProject', {project: {name: 'vision'}, description: 'first'})
    await expect(c.unary(c.pfs, 'CreateProject', {project: {name: 'vision'}})).rejects.toMatchObject({code: status.ALREADY_EXISTS, details: 'project vision already exists'})
    await c.unary(c.pfs, 'CreateProject', {project: {name: 'vision'}, description: 'second', update: true})
    const p = await c.unary(c.pfs, 'InspectProject', {project: {name: 'vision'}})
    expect(p).toMatchObject({project: {name: 'vision'}, description: 'second'})
    expect(Number(p.created_at!.seconds)).toBeGreaterThan(1.7e9)
    const v2 = await c.unary(c.pfs, 'InspectProjectV2', {project: {name: 'vision'}})
    expect(v2.defaults_json).toBe('{}')
    await s.project.ok(['create', 'defaults', '--project', 'vision'], {input: '{"create_pipeline_request": {"datum_tries": 5}}'})
    const v2b = await c.unary(c.pfs, 'InspectProjectV2', {project: {name: 'vision'}})
    expect(JSON.parse(v2b.defaults_json)).toEqual({create_pipeline_request: {datum_tries: 5}})
    expect((await all(c.stream(c.pfs, 'ListProject', {}))).map((x) => x.project!.name).sort()).toEqual(['default', 'vision'])
    await expect(c.unary(c.pfs, 'InspectProject', {project: {name: 'nope'}})).rejects.toMatchObject({code: status.NOT_FOUND, details: 'project "nope" not found'})
    await expect(c.unary(c.pfs, 'CreateRepo', {repo: repo('x', 'nope')})).rejects.toMatchObject({code: status.NOT_FOUND, details: 'project "nope" not found'})
    await expect(c.unary(c.pfs, 'CreateProject', {project: {name: ''}})).rejects.toMatchObject({code: status.INVALID_ARGUMENT})
    // a project with repos is refused unless forced
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('raw', 'vision')})
    await expect(c.unary(c.pfs, 'DeleteProject', {project: {name: 'vision'}})).rejects.toMatchObject({code: status.FAILED_PRECONDITION})
    await c.unary(c.pfs, 'DeleteProject', {project: {name: 'vision'}, force: true})
    await expect(c.unary(c.pfs, 'InspectProject', {project: {name: 'vision'}})).rejects.toMatchObject({code: status.NOT_FOUND})
    expect(await s.project.json(['list', 'project'])).toHaveLength(1)
  })

  it('serves repos: the SDK\'s empty project and type, ALREADY_EXISTS, NOT_FOUND, ListRepo filters, DeleteRepo(s)', async () => {
    const s = await serve()
    const c = s.client
    // the Python SDK's test shape: Project(name="") and no type → default/user
    await c.unary(c.pfs, 'CreateRepo', {repo: {name: 'images', type: '', project: {name: ''}}, description: 'pics'})
    await expect(c.unary(c.pfs, 'CreateRepo', {repo: repo('images')})).rejects.toMatchObject({code: status.ALREADY_EXISTS, details: 'repo default/images already exists'})
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('images'), description: 'photos', update: true})
    const info = await c.unary(c.pfs, 'InspectRepo', {repo: {name: 'images'}})
    expect(info).toMatchObject({repo: repo('images'), description: 'photos', branches: []})
    await expect(c.unary(c.pfs, 'InspectRepo', {repo: repo('x')})).rejects.toMatchObject({code: status.NOT_FOUND, details: 'repo default/x not found'})
    // the CLI sees what the API made, and the other way round
    await s.project.ok(['create', 'project', 'p'])
    await s.project.ok(['create', 'repo', 'labels', '--project', 'p'])
    expect((await s.project.json(['list', 'repo'])).map((r: {repo: {name: string}}) => r.repo.name)).toEqual(['images'])
    const names = async (req: Parameters<PachdClient['pfs']['ListRepo']>[0]) => (await all(c.stream(c.pfs, 'ListRepo', req))).map((r) => `${r.repo!.project!.name}/${r.repo!.name}`).sort()
    expect(await names({type: 'user', projects: [{name: 'default'}]})).toEqual(['default/images'])
    expect(await names({type: 'user', projects: [{name: 'p'}]})).toEqual(['p/labels'])
    expect(await names({})).toEqual(['default/images', 'p/labels'])
    // DeleteRepo: a missing repo is {deleted:false}, not an error; no repo is INVALID_ARGUMENT
    expect(await c.unary(c.pfs, 'DeleteRepo', {repo: repo('ghost')})).toEqual({deleted: false})
    await expect(c.unary(c.pfs, 'DeleteRepo', {})).rejects.toMatchObject({code: status.INVALID_ARGUMENT, details: 'no repo specified'})
    expect(await c.unary(c.pfs, 'DeleteRepo', {repo: repo('images')})).toEqual({deleted: true})
    expect(await names({})).toEqual(['p/labels'])
    // DeleteRepos: nothing named deletes nothing; projects; all
    expect(await c.unary(c.pfs, 'DeleteRepos', {})).toEqual({repos: []})
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('a')})
    const r1 = await c.unary(c.pfs, 'DeleteRepos', {projects: [{name: 'p'}]})
    expect(r1.repos.map((r) => r.name)).toEqual(['labels'])
    const r2 = await c.unary(c.pfs, 'DeleteRepos', {all: true})
    expect(r2.repos.map((r) => r.name)).toEqual(['a'])
    expect(await names({})).toEqual([])
  })
})

describe('pach serve: pfs_v2 commits and branches', () => {
  it('starts, finishes, inspects and lists commits (ids, parents, ancestry without a branch, NOT_FOUND forms)', async () => {
    const s = await serve()
    const c = s.client
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('images')})
    const first = await c.unary(c.pfs, 'StartCommit', {branch: branch('images', 'master'), description: 'one'})
    expect(first.id).toMatch(ID)
    expect(first).toMatchObject({repo: repo('images'), branch: branch('images', 'master')})
    const open = await c.unary(c.pfs, 'InspectCommit', {commit: {repo: repo('images'), id: first.id}, wait: 'STARTED'})
    expect(open.finished).toBeNull()
    await c.unary(c.pfs, 'FinishCommit', {commit: {branch: branch('images', 'master')}, description: 'one, done'})
    const second = await commit(c, 'images', 'two')
    const third = await commit(c, 'images', 'three')
    // the SDK's `images@master^1`: the id carries the ancestry, the branch is empty
    const parent = await c.unary(c.pfs, 'InspectCommit', {commit: {repo: repo('images'), id: 'master^1'}})
    expect(parent.commit!.id).toBe(second)
    expect(parent.parent_commit!.id).toBe(first.id)
    expect(parent.child_commits.map((k) => k.id)).toEqual([third])
    const f = await c.unary(c.pfs, 'InspectCommit', {commit: {repo: repo('images'), id: first.id}})
    expect(f).toMatchObject({description: 'one, done', origin: {kind: 'USER'}})
    expect(ms(f.finished)).toBeGreaterThanOrEqual(ms(f.started))
    // a commit started on an explicit parent; a commit finished with an error
    const forked = await c.unary(c.pfs, 'StartCommit', {branch: branch('images', 'fork'), parent: {repo: repo('images'), id: first.id}})
    await c.unary(c.pfs, 'FinishCommit', {commit: forked, error: 'bad input'})
    const fi = await c.unary(c.pfs, 'InspectCommit', {commit: forked})
    expect(fi).toMatchObject({error: 'bad input', parent_commit: {id: first.id}})
    // ListCommit: newest first; reverse; number; to/from (from excluded)
    const ids = async (req: Parameters<PachdClient['pfs']['ListCommit']>[0]) => (await all(c.stream(c.pfs, 'ListCommit', req))).map((x) => x.commit!.id)
    expect(await ids({repo: repo('images'), to: {branch: branch('images', 'master')}})).toEqual([third, second, first.id])
    expect(await ids({repo: repo('images'), to: {branch: branch('images', 'master')}, number: 2})).toEqual([third, second])
    expect(await ids({repo: repo('images'), to: {repo: repo('images'), id: third}, from: {repo: repo('images'), id: first.id}})).toEqual([third, second])
    expect(await ids({repo: repo('images')})).toEqual([forked.id, third, second, first.id])
    expect(await ids({repo: repo('images'), reverse: true, number: 2})).toEqual([first.id, second])
    expect(await ids({repo: repo('images'), started_time: fi.started})).toEqual([third, second, first.id])
    await expect(ids({repo: repo('images'), from: {repo: repo('images'), id: first.id}})).rejects.toMatchObject({code: status.INVALID_ARGUMENT})
    // NOT_FOUND in pachd's words
    const missing = '0123456789ab4def0123456789abcdef'
    await expect(c.unary(c.pfs, 'InspectCommit', {commit: {repo: repo('images'), id: missing}})).rejects.toMatchObject({code: status.NOT_FOUND, details: `commit default/images@${missing} not found`})
    await expect(c.unary(c.pfs, 'InspectCommit', {commit: {repo: repo('images'), id: 'master^9'}})).rejects.toMatchObject({code: status.NOT_FOUND, details: 'commit default/images@master^9 not found'})
    await expect(c.unary(c.pfs, 'InspectCommit', {commit: {branch: branch('images', 'nope')}})).rejects.toMatchObject({code: status.NOT_FOUND, details: 'branch "nope" not found in repo default/images'})
    await expect(c.unary(c.pfs, 'StartCommit', {branch: branch('ghost', 'master')})).rejects.toMatchObject({code: status.NOT_FOUND, details: 'repo default/ghost not found'})
    // a commit already finished: pachd's ErrCommitFinished has no status of its own (UNKNOWN)
    await expect(c.unary(c.pfs, 'FinishCommit', {commit: {repo: repo('images'), id: third}})).rejects.toMatchObject({code: status.UNKNOWN, details: `commit default/images@${third} has already finished`})
    // the CLI sees the API's commits
    expect((await s.project.json(['list', 'commit', 'images@master'])).map((x: {commit: {id: string}}) => x.commit.id)).toEqual([third, second, first.id])
    // ClearCommit: an open commit's writes are dropped (its parent's content stays); a finished one is refused
    await s.project.ok(['put', 'file', 'images@master:/keep'], {input: 'k'})
    const open2 = await c.unary(c.pfs, 'StartCommit', {branch: branch('images', 'master')})
    await s.project.ok(['put', 'file', `images@${open2.id}:/junk`], {input: 'j'})
    await c.unary(c.pfs, 'ClearCommit', {commit: open2})
    expect((await s.project.json(['list', 'file', `images@${open2.id}`])).map((f: {file: {path: string}}) => f.file.path)).toEqual(['/keep'])
    await expect(c.unary(c.pfs, 'ClearCommit', {commit: {repo: repo('images'), id: third}})).rejects.toMatchObject({code: status.UNKNOWN})
  })

  it('serves commit sets, squash/drop of sets and single commits, and FindCommits', async () => {
    const s = await serve()
    const c = s.client
    await c.unary(c.pfs, 'CreateProject', {project: {name: 'p'}})
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('a', 'p')})
    await s.project.ok(['put', 'file', 'a@master:/x', '--project', 'p'], {input: 'x1'})
    await s.project.ok(['put', 'file', 'a@master:/y', '--project', 'p'], {input: 'y1'})
    await s.project.ok(['put', 'file', 'a@master:/x', '--project', 'p'], {input: 'x2'})
    const list = async (req: Parameters<PachdClient['pfs']['ListCommit']>[0]) => (await all(c.stream(c.pfs, 'ListCommit', req))).map((x) => x.commit!.id)
    const [x2, y1, x1] = await list({repo: repo('a', 'p'), to: {branch: branch('a', 'master', 'p')}})
    // InspectCommitSet / ListCommitSet (per project)
    const set = await all(c.stream(c.pfs, 'InspectCommitSet', {commit_set: {id: y1}}))
    expect(set.map((x) => `${x.commit!.repo!.name}@${x.commit!.id}`)).toEqual([`a@${y1}`])
    const sets = await all(c.stream(c.pfs, 'ListCommitSet', {project: {name: 'p'}}))
    expect(sets.map((x) => x.commit_set!.id)).toEqual(expect.arrayContaining([x1!, y1!, x2!]))
    expect(await all(c.stream(c.pfs, 'ListCommitSet', {project: {name: 'default'}}))).toEqual([])
    await expect(all(c.stream(c.pfs, 'InspectCommitSet', {commit_set: {id: '0123456789ab4def0123456789abcdef'}}))).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: 'no commits found for commitset 0123456789ab4def0123456789abcdef',
    })
    // FindCommits: one found_commit per commit that changed /x, then where the search stopped
    const found = await all(c.stream(c.pfs, 'FindCommits', {start: {branch: branch('a', 'master', 'p')}, file_path: 'x'}))
    expect(found.map((r) => (r.found_commit ? `found ${r.found_commit.id} after ${r.commits_searched}` : `last ${r.last_searched_commit!.id} of ${r.commits_searched}`))).toEqual([
      `found ${x2} after 0`,
      `found ${x1} after 2`,
      `last ${x1} of 3`,
    ])
    const limited = await all(c.stream(c.pfs, 'FindCommits', {start: {branch: branch('a', 'master', 'p')}, file_path: '/x', limit: 1}))
    expect(limited.map((r) => r.found_commit?.id ?? `last ${r.last_searched_commit!.id}`)).toEqual([x2, `last ${x2}`])
    // squash a set into its child; drop the head's set; squash/drop one commit
    await c.unary(c.pfs, 'SquashCommitSet', {commit_set: {id: y1}})
    expect(await list({repo: repo('a', 'p'), to: {branch: branch('a', 'master', 'p')}})).toEqual([x2, x1])
    await expect(c.unary(c.pfs, 'DropCommitSet', {commit_set: {id: x1}})).rejects.toMatchObject({code: status.FAILED_PRECONDITION})
    await c.unary(c.pfs, 'DropCommitSet', {commit_set: {id: x2}})
    expect((await c.unary(c.pfs, 'InspectBranch', {branch: branch('a', 'master', 'p')})).head!.id).toBe(x1)
    await s.project.ok(['put', 'file', 'a@master:/x', '--project', 'p'], {input: 'x3'})
    await s.project.ok(['put', 'file', 'a@master:/x', '--project', 'p'], {input: 'x4'})
    await c.unary(c.pfs, 'SquashCommit', {commit: {repo: repo('a', 'p'), id: 'master^1'}, recursive: true})
    await c.unary(c.pfs, 'DropCommit', {commit: {branch: branch('a', 'master', 'p')}, recursive: true})
    expect(await list({repo: repo('a', 'p'), to: {branch: branch('a', 'master', 'p')}})).toHaveLength(1)
  })

  it('creates, inspects, lists and deletes branches (head, provenance, trigger)', async () => {
    const s = await serve()
    const c = s.client
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('in')})
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('out')})
    const one = await commit(c, 'in')
    const two = await commit(c, 'in')
    await c.unary(c.pfs, 'CreateBranch', {branch: branch('in', 'staging'), head: {repo: repo('in'), id: 'master^1'}})
    expect((await c.unary(c.pfs, 'InspectBranch', {branch: branch('in', 'staging')})).head!.id).toBe(one)
    await c.unary(c.pfs, 'CreateBranch', {branch: branch('out', 'master'), provenance: [branch('in', 'master')], new_commit_set: true})
    const out = await c.unary(c.pfs, 'InspectBranch', {branch: branch('out', 'master')})
    expect(out.direct_provenance).toEqual([branch('in', 'master')])
    expect((await c.unary(c.pfs, 'InspectBranch', {branch: branch('in', 'master')})).subvenance).toEqual([branch('out', 'master')])
    await c.unary(c.pfs, 'CreateBranch', {branch: branch('in', 'big'), trigger: {branch: 'master', commits: 2}})
    expect((await c.unary(c.pfs, 'InspectBranch', {branch: branch('in', 'big')})).trigger).toMatchObject({branch: 'master', commits: 2})
    const names = async (req: Parameters<PachdClient['pfs']['ListBranch']>[0]) => (await all(c.stream(c.pfs, 'ListBranch', req))).map((b) => `${b.branch!.repo!.name}@${b.branch!.name}`)
    const fwd = await names({repo: repo('in')})
    expect([...fwd].sort()).toEqual(['in@big', 'in@master', 'in@staging'])
    expect(await names({repo: repo('in'), reverse: true})).toEqual([...fwd].reverse())
    expect((await names({})).sort()).toEqual(['in@big', 'in@master', 'in@staging', 'out@master'])
    await expect(c.unary(c.pfs, 'DeleteBranch', {branch: branch('in', 'master')})).rejects.toMatchObject({code: status.FAILED_PRECONDITION})
    await c.unary(c.pfs, 'DeleteBranch', {branch: branch('in', 'staging')})
    await expect(c.unary(c.pfs, 'InspectBranch', {branch: branch('in', 'staging')})).rejects.toMatchObject({code: status.NOT_FOUND, details: 'branch "staging" not found in repo default/in'})
    expect(two).toMatch(ID)
  })
})

describe('pach serve: waits and subscriptions wake on a commit made by the CLI', () => {
  it('InspectCommit{wait: FINISHED} returns within 100 ms of the CLI finishing the commit (median of 10)', async () => {
    const s = await serve()
    const c = s.client
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('images')})
    const lat: number[] = []
    for (let i = 0; i < 10; i++) {
      const started = await c.unary(c.pfs, 'StartCommit', {branch: branch('images', 'master')})
      const waiting = c.unary(c.pfs, 'InspectCommit', {commit: started, wait: 'FINISHED'}).then((ci) => ({ci, at: Date.now()}))
      waiting.catch(() => {}) // observed below
      await s.project.ok(['finish', 'commit', `images@${started.id}`])
      const {ci, at} = await waiting
      expect(ci.finished).not.toBeNull()
      lat.push(at - ms(ci.finished))
    }
    console.log(`InspectCommit wait wake latency: median ${median(lat)} ms (${lat.join(', ')})`)
    expect(median(lat)).toBeLessThan(100)
    expect(Math.max(...lat)).toBeLessThan(1000)
  })

  it('SubscribeCommit (pachctl sends STARTED) gets each CLI commit within 100 ms, and ends cleanly when the client cancels', async () => {
    const s = await serve()
    const c = s.client
    await s.project.ok(['create', 'repo', 'images'])
    await s.project.ok(['put', 'file', 'images@master:/old'], {input: 'x'})
    const ac = new AbortController()
    const stream = c.stream(c.pfs, 'SubscribeCommit', {repo: repo('images'), branch: 'master', state: 'STARTED'}, {signal: ac.signal})
    const it = stream[Symbol.asyncIterator]()
    const existing = (await it.next()).value!
    expect(existing.origin!.kind).toBe('USER')
    const lat: number[] = []
    for (let i = 0; i < 10; i++) {
      const next = it.next().then((r) => ({ci: r.value!, at: Date.now()}))
      await s.project.ok(['put', 'file', `images@master:/f${i}`], {input: 'x'})
      const {ci, at} = await next
      lat.push(at - ms(ci.started))
    }
    console.log(`SubscribeCommit wake latency: median ${median(lat)} ms (${lat.join(', ')})`)
    expect(median(lat)).toBeLessThan(100)
    expect(Math.max(...lat)).toBeLessThan(1000)
    // the client cancels: the stream ends, the server carries on and logs no bug
    ac.abort()
    await expect(it.next()).rejects.toMatchObject({code: status.CANCELLED})
    expect((await c.unary(c.pfs, 'InspectRepo', {repo: repo('images')})).repo!.name).toBe('images')
    expect(s.stderr()).not.toMatch(/bug|internal error/i)
  })

  it('SubscribeCommit with FINISHED sends open commits when they finish; InspectCommitSet{wait} waits for every commit', async () => {
    const s = await serve()
    const c = s.client
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('a')})
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('b')})
    await c.unary(c.pfs, 'CreateBranch', {branch: branch('b', 'master'), provenance: [branch('a', 'master')]})
    const ac = new AbortController()
    const it = c.stream(c.pfs, 'SubscribeCommit', {repo: repo('a'), state: 'FINISHED', from: {branch: branch('a', 'master')}}, {signal: ac.signal})[Symbol.asyncIterator]()
    const open = await c.unary(c.pfs, 'StartCommit', {branch: branch('a', 'master')})
    const sub = it.next()
    // b's AUTO commit in the same set stays open: the set's wait waits for it too
    const setWait = all(c.stream(c.pfs, 'InspectCommitSet', {commit_set: {id: open.id}, wait: true}))
    let settled = false
    void setWait.then(() => (settled = true))
    await s.project.ok(['finish', 'commit', `a@${open.id}`])
    expect((await sub).value!.commit!.id).toBe(open.id)
    await new Promise((r) => setTimeout(r, 150))
    expect(settled).toBe(false)
    await s.project.ok(['finish', 'commit', `b@${open.id}`, '--force'])
    const set = await setWait
    expect(set.map((x) => x.commit!.repo!.name).sort()).toEqual(['a', 'b'])
    expect(set.every((x) => x.finished)).toBe(true)
    ac.abort()
    await expect(it.next()).rejects.toMatchObject({code: status.CANCELLED})
  })
})

describe('pach serve: transactions, DeleteAll and Fsck', () => {
  it('a request without the header applies at once while a CLI transaction is active; with a header, writes join that transaction', async () => {
    const s = await serve()
    const c = s.client
    await s.project.ok(['create', 'repo', 'images'])
    const cli = ((await s.project.json(['start', 'transaction'])) as {transaction: {id: string}}).transaction.id
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('now')})
    expect((await c.unary(c.pfs, 'InspectRepo', {repo: repo('now')})).repo!.name).toBe('now')
    await s.project.ok(['stop', 'transaction'])
    // a transaction started through the API: StartCommit answers its id, nothing exists until it finishes
    const t = await c.unary(c.transaction, 'StartTransaction', {})
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('labels')}, {transaction: t.id})
    const queued = await c.unary(c.pfs, 'StartCommit', {branch: branch('images', 'master')}, {transaction: t.id})
    expect(queued).toMatchObject({id: t.id, repo: repo('images'), branch: branch('images', 'master')})
    await c.unary(c.pfs, 'CreateBranch', {branch: branch('labels', 'dev')}, {transaction: t.id})
    // a second commit of this change in images (a new branch's empty head) is refused at once, not at finish
    await expect(c.unary(c.pfs, 'CreateBranch', {branch: branch('images', 'dev')}, {transaction: t.id})).rejects.toMatchObject({code: status.FAILED_PRECONDITION})
    await expect(c.unary(c.pfs, 'InspectCommit', {commit: queued})).rejects.toMatchObject({code: status.NOT_FOUND})
    await expect(c.unary(c.pfs, 'SquashCommitSet', {commit_set: {id: t.id}}, {transaction: t.id})).rejects.toMatchObject({code: status.INVALID_ARGUMENT})
    expect(await c.unary(c.pfs, 'DeleteRepo', {repo: repo('labels')})).toEqual({deleted: false})
    await c.unary(c.transaction, 'FinishTransaction', {transaction: t})
    const ci = await c.unary(c.pfs, 'InspectCommit', {commit: queued})
    expect(ci.commit!.id).toBe(t.id)
    expect(ci.finished).toBeNull()
    expect((await c.unary(c.pfs, 'InspectRepo', {repo: repo('labels')})).repo!.name).toBe('labels')
    expect((await c.unary(c.pfs, 'InspectBranch', {branch: branch('labels', 'dev')})).head!.id).toBe(t.id)
    // the CLI's own transaction was set aside, not touched: it is still there, empty
    expect((await s.project.json(['inspect', 'transaction', cli])).requests).toEqual([])
    await expect(c.unary(c.pfs, 'StartCommit', {branch: branch('images', 'master')}, {transaction: '0123456789ab4def0123456789abcdef'})).rejects.toMatchObject({code: status.NOT_FOUND})
  })

  it('DeleteAll empties the store back to a fresh default project; Fsck is an empty stream when healthy, one error per problem otherwise', async () => {
    const s: Served = await serve()
    const c = s.client
    await c.unary(c.pfs, 'CreateProject', {project: {name: 'p'}, description: 'gone soon'})
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('a', 'p')})
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('b')})
    await c.unary(c.pfs, 'CreateRepo', {repo: repo('c')})
    await c.unary(c.pfs, 'CreateBranch', {branch: branch('b', 'master'), provenance: [branch('c', 'master')]})
    await s.project.ok(['put', 'file', 'c@master:/f'], {input: 'data'})
    expect(await all(c.stream(c.pfs, 'Fsck', {}))).toEqual([])
    // a pack file lost: Fsck names the problem
    const packs = join(s.project.dir, '.pach', 'objects', 'packs')
    const sub = readdirSync(packs)[0]!
    rmSync(join(packs, sub), {recursive: true})
    const problems = await all(c.stream(c.pfs, 'Fsck', {}))
    expect(problems.length).toBeGreaterThan(0)
    expect(problems[0]!.error).toMatch(/pack .* is missing/)
    await c.unary(c.pfs, 'DeleteAll', {})
    expect((await all(c.stream(c.pfs, 'ListProject', {}))).map((p) => [p.project!.name, p.description])).toEqual([['default', '']])
    expect(await all(c.stream(c.pfs, 'ListRepo', {}))).toEqual([])
  })
})
