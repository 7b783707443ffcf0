import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand, writeOut} from '../../cli/base-command.js'
import {COMMIT_HEADERS, commitCells} from '../../cli/format/tables.js'
import {tableRows} from '../../cli/format/values.js'
import {parseCommit} from '../../core/pfs/refs.js'
import type {CommitOrigin} from '../../core/types.js'

export default class SubscribeCommit extends PachCommand<typeof SubscribeCommit, number> {
  static override summary = 'Print commits as they finish, until interrupted (Ctrl-C).'
  static override description =
    'First the finished commits that exist (oldest first), then each commit as it finishes. With a branch, only commits made on that branch. ' +
    '--from ID starts after that commit; --new prints only commits that finish from now on. With --json, one JSON object per line (NDJSON); with -o yaml, one YAML document each. ' +
    'Ctrl-C (or SIGTERM) ends it with exit 0.'
  static override examples = [
    '<%= config.bin %> subscribe commit images@master',
    '<%= config.bin %> subscribe commit edges@master --new',
    '<%= config.bin %> subscribe commit images@master --from <commit-id> --json',
  ]
  static override args = {branch: Args.string({description: '<repo>[@<branch>]', required: true})}
  static override flags = {
    ...formatFlags,
    from: Flags.string({description: 'print the commits created after this commit id', exclusive: ['new']}),
    new: Flags.boolean({description: 'print only commits that finish from now on'}),
    all: Flags.boolean({description: 'commits of every origin (AUTO, FSCK, USER); the default, as in Pachyderm', exclusive: ['origin']}),
    origin: Flags.string({description: 'only commits of this origin', options: ['USER', 'AUTO', 'FSCK']}),
  }

  // Streams until the signal aborts: each commit is written when it arrives, so `exec` prints
  // and returns how many commits it printed (nothing is left to render afterwards).
  async exec() {
    const row = tableRows(COMMIT_HEADERS)
    const subscription = this.pach.commits.subscribe(this.project, parseCommit(this.args.branch), {
      from: this.flags.from,
      newOnly: this.flags.new,
      origin: this.flags.origin as CommitOrigin | undefined,
      signal: this.signal,
    })
    const YAML = this.format === 'raw-yaml' ? (await import('yaml')).default : undefined
    let n = 0
    for await (const c of subscription) {
      if (this.format === 'human') writeOut(row(commitCells(c, this.fullTimestamps)))
      else if (YAML) writeOut(`---\n${YAML.stringify(c)}`)
      // --raw: pachctl's stream of indented objects; --json: one object per line
      else writeOut(this.format === 'raw-json' ? JSON.stringify(c, null, 2) + '\n' : JSON.stringify(c) + '\n')
      n++
    }
    return n
  }

  protected override async printAsync(): Promise<void> {}

  human() {
    return ''
  }
}
