import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {transactionTable} from '../../cli/format/tables.js'
import type {TransactionInfo} from '../../core/types.js'

export default class ListTransaction extends PachCommand<typeof ListTransaction, TransactionInfo[]> {
  static override summary = 'List transactions.'
  static override examples = ['<%= config.bin %> list transaction']
  static override flags = {...formatFlags}
  static override aliases = ['list:transactions']

  async exec() {
    return this.pach.transactions.list()
  }

  human(r: TransactionInfo[]) {
    return transactionTable(r, this.fullTimestamps)
  }
}
