/**
 * Domain result types. They are pachctl's JSON shapes (snake_case, nested references), so the
 * CLI's --json output is these objects as they are: the core returns what users script against.
 */
import type {RepoType} from './pfs/refs.js'

export interface ProjectPB {
  name: string
}
export interface RepoPB {
  name: string
  type: RepoType
  project: ProjectPB
}
export interface BranchPB {
  repo: RepoPB
  name: string
}
export interface CommitPB {
  repo: RepoPB
  id: string
  branch?: BranchPB
}
export interface FilePB {
  commit: CommitPB
  path: string
}

export interface ProjectInfo {
  project: ProjectPB
  description: string
  created_at: string
}

export interface RepoInfo {
  repo: RepoPB
  created: string
  size_bytes_upper_bound: number
  description: string
  branches: BranchPB[]
  details: {size_bytes: number}
}

export interface BranchInfo {
  branch: BranchPB
  head: CommitPB
  provenance: BranchPB[]
  direct_provenance: BranchPB[]
  subvenance: BranchPB[]
  created_at: string
}

export type CommitOrigin = 'USER' | 'AUTO' | 'FSCK'

export interface CommitInfo {
  commit: CommitPB
  origin: {kind: CommitOrigin}
  description: string
  parent_commit: CommitPB | null
  child_commits: CommitPB[]
  started: string
  finishing: string | null
  finished: string | null
  direct_provenance: CommitPB[]
  direct_subvenance: CommitPB[]
  error: string
  size_bytes_upper_bound: number
  details: {size_bytes: number}
}

export interface CommitSetInfo {
  commit_set: {id: string}
  commits: CommitInfo[]
}

export type FileType = 'FILE' | 'DIR'

export interface FileInfo {
  file: FilePB
  file_type: FileType
  committed: string | null
  size_bytes: number
  hash: string
}

export interface DiffFileInfo {
  new_file: FileInfo | null
  old_file: FileInfo | null
}

export interface TransactionInfo {
  transaction: {id: string}
  requests: TransactionRequest[]
  started: string
}

/** A queued transactable operation (stored as JSON until `finish transaction`). */
export type TransactionRequest =
  | {create_repo: {repo: RepoPB; description: string; update: boolean}}
  | {delete_repo: {repo: RepoPB; force: boolean}}
  | {start_commit: {branch: BranchPB; parent: string | null; description: string}}
  | {finish_commit: {commit: string; project: string; description: string | null; force: boolean}}
  | {create_branch: {branch: BranchPB; head: string | null; provenance: string[]}}
  | {delete_branch: {branch: BranchPB; force: boolean}}

export interface PutFileResult {
  commit: CommitPB
  files: number
  bytes: number
  /** bytes actually added to the store after dedup (pack bytes) */
  stored_bytes: number
}
