import {statSync} from 'node:fs'
import {resolve} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {PachCommand, writeOut} from '../cli/base-command.js'
import {bytesSize} from '../cli/format/values.js'
import {jobFlags, runTriggered} from '../cli/jobs.js'
import {LocalFolder, watchFolder} from '../cli/watch-folder.js'
import {InvalidArgumentError, isPachError, NotFoundError, printable} from '../core/errors.js'
import type {SyncResult} from '../core/pfs/folder-sync.js'
import {formatCommit, parseCommit} from '../core/pfs/refs.js'

interface WatchSummary {
  commits: number
}

/**
 * `pach watch DIR REPO@BRANCH`: keep a branch in step with a folder (core/pfs/folder-sync.ts;
 * the folder and its events: cli/watch-folder.ts). On start the difference since the last
 * run is committed; then each settled batch of changes is one commit, and the pipelines it
 * triggers run (unless --detach) before the next batch is committed. Syncs run one at a time;
 * events meanwhile join the next batch. One line per commit on stdout (--json: one JSON
 * object per line); notes on stderr. Ctrl-C stops it cleanly (a sync under way is dropped
 * whole, nothing half-written) and exits 0.
 */
export default class Watch extends PachCommand<typeof Watch, WatchSummary> {
  static override summary = 'Keep a branch in step with a local folder: every settled batch of changes becomes one commit, and the pipelines run.'
  static override description = `The branch mirrors the folder: files added, changed or deleted in the folder are added, changed or deleted in the branch, and on start the difference since the last run is committed (so files put into the branch by other means are removed then). Ignored: .pach, .git, .hg, .svn, editors' temp files (*.swp, *~, .#*, 4913, *.tmp, …) and the patterns of a .pachignore at the folder's top (gitignore's grammar). A file modified less than --settle ms ago waits for the next batch, so a file still being written is never committed half-written. Stop with Ctrl-C.`
  static override examples = [
    '<%= config.bin %> watch ./photos images@master',
    '<%= config.bin %> watch ./data raw@master --once            # commit the difference and exit',
    '<%= config.bin %> watch ./data raw@master --json --detach   # one JSON line per commit; jobs left to `pach run` or `pach serve`',
  ]
  static override args = {
    dir: Args.string({description: 'the folder to watch', required: true}),
    branch: Args.string({description: '<repo>@<branch> to keep in step (default branch: master)', required: true}),
  }
  static override flags = {
    ...jobFlags,
    debounce: Flags.integer({description: 'ms without events that close a batch', default: 1000, min: 0}),
    settle: Flags.integer({description: 'ms a file must be unmodified before it is committed', default: 1000, min: 0}),
    once: Flags.boolean({description: 'commit the difference between the folder and the branch, then exit'}),
  }

  async exec(): Promise<WatchSummary> {
    const f = this.flags
    const ref = parseCommit(this.args.branch, 'master')
    if (ref.id || ref.ancestry) {
      throw new InvalidArgumentError('INVALID_ADDRESS', `pach watch writes to a branch, not to a commit (${this.args.branch})`, {hint: 'give REPO@BRANCH, e.g. images@master'})
    }
    this.pach.repos.inspect(ref.repo, this.project)
    const dir = resolve(this.args.dir)
    let isDir = false
    try {
      isDir = statSync(dir).isDirectory()
    } catch {
      throw new NotFoundError('LOCAL_FILE_NOT_FOUND', `folder ${this.args.dir} does not exist`, {hint: 'give the folder to watch'})
    }
    if (!isDir) throw new InvalidArgumentError('USAGE', `${this.args.dir} is not a folder`, {hint: 'give a folder; to put one file use `pach put file`'})

    const folder = new LocalFolder(dir)
    const target = formatCommit(ref)
    const summary: WatchSummary = {commits: 0}
    const json = this.format === 'json'
    const report = (r: SyncResult) => {
      if (!r.commit) return
      summary.commits++
      if (json) writeOut(JSON.stringify({commit: r.commit, added: r.added, changed: r.changed, deleted: r.deleted, bytes: r.bytes}) + '\n')
      else writeOut(`${r.commit.id} ${target}: ${r.added.length} added, ${r.changed.length} changed, ${r.deleted.length} deleted (${bytesSize(r.bytes)})\n`)
    }
    const sync = async (candidates: Iterable<string> | 'all'): Promise<{again: string[] | 'all'}> => {
      let r: SyncResult
      try {
        r = await this.pach.folders.sync(this.project, ref, folder, candidates, {settleMs: f.settle, signal: this.signal, description: `pach watch ${dir}`})
      } catch (e) {
        // a file changed while it was read: nothing was written; all of it again later
        if (isPachError(e) && e.code === 'CONCURRENT_MODIFICATION' && !this.signal.aborted) return {again: candidates === 'all' ? 'all' : [...candidates]}
        throw e
      }
      report(r)
      if (r.commit) await runTriggered(this.pach, {detach: f.detach, runner: f.runner, signal: this.signal, quiet: json})
      return {again: r.deferred}
    }

    if (f.once) {
      const {again} = await sync('all')
      if (again === 'all' || again.length > 0) process.stderr.write(`pach watch: ${again === 'all' ? 'files' : again.length} still being written, not committed; run again once they are done\n`)
      return summary
    }

    // watch first, so that nothing changed during the first sync goes unseen
    let queued: Set<string> | 'all' = 'all'
    let wake: () => void = () => {}
    let failure: unknown
    const enqueue = (paths: Iterable<string> | 'all') => {
      if (queued === 'all') return wake()
      if (paths === 'all') queued = 'all'
      else for (const p of paths) queued.add(p)
      wake()
    }
    const watcher = await watchFolder(folder, {
      debounceMs: f.debounce,
      onBatch: (paths) => {
        if (paths.has('/.pachignore') && folder.reloadRules()) {
          process.stderr.write('pach watch: .pachignore changed; syncing the whole folder\n')
          enqueue('all')
        } else enqueue(paths)
      },
      onError: (e) => process.stderr.write(`pach watch: ${printable(e.message)}\n`),
    })
    process.stderr.write(`pach watch: ${dir} → ${target} (Ctrl-C to stop)\n`)
    let retry: NodeJS.Timeout | undefined
    try {
      while (!this.signal.aborted) {
        if (queued === 'all' || queued.size > 0) {
          const batch: Set<string> | 'all' = queued
          queued = new Set()
          const {again} = await sync(batch)
          if (again === 'all' || again.length > 0) {
            // still being written: look again once they may have settled
            clearTimeout(retry)
            retry = setTimeout(() => enqueue(again), Math.max(f.settle, 50))
          }
          continue
        }
        await new Promise<void>((res) => {
          wake = res
          if (this.signal.aborted) res()
          this.signal.addEventListener('abort', () => res(), {once: true})
        })
        wake = () => {}
      }
    } catch (e) {
      if (!this.signal.aborted) failure = e
    } finally {
      clearTimeout(retry)
      await watcher.close()
    }
    if (failure) throw failure
    process.stderr.write(`pach watch: stopped (${summary.commits} commit${summary.commits === 1 ? '' : 's'})\n`)
    return summary
  }

  // each commit was printed as it was made
  protected override print(): void {}

  human(): string {
    return ''
  }
}
