/**
 * Branch rows (`branches`: name, head commit, optional trigger JSON) and branch provenance
 * (`branch_provenance`: which branches a branch is computed from, with the `never` flag of
 * propagation_spec). Plain synchronous functions over the handle: handle first, no awaits,
 * plain rows.
 */
import {st} from './statements.js'
import type {DB} from './types.js'

export interface BranchRow {
  repo_id: number
  name: string
  head: string
  created: string
  /** JSON of a pfs/trigger.ts Trigger, or null */
  trigger?: string | null
  /** user metadata JSON (db/metadata.ts) */
  metadata?: string
}

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
