import {Flags} from '@oclif/core'
import {readFileSync} from 'node:fs'
import {PachCommand} from '../../cli/base-command.js'
import {InvalidArgumentError, NotFoundError} from '../../core/errors.js'
import type {SecretInfo} from '../../core/pps/secret-service.js'

export default class CreateSecret extends PachCommand<typeof CreateSecret, SecretInfo> {
  static override summary = 'Create a secret from a Kubernetes Secret manifest (JSON or YAML), for transform.secrets.'
  static override examples = ['<%= config.bin %> create secret -f secret.json', 'kubectl create secret generic db --from-literal=password=x --dry-run=client -o json | <%= config.bin %> create secret -f -']
  static override flags = {file: Flags.string({char: 'f', description: 'manifest file, or - for stdin', required: true})}
  static override aliases = ['create:secrets']

  async exec() {
    const file = this.flags.file
    let text: string
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8')
    } catch {
      throw new NotFoundError('LOCAL_FILE_NOT_FOUND', `cannot read ${file}`, {hint: 'give the path of a Secret manifest, or - for stdin'})
    }
    let manifest: unknown
    try {
      manifest = (await import('yaml')).parse(text)
    } catch (e) {
      throw new InvalidArgumentError('INVALID_SECRET', `${file}: not JSON or YAML (${(e as Error).message.split('\n')[0]})`)
    }
    return this.pach.secrets.create(manifest, file)
  }

  human(r: SecretInfo) {
    return `created secret ${r.secret.name}`
  }
}
