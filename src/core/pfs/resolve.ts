/**
 * Resolution of user addresses to rows, and rows to pachctl-shaped info objects.
 *
 * Rules:
 * - a branch ref resolves to the branch head; `branch=id` checks nothing about the branch
 *   beyond existence of the commit; ancestry `^N` walks parents, `.N` counts from the root
 *   of the branch's first-parent chain (`.1` = first commit; `.0` = the commit itself).
 * - a commit's readable content is its own tree; an errored commit's content is ignored by
 *   `baseTree` (children start from the nearest non-errored ancestor).
 */
import {triggerOf} from './trigger.js'
import {decodeMetadata} from '../db/metadata.js'
import {NotFoundError} from '../errors.js'
import {didYouMean} from '../text/edit-distance.js'
import type {CoreContext} from '../context.js'
import type {DB} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {BranchRow, CommitLinks, CommitRow, CommitSummaryRow, RepoRow} from '../db/pfs-rows.js'
import {DEFAULT_PROJECT, repoLabel, type BranchInfo, type BranchPB, type CommitInfo, type CommitPB, type CommitSummary, type RepoPB} from '../types.js'
import {formatCommit, type CommitRef, type RepoRef} from './refs.js'

/** `{metadata}` when a stored metadata column holds keys, else nothing (infos omit an empty map, as pachctl --raw does). */
export function metadataField(text: string | null | undefined, what: string): {metadata?: Record<string, string>} {
  const md = decodeMetadata(text, what)
  return Object.keys(md).length ? {metadata: md} : {}
}

export class Resolver {
  constructor(readonly ctx: CoreContext) {}

  get db(): DB {
    return this.ctx.db
  }

  project(name: string): rows.ProjectRow {
    const p = rows.getProject(this.db, name)
    if (!p) throw new NotFoundError('PROJECT_NOT_FOUND', `project ${name} not found`, {hint: 'list projects with `pach list project`', data: {project: name}})
    return p
  }

  repo(ref: RepoRef, project = ref.project ?? DEFAULT_PROJECT): RepoRow {
    const r = rows.getRepo(this.db, project, ref.name, ref.type)
    if (!r) {
      if (!rows.getProject(this.db, project)) this.project(project)
      const others = rows.listRepos(this.db, project).filter((o) => o.type === ref.type)
      const {hint, suggestion} = didYouMean(ref.name, others.map((o) => o.name), ref.type === 'user' ? `create it with \`pach create repo ${ref.name}\`` : undefined)
      throw new NotFoundError('REPO_NOT_FOUND', `repo ${repoLabel(ref)} not found${project !== DEFAULT_PROJECT ? ` in project ${project}` : ''}`, {
        hint,
        data: {repo: repoLabel(ref), project, ...(suggestion && {suggestion})},
      })
    }
    return r
  }

  branch(repo: RepoRow, name: string): BranchRow {
    const b = rows.getBranch(this.db, repo.id, name)
    if (!b) {
      const others = rows.listBranches(this.db, repo.id).map((o) => o.name)
      const {hint, suggestion} = didYouMean(name, others, `list branches with \`pach list branch ${repoLabel(repo)}\``)
      throw new NotFoundError('BRANCH_NOT_FOUND', `branch ${name} not found in repo ${repoLabel(repo)}`, {
        hint,
        data: {repo: repoLabel(repo), project: repo.project, branch: name, ...(suggestion && {suggestion})},
      })
    }
    return b
  }

  commitById(repo: RepoRow, id: string): CommitRow {
    const c = rows.getCommit(this.db, repo.id, id)
    if (!c) {
      throw new NotFoundError('COMMIT_NOT_FOUND', `commit ${id} not found in repo ${repoLabel(repo)}`, {
        hint: `list commits with \`pach list commit ${repoLabel(repo)}\``,
        data: {repo: repoLabel(repo), project: repo.project, commit: id},
      })
    }
    return c
  }

