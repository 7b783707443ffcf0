/**
 * E2E: branch triggers (reference §4.5) — a branch that follows another when a condition
 * holds (size, commits, all), chains, cron triggers applied by `pach run`, refusals, and a
 * pipeline whose trigger input only runs when the trigger fires (global id = input commit).
 */
import {describe, expect, it, vi} from 'vitest'
import {tmpProject} from '../helpers/cli.js'
import {expectUserError, putText} from './_util.js'

vi.setConfig({testTimeout: 240_000})

/** The project clock of one call: PACH_NOW at `s` seconds after a fixed instant (no sleeping on the wall clock). */
const at = (s: number, env: Record<string, string> = {}) => ({...env, PACH_NOW: new Date(Date.UTC(2030, 0, 1, 0, 0, s)).toISOString()})

const head = async (p: Awaited<ReturnType<typeof tmpProject>>, ref: string) => (await p.json(['inspect', 'branch', ref])).head.id as string

describe('branch triggers', () => {
  it('size, commits, all and chains: a follower moves to the finished head only when its condition holds', async (ctx) => {
    const p = await tmpProject(true, ctx)
    await p.ok(['create', 'repo', 'd'])
    const c1 = await putText(p, 'd@master:/a', 'x'.repeat(1000))
    await p.ok(['create', 'branch', 'd@staging', '--trigger', 'master', '--trigger-size', '2K'])
    const empty = await head(p, 'd@staging')
    expect(empty).not.toBe(c1) // 1000 B < 2 KB
    const b = await p.json(['inspect', 'branch', 'd@staging'])
    expect(b.trigger).toEqual({branch: 'master', size: '2K'})
    expect(await p.ok(['inspect', 'branch', 'd@staging'])).toContain('Trigger: follows master when size ≥ 2K')
    expect(await p.ok(['list', 'branch', 'd'])).toMatch(/staging\s+[0-9a-f]{32}\s+master/)

    // a chain: prod follows staging after 2 commits on it (counted back to prod's old head)
    await p.ok(['create', 'branch', 'd@prod', '--trigger', 'staging', '--trigger-commits', '2'])
    // every: follows master on every finished commit
    await p.ok(['create', 'branch', 'd@every', '--trigger', 'master', '--trigger-all'])
    expect(await head(p, 'd@every')).toBe(c1)

    const c2 = await putText(p, 'd@master:/b', 'y'.repeat(1500))
    expect(await head(p, 'd@staging')).toBe(c2) // 2500 B grown since the empty head
    expect(await head(p, 'd@every')).toBe(c2)
    expect(await head(p, 'd@prod')).toBe(c2) // c2 and c1 are two commits back to prod's empty head

    const c3 = await putText(p, 'd@master:/c', 'z')
    expect(await head(p, 'd@every')).toBe(c3)
    expect(await head(p, 'd@staging')).toBe(c2) // 1 byte more: not enough
    expect(await head(p, 'd@prod')).toBe(c2)

    // an open commit does not fire anything until it finishes
    await p.ok(['start', 'commit', 'd@master'])
    await p.ok(['put', 'file', 'd@master:/e', '-f', '-'], {input: 'e'.repeat(3000)})
    expect(await head(p, 'd@every')).toBe(c3)
    await p.ok(['finish', 'commit', 'd@master'])
    const c4 = (await p.json(['inspect', 'commit', 'd@master'])).commit.id
    expect(await head(p, 'd@every')).toBe(c4)
    expect(await head(p, 'd@staging')).toBe(c4)
    expect(await p.ok(['get', 'file', 'd@staging:/e'])).toBe('e'.repeat(3000))
  })

  it('refuses bad triggers in one line', async (ctx) => {
    const p = await tmpProject(true, ctx)
    await p.ok(['create', 'repo', 'd'])
    await p.ok(['create', 'repo', 'o'])
    expectUserError(await p.run(['create', 'branch', 'd@s', '--trigger', 's']), 2, /cannot trigger on itself/)
    expectUserError(await p.run(['create', 'branch', 'd@s', '--trigger', 'master', '--trigger-size', 'lots']), 2, /invalid trigger size "lots"/)
    expectUserError(await p.run(['create', 'branch', 'd@s', '--trigger', 'master', '--trigger-cron', 'every day']), 2, /not a valid cron expression/)
    expectUserError(await p.run(['create', 'branch', 'o@s', '--trigger', 'master', '--provenance', 'd@master']), 2, /both provenance and a trigger/)
    await p.ok(['create', 'branch', 'd@a', '--trigger', 'master'])
    await p.ok(['create', 'branch', 'd@b', '--trigger', 'a'])
    expectUserError(await p.run(['create', 'branch', 'd@a', '--trigger', 'b']), 2, /would make a cycle/)
  })

  it('a cron trigger moves its branch when `pach run` finds a tick has passed', async (ctx) => {
    const p = await tmpProject(true, ctx)
    await p.ok(['create', 'repo', 'd'], {env: at(0)})
    await p.ok(['create', 'branch', 'd@nightly', '--trigger', 'master', '--trigger-cron', '@every 10s'], {env: at(0)})
    const c1 = JSON.parse(await p.ok(['put', 'file', 'd@master:/a', '-f', '-', '--json'], {input: 'a', env: at(1)})).commit.id as string
    expect(await head(p, 'd@nightly')).not.toBe(c1) // no ticker: only on schedule
    await p.ok(['run'], {env: at(5)})
    expect(await head(p, 'd@nightly')).not.toBe(c1) // the next tick is at 10 s
    await p.ok(['run'], {env: at(12)})
    expect(await head(p, 'd@nightly')).toBe(c1)
  })

  it('PACH_NOW must be an RFC 3339 time', async (ctx) => {
    const p = await tmpProject(true, ctx)
    expectUserError(await p.run(['list', 'repo'], {env: {PACH_NOW: 'tomorrow'}}), 2, /PACH_NOW="tomorrow" is not an RFC 3339 time \(write it like 2026-01-02T15:04:05Z\)/)
    expect(JSON.parse(await p.ok(['create', 'repo', 'd', '--json'], {env: at(0)}))).toBeDefined()
    expect((await p.json(['inspect', 'repo', 'd'])).created).toMatch(/^2030-01-01T00:00:00/)
  })

  it('a pipeline with a trigger input runs when the trigger fires, under the input commit id', async (ctx) => {
    const p = await tmpProject(true, ctx)
    await p.ok(['create', 'repo', 'd'])
    const spec = {
      pipeline: {name: 'agg'},
      input: {pfs: {repo: 'd', glob: '/', trigger: {commits: 2}}},
      transform: {cmd: ['sh', '-c', 'ls /pfs/d | wc -l | tr -d " " > /pfs/out/n']},
    }
    await p.ok(['create', 'pipeline', '-f', '-'], {input: JSON.stringify(spec), env: {PACH_RUNNER: 'local'}})
    const b = await p.json(['inspect', 'branch', 'd@agg-trigger-1'])
    expect(b.trigger).toEqual({branch: 'master', commits: 2})
    const jobsOf = async () => (await p.json(['list', 'job', '-p', 'agg'])) as {job: {id: string}; state: string}[]
    const before = (await jobsOf()).length
    await putText(p, 'd@master:/a', 'a', [], )
    expect(await jobsOf()).toHaveLength(before) // one commit: not yet
    const c2 = (await p.json(['put', 'file', 'd@master:/b', '-f', '-'], {input: 'b', env: {PACH_RUNNER: 'local'}})).commit.id
    const jobs = await jobsOf()
    expect(jobs).toHaveLength(before + 1)
    expect(jobs[0]).toMatchObject({job: {id: c2}, state: 'JOB_SUCCESS'})
    expect(await p.ok(['get', 'file', 'agg@master:/n'])).toBe('2\n')
  })
})

