import {Args, Flags} from '@oclif/core'
import {jobFlags} from '../../cli/jobs.js'
import {isQueued, PachCommand, type Queued} from '../../cli/base-command.js'
import {InvalidArgumentError} from '../../core/errors.js'
import {parseCommit} from '../../core/pfs/refs.js'
import type {BranchInfo} from '../../core/types.js'

export default class CreateBranch extends PachCommand<typeof CreateBranch, BranchInfo | Queued> {
  static override summary = 'Create a branch, or move its head.'
  static override description = `--head moves the branch to an existing commit (no new commit is made; downstream branches are updated). --provenance makes the branch an output branch of other branches: a new commit on them propagates here with the same id.`
  static override examples = [
    '<%= config.bin %> create branch images@staging --head images@master',
    '<%= config.bin %> create branch images@master --head images@master^',
    '<%= config.bin %> create branch model@master --provenance images@master --provenance labels@master',
  ]
  static override args = {branch: Args.string({description: '<repo>@<branch>', required: true})}
  static override triggersJobs = true
  static override flags = {
    ...jobFlags,
    head: Flags.string({description: 'commit to point the branch at: <branch-or-commit> or <repo>@<ref>'}),
    provenance: Flags.string({char: 'p', description: '<repo>@<branch> this branch is computed from (repeatable)', multiple: true}),
  }

  async exec() {
    const ref = parseCommit(this.args.branch)
    if (!ref.branch || ref.ancestry || ref.id) throw new InvalidArgumentError('INVALID_ADDRESS', `${this.args.branch} is not a branch; expected <repo>@<branch>`)
    let head = this.flags.head
    if (head && !head.includes('@')) head = `${this.args.branch.split('@')[0]}@${head}`
    return this.pach.branches.create(this.project, ref.repo, ref.branch, {head, provenance: this.flags.provenance})
  }

  human(r: BranchInfo | Queued) {
    return isQueued(r) ? `Added to transaction: ${r.transaction}` : ''
  }
}
