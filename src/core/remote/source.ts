/**
 * PullSource: what `pach pull` (remote/pull.ts) needs from a remote pachd, and nothing more.
 * The core owns this interface; src/client/pull-source.ts implements it over PachdClient, as a
 * runner implements the core's Runner. A remote is an external system: its failures arrive as
 * PachErrors the adapter chose (REMOTE_UNREACHABLE when the cluster cannot be reached,
 * REMOTE_FAILED for any other refusal), and "no such thing" is `undefined`, not an error, so
 * the core words the user's message.
 *
 * Shapes are pachd's, reduced: a commit is its id (pachd's commit-set id), parent id,
 * description and origin; a file is its path, pachd's content hash (raw bytes, pachd's own
 * algorithm: only ever compared with hashes from the same cluster) and size.
 */

/** Who the remote is (admin_v2 InspectCluster, versionpb_v2 GetVersion). */
export interface RemoteIdentity {
  /** the pachctl context name, or the address as given */
  name: string
  address: string
  deploymentId: string
  clusterId: string
  /** pachd's version, `major.minor.micro` */
  version: string
}

export interface RemoteCommit {
  id: string
  /** the parent's id, or null for a root commit */
  parent: string | null
  description: string
  origin: 'USER' | 'AUTO'
  /** ISO times, when the remote gives them */
  started?: string
  finished?: string
  /** whether the commit is finished (an open head is not pulled) */
  isFinished: boolean
}

export interface RemoteFile {
  /** absolute path, no trailing slash */
  path: string
  hash: Buffer
  size: number
}

/** One change of a commit against its parent: a file written (new or changed) or deleted. */
export type RemoteChange = {op: 'put'; file: RemoteFile} | {op: 'delete'; path: string}

export interface PullSource {
  readonly remote: RemoteIdentity
  /** The repo's description, or undefined when the remote has no such (user) repo. */
  inspectRepo(project: string, repo: string): Promise<{description: string} | undefined>
  /** The branch's head commit id, or undefined when the branch does not exist. */
  branchHead(project: string, repo: string, branch: string): Promise<string | undefined>
  /** One commit, or undefined when the repo has no commit with this id. */
  inspectCommit(project: string, repo: string, id: string): Promise<RemoteCommit | undefined>
  /**
   * The ancestry of `to` back to, not including, `from` (the whole ancestry without it),
   * newest first, at most `number` commits (pachd's ListCommit{to, from, number}).
   */
  listCommits(project: string, repo: string, opts: {to: string; from?: string; number?: number}): Promise<RemoteCommit[]>
  /** The files a commit changed against its parent (pachd's DiffFile; directories left out). */
  diff(project: string, repo: string, commit: string, signal?: AbortSignal): AsyncIterable<RemoteChange>
  /** Every file of a commit (pachd's WalkFile of `/`; directories left out). */
  walk(project: string, repo: string, commit: string, signal?: AbortSignal): AsyncIterable<RemoteFile>
  /** The bytes of one file (pachd's GetFile). */
  read(project: string, repo: string, commit: string, path: string, signal?: AbortSignal): AsyncIterable<Uint8Array>
  /**
   * Every file of a commit with its bytes, in one stream (pachd's GetFileTAR of `/`): for a
   * whole tree of many small files, one call instead of one per file. Each entry's `data` is
   * read (or left) before the next entry is asked for. Optional: without it files are read one
   * by one.
   */
  readAll?(project: string, repo: string, commit: string, signal?: AbortSignal): AsyncIterable<{path: string; size: number; data: AsyncIterable<Uint8Array>}>
  close(): void
}
