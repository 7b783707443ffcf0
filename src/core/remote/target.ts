/**
 * PushTarget: what `pach push` needs from a remote pachd, in the core's terms. The core owns
 * this interface (a remote cluster is an external system, like a runner); src/client/push-target.ts
 * implements it over pach's gRPC client, and tests may implement it in memory.
 *
 * Concepts:
 * - A remote repo is named by project and name (always a `user` repo). A remote commit by
 *   its id; pachd mints every id, and one BatchTransaction of start_commits gives all its
 *   commits one id (a commit set), which is how a local multi-repo commit set stays one set.
 * - `writeFiles` sends ops on one open remote commit, in order: an `add` appends (pachd's
 *   add_file), so an overwrite is a `delete` then the `add`s of the new bytes; a file is
 *   never deleted as a directory (a directory delete is expanded against whatever the
 *   server's writer has as parent, which a fileset does not have).
 * - Every method throws a PachError the CLI can print as one line (the implementation
 *   translates gRPC statuses).
 */

/** A repo on the remote. */
export interface RemoteRepoName {
  project: string
  name: string
}

/** What the planner needs to know of one remote branch. */
export interface RemoteBranchState {
  /** id of the head commit */
  head: string
  /** the head commit's content size in bytes and whether it has a parent (an unknown head that is empty and parentless may be built on) */
  headSize: number
  headHasParent: boolean
  /** the branch is computed (has provenance): no user commits may be pushed onto it */
  hasProvenance: boolean
}

export interface RemoteRepoState {
  exists: boolean
  /** the repo is a pipeline's output (a pipeline of that name exists in the project) */
  isOutput: boolean
  branches: Map<string, RemoteBranchState>
}

export interface RemoteCommitState {
  state: 'missing' | 'open' | 'finished'
  size: number
  error: string
  /** the branch it was made on (empty when missing) */
  branch: string
}

/** One start_commit of a commit set. */
export interface RemoteStart {
  repo: RemoteRepoName
  branch: string
  /** the remote parent commit id; null = the branch's head (pachd's default) */
  parent: string | null
  description: string
}

/** One operation on an open remote commit (see the header: `add` appends). */
export type RemoteFileOp = {kind: 'delete'; path: string} | {kind: 'add'; path: string; data: Uint8Array}

export interface PushTarget {
  /** the remote cluster's deployment id (the key of the local mapping) */
  readonly deploymentId: string
  inspectRepo(repo: RemoteRepoName): Promise<RemoteRepoState>
  inspectCommit(repo: RemoteRepoName, id: string): Promise<RemoteCommitState>
  projectExists(project: string): Promise<boolean>
  /** create the project when it does not exist */
  ensureProject(project: string): Promise<void>
  /** create the repo when it does not exist (its description when created) */
  ensureRepo(repo: RemoteRepoName, description: string): Promise<void>
  /** start one commit per entry in one transaction; returns the commit set id they share */
  startCommits(starts: RemoteStart[]): Promise<string>
  /** send ops to an open commit over one stream; resolves when the remote has them all */
  writeFiles(repo: RemoteRepoName, commit: string, ops: AsyncIterable<RemoteFileOp>, signal?: AbortSignal): Promise<void>
  finishCommit(repo: RemoteRepoName, commit: string, opts: {error?: string}): Promise<void>
  /** wait until the commit is finished; its state then (its `error` says whether the remote accepted the content) */
  waitCommit(repo: RemoteRepoName, commit: string): Promise<RemoteCommitState>
  /** remove an aborted commit set (every commit of it) */
  dropCommitSet(id: string): Promise<void>
  /** point a branch at a commit (creating the branch) */
  moveBranch(repo: RemoteRepoName, branch: string, head: string): Promise<void>
  /** every file path of a remote commit (to empty it when a push replaces foreign content) */
  listFilePaths(repo: RemoteRepoName, commit: string): AsyncIterable<string>
  /**
   * Stamp `pach.local_commit_id` into the remote commit's metadata (pachd 2.10+). Resolves to
   * false when the remote (or this client) has no metadata service.
   */
  stampLocalId(repo: RemoteRepoName, commit: string, localId: string): Promise<boolean>
}
