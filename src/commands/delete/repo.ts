import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {isQueued, type RepoInfo, type Queued} from '../../core/types.js'
import {InvalidArgumentError} from '../../core/errors.js'
import {parseRepo} from '../../core/pfs/refs.js'

export default class DeleteRepo extends PachCommand<typeof DeleteRepo, (RepoInfo | Queued)[]> {
  static override summary = 'Delete a repo and all its commits.'
  static override examples = ['<%= config.bin %> delete repo images', '<%= config.bin %> delete repo --all --force']
  static override args = {repo: Args.string({description: 'repo'})}
  static override flags = {
    force: Flags.boolean({char: 'f', description: 'delete even if other repos depend on it'}),
    all: Flags.boolean({description: 'delete every user repo in the project'}),
  }
  static override aliases = ['delete:repos']

  async exec() {
    if (this.flags.all) {
      return this.pach.repos.list({project: this.project}).map((r) => this.pach.repos.delete({name: r.repo.name, type: r.repo.type}, this.project, this.flags.force))
    }
    if (!this.args.repo) throw new InvalidArgumentError('MISSING_ARGUMENT', 'delete repo needs a repo name (or --all)')
    return [this.pach.repos.delete(parseRepo(this.args.repo), this.project, this.flags.force)]
  }

  human(r: (RepoInfo | Queued)[]) {
    const q = r.find(isQueued)
    return q ? `Added to transaction: ${q.transaction}` : ''
  }
}
