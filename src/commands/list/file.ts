import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {FILE_HEADERS, FILE_HISTORY_HEADERS, fileCells, fileHistoryCells} from '../../cli/format/tables.js'
import {writeTableStream} from '../../cli/format/values.js'
import {historyFlag, parseHistory} from '../../cli/history-flag.js'
import {Listing} from '../../cli/listing.js'
import {parseFile} from '../../core/pfs/refs.js'
import type {FileInfo} from '../../core/types.js'

export default class ListFile extends PachCommand<typeof ListFile, Listing<FileInfo>> {
  static override summary = 'List the files directly under a directory (directories end in /, their size is the sum).'
  static override description =
    'With --history N, each entry is listed with its last N versions back through the commit history (newest first), each with the commit that introduced it; --history -1 (or all) lists every version.'
  static override examples = [
    '<%= config.bin %> list file images@master',
    '<%= config.bin %> list file images@master:/raw --json',
    '<%= config.bin %> list file images@master:/raw --history all',
  ]
  static override args = {file: Args.string({description: '<repo>@<ref>[:<dir>]', required: true})}
  static override flags = {...formatFlags, history: historyFlag}
  static override aliases = ['list:files']

  // A directory can hold millions of entries: the listing is written as it is read
  // (cli/listing.ts), the table one block of rows at a time (writeTableStream: columns sized
  // over the rows read so far), so the first line comes out at once and memory holds a block.
  async exec(): Promise<Listing<FileInfo>> {
    const ref = parseFile(this.args.file, 'master')
    const history = parseHistory(this.flags.history)
    const files = history ? this.pach.files.listHistory(this.project, ref, history) : this.pach.files.list(this.project, ref)
    const full = this.fullTimestamps
    return new Listing<FileInfo>(files, (write) => {
      const now = Date.now()
      const cells = function* () {
        for (const f of files) yield history ? fileHistoryCells(f, full, now) : fileCells(f)
      }
      writeTableStream(history ? FILE_HISTORY_HEADERS : FILE_HEADERS, cells(), write)
    })
  }

  human(r: Listing<FileInfo>): string {
    let out = ''
    r.human((s) => (out += s))
    return out
  }
}
