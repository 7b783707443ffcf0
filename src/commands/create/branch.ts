import {Args, Flags} from '@oclif/core'
import {jobFlags} from '../../cli/jobs.js'
import {PachCommand} from '../../cli/base-command.js'
import {isQueued, type BranchInfo, type Queued} from '../../core/types.js'
import {InvalidArgumentError} from '../../core/errors.js'
import {parseCommit} from '../../core/pfs/refs.js'

export default class CreateBranch extends PachCommand<typeof CreateBranch, BranchInfo | Queued> {
  static override summary = 'Create a branch, or move its head.'
  static override description = `--head moves the branch to an existing commit (no new commit is made; downstream branches are updated). --provenance makes the branch an output branch of other branches: a new commit on them propagates here with the same id. --trigger makes it follow another branch of the repo, moving to that branch's head when a commit there finishes and a condition holds (--trigger-size, --trigger-commits; --trigger-all to require all; none set: never); --trigger-cron moves it on a schedule, applied by \`pach run\`.`
  static override examples = [
    '<%= config.bin %> create branch images@staging --head images@master',
    '<%= config.bin %> create branch images@master --head images@master^',
    '<%= config.bin %> create branch model@master --provenance images@master --provenance labels@master',
    '<%= config.bin %> create branch images@staging --trigger master --trigger-size 100M',
    '<%= config.bin %> create branch images@nightly --trigger master --trigger-cron "@daily"',
  ]
  static override args = {branch: Args.string({description: '<repo>@<branch>', required: true})}
  static override triggersJobs = true
  static override flags = {
    ...jobFlags,
    head: Flags.string({description: 'commit to point the branch at: <branch-or-commit> or <repo>@<ref>'}),
    provenance: Flags.string({char: 'p', description: '<repo>@<branch> this branch is computed from (repeatable)', multiple: true}),
    trigger: Flags.string({char: 't', description: 'branch (in the same repo) this branch follows when a trigger condition holds'}),
    'trigger-size': Flags.string({description: 'trigger when the followed branch grew by this much data (e.g. 100M)', dependsOn: ['trigger']}),
    'trigger-commits': Flags.integer({description: 'trigger after this many commits on the followed branch', min: 0, dependsOn: ['trigger']}),
    'trigger-cron': Flags.string({description: 'trigger on this cron schedule (applied by `pach run`)', dependsOn: ['trigger']}),
    'trigger-all': Flags.boolean({description: 'trigger only when all conditions hold, not any', dependsOn: ['trigger']}),
  }

  async exec() {
    const ref = parseCommit(this.args.branch)
    if (!ref.branch || ref.ancestry || ref.id) throw new InvalidArgumentError('INVALID_ADDRESS', `${this.args.branch} is not a branch; expected <repo>@<branch>`)
    let head = this.flags.head
    if (head && !head.includes('@')) head = `${this.args.branch.split('@')[0]}@${head}`
    const f = this.flags
    const trigger = f.trigger
      ? {
          branch: f.trigger,
          ...(f['trigger-all'] ? {all: true} : {}),
          ...(f['trigger-size'] ? {size: f['trigger-size']} : {}),
          ...(f['trigger-commits'] ? {commits: f['trigger-commits']} : {}),
          ...(f['trigger-cron'] ? {cron_spec: f['trigger-cron']} : {}),
        }
      : undefined
    return this.pach.branches.create(this.project, ref.repo, ref.branch, {head, provenance: f.provenance, trigger})
  }

  human(r: BranchInfo | Queued) {
    return isQueued(r) ? `Added to transaction: ${r.transaction}` : ''
  }
}
