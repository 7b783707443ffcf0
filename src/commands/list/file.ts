import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {fileTable} from '../../cli/format/tables.js'
import {parseFile} from '../../core/pfs/refs.js'
import type {FileInfo} from '../../core/types.js'

export default class ListFile extends PachCommand<typeof ListFile, FileInfo[]> {
  static override summary = 'List the files directly under a directory (directories end in /, their size is the sum).'
  static override examples = ['<%= config.bin %> list file images@master', '<%= config.bin %> list file images@master:/raw --json']
  static override args = {file: Args.string({description: '<repo>@<ref>[:<dir>]', required: true})}
  static override flags = {...formatFlags}
  static override aliases = ['list:files']

  async exec() {
    return this.pach.files.list(this.project, parseFile(this.args.file, 'master'))
  }

  human(r: FileInfo[]) {
    return fileTable(r)
  }
}
