/**
 * Core integration: a purge's repairs (core/maintenance/purge.ts, pps/job-plan.ts repairPlan)
 * with the fake runner. A purged file read by a directory datum over a 3-commit history, a
 * pipeline downstream of the outputs, one that reads only an output the purge leaves alone (its
 * jobs are repaired, nothing of it runs), and a stopped pipeline: afterwards every output commit
 * (not only the heads) holds exactly what a fresh project built from the purged inputs gives,
 * commits keep their ids, times and commit sets, only the datums the purge changed run again
 * (each once: a later job takes an earlier repair's result), the stopped pipeline stays
 * stopped, and fsck is clean. A spout's output repo is purged like a user repo (the copies
 * downstream recomputed); a transform's output repo is refused.
 */
import {existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import type {Pach} from '../../src/core/pach.js'
import {parseCommit, parseFile} from '../../src/core/pfs/refs.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {getRepo, listCommitsByRepo} from '../../src/core/db/pfs-rows.js'
import {FakeRunner, type FakeContext} from '../helpers/fake-runner.js'
import {tempPach, text} from '../helpers/project.js'

const spec = (obj: unknown) => parseSpecs(JSON.stringify(obj), 'test.json').specs[0]!

/** Every file under a host dir, relative, sorted. */
function filesUnder(dir: string, rel = ''): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .sort()
    .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n), `${rel}/${n}`) : [`${rel}/${n}`]))
}

/** The user code of the three pipelines, by name; `ran` records pipeline:datum paths. */
function code(ran: string[]) {
  return new FakeRunner((io: FakeContext) => {
    const p = io.env.PPS_PIPELINE_NAME
    const write = (name: string, s: string) => writeFileSync(join(io.outDir, name), s)
    if (p === 'cat') {
      // one datum per top-level entry: a directory becomes <dir>.txt, its files concatenated
      for (const n of readdirSync(join(io.inputsDir, 'in'))) {
        const d = join(io.inputsDir, 'in', n)
        ran.push(`cat:/${n}`)
        write(`${n}.txt`, filesUnder(d).map((f) => `${f}=${readFileSync(join(d, f), 'utf8')}`).join('\n'))
      }
    } else if (p === 'up') {
      for (const n of readdirSync(join(io.inputsDir, 'cat'))) {
        ran.push(`up:/${n}`)
        write(`${n}.up`, readFileSync(join(io.inputsDir, 'cat', n), 'utf8').toUpperCase())
      }
    } else if (p === 'e') {
      ran.push('e:/e.txt')
      write('e', readFileSync(join(io.inputsDir, 'cat', 'e.txt'), 'utf8').toUpperCase())
    } else if (p === 'list') {
      ran.push('list:/')
      write('list', filesUnder(join(io.inputsDir, 'in')).join(','))
    }
    return 0
  })
}

const PIPELINES = [
  {pipeline: {name: 'cat'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'in', glob: '/*'}}},
  {pipeline: {name: 'up'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'cat', glob: '/*'}}},
  {pipeline: {name: 'list'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'in', glob: '/'}}},
  // reads only an output the purge leaves alone: its jobs are repaired (their input commits are), nothing runs
  {pipeline: {name: 'e'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'cat', glob: '/e.txt'}}},
]

/** The history: three commits to `in`; `purged` leaves /d/secret out (what a fresh run over the purged inputs sees). */
const COMMITS = (purged: boolean): Record<string, string>[] =>
  [
    {'/d/a': 'a1', '/d/secret': 'SECRET-1', '/e/x': 'x'},
    {'/d/b': 'b', '/d/secret': 'SECRET-2'},
    {'/e/y': 'y'},
  ].map((c) => Object.fromEntries(Object.entries(c).filter(([p]) => !purged || p !== '/d/secret')))

