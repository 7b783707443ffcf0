import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {COMMIT_HEADERS, commitCells, commitSetTable, commitTable} from '../../cli/format/tables.js'
import {writeTable} from '../../cli/format/values.js'
import {Listing} from '../../cli/listing.js'
import {isCommitId, parseCommit} from '../../core/pfs/refs.js'
import type {CommitInfo, CommitOrigin, CommitSetInfo} from '../../core/types.js'

type R = CommitInfo[] | Listing<CommitInfo> | Listing<CommitSetInfo>

export default class ListCommit extends PachCommand<typeof ListCommit, R> {
  static override summary = 'List commits of a repo or branch, the commits of one commit set (<id>), or all commit sets.'
  static override examples = [
    '<%= config.bin %> list commit images@master -n 5',
    '<%= config.bin %> list commit images',
    '<%= config.bin %> list commit <commit-set-id>',
    '<%= config.bin %> list commit',
  ]
  static override args = {target: Args.string({description: '<repo>[@<branch>] or <commit-set-id>'})}
  static override flags = {
    ...formatFlags,
    number: Flags.integer({char: 'n', description: 'list at most this many commits'}),
    all: Flags.boolean({description: 'include commits made on the branch that are no longer in its history'}),
    origin: Flags.string({description: 'only commits of this origin', options: ['USER', 'AUTO', 'FSCK']}),
    from: Flags.string({char: 'f', description: 'list commits back to (and including) this commit id'}),
  }
  static override aliases = ['list:commits']

  // Listings are written as they are read (cli/listing.ts): a long history starts printing at
  // once and `-n` reads no more than it shows.
  async exec(): Promise<R> {
    const t = this.args.target
    const full = this.fullTimestamps
    if (!t) {
      const n = this.flags.number
      const sets = {[Symbol.iterator]: () => this.pach.commits.sets(n)}
      return new Listing<CommitSetInfo>(sets, (write) => write(commitSetTable([...sets], full)))
    }
    if (isCommitId(t)) return this.pach.commits.listSet(t).commits
    const listing = this.pach.commits.history(this.project, parseCommit(t), {
      number: this.flags.number,
      all: this.flags.all,
      origin: this.flags.origin as CommitOrigin | undefined,
      from: this.flags.from,
    })
    return new Listing<CommitInfo>(listing, (write) => {
      const now = Date.now()
      const cells = function* () {
        for (const c of listing.summaries()) yield commitCells(c, full, now)
      }
      listing.snapshot(() => writeTable(COMMIT_HEADERS, cells, write))
    })
  }

  human(r: R) {
    return commitTable(r as CommitInfo[], this.fullTimestamps)
  }
}
