// `pach push` end to end: the built CLI pushing a local project to a second project served by
// `pach serve` (the remote end, reached over gRPC as any pachd), checked through the remote's
// own API and through the bytes on the wire (a counting proxy between the two).
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {BIN, tmpProject} from '../helpers/cli.js'
import {getRemote, listRemoteBranches} from '../../src/core/db/remotes.js'
import {parseCommit} from '../../src/core/pfs/refs.js'
import {serve} from '../helpers/serve.js'
import {wireCounter} from '../helpers/wire-counter.js'
import {repo, remoteCommits, remoteFiles, localFiles, localProject, put, history} from './push-fixture.js'

describe('pach push', () => {
  it('sends a 3-commit history across 2 repos (one commit set spans both), byte for byte; --dry-run and a second push send nothing', {timeout: 120_000}, async () => {
    const s = await serve()
    const {p, pach} = await localProject()
    await history(pach)
    const wire = await wireCounter(s.address)

    const dry = await p.json(['push', wire.url, '--all', '--dry-run'])
    expect(dry).toMatchObject({dry_run: true, commits: 4, files: 6, bytes_sent: 6 + 3000 + 6 + 5000})
    const both = dry.sets[1].local_id
    expect(dry.sets).toEqual([
      {local_id: expect.stringMatching(/^[0-9a-f]{32}$/), commits: [{repo: 'images', branch: 'master', description: '', files: 1, bytes: 6}]},
      {local_id: both, commits: [{repo: 'images', branch: 'master', description: 'both', files: 1, bytes: 3000}, {repo: 'labels', branch: 'master', description: 'both', files: 2, bytes: 6}]},
      {local_id: expect.stringMatching(/^[0-9a-f]{32}$/), commits: [{repo: 'images', branch: 'master', description: 'third', files: 2, bytes: 5000}]},
    ])
    const plan = await p.ok(['push', wire.url, '--all', '--dry-run'])
    expect(plan).toContain(`  ${both.slice(0, 12)} labels@master (2 files, 6B: both)\n`)
    expect(plan).toMatch(/would push 4 commits, 6 files, 7\.824KiB to grpc:\/\/127\.0\.0\.1:\d+ \(nothing was sent\)\n$/)
    expect((await s.project.json(['list', 'repo'])) as unknown[]).toEqual([]) // nothing moved

    const r = await p.json(['push', wire.url, '--all'])
    expect(Object.keys(r).sort()).toEqual(['branches', 'bytes_sent', 'bytes_skipped', 'commits', 'deployment_id', 'dry_run', 'files', 'metadata', 'remote', 'resumed', 'sets'])
    expect(r).toMatchObject({remote: wire.url, dry_run: false, commits: 4, files: 6, bytes_sent: 6 + 3000 + 6 + 5000, resumed: 0, metadata: true})
    expect(r.deployment_id).toMatch(/^[0-9a-f]{32}$/)
    expect(r.branches).toEqual([
      {repo: 'images', branch: 'master', commits: 3, status: 'push'},
      {repo: 'labels', branch: 'master', commits: 1, status: 'push'},
    ])

    const images = await remoteCommits(s, 'images')
    const labels = await remoteCommits(s, 'labels')
    expect(images.map((c) => c.description)).toEqual(['third', 'both', ''])
    expect(images.every((c) => c.finished)).toBe(true)
    expect(labels.map((c) => c.description)).toEqual(['both'])
    expect(labels[0]!.id).toBe(images[1]!.id) // one remote commit set for the local one
    expect(images[0]!.parent).toBe(images[1]!.id)
    // each remote commit names the local commit it came from (pachd 2.10+ commit metadata)
    const stamped = await s.client.unary(s.client.pfs, 'InspectCommit', {commit: {repo: repo('labels'), id: labels[0]!.id, branch: null}, wait: 'COMMIT_STATE_UNKNOWN'})
    expect(stamped.metadata).toEqual({'pach.local_commit_id': dry.sets[1].local_id})
    expect(getRemote(pach.db, r.deployment_id)).toMatchObject({name: wire.url, address: wire.url, last_pull: null})
    expect(getRemote(pach.db, r.deployment_id)!.last_push).toMatch(/^\d{4}-/)
    expect(listRemoteBranches(pach.db, r.deployment_id).map((b) => `${b.remote_repo}@${b.remote_branch}`).sort()).toEqual(['images@master', 'labels@master'])
    expect(await remoteFiles(s, 'images')).toEqual(localFiles(pach, 'images'))
    expect(await remoteFiles(s, 'labels')).toEqual(localFiles(pach, 'labels'))
    expect(Object.keys(await remoteFiles(s, 'images'))).toEqual(['/dir/b.bin'])

    // unchanged: no commit, no byte of file data; the conversation itself stays small
    wire.reset()
    const again = await p.json(['push', wire.url, '--all'])
    expect(again).toMatchObject({commits: 0, files: 0, bytes_sent: 0})
    expect(again.branches.map((b: {status: string}) => b.status)).toEqual(['up-to-date', 'up-to-date'])
    expect(wire.up()).toBeLessThan(1024 * 1024)
    expect(wire.up()).toBeGreaterThan(0)
    expect((await remoteCommits(s, 'images')).map((c) => c.id)).toEqual(images.map((c) => c.id))

    // one more local commit: only its change goes
    await put(pach, 'images@master', {'/c.txt': 'gamma\n'})
    wire.reset()
    const inc = await p.json(['push', wire.url, 'images@master'])
    expect(inc).toMatchObject({commits: 1, files: 1, bytes_sent: 6, bytes_skipped: 5000})
    expect(wire.up()).toBeLessThan(64 * 1024)
    expect(Object.keys(await remoteFiles(s, 'images'))).toEqual(['/c.txt', '/dir/b.bin'])

    // a branch at a commit the remote already has: the remote branch is pointed there, nothing is sent
    pach.branches.create('default', {name: 'images', type: 'user'}, 'dev', {head: 'images@master^'})
    const moved = await p.json(['push', s.url, 'images@dev'])
    expect(moved).toMatchObject({commits: 0, bytes_sent: 0, branches: [{repo: 'images', branch: 'dev', commits: 0, status: 'move'}]})
    expect((await remoteCommits(s, 'images', 'dev'))[0]!.id).toBe(images[0]!.id)

    // at a terminal, progress is drawn on stderr (and cleared): bytes, files, commits
    await put(pach, 'images@master', {'/d.txt': 'delta\n'})
    const tty = await execa('script', ['-qec', `node ${BIN} push ${s.url} images 2>&1 >/dev/null`, '/dev/null'], {cwd: p.dir, env: {PACH_DETACH: ''}, reject: false})
    expect(tty.exitCode).toBe(0)
    expect(tty.stdout).toContain('push [')
    expect(tty.stdout).toMatch(/0B\/6B, 0\/1 files, 0\/1 commits/)
    expect(tty.stdout).not.toContain('pushed 1 commit') // the summary is stdout's

    // an open head stays local, said on stderr
    pach.commits.start('default', parseCommit('labels@master'), {description: 'open'})
    const open = await p.run(['push', s.url, 'labels', '--json'])
    expect(open.exitCode).toBe(0)
    expect(open.json()).toMatchObject({commits: 0, branches: [{repo: 'labels', branch: 'master', status: 'up-to-date'}]})
    expect(open.stderr).toBe('warning: labels@master: its head commit is open and stays local (finish it to push it)\n')
    pach.commits.finish('default', parseCommit('labels@master'), {})

    // a pachctl context with a project: the repos go there (the project is created)
    const config = join(p.dir, 'pachctl.json')
    writeFileSync(config, JSON.stringify({v2: {active_context: 'team', contexts: {team: {pachd_address: s.url, project: 'team'}}}}))
    const ctx = await p.run(['push', 'team', 'labels', '--json'], {env: {PACH_CONFIG: config}})
    expect(ctx.exitCode).toBe(0)
    expect(ctx.json()).toMatchObject({remote: 'team', commits: 2, branches: [{repo: 'labels', branch: 'master', status: 'push'}]})
    const teamCommit = {repo: {name: 'labels', type: 'user', project: {name: 'team'}}, id: '', branch: {repo: {name: 'labels', type: 'user', project: {name: 'team'}}, name: 'master'}}
    expect((await s.client.unary(s.client.pfs, 'InspectCommit', {commit: teamCommit, wait: 'COMMIT_STATE_UNKNOWN'})).description).toBe('open')

    await p.ok(['fsck'])
    await s.project.ok(['fsck'])
  })

  it('names repos or --all: neither is a usage error with a hint', {timeout: 30_000}, async () => {
    const p = await tmpProject()
    const r = await p.run(['push', 'grpc://127.0.0.1:1'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/^pach: name the repos to push \(REPO or REPO@BRANCH\), or pass --all \(e\.g\. `pach push grpc:\/\/127\.0\.0\.1:1 images@master`\)\n$/)
  })
})
