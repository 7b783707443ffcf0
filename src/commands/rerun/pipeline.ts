import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {jobFlags} from '../../cli/jobs.js'
import type {PipelineSpec} from '../../core/pps/spec/index.js'
import type {PipelineInfo} from '../../core/types.js'

export default class RerunPipeline extends PachCommand<typeof RerunPipeline, PipelineInfo> {
  static override summary = 'Re-submit a pipeline\'s effective spec as an update (a new job); --reprocess reruns every datum.'
  static override examples = ['<%= config.bin %> rerun pipeline edges --reprocess']
  static override args = {pipeline: Args.string({description: 'pipeline name', required: true})}
  static override triggersJobs = true
  static override flags = {...jobFlags, reprocess: Flags.boolean({description: 'reprocess every datum (new salt)'})}

  async exec() {
    const p = this.pach.pipelines.must(this.project, this.args.pipeline)
    const spec = JSON.parse(p.spec) as PipelineSpec
    return this.pach.pipelines.put(spec, {update: true, reprocess: this.flags.reprocess, file: `pipeline ${p.name}`, userSpec: p.user_spec}).info
  }

  human() {
    return ''
  }
}
