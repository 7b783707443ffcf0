import {PachCommand} from '../cli/base-command.js'

export default class Version extends PachCommand<typeof Version, {pachctl: string; node: string}> {
  static override summary = 'Print the pach version.'
  static override examples = ['<%= config.bin %> version']
  static override needsRepo = false

  async exec() {
    return {pachctl: this.config.version, node: process.version}
  }

  human(r: {pachctl: string}) {
    return `COMPONENT           VERSION\npach                ${r.pachctl}`
  }
}
