import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {commitDetails} from '../../cli/format/tables.js'
import {parseCommit} from '../../core/pfs/refs.js'
import type {CommitInfo} from '../../core/types.js'

export default class InspectCommit extends PachCommand<typeof InspectCommit, CommitInfo> {
  static override summary = 'Show details of a commit.'
  static override examples = ['<%= config.bin %> inspect commit images@master', '<%= config.bin %> inspect commit images@master^2 --json']
  static override args = {commit: Args.string({description: '<repo>@<branch-or-commit>', required: true})}
  static override flags = {...formatFlags}

  async exec() {
    return this.pach.commits.inspect(this.project, parseCommit(this.args.commit, 'master'))
  }

  human(c: CommitInfo) {
    return commitDetails(c, this.fullTimestamps)
  }
}
