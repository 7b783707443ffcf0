/**
 * `pach help [COMMAND...]`: oclif's help for the whole CLI or one command. Our own copy of
 * @oclif/plugin-help's command so the bundled CLI loads no plugin at start (a plugin costs a
 * package.json, a manifest and a second copy of @oclif/core on every run).
 */
import {Args, Command, Flags, loadHelpClass} from '@oclif/core'

export default class Help extends Command {
  static override summary = 'Display help for pach.'
  static override args = {command: Args.string({description: 'command to show help for', required: false})}
  static override flags = {
    'nested-commands': Flags.boolean({char: 'n', description: 'include all nested commands in the output'}),
  }
  static override strict = false

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Help)
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, {all: flags['nested-commands']}).showHelp(argv as string[])
  }
}
