import CreateDefaults from '../create/defaults.js'

/** `update defaults` is `create defaults` (pachctl has both): the same flags and behaviour. */
export default class UpdateDefaults extends CreateDefaults {
  static override summary = 'Replace the pipeline defaults of the project (or, with --cluster, of every project); the same as create defaults.'
  static override examples = ['<%= config.bin %> update defaults -f defaults.json --regenerate']
}
