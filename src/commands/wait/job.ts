import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {jobTable} from '../../cli/format/pps.js'
import {failOnErrorFlag, jobEventPrinter, jobFailure, jobFlags, runnerChoice, runnerFactory, WAIT_FAILS} from '../../cli/jobs.js'
import {NotFoundError} from '../../core/errors.js'
import {isCommitId, parseJob} from '../../core/pfs/refs.js'
import type {JobInfo} from '../../core/types.js'

export default class WaitJob extends PachCommand<typeof WaitJob, JobInfo[]> {
  static override summary = 'Wait until a job (or every job of a job set) is done, then list it as list job does; runs pending jobs unless --detach.'
  static override description = 'Exits 0 whatever state the jobs end in (as pachctl does); with --fail-on-error a job that did not succeed exits 3 (JOB_FAILED).'
  static override examples = ['<%= config.bin %> wait job edges@<id>', '<%= config.bin %> wait job <id>', '<%= config.bin %> wait job edges@<id> --fail-on-error']
  static override args = {job: Args.string({description: '<pipeline>@<job-id> or <job-set-id>', required: true})}
  static override flags = {...formatFlags, ...jobFlags, ...failOnErrorFlag, timeout: Flags.integer({description: 'give up after this many seconds'})}

  async exec() {
    const targets = isCommitId(this.args.job)
      ? this.pach.jobs.list({project: this.project, id: this.args.job}).map((j) => ({pipeline: j.job.pipeline.name, id: j.job.id}))
      : [parseJob(this.args.job)]
    if (targets.length === 0) throw new NotFoundError('JOB_NOT_FOUND', `no jobs with id ${this.args.job}`)
    const drive = this.flags.detach
      ? undefined
      : async () => {
          await this.pach.jobs.runPending({runner: runnerFactory(this.pach, runnerChoice(this.pach, this.flags.runner)), signal: this.signal, onEvent: jobEventPrinter(this.format !== 'human')})
        }
    const out: JobInfo[] = []
    for (const t of targets) {
      out.push(await this.pach.jobs.wait(this.project, t.pipeline, t.id, {signal: this.signal, timeoutMs: this.flags.timeout ? this.flags.timeout * 1000 : undefined, drive}))
    }
    const failed = this.flags['fail-on-error'] ? jobFailure(out, WAIT_FAILS) : undefined
    if (failed) throw failed
    return out
  }

  human(r: JobInfo[]) {
    return jobTable(r, this.fullTimestamps)
  }
}
