import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {isCommitId, parseCommit} from '../../core/pfs/refs.js'
import type {CommitInfo} from '../../core/types.js'

export default class SquashCommit extends PachCommand<typeof SquashCommit, CommitInfo[]> {
  static override summary = 'Squash a commit set into its children (its data survives in them).'
  static override description = 'With a commit id, every commit of that commit set is squashed. With <repo>@<ref>, only that commit. Refused for commits without children (use `pach delete commit`), and for commit sets other commit sets depend on.'
  static override examples = ['<%= config.bin %> squash commit 2f5c0c1e0e6f4d9c9b1a8f3c1d2e4f5a', '<%= config.bin %> squash commit images@master^']
  static override args = {commit: Args.string({description: '<commit-set-id> or <repo>@<ref>', required: true})}
  static override flags = {recursive: Flags.boolean({char: 'r', description: 'accepted for pachctl compatibility'})}

  async exec() {
    const t = this.args.commit
    const target = isCommitId(t) ? t : parseCommit(t)
    return this.pach.commits.squash(this.project, target, (r, c) => this.pach.hooks.isSpecCommit(r, c))
  }

  human(r: CommitInfo[]) {
    return `squashed ${r.length} commit${r.length === 1 ? '' : 's'}`
  }
}
