/**
 * E2E: two pach processes and a running job, from the built CLI with the local runner. A job
 * runs in one process (`pach run` in the background, its datum blocking).
 * - `pach restart datum PIPELINE@JOB FILTER[,FILTER…]` from a second process: the datum's
 *   user code is killed and runs again (its log says so) and the job succeeds; each refusal
 *   is one line with its code: a job that does not exist, one that is not running (waiting,
 *   or ended), a filter no running datum matches (pachd's text), an empty filter, a process
 *   that does not answer (stopped with SIGSTOP) and one that is gone (SIGKILL).
 * - a second writer whose jobs are left to the first process says so on stderr, once per job
 *   (not in --json data), and Ctrl-C does not call those jobs "left pending".
 */
import {execa} from 'execa'
import {existsSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {BIN} from '../helpers/cli.js'
import {expectJsonError, expectUserError} from './_util.js'
import {pipeline, project, writeSpec, type Job, type RP} from './pipelines-util.js'

/** A pipeline whose datum blocks (sleeps 120 s) on its first run and copies its input on the next: it leaves `<dir>/started` when it blocks. */
async function blockingPipeline(rp: RP, glob = '/*'): Promise<string> {
  const marker = join(rp.p.dir, 'started')
  const cmd = `if [ -e ${marker} ]; then cp -r /pfs/data/* /pfs/out/; else echo blocking; touch ${marker}; sleep 120; fi`
  await rp.ok(['create', 'repo', 'data'])
  await rp.ok(['create', 'pipeline', '--detach', '-f', writeSpec(rp.p, 'slow', pipeline('slow', cmd, {pfs: {repo: 'data', glob}}))])
  return marker
}

/** `pach run` in the background (killed when the test ends first), once the datum's user code is blocking (wrapped: the process is a thenable). */
async function runUntilBlocked(rp: RP, marker: string, ctx: {onTestFinished: (fn: () => void) => void}) {
  const run = execa('node', [BIN, 'run'], {cwd: rp.p.dir, env: {PACH_RUNNER: 'local', PACH_DETACH: ''}, reject: false})
  ctx.onTestFinished(() => {
    if (run.exitCode === undefined) run.kill('SIGKILL')
  })
  for (let i = 0; i < 300 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 50))
  expect(existsSync(marker)).toBe(true)
  return {run}
}

