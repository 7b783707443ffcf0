/**
 * Why pach serve does not serve a method: one line per method (or per service), said in the
 * UNIMPLEMENTED status a client gets. Every method the .proto files declare and no service
 * module implements must have a reason here (test/unit/grpc-services.test.ts checks).
 */

const PREFIX = 'not supported by pach serve: '

const BY_SERVICE: Record<string, string> = {
  'license_v2.API': 'pach has no enterprise license server (every pach feature is available without one)',
  'debug_v2.Debug': 'pach has no cluster to profile or dump; `pach fsck` checks the store and `pach logs` shows pipeline output',
  'admin_v2.API': 'pach runs no cluster to restart; stop `pach serve` with Ctrl-C and start it again',
}

const NO_AUTH = 'pach serve has no auth service to activate (it serves loopback, or requires its one token with --token)'
const FILESETS = 'pach has no fileset service; use ModifyFile to write files and GetFile/GetFileTAR to read them'

const BY_METHOD: Record<string, string> = {
  'pfs_v2.API/ActivateAuth': NO_AUTH,
  'pps_v2.API/ActivateAuth': NO_AUTH,
  'pfs_v2.API/CreateFileSet': FILESETS,
  'pfs_v2.API/GetFileSet': FILESETS,
  'pfs_v2.API/AddFileSet': FILESETS,
  'pfs_v2.API/RenewFileSet': FILESETS,
  'pfs_v2.API/ComposeFileSet': FILESETS,
  'pfs_v2.API/ShardFileSet': FILESETS,
  'pfs_v2.API/CheckStorage': 'pach checks its store with `pach fsck` (the Fsck method)',
  'pfs_v2.API/PutCache': 'pach has no worker cache; datums are skipped by their input hashes',
  'pfs_v2.API/GetCache': 'pach has no worker cache; datums are skipped by their input hashes',
  'pfs_v2.API/ClearCache': 'pach has no worker cache; datums are skipped by their input hashes',
  'pfs_v2.API/ListTask': 'pach has no task queue; `pach list job` shows what runs',
  'pps_v2.API/ListTask': 'pach has no task queue; `pach list job` shows what runs',
  'pfs_v2.API/Egress': 'pach has no object-storage egress; copy files out with GetFileTAR (`pach get file -r`)',
  'pfs_v2.API/ReposSummary': 'the Console summary is not served; ListRepo has every repo with its size',
  'pps_v2.API/PipelinesSummary': 'the Console summary is not served; ListPipeline has every pipeline with its state',
  'pfs_v2.API/WalkCommitProvenance': 'walk provenance with InspectCommit (direct_provenance) instead',
  'pfs_v2.API/WalkCommitSubvenance': 'walk subvenance with InspectCommit (direct_subvenance) instead',
  'pfs_v2.API/WalkBranchProvenance': 'walk provenance with InspectBranch (provenance) instead',
  'pfs_v2.API/WalkBranchSubvenance': 'walk subvenance with InspectBranch (subvenance) instead',
  'pfs_v2.API/ForgetCommit': 'pach keeps no separate commit index to forget from; use DropCommitSet',
  'pps_v2.API/CheckStatus': 'pach has no cluster to check; ListPipeline shows each pipeline\'s state and last job',
  'pps_v2.API/RunLoadTest': 'a load test of a cluster; pach has no cluster',
  'pps_v2.API/RunLoadTestDefault': 'a load test of a cluster; pach has no cluster',
  'pps_v2.API/RenderTemplate': 'jsonnet pipeline templates are not supported; render the spec before creating the pipeline',
  'pps_v2.API/GetKubeEvents': 'pach has no Kubernetes; a job\'s failure is in InspectJob, user code output in GetLogs',
  'pps_v2.API/QueryLoki': 'pach keeps logs itself, with no Loki; use GetLogs',
  'pps_v2.API/RunPipeline': 'RunPipeline is deprecated in Pachyderm 2; use RerunPipeline or make a commit',
  'pps_v2.API/UpdateJobState': 'job states are set by pach\'s own job runner (a worker-internal call in pachd)',
  'pps_v2.API/CreateDatum': 'datum generation by stream is not served; ListDatum with an input plans datums',
  'enterprise_v2.API/Activate': 'pach has no enterprise features to activate',
  'enterprise_v2.API/GetActivationCode': 'pach has no enterprise features to activate',
  'enterprise_v2.API/Heartbeat': 'pach has no enterprise features to activate',
  'enterprise_v2.API/Deactivate': 'pach has no enterprise features to activate',
  'enterprise_v2.API/Pause': 'pach serve cannot be paused; stop it with Ctrl-C',
  'enterprise_v2.API/Unpause': 'pach serve cannot be paused; stop it with Ctrl-C',
  'enterprise_v2.API/PauseStatus': 'pach serve cannot be paused; stop it with Ctrl-C',
}

/** The UNIMPLEMENTED message for `service`/`method`. */
export function unsupportedReason(service: string, method: string): string {
  return PREFIX + (BY_METHOD[`${service}/${method}`] ?? BY_SERVICE[service] ?? `${service}/${method} is not served by this version of pach`)
}

/** Whether a reason is written for the method (a test keeps every unserved method covered). */
export function hasReason(service: string, method: string): boolean {
  return `${service}/${method}` in BY_METHOD || service in BY_SERVICE
}