describe('cron inputs (no ticker: `pach run` writes due ticks, `pach run cron` ticks now)', () => {
  it('creates <pipeline>_<name>, ticks into it, and each tick runs a job under the tick commit id', async (ctx) => {
    const p = await tmpProject(true, ctx)
    const env = at(0, {PACH_RUNNER: 'local'})
    const spec = {pipeline: {name: 'tick'}, input: {cron: {name: 't', spec: '@every 1s'}}, transform: {cmd: ['sh', '-c', 'n=$(ls /pfs/t); echo tick > /pfs/out/$n']}}
    await p.ok(['create', 'pipeline', '-f', '-'], {input: JSON.stringify(spec), env})
    expect((await p.json(['list', 'repo'])).map((r: {repo: {name: string}}) => r.repo.name).sort()).toEqual(['tick', 'tick_t'])
    const ticked = (await p.json(['run', 'cron', 'tick'], {env: at(1, env)})) as {commit: {id: string; repo: {name: string}}}[]
    expect(ticked).toHaveLength(1)
    expect(ticked[0]!.commit.repo.name).toBe('tick_t')
    const jobs = async () => (await p.json(['list', 'job', '-p', 'tick'])) as {job: {id: string}; state: string}[]
    expect((await jobs())[0]).toMatchObject({job: {id: ticked[0]!.commit.id}, state: 'JOB_SUCCESS'})
    const outs = async () => ((await p.json(['list', 'file', 'tick@master:/'])) as {file: {path: string}}[]).map((f) => f.file.path)
    expect(await outs()).toEqual([expect.stringMatching(/^\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)])
    expect(await outs()).toEqual([expect.stringMatching(/^\/2030-01-01T00:00:0/)]) // named by the project clock
    await p.ok(['run'], {env: at(3, env)})
    const files = (await p.json(['list', 'file', 'tick_t@master:/'])) as unknown[]
    expect(files).toHaveLength(2)
    expect(await outs()).toHaveLength(2) // one datum per tick file (glob "/*")
    expectUserError(await p.run(['run', 'cron', 'nope']), 4, /pipeline nope not found/)
  })
})
