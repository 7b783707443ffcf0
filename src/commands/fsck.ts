import {Flags} from '@oclif/core'
import {PachCommand} from '../cli/base-command.js'
import {bytesSize} from '../cli/format/values.js'
import {CorruptObjectError} from '../core/errors.js'
import type {FsckReport} from '../core/maintenance/fsck.js'

export default class Fsck extends PachCommand<typeof Fsck, FsckReport> {
  static override summary = 'Verify every stored chunk and every reference; names damaged files and commits.'
  static override description = 'Reads all pack files and re-hashes every blob, walks every commit tree, and checks branch and parent references. Exits 12 when something is damaged. Unreferenced data is reported as garbage (harmless; `pach gc` removes it).'
  static override examples = ['<%= config.bin %> fsck', '<%= config.bin %> fsck --json']
  static override flags = {'no-read-data': Flags.boolean({description: 'check structure only, without re-reading blob bytes'})}

  async exec() {
    const r = this.pach.fsck({readData: !this.flags['no-read-data']})
    if (!r.ok) {
      // human: the report on stdout, then the error line; --json: one document, the error envelope carrying the report
      if (this.format === 'human') this.print(r)
      throw new CorruptObjectError(`fsck found ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`, {
        hint: 'damaged files are listed in the report; restore them from another copy or delete them',
        data: r as unknown as Record<string, unknown>,
      })
    }
    return r
  }

  human(r: FsckReport) {
    const lines = r.problems.map((p) => `${p.kind}: ${p.message}`)
    lines.push(
      `checked ${r.checked.commits} commits, ${r.checked.trees} trees, ${r.checked.files} file entries, ${r.checked.packs} packs, ${r.checked.blobs} blobs (${bytesSize(r.checked.bytes)})`,
    )
    const g = r.garbage
    if (g.packs || g.blobs || g.trees || g.tmp_files) {
      lines.push(`garbage (run \`pach gc\`): ${g.packs} unindexed packs, ${g.blobs} unreferenced blobs, ${g.trees} unreferenced trees, ${g.tmp_files} temp files of interrupted writes (${bytesSize(g.bytes)})`)
    }
    lines.push(r.ok ? 'no errors were found' : `${r.problems.length} problems found`)
    return lines.join('\n')
  }
}
