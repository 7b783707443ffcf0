/**
 * Between pach's pipeline spec and pps_v2's messages, both ways.
 *
 * In: pachd takes a spec as protojson text (CreatePipelineV2, which pach's spec parser reads
 * as it is: it accepts snake_case and lowerCamelCase keys, int64 as numbers or strings, enums
 * by name) or as a decoded CreatePipelineRequest message (CreatePipeline: the Python SDK).
 * pachd turns the message into protojson first, and so does `specDocument` here: a message
 * becomes the JSON document protojson would write, then it takes the V2 path. What protojson
 * leaves out, this leaves out too: scalars at their zero value ("", false, 0, an enum's first
 * name), empty lists and maps, absent messages. A present message is "set" even when empty,
 * as in protojson — with one exception: messages whose emptiness means nothing and which
 * clients send for no reason (an empty egress, service, parallelism_spec, resource spec, …)
 * are dropped, so pach's refusal of unsupported fields fires only on what the user asked for.
 * A spout is the exception to the exception: its presence alone makes a pipeline a spout
 * (the Python SDK sends `Spout(service=Service())`, an empty message, for exactly that).
 *
 * Out: pipeline, job and datum infos in pps_v2's shapes. Times become Timestamps, durations
 * Durations, states stay enum names; PipelineInfo.details and JobInfo.details are the
 * effective spec as those messages' fields. JSON the server returns (the effective spec of
 * CreatePipelineV2, effective_spec_json) is protojson: lowerCamelCase keys, int64 as strings,
 * durations as seconds ("60s"), zero values left out; user_spec_json is the text the user sent.
 */
import {duration, durationText, isoOf, timestamp, commitPB, fileInfoPB, type Duration, type Timestamp} from './convert.js'
import type {PipelineSpec} from '../../core/pps/spec/index.js'
import type {DatumInfo, JobInfo, PipelineInfo, ProcessStats} from '../../core/types.js'
import type {JobLogLine} from '../../core/pps/job-logs.js'

type Json = Record<string, unknown>

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)

// ------------------------------------------------------------------ message → spec document

/** Message fields whose emptiness means "unset" (dropped when every field is at its zero value). */
const KEEP_EMPTY = new Set(['spout', 'transform', 'input', 'pipeline', 'pfs', 'cron'])
/** google.protobuf.Duration fields of CreatePipelineRequest (written as "60s"). */
const DURATIONS = new Set(['datum_timeout', 'job_timeout', 'maximum_expected_uptime'])
/** Enum fields of the spec and their values at number 0, which protojson leaves out. */
const ZERO_ENUMS: Record<string, string> = {operator: 'EMPTY', effect: 'ALL_EFFECTS'}
/** Fields the CLI (or the V2 request) sets, not the spec. */
const REQUEST_ONLY = new Set(['update', 'reprocess', 'dry_run', 'spec_commit'])

/**
 * A decoded message as the JSON document protojson would write for it (snake_case keys), or
 * undefined when protojson would write nothing. `key` is the field the value sits in.
 */
function protojsonOf(v: unknown, key: string): unknown {
  if (v === null || v === undefined || v === '' || v === false || v === 0) return undefined
  if (typeof v === 'string') return ZERO_ENUMS[key] === v ? undefined : v
  if (typeof v !== 'object') return v
  if (Buffer.isBuffer(v)) return v.length ? v.toString('base64') : undefined
  if (Array.isArray(v)) {
    // list elements keep their place even when empty (an empty input in a cross is still one)
    // (scalars as they are: a 0 or "" in a list is a value, not an unset field)
    const out = v.map((x) => (isObj(x) ? (protojsonOf(x, key) ?? {}) : x))
    return out.length ? out : undefined
  }
  if (DURATIONS.has(key)) return durationText(v as unknown as Duration)
  if (key === 'start') return isoOf(v as unknown as Timestamp) ?? undefined
  if (key === 'toleration_seconds') return (v as {value?: number}).value
  const out: Json = {}
  for (const [k, x] of Object.entries(v)) {
    // oneof discriminators (proto-loader's virtual fields) are not fields
    if (key === 'egress' && k === 'target') continue
    const c = protojsonOf(x, k)
    if (c !== undefined) out[k] = c
  }
  if (Object.keys(out).length === 0 && !KEEP_EMPTY.has(key)) return undefined
  return out
}

