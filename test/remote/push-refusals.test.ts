// `pach push` refusals end to end (the built CLI against a second project under `pach serve`):
// a remote branch someone else moved (non-fast-forward, then --force) and a computed remote branch.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {serve} from '../helpers/serve.js'
import {remoteCommits, remoteFiles, localFiles, localProject, put} from './push-fixture.js'

describe('pach push refuses', () => {
  it('refuses a non-fast-forward push in one line (exit 5), and --force replaces the remote branch', {timeout: 90_000}, async () => {
    const s = await serve()
    const {p, pach} = await localProject()
    pach.repos.create('default', 'images')
    await put(pach, 'images@master', {'/a.txt': 'a\n'})
    expect(await p.ok(['push', s.url, 'images'])).toBe(`images@master: 1 commit sent\npushed 1 commit, 1 file, 2B to ${s.url} (0B already there)\n`)
    await s.project.ok(['put', 'file', 'images@master:/theirs.txt', '-f', '-'], {input: 'someone else\n'})
    await put(pach, 'images@master', {'/mine.txt': 'mine\n'})

    const refused = await p.run(['push', s.url, 'images@master'])
    expect(refused.exitCode).toBe(5)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stderr).toMatch(/^pach: images@master: the remote branch has commits this project does not have .*nothing was pushed \(pull them first, or push with --force/)
    const asJson = await p.run(['push', s.url, 'images@master', '--json'])
    expect(asJson.json().error.code).toBe('NON_FAST_FORWARD')
    expect(Object.keys(await remoteFiles(s, 'images')).sort()).toEqual(['/a.txt', '/theirs.txt'])

    const forced = await p.json(['push', s.url, 'images@master', '--force'])
    expect(forced).toMatchObject({commits: 1, files: 1})
    expect(await remoteFiles(s, 'images')).toEqual(localFiles(pach, 'images'))
    const commits = await remoteCommits(s, 'images')
    expect(commits).toHaveLength(2) // the foreign commit is no longer on the branch
    await s.project.ok(['fsck'])

    // another project's unrelated history onto that branch: its root commit empties what it would inherit
    const other = await localProject()
    other.pach.repos.create('default', 'images')
    await put(other.pach, 'images@master', {'/other.txt': 'other\n'})
    expect((await other.p.run(['push', s.url, 'images'])).exitCode).toBe(5)
    await other.p.ok(['push', s.url, 'images', '--force'])
    expect(await remoteFiles(s, 'images')).toEqual(localFiles(other.pach, 'images'))
  })

  it('refuses to push into a remote output branch', {timeout: 60_000}, async () => {
    const s = await serve()
    await s.project.ok(['create', 'repo', 'src'])
    await s.project.ok(['create', 'repo', 'images'])
    await s.project.ok(['create', 'branch', 'images@master', '--provenance', 'src@master'])
    const {p, pach} = await localProject()
    pach.repos.create('default', 'images')
    await put(pach, 'images@master', {'/a.txt': 'a\n'})
    const r = await p.run(['push', s.url, 'images@master', '--force'])
    expect(r.exitCode).toBe(5)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain('default/images@master on the remote is computed (it has provenance)')
    const again = await p.run(['push', s.url, 'images', '--json'])
    expect(again.json().error.code).toBe('OUTPUT_BRANCH')

    // a pipeline's output repo on the remote
    writeFileSync(join(s.project.dir, 'edges.json'), JSON.stringify({pipeline: {name: 'edges'}, input: {pfs: {repo: 'src', glob: '/*'}}, transform: {cmd: ['true']}}))
    await s.project.ok(['create', 'pipeline', '-f', 'edges.json'])
    pach.repos.create('default', 'edges')
    await put(pach, 'edges@master', {'/e.txt': 'e\n'})
    const out = await p.run(['push', s.url, 'edges'])
    expect(out.exitCode).toBe(5)
    expect(out.stderr).toMatch(/^pach: default\/edges@master on the remote is a pipeline's output; commits cannot be pushed onto it; nothing was pushed \(/)
  })
})

describe('pach push --outputs', () => {
  it('leaves local outputs out by default and sends them as plain data with --outputs; not with --pipelines', {timeout: 90_000}, async () => {
    const s = await serve()
    const {p, pach} = await localProject()
    pach.repos.create('default', 'images')
    await put(pach, 'images@master', {'/a.txt': 'alpha\n'})
    writeFileSync(join(p.dir, 'upper.json'), JSON.stringify({pipeline: {name: 'upper'}, input: {pfs: {repo: 'images', glob: '/*'}}, transform: {cmd: ['sh', '-c', 'for f in /pfs/images/*; do tr a-z A-Z < $f > /pfs/out/$(basename $f); done']}}))
    await p.ok(['create', 'pipeline', '-f', 'upper.json'], {env: {PACH_RUNNER: 'local'}})
    await p.ok(['wait', 'commit', 'upper@master'])

    const plain = await p.json<{commits: number; branches: {repo: string; status: string}[]}>(['push', s.url, '--all'])
    expect(plain.branches.find((b) => b.repo === 'upper')?.status).toBe('skipped')
    const named = await p.run(['push', s.url, 'upper@master', '--json'])
    expect(named.json().error.code).toBe('REPO_OWNED_BY_PIPELINE')

    const both = await p.run(['push', s.url, '--all', '--outputs', '--pipelines'])
    expect(both.exitCode).toBe(2)

    const out = await p.json<{commits: number}>(['push', s.url, '--all', '--outputs'])
    expect(out.commits).toBeGreaterThan(0)
    expect(await remoteFiles(s, 'upper')).toEqual(localFiles(pach, 'upper'))
    await s.stop()
  })
})
