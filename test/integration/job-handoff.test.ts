/**
 * Core integration: jobs left to another pach process (core/pps/job-handoff.ts). runPending
 * tells, once per job, a job another live process leased first (the lease race, simulated by
 * taking the lease for the parent process's pid just before this one tries) and the jobs that
 * wait for it; a job whose holder is dead is not told but taken back and run.
 */
import {execFileSync} from 'node:child_process'
import {hostname} from 'node:os'
import {describe, expect, it} from 'vitest'
import * as jobRows from '../../src/core/db/jobs.js'
import type {Pach} from '../../src/core/pach.js'
import {parseCommit} from '../../src/core/pfs/refs.js'
import type {JobEvent} from '../../src/core/pps/job-service.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {FakeRunner} from '../helpers/fake-runner.js'
import {tempPach, text} from '../helpers/project.js'

const put = (pach: Pach, path: string, s: string) => pach.files.put('default', parseCommit('in@master'), [{path, open: text(s)}])
const spec = (name: string) => parseSpecs(JSON.stringify({pipeline: {name}, transform: {cmd: ['x']}, input: {pfs: {repo: 'in', glob: '/*'}}}), 't.json').specs[0]!

/** Every lease attempt of `pach` finds the job already leased by `pid` (another process won the race). */
function loseLeasesTo(pach: Pach, pid: number): void {
  const lifecycle = pach.jobs.lifecycle
  const real = lifecycle.lease.bind(lifecycle)
  lifecycle.lease = (j) => {
    jobRows.leaseJob(pach.ctx.db, j, {pid, host: hostname(), at: pach.ctx.now()})
    return real(j)
  }
}

describe('jobs left to another pach process', () => {
  it('a lost lease and the jobs waiting behind it are each told once, with the holder; none is run here', async () => {
    const {pach} = tempPach()
    pach.repos.create('default', 'in')
    await put(pach, '/a', 'a')
    const {id: x} = pach.pipelines.put(spec('p'), {update: false, reprocess: false, file: 't'})
    loseLeasesTo(pach, process.ppid)
    const events: JobEvent[] = []
    const runner = async () => new FakeRunner(() => 0)
    expect(await pach.jobs.runPending({runner, onEvent: (e) => events.push(e)})).toEqual([])
    expect(events).toEqual([{type: 'job-elsewhere', project: 'default', pipeline: 'p', id: x, pid: process.ppid, host: null}])

    // a new job of the same pipeline waits for it: told with the job it runs after; told once
    await put(pach, '/b', 'b')
    const y = pach.commits.inspect('default', parseCommit('in@master')).commit.id
    events.length = 0
    expect(await pach.jobs.runPending({runner, onEvent: (e) => events.push(e)})).toEqual([])
    expect(await pach.jobs.runPending({runner, onEvent: (e) => events.push(e)})).toEqual([])
    expect(events).toEqual([{type: 'job-elsewhere', project: 'default', pipeline: 'p', id: y, pid: process.ppid, host: null, after: {pipeline: 'p', id: x}}])
    expect(pach.jobs.handedOff().map((j) => j.id)).toEqual([x, y])
  })

  it('a job whose holder died is not told: it is taken back and run', async () => {
    const {pach} = tempPach()
    pach.repos.create('default', 'in')
    await put(pach, '/a', 'a')
    const {id} = pach.pipelines.put(spec('p'), {update: false, reprocess: false, file: 't'})
    const dead = Number(execFileSync('sh', ['-c', 'echo $$'], {encoding: 'utf8'}).trim())
    jobRows.leaseJob(pach.ctx.db, {project: 'default', pipeline: 'p', id}, {pid: dead, host: hostname(), at: pach.ctx.now()})
    const events: JobEvent[] = []
    const done = await pach.jobs.runPending({runner: async () => new FakeRunner(() => 0), onEvent: (e) => events.push(e)})
    expect(done.map((j) => [j.job.id, j.state])).toEqual([[id, 'JOB_SUCCESS']])
    expect(events.filter((e) => e.type === 'job-elsewhere')).toEqual([])
  })
})
