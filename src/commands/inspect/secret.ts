import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {secretTable} from '../../cli/format/tables.js'
import type {SecretInfo} from '../../core/pps/secret-service.js'

export default class InspectSecret extends PachCommand<typeof InspectSecret, SecretInfo> {
  static override summary = 'Show a secret (name, type, creation time; never its values).'
  static override examples = ['<%= config.bin %> inspect secret db']
  static override args = {secret: Args.string({description: 'secret name', required: true})}
  static override flags = {...formatFlags}

  async exec() {
    return this.pach.secrets.inspect(this.args.secret)
  }

  human(r: SecretInfo) {
    return secretTable([r], this.fullTimestamps)
  }
}
