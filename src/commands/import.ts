import {Args} from '@oclif/core'
import {statSync} from 'node:fs'
import {PachCommand} from '../cli/base-command.js'
import {bytesSize} from '../cli/format/values.js'
import {NotFoundError} from '../core/errors.js'
import type {ImportSummary} from '../core/archive/import.js'

export default class Import extends PachCommand<typeof Import, ImportSummary> {
  static override summary = 'Restore an archive written by `pach export` into this project: ids, history, pipelines, jobs and datums exactly.'
  static override description = [
    'Into an empty project or one that already has data: what the archive holds and this project lacks is added; what both hold must be equal (importing an archive twice changes nothing); a repo, branch, commit, pipeline or job that exists here otherwise is refused (IMPORT_CONFLICT) before anything is written.',
    'The whole archive is verified before anything becomes visible: a damaged or truncated one is refused (ARCHIVE_DAMAGED, exit 12).',
  ].join('\n')
  static override examples = ['<%= config.bin %> import backup.pacharc', 'pach export -o - | <%= config.bin %> import - --pach-dir ../copy']
  static override args = {file: Args.string({description: 'archive file, or - for stdin', required: true})}

  async exec(): Promise<ImportSummary> {
    const file = this.args.file
    if (file !== '-' && !statSync(file, {throwIfNoEntry: false})?.isFile()) {
      throw new NotFoundError('LOCAL_FILE_NOT_FOUND', `archive ${file} does not exist or is not a file`, {hint: 'give a file written by `pach export -o FILE`, or - for stdin'})
    }
    const input = file === '-' ? process.stdin : {file}
    return this.pach.importArchive(input)
  }

  human(r: ImportSummary) {
    const n = (t: string) => r.inserted[t] ?? 0
    if (r.noop) return `nothing to import: all ${r.present} records of the archive are already here`
    const lines = [
      `imported ${n('repos')} repos, ${n('commits')} commits, ${n('branches')} branches, ${n('pipelines')} pipelines, ${n('jobs')} jobs, ${n('datums')} datums; ${r.blobs_written} new chunks (${bytesSize(r.blob_bytes)} in the archive)`,
    ]
    if (r.secrets_needed.length) lines.push(`the pipelines read secrets the archive does not hold: ${r.secrets_needed.join(', ')} (create them with \`pach create secret\`)`)
    if (r.chunker_differs) lines.push('note: the archive was chunked differently from this project; its files read the same, but equal bytes written here later will not deduplicate against them')
    return lines.join('\n')
  }
}
