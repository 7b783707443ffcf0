import {Args} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import type {PipelineInfo} from '../../core/types.js'

export default class StopPipeline extends PachCommand<typeof StopPipeline, PipelineInfo> {
  static override summary = 'Stop a pipeline: new input commits make no jobs until it is started again.'
  static override examples = ['<%= config.bin %> stop pipeline edges']
  static override args = {pipeline: Args.string({description: 'pipeline name', required: true})}

  async exec() {
    return this.pach.pipelines.stop(this.project, this.args.pipeline)
  }

  human() {
    return ''
  }
}
