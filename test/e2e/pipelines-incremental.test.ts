/**
 * E2E (PPS): incremental processing (reference §3.6) for each runner — only new or changed
 * datums run, a deleted input file deletes exactly its datum's output, an update without
 * --reprocess keeps the salt (everything skipped, output unchanged even though the code
 * changed), --reprocess changes it (everything runs). Each datum sees exactly its own inputs
 * under /pfs, however many datums a worker ran before it (nested globs, unions), so an
 * incremental run and a --reprocess of the same data write the same output.
 */
import {describe, expect} from 'vitest'
import {ID_RE} from './_util.js'
import {project, datumsByPath, jobs, lastJob, localTree, outputFiles, pipeline, RUNNERS, runnerIt, SCENARIO_TIMEOUT, writeSpec} from './pipelines-util.js'

describe.concurrent.each(RUNNERS)('incremental processing [%s runner]', (runner) => {
  const rit = runnerIt(runner)

  rit('add, modify, delete, update without and with --reprocess', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    const p = rp.p
    await rp.ok(['create', 'repo', 'in'])
    const dir = localTree(p, 'local', {a: 'alpha\n', b: 'beta\n', c: 'gamma\n', a2: 'ALPHA\n'})
    await rp.ok(['put', 'file', 'in@master:/', '-f', `${dir}/a`, '-f', `${dir}/b`])
    // V marks which version of the code produced an output
    const spec = (v: string) => pipeline('inc', 'echo "$V $(cat "$in")" > "/pfs/out/$(basename "$in")"', {pfs: {repo: 'in', glob: '/*'}}, {transform: {env: {V: v}}})
    const file = writeSpec(p, 'inc', spec('v1'))

    // 1. create: the first job processes both datums
    await rp.ok(['create', 'pipeline', '-f', file])
    const j1 = await lastJob(rp, 'inc')
    expect(j1).toMatchObject({state: 'JOB_SUCCESS', data_processed: 2, data_skipped: 0, data_total: 2})
    expect(await outputFiles(rp, 'inc@master')).toEqual({'/a': 'v1 alpha\n', '/b': 'v1 beta\n'})
    const salt1 = (await rp.json(['inspect', 'pipeline', 'inc'])).details.salt
    expect(typeof salt1).toBe('string')
    expect(salt1.length).toBeGreaterThan(0)

    // 2. add a file: 1 processed, 2 skipped; the job id is the input commit's id
    const addId = (await rp.json(['put', 'file', 'in@master:/c', '-f', `${dir}/c`])).commit.id
    const j2 = await lastJob(rp, 'inc')
    expect(j2.job.id).toBe(addId)
    expect(j2).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1, data_skipped: 2, data_total: 3, data_failed: 0})
    const d2 = await datumsByPath(rp, 'inc', addId)
    expect(Object.fromEntries(Object.entries(d2).map(([k, d]) => [k, d.state]))).toEqual({'/a': 'SKIPPED', '/b': 'SKIPPED', '/c': 'SUCCESS'})
    // list datum of a job is ordered by datum id (reference §3.5); datumsByPath keeps the listed order
    const listed = Object.values(d2).map((d) => d.datum.id)
    expect(listed).toEqual([...listed].sort())

    // 3. modify one: only it runs
    const modId = (await rp.json(['put', 'file', 'in@master:/a', '-f', `${dir}/a2`])).commit.id
    const j3 = await lastJob(rp, 'inc')
    expect(j3.job.id).toBe(modId)
    expect(j3).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1, data_skipped: 2, data_total: 3})
    const d3 = await datumsByPath(rp, 'inc', modId)
    expect(d3['/a']!.state).toBe('SUCCESS')
    expect(d3['/b']!.state).toBe('SKIPPED')
    expect(d3['/c']!.state).toBe('SKIPPED')
    // a skipped datum shows this job's input commit (its row was written by an earlier job)
    expect(d3['/b']!.data[0].file.commit.id).toBe(modId)
    expect(d3['/a']!.data[0].file.commit.id).toBe(modId)
    const b3 = await rp.json(['inspect', 'datum', `inc@${modId}`, d3['/b']!.datum.id])
    expect(b3).toMatchObject({state: 'SKIPPED', data: [{file: {commit: {id: modId}}}]})
    // same path -> same datum id across jobs, whatever the content
    expect(d3['/a']!.datum.id).toBe(d2['/a']!.datum.id)
    expect(await outputFiles(rp, 'inc@master')).toEqual({'/a': 'v1 ALPHA\n', '/b': 'v1 beta\n', '/c': 'v1 gamma\n'})

    // 4. delete one: nothing runs, its output disappears, the rest stays
    await rp.ok(['delete', 'file', 'in@master:/b'])
    const j4 = await lastJob(rp, 'inc')
    expect(j4).toMatchObject({state: 'JOB_SUCCESS', data_processed: 0, data_skipped: 2, data_total: 2})
    expect(Object.values(await datumsByPath(rp, 'inc', j4.job.id)).map((d) => d.state)).toEqual(['SKIPPED', 'SKIPPED'])
    expect(await outputFiles(rp, 'inc@master')).toEqual({'/a': 'v1 ALPHA\n', '/c': 'v1 gamma\n'})

    // 5. update (new code) without --reprocess: same salt, every datum skipped, output unchanged
    writeSpec(p, 'inc', spec('v2'))
    await rp.ok(['update', 'pipeline', '-f', file])
    const info2 = await rp.json(['inspect', 'pipeline', 'inc'])
    expect(info2.version).toBe(2)
    expect(info2.details.salt).toBe(salt1)
    expect(info2.details.transform.env).toEqual({V: 'v2'})
    const j5 = await lastJob(rp, 'inc')
    expect(j5.job.id).not.toBe(j4.job.id)
    expect(j5.job.id).toMatch(ID_RE)
    expect(j5).toMatchObject({state: 'JOB_SUCCESS', data_processed: 0, data_skipped: 2, data_total: 2, pipeline_version: 2})
    expect(await outputFiles(rp, 'inc@master')).toEqual({'/a': 'v1 ALPHA\n', '/c': 'v1 gamma\n'})

    // 6. update --reprocess: new salt, every datum runs with the new code
    await rp.ok(['update', 'pipeline', '-f', file, '--reprocess'])
    const info3 = await rp.json(['inspect', 'pipeline', 'inc'])
    expect(info3.version).toBe(3)
    expect(info3.details.salt).not.toBe(salt1)
    const j6 = await lastJob(rp, 'inc')
    expect(j6).toMatchObject({state: 'JOB_SUCCESS', data_processed: 2, data_skipped: 0, data_total: 2, pipeline_version: 3})
    expect(Object.values(await datumsByPath(rp, 'inc', j6.job.id)).map((d) => d.state)).toEqual(['SUCCESS', 'SUCCESS'])
    expect(await outputFiles(rp, 'inc@master')).toEqual({'/a': 'v2 ALPHA\n', '/c': 'v2 gamma\n'})

    // one job per change, newest first, all successful
    const all = await jobs(rp, 'inc')
    expect(all.map((j) => j.job.id)).toEqual([j6, j5, j4, j3, j2, j1].map((j) => j.job.id))
    expect(all.every((j) => j.state === 'JOB_SUCCESS')).toBe(true)
  })
})

