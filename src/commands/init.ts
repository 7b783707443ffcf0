import {Args} from '@oclif/core'
import {resolve} from 'node:path'
import {envClock, PachCommand} from '../cli/base-command.js'
import {initPach} from '../core/pach.js'

export default class Init extends PachCommand<typeof Init, {pach_dir: string}> {
  static override summary = 'Create a pach project (.pach directory) in DIR (default: the current directory).'
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init ./my-project']
  static override args = {dir: Args.string({description: 'project directory', default: '.'})}
  static override needsRepo = false

  async exec() {
    const pach = initPach(resolve(this.args.dir ?? '.'), {now: envClock()})
    pach.close()
    return {pach_dir: pach.pachDir}
  }

  human(r: {pach_dir: string}) {
    return `Initialized empty pach project in ${r.pach_dir}`
  }
}
