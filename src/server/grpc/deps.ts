/**
 * What the service modules work with: the open project, the change feed that wakes waits,
 * and the facts the server reports about itself (InspectCluster, GetVersion).
 */
import type {ChangeFeed} from '../../core/db/change-feed.js'
import type {Pach} from '../../core/pach.js'

export interface ServerIdentity {
  /** stable per .pach: ClusterInfo.id */
  clusterId: string
  /** stable per .pach: ClusterInfo.deployment_id (legacy clients compare it) */
  deploymentId: string
  /** pach's own version and build, reported in Version.additional-free form */
  version: {major: number; minor: number; micro: number; git_commit: string; git_tree_modified: string; build_date: string; platform: string; runtime: string}
}

export interface ServiceDeps {
  readonly pach: Pach
  readonly feed: ChangeFeed
  readonly identity: ServerIdentity
  /** pending jobs may exist (a commit landed through the API): the daemon runs them */
  readonly kick: () => void
}