/**
 * A decoded CreatePipelineRequest as the spec document pach's parser reads (what pachd's
 * protojson.Marshal of it would say), without the request-only fields (update, reprocess,
 * dry_run, spec_commit: the caller reads them from the request).
 */
export function specDocument(req: Json): Json {
  const out: Json = {}
  for (const [k, v] of Object.entries(req)) {
    if (REQUEST_ONLY.has(k)) continue
    const c = protojsonOf(v, k)
    if (c !== undefined) out[k] = c
  }
  return out
}

/** A decoded Input message as the input document of a spec (ListDatum with an input). */
export function inputDocument(input: Json): Json {
  return (protojsonOf(input, 'input') as Json | undefined) ?? {}
}

// ------------------------------------------------------------------ spec → messages

/** A normalised input tree as a pps_v2.Input message (cron start as a Timestamp). */
function inputPB(input: unknown): Json | null {
  if (!isObj(input)) return null
  const out: Json = {}
  if (isObj(input.pfs)) out.pfs = input.pfs
  for (const k of ['cross', 'union', 'join', 'group']) if (Array.isArray(input[k])) out[k] = (input[k] as unknown[]).map(inputPB)
  if (isObj(input.cron)) {
    const c = input.cron
    out.cron = {...c, start: typeof c.start === 'string' ? timestamp(c.start) : null}
  }
  return out
}

function tolerationsPB(ts: unknown): Json[] {
  if (!Array.isArray(ts)) return []
  return ts.map((t: Json) => ({...t, toleration_seconds: typeof t.toleration_seconds === 'number' ? {value: t.toleration_seconds} : null}))
}

/** The fields a spec shares with PipelineInfo.Details, JobInfo.Details and CreatePipelineRequest, as message values. */
function specFields(spec: PipelineSpec): Json {
  return {
    transform: spec.transform ?? null,
    parallelism_spec: spec.parallelism_spec ?? null,
    egress: spec.egress ?? null,
    service: spec.service ?? null,
    spout: spec.spout ?? null,
    resource_requests: spec.resource_requests ?? null,
    resource_limits: spec.resource_limits ?? null,
    sidecar_resource_limits: spec.sidecar_resource_limits ?? null,
    sidecar_resource_requests: spec.sidecar_resource_requests ?? null,
    input: inputPB(spec.input),
    salt: spec.salt ?? '',
    datum_set_spec: spec.datum_set_spec ?? null,
    datum_timeout: duration(spec.datum_timeout),
    job_timeout: duration(spec.job_timeout),
    datum_tries: spec.datum_tries ?? 0,
    scheduling_spec: spec.scheduling_spec ?? null,
    pod_spec: spec.pod_spec ?? '',
    pod_patch: spec.pod_patch ?? '',
  }
}

/** PipelineInfo.Details of a pipeline whose effective spec is `spec`. */
function pipelineDetailsPB(spec: PipelineSpec, info: PipelineInfo): Json {
  return {
    ...specFields(spec),
    tf_job: null,
    created_at: timestamp(info.created_at),
    updated_at: timestamp(info.updated_at),
    created_by: '',
    recent_error: info.state === 'PIPELINE_FAILURE' ? info.reason : '',
    workers_requested: info.parallelism,
    workers_available: info.state === 'PIPELINE_RUNNING' ? info.parallelism : 0,
    output_branch: spec.output_branch,
    description: spec.description ?? '',
    reason: info.reason,
    s3_out: spec.s3_out ?? false,
    metadata: spec.metadata ?? null,
    reprocess_spec: spec.reprocess_spec ?? '',
    unclaimed_tasks: 0,
    worker_rc: '',
    autoscaling: spec.autoscaling ?? false,
    tolerations: tolerationsPB(spec.tolerations),
    determined: spec.determined ?? null,
    maximum_expected_uptime: duration(spec.maximum_expected_uptime),
    workers_started_at: null,
  }
}

/** A PipelineInfo message (`details`: with PipelineInfo.Details; InspectPipeline leaves them out unless asked). */
export function pipelineInfoPB(info: PipelineInfo, details: boolean): Json {
  const spec = info.details as unknown as PipelineSpec
  return {
    pipeline: info.pipeline,
    version: info.version,
    spec_commit: commitPB(info.spec_commit),
    stopped: info.stopped,
    state: info.state,
    reason: info.reason,
    last_job_state: info.last_job_state ?? 'JOB_STATE_UNKNOWN',
    parallelism: info.parallelism,
    type: spec?.spout !== undefined ? 'PIPELINE_TYPE_SPOUT' : spec?.service !== undefined ? 'PIPELINE_TYPE_SERVICE' : 'PIPELINE_TYPE_TRANSFORM',
    auth_token: '',
    details: details ? pipelineDetailsPB(spec, info) : null,
    user_spec_json: info.user_spec_json,
    effective_spec_json: specProtojson(spec),
    metadata: {},
  }
}

