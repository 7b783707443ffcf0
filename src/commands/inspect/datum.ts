import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {datumDetails} from '../../cli/format/pps.js'
import {parseJob} from '../../core/pfs/refs.js'
import type {DatumInfo} from '../../core/types.js'

export default class InspectDatum extends PachCommand<typeof InspectDatum, DatumInfo> {
  static override summary = 'Show one datum of a job: state, reason, inputs, stats.'
  static override examples = ['<%= config.bin %> inspect datum edges@<job-id> <datum-id>']
  static override args = {
    job: Args.string({description: '<pipeline>@<job-id>', required: true}),
    datum: Args.string({description: 'datum id', required: true}),
  }
  static override flags = {...formatFlags}

  async exec() {
    const j = parseJob(this.args.job)
    return this.pach.jobs.inspectDatum(this.project, j.pipeline, j.id, this.args.datum)
  }

  human(d: DatumInfo) {
    return datumDetails(d)
  }
}
