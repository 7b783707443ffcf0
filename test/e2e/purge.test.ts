/**
 * E2E: `pach purge file` (issue 16 part 1), the moderation case, with the built CLI and the
 * local runner. A file that appears, changes and stays over a 3-commit history, pipelines
 * downstream that copy it (/*), concatenate it (/) and transform the copies (a second level):
 * after the purge no commit holds it, its ids and history are unchanged, the derived outputs
 * are gone from every output commit and every one of them is recomputed in place, fsck is clean, and no byte of
 * it is left in any file under .pach (content shared with another repo stays). --dry-run
 * changes nothing. Scope, globs and refusals: purge-refusals.test.ts.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it, vi} from 'vitest'
import {tmpProject, type Project} from '../helpers/cli.js'
import {expectJsonError, expectUserError, pseudoRandom} from './_util.js'
import {filesHolding, local, pipeline} from './purge-util.js'

vi.setConfig({testTimeout: 240_000})

/** What must not change in a commit: everything list commit shows but sizes and subvenance. */
const history = async (p: Project, repo: string) =>
  ((await p.json(['list', 'commit', repo])) as any[]).map((c) => ({id: c.commit.id, parent: c.parent_commit?.id ?? null, description: c.description, origin: c.origin.kind, started: c.started, finished: c.finished, branch: c.commit.branch?.name}))

