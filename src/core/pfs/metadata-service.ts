/**
 * MetadataService: user metadata (pachd 2.10+ `metadata_v2`), a map of string → string on a
 * project, repo, branch, commit or the cluster, changed by edits (pachd's EditMetadata,
 * `pach edit metadata`).
 *
 * Concepts:
 * - a *target* names the object as pachd's pickers do: a project by name; a repo by project
 *   picker, name and type (empty = user); a branch by repo picker and name; a commit by repo
 *   and id, by branch head, as the `offset`-th ancestor of another commit picker (`^N`), or as
 *   the commit `offset` steps below the head's root (0 = the root). A picker a request leaves
 *   out (null) is refused, as pachd refuses it (`… picker cannot be nil`).
 * - an *op* is one of replace (the whole map), add_key (refused when the key exists),
 *   edit_key (set, existing or not), delete_key (no error when absent).
 *
 * Invariants:
 * - `edit` applies every edit in order in one SQLite transaction: all of them or none. Every
 *   edit is attempted, so one call reports every failing edit (pachd joins them), in
 *   `data.failures` of the error thrown (the first failure's own error).
 * - a later edit sees the earlier edits of the same call (two add_key of one key: the second
 *   fails).
 * - metadata is not content: a finished commit's metadata may change, and editing it changes
 *   nothing else (no commit, no job). Edits never join a transaction (pachd applies
 *   EditMetadata at once, whatever transaction the caller has).
 *
 * Errors: each failure is the core error of its cause (PROJECT_NOT_FOUND, REPO_NOT_FOUND,
 * BRANCH_NOT_FOUND, COMMIT_NOT_FOUND, MISSING_ARGUMENT for a missing picker, METADATA_KEY_EXISTS)
 * with `data.trail`: the picker levels the failure happened inside, outermost first (what the
 * server needs to word it as pachd does: `picking commit: picking branch: …`).
 */
import type {CoreContext} from '../context.js'
import {withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {BranchRow, CommitRow, MetadataMap, RepoRow} from '../db/pfs-rows.js'
import {ConflictError, InvalidArgumentError, isPachError, NotFoundError, PachError} from '../errors.js'
import {repoLabel, type RepoType} from '../types.js'
import type {PfsEngine} from './engine.js'

export type PickLevel = 'project' | 'repo' | 'branch' | 'commit'

export interface ProjectPick {
  name: string
}
export interface RepoPick {
  project: ProjectPick | null
  name: string
  /** empty = user */
  type: string
}
export interface BranchPick {
  repo: RepoPick | null
  name: string
}
export type CommitPick =
  | {kind: 'id'; repo: RepoPick | null; id: string}
  | {kind: 'branchHead'; branch: BranchPick | null}
  | {kind: 'ancestor'; offset: number; start: CommitPick | null}
  | {kind: 'branchRoot'; offset: number; branch: BranchPick | null}

export type MetadataTarget =
  | {kind: 'project'; project: ProjectPick | null}
  | {kind: 'repo'; repo: RepoPick | null}
  | {kind: 'branch'; branch: BranchPick | null}
  | {kind: 'commit'; commit: CommitPick | null}
  | {kind: 'cluster'}

export type MetadataOp =
  | {kind: 'replace'; replacement: MetadataMap}
  | {kind: 'add_key'; key: string; value: string}
  | {kind: 'edit_key'; key: string; value: string}
  | {kind: 'delete_key'; key: string}

export interface MetadataEdit {
  target: MetadataTarget
  op: MetadataOp
}

/** One failed edit: its index in the request and its error's code, message and data (`data.trail`: see the header). */
export interface MetadataFailure {
  edit: number
  target: MetadataTarget['kind']
  code: PachError['code']
  message: string
  data: Record<string, unknown>
}

/**
 * The object an edit resolved to: where its metadata lives, and `key`, how pachd names it
 * (`images` project; `default/images.user` repo; `default/images.user@master` branch;
 * `default/images.user@<id>` commit; '' the cluster).
 */
type Resolved = {key: string; md: MetadataMap} & (
  | {kind: 'project'; name: string}
  | {kind: 'repo'; repo: RepoRow}
  | {kind: 'branch'; repo: RepoRow; branch: string}
  | {kind: 'commit'; repo: RepoRow; id: string}
  | {kind: 'cluster'}
)

/** pachd's key of a repo (`project/name.type`), the form its metadata errors name objects in. */
export const repoKey = (r: {project: string; name: string; type: string}) => `${r.project}/${r.name}.${r.type}`

function within<T>(level: PickLevel, fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    if (isPachError(e)) {
      const d = e.data as {trail?: PickLevel[]}
      d.trail = [level, ...(d.trail ?? [])]
    }
    throw e
  }
}

