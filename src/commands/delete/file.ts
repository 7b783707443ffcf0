import {Args, Flags} from '@oclif/core'
import {jobFlags} from '../../cli/jobs.js'
import {PachCommand} from '../../cli/base-command.js'
import {parseFile} from '../../core/pfs/refs.js'
import type {FileWriteResult} from '../../core/types.js'

export default class DeleteFile extends PachCommand<typeof DeleteFile, FileWriteResult> {
  static override summary = 'Delete a file, or a directory and everything under it (missing paths are a no-op).'
  static override examples = ['<%= config.bin %> delete file images@master:/cat.png', '<%= config.bin %> delete file images@master:/raw -r']
  static override args = {file: Args.string({description: '<repo>@<branch-or-open-commit>:<path>', required: true})}
  static override triggersJobs = true
  static override flags = {
    ...jobFlags,recursive: Flags.boolean({char: 'r', description: 'delete a directory (directories are always deleted recursively)'})}
  static override aliases = ['delete:files']

  async exec() {
    const ref = parseFile(this.args.file, 'master')
    return this.pach.files.delete(this.project, ref.commit, [ref.path])
  }

  human() {
    return ''
  }
}
