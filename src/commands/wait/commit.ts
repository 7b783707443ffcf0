import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {parseCommit} from '../../core/pfs/refs.js'
import type {CommitInfo} from '../../core/types.js'

export default class WaitCommit extends PachCommand<typeof WaitCommit, CommitInfo> {
  static override summary = 'Wait until a commit is finished.'
  static override examples = ['<%= config.bin %> wait commit images@master', '<%= config.bin %> wait commit edges@<id> --timeout 60']
  static override args = {commit: Args.string({description: '<repo>@<branch-or-commit>', required: true})}
  static override flags = {...formatFlags, timeout: Flags.integer({description: 'give up after this many seconds'})}

  async exec() {
    const ref = parseCommit(this.args.commit, 'master')
    return this.pach.commits.wait(this.project, ref, {timeoutMs: this.flags.timeout ? this.flags.timeout * 1000 : undefined, signal: this.signal})
  }

  human() {
    return ''
  }
}
