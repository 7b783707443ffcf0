import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {ago, bytesSize} from '../../cli/format/values.js'
import {parseRepo} from '../../core/pfs/refs.js'
import type {RepoInfo} from '../../core/types.js'

export default class InspectRepo extends PachCommand<typeof InspectRepo, RepoInfo> {
  static override summary = 'Show details of a repo.'
  static override examples = ['<%= config.bin %> inspect repo images']
  static override args = {repo: Args.string({description: 'repo', required: true})}
  static override flags = {...formatFlags}

  async exec() {
    return this.pach.repos.inspect(parseRepo(this.args.repo), this.project)
  }

  human(r: RepoInfo) {
    return [
      `Name: ${r.repo.name}`,
      `Project: ${r.repo.project.name}`,
      `Type: ${r.repo.type}`,
      `Description: ${r.description}`,
      `Created: ${ago(r.created, this.fullTimestamps)}`,
      `Size of HEAD on master: ${bytesSize(r.details.size_bytes)}`,
      `Branches: ${r.branches.map((b) => b.name).join(', ')}`,
    ].join('\n')
  }
}
