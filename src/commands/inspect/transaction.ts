import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import type {TransactionInfo} from '../../core/types.js'

export default class InspectTransaction extends PachCommand<typeof InspectTransaction, TransactionInfo> {
  static override summary = 'Show a transaction and its queued requests.'
  static override examples = ['<%= config.bin %> inspect transaction']
  static override args = {id: Args.string({description: 'transaction id (default: the active one)'})}
  static override flags = {...formatFlags}

  async exec() {
    return this.pach.transactions.inspect(this.args.id)
  }

  human(t: TransactionInfo) {
    return [`Transaction: ${t.transaction.id}`, `Started: ${t.started}`, 'Requests:', ...t.requests.map((r) => `  ${JSON.stringify(r)}`)].join('\n')
  }
}