  /** Resolve a commit address (branch head, id, ancestry). */
  commit(ref: CommitRef, project?: string): {repo: RepoRow; commit: CommitRow; branch?: BranchRow} {
    const repo = this.repo(ref.repo, project)
    let commit: CommitRow
    let branch: BranchRow | undefined
    if (ref.id) {
      commit = this.commitById(repo, ref.id)
      if (ref.branch) branch = this.branch(repo, ref.branch)
    } else if (ref.branch) {
      branch = this.branch(repo, ref.branch)
      commit = this.commitById(repo, branch.head)
    } else {
      branch = this.branch(repo, 'master')
      commit = this.commitById(repo, branch.head)
    }
    if (ref.ancestry) commit = this.ancestor(repo, commit, ref, ref.ancestry)
    return {repo, commit, branch}
  }

  private ancestor(repo: RepoRow, start: CommitRow, ref: CommitRef, a: NonNullable<CommitRef['ancestry']>): CommitRow {
    const notFound = () => {
      const text = formatCommit(ref)
      // `commit` is the part after "@" (`master^5`), as pachd names a commit it cannot find
      return new NotFoundError('COMMIT_NOT_FOUND', `commit ${text} not found: the history is not that long`, {
        data: {ref: text, repo: repoLabel(repo), project: repo.project, commit: text.slice(text.indexOf('@') + 1)},
      })
    }
    if (a.kind === 'parent') {
      let c = start
      for (let i = 0; i < a.n; i++) {
        if (!c.parent) throw notFound()
        c = this.commitById(repo, c.parent)
      }
      return c
    }
    if (a.n === 0) return start // ".0", like "^0", goes back no commits (Pachyderm's ancestry.Parse gives -0)
    const chain: CommitRow[] = [start]
    let c = start
    while (c.parent) {
      c = this.commitById(repo, c.parent)
      chain.push(c)
    }
    chain.reverse()
    if (a.n < 1 || a.n > chain.length) throw notFound()
    return chain[a.n - 1]!
  }

  /** The tree a child of `c` starts from: c's tree, or its nearest non-errored ancestor's. */
  baseTree(repo: RepoRow, c: CommitRow | undefined): Buffer | null {
    let cur = c
    while (cur && cur.error) cur = cur.parent ? rows.getCommit(this.db, repo.id, cur.parent) : undefined
    return cur?.tree ?? null
  }

  // ---- info builders ----

  repoPB(r: RepoRow): RepoPB {
    return {name: r.name, type: r.type, project: {name: r.project}}
  }

  repoPBById(id: number): RepoPB {
    const r = rows.getRepoById(this.db, id)
    return r ? this.repoPB(r) : {name: '?', type: 'user', project: {name: DEFAULT_PROJECT}}
  }

  /** `repoPBById` over a cache of repo rows, for a listing (a fresh object per call, as the info builders expect). */
  repoPBs(): (id: number) => RepoPB {
    const cache = new Map<number, RepoRow | undefined>()
    return (id) => {
      if (!cache.has(id)) cache.set(id, rows.getRepoById(this.db, id))
      const r = cache.get(id)
      return r ? this.repoPB(r) : {name: '?', type: 'user', project: {name: DEFAULT_PROJECT}}
    }
  }

  commitPB(repo: RepoRow | number, c: {id: string; branch?: string | null}): CommitPB {
    const rpb = typeof repo === 'number' ? this.repoPBById(repo) : this.repoPB(repo)
    const pb: CommitPB = {repo: rpb, id: c.id}
    if (c.branch) pb.branch = {repo: rpb, name: c.branch}
    return pb
  }

  branchPB(repo: RepoRow | number, name: string): BranchPB {
    return {repo: typeof repo === 'number' ? this.repoPBById(repo) : this.repoPB(repo), name}
  }

  commitInfo(repo: RepoRow, c: CommitRow): CommitInfo {
    return this.commitInfoOf(repo, c, rows.commitLinks(this.db, c), (id) => this.repoPBById(id))
  }

