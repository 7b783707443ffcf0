import {Args} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {ago} from '../../cli/format/values.js'
import type {ProjectInfo} from '../../core/types.js'

export default class InspectProject extends PachCommand<typeof InspectProject, ProjectInfo> {
  static override summary = 'Show details of a project.'
  static override examples = ['<%= config.bin %> inspect project default']
  static override args = {project: Args.string({description: 'project name', required: true})}
  static override flags = {...formatFlags}

  async exec() {
    return this.pach.projects.inspect(this.args.project)
  }

  human(p: ProjectInfo) {
    return `Name: ${p.project.name}\nDescription: ${p.description}\nCreated: ${ago(p.created_at, this.fullTimestamps)}`
  }
}
