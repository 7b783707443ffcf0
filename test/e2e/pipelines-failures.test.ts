/**
 * E2E (PPS): failure handling (reference §3.7–3.8, §4.7) for each runner — datum_tries,
 * err_cmd (RECOVERED), accept_return_code, the "single datum provenance rule" (two datums
 * writing one path fail the job naming both), datum_timeout and job_timeout. A failed job
 * never changes the exit status of the command that triggered it; it is reported on stderr.
 */
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect} from 'vitest'
import {project, datumsByPath, DATUM_RE, lastJob, latestJobs, localTree, outputFiles, pipeline, RUNNERS, runnerIt, SCENARIO_TIMEOUT, writeSpec} from './pipelines-util.js'

type Line = {job: string; datum: string; stream: string; message: string}

describe.concurrent.each(RUNNERS)('failures [%s runner]', (runner) => {
  const rit = runnerIt(runner)

  rit('datum_tries, err_cmd, accept_return_code, duplicate output paths', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    const p = rp.p
    await rp.ok(['create', 'repo', 'in'])
    const dir = localTree(p, 'local', {ok: 'ok\n', flaky: 'flaky\n', exit3: 'exit3\n', recover: 'recover\n', bad: 'bad\n'})
    await rp.ok(['put', 'file', 'in@master:/', ...['ok', 'flaky', 'exit3', 'recover'].flatMap((n) => ['-f', join(dir, n)])])

    // attempt counters live outside /pfs (which is fresh for every attempt): a host dir for
    // the local runner, the worker container's /tmp for docker (one container per worker)
    let counters = '/tmp'
    if (runner === 'local') {
      counters = join(p.dir, 'counters')
      mkdirSync(counters)
    }
    const f = pipeline(
      'f',
      [
        'n=$(basename "$in"); c="$CNT/$n"; t=$(( $(cat "$c" 2>/dev/null || echo 0) + 1 )); echo $t > "$c"; echo "try $t of $n"',
        'case $n in flaky) [ $t -ge 2 ] || exit 1;; exit3) echo three > /pfs/out/exit3; exit 3;; recover|bad) exit 1;; esac',
        'cp "$in" "/pfs/out/$n"',
      ].join('\n'),
      {pfs: {repo: 'in', glob: '/*'}},
      {
        transform: {env: {CNT: counters}, err_cmd: ['sh', '-c', 'case $(basename "$in") in recover) exit 0;; esac; exit 1'], accept_return_code: [3]},
        datum_tries: 2,
      },
    )
    const dup = pipeline('dup', 'case "$in" in */ok|*/flaky) echo same > /pfs/out/same;; *) echo other > "/pfs/out/$(basename "$in")";; esac', {pfs: {repo: 'in', glob: '/*'}})

    // ---- first jobs: f succeeds (flaky retried, exit3 accepted, recover recovered); dup fails
    const created = await rp.okr(['create', 'pipeline', '-f', writeSpec(p, 'f', f), '-f', writeSpec(p, 'dup', dup)])
    const first = await latestJobs(rp)
    const fj = first.f!
    expect(fj).toMatchObject({state: 'JOB_SUCCESS', reason: '', data_processed: 3, data_recovered: 1, data_failed: 0, data_skipped: 0, data_total: 4})
    const fd = await datumsByPath(rp, 'f', fj.job.id)
    expect(Object.fromEntries(Object.entries(fd).map(([k, d]) => [k, d.state]))).toEqual({'/ok': 'SUCCESS', '/flaky': 'SUCCESS', '/exit3': 'SUCCESS', '/recover': 'RECOVERED'})
    // accepted exit code keeps the datum's output; a recovered datum's output is not uploaded
    expect(await outputFiles(rp, 'f@master')).toEqual({'/ok': 'ok\n', '/flaky': 'flaky\n', '/exit3': 'three\n'})
    // the flaky datum ran twice: its first attempt failed, the second succeeded
    const flakyLogs = (await rp.json(['logs', '-p', 'f', '--datum', fd['/flaky']!.datum.id])) as Line[]
    const flakyOut = flakyLogs.filter((l) => l.stream === 'stdout').map((l) => l.message)
    expect(flakyOut).toEqual(['try 1 of flaky', 'try 2 of flaky'])
    expect(flakyLogs.every((l) => l.datum === fd['/flaky']!.datum.id && l.job === fj.job.id)).toBe(true)

    // dup: two datums wrote /same -> JOB_FAILURE naming both datum ids; the output commit carries the error
    const dj = first.dup!
    expect(dj.state).toBe('JOB_FAILURE')
    const m = /^duplicate path output by different datums \(\/same from ([0-9a-f]{64}) and \/same from ([0-9a-f]{64})\)$/.exec(dj.reason)
    expect(m, dj.reason).not.toBeNull()
    const dd = await datumsByPath(rp, 'dup', dj.job.id)
    expect([m![1], m![2]].sort()).toEqual([dd['/ok']!.datum.id, dd['/flaky']!.datum.id].sort())
    expect((await rp.json(['inspect', 'commit', `dup@${dj.job.id}`])).error).toBe(dj.reason)
    // the command that triggered it exited 0 and reported the failure on stderr
    expect(created.stderr).toContain(`dup@${dj.job.id}`)
    expect(created.stderr).toContain('duplicate path output by different datums')

    // ---- a datum that always fails: tried datum_tries (2) times, FAILED, job "datum <id> failed"
    const put = await rp.okr(['put', 'file', 'in@master:/bad', '-f', join(dir, 'bad'), '--json'])
    const putId = JSON.parse(put.stdout).commit.id
    const fj2 = await lastJob(rp, 'f')
    expect(fj2.job.id).toBe(putId)
    const fd2 = await datumsByPath(rp, 'f', putId)
    const badId = fd2['/bad']!.datum.id
    expect(badId).toMatch(DATUM_RE)
    expect(fj2).toMatchObject({state: 'JOB_FAILURE', reason: `datum ${badId} failed`, data_failed: 1, data_skipped: 3, data_total: 5})
    // RECOVERED datums are retried by the next job (recovered again), successful ones skipped
    expect(Object.fromEntries(Object.entries(fd2).map(([k, d]) => [k, d.state]))).toEqual({
      '/ok': 'SKIPPED',
      '/flaky': 'SKIPPED',
      '/exit3': 'SKIPPED',
      '/recover': 'RECOVERED',
      '/bad': 'FAILED',
    })
    expect(fj2.data_recovered).toBe(1)
    expect(put.stderr).toContain(`f@${putId}`)
    expect(put.stderr).toContain(`datum ${badId} failed`)
    const bad = await rp.json(['inspect', 'datum', `f@${putId}`, badId])
    expect(bad).toMatchObject({state: 'FAILED', datum: {id: badId}})
    expect(bad.reason).not.toBe('')
    // --datum (with --job) filters the logs to that datum: exactly its two attempts
    const badLogs = (await rp.json(['logs', '-p', 'f', '-j', putId, '--datum', badId])) as Line[]
    expect(badLogs.length).toBeGreaterThan(0)
    expect(badLogs.every((l) => l.datum === badId && l.job === putId)).toBe(true)
    expect(badLogs.filter((l) => l.stream === 'stdout').map((l) => l.message)).toEqual(['try 1 of bad', 'try 2 of bad'])
  })

  rit('datum_timeout fails the datum with a timeout reason; job_timeout kills the job', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    const p = rp.p
    await rp.ok(['create', 'repo', 'slow'])
    await rp.ok(['put', 'file', 'slow@master:/x', '-f', '-'], {input: 'x\n'})
    const dt = pipeline('dt', 'echo start; sleep 30; echo late > /pfs/out/x', {pfs: {repo: 'slow', glob: '/*'}}, {datum_timeout: '1s', datum_tries: 1})
    const jt = pipeline('jt', 'sleep 30; echo late > /pfs/out/x', {pfs: {repo: 'slow', glob: '/*'}}, {job_timeout: '2s'})
    const r = await rp.okr(['create', 'pipeline', '-f', writeSpec(p, 'dt', dt), '-f', writeSpec(p, 'jt', jt)])

    const latest = await latestJobs(rp)
    // both sleeps were cut short: neither job ran anywhere near the 30 s its user code asks for
    // (job-internal durations, not wall time around the CLI, so machine load does not matter)
    for (const j of [latest.dt!, latest.jt!]) expect(Date.parse(j.finished) - Date.parse(j.started)).toBeLessThan(25_000)
    const dj = latest.dt!
    const [datum] = Object.values(await datumsByPath(rp, 'dt', dj.job.id))
    expect(datum!.state).toBe('FAILED')
    expect(datum!.reason).toMatch(/timed? ?out/i)
    expect(dj).toMatchObject({state: 'JOB_FAILURE', reason: `datum ${datum!.datum.id} failed`, data_failed: 1, data_processed: 0})
    expect(await outputFiles(rp, `dt@${dj.job.id}`)).toEqual({})

    const jj = latest.jt!
    expect(jj.state).toBe('JOB_KILLED')
    expect(jj.reason).toMatch(/timed? ?out/i)
    expect((await rp.json(['inspect', 'commit', `jt@${jj.job.id}`])).error).toBe(jj.reason)
    expect(r.stderr).toContain(`jt@${jj.job.id}`)
  })
})
