import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {diffText} from '../../cli/format/tables.js'
import {parseFile} from '../../core/pfs/refs.js'
import type {DiffFileInfo} from '../../core/types.js'

export default class DiffFile extends PachCommand<typeof DiffFile, DiffFileInfo[]> {
  static override summary = 'Show files that differ between two commits (default: the new commit and its parent).'
  static override examples = ['<%= config.bin %> diff file images@master', '<%= config.bin %> diff file images@master:/raw images@master^3:/raw --name-only']
  static override args = {
    new: Args.string({description: 'new <repo>@<ref>[:<path>]', required: true}),
    old: Args.string({description: 'old <repo>@<ref>[:<path>] (default: parent of new)'}),
  }
  static override flags = {
    ...formatFlags,
    'name-only': Flags.boolean({description: 'print only the changed paths'}),
    shallow: Flags.boolean({char: 's', description: 'accepted for pachctl compatibility (diffs are always by hash)'}),
  }

  async exec() {
    const n = parseFile(this.args.new, 'master')
    const o = this.args.old ? parseFile(this.args.old, 'master') : undefined
    return this.pach.files.diff(this.project, n, o)
  }

  human(r: DiffFileInfo[]) {
    if (this.flags['name-only']) {
      return r.map((d) => `${d.new_file && d.old_file ? 'M' : d.new_file ? 'A' : 'D'}\t${(d.new_file ?? d.old_file)!.file.path}`).join('\n')
    }
    return diffText(r)
  }
}
