import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {jobEventPrinter, jobFlags, runnerChoice, runnerFactory} from '../../cli/jobs.js'
import {parseCommit} from '../../core/pfs/refs.js'
import type {CommitInfo} from '../../core/types.js'

export default class WaitCommit extends PachCommand<typeof WaitCommit, CommitInfo> {
  static override summary = 'Wait until a commit is finished.'
  static override examples = ['<%= config.bin %> wait commit images@master', '<%= config.bin %> wait commit edges@<id> --timeout 60']
  static override args = {commit: Args.string({description: '<repo>@<branch-or-commit>', required: true})}
  static override flags = {...formatFlags, ...jobFlags, timeout: Flags.integer({description: 'give up after this many seconds'})}

  async exec() {
    const ref = parseCommit(this.args.commit, 'master')
    // an output commit finishes when its job runs: run pending jobs while waiting (unless --detach)
    const drive = this.flags.detach
      ? undefined
      : async () => {
          if (this.pach.jobs.pending().length === 0) return
          await this.pach.jobs.runPending({runner: runnerFactory(this.pach, runnerChoice(this.pach, this.flags.runner)), signal: this.signal, onEvent: jobEventPrinter(this.format !== 'human')})
        }
    return this.pach.commits.wait(this.project, ref, {timeoutMs: this.flags.timeout ? this.flags.timeout * 1000 : undefined, signal: this.signal, drive})
  }

  human() {
    return ''
  }
}
