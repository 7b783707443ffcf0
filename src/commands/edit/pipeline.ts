import {Args, Flags} from '@oclif/core'
import {rmSync} from 'node:fs'
import {PachCommand} from '../../cli/base-command.js'
import {editInEditor, editorCommand} from '../../cli/editor.js'
import {jobFlags} from '../../cli/jobs.js'
import {noticeClusterOnly} from '../../cli/specs.js'
import {parseEditedSpec} from '../../core/pps/spec/index.js'
import type {PipelineInfo} from '../../core/types.js'

export default class EditPipeline extends PachCommand<typeof EditPipeline, PipelineInfo> {
  static override summary = "Edit a pipeline's spec in your text editor, then update the pipeline with it."
  static override description =
    'Opens the spec as you wrote it (JSON, or YAML with -o yaml) in --editor, $EDITOR or vi. When the editor exits, the spec is checked as `update pipeline` checks it: if it is unchanged nothing happens; if it has a mistake nothing changes, every mistake is reported and your edited file is kept (its path is printed).'
  static override examples = ['<%= config.bin %> edit pipeline edges', '<%= config.bin %> edit pipeline edges --editor "code --wait" -o yaml', '<%= config.bin %> edit pipeline edges --reprocess']
  static override triggersJobs = true
  static override args = {pipeline: Args.string({description: 'pipeline name', required: true})}
  static override flags = {
    ...jobFlags,
    reprocess: Flags.boolean({description: 'reprocess every datum (new salt)'}),
    editor: Flags.string({description: 'the editor to run (default: $EDITOR, else vi)'}),
    output: Flags.string({char: 'o', description: 'format to edit the spec in', options: ['json', 'yaml'], default: 'json'}),
  }

  /** -o is the editing format here, not the output format. */
  protected override get format(): 'human' | 'json' {
    return this.flags.json || this.flags.raw ? 'json' : 'human'
  }

  async exec() {
    const info = this.pach.pipelines.inspect(this.project, this.args.pipeline)
    const before = JSON.parse(info.user_spec_json) as unknown
    const yaml = this.flags.output === 'yaml'
    const text = yaml ? (await import('yaml')).default.stringify(before) : JSON.stringify(before, null, 2) + '\n'
    const edited = editInEditor(text, `${info.pipeline.name}.pipeline`, yaml ? 'yaml' : 'json', editorCommand(this.flags.editor))
    try {
      const parsed = parseEditedSpec(edited.text, edited.file, {name: info.pipeline.name, project: info.pipeline.project.name}, before, (project) => this.pach.pipelines.defaultsFor(project))
      if (parsed.unchanged) {
        this.flags.detach = true
        this.pach.reporter.info('Pipeline unchanged, no update will be performed.')
        rmSync(edited.file, {force: true})
        return info
      }
      for (const w of parsed.warnings) this.pach.reporter.warn(w)
      const spec = parsed.specs[0]!
      const updated = this.pach.pipelines.put(spec, {update: true, reprocess: this.flags.reprocess, file: edited.file, userSpec: JSON.stringify(parsed.userSpecs[0])}).info
      noticeClusterOnly(parsed.specs, this.pach.reporter)
      rmSync(edited.file, {force: true})
      return updated
    } catch (e) {
      this.pach.reporter.info(`your edited spec is kept in ${edited.file}; fix it and run \`pach update pipeline -f ${edited.file}\``)
      throw e
    }
  }

  human() {
    return ''
  }
}
