import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {isQueued, type BranchInfo, type Queued} from '../../core/types.js'
import {parseBranch} from '../../core/pfs/refs.js'

export default class DeleteBranch extends PachCommand<typeof DeleteBranch, BranchInfo | Queued> {
  static override summary = 'Delete a branch (its commits stay readable by id).'
  static override examples = ['<%= config.bin %> delete branch images@staging']
  static override args = {branch: Args.string({description: '<repo>@<branch>', required: true})}
  static override flags = {force: Flags.boolean({char: 'f', description: 'delete even if other branches have it as provenance'})}

  async exec() {
    const b = parseBranch(this.args.branch)
    return this.pach.branches.delete(this.project, b.repo, b.branch, this.flags.force)
  }

  human(r: BranchInfo | Queued) {
    return isQueued(r) ? `Added to transaction: ${r.transaction}` : ''
  }
}
