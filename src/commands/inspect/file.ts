import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {fileDetails, fileHistoryTable} from '../../cli/format/tables.js'
import {historyFlag, parseHistory} from '../../cli/history-flag.js'
import {parseFile} from '../../core/pfs/refs.js'
import type {FileInfo} from '../../core/types.js'

export default class InspectFile extends PachCommand<typeof InspectFile, FileInfo | FileInfo[]> {
  static override summary = 'Show details of a file or directory.'
  static override description =
    'With --history N, the last N versions of the path back through the commit history instead (newest first, each with the commit that introduced it; --json: an array); -1 (or all) gives every version.'
  static override examples = ['<%= config.bin %> inspect file images@master:/cat.png', '<%= config.bin %> inspect file images@master:/cat.png --history 3']
  static override args = {file: Args.string({description: '<repo>@<ref>:<path>', required: true})}
  static override flags = {...formatFlags, history: historyFlag}

  async exec() {
    const ref = parseFile(this.args.file, 'master')
    const history = parseHistory(this.flags.history)
    return history ? this.pach.files.history(this.project, ref, history) : this.pach.files.inspect(this.project, ref)
  }

  human(f: FileInfo | FileInfo[]) {
    return Array.isArray(f) ? fileHistoryTable(f, this.fullTimestamps) : fileDetails(f)
  }
}
