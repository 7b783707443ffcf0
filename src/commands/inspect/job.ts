import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {jobDetails} from '../../cli/format/pps.js'
import {parseJob} from '../../core/pfs/refs.js'
import type {JobInfo} from '../../core/types.js'

export default class InspectJob extends PachCommand<typeof InspectJob, JobInfo> {
  static override summary = 'Show a job: state, counters, stats, output commit.'
  static override examples = ['<%= config.bin %> inspect job edges@<id>']
  static override args = {job: Args.string({description: '<pipeline>@<job-id>', required: true})}
  static override flags = {...formatFlags}

  async exec() {
    const j = parseJob(this.args.job)
    return this.pach.jobs.inspect(this.project, j.pipeline, j.id)
  }

  human(j: JobInfo) {
    return jobDetails(j, this.fullTimestamps)
  }
}
