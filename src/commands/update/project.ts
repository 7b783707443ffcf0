import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import type {ProjectInfo} from '../../core/types.js'

export default class UpdateProject extends PachCommand<typeof UpdateProject, ProjectInfo> {
  static override summary = "Update a project's description."
  static override examples = ['<%= config.bin %> update project vision -d "image models v2"']
  static override args = {project: Args.string({description: 'project name', required: true})}
  static override flags = {description: Flags.string({char: 'd', description: 'new description', default: ''})}

  async exec() {
    return this.pach.projects.update(this.args.project, this.flags.description)
  }

  human() {
    return ''
  }
}
