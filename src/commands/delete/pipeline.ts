import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {InvalidArgumentError} from '../../core/errors.js'
import type {PipelineInfo} from '../../core/types.js'

export default class DeletePipeline extends PachCommand<typeof DeletePipeline, PipelineInfo[]> {
  static override summary = 'Delete a pipeline with its jobs and its output, spec and meta repos.'
  static override examples = ['<%= config.bin %> delete pipeline edges', '<%= config.bin %> delete pipeline edges --keep-repo', '<%= config.bin %> delete pipeline --all']
  static override args = {pipeline: Args.string({description: 'pipeline name'})}
  static override flags = {
    'keep-repo': Flags.boolean({description: 'keep the output repo (as a plain repo)'}),
    force: Flags.boolean({char: 'f', description: 'delete even if other pipelines read its output'}),
    all: Flags.boolean({description: 'delete every pipeline of the project (downstream first)'}),
  }
  static override aliases = ['delete:pipelines']

  async exec() {
    const opts = {keepRepo: this.flags['keep-repo'], force: this.flags.force}
    if (this.flags.all) {
      const out: PipelineInfo[] = []
      // newest first: downstream pipelines were created after their inputs
      for (const p of this.pach.pipelines.list(this.project)) out.push(this.pach.pipelines.delete(this.project, p.pipeline.name, {...opts, force: true}))
      return out
    }
    if (!this.args.pipeline) throw new InvalidArgumentError('MISSING_ARGUMENT', 'delete pipeline needs a pipeline name (or --all)')
    return [this.pach.pipelines.delete(this.project, this.args.pipeline, opts)]
  }

  human() {
    return ''
  }
}
