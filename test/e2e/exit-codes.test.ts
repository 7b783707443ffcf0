/**
 * E2E: exit 3 (JOB_FAILED) where a failed job is the command's own result — `pach run`, and
 * `wait commit` / `wait job` with --fail-on-error — while the commands that only trigger jobs
 * (put file …) and the wait commands without the flag keep exit 0 (pachctl parity).
 * Local runner: the pipeline's code is `exit 1`. And damaged data is CORRUPT_OBJECT (exit 12),
 * never "internal error: this is a bug".
 */
import Database from 'better-sqlite3'
import {join} from 'node:path'
import {describe, expect} from 'vitest'
import type {RunResult} from '../helpers/cli.js'
import {expectJsonError} from './_util.js'
import {project, pipeline, runnerIt, writeSpec, type Job} from './pipelines-util.js'

type Envelope = {code: string; message: string; hint: string; data: {jobs: Job[]; commit?: {commit: {id: string; repo: {name: string}}}}}

/** Exit 3 and the last stderr line says which job failed; with --json, stdout is one JOB_FAILED envelope. */
function expectJobFailed(r: RunResult, message: RegExp): Envelope | undefined {
  const ctx = `exit ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`
  expect(r.exitCode, ctx).toBe(3)
  const last = r.stderr.trim().split('\n').at(-1)!
  expect(last, ctx).toMatch(/^pach: /)
  expect(last, ctx).toMatch(message)
  expect(last, ctx).toMatch(/\(`pach logs -j bad@[0-9a-f]{32}` shows what the code printed\)$/)
  expect(r.stderr + r.stdout, ctx).not.toContain('    at ')
  if (!r.stdout.trim()) return undefined
  const env = JSON.parse(r.stdout) as {error: Envelope}
  expect(env.error.code, ctx).toBe('JOB_FAILED')
  return env.error
}

describe('exit codes of commands that run or wait for jobs', () => {
  const rit = runnerIt('local')

  rit('a failing pipeline: run exits 3, wait exits 0 unless --fail-on-error, put file exits 0', {timeout: 300_000}, async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'in'])
    await rp.ok(['put', 'file', 'in@master:/a', '-f', '-'], {input: 'a\n'})
    const spec = (name: string, cmd: string, repo: string) => writeSpec(rp.p, name, pipeline(name, cmd, {pfs: {repo, glob: '/*'}}))
    await rp.ok(['create', 'pipeline', '-f', spec('bad', 'exit 1', 'in'), '--detach'])
    await rp.ok(['create', 'pipeline', '-f', spec('good', 'cp "$in" /pfs/out/', 'in'), '--detach'])
    await rp.ok(['create', 'pipeline', '-f', spec('down', 'cp "$bad" /pfs/out/', 'bad'), '--detach'])

    // pach run: its jobs are its result; a failed one (and the one it left unrunnable) → exit 3
    const run = expectJobFailed(await rp.run(['run', '--json']), /^pach: 2 of 3 jobs did not succeed: job bad@[0-9a-f]{32}: failure .*; job down@[0-9a-f]{32}: unrunnable/)!
    const states = Object.fromEntries(run.data.jobs.map((j) => [j.job.pipeline.name, j.state]))
    expect(states).toEqual({bad: 'JOB_FAILURE', good: 'JOB_SUCCESS', down: 'JOB_UNRUNNABLE'})
    const id = run.data.jobs.find((j) => j.job.pipeline.name === 'bad')!.job.id
    expect(await rp.ok(['run'])).toBe('no pending jobs\n')

    // wait job / wait commit: exit 0 whatever the job did (pachctl) …
    expect((await rp.json(['wait', 'job', `bad@${id}`]))[0]).toMatchObject({state: 'JOB_FAILURE'})
    expect(await rp.json(['wait', 'commit', `bad@${id}`])).toMatchObject({commit: {id}})
    // … and exit 3 with --fail-on-error, the envelope carrying the job (and the commit)
    const waitedJob = expectJobFailed(await rp.run(['wait', 'job', `bad@${id}`, '--fail-on-error', '--json']), /^pach: job bad@[0-9a-f]{32}: failure /)!
    expect(waitedJob.data.jobs.map((j) => [j.job.id, j.state])).toEqual([[id, 'JOB_FAILURE']])
    const waitedCommit = expectJobFailed(await rp.run(['wait', 'commit', 'bad@master', '--fail-on-error', '--json']), /^pach: job bad@/)!
    expect(waitedCommit.data.commit).toMatchObject({commit: {id, repo: {name: 'bad'}}})
    expect(waitedCommit.data.jobs.map((j) => j.job.id)).toEqual([id])
    expect(expectJobFailed(await rp.run(['wait', 'job', id, '--fail-on-error']), /^pach: job bad@/)).toBeUndefined() // job set id, human output
    // a job that succeeded, and a commit no job produced, pass --fail-on-error
    await rp.ok(['wait', 'job', `good@${run.data.jobs.find((j) => j.job.pipeline.name === 'good')!.job.id}`, '--fail-on-error'])
    await rp.ok(['wait', 'commit', 'good@master', '--fail-on-error'])
    await rp.ok(['wait', 'commit', 'in@master', '--fail-on-error'])

    // put file triggers and runs the jobs; they fail, the commit succeeded: exit 0
    const put = await rp.okr(['put', 'file', 'in@master:/b', '-f', '-', '--json'], {input: 'b\n'})
    expect(JSON.parse(put.stdout)).toMatchObject({commit: {repo: {name: 'in'}}})
    expect(put.stderr).toMatch(/job bad@[0-9a-f]{32}: failure/)
  })

  rit('a damaged datum set is CORRUPT_OBJECT (exit 12), not a bug', {timeout: 300_000}, async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'in'])
    await rp.ok(['put', 'file', 'in@master:/a', '-f', '-'], {input: 'a\n'})
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'cp', pipeline('cp', 'cp "$in" /pfs/out/', {pfs: {repo: 'in', glob: '/*'}}))])
    const [job] = (await rp.json(['list', 'job', '-p', 'cp'])) as Job[]
    expect(job).toMatchObject({state: 'JOB_SUCCESS'})
    const db = new Database(join(rp.p.dir, '.pach', 'pach.db'))
    try {
      // the set's root node cut short: its bytes no longer hold its items
      const root = db.prepare('SELECT root FROM job_datums WHERE pipeline = ? AND job_id = ?').pluck().get('cp', job!.job.id) as Buffer
      expect(db.prepare('UPDATE datum_nodes SET data = substr(data, 1, 80) WHERE hash = ?').run(root).changes).toBe(1)
    } finally {
      db.close()
    }
    const err = expectJsonError(await rp.run(['list', 'datum', `cp@${job!.job.id}`, '--json']), 12, 'CORRUPT_OBJECT')
    expect(err.message).toMatch(/datum set node \w+ is damaged/)
  })
})
