import {PachCommand} from '../../cli/base-command.js'
import type {TransactionInfo} from '../../core/types.js'

export default class StartTransaction extends PachCommand<typeof StartTransaction, TransactionInfo> {
  static override summary = 'Start a transaction: the next create/delete repo, start/finish commit and create/delete branch commands are queued and applied together by `finish transaction`, under one commit id.'
  static override examples = ['<%= config.bin %> start transaction']

  async exec() {
    return this.pach.transactions.start()
  }

  human(t: TransactionInfo) {
    return `started new transaction: ${t.transaction.id}`
  }
}
