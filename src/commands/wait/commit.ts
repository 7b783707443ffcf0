import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {commitDetails} from '../../cli/format/tables.js'
import {failOnErrorFlag, jobEventPrinter, jobFailure, jobFlags, runnerChoice, runnerFactory, WAIT_FAILS} from '../../cli/jobs.js'
import {parseCommit} from '../../core/pfs/refs.js'
import type {CommitInfo} from '../../core/types.js'

export default class WaitCommit extends PachCommand<typeof WaitCommit, CommitInfo> {
  static override summary = 'Wait until a commit is finished, then print it (as inspect commit does).'
  static override description =
    'Exits 0 whatever the job producing the commit did (as pachctl does); with --fail-on-error an output commit whose job did not succeed exits 3 (JOB_FAILED).'
  static override examples = [
    '<%= config.bin %> wait commit images@master',
    '<%= config.bin %> wait commit edges@<id> --timeout 60',
    '<%= config.bin %> wait commit edges@master --fail-on-error',
  ]
  static override args = {commit: Args.string({description: '<repo>@<branch-or-commit>', required: true})}
  static override flags = {...formatFlags, ...jobFlags, ...failOnErrorFlag, timeout: Flags.integer({description: 'give up after this many seconds'})}

  async exec() {
    const ref = parseCommit(this.args.commit, 'master')
    // an output commit finishes when its job runs: run pending jobs while waiting (unless --detach)
    const drive = this.flags.detach
      ? undefined
      : async () => {
          if (this.pach.jobs.pending().length === 0) return
          await this.pach.jobs.runPending({runner: runnerFactory(this.pach, runnerChoice(this.pach, this.flags.runner)), signal: this.signal, onEvent: jobEventPrinter(this.format !== 'human')})
        }
    const info = await this.pach.commits.wait(this.project, ref, {timeoutMs: this.flags.timeout ? this.flags.timeout * 1000 : undefined, signal: this.signal, drive})
    if (this.flags['fail-on-error']) {
      // the job that produced the commit (output and meta commits share its id)
      const jobs = this.pach.jobs.list({project: this.project, id: info.commit.id}).filter((j) => j.job.pipeline.name === info.commit.repo.name)
      const failed = jobFailure(jobs, WAIT_FAILS, {commit: info})
      if (failed) throw failed
    }
    return info
  }

  human(c: CommitInfo) {
    return commitDetails(c, this.fullTimestamps)
  }
}