describe.concurrent.each(RUNNERS)('each datum sees only its own inputs [%s runner]', (runner) => {
  const rit = runnerIt(runner)

  rit('nested glob and union, several datums per worker: incremental result = reprocessed result', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    const p = rp.p
    await rp.ok(['create', 'repo', 'in'])
    await rp.ok(['create', 'repo', 'other'])
    const dir = localTree(p, 'data', {'a/x': 'ax\n', 'a/w': 'aw\n', 'b/y': 'by\n', 'c/z': 'cz\n'})
    await rp.ok(['put', 'file', '-r', 'in@master:/', '-f', '.'], {cwd: dir})
    const odir = localTree(p, 'odata', {'o1/f': 'o1\n'})
    await rp.ok(['put', 'file', '-r', 'other@master:/', '-f', '.'], {cwd: odir})
    // every name visible under /pfs except out, written to one file per datum
    const cmd = 'p="${in:-$other}"; p="${p#/pfs/*/}"; name="_$(echo "$p" | tr / _)"; (cd /pfs && find . -path ./out -prune -o -print | sort) > "/pfs/out/$name"'
    const spec = pipeline('seen', cmd, {union: [{pfs: {repo: 'in', glob: '/*/*'}}, {pfs: {repo: 'other', glob: '/*/*'}}]}, {parallelism_spec: {constant: 1}})
    const file = writeSpec(p, 'seen', spec)
    await rp.ok(['create', 'pipeline', '-f', file])
    const own = (input: string, path: string) => {
      const segs = path.split('/').filter(Boolean)
      const lines = ['.', `./${input}`, ...segs.map((_, i) => `./${input}/${segs.slice(0, i + 1).join('/')}`)]
      return [...lines].sort().join('\n') + '\n'
    }
    const expected = (paths: [string, string][]) => Object.fromEntries(paths.map(([i, q]) => [`/${q.replaceAll('/', '_')}`, own(i, q)]))
    const first: [string, string][] = [['in', '/a/w'], ['in', '/a/x'], ['in', '/b/y'], ['in', '/c/z'], ['other', '/o1/f']]
    expect(await lastJob(rp, 'seen')).toMatchObject({state: 'JOB_SUCCESS', data_processed: 5})
    expect(await outputFiles(rp, 'seen@master')).toEqual(expected(first))

    // incremental: two new datums run on a worker that ran nothing else in this job
    const more = localTree(p, 'more', {'d/v': 'dv\n', 'a/u': 'au\n'})
    await rp.ok(['put', 'file', '-r', 'in@master:/', '-f', '.'], {cwd: more})
    expect(await lastJob(rp, 'seen')).toMatchObject({state: 'JOB_SUCCESS', data_processed: 2, data_skipped: 5})
    const all: [string, string][] = [...first, ['in', '/a/u'], ['in', '/d/v']]
    const incremental = await outputFiles(rp, 'seen@master')
    expect(incremental).toEqual(expected(all))

    // reprocess: one worker runs all seven datums in a row; the output is the same
    await rp.ok(['update', 'pipeline', '-f', file, '--reprocess'])
    expect(await lastJob(rp, 'seen')).toMatchObject({state: 'JOB_SUCCESS', data_processed: 7})
    expect(await outputFiles(rp, 'seen@master')).toEqual(incremental)
  })
})
