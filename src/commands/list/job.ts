import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {jobTable} from '../../cli/format/pps.js'
import type {JobInfo} from '../../core/types.js'

export default class ListJob extends PachCommand<typeof ListJob, JobInfo[]> {
  static override summary = 'List jobs, newest first (of one pipeline with -p, or of one job set by id).'
  static override examples = ['<%= config.bin %> list job', '<%= config.bin %> list job -p edges', '<%= config.bin %> list job <id>']
  static override args = {id: Args.string({description: 'a job set (global) id'})}
  static override flags = {
    ...formatFlags,
    pipeline: Flags.string({char: 'p', description: 'only jobs of this pipeline'}),
    number: Flags.integer({char: 'n', description: 'at most this many'}),
  }
  static override aliases = ['list:jobs']

  async exec() {
    return this.pach.jobs.list({project: this.project, pipeline: this.flags.pipeline, id: this.args.id, number: this.flags.number})
  }

  human(r: JobInfo[]) {
    return jobTable(r, this.fullTimestamps)
  }
}
