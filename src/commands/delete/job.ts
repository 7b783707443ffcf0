import {Args} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {parseJob} from '../../core/pfs/refs.js'

type R = {job: {pipeline: {name: string; project: {name: string}}; id: string}; state: string}

export default class DeleteJob extends PachCommand<typeof DeleteJob, R> {
  static override summary = 'Delete a job: it leaves `list job`; its output commit stays. A job waiting to run is killed first; a running job is refused (stop it first).'
  static override examples = ['<%= config.bin %> delete job edges@<id>']
  static override args = {job: Args.string({description: '<pipeline>@<job-id>', required: true})}

  async exec() {
    const j = parseJob(this.args.job)
    return this.pach.pipelines.deleteJob(this.project, j.pipeline, j.id)
  }

  human() {
    return ''
  }
}