describe('purge file', () => {
  it('removes a file from a 3-commit history, its derived outputs downstream and its bytes; --dry-run changes nothing', async (ctx) => {
    const p = await tmpProject(true, ctx)
    await p.ok(['create', 'repo', 'imgs'])
    await p.ok(['create', 'repo', 'other'])
    await pipeline(p, {pipeline: {name: 'copy'}, input: {pfs: {repo: 'imgs', glob: '/*'}}, transform: {cmd: ['sh', '-c', 'cp /pfs/imgs/* /pfs/out/']}})
    await pipeline(p, {pipeline: {name: 'total'}, input: {pfs: {repo: 'imgs', glob: '/'}}, transform: {cmd: ['sh', '-c', 'cat /pfs/imgs/* > /pfs/out/all']}})
    await pipeline(p, {pipeline: {name: 'upper'}, input: {pfs: {repo: 'copy', glob: '/*'}}, transform: {cmd: ['sh', '-c', 'for f in /pfs/copy/*; do tr a-z A-Z < $f > /pfs/out/$(basename $f).up; done']}})

    // v1 is shared with another repo (its bytes must stay); v2 is only in imgs
    const v1 = `PURGE-MARKER-ONE ${pseudoRandom(3000, 7).toString('base64')}\n`
    const v2 = `PURGE-MARKER-TWO ${pseudoRandom(3000, 8).toString('base64')}\n`
    for (const [n, s] of [['v1', v1], ['v2', v2], ['ok', 'fine\n'], ['more', 'more\n']] as const) writeFileSync(join(p.dir, n), s)
    await p.ok(['start', 'commit', 'imgs@master'])
    await p.ok(['put', 'file', 'imgs@master:/bad.txt', '-f', join(p.dir, 'v1')])
    await p.ok(['put', 'file', 'imgs@master:/ok.txt', '-f', join(p.dir, 'ok')])
    await p.ok(['finish', 'commit', 'imgs@master', '-m', 'first'], {env: local})
    await p.ok(['put', 'file', 'imgs@master:/bad.txt', '-f', join(p.dir, 'v2')], {env: local})
    await p.ok(['put', 'file', 'imgs@master:/more.txt', '-f', join(p.dir, 'more')], {env: local})
    await p.ok(['put', 'file', 'other@master:/same.txt', '-f', join(p.dir, 'v1')])
    const before = await history(p, 'imgs')
    const outBefore = await history(p, 'total')
    const ids = before.filter((c) => c.origin === 'USER').map((c) => c.id) // newest first
    expect(ids).toHaveLength(3)
    expect(await p.ok(['get', 'file', 'total@master:/all'])).toContain('PURGE-MARKER-TWO')
    expect(await p.ok(['get', 'file', 'upper@master:/bad.txt.up'])).toContain('PURGE-MARKER-TWO')
    expect(filesHolding(p.dir, 'PURGE-MARKER-TWO').length).toBeGreaterThan(0)

    // --dry-run: lists every commit, datum and output; changes nothing
    const dry = await p.json(['purge', 'file', 'imgs@master:/bad.txt', '--dry-run'])
    expect(dry.dry_run).toBe(true)
    const inputs = dry.plan.commits.filter((c: any) => c.kind === 'input').map((c: any) => c.commit)
    expect(inputs.sort()).toEqual([...ids].sort())
    const outputs = dry.plan.commits.filter((c: any) => c.kind === 'output').map((c: any) => `${c.repo}@${c.commit}:${c.removed.map((r: any) => r.path).join(',')}`)
    for (const id of ids) {
      expect(outputs).toContain(`copy@${id}:/bad.txt`)
      expect(outputs).toContain(`total@${id}:/all`)
      expect(outputs).toContain(`upper@${id}:/bad.txt.up`)
    }
    expect(dry.plan.datums.map((d: any) => d.pipeline).sort()).toEqual(['copy', 'copy', 'total', 'total', 'total', 'upper', 'upper'])
    // every output commit that held derived outputs is recomputed, oldest first
    const every = (...names: string[]) => names.flatMap((n) => [...ids].reverse().map((id) => `${n}@${id}`)).sort()
    expect(dry.plan.recompute.map((j: any) => `${j.pipeline}@${j.job}`).sort()).toEqual(every('copy', 'total', 'upper'))
    expect(dry.plan.recompute.filter((j: any) => j.pipeline === 'total').map((j: any) => j.job)).toEqual([...ids].reverse())
    expect(dry.plan.datums.filter((d: any) => d.pipeline === 'copy').map((d: any) => d.fate)).toEqual(['gone', 'gone'])
    expect(dry.plan.datums.filter((d: any) => d.pipeline === 'total').map((d: any) => d.fate)).toEqual(['recompute', 'recompute', 'recompute'])
    expect(await p.ok(['purge', 'file', 'imgs@master:/bad.txt', '--dry-run'])).toContain(`would recompute total@${ids[2]} in place`)
    expect(dry.plan.files.map((f: any) => [f.path, f.size])).toEqual(
      expect.arrayContaining([
        ['/bad.txt', v1.length],
        ['/bad.txt', v2.length],
      ]),
    )
    expect(await history(p, 'imgs')).toEqual(before)
    expect(await p.ok(['get', 'file', `imgs@${ids[2]}:/bad.txt`])).toBe(v1)
    expect(await p.ok(['get', 'file', 'copy@master:/bad.txt'])).toBe(v2)
    expect(filesHolding(p.dir, 'PURGE-MARKER-TWO').length).toBeGreaterThan(0)
    expect((await p.json(['purge', 'log'])).entries).toEqual([])

    // the purge
    const r = await p.run(['purge', 'file', 'imgs@master:/bad.txt', '-m', 'GDPR request 7', '--json'], {env: local})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.json().dry_run).toBe(false)

    // history: same ids, parents, descriptions and times; no commit holds the file
    const after = await history(p, 'imgs')
    expect(after).toEqual(before)
    for (const id of ids) expectJsonError(await p.run(['get', 'file', `imgs@${id}:/bad.txt`, '--json']), 4, 'FILE_NOT_FOUND')
    expect(await p.ok(['get', 'file', `imgs@${ids[0]}:/ok.txt`])).toBe('fine\n')
    // sizes follow the trees
    const sizes = ((await p.json(['list', 'commit', 'imgs'])) as any[]).map((c) => c.details.size_bytes)
    expect(sizes.slice(0, 3)).toEqual(['fine\n'.length + 'more\n'.length, 'fine\n'.length, 'fine\n'.length])

    // downstream: every output commit recomputed in place, the heads and the older ones
    expect(await p.ok(['get', 'file', 'total@master:/all'])).toBe('more\nfine\n') // the shell's glob order: more.txt, ok.txt
    expect((await p.json(['list', 'file', 'copy@master'])).map((f: any) => f.file.path)).toEqual(['/more.txt', '/ok.txt'])
    expect((await p.json(['list', 'file', 'upper@master'])).map((f: any) => f.file.path)).toEqual(['/more.txt.up', '/ok.txt.up'])
    expect(await p.ok(['get', 'file', 'upper@master:/ok.txt.up'])).toBe('FINE\n')
    for (const id of ids.slice(1)) {
      expect((await p.json(['list', 'file', `copy@${id}`])).map((f: any) => f.file.path)).toEqual(['/ok.txt'])
      expect((await p.json(['list', 'file', `upper@${id}`])).map((f: any) => f.file.path)).toEqual(['/ok.txt.up'])
      expect(await p.ok(['get', 'file', `total@${id}:/all`])).toBe('fine\n')
    }
    // the output commits keep their ids, parents and times
    expect(await history(p, 'total')).toEqual(outBefore)
    // the jobs of every affected commit ran again in their own commits (restart 1), every job succeeded
    const jobs = await p.json(['list', 'job'])
    for (const j of jobs) expect(j.state, `${j.job.pipeline.name}@${j.job.id}`).toBe('JOB_SUCCESS')
    expect(jobs.filter((j: any) => j.restart === 1).map((j: any) => `${j.job.pipeline.name}@${j.job.id}`).sort()).toEqual(every('copy', 'total', 'upper'))

    // bytes: the unshared version is gone from every file under .pach; the shared one stays for `other`
    const fsck = await p.json(['fsck'])
    expect(fsck.ok).toBe(true)
    expect(fsck.problems).toEqual([])
    expect(filesHolding(p.dir, 'PURGE-MARKER-TWO')).toEqual([])
    expect(await p.ok(['get', 'file', 'other@master:/same.txt'])).toBe(v1)

    // audit: what, when, why; never the content
    const log = await p.json(['purge', 'log'])
    expect(log.sweep_pending).toBe(false)
    expect(log.entries).toHaveLength(1)
    const e = log.entries[0]
    expect(e).toMatchObject({repo: 'imgs', branch: 'master', pattern: '/bad.txt', description: 'GDPR request 7', commits: 3, output_commits: 9, recomputed: 9})
    expect(e.files.map((f: any) => f.size).sort()).toEqual([v1.length, v2.length].sort())
    for (const f of e.files) expect(f.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.stringify(log)).not.toContain('PURGE-MARKER')
    expect(await p.ok(['purge', 'log'])).toContain('GDPR request 7')

    // again: nothing matches
    expectUserError(await p.run(['purge', 'file', 'imgs@master:/bad.txt']), 4, /no commit of imgs@master holds a path matching \/bad.txt/)
  })
})
