import {Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {jobFlags} from '../../cli/jobs.js'
import {readSpecs} from '../../cli/specs.js'
import type {PipelineInfo} from '../../core/types.js'

export default class CreatePipeline extends PachCommand<typeof CreatePipeline, PipelineInfo[]> {
  static override summary = 'Create pipelines from a spec file (JSON or YAML; several specs per file allowed) and run their first jobs.'
  static override examples = ['<%= config.bin %> create pipeline -f edges.json', 'cat specs.yaml | <%= config.bin %> create pipeline -f -']
  static override triggersJobs = true
  static override flags = {
    ...jobFlags,
    file: Flags.string({char: 'f', description: 'spec file, URL, or - for stdin (repeatable)', multiple: true, required: true}),
    'dry-run': Flags.boolean({description: 'validate and print the effective specs; create nothing'}),
  }
  static override aliases = ['create:pipelines']

  async exec() {
    const specs = await readSpecs(this.flags.file, this.project, this.pach.reporter)
    if (this.flags['dry-run']) return specs.map((s) => ({pipeline: s.spec.pipeline, details: s.spec}) as unknown as PipelineInfo)
    return specs.map((s) => this.pach.pipelines.put(s.spec, {update: false, reprocess: false, file: s.file, userSpec: s.user}).info)
  }

  human() {
    return ''
  }
}