describe('restart datum', () => {
  it('a second pach process restarts the stuck datum of a running job: it runs again and the job succeeds', async (ctx) => {
    const rp = await project(ctx, 'local')
    const marker = await blockingPipeline(rp, '/logs/*')
    const id = (await rp.json(['put', 'file', 'data@master:/logs/a.txt', '-f', '-', '--detach'], {input: 'a'})).commit.id as string
    const t0 = Date.now()
    const {run} = await runUntilBlocked(rp, marker, ctx)
    const r = await rp.run(['restart', 'datum', `slow@${id}`, '/logs/a.txt'])
    expect(r, r.stderr).toMatchObject({exitCode: 0, stdout: '', stderr: ''})
    const done = await run
    expect(done.exitCode, done.stderr).toBe(0)
    expect(Date.now() - t0).toBeLessThan(60_000) // not the 120 s the first attempt would have slept
    expect(await rp.json(['inspect', 'job', `slow@${id}`])).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1, data_failed: 0})
    expect(await rp.ok(['get', 'file', `slow@${id}:/logs/a.txt`])).toBe('a')
    const logs = await rp.ok(['logs', '-j', `slow@${id}`])
    expect(logs).toBe('blocking\npach: attempt 1/3 restarted by `pach restart datum`\n')
    // the job has ended: restarting is refused with its state and what to do
    expect(expectUserError(await rp.run(['restart', 'datum', `slow@${id}`, '/logs/a.txt']), 5)).toBe(
      `pach: job slow@${id} is not running (JOB_SUCCESS); only a running job's datums can be restarted (a job that ended keeps its datums; \`pach rerun pipeline slow --reprocess\` runs every datum again)`,
    )
  })

  it('--json prints the job and the attempts restarted; a filter matching no running datum names those running; a datum id or a base64 hash names a datum', async (ctx) => {
    const rp = await project(ctx, 'local')
    const marker = await blockingPipeline(rp)
    const id = (await rp.json(['put', 'file', 'data@master:/b.txt', '-f', '-', '--detach'], {input: 'b'})).commit.id as string
    const {run} = await runUntilBlocked(rp, marker, ctx)
    // pachd's filter list: split on ",", empty pieces dropped; every piece must match an input
    const line = expectUserError(await rp.run(['restart', 'datum', `slow@${id}`, '/b.txt,,/nope.txt']), 4)
    expect(line).toMatch(new RegExp(`^pach: datum matching filter \\[/b.txt /nope.txt\\] could not be found for job ID ${id} \\(datums running now: /b.txt \\([0-9a-f]{12}\\); a filter is an input path or content hash, as \`pach list datum\` shows them, or a datum id\\)$`))
    const e = expectJsonError(await rp.run(['restart', 'datum', `slow@${id}`, '/nope.txt', '--json']), 4, 'DATUM_NOT_FOUND') as {data?: {running?: {datum: string; paths: string[]}[]}}
    const datum = e.data!.running![0]!.datum
    expect(e.data!.running).toEqual([{datum, paths: ['/b.txt']}])
    // the datum id and the input's content hash in base64 (as pachd's protos carry it) both name it
    const hash = (await rp.json(['inspect', 'file', 'data@master:/b.txt'])).hash as string
    const r = await rp.json(['restart', 'datum', `slow@${id}`, `${datum},${Buffer.from(hash, 'hex').toString('base64')}`])
    expect(r).toEqual({job: {pipeline: {name: 'slow', project: {name: 'default'}}, id}, restarted: [{datum, attempt: 1}]})
    expect((await run).exitCode).toBe(0)
    const [d] = await rp.json(['list', 'datum', `slow@${id}`])
    expect(d).toMatchObject({datum: {id: datum}, state: 'SUCCESS', data: [{file: {path: '/b.txt'}, hash}]})
  })

  it('refuses with one line: a job not found, a job waiting to run, an empty filter, a process that does not answer or is gone', async (ctx) => {
    const rp = await project(ctx, 'local')
    const marker = await blockingPipeline(rp)
    const id = (await rp.json(['put', 'file', 'data@master:/c.txt', '-f', '-', '--detach'], {input: 'c'})).commit.id as string
    expectUserError(await rp.run(['restart', 'datum', `slow@${'0'.repeat(32)}`, '/c.txt']), 4, /^pach: job slow@0{32} not found/)
    expectUserError(await rp.run(['restart', 'datum', `nope@${id}`, '/c.txt']), 4, /^pach: pipeline nope not found/)
    expect(expectUserError(await rp.run(['restart', 'datum', `slow@${id}`, '/c.txt']), 5)).toBe(
      `pach: job slow@${id} is not running (JOB_CREATED); only a running job's datums can be restarted (it waits to run; \`pach run\` runs it)`,
    )
    expectJsonError(await rp.run(['restart', 'datum', `slow@${id}`, '/c.txt', '--json']), 5, 'JOB_NOT_RUNNING')
    expectUserError(await rp.run(['restart', 'datum', `slow@${id}`, ',']), 2, /^pach: no datum filter given/)

    const {run} = await runUntilBlocked(rp, marker, ctx)
    process.kill(run.pid!, 'SIGSTOP')
    try {
      const t0 = Date.now()
      const line = expectUserError(await rp.run(['restart', 'datum', `slow@${id}`, '/c.txt']), 1)
      expect(line).toBe(
        `pach: job slow@${id}: the pach process running it (pid ${run.pid}) did not answer the restart within 3 s (it may be suspended or busy; try again, or stop the job with \`pach stop job slow@${id}\`)`,
      )
      expect(Date.now() - t0).toBeGreaterThanOrEqual(3000)
      expectJsonError(await rp.run(['restart', 'datum', `slow@${id}`, '/c.txt', '--json']), 1, 'JOB_NOT_ANSWERING')
    } finally {
      process.kill(run.pid!, 'SIGCONT')
    }
    // awake again, it answers; a request that timed out was withdrawn, so the datum restarts once
    expect(await rp.ok(['restart', 'datum', `slow@${id}`, '/c.txt'])).toBe('')
    expect((await run).exitCode).toBe(0)
    expect(((await rp.json(['inspect', 'job', `slow@${id}`])) as Job).state).toBe('JOB_SUCCESS')
    expect((await rp.ok(['logs', '-j', `slow@${id}`])).match(/restarted by/g)).toHaveLength(1)

    // a process that died with the job still running: said at once, and `pach run` takes it over
    rmSync(marker)
    const z = (await rp.json(['put', 'file', 'data@master:/d.txt', '-f', '-', '--detach'], {input: 'd'})).commit.id as string
    const {run: doomed} = await runUntilBlocked(rp, marker, ctx)
    doomed.kill('SIGKILL')
    await doomed
    const t1 = Date.now()
    expect(expectUserError(await rp.run(['restart', 'datum', `slow@${z}`, '/d.txt']), 1)).toBe(
      `pach: job slow@${z}: the pach process running it (pid ${doomed.pid}) is gone (\`pach run\` takes the job over and runs it again)`,
    )
    expect(Date.now() - t1).toBeLessThan(3000)
    await rp.ok(['run'])
    expect(((await rp.json(['inspect', 'job', `slow@${z}`])) as Job).state).toBe('JOB_SUCCESS')
  })
})

