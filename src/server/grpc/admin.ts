/**
 * The services every client touches first: admin_v2 InspectCluster (pachctl calls it before
 * every command, and fails without it), versionpb_v2 GetVersion, grpc.health.v1 Health and
 * enterprise_v2 GetState (`pachctl config list context` asks; answer: no enterprise).
 *
 * pach reports itself as pachd 2.<minor>.<micro> (deps.identity.version). InspectCluster warns
 * only when the client's major version is not 2 (pachd also warns on a minor-version skew,
 * which would be noise here: pach is not pachd and serves the 2.x API as a whole). A
 * `current_project` that does not exist is a warning too, as in pachd.
 */
import type {UntypedServiceImplementation} from '@grpc/grpc-js'
import type {Handlers} from './call.js'
import type {ServiceDeps} from './deps.js'

interface VersionMsg {
  major: number
  minor: number
  micro: number
  additional: string
}

export function adminServices(d: ServiceDeps, h: Handlers): Record<string, UntypedServiceImplementation> {
  const v = d.identity.version
  const version = {
    major: v.major,
    minor: v.minor,
    micro: v.micro,
    additional: '',
    git_commit: v.git_commit,
    git_tree_modified: v.git_tree_modified,
    build_date: v.build_date,
    go_version: v.runtime,
    platform: v.platform,
  }
  return {
    'admin_v2.API': {
      InspectCluster: h.unary('InspectCluster', (req: {client_version: VersionMsg | null; current_project: {name: string} | null}) => {
        const warnings: string[] = []
        const cv = req.client_version
        if (!cv) warnings.push('WARNING: The client used to connect to pach serve did not send its version, which makes it impossible to detect API skew.')
        else if (cv.major !== 0 && cv.major !== v.major) {
          warnings.push(`WARNING: this is pach serve (the API of pachd ${v.major}.x); a ${cv.major}.x client may not work with it. Use a ${v.major}.x client.`)
        }
        const project = req.current_project?.name
        if (project && !d.pach.projects.exists(project)) {
          warnings.push(`WARNING: Could not inspect project "${project}": project "${project}" not found`)
        }
        return {
          id: d.identity.clusterId,
          deployment_id: d.identity.deploymentId,
          warnings_ok: true,
          warnings,
          proxy_host: '',
          proxy_tls: false,
          paused: false,
          web_resources: {archive_download_base_url: '', create_pipeline_request_json_schema_url: ''},
          metadata: d.pach.metadata.cluster(),
          pending_restart: false,
          restart_info: '',
        }
      }),
    },
    'versionpb_v2.API': {
      GetVersion: h.unary('GetVersion', () => version),
    },
    'grpc.health.v1.Health': {
      Check: h.unary('Check', () => ({status: 'SERVING'})),
      Watch: h.serverStream('Watch', async function* (_req: unknown, ctx) {
        yield {status: 'SERVING'}
        await new Promise<void>((res) => ctx.signal.addEventListener('abort', () => res()))
      }),
    },
    'enterprise_v2.API': {
      GetState: h.unary('GetState', () => ({state: 'NONE', info: null, activation_code: ''})),
    },
  }
}
