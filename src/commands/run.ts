import {Flags} from '@oclif/core'
import {PachCommand} from '../cli/base-command.js'
import {jobFailure, RUN_FAILS, runJobs} from '../cli/jobs.js'
import type {JobInfo} from '../core/types.js'

export default class Run extends PachCommand<typeof Run, JobInfo[]> {
  static override summary = 'Run every pending job (and resume jobs a killed pach left behind); write due cron ticks first.'
  static override description =
    'Exits 3 (JOB_FAILED) when a job it ran ended JOB_FAILURE or JOB_UNRUNNABLE; the error data lists every job it ran. A JOB_KILLED job (stop job, pipeline update or delete, deleted commit) does not fail it.'
  static override examples = ['<%= config.bin %> run', '<%= config.bin %> run --runner local', '<%= config.bin %> run -p edges']
  static override flags = {
    runner: Flags.string({description: 'where pipeline code runs', options: ['docker', 'local', 'auto'], env: 'PACH_RUNNER'}),
    pipeline: Flags.string({char: 'p', description: 'only jobs of these pipelines', multiple: true}),
  }

  async exec() {
    // no background ticker: what is due on a schedule is applied now
    this.pach.branches.applyCronTriggers()
    this.pach.pipelines.cronTicks(new Date(this.pach.now()))
    const ran = await runJobs(this.pach, {runner: this.flags.runner, signal: this.signal, quiet: this.format !== 'human', pipelines: this.flags.pipeline})
    const failed = jobFailure(ran, RUN_FAILS)
    if (failed) throw failed
    this.waiting = ran.length ? 0 : this.pach.jobs.pending(this.flags.pipeline).length
    return ran
  }

  /** pending jobs none of which could run here (waiting for inputs, or left to another pach process: stderr says so) */
  private waiting = 0

  human(r: JobInfo[]) {
    if (r.length) return ''
    return this.waiting ? `no job could run now; ${this.waiting} pending job${this.waiting === 1 ? ' waits' : 's wait'} (\`pach list job\` shows them)` : 'no pending jobs'
  }
}
