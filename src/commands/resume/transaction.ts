import {Args} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import type {TransactionInfo} from '../../core/types.js'

export default class ResumeTransaction extends PachCommand<typeof ResumeTransaction, TransactionInfo> {
  static override summary = 'Make a stopped transaction active again.'
  static override examples = ['<%= config.bin %> resume transaction <id>']
  static override args = {id: Args.string({description: 'transaction id', required: true})}

  async exec() {
    return this.pach.transactions.resume(this.args.id)
  }

  human(t: TransactionInfo) {
    return `resumed transaction ${t.transaction.id}`
  }
}
