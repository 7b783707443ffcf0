/**
 * `pach pull` as a user runs it: the remote is a real `pach serve` on a second temp project
 * (server-minted ids), the local side the built CLI in its own temp project. Here: a history
 * arrives with the remote's ids, descriptions, parents and file hashes, and the rows a later
 * `pach push` reads (remote_commits, remote_branches, remotes.last_pull); a second pull moves
 * only what changed (bytes counted on the wire by a TCP proxy), nothing when nothing changed,
 * and no file whose bytes are already here; --depth and --since. pull-edges.test.ts: data
 * written by the Python SDK, and the refusals.
 */
import {describe, expect, it} from 'vitest'
import {tmpProject} from '../helpers/cli.js'
import {serve} from '../helpers/serve.js'
import {wireCounter} from '../helpers/wire-counter.js'
import {commit, createRepo, localFiles, localHistory, MiB, pull, remoteFiles, remoteHistory, remoteRows} from './pull-util.js'

describe('pach pull', () => {
  it('brings a 3-commit history with its ids, descriptions, parents and file hashes, and marks the branch as tracking', {timeout: 60_000}, async () => {
    const s = await serve()
    const c = s.client
    await createRepo(c, 'images', 'raw camera images')
    await commit(c, 'images', 'first', {'/a.txt': 'alpha', '/dir/b.txt': 'bravo'})
    await commit(c, 'images', 'second', {'/a.txt': 'alpha 2', '/dir/c.bin': Buffer.alloc(300_000, 7)})
    await commit(c, 'images', 'third', {'/dir/b.txt': null, '/e.txt': ''})
    const history = await remoteHistory(c, 'images')
    expect(history).toHaveLength(3)

    const local = await tmpProject()
    const r = await pull(local, s.url, 'images')
    const deployment = (await c.unary(c.admin, 'InspectCluster', {})).deployment_id
    expect(r).toMatchObject({remote: s.url, deployment_id: deployment, repo: 'images', branch: 'master', commits: 3, bytes_skipped: 0, head: history[0]!.id})
    expect(r.bytes_received).toBe(5 + 5 + 7 + 300_000)
    expect(localHistory(local, 'images')).toEqual(history)
    for (const h of history) expect(localFiles(local, 'images', h.id)).toEqual(await remoteFiles(c, 'images', h.id))
    expect(localFiles(local, 'images', history[0]!.id)).toHaveProperty(['/e.txt'])
    const repos = await local.json<{repo: {name: string}; description: string}[]>(['list', 'repo'])
    expect(repos).toEqual([expect.objectContaining({repo: expect.objectContaining({name: 'images'}), description: 'raw camera images'})])
    expect(await local.ok(['get', 'file', 'images@master:/a.txt'])).toBe('alpha 2')

    // what a later push reads: the commits are on the remote under the same ids, master tracks it
    const rows = remoteRows(local, 'images')
    expect(rows.remotes).toEqual([expect.objectContaining({deployment_id: deployment, address: s.url, last_pull: expect.any(String)})])
    expect(rows.commits.map((x) => [x.local_commit, x.remote_commit, x.state, x.remote_repo]).sort()).toEqual(history.map((h) => [h.id, h.id, 'finished', 'images']).sort())
    expect(rows.branches).toEqual([expect.objectContaining({branch: 'master', deployment_id: deployment, remote_project: 'default', remote_repo: 'images', remote_branch: 'master'})])
    await local.ok(['fsck'])
  })

  it('pulls only what changed, nothing from an unchanged remote, and no file whose bytes are here (bytes counted on the wire)', {timeout: 60_000}, async () => {
    const s = await serve()
    const c = s.client
    await createRepo(c, 'data')
    await commit(c, 'data', 'big', {'/big.bin': Buffer.alloc(4 * MiB, 1), '/small.txt': 'one'})
    const wire = await wireCounter(s.address)
    const local = await tmpProject()
    const first = await pull(local, wire.url, 'data')
    expect(first.commits).toBe(1)
    expect(wire.down()).toBeGreaterThan(4 * MiB)

    const next = await commit(c, 'data', 'small change', {'/small.txt': 'two'})
    wire.reset()
    const second = await pull(local, wire.url, 'data')
    expect(second).toMatchObject({commits: 1, files: 1, bytes_received: 3, head: next})
    expect(wire.down()).toBeLessThan(MiB)
    expect(await local.ok(['get', 'file', 'data@master:/small.txt'])).toBe('two')

    wire.reset()
    const third = await pull(local, wire.url, 'data')
    expect(third).toMatchObject({commits: 0, files: 0, bytes_received: 0, head: next})
    expect(wire.down() + wire.up()).toBeLessThan(MiB)
    expect(wire.down()).toBeLessThan(64 * 1024)

    // a file whose bytes are already here is not read: in another repo, and under a new path
    await createRepo(c, 'copy')
    const copied = await commit(c, 'copy', 'copy', {'/same.bin': Buffer.alloc(4 * MiB, 1), '/new.txt': 'new'})
    wire.reset()
    expect(await pull(local, wire.url, 'copy')).toMatchObject({commits: 1, files: 2, bytes_received: 3, bytes_skipped: 4 * MiB, head: copied})
    expect(wire.down()).toBeLessThan(MiB)
    expect(localFiles(local, 'copy', copied)).toEqual(await remoteFiles(c, 'copy', copied))
    const moved = await commit(c, 'data', 'renamed', {'/big.bin': null, '/models/v1.bin': Buffer.alloc(4 * MiB, 1)})
    expect(await pull(local, wire.url, 'data')).toMatchObject({commits: 1, head: moved, bytes_received: 0, bytes_skipped: 4 * MiB})
    expect((await local.ok(['get', 'file', 'data@master:/models/v1.bin'])).length).toBe(4 * MiB)
    await local.ok(['fsck'])
  })

  it('--depth 1 takes only the head, whole and without a parent, and the next pull continues from it; --since ID starts at that commit', {timeout: 60_000}, async () => {
    const s = await serve()
    const c = s.client
    await createRepo(c, 'logs')
    await commit(c, 'logs', 'one', {'/1.txt': 'a'})
    await commit(c, 'logs', 'two', {'/2.txt': 'b'})
    const three = await commit(c, 'logs', 'three', {'/3.txt': 'c', '/1.txt': null})
    const local = await tmpProject()
    const r = await pull(local, s.url, 'logs', '--depth', '1')
    expect(r).toMatchObject({commits: 1, head: three, files: 2})
    expect(localHistory(local, 'logs')).toEqual([{id: three, parent: null, description: 'three'}])
    expect(localFiles(local, 'logs', three)).toEqual(await remoteFiles(c, 'logs', three))

    const four = await commit(c, 'logs', 'four', {'/4.txt': 'd'})
    expect(await pull(local, s.url, 'logs', '--depth', '1')).toMatchObject({commits: 1, head: four, files: 1, bytes_received: 1})
    expect(localHistory(local, 'logs')).toEqual([
      {id: four, parent: three, description: 'four'},
      {id: three, parent: null, description: 'three'},
    ])
    expect(localFiles(local, 'logs', four)).toEqual(await remoteFiles(c, 'logs', four))

    // --since ID: from that commit on, it included (an id not on the remote is refused first)
    await createRepo(c, 'hist')
    await commit(c, 'hist', 'one', {'/1.txt': 'a'})
    const two = await commit(c, 'hist', 'two', {'/2.txt': 'b'})
    const last = await commit(c, 'hist', 'three', {'/3.txt': 'c'})
    const bad = await local.run(['pull', s.url, 'hist', '--since', '0123456789abcdef0123456789abcdef', '--json'])
    expect([bad.exitCode, bad.json().error.code]).toEqual([4, 'COMMIT_NOT_FOUND'])
    expect(await pull(local, s.url, 'hist', '--since', two)).toMatchObject({commits: 2, head: last})
    expect(localHistory(local, 'hist')).toEqual([
      {id: last, parent: two, description: 'three'},
      {id: two, parent: null, description: 'two'},
    ])
    expect(Object.keys(localFiles(local, 'hist', two))).toEqual(['/1.txt', '/2.txt'])
  })

})