describe('a job left to another pach process', () => {
  it('a second writer says on stderr which jobs the running process takes and how to follow them; Ctrl-C does not call them left pending', async (ctx) => {
    const rp = await project(ctx, 'local')
    const marker = await blockingPipeline(rp)
    await rp.ok(['create', 'pipeline', '--detach', '-f', writeSpec(rp.p, 'down', pipeline('down', 'cp -r /pfs/slow/* /pfs/out/', {pfs: {repo: 'slow', glob: '/*'}}))])
    const x = (await rp.json(['put', 'file', 'data@master:/a', '-f', '-', '--detach'], {input: 'a'})).commit.id as string
    const {run} = await runUntilBlocked(rp, marker, ctx)
    const pid = run.pid!
    const follow = (ref: string) => `\`pach wait job ${ref}\` waits for it, \`pach logs -j ${ref}\` shows its logs`
    const left = (ref: string, after: string) => `job ${ref}: left to another pach process (pid ${pid}), which runs it after job ${after}; ${follow(ref)}`

    // the second writer: its --json result is data only; stderr names each job and where it runs
    const put = await rp.run(['put', 'file', 'data@master:/b', '-f', '-', '--json'], {input: 'b'})
    expect(put.exitCode, put.stderr).toBe(0)
    const y = JSON.parse(put.stdout).commit.id as string
    expect(put.stdout).not.toContain('another pach process')
    expect(put.stderr.trim().split('\n')).toEqual([left(`down@${x}`, `slow@${x}`), left(`slow@${y}`, `slow@${x}`), left(`down@${y}`, `down@${x}`)])

    // `pach run` finds nothing it can run: it says so, the lines on stderr say where they run
    const r = await rp.run(['run'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toBe('no job could run now; 3 pending jobs wait (`pach list job` shows them)\n')
    expect(r.stderr.trim().split('\n')).toHaveLength(3)

    // `wait job` polls: the line once, and Ctrl-C says interrupted without calling the job left pending
    const wait = execa('node', [BIN, 'wait', 'job', `slow@${y}`], {cwd: rp.p.dir, env: {PACH_RUNNER: 'local', PACH_DETACH: ''}, reject: false})
    await new Promise((res) => setTimeout(res, 2000))
    wait.kill('SIGINT')
    const w = await wait
    expect(w.exitCode).toBe(130)
    const lines = w.stderr.trim().split('\n')
    expect(lines.filter((l) => l === left(`slow@${y}`, `slow@${x}`))).toHaveLength(1)
    expect(lines.at(-1)).toBe('pach: interrupted')

    // the first process runs them all once the stuck datum is restarted
    await rp.ok(['restart', 'datum', `slow@${x}`, '/a'])
    expect((await run).exitCode).toBe(0)
    for (const ref of [`slow@${x}`, `down@${x}`, `slow@${y}`, `down@${y}`]) expect(((await rp.json(['inspect', 'job', ref])) as Job).state, ref).toBe('JOB_SUCCESS')
    expect(await rp.ok(['get', 'file', `down@${y}:/b`])).toBe('b')
  })
})
