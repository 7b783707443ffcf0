import {PachCommand} from '../../cli/base-command.js'
import type {TransactionInfo} from '../../core/types.js'

export default class StopTransaction extends PachCommand<typeof StopTransaction, TransactionInfo> {
  static override summary = 'Set the active transaction aside (it stays queued; resume it with `resume transaction`).'
  static override examples = ['<%= config.bin %> stop transaction']

  async exec() {
    return this.pach.transactions.stop()
  }

  human(t: TransactionInfo) {
    return `stopped transaction ${t.transaction.id}`
  }
}
