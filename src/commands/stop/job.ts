import {Args} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {parseJob} from '../../core/pfs/refs.js'
import type {JobInfo} from '../../core/types.js'

export default class StopJob extends PachCommand<typeof StopJob, JobInfo> {
  static override summary = 'Stop a job: it becomes JOB_KILLED and its output commit is finished with that reason.'
  static override examples = ['<%= config.bin %> stop job edges@<id>']
  static override args = {job: Args.string({description: '<pipeline>@<job-id>', required: true})}

  async exec() {
    const j = parseJob(this.args.job)
    return this.pach.jobs.stop(this.project, j.pipeline, j.id)
  }

  human() {
    return ''
  }
}