async function build(pach: Pach, purged: boolean, ran: string[]): Promise<void> {
  pach.repos.create('default', 'in')
  for (const s of PIPELINES) pach.pipelines.put(spec(s), {update: false, reprocess: false, file: 't'})
  await pach.jobs.runPending({runner: async () => code(ran)})
  for (const files of COMMITS(purged)) {
    await pach.files.put('default', parseCommit('in@master'), Object.entries(files).map(([path, s]) => ({path, open: text(s)})))
    await pach.jobs.runPending({runner: async () => code(ran)})
  }
}

/** Each commit of a repo, oldest first: its files and contents. */
function contents(pach: Pach, repo: string): Record<string, string>[] {
  const r = getRepo(pach.ctx.db, 'default', repo, 'user')!
  return listCommitsByRepo(pach.ctx.db, r.id)
    .sort((a, b) => a.seq - b.seq)
    .map((c) => {
      const out: Record<string, string> = {}
      for (const [p, e] of pach.ctx.trees.walk(c.tree)) if (e.kind === 'file') out[p] = pach.files.readAll('default', parseFile(`${repo}@${c.id}:${p}`)).toString()
      return out
    })
}

const rowsOf = (pach: Pach, repo: string) => {
  const r = getRepo(pach.ctx.db, 'default', repo, 'user')!
  return listCommitsByRepo(pach.ctx.db, r.id).map(({tree: _t, size: _s, ...rest}) => rest)
}

