/**
 * Domain types at the bottom of the core: the result types, which are pachctl's JSON shapes
 * (snake_case, nested references) so the CLI's --json output is these objects as they are,
 * plus the few domain constants and helpers every floor shares (repo types, the default
 * project, the repo label). This module imports nothing.
 */

/** A repo's type: user data, or a pipeline's `meta` / `spec` companion repo. */
export type RepoType = 'user' | 'meta' | 'spec'

/** The project every `.pach` is created with, and the one addresses without a project use. */
export const DEFAULT_PROJECT = 'default'

/**
 * How a repo is written in addresses and messages: `name` for a user repo, `name.type`
 * otherwise (`edges.meta`), as pachctl writes it.
 */
export function repoLabel(r: {name: string; type: string}): string {
  return r.type === 'user' ? r.name : `${r.name}.${r.type}`
}

/** Result of a transactable call made while a transaction is active: queued, not applied. */
export interface Queued {
  queued: true
  transaction: string
}

export function isQueued(x: unknown): x is Queued {
  return typeof x === 'object' && x !== null && (x as Queued).queued === true
}

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
  /** user metadata (pachd's metadata_v2); present only when not empty, as pachctl --raw shows it */
  metadata?: Record<string, string>
}

export interface RepoInfo {
  repo: RepoPB
  created: string
  size_bytes_upper_bound: number
  description: string
  branches: BranchPB[]
  details: {size_bytes: number}
  /** user metadata; present only when not empty */
  metadata?: Record<string, string>
}

export interface BranchInfo {
  branch: BranchPB
  head: CommitPB
  provenance: BranchPB[]
  direct_provenance: BranchPB[]
  subvenance: BranchPB[]
  /** provenance links along which new commits do not propagate (only when there are any) */
  branch_propagation_specs?: {branch: BranchPB; propagation_spec: {never: true}}[]
  /** when set: this branch follows trigger.branch (pfs/trigger.ts) */
  trigger?: {branch: string; all?: boolean; rate_limit_spec?: string; size?: string; commits?: number; cron_spec?: string}
  created_at: string
  /** user metadata; present only when not empty */
  metadata?: Record<string, string>
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
  /** user metadata; present only when not empty (editable on finished commits too) */
  metadata?: Record<string, string>
}

/** A CommitInfo without what links it to other commits (what a listing table shows). */
export type CommitSummary = Omit<CommitInfo, 'parent_commit' | 'child_commits' | 'direct_provenance' | 'direct_subvenance'>

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

/** `find commit`: the commits that changed a path, newest first (pachctl's FindCommitsResponse, gathered). */
export interface FindCommitsResult {
  found_commits: CommitPB[]
  /** the oldest commit examined: where a limit or timeout stopped the search, else the root */
  last_searched_commit: CommitPB
  commits_searched: number
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
  | {start_commit: {branch: BranchPB; parent: string | null; description: string; /** a spout starting a commit on its own output branch */ writer?: {project: string; pipeline: string}}}
  | {finish_commit: {commit: string; project: string; description: string | null; force: boolean; error?: string}}
  | {
      create_branch: {
        branch: BranchPB
        head: string | null
        provenance: string[]
        trigger?: BranchInfo['trigger'] | null
        /** the provenance entries new commits do not propagate from (propagation_spec.never) */
        never?: string[]
      }
    }
  | {delete_branch: {branch: BranchPB; force: boolean}}
  /** a pipeline spec (the core's parsed form) to create or update, as pachd's transactions hold CreatePipeline */
  | {create_pipeline: {spec: Record<string, unknown>; update: boolean; reprocess: boolean; file: string; user_spec: string}}

/** Result of `delete file` and `copy file`: the commit the change went into. */
export interface FileWriteResult {
  commit: CommitPB
}

export interface PutFileResult extends FileWriteResult {
  files: number
  bytes: number
  /** bytes actually added to the store after dedup (pack bytes) */
  stored_bytes: number
}

// ---------------------------------------------------------------- PPS

export interface PipelinePB {
  name: string
  project: ProjectPB
}

/**
 * Pachyderm's pipeline states. For spouts and services (continuous.ts): RESTARTING after their
 * code exited once, CRASHING when it keeps exiting (each restart waits longer).
 */
export type PipelineState =
  | 'PIPELINE_STARTING'
  | 'PIPELINE_RUNNING'
  | 'PIPELINE_RESTARTING'
  | 'PIPELINE_STANDBY'
  | 'PIPELINE_PAUSED'
  | 'PIPELINE_FAILURE'
  | 'PIPELINE_CRASHING'

export type PipelineType = 'PIPELINE_TYPE_TRANSFORM' | 'PIPELINE_TYPE_SPOUT' | 'PIPELINE_TYPE_SERVICE'

export type JobState =
  | 'JOB_CREATED'
  | 'JOB_STARTING'
  | 'JOB_RUNNING'
  | 'JOB_FINISHING'
  | 'JOB_SUCCESS'
  | 'JOB_FAILURE'
  | 'JOB_KILLED'
  | 'JOB_UNRUNNABLE'

export type DatumState = 'SUCCESS' | 'SKIPPED' | 'FAILED' | 'RECOVERED' | 'STARTING' | 'UNKNOWN'

export interface PipelineInfo {
  pipeline: PipelinePB
  version: number
  spec_commit: CommitPB
  stopped: boolean
  state: PipelineState
  reason: string
  last_job_state: JobState | null
  parallelism: number
  type: PipelineType
  /** the effective spec */
  details: Record<string, unknown>
  user_spec_json: string
  effective_spec_json: string
  created_at: string
  updated_at: string
}

export interface ProcessStats {
  download_time: string
  process_time: string
  upload_time: string
  download_bytes: number
  upload_bytes: number
}

export interface JobInfo {
  job: {pipeline: PipelinePB; id: string}
  pipeline_version: number
  output_commit: CommitPB
  restart: number
  data_processed: number
  data_skipped: number
  data_total: number
  data_failed: number
  data_recovered: number
  stats: ProcessStats
  state: JobState
  reason: string
  created: string
  started: string | null
  finished: string | null
  details: Record<string, unknown>
  /** pach: why a successful job had no datum (a glob that matched nothing, an empty input); absent otherwise */
  notice?: string
}

export interface DatumInfo {
  datum: {job: {pipeline: PipelinePB; id: string}; id: string}
  state: DatumState
  reason: string
  data: FileInfo[]
  stats: ProcessStats
  image_id?: string
}
