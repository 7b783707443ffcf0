/**
 * PFS rows: plain synchronous functions over the PFS tables of the metadata DB (Pachyderm's
 * pfsdb): projects, repos, commits, commit sets, commit and branch provenance, branches, and
 * the meta key/values. Each takes the handle first, never awaits, and returns plain row
 * objects. Callers group them in `withTx` when several must apply together. This is the
 * only place PFS services' SQL lives.
 */
import type {CommitOrigin, RepoType} from '../types.js'
import {st} from './statements.js'
import type {DB} from './types.js'

export interface RepoRow {
  id: number
  project: string
  name: string
  type: RepoType
  description: string
  created: string
}

export interface CommitRow {
  repo_id: number
  id: string
  seq: number
  branch: string | null
  parent: string | null
  origin: CommitOrigin
  description: string
  started: string
  finishing: string | null
  finished: string | null
  error: string
  tree: Buffer | null
  size: number
}

export interface BranchRow {
  repo_id: number
  name: string
  head: string
  created: string
  /** JSON of a pfs/trigger.ts Trigger, or null */
  trigger?: string | null
}

export interface ProjectRow {
  name: string
  description: string
  created: string
}

// projects
export const getProject = (db: DB, name: string) => st(db, 'SELECT * FROM projects WHERE name = ?').get(name) as ProjectRow | undefined
export const listProjects = (db: DB) => st(db, 'SELECT * FROM projects ORDER BY name').all() as ProjectRow[]
export const insertProject = (db: DB, p: ProjectRow) =>
  st(db, 'INSERT INTO projects(name, description, created) VALUES (@name, @description, @created)').run(p)
export const setProjectDescription = (db: DB, name: string, description: string) =>
  st(db, 'UPDATE projects SET description = ? WHERE name = ?').run(description, name)
export const deleteProjectRow = (db: DB, name: string) => st(db, 'DELETE FROM projects WHERE name = ?').run(name)

// repos
export const getRepo = (db: DB, project: string, name: string, type: RepoType) =>
  st(db, 'SELECT * FROM repos WHERE project = ? AND name = ? AND type = ?').get(project, name, type) as RepoRow | undefined
export const getRepoById = (db: DB, id: number) => st(db, 'SELECT * FROM repos WHERE id = ?').get(id) as RepoRow | undefined
export const listRepos = (db: DB, project?: string) =>
  (project === undefined
    ? st(db, 'SELECT * FROM repos ORDER BY created DESC, id DESC').all()
    : st(db, 'SELECT * FROM repos WHERE project = ? ORDER BY created DESC, id DESC').all(project)) as RepoRow[]
export function insertRepo(db: DB, r: Omit<RepoRow, 'id'>): number {
  return Number(
    st(db, 'INSERT INTO repos(project, name, type, description, created) VALUES (@project, @name, @type, @description, @created)').run(r)
      .lastInsertRowid,
  )
}

export const setRepoDescription = (db: DB, id: number, description: string) =>
  st(db, 'UPDATE repos SET description = ? WHERE id = ?').run(description, id)
/** Deletes the repo row; its branches and commits go with it (ON DELETE CASCADE). */
export const deleteRepoRow = (db: DB, id: number) => st(db, 'DELETE FROM repos WHERE id = ?').run(id)

// commits
export const getCommit = (db: DB, repoId: number, id: string) =>
  st(db, 'SELECT * FROM commits WHERE repo_id = ? AND id = ?').get(repoId, id) as CommitRow | undefined
export const listCommitsById = (db: DB, id: string) => st(db, 'SELECT * FROM commits WHERE id = ? ORDER BY seq').all(id) as CommitRow[]
export const listCommitsByRepo = (db: DB, repoId: number) =>
  st(db, 'SELECT * FROM commits WHERE repo_id = ? ORDER BY seq DESC').all(repoId) as CommitRow[]
export const childCommits = (db: DB, repoId: number, id: string) =>
  st(db, 'SELECT * FROM commits WHERE repo_id = ? AND parent = ? ORDER BY seq').all(repoId, id) as CommitRow[]
