import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {fileTable} from '../../cli/format/tables.js'
import {parseFile} from '../../core/pfs/refs.js'
import type {FileInfo} from '../../core/types.js'

export default class GlobFile extends PachCommand<typeof GlobFile, FileInfo[]> {
  static override summary = 'List files and directories matching a Pachyderm glob pattern.'
  static override examples = ['<%= config.bin %> glob file "images@master:/*"', '<%= config.bin %> glob file "images@master:/**.png"']
  static override args = {pattern: Args.string({description: '"<repo>@<ref>:<pattern>"', required: true})}
  static override flags = {...formatFlags}
  static override aliases = ['glob:files']

  async exec() {
    const s = this.args.pattern
    const at = s.indexOf('@')
    const colon = at >= 0 ? s.indexOf(':', at) : -1
    const ref = parseFile(colon >= 0 ? s.slice(0, colon) : s, 'master')
    return this.pach.files.glob(this.project, ref.commit, colon >= 0 ? s.slice(colon + 1) : '/')
  }

  human(r: FileInfo[]) {
    return fileTable(r)
  }
}