function processStatsPB(s: ProcessStats | undefined): Json {
  return {
    download_time: duration(s?.download_time ?? 0),
    process_time: duration(s?.process_time ?? 0),
    upload_time: duration(s?.upload_time ?? 0),
    download_bytes: s?.download_bytes ?? 0,
    upload_bytes: s?.upload_bytes ?? 0,
  }
}

/** Whether a job's stored details hold the spec it ran with (a job that has not started has none yet). */
export const jobHasSpec = (j: JobInfo): boolean => isObj(j.details) && isObj(j.details.transform)

/** A JobInfo message; `spec`: its JobInfo.Details (the spec the job runs with), or none. */
export function jobInfoPB(j: JobInfo, spec: PipelineSpec | null): Json {
  return {
    job: j.job,
    pipeline_version: j.pipeline_version,
    output_commit: commitPB(j.output_commit),
    restart: j.restart,
    data_processed: j.data_processed,
    data_skipped: j.data_skipped,
    data_total: j.data_total,
    data_failed: j.data_failed,
    data_recovered: j.data_recovered,
    stats: processStatsPB(j.stats),
    state: j.state,
    reason: j.reason,
    created: timestamp(j.created),
    started: timestamp(j.started),
    finished: timestamp(j.finished),
    details: spec ? {...specFields(spec), worker_status: []} : null,
    auth_token: '',
  }
}

/** A DatumInfo message. */
export function datumInfoPB(d: DatumInfo): Json {
  return {
    datum: {job: d.datum.job.id ? d.datum.job : null, id: d.datum.id},
    state: d.state,
    stats: processStatsPB(d.stats),
    pfs_state: null,
    data: d.data.map(fileInfoPB),
    image_id: d.image_id ?? '',
  }
}

/** A LogMessage of one line of user code output. */
export function logMessagePB(project: string, l: JobLogLine & {pipeline: string}, data: {path: string; hash: Buffer}[]): Json {
  return {
    project_name: project,
    pipeline_name: l.pipeline,
    job_id: l.job,
    worker_id: '',
    datum_id: l.datum,
    master: false,
    data,
    user: true,
    ts: timestamp(l.ts),
    message: l.message,
  }
}

// ------------------------------------------------------------------ protojson out

/** Fields whose values are string maps: their keys are data, not field names. */
const MAPS = new Set(['env', 'annotations', 'labels', 'node_selector'])
/** int64/uint64 fields of the spec: protojson writes them as strings. */
const INT64 = new Set(['constant', 'datum_tries', 'number', 'size_bytes', 'per_worker', 'accept_return_code', 'commits', 'toleration_seconds'])

const lowerCamel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** Whether protojson leaves a field's value out: a zero scalar, an empty list or map. */
const isZero = (x: unknown, key: string): boolean =>
  x === undefined || x === null || x === '' || x === false || x === 0 || (Array.isArray(x) && x.length === 0) || (MAPS.has(key) && isObj(x) && Object.keys(x).length === 0)

function camelize(v: unknown, key: string): unknown {
  if (Array.isArray(v)) return v.map((x) => camelize(x, key))
  if (typeof v === 'number' && INT64.has(key)) return String(v)
  if (!isObj(v)) return v
  if (MAPS.has(key)) return v
  const out: Json = {}
  for (const [k, x] of Object.entries(v)) {
    if (isZero(x, k)) continue
    if (DURATIONS.has(k) && typeof x === 'string') {
      out[lowerCamel(k)] = durationText(duration(x)) ?? x
      continue
    }
    out[lowerCamel(k)] = camelize(x, k)
  }
  return out
}

/** A JSON document (snake_case or lowerCamelCase) as protojson text: lowerCamelCase keys, int64 as strings. */
export function protojsonText(doc: unknown): string {
  return JSON.stringify(camelize(doc, ''))
}

/** A normalised spec as protojson text (the effective spec; `extra` adds request fields such as update). */
export function specProtojson(spec: PipelineSpec, extra: Json = {}): string {
  return protojsonText({...spec, ...extra})
}
