import {Args, Flags} from '@oclif/core'
import {createWriteStream, renameSync, rmSync} from 'node:fs'
import {once} from 'node:events'
import {basename, dirname, join, resolve} from 'node:path'
import type {Writable} from 'node:stream'
import {PachCommand} from '../cli/base-command.js'
import {bytesSize} from '../cli/format/values.js'
import {exportArchive, type ExportSummary} from '../core/archive/export.js'
import {InvalidArgumentError} from '../core/errors.js'

/** Write a buffer, waiting when the stream asks (its backpressure); a stream error rejects. */
function sinkOf(ws: Writable): (buf: Buffer) => Promise<void> {
  let failed: Error | undefined
  ws.on('error', (e) => (failed ??= e))
  return async (buf) => {
    if (failed) throw failed
    if (!ws.write(buf)) await Promise.race([once(ws, 'drain'), once(ws, 'error').then(([e]) => Promise.reject(e))])
  }
}

export default class Export extends PachCommand<typeof Export, ExportSummary> {
  static override summary = 'Write repos with their whole history, pipelines, jobs and datums, and only the data they need, to one archive.'
  static override description = [
    'Without REPO, everything in the store (every project). With REPO…, those repos plus every repo they are provenant on (a pipeline output brings its inputs), and the pipelines whose output repos are included.',
    'The archive is one stream (header, records, objects, trailer; each section checksummed): `-o -` writes it to stdout for a pipe. Secrets are not included; the summary names those the pipelines read. Restore with `pach import`.',
  ].join('\n')
  static override examples = ['<%= config.bin %> export -o backup.pacharc', '<%= config.bin %> export -o images.pacharc images edges --json', '<%= config.bin %> export -o - | ssh host pach import -']
  static override strict = false
  static override args = {repos: Args.string({description: 'user repos to export, REPO or PROJECT/REPO (several may follow); none = everything'})}
  static override flags = {output: Flags.string({char: 'o', description: 'archive file to write, or - for stdout', required: true})}

  async exec(): Promise<ExportSummary> {
    const {argv} = await this.parse(Export)
    const repos = (argv as string[]).map((a) => {
      const m = /^(?:([^/@:]+)\/)?([^/@:]+)$/.exec(a)
      if (!m) throw new InvalidArgumentError('INVALID_NAME', `${JSON.stringify(a)} is not a repo name`, {hint: 'name repos as REPO or PROJECT/REPO'})
      return {project: m[1] ?? this.project, name: m[2]!}
    })
    const pachVersion = this.config.version
    const out = this.flags.output
    if (out === '-') {
      if (this.flags.json) throw new InvalidArgumentError('USAGE', '--json and -o - both want stdout', {hint: 'write the archive to a file with -o FILE, or drop --json'})
      const r = await exportArchive(this.pach.ctx, sinkOf(process.stdout), {repos, pachVersion})
      return r
    }
    // written under a temporary name and renamed: FILE is a whole archive or absent
    const file = resolve(out)
    const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`)
    const ws = createWriteStream(tmp, {flags: 'wx'})
    try {
      const r = await exportArchive(this.pach.ctx, sinkOf(ws), {repos, pachVersion})
      ws.end()
      await once(ws, 'close')
      renameSync(tmp, file)
      return r
    } catch (e) {
      ws.destroy()
      rmSync(tmp, {force: true})
      throw e
    }
  }

  protected override print(r: ExportSummary): void {
    if (this.flags.output === '-') {
      // stdout is the archive: the summary goes to stderr
      process.stderr.write(this.human(r) + '\n')
      return
    }
    super.print(r)
  }

  human(r: ExportSummary) {
    const lines = [
      `exported ${r.repos.length} repo${r.repos.length === 1 ? '' : 's'}, ${r.rows.commits ?? 0} commits, ${r.pipelines.length} pipelines, ${r.rows.jobs ?? 0} jobs, ${r.rows.datums ?? 0} datums; ${r.blobs} chunks (${bytesSize(r.blob_bytes)}), archive ${bytesSize(r.bytes)}`,
    ]
    if (r.added_by_provenance.length) lines.push(`added as provenance of the repos asked for: ${r.added_by_provenance.join(', ')}`)
    if (r.secrets_needed.length) lines.push(`not included (recreate them with \`pach create secret\` after import): secrets ${r.secrets_needed.join(', ')}`)
    return lines.join('\n')
  }
}
