import {PachCommand} from '../../cli/base-command.js'
import {parseEditMetadataArgs} from '../../cli/metadata-args.js'

export interface EditMetadataResult {
  /** how many edits were applied (all of them: edits apply together or not at all) */
  edits: number
}

export default class EditMetadata extends PachCommand<typeof EditMetadata, EditMetadataResult> {
  static override summary = "Edit the metadata (key/value pairs) of the cluster, a project, repo, branch or commit."
  static override description =
    'Arguments come in groups of four: <type> <object> <op> <data>. Types: cluster (object ignored; "." by convention), project, repo ([project/]repo), branch ([project/]repo@branch), commit ([project/]repo@<id or branch>[^N|.N]). Ops: add key=value (refused when the key exists), edit key=value, delete key, replace {"k":"v"} or k1=v1;k2=v2. All edits of one command apply together, or none. A finished commit\'s metadata can be edited; the metadata shows in `inspect` (--json/--raw).'
  static override examples = [
    '<%= config.bin %> edit metadata commit images@master add verified_by=me@example.com',
    '<%= config.bin %> edit metadata project default edit support=me@example.com repo images replace \'{"owner":"vision"}\'',
    '<%= config.bin %> edit metadata cluster . add environment=laptop',
  ]
  static override strict = false

  async exec() {
    // the arguments in the order given (oclif's argv of a non-strict command is not)
    const {raw} = await this.parse(EditMetadata)
    const args = raw.flatMap((t) => (t.type === 'arg' ? [t.input] : []))
    const edits = parseEditMetadataArgs(args, this.project)
    this.pach.metadata.edit(edits)
    return {edits: edits.length}
  }

  human() {
    return 'ok'
  }
}
