import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {pipelineTable} from '../../cli/format/pps.js'
import {localImageIds} from '../../cli/jobs.js'
import {InvalidArgumentError} from '../../core/errors.js'
import {driftLine, type ImageDrift} from '../../core/pps/image-drift.js'
import type {PipelineSpec} from '../../core/pps/spec/index.js'
import type {PipelineInfo} from '../../core/types.js'

type Listed = PipelineInfo & {image_drift?: ImageDrift}

export default class ListPipeline extends PachCommand<typeof ListPipeline, Listed[] | PipelineSpec[]> {
  static override summary = 'List pipelines.'
  static override description =
    "--spec prints each pipeline's effective spec instead (JSON objects one after another, as pachctl does; `-o yaml` for YAML, --json for one array): what `create pipeline -f` accepts back. A pipeline whose image tag now names another local image than its last job ran with (the image was rebuilt under the same tag) is marked `*` with a line under the table, and has `image_drift` {image, used, job, now} in --json (not in pachctl's --raw form); `update pipeline -f SPEC --reprocess` reruns it with the new image."
  static override examples = ['<%= config.bin %> list pipeline', '<%= config.bin %> list pipeline edges --json', '<%= config.bin %> list pipeline --spec > specs.json']
  static override args = {pipeline: Args.string({description: 'only this pipeline'})}
  static override flags = {...formatFlags, spec: Flags.boolean({char: 's', description: "print the pipelines' effective specs (`create pipeline` compatible)"})}
  static override aliases = ['list:pipelines']

  async exec() {
    if (this.flags.spec && this.flags.raw) throw new InvalidArgumentError('USAGE', 'cannot set both --raw and --spec', {hint: '--spec prints specs, --raw prints pipeline infos; use -o yaml with --spec for YAML'})
    const infos = this.args.pipeline ? [this.pach.pipelines.inspect(this.project, this.args.pipeline)] : this.pach.pipelines.list(this.project)
    if (this.flags.spec) return infos.map((p) => p.details as unknown as PipelineSpec)
    const lookup = this.format === 'raw-json' || this.format === 'raw-yaml' ? undefined : localImageIds(this.pach)
    if (!lookup) return infos
    const images = infos.map((p) => ({name: p.pipeline.name, image: (p.details as {transform?: {image?: string}}).transform?.image}))
    const drift = await this.pach.pipelines.imageDrift(this.project, images, lookup)
    return infos.map((p): Listed => (drift.has(p.pipeline.name) ? {...p, image_drift: drift.get(p.pipeline.name)} : p))
  }

  human(r: Listed[] | PipelineSpec[]) {
    if (this.flags.spec) return (r as PipelineSpec[]).map((s) => JSON.stringify(s, null, 2)).join('\n')
    const list = r as Listed[]
    const table = pipelineTable(list.map((p) => (p.image_drift ? {...p, pipeline: {...p.pipeline, name: `${p.pipeline.name} *`}} : p)), this.fullTimestamps)
    const drifted = list.filter((p) => p.image_drift)
    if (!drifted.length) return table
    const lines = drifted.map((p) => `* ${driftLine(p.pipeline.name, p.image_drift!)}`)
    return `${table.trimEnd()}\n\n${lines.join('\n')}\n(\`pach update pipeline -f SPEC --reprocess\` reruns every datum with the new image)`
  }
}
