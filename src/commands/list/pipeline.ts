import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {pipelineTable} from '../../cli/format/pps.js'
import {InvalidArgumentError} from '../../core/errors.js'
import type {PipelineSpec} from '../../core/pps/spec/index.js'
import type {PipelineInfo} from '../../core/types.js'

export default class ListPipeline extends PachCommand<typeof ListPipeline, PipelineInfo[] | PipelineSpec[]> {
  static override summary = 'List pipelines.'
  static override description =
    "--spec prints each pipeline's effective spec instead (JSON objects one after another, as pachctl does; `-o yaml` for YAML, --json for one array): what `create pipeline -f` accepts back."
  static override examples = ['<%= config.bin %> list pipeline', '<%= config.bin %> list pipeline edges --json', '<%= config.bin %> list pipeline --spec > specs.json']
  static override args = {pipeline: Args.string({description: 'only this pipeline'})}
  static override flags = {...formatFlags, spec: Flags.boolean({char: 's', description: "print the pipelines' effective specs (`create pipeline` compatible)"})}
  static override aliases = ['list:pipelines']

  async exec() {
    if (this.flags.spec && this.flags.raw) throw new InvalidArgumentError('USAGE', 'cannot set both --raw and --spec', {hint: '--spec prints specs, --raw prints pipeline infos; use -o yaml with --spec for YAML'})
    const infos = this.args.pipeline ? [this.pach.pipelines.inspect(this.project, this.args.pipeline)] : this.pach.pipelines.list(this.project)
    return this.flags.spec ? infos.map((p) => p.details as unknown as PipelineSpec) : infos
  }

  human(r: PipelineInfo[] | PipelineSpec[]) {
    if (this.flags.spec) return (r as PipelineSpec[]).map((s) => JSON.stringify(s, null, 2)).join('\n')
    return pipelineTable(r as PipelineInfo[], this.fullTimestamps)
  }
}
