import {PachCommand} from '../../cli/base-command.js'
import {bytesSize} from '../../cli/format/values.js'
import type {PurgeAuditEntry} from '../../core/maintenance/purge.js'

/** `pach purge log`: the audit entries of every purge, oldest first (core/maintenance/purge.ts). */
export default class PurgeLog extends PachCommand<typeof PurgeLog, {entries: PurgeAuditEntry[]; sweep_pending: boolean}> {
  static override summary = 'List the audit entries of past purges: when, what path (size, content hash), why; never the content.'
  static override examples = ['<%= config.bin %> purge log', '<%= config.bin %> purge log --json']

  async exec() {
    return this.pach.purgeLog()
  }

  human(r: {entries: PurgeAuditEntry[]; sweep_pending: boolean}) {
    const lines: string[] = []
    for (const e of r.entries) {
      lines.push(`${e.at}  ${e.project}/${e.repo}@${e.all_branches ? '*' : e.branch}:${e.pattern}  ${e.commits} commit(s), ${e.output_commits} output commit(s), ${e.datums} datum(s)${e.recomputed ? `, ${e.recomputed} recomputed` : ''}${e.description ? `  "${e.description}"` : ''}`)
      for (const f of e.files) lines.push(`    ${f.path}  ${bytesSize(f.size)}  ${f.hash}`)
    }
    if (!r.entries.length) lines.push('no purges')
    if (r.sweep_pending) lines.push('a purge was interrupted before its bytes were removed: run `pach gc`')
    return lines.join('\n')
  }
}
