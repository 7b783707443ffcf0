import {Args} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import type {SecretInfo} from '../../core/pps/secret-service.js'

export default class DeleteSecret extends PachCommand<typeof DeleteSecret, SecretInfo> {
  static override summary = 'Delete a secret.'
  static override examples = ['<%= config.bin %> delete secret db']
  static override args = {secret: Args.string({description: 'secret name', required: true})}
  static override aliases = ['delete:secrets']

  async exec() {
    return this.pach.secrets.delete(this.args.secret)
  }

  human() {
    return ''
  }
}
