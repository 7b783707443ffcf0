import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {isQueued, type RepoInfo, type Queued} from '../../core/types.js'

export default class UpdateRepo extends PachCommand<typeof UpdateRepo, RepoInfo | Queued> {
  static override summary = "Update a repo's description."
  static override examples = ['<%= config.bin %> update repo images -d "camera images, deduplicated"']
  static override args = {repo: Args.string({description: 'repo name', required: true})}
  static override flags = {description: Flags.string({char: 'd', description: 'new description', default: ''})}

  async exec() {
    this.pach.repos.inspect({name: this.args.repo, type: 'user'}, this.project)
    return this.pach.repos.create(this.project, this.args.repo, {description: this.flags.description, update: true})
  }

  human(r: RepoInfo | Queued) {
    return isQueued(r) ? `Added to transaction: ${r.transaction}` : ''
  }
}
