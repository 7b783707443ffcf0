import {Args, Flags} from '@oclif/core'
import {renameSync, rmSync, statSync} from 'node:fs'
import {open, type FileHandle} from 'node:fs/promises'
import {once} from 'node:events'
import {basename, dirname, join, resolve} from 'node:path'
import {PachCommand} from '../cli/base-command.js'
import {bytesSize} from '../cli/format/values.js'
import type {ExportSummary} from '../core/archive/export.js'
import {InvalidArgumentError, NotFoundError} from '../core/errors.js'
import {writeAll} from '../core/store/pack-store.js'

/**
 * The archive's sinks. A file is written in order in the background with at most `limit`
 * bytes queued, so reading and verifying the next chunks overlaps the disk writes; stdout (a
 * pipe) is written directly, waiting when it asks (its backpressure).
 */
function fileSink(fh: FileHandle, limit = 16 * 1024 * 1024) {
  const queue: {done: Promise<void>; n: number; end: number}[] = []
  let tail: Promise<void> = Promise.resolve()
  let queued = 0
  let pos = 0
  let failed: unknown
  const check = () => {
    if (failed) throw failed
  }
  return {
    async write(bufs: Buffer[]): Promise<void> {
      check()
      let n = 0
      for (const b of bufs) n += b.length
      const at = pos
      pos += n
      queued += n
      tail = tail.then(() => (failed ? undefined : writeAll(fh, bufs, n, at))).catch((e) => void (failed ??= e))
      queue.push({done: tail, n, end: pos})
      while (queued > limit) {
        const q = queue.shift()!
        await q.done
        queued -= q.n
        check()
      }
    },
    /** resolves once the first `bytes` bytes are on the file */
    async writtenUpTo(bytes: number): Promise<void> {
      const q = queue.find((e) => e.end >= bytes)
      if (q) await q.done
      check()
    },
    async flush(): Promise<void> {
      await tail
      check()
    },
  }
}

function stdoutSink(): (bufs: Buffer[]) => Promise<void> {
  return async (bufs) => {
    for (const b of bufs) process.stdout.write(b)
    if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain')
  }
}

export default class Export extends PachCommand<typeof Export, ExportSummary> {
  static override summary = 'Write repos with their whole history, pipelines, jobs and datums, and only the data they need, to one archive.'
  static override description = [
    'Without REPO, everything in the store (every project). With REPO…, those repos plus every repo they are provenant on (a pipeline output brings its inputs), and the pipelines whose output repos are included.',
    'The archive is one stream (header, records, objects, trailer; each section checksummed): `-o -` writes it to stdout for a pipe. Secrets are not included; the summary names those the pipelines read. Restore with `pach import`.',
    'Chunks are copied as stored, each with its id, as tar copies files: `pach import` refuses an archive in which any chunk does not match its id, before it writes anything, and `pach fsck` checks the store. With --verify every chunk is checked against its id while exporting (on a second core; ~0.7 s of CPU per GiB), and a damaged store fails the export with CORRUPT_OBJECT and no archive.',
  ].join('\n')
  static override examples = ['<%= config.bin %> export -o backup.pacharc', '<%= config.bin %> export -o backup.pacharc --verify', '<%= config.bin %> export -o images.pacharc images edges --json', '<%= config.bin %> export -o - | ssh host pach import -']
  static override strict = false
  static override args = {repos: Args.string({description: 'user repos to export, REPO or PROJECT/REPO (several may follow); none = everything'})}
  static override flags = {
    output: Flags.string({char: 'o', description: 'archive file to write, or - for stdout', required: true}),
    verify: Flags.boolean({description: 'check every chunk against its id while exporting; a damaged chunk fails the export (CORRUPT_OBJECT)', default: false}),
  }

  async exec(): Promise<ExportSummary> {
    const {argv} = await this.parse(Export)
    const repos = (argv as string[]).map((a) => {
      const m = /^(?:([^/@:]+)\/)?([^/@:]+)$/.exec(a)
      if (!m) throw new InvalidArgumentError('INVALID_NAME', `${JSON.stringify(a)} is not a repo name`, {hint: 'name repos as REPO or PROJECT/REPO'})
      return {project: m[1] ?? this.project, name: m[2]!}
    })
    const pachVersion = this.config.version
    const verify = this.flags.verify
    const out = this.flags.output
    if (out === '-') {
      if (this.flags.json) throw new InvalidArgumentError('USAGE', '--json and -o - both want stdout', {hint: 'write the archive to a file with -o FILE, or drop --json'})
      // stdout (a pipe or a file) is written synchronously, or drained before the sink returns:
      // a buffer is done with once the sink's promise resolves
      return this.pach.exportArchive(stdoutSink(), {repos, pachVersion, verify, writtenUpTo: async () => {}})
    }
    // written under a temporary name and renamed: FILE is a whole archive or absent
    const file = resolve(out)
    if (!statSync(dirname(file), {throwIfNoEntry: false})?.isDirectory()) {
      throw new NotFoundError('LOCAL_FILE_NOT_FOUND', `directory ${dirname(file)} does not exist`, {hint: 'create it first, or write the archive elsewhere with -o'})
    }
    const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`)
    const fh = await open(tmp, 'wx')
    try {
      const sink = fileSink(fh)
      const r = await this.pach.exportArchive((bufs) => sink.write(bufs), {repos, pachVersion, verify, writtenUpTo: (n) => sink.writtenUpTo(n)})
      await sink.flush()
      await fh.close()
      renameSync(tmp, file)
      return r
    } catch (e) {
      await fh.close().catch(() => {})
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
      `exported ${r.repos.length} repo${r.repos.length === 1 ? '' : 's'}, ${r.rows.commits ?? 0} commits, ${r.pipelines.length} pipelines, ${r.rows.jobs ?? 0} jobs, ${r.rows.datums ?? 0} datums; ${r.blobs} chunks (${bytesSize(r.blob_bytes)}${r.verified ? ', each checked against its id' : ''}), archive ${bytesSize(r.bytes)}`,
    ]
    if (r.added_by_provenance.length) lines.push(`added as provenance of the repos asked for: ${r.added_by_provenance.join(', ')}`)
    if (r.secrets_needed.length) lines.push(`not included (recreate them with \`pach create secret\` after import): secrets ${r.secrets_needed.join(', ')}`)
    return lines.join('\n')
  }
}
