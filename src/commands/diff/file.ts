import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {runDiffs} from '../../cli/diff-tool.js'
import {diffNameTable} from '../../cli/format/tables.js'
import {parseFile} from '../../core/pfs/refs.js'
import type {DiffFileInfo} from '../../core/types.js'

export default class DiffFile extends PachCommand<typeof DiffFile, DiffFileInfo[]> {
  static override summary = 'Show how files differ between two commits (default: the new commit and its parent), as a unified diff of each changed file.'
  static override description =
    'Each changed file is diffed with `diff -u` (or the program given with --diff-command, run as `<program> <old> <new>`); a missing side is /dev/null. ' +
    '--name-only lists the changes instead (OP + new / - old, SIZE, NAME); --json gives the changed pairs (new_file, old_file).'
  static override examples = [
    '<%= config.bin %> diff file images@master',
    '<%= config.bin %> diff file images@master:/raw images@master^3:/raw --name-only',
    '<%= config.bin %> diff file images@master --diff-command "git diff --no-index"',
  ]
  static override args = {
    new: Args.string({description: 'new <repo>@<ref>[:<path>]', required: true}),
    old: Args.string({description: 'old <repo>@<ref>[:<path>] (default: parent of new)'}),
  }
  static override flags = {
    ...formatFlags,
    'name-only': Flags.boolean({description: 'list the changed files (OP, SIZE, NAME) instead of their diffs'}),
    shallow: Flags.boolean({char: 's', description: 'do not descend into directories: a changed directory is one entry'}),
    'diff-command': Flags.string({description: 'program to diff two files with, run as `<program> <old> <new>` (default: diff -u)'}),
    'old-project': Flags.string({description: 'project of the old (second) address (default: --project)'}),
  }

  async exec() {
    const n = parseFile(this.args.new, 'master')
    const o = this.args.old ? parseFile(this.args.old, 'master') : undefined
    return this.pach.files.diff(this.project, n, o, {shallow: this.flags.shallow, oldProject: this.flags['old-project']})
  }

  // the content diffs are written as the diff program produces them
  protected override async printAsync(r: DiffFileInfo[]): Promise<void> {
    if (this.format !== 'human' || this.flags['name-only']) return super.printAsync(r)
    await runDiffs(this.pach, r, {command: this.flags['diff-command'], signal: this.signal})
  }

  human(r: DiffFileInfo[]) {
    return diffNameTable(r)
  }
}
