import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import type {ProjectInfo} from '../../core/types.js'

export default class DeleteProject extends PachCommand<typeof DeleteProject, ProjectInfo> {
  static override summary = 'Delete a project (refused while it contains repos, unless --force).'
  static override examples = ['<%= config.bin %> delete project vision']
  static override args = {project: Args.string({description: 'project name', required: true})}
  static override flags = {force: Flags.boolean({char: 'f', description: 'also delete its repos'})}

  async exec() {
    return this.pach.projects.delete(this.args.project, this.flags.force)
  }

  human() {
    return ''
  }
}
