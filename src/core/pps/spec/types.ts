/**
 * The normalised pipeline spec: the shape every later stage of pach stores, shows and runs
 * (Pachyderm `CreatePipelineRequest`, reference §2), and the constants the spec stages share.
 *
 * A PipelineSpec is snake_case with every default applied (normalise.ts), globs cleaned and
 * pfs.name defaulted to repo; the children of cross/union/join/group stay in spec order (the
 * datum planner sorts them by name, as Pachyderm). Every field of the reference's spec table
 * is kept, including cluster-only ones (CLUSTER_ONLY_FIELDS), which are parsed, stored and
 * shown but have no local effect, and the ones pach refuses to run (REFUSED_FIELDS).
 *
 * Invariants:
 * - spout pipelines have no input: for them `input` is undefined at run time (the only case,
 *   although the type says Input).
 * - metadata acts locally only through one annotation, NETWORK_ANNOTATION.
 */
import type {Input} from '../input.js'

export interface Transform {
  image: string
  cmd: string[]
  stdin: string[]
  err_cmd: string[]
  err_stdin: string[]
  env: Record<string, string>
  secrets: {name: string; key?: string; mount_path?: string; env_var?: string}[]
  image_pull_secrets: string[]
  accept_return_code: number[]
  debug: boolean
  user: string
  working_dir: string
  dockerfile: string
  memory_volume: boolean
  datum_batching: boolean
}

export interface ResourceSpec {
  cpu?: number
  memory?: string
  gpu?: {type: string; number: number}
  disk?: string
}

/**
 * A normalised spec: snake_case, defaults applied, inputs in spec order, pfs.name defaulted
 * to repo, globs cleaned. `input` is undefined
 * (despite its type) only for spouts.
 */
export interface PipelineSpec {
  pipeline: {name: string; project: {name: string}}
  description: string
  transform: Transform
  input: Input
  parallelism_spec: {constant: number}
  datum_tries: number
  datum_timeout?: string
  job_timeout?: string
  output_branch: string
  reprocess_spec: 'until_success' | 'every_job'
  salt?: string
  resource_requests?: ResourceSpec
  resource_limits?: ResourceSpec
  datum_set_spec?: {number?: number; size_bytes?: number; per_worker?: number}
  autoscaling: boolean
  s3_out: boolean
  egress?: unknown
  service?: unknown
  spout?: unknown
  scheduling_spec?: unknown
  tolerations?: unknown[]
  pod_spec?: string
  pod_patch?: string
  metadata?: unknown
  sidecar_resource_limits?: ResourceSpec
  sidecar_resource_requests?: ResourceSpec
  maximum_expected_uptime?: string
  determined?: unknown
}

export interface ParsedSpecs {
  specs: PipelineSpec[]
  /**
   * Each spec's document as the user wrote it, before any rule applied: `specs[i]` was read
   * from `userSpecs[i]` (what `user_spec_json` shows).
   */
  userSpecs: unknown[]
  warnings: string[]
}

/**
 * Fields that are parsed, kept and shown, but have no effect when pach runs a pipeline
 * locally (create/update pipeline print a notice for each one a spec sets). Fields whose
 * absence would change what a pipeline produces are not here but in REFUSED_FIELDS.
 */
export const CLUSTER_ONLY_FIELDS: string[] = [
  'autoscaling',
  'datum_set_spec',
  'scheduling_spec',
  'tolerations',
  'pod_spec',
  'pod_patch',
  'metadata',
  'sidecar_resource_limits',
  'sidecar_resource_requests',
  'maximum_expected_uptime',
  'determined',
  'transform.image_pull_secrets',
  'transform.memory_volume',
  'transform.dockerfile',
  'transform.datum_batching',
]

/**
 * Fields pach does not implement yet and whose absence changes results (no egress copy): a
 * spec that sets one is refused, not run as if it did not (the pipeline
 * service checks this; see localRefusals). Spouts and services run while `pach serve` runs
 * (pps/continuous.ts).
 */
export const REFUSED_FIELDS: string[] = ['egress']

/** A spout's or a service's port mapping (`service`, `spout.service`), normalised. */
export interface ServicePorts {
  internal_port?: number
  external_port?: number
  ip?: string
  type: string
}

export const DEFAULT_IMAGE = 'ubuntu:20.04'
export const DEFAULT_DATUM_TRIES = 3
/** the longest pipeline (and project) name */
export const MAX_PIPELINE_NAME = 51
/** cross/union/join/group nesting: far beyond any real spec, well within the parser's stack */
export const MAX_INPUT_DEPTH = 32
/** service.type and spout.service.type */
export const SERVICE_TYPES = ['ClusterIP', 'LoadBalancer', 'NodePort']

/**
 * The one local opt-in to networking: pipeline code runs with no network (only loopback)
 * unless the spec carries this annotation set to "true". An annotation, not a new field, so
 * the same spec still loads in Pachyderm (where pods have the cluster network anyway).
 */
export const NETWORK_ANNOTATION = 'pach.io/network'

/** The value of NETWORK_ANNOTATION in the spec's metadata, of whatever type, or undefined. */
export function networkAnnotation(spec: PipelineSpec): unknown {
  const md = spec.metadata as {annotations?: Record<string, unknown>} | undefined
  return md?.annotations?.[NETWORK_ANNOTATION]
}