  commitSummaryOf(repo: RepoRow, c: CommitSummaryRow): CommitSummary {
    return {
      commit: this.commitPB(repo, c),
      origin: {kind: c.origin},
      description: c.description,
      started: c.started,
      finishing: c.finishing,
      finished: c.finished,
      error: c.error,
      size_bytes_upper_bound: c.size,
      details: {size_bytes: c.size},
      ...metadataField(c.metadata, 'commit'),
    }
  }

  /**
   * A CommitInfo from a commit's row and its links (the one builder: `inspect` and the
   * listings print the same shape, keys in pachctl's order). `repoPB` names the repos of
   * provenance links; it returns a fresh object per call, as does everything here, since
   * YAML output marks an object met twice as an anchor.
   */
  commitInfoOf(repo: RepoRow, c: CommitSummaryRow, l: CommitLinks, repoPB: (id: number) => RepoPB): CommitInfo {
    const pb = (r: RepoPB, k: {id: string; branch: string | null}): CommitPB => (k.branch ? {repo: r, id: k.id, branch: {repo: r, name: k.branch}} : {repo: r, id: k.id})
    const own = this.repoPB(repo)
    return {
      commit: this.commitPB(repo, c),
      origin: {kind: c.origin},
      description: c.description,
      parent_commit: c.parent ? pb(own, {id: c.parent, branch: l.parent_branch}) : null,
      child_commits: l.children.map((k) => this.commitPB(repo, k)),
      started: c.started,
      finishing: c.finishing,
      finished: c.finished,
      direct_provenance: l.provenance.map((p) => pb(repoPB(p.repo_id), p)),
      direct_subvenance: l.subvenance.map((p) => pb(repoPB(p.repo_id), p)),
      error: c.error,
      size_bytes_upper_bound: c.size,
      details: {size_bytes: c.size},
      ...metadataField(c.metadata, 'commit'),
    }
  }

  branchInfo(repo: RepoRow, b: BranchRow): BranchInfo {
    const links = rows.branchProvenance(this.db, repo.id, b.name)
    const direct = links.map((p) => this.branchPB(p.prov_repo_id, p.prov_branch))
    const never = links.filter((p) => p.never).map((p) => ({branch: this.branchPB(p.prov_repo_id, p.prov_branch), propagation_spec: {never: true as const}}))
    const head = rows.getCommit(this.db, repo.id, b.head)
    const trigger = triggerOf(b)
    return {
      branch: this.branchPB(repo, b.name),
      head: this.commitPB(repo, {id: b.head, branch: head?.branch ?? b.name}),
      provenance: this.closure(repo.id, b.name, 'up').map(([r, n]) => this.branchPB(r, n)),
      direct_provenance: direct,
      subvenance: this.closure(repo.id, b.name, 'down').map(([r, n]) => this.branchPB(r, n)),
      ...(never.length ? {branch_propagation_specs: never} : {}),
      ...(trigger ? {trigger} : {}),
      created_at: b.created,
      ...metadataField(b.metadata, 'branch'),
    }
  }

  /**
   * Transitive branch provenance ('up') or subvenance ('down'), excluding the start.
   * `propagating`: only links new commits propagate along (not `propagation_spec.never`).
   */
  closure(repoId: number, branch: string, dir: 'up' | 'down', propagating = false): [number, string][] {
    const seen = new Set<string>([`${repoId}\0${branch}`])
    const out: [number, string][] = []
    const queue: [number, string][] = [[repoId, branch]]
    while (queue.length) {
      const [r, b] = queue.shift()!
      const next =
        dir === 'up'
          ? rows.branchProvenance(this.db, r, b).map((p) => [p.prov_repo_id, p.prov_branch] as [number, string])
          : rows
              .branchSubvenance(this.db, r, b)
              .filter((p) => !propagating || !p.never)
              .map((p) => [p.repo_id, p.branch] as [number, string])
      for (const n of next) {
        const k = `${n[0]}\0${n[1]}`
        if (seen.has(k)) continue
        seen.add(k)
        out.push(n)
        queue.push(n)
      }
    }
    return out
  }
}
