import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {isCommitId, parseCommit} from '../../core/pfs/refs.js'
import type {CommitInfo} from '../../core/types.js'

export default class DeleteCommit extends PachCommand<typeof DeleteCommit, CommitInfo[]> {
  static override summary = 'Drop a commit set: its commits and their data are removed.'
  static override description = 'Allowed only for commits without children (normally branch heads); heads move to the parent. Use it to abandon an open commit. The bytes are reclaimed by `pach gc`.'
  static override examples = ['<%= config.bin %> delete commit 2f5c0c1e0e6f4d9c9b1a8f3c1d2e4f5a', '<%= config.bin %> delete commit images@master']
  static override args = {commit: Args.string({description: '<commit-set-id> or <repo>@<ref>', required: true})}
  static override flags = {recursive: Flags.boolean({char: 'r', description: 'accepted for pachctl compatibility'})}

  async exec() {
    const t = this.args.commit
    return this.pach.commits.drop(this.project, isCommitId(t) ? t : parseCommit(t))
  }

  human(r: CommitInfo[]) {
    return `deleted ${r.length} commit${r.length === 1 ? '' : 's'}`
  }
}
