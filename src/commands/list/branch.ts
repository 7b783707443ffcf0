import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {branchTable} from '../../cli/format/tables.js'
import {parseRepo} from '../../core/pfs/refs.js'
import type {BranchInfo} from '../../core/types.js'

export default class ListBranch extends PachCommand<typeof ListBranch, BranchInfo[]> {
  static override summary = 'List the branches of a repo.'
  static override examples = ['<%= config.bin %> list branch images']
  static override args = {repo: Args.string({description: 'repo', required: true})}
  static override flags = {...formatFlags}
  static override aliases = ['list:branches']

  async exec() {
    return this.pach.branches.list(this.project, parseRepo(this.args.repo))
  }

  human(r: BranchInfo[]) {
    return branchTable(r)
  }
}
