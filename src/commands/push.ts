import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../cli/base-command.js'
import {bytesSize} from '../cli/format/values.js'
import {LiveRegion, bar} from '../cli/progress.js'
import {clock} from '../cli/reporter.js'
import {resolveRemote} from '../cli/remotes.js'
import {connectRemote} from '../client/connect.js'
import {PachdPushTarget} from '../client/push-target.js'
import {pipelineTarget} from '../client/pipeline-target.js'
import {preparePipelinePromotion} from '../core/remote/pipelines.js'
import {DockerImagePublisher} from '../runner/image-publish.js'
import {InvalidArgumentError} from '../core/errors.js'
import {parseCommit} from '../core/pfs/refs.js'
import type {PushProgress, PushResult, PushSelection} from '../core/remote/push.js'

export default class Push extends PachCommand<typeof Push, PushResult> {
  static override summary = 'Send local commits to a Pachyderm cluster: only what it does not have, as diffs.'
  static override description = [
    'REMOTE is a pachctl context name or a pachd address (grpc://host:port); it is resolved as pachctl resolves its context (PACH_CONTEXT, PACHD_ADDRESS, the active context).',
    'REPO pushes every branch of the repo, REPO@BRANCH one branch, --all every branch of every input repo (pipeline outputs are recomputed by the cluster, not pushed).',
    'Each local commit not yet on the remote becomes one remote commit with its description; commits made together in several repos stay one commit set. Only the files a commit changed are sent.',
    'A remote branch that has commits this project does not have is refused (exit 5, NON_FAST_FORWARD); --force replaces it with the local history. An interrupted push (Ctrl-C, a lost connection) is resumed by running it again.',
  ].join('\n\n')
  static override examples = [
    '<%= config.bin %> push prod images@master',
    '<%= config.bin %> push grpc://localhost:30650 --all --dry-run',
    '<%= config.bin %> push prod images edges@dev --json',
  ]
  static override strict = false
  static override args = {
    remote: Args.string({description: 'pachctl context name or pachd address', required: true}),
    repos: Args.string({description: 'REPO or REPO@BRANCH to push (several may follow)'}),
  }
  static override flags = {
    all: Flags.boolean({description: 'push every branch of every input repo of the project'}),
    'dry-run': Flags.boolean({description: 'print what would be sent; send nothing'}),
    force: Flags.boolean({description: 'replace remote branches that have commits this project lacks'}),
    outputs: Flags.boolean({description: 'also push local pipeline outputs, as plain data (the cluster keeps them as input repos; not with --pipelines, which has the cluster compute them)', exclusive: ['pipelines']}),
    pipelines: Flags.boolean({description: 'also create or update, after the data, the pipelines that read the pushed repos (specs tried on the cluster and images pinned before any data moves)'}),
    registry: Flags.string({description: 'with --pipelines: the registry for images that exist only here and whose name names none (HOST[:PORT][/PREFIX])', dependsOn: ['pipelines']}),
    'cluster-arch': Flags.string({description: 'with --pipelines: the CPU architecture of the cluster nodes (default: the one pachd reports, else amd64)', dependsOn: ['pipelines']}),
    reprocess: Flags.boolean({description: 'with --pipelines: update pipelines with a new salt, so every datum runs again on the cluster', dependsOn: ['pipelines']}),
  }

  async exec(): Promise<PushResult> {
    const {argv} = await this.parse(Push)
    const [remoteArg, ...refs] = argv as string[]
    if (this.flags.all && refs.length > 0) throw new InvalidArgumentError('USAGE', 'name repos or pass --all, not both')
    if (!this.flags.all && refs.length === 0) {
      throw new InvalidArgumentError('MISSING_ARGUMENT', 'name the repos to push (REPO or REPO@BRANCH), or pass --all', {hint: `e.g. \`pach push ${remoteArg ?? 'REMOTE'} images@master\``})
    }
    const selection: PushSelection = this.flags.all ? {all: true} : {refs: refs.map(parseRef)}
    const remote = resolveRemote(remoteArg)
    const {client, deploymentId, warnings} = await connectRemote(remote)
    for (const w of warnings) this.pach.reporter.warn(w)
    const live = this.format === 'human' && process.stderr.isTTY ? new LiveRegion() : undefined
    const started = Date.now()
    try {
      return await this.pach.push.push(new PachdPushTarget(client, deploymentId), {
        selection,
        project: this.project,
        remoteProject: remote.project,
        remoteName: remote.name,
        address: remote.address,
        force: this.flags.force,
        outputs: this.flags.outputs,
        dryRun: this.flags['dry-run'],
        signal: this.signal,
        onProgress: live && throttled((p) => live.draw([progressLine(p, started)])),
        pipelines: this.flags.pipelines
          ? (pushedRepos) =>
              preparePipelinePromotion(this.pach, pipelineTarget(client), new DockerImagePublisher(), {
                pushedRepos,
                project: remote.project,
                localProject: this.project,
                registry: this.flags.registry,
                clusterArch: this.flags['cluster-arch'],
                reprocess: this.flags.reprocess,
              })
          : undefined,
      })
    } finally {
      live?.clear()
      client.close()
    }
  }