const nilPicker = (what: PickLevel) =>
  new InvalidArgumentError('MISSING_ARGUMENT', `no ${what} given to pick`, {data: {picker: what, reason: 'nil-picker'}})

export class MetadataService {
  constructor(
    readonly ctx: CoreContext,
    readonly engine: PfsEngine,
  ) {}

  /** The cluster's own metadata (InspectCluster). */
  cluster(): MetadataMap {
    return rows.getClusterMetadata(this.ctx.db)
  }

  /**
   * Apply `edits` in order, all or none (see the header). Throws the first failure's error,
   * with every failure in `data.failures` (MetadataFailure[]).
   *
   * @example metadata.edit([{target: {kind: 'commit', commit: {kind: 'id', repo: {project: {name: 'default'}, name: 'images', type: ''}, id}}, op: {kind: 'edit_key', key: 'pach.local_commit_id', value: local}}])
   */
  edit(edits: MetadataEdit[]): void {
    const db = this.ctx.db
    withTx(db, () => {
      // objects already edited in this call, by pachd key: later edits start from their maps
      const pending = new Map<string, Resolved>()
      const failures: MetadataFailure[] = []
      let first: PachError | undefined
      edits.forEach((e, i) => {
        try {
          const fresh = this.resolve(e.target)
          const id = `${fresh.kind} ${fresh.key}`
          const obj = pending.get(id) ?? fresh
          obj.md = applyOp(obj, e.op)
          pending.set(id, obj)
        } catch (err) {
          if (!isPachError(err)) throw err
          first ??= err
          failures.push({edit: i, target: e.target.kind, code: err.code, message: err.message, data: {...err.data}})
        }
      })
      if (first) {
        Object.assign(first.data, {edit: failures[0]!.edit, failures})
        if (failures.length > 1) first.message += ` (and ${failures.length - 1} more failed edit${failures.length > 2 ? 's' : ''}; nothing was changed)`
        throw first
      }
      for (const o of pending.values()) this.store(o)
    })
  }

  private store(o: Resolved): void {
    const db = this.ctx.db
    if (o.kind === 'project') rows.setProjectMetadata(db, o.name, o.md)
    else if (o.kind === 'repo') rows.setRepoMetadata(db, o.repo.id, o.md)
    else if (o.kind === 'branch') rows.setBranchMetadata(db, o.repo.id, o.branch, o.md)
    else if (o.kind === 'commit') rows.setCommitMetadata(db, o.repo.id, o.id, o.md)
    else rows.setClusterMetadata(db, o.md)
  }

  private resolve(t: MetadataTarget): Resolved {
    switch (t.kind) {
      case 'project': {
        const p = this.pickProject(t.project)
        return {kind: 'project', key: p.name, name: p.name, md: rows.decodeMetadata(p.metadata, 'project')}
      }
      case 'repo': {
        const r = this.pickRepo(t.repo)
        return {kind: 'repo', key: repoKey(r), repo: r, md: rows.decodeMetadata(r.metadata, 'repo')}
      }
      case 'branch': {
        const {repo, branch} = this.pickBranch(t.branch)
        return {kind: 'branch', key: `${repoKey(repo)}@${branch.name}`, repo, branch: branch.name, md: rows.decodeMetadata(branch.metadata, 'branch')}
      }
      case 'commit': {
        const {repo, commit} = this.pickCommit(t.commit)
        return {kind: 'commit', key: `${repoKey(repo)}@${commit.id}`, repo, id: commit.id, md: rows.decodeMetadata(commit.metadata, 'commit')}
      }
      case 'cluster':
        return {kind: 'cluster', key: '', md: rows.getClusterMetadata(this.ctx.db)}
    }
  }

  private pickProject(p: ProjectPick | null): rows.ProjectRow {
    if (!p) throw nilPicker('project')
    return within('project', () => {
      const row = rows.getProject(this.ctx.db, p.name)
      if (!row) throw new NotFoundError('PROJECT_NOT_FOUND', `project ${p.name} not found`, {hint: 'list projects with `pach list project`', data: {project: p.name}})
      return row
    })
  }

  private pickRepo(p: RepoPick | null): RepoRow {
    if (!p) throw nilPicker('repo')
    return within('repo', () => {
      const project = this.pickProject(p.project)
      const type = (p.type || 'user') as RepoType
      const r = rows.getRepo(this.ctx.db, project.name, p.name, type)
      if (!r) {
        throw new NotFoundError('REPO_NOT_FOUND', `repo ${repoLabel({name: p.name, type})} not found in project ${project.name}`, {
          hint: `list repos with \`pach list repo --project ${project.name}\``,
          data: {repo: repoLabel({name: p.name, type}), name: p.name, type, project: project.name},
        })
      }
      return r
    })
  }

