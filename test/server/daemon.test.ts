/**
 * The daemon in `pach serve`: jobs run when their inputs land (whoever made the commit) and
 * cron inputs tick on schedule, with no `pach run`.
 */
import {describe, expect, it} from 'vitest'
import {serve, until} from '../helpers/serve.js'


describe('pach serve: the daemon', () => {
  it('runs a job for a commit made with --detach by the CLI, and ticks a cron input on schedule', async () => {
    const s = await serve({args: ['--runner', 'local']})
    const p = s.project
    await p.ok(['create', 'repo', 'in'])
    const copy = {pipeline: {name: 'copy'}, input: {pfs: {repo: 'in', glob: '/*'}}, transform: {cmd: ['sh', '-c', 'cp /pfs/in/* /pfs/out/']}}
    await p.ok(['create', 'pipeline', '-f', '-'], {input: JSON.stringify(copy), env: {PACH_DETACH: '1'}})
    await p.ok(['put', 'file', 'in@master:/a', '-f', '-'], {input: 'hello', env: {PACH_DETACH: '1'}})
    const job = await until('the copy job', async () => {
      const jobs = (await p.json(['list', 'job', '-p', 'copy'])) as {state: string}[]
      return jobs[0]?.state === 'JOB_SUCCESS' ? jobs[0] : undefined
    })
    expect(job.state).toBe('JOB_SUCCESS')
    expect(await p.ok(['get', 'file', 'copy@master:/a'])).toBe('hello')

    const tick = {pipeline: {name: 'tick'}, input: {cron: {name: 't', spec: '@every 1s'}}, transform: {cmd: ['sh', '-c', 'n=$(ls /pfs/t); echo tick > /pfs/out/$n']}}
    await p.ok(['create', 'pipeline', '-f', '-'], {input: JSON.stringify(tick), env: {PACH_DETACH: '1'}})
    // ticks a second apart, each with its job (one datum per tick file): two outputs appear
    const outs = await until('two cron ticks with their jobs', async () => {
      const jobs = (await p.json(['list', 'job', '-p', 'tick'])) as {state: string}[]
      if (jobs.some((j) => j.state === 'JOB_FAILURE')) throw new Error(`a tick job failed: ${JSON.stringify(jobs)}`)
      const files = (await p.json(['list', 'file', 'tick@master:/'])) as {file: {path: string}}[]
      return files.length >= 2 ? files : undefined
    })
    expect(outs[0]!.file.path).toMatch(/^\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(s.stderr()).toMatch(/copy@[0-9a-f]{8}.*JOB_SUCCESS|copy.*success/i)
  })
})
