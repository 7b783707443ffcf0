/**
 * E2E: `pach purge file` scope and refusals (issue 16 part 1): without --all-branches a commit
 * outside the branch's history that keeps the content refuses the purge (PURGE_INCOMPLETE);
 * a glob matching a directory purges it whole; an open commit, a pipeline's output repo and
 * an unfinished job are refused in one line with the right exit code, changing nothing.
 */
import {describe, expect, it, vi} from 'vitest'
import {tmpProject} from '../helpers/cli.js'
import {expectJsonError, expectUserError} from './_util.js'
import {filesHolding, local, pipeline} from './purge-util.js'

vi.setConfig({testTimeout: 240_000})

describe('purge file: scope and refusals', () => {
  it('branch scope, globs and refusals', async (ctx) => {
    const p = await tmpProject(true, ctx)
    await p.ok(['create', 'repo', 'd'])
    await p.ok(['put', 'file', 'd@master:/tmp/a.log', '-f', '-'], {input: 'SCOPE-MARKER-A\n'})
    await p.ok(['put', 'file', 'd@master:/keep.txt', '-f', '-'], {input: 'keep\n'})
    await p.ok(['create', 'branch', 'd@side', '--head', 'master'])
    await p.ok(['put', 'file', 'd@side:/tmp/b.log', '-f', '-'], {input: 'SCOPE-MARKER-B\n'})

    // bad input: one line each
    expectUserError(await p.run(['purge', 'file', 'd@master']), 2, /names no path/)
    expectUserError(await p.run(['purge', 'file', 'd@master:/[']), 2, /invalid glob/)
    expectUserError(await p.run(['purge', 'file', 'nope@master:/x']), 4, /repo nope not found/)
    expectUserError(await p.run(['purge', 'file', 'd@nope:/x']), 4, /branch nope not found/)
    // side's commit (outside master's history) keeps a.log's bytes: refused without --all-branches
    expectJsonError(await p.run(['purge', 'file', 'd@master:/tmp/**', '--json']), 5, 'PURGE_INCOMPLETE')
    // an open commit among the rewritten ones
    await p.ok(['start', 'commit', 'd@side'])
    expectJsonError(await p.run(['purge', 'file', 'd@side:/tmp', '--json']), 5, 'COMMIT_NOT_FINISHED')
    await p.ok(['finish', 'commit', 'd@side'])

    // a directory matched by a glob goes whole, from every branch
    const r = await p.json(['purge', 'file', 'd@master:/t*', '--all-branches', '-m', 'logs'])
    expect(r.plan.files.map((f: any) => f.path).sort()).toEqual(['/tmp/a.log', '/tmp/b.log'])
    for (const b of ['master', 'side']) expect((await p.json(['list', 'file', `d@${b}`])).map((f: any) => f.file.path)).toEqual(['/keep.txt'])
    expect(filesHolding(p.dir, 'SCOPE-MARKER')).toEqual([])
    expect((await p.json(['fsck'])).ok).toBe(true)
    expect((await p.json(['purge', 'log'])).entries[0]).toMatchObject({all_branches: true, pattern: '/t*', description: 'logs'})

    // a pipeline output repo is refused (purge the input); an unfinished job is JOB_RUNNING
    await p.ok(['put', 'file', 'd@master:/x.txt', '-f', '-'], {input: 'x\n'})
    await pipeline(p, {pipeline: {name: 'cp'}, input: {pfs: {repo: 'd', glob: '/*'}}, transform: {cmd: ['sh', '-c', 'cp /pfs/d/* /pfs/out/']}})
    expectJsonError(await p.run(['purge', 'file', 'cp@master:/x.txt', '--json']), 5, 'OUTPUT_BRANCH')
    await p.ok(['put', 'file', 'd@master:/y.txt', '-f', '-'], {input: 'y\n', env: local})
    await p.ok(['put', 'file', 'd@master:/z.txt', '-f', '-'], {input: 'z\n', env: {PACH_DETACH: '1'}})
    const line = expectUserError(await p.run(['purge', 'file', 'd@master:/x.txt']), 5, /job cp@[0-9a-f]{32} is not finished/)
    expect(line).toContain('wait for it')
    await p.ok(['run'], {env: local})
    await p.ok(['purge', 'file', 'd@master:/x.txt'], {env: local})
    expect((await p.json(['list', 'file', 'cp@master'])).map((f: any) => f.file.path)).toEqual(['/keep.txt', '/y.txt', '/z.txt'])
    // a job that has not run yet but reads a commit the purge rewrites: refused too
    await p.ok(['create', 'pipeline', '-f', '-'], {input: JSON.stringify({pipeline: {name: 'late'}, input: {pfs: {repo: 'd', glob: '/'}}, transform: {cmd: ['true']}}), env: {PACH_DETACH: '1'}})
    const refused = await p.run(['purge', 'file', 'd@master:/keep.txt', '--all-branches'])
    expectUserError(refused, 5, /job late@[0-9a-f]{32} is not finished/)
    expect(await p.ok(['get', 'file', 'd@master:/keep.txt'])).toBe('keep\n')
  })
})
