import {Args} from '@oclif/core'
import {jobFlags} from '../../cli/jobs.js'
import {PachCommand} from '../../cli/base-command.js'
import type {TransactionInfo} from '../../core/types.js'

export default class FinishTransaction extends PachCommand<typeof FinishTransaction, TransactionInfo> {
  static override summary = 'Apply every request queued in a transaction, atomically, under one commit id.'
  static override examples = ['<%= config.bin %> finish transaction', '<%= config.bin %> finish transaction <id>']
  static override triggersJobs = true
  static override flags = {...jobFlags}
  static override args = {id: Args.string({description: 'transaction id (default: the active one)'})}

  async exec() {
    return this.pach.transactions.finish(this.args.id)
  }

  human(t: TransactionInfo) {
    return `Completed transaction with ${t.requests.length} requests: ${t.transaction.id}`
  }
}
