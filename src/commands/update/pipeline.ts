import {Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {jobFlags} from '../../cli/jobs.js'
import {readSpecs} from '../../cli/specs.js'
import type {PipelineInfo} from '../../core/types.js'

export default class UpdatePipeline extends PachCommand<typeof UpdatePipeline, PipelineInfo[]> {
  static override summary = 'Update pipelines from a spec file. Unchanged datums are not reprocessed unless --reprocess.'
  static override description = 'The salt is kept, so datums whose inputs did not change are skipped even though the code changed (Pachyderm semantics); --reprocess changes the salt and reprocesses everything. Unfinished jobs of the pipeline are killed.'
  static override examples = ['<%= config.bin %> update pipeline -f edges.json', '<%= config.bin %> update pipeline -f edges.json --reprocess']
  static override triggersJobs = true
  static override flags = {
    ...jobFlags,
    file: Flags.string({char: 'f', description: 'spec file, URL, or - for stdin (repeatable)', multiple: true, required: true}),
    reprocess: Flags.boolean({description: 'reprocess every datum (new salt)'}),
  }

  async exec() {
    const specs = await readSpecs(this.flags.file, this.project, this.pach.reporter)
    const infos = specs.map((s) => this.pach.pipelines.put(s.spec, {update: true, reprocess: this.flags.reprocess, file: s.file, userSpec: s.user}).info)
    if (!this.flags.reprocess && this.format === 'human') {
      this.pach.reporter.info('note: datums whose inputs did not change are not reprocessed; pass --reprocess to rerun everything')
    }
    return infos
  }

  human() {
    return ''
  }
}
