import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {fileDetails} from '../../cli/format/tables.js'
import {parseFile} from '../../core/pfs/refs.js'
import type {FileInfo} from '../../core/types.js'

export default class InspectFile extends PachCommand<typeof InspectFile, FileInfo> {
  static override summary = 'Show details of a file or directory.'
  static override examples = ['<%= config.bin %> inspect file images@master:/cat.png']
  static override args = {file: Args.string({description: '<repo>@<ref>:<path>', required: true})}
  static override flags = {...formatFlags}

  async exec() {
    return this.pach.files.inspect(this.project, parseFile(this.args.file, 'master'))
  }

  human(f: FileInfo) {
    return fileDetails(f)
  }
}
