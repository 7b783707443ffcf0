import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {parseBranch} from '../../core/pfs/refs.js'
import {repoLabel, type BranchInfo} from '../../core/types.js'

const name = (b: {repo: {name: string; type: string}; name: string}) => `${repoLabel(b.repo)}@${b.name}`

export default class InspectBranch extends PachCommand<typeof InspectBranch, BranchInfo> {
  static override summary = 'Show details of a branch.'
  static override examples = ['<%= config.bin %> inspect branch images@master']
  static override args = {branch: Args.string({description: '<repo>@<branch>', required: true})}
  static override flags = {...formatFlags}

  async exec() {
    const b = parseBranch(this.args.branch)
    return this.pach.branches.inspect(this.project, b.repo, b.branch)
  }

  human(b: BranchInfo) {
    return [
      `Name: ${name(b.branch)}`,
      `Head Commit: ${b.head.repo.name}@${b.head.id}`,
      `Provenance: ${b.provenance.map(name).join(', ') || '<none>'}`,
      `Direct Provenance: ${b.direct_provenance.map(name).join(', ') || '<none>'}`,
      `Subvenance: ${b.subvenance.map(name).join(', ') || '<none>'}`,
      ...(b.trigger ? [`Trigger: ${describeTrigger(b.trigger)}`] : []),
    ].join('\n')
  }
}

function describeTrigger(t: NonNullable<BranchInfo['trigger']>): string {
  const conds = [t.size && `size ≥ ${t.size}`, t.commits && `${t.commits} commits`, t.rate_limit_spec && `rate limit ${t.rate_limit_spec}`, t.cron_spec && `cron ${t.cron_spec}`].filter(Boolean)
  return `follows ${t.branch}${conds.length ? ` when ${conds.join(t.all ? ' and ' : ' or ')}` : t.all ? ' on every finished commit' : ' (no condition set: never)'}`
}
