import {Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {defaultsResult, defaultsText, type DefaultsResult} from '../../cli/defaults.js'
import {jobFlags} from '../../cli/jobs.js'

export default class DeleteDefaults extends PachCommand<typeof DeleteDefaults, DefaultsResult> {
  static override summary = 'Delete the pipeline defaults of the project (or, with --cluster, of every project).'
  static override description =
    'Defaults are a document {"create_pipeline_request": {...}} whose fields fill what a pipeline spec leaves out (merged as Pachyderm merges them: cluster, then project, then the spec; null deletes). They apply when a pipeline is created or updated; --regenerate applies them to the existing pipelines now.'
  static override examples = ['<%= config.bin %> delete defaults', '<%= config.bin %> delete defaults --cluster --regenerate']
  static override triggersJobs = true
  static override flags = {
    ...jobFlags,
    cluster: Flags.boolean({description: 'the defaults of every project (else: of --project)'}),
    regenerate: Flags.boolean({description: 'update the pipelines in scope whose effective spec the new defaults change'}),
    reprocess: Flags.boolean({description: 'regenerate, reprocessing every datum of the updated pipelines (implies --regenerate)'}),
    'dry-run': Flags.boolean({description: 'change nothing; with --regenerate, list the pipelines that would be updated'}),
  }

  async exec() {
    const scope = this.flags.cluster ? ({cluster: true} as const) : {project: this.project}
    const doc = undefined
    const {affected} = this.pach.pipelines.setDefaults(scope, doc, {regenerate: this.flags.regenerate, reprocess: this.flags.reprocess, dryRun: this.flags['dry-run']})
    if (this.flags['dry-run']) this.flags.detach = true
    return defaultsResult(scope, affected)
  }

  human(r: DefaultsResult) {
    return defaultsText(r, this.flags.regenerate || this.flags.reprocess)
  }
}
