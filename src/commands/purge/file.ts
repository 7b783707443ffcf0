import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {jobFlags} from '../../cli/jobs.js'
import {bytesSize} from '../../cli/format/values.js'
import {InvalidArgumentError} from '../../core/errors.js'
import type {PurgeResult} from '../../core/maintenance/purge.js'
import {parseFile} from '../../core/pfs/refs.js'

/**
 * `pach purge file REPO@BRANCH:/path`: remove a file (or every path a glob matches) from every
 * commit of the branch's history (--all-branches: of the repo), the outputs and datum records
 * derived from it downstream, and its bytes from the store; one audit entry (`pach purge log`).
 * Thin over core/maintenance/purge.ts, which states the rules.
 */
export default class PurgeFile extends PachCommand<typeof PurgeFile, PurgeResult> {
  static override summary = 'Remove a file (or a glob) from all history, with what pipelines derived from it, and delete its bytes.'
  static override description = `Every commit of the branch's history (with --all-branches: of the repo) that holds a matching path gets a tree without it; commit ids, commit sets, parents, descriptions and times stay. Downstream, the outputs and datum records of every datum that read a purged file are removed from every output commit that holds them (recursively), and every such output commit is recomputed in place, oldest first, over its job's purged inputs (pipelines downstream of a recomputed commit too; stopped pipelines too): datums that still exist run again over what is left, unaffected ones keep their results. Failed jobs' commits only lose the derived outputs. Then every pack holding the purged bytes is rewritten without them. An audit entry (paths, sizes, content hashes, never the content) is kept: \`pach purge log\`. Refused while a job of an affected pipeline runs or a commit to rewrite is open.`
  static override examples = [
    '<%= config.bin %> purge file images@master:/faces/alice.png -m "GDPR request 2026-114" --dry-run',
    '<%= config.bin %> purge file images@master:/faces/alice.png -m "GDPR request 2026-114"',
    "<%= config.bin %> purge file images@master:'/tmp/**' --all-branches",
  ]
  static override args = {file: Args.string({description: '<repo>@<branch>:<path or glob>', required: true})}
  static override triggersJobs = true
  static override flags = {
    ...jobFlags,
    'all-branches': Flags.boolean({description: 'purge every commit of the repo, not only the branch\'s history'}),
    'dry-run': Flags.boolean({description: 'list every commit, datum and output that would change; change nothing'}),
    description: Flags.string({char: 'm', description: 'why (kept in the audit entry)'}),
  }

  async exec() {
    // a dry run runs nothing (not even jobs left pending by others)
    if (this.flags['dry-run']) (this.flags as {detach?: boolean}).detach = true
    const ref = parseFile(this.args.file, 'master')
    if (!ref.hasPath) throw new InvalidArgumentError('MISSING_PATH', `${JSON.stringify(this.args.file)} names no path to purge`, {hint: 'address it as <repo>@<branch>:<path or glob>'})
    if (!ref.commit.branch || ref.commit.id || ref.commit.ancestry) {
      throw new InvalidArgumentError('INVALID_ADDRESS', `purge takes a branch, not a commit: ${JSON.stringify(this.args.file)}`, {hint: 'every commit of the branch\'s history is purged: use <repo>@<branch>:<path>'})
    }
    if (ref.commit.repo.type !== 'user') throw new InvalidArgumentError('INVALID_ADDRESS', `purge works on user repos, not ${ref.commit.repo.type} repos`, {hint: 'purge the input repo: derived outputs and records follow'})
    return this.pach.purge(
      {project: ref.commit.repo.project ?? this.project, repo: ref.commit.repo.name, branch: ref.commit.branch, pattern: ref.path, allBranches: this.flags['all-branches'], description: this.flags.description},
      {dryRun: this.flags['dry-run']},
    )
  }

  human(r: PurgeResult) {
    const p = r.plan
    const lines: string[] = []
    const verb = r.dry_run ? 'would remove' : 'removed'
    for (const c of p.commits) lines.push(`${c.label}@${c.commit}${c.branch ? ` (${c.branch})` : ''}: ${verb} ${c.removed.map((f) => f.path).join(', ')}`)
    const fate = {recompute: 'recomputed', gone: 'gone (its input is purged whole)', upstream: 'recomputed if its upstream outputs come back'}
    for (const d of p.datums) lines.push(`datum ${d.pipeline}@${d.job} ${d.datum.slice(0, 12)}: read ${d.reads.join(', ')}; ${d.outputs.length ? `outputs ${d.outputs.join(', ')} ${verb}` : 'no outputs'}; ${fate[d.fate]}`)
    const input = p.commits.filter((c) => c.kind === 'input').length
    const output = p.commits.filter((c) => c.kind === 'output').length
    lines.push(
      `${r.dry_run ? 'would purge' : 'purged'} ${p.files.length} file version(s) (${bytesSize(p.files.reduce((a, f) => a + f.size, 0))}) from ${input} commit(s); ${p.datums.length} datum(s) and ${output} output commit(s) downstream` +
        (r.sweep ? `; ${r.sweep.repacked_packs + r.sweep.deleted_packs} pack(s) rewritten or removed, ${bytesSize(r.sweep.reclaimed_bytes)} reclaimed` : ''),
    )
    for (const j of p.recompute) lines.push(`${r.dry_run ? 'would recompute' : 'recomputing'} ${j.pipeline}@${j.job} in place (${j.why === 'tainted' ? 'it held derived outputs' : 'it reads a recomputed commit'})`)
    return lines.join('\n')
  }
}
