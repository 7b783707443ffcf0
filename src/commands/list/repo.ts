import {Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {repoTable} from '../../cli/format/tables.js'
import type {RepoInfo} from '../../core/types.js'

export default class ListRepo extends PachCommand<typeof ListRepo, RepoInfo[]> {
  static override summary = 'List repos (user repos by default).'
  static override examples = ['<%= config.bin %> list repo', '<%= config.bin %> list repo --all --json']
  static override flags = {
    ...formatFlags,
    all: Flags.boolean({description: 'include spec and meta repos'}),
    type: Flags.string({description: 'only repos of this type', options: ['user', 'meta', 'spec']}),
    'all-projects': Flags.boolean({char: 'A', description: 'repos of every project'}),
  }
  static override aliases = ['list:repos']

  async exec() {
    const type = this.flags.all ? 'all' : ((this.flags.type as 'user' | 'meta' | 'spec' | undefined) ?? 'user')
    return this.pach.repos.list({project: this.flags['all-projects'] ? undefined : this.project, type})
  }

  human(r: RepoInfo[]) {
    return repoTable(r, this.fullTimestamps)
  }
}
