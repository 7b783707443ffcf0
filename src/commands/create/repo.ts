import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {isQueued, type RepoInfo, type Queued} from '../../core/types.js'

export default class CreateRepo extends PachCommand<typeof CreateRepo, RepoInfo | Queued> {
  static override summary = 'Create a new repo.'
  static override examples = ['<%= config.bin %> create repo images -d "raw camera images"']
  static override args = {repo: Args.string({description: 'repo name', required: true})}
  static override flags = {description: Flags.string({char: 'd', description: 'repo description', default: ''})}
  static override aliases = ['create:repos']

  async exec() {
    return this.pach.repos.create(this.project, this.args.repo, {description: this.flags.description})
  }

  human(r: RepoInfo | Queued) {
    return isQueued(r) ? `Added to transaction: ${r.transaction}` : ''
  }
}
