import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {secretTable} from '../../cli/format/tables.js'
import type {SecretInfo} from '../../core/pps/secret-service.js'

export default class ListSecret extends PachCommand<typeof ListSecret, SecretInfo[]> {
  static override summary = 'List secrets (names and types; values are never printed).'
  static override examples = ['<%= config.bin %> list secret']
  static override flags = {...formatFlags}
  static override aliases = ['list:secrets']

  async exec() {
    return this.pach.secrets.list()
  }

  human(r: SecretInfo[]) {
    return secretTable(r, this.fullTimestamps)
  }
}
