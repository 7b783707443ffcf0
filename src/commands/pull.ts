import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../cli/base-command.js'
import {resolveRemote} from '../cli/remotes.js'
import {bytesSize} from '../cli/format/values.js'
import {connectRemote} from '../client/connect.js'
import {pullSource} from '../client/pull-source.js'
import {InvalidArgumentError} from '../core/errors.js'
import {validateName} from '../core/pfs/paths.js'
import {pullBranch, type PullResult} from '../core/remote/pull.js'

/**
 * `pach pull REMOTE REPO[@BRANCH[:LOCALBRANCH]]`: the remote branch's new commits into the
 * local store, ids kept (src/core/remote/pull.ts). REMOTE is a pachctl context or an address
 * (src/cli/remotes.ts); the remote project is the context's. Progress goes to stderr on a
 * terminal; `--json` prints the summary.
 */
export default class Pull extends PachCommand<typeof Pull, PullResult> {
  static override summary = "Bring a remote branch's commits into this project, keeping their ids; only bytes not already here are read."
  static override description =
    "REMOTE is a pachctl context name or a pachd address. The local branch (default: the remote branch's name) then tracks the remote one, so `pach push` of commits made on top is a fast-forward. A local branch with commits the remote lacks is refused while the remote has new commits: pull into another branch name with REPO@BRANCH:LOCALBRANCH."
  static override examples = [
    '<%= config.bin %> pull prod images',
    '<%= config.bin %> pull prod images@master --depth 1',
    '<%= config.bin %> pull grpc://localhost:30650 images@dev:dev-prod --json',
    '<%= config.bin %> pull prod images --since 4e1ac2b0ed8e4a4f8f1d2c1c5e1f0a9b',
  ]
  static override args = {
    remote: Args.string({description: 'a pachctl context name or a pachd address', required: true}),
    repo: Args.string({description: 'REPO[@BRANCH[:LOCALBRANCH]] (branch default: master)', required: true}),
  }
  static override flags = {
    depth: Flags.integer({description: 'only the newest N new commits (the oldest of them, when its parent is not here, holds its whole tree and has no parent)', min: 1}),
    since: Flags.string({description: 'pull from this remote commit on (it included)', helpValue: 'ID'}),
  }

  async exec(): Promise<PullResult> {
    const remote = resolveRemote(this.args.remote)
    const target = parseTarget(this.args.repo)
    const conn = await connectRemote(remote)
    for (const w of conn.warnings) this.pach.ctx.reporter.warn(w)
    const source = pullSource(conn, remote)
    try {
      return await pullBranch(this.pach.ctx, this.pach.engine, source, {
        project: this.project,
        remoteProject: remote.project,
        ...target,
        depth: this.flags.depth,
        since: this.flags.since,
        signal: this.signal,
      })
    } finally {
      source.close()
    }
  }

  human(r: PullResult): string {
    const into = r.local_branch === r.branch ? `${r.repo}@${r.branch}` : `${r.repo}@${r.local_branch} (from ${r.branch})`
    if (r.commits === 0) return `${into} is up to date with ${r.remote}${r.ahead ? ` (${r.ahead} local commit${r.ahead === 1 ? '' : 's'} to push)` : ''}`
    return (
      `pulled ${r.commits} commit${r.commits === 1 ? '' : 's'} into ${into} from ${r.remote}: ${r.files} file${r.files === 1 ? '' : 's'}, ` +
      `${bytesSize(r.bytes_received)} received, ${bytesSize(r.bytes_skipped)} already here; head ${r.head}`
    )
  }
}

/** REPO[@BRANCH[:LOCALBRANCH]] → names (validated). */
export function parseTarget(text: string): {repo: string; branch: string; localBranch: string} {
  const m = /^([^@:]+)(?:@([^@:]+)(?::([^@:]+))?)?$/.exec(text)
  if (!m) {
    throw new InvalidArgumentError('INVALID_ADDRESS', `expected REPO[@BRANCH[:LOCALBRANCH]], got ${JSON.stringify(text)}`, {hint: 'e.g. images, images@master or images@master:prod-master'})
  }
  const [, repo, branch = 'master', localBranch = branch] = m
  validateName('repo', repo!)
  validateName('branch', branch)
  validateName('branch', localBranch)
  return {repo: repo!, branch, localBranch}
}
