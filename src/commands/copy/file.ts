import {Args, Flags} from '@oclif/core'
import {jobFlags} from '../../cli/jobs.js'
import {PachCommand} from '../../cli/base-command.js'
import {parseFile} from '../../core/pfs/refs.js'
import type {FileWriteResult} from '../../core/types.js'

export default class CopyFile extends PachCommand<typeof CopyFile, FileWriteResult> {
  static override summary = 'Copy a file or directory between commits (by reference: no bytes are copied).'
  static override examples = ['<%= config.bin %> copy file images@master:/cat.png archive@master:/2024/cat.png']
  static override args = {
    src: Args.string({description: 'source <repo>@<ref>:<path>', required: true}),
    dst: Args.string({description: 'destination <repo>@<branch>:<path>', required: true}),
  }
  static override triggersJobs = true
  static override flags = {
    ...jobFlags,
    append: Flags.boolean({char: 'a', description: 'append to the destination file instead of replacing it'}),
    'src-project': Flags.string({description: 'project of the source repo'}),
  }
  static override aliases = ['copy:files']

  async exec() {
    const src = parseFile(this.args.src, 'master')
    const dst = parseFile(this.args.dst, 'master')
    return this.pach.files.copy(this.project, src, dst, {append: this.flags.append, srcProject: this.flags['src-project'], signal: this.signal})
  }

  human() {
    return ''
  }
}