export function nextSeq(db: DB): number {
  const r = st(db, 'SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM commits').get() as {s: number}
  return r.s
}
export function insertCommit(db: DB, c: Omit<CommitRow, 'seq'>): CommitRow {
  const row: CommitRow = {...c, seq: nextSeq(db)}
  st(db, 
    `INSERT INTO commits(repo_id, id, seq, branch, parent, origin, description, started, finishing, finished, error, tree, size)
     VALUES (@repo_id, @id, @seq, @branch, @parent, @origin, @description, @started, @finishing, @finished, @error, @tree, @size)`,
  ).run(row)
  st(db, 'INSERT INTO commit_sets(id, created, modified) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET modified = excluded.modified').run(
    c.id,
    c.started,
    c.started,
  )
  return row
}
export const setCommitTree = (db: DB, repoId: number, id: string, tree: Buffer | null, size: number) =>
  st(db, 'UPDATE commits SET tree = ?, size = ? WHERE repo_id = ? AND id = ?').run(tree, size, repoId, id)
export const finishCommitRow = (db: DB, repoId: number, id: string, at: string, error: string, description: string | null) =>
  st(
    db,
    'UPDATE commits SET finishing = COALESCE(finishing, @at), finished = @at, error = @error, description = COALESCE(@description, description) WHERE repo_id = @repoId AND id = @id',
  ).run({at, error, description, repoId, id})
export const deleteCommitRow = (db: DB, repoId: number, id: string) => st(db, 'DELETE FROM commits WHERE repo_id = ? AND id = ?').run(repoId, id)
/** Every commit with its repo's name and type, oldest first (fsck). */
export const listCommitsWithRepo = (db: DB) =>
  st(db, 'SELECT c.repo_id, c.id, c.tree, r.name, r.type FROM commits c JOIN repos r ON r.id = c.repo_id ORDER BY c.seq').all() as {
    repo_id: number
    id: string
    tree: Buffer | null
    name: string
    type: RepoType
  }[]
/** Every distinct root tree a commit holds (gc's mark). */
export const listCommitTrees = (db: DB) => st(db, 'SELECT DISTINCT tree FROM commits WHERE tree IS NOT NULL').pluck().all() as Buffer[]
/** A reference to a commit that does not exist: `what` (a branch name or commit id) points at `ref`. */
export interface DanglingRef {
  repo_id: number
  what: string
  ref: string
}
export const listDanglingBranchHeads = (db: DB) =>
  st(db, 'SELECT b.repo_id, b.name AS what, b.head AS ref FROM branches b LEFT JOIN commits c ON c.repo_id = b.repo_id AND c.id = b.head WHERE c.id IS NULL').all() as DanglingRef[]
export const listDanglingCommitParents = (db: DB) =>
  st(
    db,
    'SELECT k.repo_id, k.id AS what, k.parent AS ref FROM commits k LEFT JOIN commits c ON c.repo_id = k.repo_id AND c.id = k.parent WHERE k.parent IS NOT NULL AND c.id IS NULL',
  ).all() as DanglingRef[]
/** Commit sets (one id shared by the commits of one change), newest change first. */
export const listCommitSetIds = (db: DB) => st(db, 'SELECT id FROM commit_sets ORDER BY modified DESC, created DESC').pluck().all() as string[]
export const touchCommitSet = (db: DB, id: string, at: string) => st(db, 'UPDATE commit_sets SET modified = ? WHERE id = ?').run(at, id)
/** Drop the commit set row once no commit carries its id any more. */
export function deleteCommitSetIfEmpty(db: DB, id: string): void {
  if (!st(db, 'SELECT 1 FROM commits WHERE id = ?').pluck().get(id)) st(db, 'DELETE FROM commit_sets WHERE id = ?').run(id)
}
export const reparentCommits = (db: DB, repoId: number, from: string, to: string | null) =>
  st(db, 'UPDATE commits SET parent = ? WHERE repo_id = ? AND parent = ?').run(to, repoId, from)

export interface ProvRow {
  repo_id: number
  commit_id: string
  prov_repo_id: number
  prov_commit_id: string
}
export const commitProvenance = (db: DB, repoId: number, id: string) =>
  st(db, 'SELECT * FROM commit_provenance WHERE repo_id = ? AND commit_id = ?').all(repoId, id) as ProvRow[]
export const commitSubvenance = (db: DB, repoId: number, id: string) =>
  st(db, 'SELECT * FROM commit_provenance WHERE prov_repo_id = ? AND prov_commit_id = ?').all(repoId, id) as ProvRow[]
export const insertCommitProvenance = (db: DB, r: ProvRow) =>
  st(db, 'INSERT OR IGNORE INTO commit_provenance(repo_id, commit_id, prov_repo_id, prov_commit_id) VALUES (@repo_id, @commit_id, @prov_repo_id, @prov_commit_id)').run(r)
/** Remove a commit's own provenance links (before they are written again). */
export const deleteCommitProvenance = (db: DB, repoId: number, id: string) =>
  st(db, 'DELETE FROM commit_provenance WHERE repo_id = ? AND commit_id = ?').run(repoId, id)
