import {Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {jobFlags} from '../../cli/jobs.js'
import {noticeClusterOnly, readSpecs, specText} from '../../cli/specs.js'
import {creationOrder, type PipelineSpec} from '../../core/pps/spec/index.js'
import type {PipelineInfo} from '../../core/types.js'

export default class CreatePipeline extends PachCommand<typeof CreatePipeline, PipelineInfo[] | PipelineSpec[]> {
  static override summary = 'Create pipelines from a spec file (JSON or YAML; several specs per file allowed) and run their first jobs.'
  static override description =
    'Every mistake in a spec is reported (one line each). A field that only a cluster acts on gets a notice; a field pach does not implement yet and whose absence would change the result (egress) is refused.'
  static override examples = ['<%= config.bin %> create pipeline -f edges.json', 'cat specs.yaml | <%= config.bin %> create pipeline -f -', '<%= config.bin %> create pipeline -f edges.json --dry-run']
  static override triggersJobs = true
  static override flags = {
    ...jobFlags,
    file: Flags.string({char: 'f', description: 'spec file, URL, or - for stdin (repeatable)', multiple: true, required: true}),
    'dry-run': Flags.boolean({description: 'check the specs as creating them would and print the effective specs; create nothing'}),
  }
  static override aliases = ['create:pipelines']

  async exec() {
    const specs = creationOrder(await readSpecs(this.flags.file, this.project, this.pach.reporter, (project) => this.pach.pipelines.defaultsFor(project)))
    if (this.flags['dry-run']) {
      this.flags.detach = true // nothing was created, so nothing runs
      const effective = specs.map((s, i) => this.pach.pipelines.check(s.spec, {update: false, reprocess: false, file: s.file, batch: specs.slice(0, i).map((b) => b.spec)}))
      noticeClusterOnly(effective, this.pach.reporter)
      return effective
    }
    const infos = specs.map((s) => this.pach.pipelines.put(s.spec, {update: false, reprocess: false, file: s.file, userSpec: s.user}).info)
    noticeClusterOnly(specs.map((s) => s.spec), this.pach.reporter)
    return infos
  }

  human(r: PipelineInfo[] | PipelineSpec[]) {
    return this.flags['dry-run'] ? (r as PipelineSpec[]).map(specText).join('\n\n') : ''
  }
}