describe('purge repairs every output commit', () => {
  it('older output commits hold what a fresh run over the purged inputs gives; only changed datums run, once', async () => {
    const {pach} = tempPach('pach-purge-rep-')
    const ranBefore: string[] = []
    await build(pach, false, ranBefore)
    pach.pipelines.stop('default', 'list')
    const fresh = tempPach('pach-purge-fresh-').pach
    await build(fresh, true, [])
    fresh.pipelines.stop('default', 'list')
    expect(contents(pach, 'cat')[1]!['/d.txt']).toContain('SECRET-1')
    const before = Object.fromEntries(['in', 'cat', 'up', 'list', 'e'].map((r) => [r, rowsOf(pach, r)]))

    // the plan: every output commit's job runs again, oldest first; the stopped pipeline's too
    const plan = await pach.purge({project: 'default', repo: 'in', branch: 'master', pattern: '/d/secret'}, {dryRun: true})
    const jobs = (repo: string) => listCommitsByRepo(pach.ctx.db, getRepo(pach.ctx.db, 'default', repo, 'user')!.id).sort((a, b) => a.seq - b.seq).map((c) => c.id)
    const [, c1, c2, c3] = jobs('cat')
    expect(plan.plan.recompute.filter((j) => j.pipeline === 'cat').map((j) => j.job)).toEqual([c1, c2, c3])
    expect(plan.plan.recompute.filter((j) => j.pipeline === 'list').map((j) => j.job)).toEqual([c1, c2, c3])
    expect(plan.plan.recompute.filter((j) => j.pipeline === 'up').map((j) => [j.job, j.why])).toEqual([
      [c1, 'tainted'],
      [c2, 'tainted'],
      [c3, 'tainted'],
    ])
    const eJobs = plan.plan.recompute.filter((j) => j.pipeline === 'e').map((j) => [j.job, j.why])
    expect(eJobs).toEqual([c1, c2, c3].map((id) => [id, 'downstream']))
    expect(plan.plan.datums.filter((d) => d.pipeline === 'e')).toEqual([])
    expect(new Set(plan.plan.datums.filter((d) => d.pipeline === 'cat').map((d) => d.fate))).toEqual(new Set(['recompute']))
    expect(new Set(plan.plan.datums.filter((d) => d.pipeline === 'up').map((d) => d.fate))).toEqual(new Set(['upstream']))

    const ran: string[] = []
    await pach.purge({project: 'default', repo: 'in', branch: 'master', pattern: '/d/secret'})
    const done = await pach.jobs.runPending({runner: async () => code(ran)})
    expect(done.map((j) => `${j.job.pipeline.name}@${j.job.id}: ${j.state} ${j.reason}`)).toEqual(done.map((j) => `${j.job.pipeline.name}@${j.job.id}: JOB_SUCCESS `))
    expect(done).toHaveLength(12)
    // only the datums the purge changed ran, each once: /d in jobs 1 and 2 (job 3 takes job 2's); /e never
    expect(ran.filter((r) => r.startsWith('cat:')).sort()).toEqual(['cat:/d', 'cat:/d'])
    expect(ran.filter((r) => r.startsWith('up:')).sort()).toEqual(['up:/d.txt', 'up:/d.txt'])
    expect(ran.filter((r) => r.startsWith('list:'))).toEqual(['list:/', 'list:/', 'list:/'])
    expect(ran.filter((r) => r.startsWith('e:'))).toEqual([])

    // every commit, not only the head, as a fresh project over the purged inputs
    for (const repo of ['in', 'cat', 'up', 'list', 'e']) expect(contents(pach, repo), repo).toEqual(contents(fresh, repo))
    // ids, parents, times, commit sets: unchanged
    for (const repo of ['in', 'cat', 'up', 'list', 'e']) expect(rowsOf(pach, repo), repo).toEqual(before[repo])
    expect(pach.pipelines.inspect('default', 'list').stopped).toBe(true)
    expect(pach.fsck({readData: true}).problems).toEqual([])

    // the repaired sets describe the commits: a new input commit plans from them as from a fresh run's
    const more = async (p: Pach, r: string[]) => {
      await p.files.put('default', parseCommit('in@master'), [{path: '/d/c', open: text('c')}])
      await p.jobs.runPending({runner: async () => code(r)})
    }
    const after: string[] = []
    const freshAfter: string[] = []
    await more(pach, after)
    await more(fresh, freshAfter)
    expect(after.sort()).toEqual(freshAfter.sort())
    for (const repo of ['cat', 'up']) expect(contents(pach, repo), repo).toEqual(contents(fresh, repo))
  })

  it("a spout's output is purged like a user repo (its data enters pach there); a transform's output is refused", async () => {
    const {pach} = tempPach('pach-purge-spout-')
    pach.pipelines.put(spec({pipeline: {name: 'sp'}, spout: {}, transform: {cmd: ['x']}}), {update: false, reprocess: false, file: 't'})
    pach.pipelines.put(spec({pipeline: {name: 'cp'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'sp', glob: '/*'}}}), {update: false, reprocess: false, file: 't'})
    const copy = new FakeRunner(({inputsDir, outDir}: FakeContext) => {
      for (const n of readdirSync(join(inputsDir, 'sp'))) writeFileSync(join(outDir, n), readFileSync(join(inputsDir, 'sp', n)))
      return 0
    })
    const writer = {project: 'default', pipeline: 'sp'}
    for (const files of [{'/a': 'a', '/pii': 'PII-1'}, {'/pii': 'PII-2'}]) {
      await pach.files.put('default', parseCommit('sp@master'), Object.entries(files).map(([path, s]) => ({path, open: text(s)})), {writer})
      await pach.jobs.runPending({runner: async () => copy})
    }
    await expect(pach.purge({project: 'default', repo: 'cp', branch: 'master', pattern: '/pii'})).rejects.toMatchObject({code: 'OUTPUT_BRANCH'})
    const r = await pach.purge({project: 'default', repo: 'sp', branch: 'master', pattern: '/pii'})
    expect(r.plan.recompute.map((j) => j.pipeline)).toEqual(['cp', 'cp'])
    await pach.jobs.runPending({runner: async () => copy})
    for (const repo of ['sp', 'cp']) for (const c of contents(pach, repo)) expect(Object.keys(c), repo).not.toContain('/pii')
    expect(contents(pach, 'cp').at(-1)).toEqual({'/a': 'a'})
    expect(pach.fsck({readData: true}).problems).toEqual([])
  })
})
