/**
 * Remote rows (schema 11): which pachd clusters this `.pach` has pushed to or pulled from, and
 * the commit mapping between them. Plain synchronous functions, handle first.
 *
 * Concepts:
 * - A remote is a cluster, keyed by its `deployment_id` (admin_v2 InspectCluster): the mapping
 *   belongs to the cluster, not to the pachctl context or address used to reach it, and a
 *   context that now points at another cluster finds no mapping (nothing is assumed pushed).
 * - `remote_commits`: local commit (repo, commit-set id) ↔ remote commit (project, repo,
 *   commit-set id). `started` = the remote commit was opened and may hold part of the content
 *   (a resumed push drops and redoes it); `finished` = the remote commit holds exactly the
 *   local commit's content. pachd mints its own ids, so after a push the ids differ; a pull keeps
 *   the remote's id locally, so both sides carry the same id.
 * - `remote_branches`: a local branch tracks a remote branch (set by pull and push), which is
 *   what lets a push after a pull be a fast-forward.
 * - `remote_content` (schema 12): a remote file hash (and size) → the local content stored for
 *   it (store/content.ts `contentText`), so a pull skips the bytes of a file it already has.
 *   A hint: the caller checks the chunks still exist before using a row.
 * Rows of a repo go with the repo (ON DELETE CASCADE).
 */
import type {DB} from './types.js'
import {st} from './statements.js'

export interface RemoteRow {
  deployment_id: string
  /** the pachctl context name or the address it was last reached by */
  name: string
  address: string
  last_push: string | null
  last_pull: string | null
}

export interface RemoteCommitRow {
  deployment_id: string
  repo_id: number
  local_commit: string
  remote_project: string
  remote_repo: string
  remote_commit: string
  state: 'started' | 'finished'
  updated: string
}

export interface RemoteBranchRow {
  repo_id: number
  branch: string
  deployment_id: string
  remote_project: string
  remote_repo: string
  remote_branch: string
}

/** Record (or refresh the name and address of) a remote. */
export const upsertRemote = (db: DB, r: {deployment_id: string; name: string; address: string}) =>
  st(db, `INSERT INTO remotes(deployment_id, name, address) VALUES (@deployment_id, @name, @address)
    ON CONFLICT(deployment_id) DO UPDATE SET name = excluded.name, address = excluded.address`).run(r)

export const getRemote = (db: DB, deploymentId: string) => st(db, 'SELECT * FROM remotes WHERE deployment_id = ?').get(deploymentId) as RemoteRow | undefined

export const listRemotes = (db: DB) => st(db, 'SELECT * FROM remotes ORDER BY name, deployment_id').all() as RemoteRow[]

export const touchRemote = (db: DB, deploymentId: string, field: 'last_push' | 'last_pull', at: string) =>
  st(db, `UPDATE remotes SET ${field} = ? WHERE deployment_id = ?`).run(at, deploymentId)

/** Insert or replace the mapping of one local commit. */
export const putRemoteCommit = (db: DB, r: RemoteCommitRow) =>
  st(db, `INSERT INTO remote_commits(deployment_id, repo_id, local_commit, remote_project, remote_repo, remote_commit, state, updated)
    VALUES (@deployment_id, @repo_id, @local_commit, @remote_project, @remote_repo, @remote_commit, @state, @updated)
    ON CONFLICT(deployment_id, repo_id, local_commit) DO UPDATE SET remote_project = excluded.remote_project,
      remote_repo = excluded.remote_repo, remote_commit = excluded.remote_commit, state = excluded.state, updated = excluded.updated`).run(r)

export const getRemoteCommit = (db: DB, deploymentId: string, repoId: number, localCommit: string) =>
  st(db, 'SELECT * FROM remote_commits WHERE deployment_id = ? AND repo_id = ? AND local_commit = ?').get(deploymentId, repoId, localCommit) as RemoteCommitRow | undefined

/** The local commit a remote commit maps to, if any. */
export const localOfRemoteCommit = (db: DB, deploymentId: string, remoteProject: string, remoteRepo: string, remoteCommit: string) =>
  st(db, 'SELECT * FROM remote_commits WHERE deployment_id = ? AND remote_project = ? AND remote_repo = ? AND remote_commit = ?').get(
    deploymentId, remoteProject, remoteRepo, remoteCommit,
  ) as RemoteCommitRow | undefined

export const listRemoteCommits = (db: DB, deploymentId: string, repoId: number) =>
  st(db, 'SELECT * FROM remote_commits WHERE deployment_id = ? AND repo_id = ?').all(deploymentId, repoId) as RemoteCommitRow[]

export const deleteRemoteCommit = (db: DB, deploymentId: string, repoId: number, localCommit: string) =>
  st(db, 'DELETE FROM remote_commits WHERE deployment_id = ? AND repo_id = ? AND local_commit = ?').run(deploymentId, repoId, localCommit)

export const putRemoteBranch = (db: DB, r: RemoteBranchRow) =>
  st(db, `INSERT INTO remote_branches(repo_id, branch, deployment_id, remote_project, remote_repo, remote_branch)
    VALUES (@repo_id, @branch, @deployment_id, @remote_project, @remote_repo, @remote_branch)
    ON CONFLICT(repo_id, branch, deployment_id) DO UPDATE SET remote_project = excluded.remote_project,
      remote_repo = excluded.remote_repo, remote_branch = excluded.remote_branch`).run(r)

export const getRemoteBranch = (db: DB, repoId: number, branch: string, deploymentId: string) =>
  st(db, 'SELECT * FROM remote_branches WHERE repo_id = ? AND branch = ? AND deployment_id = ?').get(repoId, branch, deploymentId) as RemoteBranchRow | undefined

export const listRemoteBranches = (db: DB, deploymentId: string) =>
  st(db, 'SELECT * FROM remote_branches WHERE deployment_id = ?').all(deploymentId) as RemoteBranchRow[]

/** The local content (contentText) recorded for a remote file hash and size, if any. */
export const getRemoteContent = (db: DB, deploymentId: string, remoteHash: Buffer, size: number) =>
  st(db, 'SELECT content FROM remote_content WHERE deployment_id = ? AND remote_hash = ? AND size = ?').pluck().get(deploymentId, remoteHash, size) as string | undefined

export const putRemoteContent = (db: DB, deploymentId: string, remoteHash: Buffer, size: number, content: string) =>
  st(db, 'INSERT OR REPLACE INTO remote_content(deployment_id, remote_hash, size, content) VALUES (?, ?, ?, ?)').run(deploymentId, remoteHash, size, content)

/** Forget which remote files became a local content (a purge; contentText starts with its hash). */
export const deleteRemoteContentOf = (db: DB, localHashHex: string) => st(db, 'DELETE FROM remote_content WHERE content LIKE ?').run(`{"h":"${localHashHex}"%`)
