/**
 * Core integration: the purge planner and applier over a small project built with the library
 * (core/maintenance/purge.ts): the scope rules (a branch's first-parent history; a commit only
 * other branches reach refuses the purge when it keeps the content, unless --all-branches) and
 * the invariant that a purge changes a commit row's tree and size and nothing else; caches
 * keyed by the purged content (S3 ETags, pulls' remote hashes) are dropped with it.
 */
import {describe, expect, it} from 'vitest'
import {planPurge, purge} from '../../src/core/maintenance/purge.js'
import {getRepo, listCommitsByRepo} from '../../src/core/db/pfs-rows.js'
import {parseCommit} from '../../src/core/pfs/refs.js'
import {getRemoteContent, putRemoteContent, upsertRemote} from '../../src/core/db/remotes.js'
import {getS3Etags, putS3Etag} from '../../src/core/db/s3-etags.js'
import {tempPach, text} from '../helpers/project.js'

describe('planPurge and purge over a project', () => {
  it('scope: the branch history, other branches refused or included; a commit row changes in tree and size only', async () => {
    const {pach} = tempPach('pach-purge-')
    pach.repos.create('default', 'r')
    const put = (ref: string, path: string, s: string) => pach.files.put('default', parseCommit(ref), [{path, open: text(s)}])
    await put('r@master', '/secret', 'SECRET-1')
    await put('r@master', '/keep', 'keep')
    await put('r@master', '/secret', 'SECRET-2')
    pach.branches.create('default', {name: 'r', type: 'user'}, 'side', {head: 'r@master'})
    await put('r@side', '/extra', 'extra')
    const repo = getRepo(pach.ctx.db, 'default', 'r', 'user')!
    const before = listCommitsByRepo(pach.ctx.db, repo.id)

    // side's own commit keeps SECRET-2: without --all-branches the bytes could not go
    expect(() => planPurge(pach.ctx, {project: 'default', repo: 'r', branch: 'master', pattern: '/secret'})).toThrow(expect.objectContaining({code: 'PURGE_INCOMPLETE'}))
    // from side: its history includes master's commits
    const plan = planPurge(pach.ctx, {project: 'default', repo: 'r', branch: 'side', pattern: '/secret'})
    expect(plan.commits.map((c) => c.kind)).toEqual(['input', 'input', 'input', 'input'])
    expect(plan.files.map((f) => f.size).sort()).toEqual([8, 8])
    expect(plan.datums).toEqual([])
    const all = planPurge(pach.ctx, {project: 'default', repo: 'r', branch: 'master', pattern: '/secret', allBranches: true})
    expect(all.commits.map((c) => c.commit).sort()).toEqual(plan.commits.map((c) => c.commit).sort())
    expect(() => planPurge(pach.ctx, {project: 'default', repo: 'r', branch: 'master', pattern: '/nothing'})).toThrow(expect.objectContaining({code: 'FILE_NOT_FOUND'}))

    // the dry run changed nothing
    expect(listCommitsByRepo(pach.ctx.db, repo.id)).toEqual(before)
    // caches keyed by the purged content go with it: an S3 ETag, a pull's remote hash
    const db = pach.ctx.db
    const secret = plan.files[0]!.hash
    putS3Etag(db, Buffer.from(secret, 'hex'), 'md5-of-secret')
    putS3Etag(db, Buffer.from('00'.repeat(32), 'hex'), 'other')
    upsertRemote(db, {deployment_id: 'dep', name: 'c', address: 'grpc://x:1'})
    putRemoteContent(db, 'dep', Buffer.from('abcd', 'hex'), 8, JSON.stringify({h: secret, s: 8, c: [], z: []}))
    const r = await purge(pach.ctx, {project: 'default', repo: 'r', branch: 'side', pattern: '/secret', description: 'why'})
    expect(r.audit).toMatchObject({repo: 'r', branch: 'side', pattern: '/secret', description: 'why', commits: 4})
    const after = listCommitsByRepo(pach.ctx.db, repo.id)
    expect(after.map(({tree: _t, size: _s, ...rest}) => rest)).toEqual(before.map(({tree: _t, size: _s, ...rest}) => rest))
    const touched = new Set(plan.commits.map((c) => c.commit))
    for (const [i, c] of after.entries()) {
      if (!touched.has(c.id)) expect(c.tree).toEqual(before[i]!.tree)
      expect(pach.ctx.trees.lookup(c.tree, '/secret')).toBeUndefined()
      expect(c.size).toBe(c.tree ? pach.ctx.trees.summary(c.tree).size : 0)
    }
    expect(getS3Etags(db, [Buffer.from(secret, 'hex'), Buffer.from('00'.repeat(32), 'hex')]).map(([, e]) => e)).toEqual(['other'])
    expect(getRemoteContent(db, 'dep', Buffer.from('abcd', 'hex'), 8)).toBeUndefined()
    expect(pach.fsck({readData: true}).problems).toEqual([])
    expect(pach.purgeLog()).toMatchObject({sweep_pending: false, entries: [{description: 'why'}]})
  })
})
