import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {findCommitsText} from '../../cli/format/tables.js'
import {parseFile} from '../../core/pfs/refs.js'
import {parseDuration} from '../../core/units/duration.js'
import type {FindCommitsResult} from '../../core/types.js'

export default class FindCommit extends PachCommand<typeof FindCommit, FindCommitsResult> {
  static override summary = 'Find the commits that changed a file or directory, walking back from a commit through its parents (newest first).'
  static override description =
    'A commit changed a path when it added, modified or deleted it (for a directory: anything under it). The search stops at the first commit, ' +
    'after --limit commits were found, or after --timeout; the last commit searched is printed either way.'
  static override examples = [
    '<%= config.bin %> find commit images@master:/cat.png',
    '<%= config.bin %> find commit images@master:/raw --limit 10',
    '<%= config.bin %> find commit images@master:/cat.png --timeout 10s --json',
  ]
  static override args = {file: Args.string({description: '<repo>@<branch-or-commit>:<path>', required: true})}
  static override flags = {
    ...formatFlags,
    limit: Flags.integer({description: 'stop after this many commits were found (0: no limit)', min: 0, default: 0}),
    timeout: Flags.string({description: 'stop searching after this long (Go duration: 10s, 1m)'}),
  }
  static override aliases = ['find:commits']

  async exec() {
    const timeoutMs = this.flags.timeout === undefined ? undefined : parseDuration(this.flags.timeout)
    return this.pach.commits.find(this.project, parseFile(this.args.file, 'master'), {limit: this.flags.limit, timeoutMs, signal: this.signal})
  }

  human(r: FindCommitsResult) {
    return findCommitsText(r)
  }
}
