/**
 * E2E (PPS): a chain raw → p1 → p2 for each runner — global ids (reference §4.3: the input
 * commit, every downstream output and meta commit, and every job share one id), provenance,
 * and what user code sees (reference §2.3 environment) as recorded by `pach logs`.
 */
import {describe, expect} from 'vitest'
import {ID_RE} from './_util.js'
import {project, datumsByPath, DATUM_RE, localTree, outputFiles, pipeline, RUNNERS, runnerIt, SCENARIO_TIMEOUT, writeSpec, type Job} from './pipelines-util.js'

type Line = {job: string; datum: string; ts: string; stream: string; message: string}
type Commit = {commit: {id: string; repo: {name: string; type: string}}; origin: {kind: string}; direct_provenance: {id: string; repo: {name: string; type: string}}[]; error: string}

/** key=value pairs of a log message ("out job=… in=… g=hi there") */
function fields(message: string): Record<string, string> {
  const out: Record<string, string> = {}
  const re = /(\w+)=(.*?)(?= \w+=|$)/g
  for (const m of message.matchAll(re)) out[m[1]!] = m[2]!
  return out
}

describe.concurrent.each(RUNNERS)('chains, global ids, env and logs [%s runner]', (runner) => {
  const rit = runnerIt(runner)

  rit('raw → p1 → p2: one id across commits and jobs, provenance, env vars in the logs', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    const p = rp.p
    await rp.ok(['create', 'repo', 'raw'])
    const dir = localTree(p, 'local', {'x.txt': 'ex\n', 'y.txt': 'why\n'})
    const first = (await rp.json(['put', 'file', 'raw@master:/x.txt', '-f', `${dir}/x.txt`])).commit.id
    const echo = 'job=$PACH_JOB_ID datum=$PACH_DATUM_ID pipe=$PPS_PIPELINE_NAME in=$raw commit=$raw_COMMIT oc=$PACH_OUTPUT_COMMIT_ID g=$GREETING'
    const p1 = pipeline('p1', `echo "out ${echo}"; echo "err ${echo}" >&2; cp -r /pfs/raw/. /pfs/out/`, {pfs: {repo: 'raw', glob: '/*'}}, {transform: {env: {GREETING: 'hi there'}}})
    const p2 = pipeline('p2', 'cp -r /pfs/p1/. /pfs/out/', {pfs: {repo: 'p1', glob: '/*'}})
    await rp.ok(['create', 'pipeline', '-f', writeSpec(p, 'p1', p1), '-f', writeSpec(p, 'p2', p2)])

    // one put into raw: jobs p1 and p2 run under the input commit's id
    const id = (await rp.json(['put', 'file', 'raw@master:/y.txt', '-f', `${dir}/y.txt`])).commit.id as string
    expect(id).toMatch(ID_RE)

    // list commit <id>: raw (USER), p1, p1.meta, p2, p2.meta (AUTO), all with that id
    const set = (await rp.json(['list', 'commit', id])) as Commit[]
    const withId = set.filter((c) => c.commit.id === id)
    expect(withId.map((c) => `${c.commit.repo.name}.${c.commit.repo.type}:${c.origin.kind}`).sort()).toEqual([
      'p1.meta:AUTO',
      'p1.user:AUTO',
      'p2.meta:AUTO',
      'p2.user:AUTO',
      'raw.user:USER',
    ])
    // anything else listed is provenance from another commit set (the pipelines' spec commits)
    for (const c of set.filter((c) => c.commit.id !== id)) expect(c.commit.repo.type).toBe('spec')

    // list job <id>: both jobs, same id, successful
    const js = (await rp.json(['list', 'job', id])) as Job[]
    expect(js.map((j) => j.job.pipeline.name).sort()).toEqual(['p1', 'p2'])
    for (const j of js) expect(j).toMatchObject({job: {id}, state: 'JOB_SUCCESS', data_processed: 1, data_skipped: 1, data_total: 2})

    // inspect job p2@<id>: its output commit is p2@<id>
    const j2 = await rp.json(['inspect', 'job', `p2@${id}`])
    expect(j2.output_commit).toMatchObject({id, repo: {name: 'p2', type: 'user'}})

    // provenance: p2's head is that commit and comes from p1@<id> (and p2's spec commit)
    const head = (await rp.json(['inspect', 'commit', 'p2@master'])) as Commit
    expect(head.commit.id).toBe(id)
    expect(head.error).toBe('')
    const prov = head.direct_provenance.map((c) => `${c.repo.name}.${c.repo.type}`).sort()
    expect(prov).toEqual(['p1.user', 'p2.spec'])
    expect(head.direct_provenance.find((c) => c.repo.type === 'user')!.id).toBe(id)
    expect(await outputFiles(rp, 'p2@master')).toEqual({'/x.txt': 'ex\n', '/y.txt': 'why\n'})

    // ---- env and logs: job <id> of p1 processed only /y.txt (x was skipped)
    const d = await datumsByPath(rp, 'p1', id)
    const yId = d['/y.txt']!.datum.id
    expect(yId).toMatch(DATUM_RE)
    const lines = (await rp.json(['logs', '-p', 'p1', '-j', id])) as Line[]
    expect(lines.map((l) => l.stream).sort()).toEqual(['stderr', 'stdout'])
    for (const l of lines) {
      expect(l).toMatchObject({job: id, datum: yId})
      expect(l.message.startsWith(l.stream === 'stdout' ? 'out ' : 'err ')).toBe(true)
      expect(fields(l.message)).toEqual({job: id, datum: yId, pipe: 'p1', in: '/pfs/raw/y.txt', commit: id, oc: id, g: 'hi there'})
    }

    // all of p1's logs (human): the first job processed /x.txt with the first commit's id
    const human = await rp.ok(['logs', '-p', 'p1'])
    const xLines = human.split('\n').filter((l) => l.includes('in=/pfs/raw/x.txt'))
    expect(xLines).toHaveLength(2)
    const xf = fields(xLines[0]!.replace(/^(out|err) /, ''))
    expect(xf.commit).toBe(first)
    expect(xf.pipe).toBe('p1')
    expect(xf.job).toMatch(ID_RE)
    expect(xf.job).not.toBe(id)
    expect(xf.oc).toBe(xf.job)
    expect(human).toContain('in=/pfs/raw/y.txt')
    // --datum filters to that datum's lines, across jobs
    const xDatum = await rp.ok(['logs', '-p', 'p1', '--datum', xf.datum!])
    const xOnly = xDatum.split('\n').filter((l) => l.length > 0)
    expect(xOnly.sort()).toEqual([...xLines].sort())
  })
  rit('propagation_spec.never: commits on that input make no job; the next job reads its latest head', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    const p = rp.p
    await rp.ok(['create', 'repo', 'model'])
    await rp.ok(['create', 'repo', 'data'])
    await rp.ok(['put', 'file', 'model@master:/m.txt', '-f', '-'], {input: 'm1\n'})
    await rp.ok(['put', 'file', 'data@master:/d.txt', '-f', '-'], {input: 'd1\n'})
    const spec = pipeline('score', 'cat /pfs/model/m.txt /pfs/data/d.txt > /pfs/out/r.txt', {
      cross: [{pfs: {repo: 'model', glob: '/', propagation_spec: {never: true}}}, {pfs: {repo: 'data', glob: '/'}}],
    })
    await rp.ok(['create', 'pipeline', '-f', writeSpec(p, 'score', spec)])
    const before = (await rp.json(['list', 'job', '-p', 'score'])) as Job[]
    expect(before).toHaveLength(1)
    const b = await rp.json(['inspect', 'branch', 'score@master'])
    expect(b.branch_propagation_specs).toEqual([{branch: {repo: {name: 'model', type: 'user', project: {name: 'default'}}, name: 'master'}, propagation_spec: {never: true}}])

    // a new model commit: no job, no new output commit
    const head = (await rp.json(['inspect', 'commit', 'score@master'])).commit.id
    await rp.ok(['put', 'file', 'model@master:/m.txt', '-f', '-'], {input: 'm2\n'})
    expect(await rp.json(['list', 'job', '-p', 'score'])).toHaveLength(1)
    expect((await rp.json(['inspect', 'commit', 'score@master'])).commit.id).toBe(head)

    // a new data commit: one job that reads model's latest head
    const id = (await rp.json(['put', 'file', 'data@master:/d.txt', '-f', '-'], {input: 'd2\n'})).commit.id
    const after = (await rp.json(['list', 'job', '-p', 'score'])) as Job[]
    expect(after).toHaveLength(2)
    expect(after[0]).toMatchObject({job: {id}, state: 'JOB_SUCCESS'})
    expect(await rp.ok(['get', 'file', 'score@master:/r.txt'])).toBe('m2\nd2\n')
  })
})
