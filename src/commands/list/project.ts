import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {projectTable} from '../../cli/format/tables.js'
import type {ProjectInfo} from '../../core/types.js'

export default class ListProject extends PachCommand<typeof ListProject, ProjectInfo[]> {
  static override summary = 'List projects.'
  static override examples = ['<%= config.bin %> list project']
  static override flags = {...formatFlags}
  static override aliases = ['list:projects']

  async exec() {
    return this.pach.projects.list()
  }

  human(r: ProjectInfo[]) {
    return projectTable(r, this.fullTimestamps)
  }
}
