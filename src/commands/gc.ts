import {Flags} from '@oclif/core'
import {PachCommand} from '../cli/base-command.js'
import {bytesSize} from '../cli/format/values.js'
import type {GcReport} from '../core/maintenance/gc.js'

export default class Gc extends PachCommand<typeof Gc, GcReport> {
  static override summary = 'Remove stored data no commit references (dropped commits, deleted repos, interrupted writes).'
  static override examples = ['<%= config.bin %> gc --dry-run', '<%= config.bin %> gc']
  static override flags = {'dry-run': Flags.boolean({description: 'report what would be removed, remove nothing'})}

  async exec() {
    return this.pach.gc({dryRun: this.flags['dry-run']})
  }

  human(r: GcReport) {
    const verb = r.dry_run ? 'would remove' : 'removed'
    return `${verb} ${r.deleted_packs} packs (${r.repacked_packs} repacked, ${r.orphan_files} orphaned), ${r.deleted_blobs} blobs, ${r.deleted_trees} trees${r.job_dirs ? `, ${r.job_dirs} job scratch dirs` : ''}; ${r.dry_run ? 'would reclaim' : 'reclaimed'} ${bytesSize(r.reclaimed_bytes)}`
  }
}
