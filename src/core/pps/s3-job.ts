/**
 * S3 jobs: what a job whose pipeline has an `s3: true` input or `s3_out: true` needs beyond a
 * plain job (Pachyderm's worker driver with its S3 sidecar). Pure helpers; the job service
 * (job-service.ts) applies them, the sidecar itself is injected (s3-sidecar.ts).
 *
 * Concepts (Pachyderm's semantics, reference §7):
 * - an s3 input has glob "/" and is one datum for the whole commit (the planner needs nothing
 *   special); its /pfs/<name> exists but is empty (workspace.ts): user code reads the bucket
 *   named after the input, pinned to the job's input commit;
 * - with `s3_out` the job's open output commit is the bucket `out`; the commit is emptied when
 *   the job starts, /pfs/out is not collected (what is written there is lost), datums are never
 *   skipped (datum.ts planIncremental), and the output is what the commit holds when the job
 *   ends;
 * - user code gets S3_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and can reach
 *   the endpoint and nothing else (runner.ts WorkerSpec.endpoint), unless its spec asked for a
 *   network.
 */
import {isIP} from 'node:net'
import {RunnerError} from '../errors.js'
import type {Datum} from './datum.js'
import type {WorkerEndpoint} from './runner.js'
import type {S3JobBuckets, S3SidecarHandle} from './s3-sidecar.js'
import type {Input, PfsInput} from './input.js'
import type {PipelineSpec} from './spec/index.js'

/** Does any pfs input of this tree read through S3? */
export function hasS3Input(input: Input | undefined): boolean {
  if (input === undefined || input === null) return false
  const r = input as unknown as Record<string, unknown>
  if (r.pfs && typeof r.pfs === 'object') return (r.pfs as PfsInput).s3 === true
  return ['cross', 'union', 'join', 'group'].some((k) => Array.isArray(r[k]) && (r[k] as Input[]).some(hasS3Input))
}

/** Does a job of this pipeline need an S3 sidecar? */
export function usesS3(spec: PipelineSpec): boolean {
  return spec.s3_out === true || hasS3Input(spec.input)
}

/**
 * The buckets of a job: one per s3 input, named after the input and pinned to the commit the
 * job reads (every datum holds every s3 input, at the same commit, since they may only stand
 * alone or in a cross), plus `out` = the job's output commit with s3_out.
 */
export function jobBuckets(spec: PipelineSpec, datum: Datum | undefined, out: {project: string; repo: string; commit: string}): S3JobBuckets {
  const inputs: S3JobBuckets['inputs'] = []
  for (const i of datum?.inputs ?? []) {
    if (!i.s3 || inputs.some((b) => b.bucket === i.name)) continue
    inputs.push({bucket: i.name, commit: {project: i.project, repo: i.repo, commit: i.commit}})
  }
  return spec.s3_out ? {inputs, out} : {inputs}
}

/**
 * What user code gets in its environment: Pachyderm's S3_ENDPOINT and AWS_* (these win over
 * transform.env), plus AWS_EC2_METADATA_DISABLED=true unless transform.env sets it: with no
 * region configured, AWS SDKs and the aws CLI probe the EC2 metadata address, which a sandbox
 * without a network never answers — seconds lost on every call (pach's own addition).
 */
export function s3Env(h: S3SidecarHandle, userEnv: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  if (userEnv.AWS_EC2_METADATA_DISABLED === undefined) env.AWS_EC2_METADATA_DISABLED = 'true'
  return {...env, S3_ENDPOINT: h.endpoint, AWS_ACCESS_KEY_ID: h.accessKey, AWS_SECRET_ACCESS_KEY: h.secretKey}
}

/**
 * The one server a worker must reach (WorkerSpec.endpoint): the endpoint's host and port, and
 * the address its host resolves to (its `extraHosts` entry, the host itself when it is an IP
 * address, 127.0.0.1 for `localhost`).
 * @throws RunnerError when the sidecar's endpoint cannot be dialled so (the job fails with it)
 */
export function workerEndpoint(h: S3SidecarHandle): WorkerEndpoint {
  let url: URL
  try {
    url = new URL(h.endpoint)
  } catch {
    throw new RunnerError(`the S3 sidecar gave an endpoint that is not a URL: ${JSON.stringify(h.endpoint)}`)
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  const mapped = (h.extraHosts ?? []).map((e) => [e.slice(0, e.indexOf(':')), e.slice(e.indexOf(':') + 1)] as const).find(([name]) => name === host)?.[1]
  const address = mapped ?? (isIP(host) ? host : host === 'localhost' ? '127.0.0.1' : undefined)
  if (!address || !isIP(address)) {
    throw new RunnerError(`the S3 sidecar's endpoint ${h.endpoint} names a host with no address (${host})`)
  }
  return {host, address, port}
}
