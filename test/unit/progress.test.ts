// The one job progress model (cli/jobs.ts) and the ANSI live region every TTY view draws through (cli/progress.ts).
import {describe, expect, it} from 'vitest'
import {interrupted, JobProgressModel, jobProgressLine} from '../../src/cli/jobs.js'
import {bar, LiveRegion} from '../../src/cli/progress.js'
import type {JobInfo} from '../../src/core/types.js'

const job = (state: JobInfo['state']) => ({job: {pipeline: {name: 'edges', project: {name: 'default'}}, id: 'j1'}, state}) as JobInfo

describe('job progress model', () => {
  it('counts running, processed, skipped and failed datums per job, and drops a job when it ends', () => {
    const m = new JobProgressModel()
    m.handle({type: 'job-start', pipeline: 'edges', id: 'j1', total: 5, toProcess: 3, skipped: 2})
    m.handle({type: 'datum-start', pipeline: 'edges', id: 'j1', datum: 'a'})
    m.handle({type: 'datum-start', pipeline: 'edges', id: 'j1', datum: 'b'})
    m.handle({type: 'datum-end', pipeline: 'edges', id: 'j1', datum: 'a', state: 'FAILED'})
    expect(m.running()).toEqual([{name: 'edges@j1', total: 5, toProcess: 3, skipped: 2, running: 1, done: 1, failed: 1}])
    expect(jobProgressLine(m.running()[0]!)).toBe(`edges@j1 ${bar(3 / 5, 24)} 1/3 processed, 2 skipped, 1 failed, 1 running`)
    expect(m.handle({type: 'job-end', job: job('JOB_FAILURE')})).toMatchObject({state: 'JOB_FAILURE'})
    expect(m.running()).toEqual([])
  })
})

describe('live region', () => {
  it('redraws its lines in place and prints permanent lines above them', () => {
    let out = ''
    const stream = {columns: 40, write: (s: string) => ((out += s), true)} as unknown as NodeJS.WriteStream
    const live = new LiveRegion(stream)
    live.draw(['a', 'b'])
    expect(out).toBe('a\nb\n')
    out = ''
    live.print('done')
    expect(out).toBe('\x1b[1A\x1b[2K\x1b[1A\x1b[2Kdone\n')
    out = ''
    live.draw(['x'.repeat(60)])
    expect(out).toBe('x'.repeat(38) + '…\n') // cut to the width: a wrapped line would break the redraw
    out = ''
    live.clear()
    expect(out).toBe('\x1b[1A\x1b[2K')
    expect(bar(0.5, 4)).toBe('██░░')
    expect(bar(2, 4)).toBe('████')
  })
})

describe('interrupted', () => {
  it('names the jobs left pending and says `pach run` resumes them (at most 3 named)', () => {
    const one = interrupted(['edges@j1'])
    expect([one.message, one.hint, one.exitCode]).toEqual(['interrupted; job edges@j1 is left pending', '`pach run` resumes it', 130])
    const many = interrupted(['a@1', 'b@2', 'c@3', 'd@4', 'e@5'])
    expect([many.message, many.hint]).toEqual(['interrupted; jobs a@1, b@2, c@3 and 2 more are left pending', '`pach run` resumes them'])
    expect(many.data).toEqual({pending: ['a@1', 'b@2', 'c@3', 'd@4', 'e@5']})
    expect(interrupted([]).message).toBe('interrupted')
  })
})