  private pickBranch(p: BranchPick | null): {repo: RepoRow; branch: BranchRow} {
    if (!p) throw nilPicker('branch')
    return within('branch', () => {
      const repo = this.pickRepo(p.repo)
      const branch = rows.getBranch(this.ctx.db, repo.id, p.name)
      if (!branch) {
        throw new NotFoundError('BRANCH_NOT_FOUND', `branch ${p.name} not found in repo ${repoLabel(repo)}`, {
          hint: `list branches with \`pach list branch ${repoLabel(repo)}\``,
          data: {repo: repoLabel(repo), name: repo.name, type: repo.type, project: repo.project, branch: p.name},
        })
      }
      return {repo, branch}
    })
  }

  private pickCommit(p: CommitPick | null): {repo: RepoRow; commit: CommitRow} {
    if (!p) throw nilPicker('commit')
    const db = this.ctx.db
    return within('commit', () => {
      switch (p.kind) {
        case 'id': {
          const repo = this.pickRepo(p.repo)
          const commit = rows.getCommit(db, repo.id, p.id)
          if (!commit) {
            throw new NotFoundError('COMMIT_NOT_FOUND', `commit ${p.id} not found in repo ${repoLabel(repo)}`, {
              hint: `list commits with \`pach list commit ${repoLabel(repo)}\``,
              data: {repo: repoLabel(repo), name: repo.name, type: repo.type, project: repo.project, commit: p.id, reason: 'id'},
            })
          }
          return {repo, commit}
        }
        case 'branchHead':
          return this.head(p.branch)
        case 'ancestor': {
          const start = this.pickCommit(p.start)
          let c = start.commit
          let steps = 0
          while (steps < p.offset && c.parent) {
            c = rows.getCommit(db, start.repo.id, c.parent)!
            steps++
          }
          if (steps !== p.offset) {
            throw new NotFoundError('COMMIT_NOT_FOUND', `commit ${repoLabel(start.repo)}@${start.commit.id}^${p.offset} not found: it has ${steps} ancestor(s)`, {
              data: {...commitData(start.repo, start.commit.id), reason: 'ancestor', offset: p.offset, traversable: steps},
            })
          }
          return {repo: start.repo, commit: c}
        }
        case 'branchRoot': {
          // pachd's BranchRoot: inside a commit level of its own (pickCommitBranchHead)
          const head = within('commit', () => this.head(p.branch))
          const chain: CommitRow[] = [head.commit]
          for (let c = head.commit; c.parent; ) {
            c = rows.getCommit(db, head.repo.id, c.parent)!
            chain.push(c)
          }
          if (chain.length < p.offset) {
            throw new NotFoundError('COMMIT_NOT_FOUND', `commit ${repoLabel(head.repo)}@${head.commit.id}: no commit ${p.offset} step(s) from its root (it has ${chain.length} commit(s))`, {
              data: {...commitData(head.repo, head.commit.id), reason: 'branchRoot', offset: p.offset, depth: chain.length},
            })
          }
          // as pachd: the commit `offset` steps from the root; the head when the chain is exactly that long
          return {repo: head.repo, commit: chain[Math.max(0, chain.length - 1 - p.offset)]!}
        }
      }
    })
  }

  private head(b: BranchPick | null): {repo: RepoRow; commit: CommitRow} {
    const {repo, branch} = this.pickBranch(b)
    return {repo, commit: this.engine.resolve.commitById(repo, branch.head)}
  }
}

const commitData = (repo: RepoRow, id: string) => ({repo: repoLabel(repo), name: repo.name, type: repo.type, project: repo.project, commit: id})

/** The object's metadata after `op` (a new map; refuses add_key of an existing key). */
function applyOp(o: Resolved, op: MetadataOp): MetadataMap {
  switch (op.kind) {
    case 'replace':
      return {...op.replacement}
    case 'add_key':
      if (Object.hasOwn(o.md, op.key)) {
        const what = o.kind === 'cluster' ? 'the cluster' : `${o.kind} ${o.key}`
        throw new ConflictError('METADATA_KEY_EXISTS', `metadata key ${op.key} already exists on ${what}`, {
          hint: 'change an existing key with edit (edit_key) instead of add',
          data: {key: op.key, target: o.kind, object: o.key},
        })
      }
      return {...o.md, [op.key]: op.value}
    case 'edit_key':
      return {...o.md, [op.key]: op.value}
    case 'delete_key': {
      const md = {...o.md}
      delete md[op.key]
      return md
    }
  }
}
