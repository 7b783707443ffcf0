import {Args} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {parseJob} from '../../core/pfs/refs.js'
import {parseDatumFilter, type RestartResult} from '../../core/pps/datum-restart.js'

export default class RestartDatum extends PachCommand<typeof RestartDatum, RestartResult> {
  static override summary = 'Restart a stuck datum during a running job: its user code is killed and it runs again from clean inputs.'
  static override description =
    'The datum is named by its input paths (or their content hashes, or its datum id), several separated by ","; every one must belong to the datum. ' +
    'Only a datum whose user code is running now is restarted; this does not solve failed datums (see the spec\'s err_cmd). ' +
    'The restart does not use up one of the spec\'s datum_tries. Prints nothing on success; --json prints the job and the attempts restarted.'
  static override examples = ['<%= config.bin %> restart datum edges@<id> /logs/a.txt', '<%= config.bin %> restart datum edges@<id> /logs/a.txt,/logs/b.txt --project bar']
  static override args = {
    job: Args.string({description: '<pipeline>@<job-id>', required: true}),
    datum: Args.string({description: 'input paths (or content hashes) of the datum, separated by ","', required: true}),
  }

  async exec() {
    const j = parseJob(this.args.job)
    return this.pach.jobs.restartDatum(this.project, j.pipeline, j.id, parseDatumFilter(this.args.datum))
  }

  human() {
    return ''
  }
}
