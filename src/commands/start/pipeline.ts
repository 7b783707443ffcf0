import {Args} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {jobFlags} from '../../cli/jobs.js'
import type {PipelineInfo} from '../../core/types.js'

export default class StartPipeline extends PachCommand<typeof StartPipeline, PipelineInfo> {
  static override summary = 'Restart a stopped pipeline: one new job runs against the current input heads.'
  static override examples = ['<%= config.bin %> start pipeline edges']
  static override args = {pipeline: Args.string({description: 'pipeline name', required: true})}
  static override triggersJobs = true
  static override flags = {...jobFlags}

  async exec() {
    return this.pach.pipelines.start(this.project, this.args.pipeline).info
  }

  human() {
    return ''
  }
}
