import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {pipelineTable} from '../../cli/format/pps.js'
import type {PipelineInfo} from '../../core/types.js'

export default class ListPipeline extends PachCommand<typeof ListPipeline, PipelineInfo[]> {
  static override summary = 'List pipelines.'
  static override examples = ['<%= config.bin %> list pipeline', '<%= config.bin %> list pipeline edges --json']
  static override args = {pipeline: Args.string({description: 'only this pipeline'})}
  static override flags = {...formatFlags}
  static override aliases = ['list:pipelines']

  async exec() {
    if (this.args.pipeline) return [this.pach.pipelines.inspect(this.project, this.args.pipeline)]
    return this.pach.pipelines.list(this.project)
  }

  human(r: PipelineInfo[]) {
    return pipelineTable(r, this.fullTimestamps)
  }
}