/** Remove every link that names this commit as provenance. */
export const deleteCommitSubvenance = (db: DB, repoId: number, id: string) =>
  st(db, 'DELETE FROM commit_provenance WHERE prov_repo_id = ? AND prov_commit_id = ?').run(repoId, id)
/** Remove every commit provenance link from or to a repo's commits. */
export const deleteRepoCommitProvenance = (db: DB, repoId: number) =>
  st(db, 'DELETE FROM commit_provenance WHERE prov_repo_id = ? OR repo_id = ?').run(repoId, repoId)

// branches
export const getBranch = (db: DB, repoId: number, name: string) =>
  st(db, 'SELECT * FROM branches WHERE repo_id = ? AND name = ?').get(repoId, name) as BranchRow | undefined
export const listBranches = (db: DB, repoId: number) =>
  st(db, 'SELECT * FROM branches WHERE repo_id = ? ORDER BY created DESC, name').all(repoId) as BranchRow[]
export const branchesWithHead = (db: DB, repoId: number, head: string) =>
  st(db, 'SELECT * FROM branches WHERE repo_id = ? AND head = ? ORDER BY name').all(repoId, head) as BranchRow[]
export const insertBranch = (db: DB, b: BranchRow) => st(db, 'INSERT INTO branches(repo_id, name, head, created) VALUES (@repo_id, @name, @head, @created)').run(b)
export const setBranchHead = (db: DB, repoId: number, name: string, head: string) =>
  st(db, 'UPDATE branches SET head = ? WHERE repo_id = ? AND name = ?').run(head, repoId, name)
export const setBranchTrigger = (db: DB, repoId: number, name: string, trigger: string | null) =>
  st(db, 'UPDATE branches SET trigger = ? WHERE repo_id = ? AND name = ?').run(trigger, repoId, name)
export const triggeredBranches = (db: DB, repoId: number) =>
  st(db, 'SELECT * FROM branches WHERE repo_id = ? AND trigger IS NOT NULL ORDER BY name').all(repoId) as BranchRow[]
export const allTriggeredBranches = (db: DB) => st(db, 'SELECT * FROM branches WHERE trigger IS NOT NULL ORDER BY repo_id, name').all() as BranchRow[]
export const deleteBranchRow = (db: DB, repoId: number, name: string) => st(db, 'DELETE FROM branches WHERE repo_id = ? AND name = ?').run(repoId, name)

export interface BranchProvRow {
  repo_id: number
  branch: string
  prov_repo_id: number
  prov_branch: string
  /** 1: propagation_spec.never (new commits upstream do not propagate along this link) */
  never: number
}
export const branchProvenance = (db: DB, repoId: number, branch: string) =>
  st(db, 'SELECT * FROM branch_provenance WHERE repo_id = ? AND branch = ?').all(repoId, branch) as BranchProvRow[]
export const branchSubvenance = (db: DB, repoId: number, branch: string) =>
  st(db, 'SELECT * FROM branch_provenance WHERE prov_repo_id = ? AND prov_branch = ?').all(repoId, branch) as BranchProvRow[]
/** Remove every link that names repo@branch as provenance. */
export const deleteBranchSubvenance = (db: DB, repoId: number, branch: string) =>
  st(db, 'DELETE FROM branch_provenance WHERE prov_repo_id = ? AND prov_branch = ?').run(repoId, branch)
/** Remove every link that names any branch of a repo as provenance. */
export const deleteRepoBranchSubvenance = (db: DB, repoId: number) => st(db, 'DELETE FROM branch_provenance WHERE prov_repo_id = ?').run(repoId)
export const setBranchProvenance = (db: DB, repoId: number, branch: string, prov: {repoId: number; branch: string; never?: boolean}[]) => {
  st(db, 'DELETE FROM branch_provenance WHERE repo_id = ? AND branch = ?').run(repoId, branch)
  const ins = st(db, 'INSERT OR IGNORE INTO branch_provenance(repo_id, branch, prov_repo_id, prov_branch, never) VALUES (?, ?, ?, ?, ?)')
  for (const p of prov) ins.run(repoId, branch, p.repoId, p.branch, p.never ? 1 : 0)
}

// meta key/values
export const getMeta = (db: DB, key: string) => (st(db, 'SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined) ?? undefined
export const setMeta = (db: DB, key: string, value: string | undefined) =>
  value === undefined
    ? st(db, 'DELETE FROM meta WHERE key = ?').run(key)
    : st(db, 'INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value)
