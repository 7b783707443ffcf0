import {Args} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import type {TransactionInfo} from '../../core/types.js'

export default class DeleteTransaction extends PachCommand<typeof DeleteTransaction, TransactionInfo> {
  static override summary = 'Delete a transaction without applying it.'
  static override examples = ['<%= config.bin %> delete transaction']
  static override args = {id: Args.string({description: 'transaction id (default: the active one)'})}

  async exec() {
    return this.pach.transactions.delete(this.args.id)
  }

  human() {
    return ''
  }
}
