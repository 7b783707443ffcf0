import {Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {defaultsResult, defaultsText, type DefaultsResult} from '../../cli/defaults.js'
import {jobFlags} from '../../cli/jobs.js'
import {readSpecText} from '../../cli/specs.js'
import {parseDefaults} from '../../core/pps/spec/index.js'

export default class UpdateDefaults extends PachCommand<typeof UpdateDefaults, DefaultsResult> {
  static override summary = 'Replace the pipeline defaults of the project (or, with --cluster, of every project); the same as create defaults.'
  static override description =
    'Defaults are a document {"create_pipeline_request": {...}} whose fields fill what a pipeline spec leaves out (merged as Pachyderm merges them: cluster, then project, then the spec; null deletes). They apply when a pipeline is created or updated; --regenerate applies them to the existing pipelines now.'
  static override examples = ['<%= config.bin %> update defaults -f defaults.json --regenerate']
  static override triggersJobs = true
  static override flags = {
    ...jobFlags,
    cluster: Flags.boolean({description: 'the defaults of every project (else: of --project)'}),
    file: Flags.string({char: 'f', description: 'the defaults file (JSON or YAML; URL; - for stdin)', default: '-'}),
    regenerate: Flags.boolean({description: 'update the pipelines in scope whose effective spec the new defaults change'}),
    reprocess: Flags.boolean({description: 'regenerate, reprocessing every datum of the updated pipelines (implies --regenerate)'}),
    'dry-run': Flags.boolean({description: 'change nothing; with --regenerate, list the pipelines that would be updated'}),
  }

  async exec() {
    const scope = this.flags.cluster ? ({cluster: true} as const) : {project: this.project}
    const doc = parseDefaults(await readSpecText(this.flags.file), this.flags.file === '-' ? '<stdin>' : this.flags.file)
    const {affected} = this.pach.pipelines.setDefaults(scope, doc, {regenerate: this.flags.regenerate, reprocess: this.flags.reprocess, dryRun: this.flags['dry-run']})
    if (this.flags['dry-run']) this.flags.detach = true
    return defaultsResult(scope, affected)
  }

  human(r: DefaultsResult) {
    return defaultsText(r, this.flags.regenerate || this.flags.reprocess)
  }
}
