/**
 * Commit rows (`commits`), commit sets (`commit_sets`: one row per change id, with when it
 * was created and last modified) and commit provenance (`commit_provenance`: which commits
 * an AUTO commit was computed from). Inserting a commit upserts its commit set. Plain
 * synchronous functions over the handle: handle first, no awaits, plain rows.
 */
import type {CommitOrigin, RepoType} from '../types.js'
import {st} from './statements.js'
import type {DB} from './types.js'

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
