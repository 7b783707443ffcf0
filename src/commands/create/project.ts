import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import type {ProjectInfo} from '../../core/types.js'

export default class CreateProject extends PachCommand<typeof CreateProject, ProjectInfo> {
  static override summary = 'Create a project (a namespace for repos and pipelines).'
  static override examples = ['<%= config.bin %> create project vision -d "image models"']
  static override args = {project: Args.string({description: 'project name', required: true})}
  static override flags = {description: Flags.string({char: 'd', description: 'project description', default: ''})}

  async exec() {
    return this.pach.projects.create(this.args.project, this.flags.description)
  }

  human() {
    return ''
  }
}
