import {Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'

export default class InspectDefaults extends PachCommand<typeof InspectDefaults, Record<string, unknown>> {
  static override summary = 'Show the pipeline defaults of the project (or, with --cluster, of every project), as they were set.'
  static override examples = ['<%= config.bin %> inspect defaults', '<%= config.bin %> inspect defaults --cluster']
  static override flags = {cluster: Flags.boolean({description: 'the defaults of every project (else: of --project)'})}

  async exec() {
    return this.pach.pipelines.defaults(this.flags.cluster ? {cluster: true} : {project: this.project}) ?? {}
  }

  human(d: Record<string, unknown>) {
    return JSON.stringify(d)
  }
}
