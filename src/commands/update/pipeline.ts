import {Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {jobFlags, localImageIds} from '../../cli/jobs.js'
import {driftLine} from '../../core/pps/image-drift.js'
import {noticeClusterOnly, readSpecs, specText} from '../../cli/specs.js'
import {creationOrder, type PipelineSpec} from '../../core/pps/spec/index.js'
import type {PipelineInfo} from '../../core/types.js'

export default class UpdatePipeline extends PachCommand<typeof UpdatePipeline, PipelineInfo[] | PipelineSpec[]> {
  static override summary = 'Update pipelines from a spec file. Unchanged datums are not reprocessed unless --reprocess.'
  static override description =
    'The salt is kept, so datums whose inputs did not change are skipped even though the code changed (Pachyderm semantics); --reprocess changes the salt and reprocesses everything. Unfinished jobs of the pipeline are killed. --dry-run checks the specs and prints the effective specs, changing nothing.'
  static override examples = ['<%= config.bin %> update pipeline -f edges.json', '<%= config.bin %> update pipeline -f edges.json --reprocess', '<%= config.bin %> update pipeline -f edges.json --dry-run']
  static override triggersJobs = true
  static override flags = {
    ...jobFlags,
    file: Flags.string({char: 'f', description: 'spec file, URL, or - for stdin (repeatable)', multiple: true, required: true}),
    reprocess: Flags.boolean({description: 'reprocess every datum (new salt)'}),
    'dry-run': Flags.boolean({description: 'check the specs as updating would and print the effective specs; change nothing'}),
  }

  async exec() {
    const specs = creationOrder(await readSpecs(this.flags.file, this.project, this.pach.reporter, (project) => this.pach.pipelines.defaultsFor(project)))
    const opts = {update: true, reprocess: this.flags.reprocess}
    if (this.flags['dry-run']) {
      this.flags.detach = true // nothing was changed, so nothing runs
      const effective = specs.map((s, i) => this.pach.pipelines.check(s.spec, {...opts, file: s.file, batch: specs.slice(0, i).map((b) => b.spec)}))
      noticeClusterOnly(effective, this.pach.reporter)
      return effective
    }
    // image drift: a spec's image tag that now names another local image than its last job used
    const lookup = localImageIds(this.pach, this.flags.runner)
    const existing = specs.filter((s) => this.pach.pipelines.get(s.spec.pipeline.project.name, s.spec.pipeline.name))
    const drift = new Map<string, string>()
    for (const s of existing) {
      const project = s.spec.pipeline.project.name
      const d = lookup && (await this.pach.pipelines.imageDrift(project, [{name: s.spec.pipeline.name, image: s.spec.transform?.image}], lookup)).get(s.spec.pipeline.name)
      if (d) drift.set(`${project}/${s.spec.pipeline.name}`, driftLine(s.spec.pipeline.name, d))
    }
    const infos = specs.map((s) => this.pach.pipelines.put(s.spec, {...opts, file: s.file, userSpec: s.user}).info)
    for (const info of infos) {
      const line = drift.get(`${info.pipeline.project.name}/${info.pipeline.name}`)
      if (!line) continue
      const then = this.flags.reprocess ? 'every datum reruns with the new image' : 'new and changed datums run with the new image, the outputs of unchanged ones stay as the old image made them (--reprocess reruns them all)'
      this.pach.reporter.info(`${line}: updated to version ${info.version}; ${then}`)
    }
    noticeClusterOnly(specs.map((s) => s.spec), this.pach.reporter)
    if (!this.flags.reprocess && this.format === 'human') {
      this.pach.reporter.info('note: datums whose inputs did not change are not reprocessed; pass --reprocess to rerun everything')
    }
    return infos
  }

  human(r: PipelineInfo[] | PipelineSpec[]) {
    return this.flags['dry-run'] ? (r as PipelineSpec[]).map(specText).join('\n\n') : ''
  }
}
