import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {parseCommit} from '../../core/pfs/refs.js'
import type {CommitInfo} from '../../core/types.js'

type R = CommitInfo | {queued: true; transaction: string; id: string}

export default class StartCommit extends PachCommand<typeof StartCommit, R> {
  static override summary = 'Start a new commit on a branch; prints its id.'
  static override description = 'Files written to the branch go into this open commit until `pach finish commit`. The branch is created if it does not exist.'
  static override examples = ['<%= config.bin %> start commit images@master -m "nightly import"', '<%= config.bin %> start commit images@master -p <parent-id>']
  static override args = {branch: Args.string({description: '<repo>@<branch>', required: true})}
  static override flags = {
    parent: Flags.string({char: 'p', description: 'parent commit id (default: the branch head)'}),
    message: Flags.string({char: 'm', description: 'commit description'}),
    description: Flags.string({description: 'commit description (same as -m)'}),
  }

  async exec() {
    const ref = parseCommit(this.args.branch, 'master')
    return this.pach.commits.start(this.project, ref, {parent: this.flags.parent, description: this.flags.message ?? this.flags.description})
  }

  human(r: R) {
    return 'queued' in r ? r.id : r.commit.id
  }
}
