import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {commitSetTable, commitTable} from '../../cli/format/tables.js'
import {isCommitId, parseCommit} from '../../core/pfs/refs.js'
import type {CommitInfo, CommitOrigin, CommitSetInfo} from '../../core/types.js'

type R = CommitInfo[] | CommitSetInfo[]

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

  async exec(): Promise<R> {
    const t = this.args.target
    if (!t) return this.pach.commits.listSets(this.flags.number)
    if (isCommitId(t)) return this.pach.commits.listSet(t).commits
    return this.pach.commits.list(this.project, parseCommit(t), {
      number: this.flags.number,
      all: this.flags.all,
      origin: this.flags.origin as CommitOrigin | undefined,
      from: this.flags.from,
    })
  }

  human(r: R) {
    if (!this.args.target) return commitSetTable(r as CommitSetInfo[], this.fullTimestamps)
    return commitTable(r as CommitInfo[], this.fullTimestamps)
  }
}