  human(r: PushResult): string {
    const lines = r.branches.map((b) => {
      const what =
        b.status === 'push' ? `${b.commits} commit${b.commits === 1 ? '' : 's'}${r.dry_run ? ' to send' : ' sent'}`
        : b.status === 'move' ? (r.dry_run ? 'branch to move' : 'branch moved')
        : b.status === 'skipped' ? `skipped: ${b.reason}`
        : b.status === 'refused' ? `refused: ${b.reason}`
        : 'up to date'
      return `${b.repo}@${b.branch}: ${what}`
    })
    if (r.dry_run) {
      for (const set of r.sets) {
        for (const c of set.commits) {
          const what = `${c.files} file${c.files === 1 ? '' : 's'}, ${bytesSize(c.bytes)}${c.description ? `: ${c.description}` : ''}`
          lines.push(`  ${set.local_id.slice(0, 12)} ${c.repo}@${c.branch} (${what})`)
        }
      }
    }
    const p = r.pipelines
    if (p) {
      const names = (xs: string[]) => xs.join(', ')
      if (r.dry_run) {
        if (p.planned.length > 0) lines.push(`pipelines to create or update, upstream first: ${names(p.planned)}${p.validated ? ' (the cluster accepts them)' : ' (not tried: the remote project does not exist yet)'}`)
        for (const i of p.images) lines.push(`  ${i.pipeline}: image ${i.image} → ${i.sent}`)
      } else {
        if (p.created.length > 0) lines.push(`pipelines created: ${names(p.created)}`)
        if (p.updated.length > 0) lines.push(`pipelines updated: ${names(p.updated)}`)
        if (p.unchanged.length > 0) lines.push(`pipelines unchanged: ${names(p.unchanged)}`)
        for (const i of p.images.filter((x) => x.pushed)) lines.push(`  ${i.pipeline}: image ${i.image} pushed, sent as ${i.sent}`)
      }
      for (const sk of p.skipped) lines.push(`pipeline ${sk.name} not promoted: ${sk.reason}`)
    }
    const totals = `${r.commits} commit${r.commits === 1 ? '' : 's'}, ${r.files} file${r.files === 1 ? '' : 's'}, ${bytesSize(r.bytes_sent)}`
    lines.push(r.dry_run ? `would push ${totals} to ${r.remote} (nothing was sent)` : `pushed ${totals} to ${r.remote} (${bytesSize(r.bytes_skipped)} already there)`)
    return lines.join('\n')
  }
}

/** REPO or REPO@BRANCH (an input repo; a commit id or ancestry is not a branch to push). */
function parseRef(s: string): {repo: string; branch?: string} {
  const c = parseCommit(s)
  if (c.repo.type !== 'user' || c.id || c.ancestry) {
    throw new InvalidArgumentError('INVALID_ADDRESS', `${JSON.stringify(s)} is not REPO or REPO@BRANCH`, {hint: 'push names branches; a commit is pushed with the branch it is on'})
  }
  return {repo: c.repo.name, branch: c.branch}
}

function progressLine(p: PushProgress, started: number): string {
  const frac = p.total.bytes > 0 ? p.bytes / p.total.bytes : p.total.files > 0 ? p.files / p.total.files : 1
  const secs = Math.max((Date.now() - started) / 1000, 0.001)
  const eta = frac > 0 && frac < 1 ? `, ETA ${clock((secs * (1 - frac)) / frac)}` : ''
  return `push [${bar(frac, 30)}] ${bytesSize(p.bytes)}/${bytesSize(p.total.bytes)}, ${p.files}/${p.total.files} files, ${p.commits}/${p.total.commits} commits, ${bytesSize(p.bytes / secs)}/s${eta}`
}

/** At most one call per 100 ms (the last state is drawn by the next call or cleared at the end). */
function throttled<T>(fn: (v: T) => void): (v: T) => void {
  let last = 0
  return (v) => {
    const now = Date.now()
    if (now - last < 100) return
    last = now
    fn(v)
  }
}
