import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {pipelineDetails} from '../../cli/format/pps.js'
import type {PipelineInfo} from '../../core/types.js'

export default class InspectPipeline extends PachCommand<typeof InspectPipeline, PipelineInfo> {
  static override summary = 'Show a pipeline: state, version, effective spec (cluster-only fields included).'
  static override examples = ['<%= config.bin %> inspect pipeline edges']
  static override args = {pipeline: Args.string({description: 'pipeline name', required: true})}
  static override flags = {...formatFlags}

  async exec() {
    return this.pach.pipelines.inspect(this.project, this.args.pipeline)
  }

  human(p: PipelineInfo) {
    return pipelineDetails(p, this.fullTimestamps)
  }
}
