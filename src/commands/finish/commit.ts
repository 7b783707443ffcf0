import {Args, Flags} from '@oclif/core'
import {jobFlags} from '../../cli/jobs.js'
import {PachCommand} from '../../cli/base-command.js'
import {isQueued, type CommitInfo, type Queued} from '../../core/types.js'
import {parseCommit} from '../../core/pfs/refs.js'

export default class FinishCommit extends PachCommand<typeof FinishCommit, CommitInfo | Queued> {
  static override summary = 'Finish an open commit: its content becomes immutable.'
  static override examples = ['<%= config.bin %> finish commit images@master', '<%= config.bin %> finish commit images@<id> -m "done"']
  static override args = {commit: Args.string({description: '<repo>@<branch-or-commit>', required: true})}
  static override triggersJobs = true
  static override flags = {
    ...jobFlags,
    message: Flags.string({char: 'm', description: 'replace the commit description'}),
    description: Flags.string({description: 'replace the commit description (same as -m)'}),
    force: Flags.boolean({char: 'f', description: 'finish a pipeline output commit'}),
  }

  async exec() {
    const ref = parseCommit(this.args.commit, 'master')
    return this.pach.commits.finish(this.project, ref, {description: this.flags.message ?? this.flags.description, force: this.flags.force})
  }

  human(r: CommitInfo | Queued) {
    return isQueued(r) ? `Added to transaction: ${r.transaction}` : ''
  }
}
