/**
 * Pipeline specs: parsing, normalising and statically validating what `pach create pipeline -f`
 * reads (Pachyderm `CreatePipelineRequest`, reference §2).
 *
 * Concept: a spec file holds one or several specs. Each spec is read field by field against a
 * schema of Pachyderm's protobuf messages, then turned into a normalised `PipelineSpec`: snake_case
 * keys, every default applied, globs cleaned, input children sorted by name. The normalised spec
 * is what the rest of pach stores, shows and runs; every field of the reference's spec table is
 * kept, including cluster-only ones (CLUSTER_ONLY_FIELDS), which are shown but have no local
 * effect.
 *
 * Parsing rules (Pachyderm parses with protojson after converting YAML to JSON):
 * - text: JSON (one object, an array of objects, or a stream of concatenated objects) or YAML
 *   (one or more documents, each an object or a list of objects). Text starting with "{" or "["
 *   is read as JSON first and as YAML if that fails.
 * - every field is accepted in snake_case and in lowerCamelCase (`join_on` / `joinOn`), at every
 *   level; setting both spellings of one field is an error. Unknown fields are an error naming
 *   the full path (`transform.cmdd`) with a "did you mean" hint. `null` means "not set".
 * - int64/uint64/int32 fields take JSON numbers or numeric strings ("5"); float fields
 *   (resource cpu) too. Booleans must be booleans. Deliberate leniencies (YAML writes these
 *   unquoted): string-map values (env, labels, ...) and memory/disk quantities may be numbers or
 *   booleans and are turned into strings.
 * - Pachyderm 1.x: `atom` -> `pfs` and `standby` -> `autoscaling` are accepted, `enable_stats`
 *   is dropped; each adds a "deprecated (Pachyderm 1.x): ..." warning. `inputs`/`method`
 *   (≤ 1.3), `git` inputs, `parallelism_spec.coefficient`, `chunk_spec`, `max_queue_size`,
 *   `cache_size`, `hashtree_spec`, `incremental`, `spout.overwrite`, `service.annotations`,
 *   `pfs.from_commit` are rejected with a message saying what replaced them. `update`,
 *   `reprocess`, `dry_run`, `spec_commit` are set by the CLI: accepted, ignored, warned about.
 *
 * Defaults (Pachyderm setPipelineDefaults / setInputDefaults): pipeline.project = the given
 * default project ("default"); transform.image "ubuntu:20.04"; datum_tries 3 (0 -> 3);
 * parallelism_spec.constant 1 (0 -> 1); output_branch "master"; reprocess_spec "until_success";
 * pfs: name = repo, branch "master" (or `<pipeline>-trigger-<n>` with a trigger, whose branch
 * defaults to "master"), repo_type "user", project = the pipeline's project; cron: repo
 * `<pipeline>_<name>`, project = the pipeline's project (a cron input reads its repo with glob
 * "/*"); service.type and spout.service.type "NodePort"; globs cleaned ("" -> "/",
 * "abc" -> "/abc", "abc/" -> "/abc"; a missing glob stays "" so validation can reject it).
 *
 * Validation (validateSpec, Pachyderm validatePipeline / validateInput): everything that does
 * not need the database. Input repos existing, a pipeline name clashing with an existing repo,
 * and cycles through pipelines already created are the caller's business; parseSpecs also
 * rejects two specs of one file with the same name and cycles among the specs of one file.
 *
 * Invariants:
 * - every error is an InvalidArgumentError with code INVALID_SPEC whose message starts with the
 *   file and (when known) the pipeline, and names the field path; `data` carries
 *   {file, field, pipeline}.
 * - spout pipelines have no input: for them `input` is undefined at run time (the only case).
 * - the core never prints: warnings are returned.
 */
import {cronError} from '../units/cron.js'
import {checkTrigger, type Trigger} from '../pfs/trigger.js'
import {parseDuration} from '../units/duration.js'
import {parseMemory} from '../units/quantity.js'
import {createRequire} from 'node:module'
import {InvalidArgumentError, printable} from '../errors.js'
import {editDistance} from '../text/edit-distance.js'
import {cleanGlob, compileGlob, GlobSyntaxError} from '../pfs/glob.js'
import {sortInput, type CronInput, type Input, type PfsInput} from './input.js'

// ---------------------------------------------------------------------------------------------
// Types

/** yaml is loaded only when a YAML spec is parsed (it is ~80 modules; cold start matters). */
function parseAllDocuments(text: string): ReturnType<typeof import('yaml').parseAllDocuments> {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml')
  return yaml.parseAllDocuments(text)
}

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
 * A normalised spec: snake_case, defaults applied, inputs sorted by name (children of
 * cross/union/join/group), pfs.name defaulted to repo, globs cleaned. `input` is undefined
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
  warnings: string[]
}

/** Fields that are parsed, kept and shown, but have no effect when pach runs a pipeline locally. */
export const CLUSTER_ONLY_FIELDS: string[] = [
  'egress',
  'service',
  'spout',
  'autoscaling',
  's3_out',
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
  'input.pfs.s3',
]

export const DEFAULT_IMAGE = 'ubuntu:20.04'
export const DEFAULT_DATUM_TRIES = 3
const MAX_PIPELINE_NAME = 51
/** cross/union/join/group nesting: far beyond any real spec, well within the parser's stack */
const MAX_INPUT_DEPTH = 32
const NAME_RE = /^[a-zA-Z0-9_-]+$/
const SERVICE_TYPES = ['ClusterIP', 'LoadBalancer', 'NodePort']

// ---------------------------------------------------------------------------------------------
// Error context

type Rec = Record<string, unknown>

interface Cx {
  file: string
  /** `pipeline "x"`, `spec #2`, or "" */
  who: string
  pipeline?: string
  warnings: string[]
}

function prefix(cx: Cx): string {
  return cx.who === '' ? `${cx.file}: ` : `${cx.file}: ${cx.who}: `
}

function fail(cx: Cx, field: string, message: string, hint?: string): never {
  throw new InvalidArgumentError('INVALID_SPEC', prefix(cx) + message, {
    hint,
    data: {file: cx.file, field, ...(cx.pipeline ? {pipeline: cx.pipeline} : {})},
  })
}

function warn(cx: Cx, message: string): void {
  cx.warnings.push(prefix(cx) + message)
}

function whoFor(name: string | undefined, index: number, count: number): string {
  if (name) return `pipeline ${JSON.stringify(name)}`
  return count > 1 ? `spec #${index + 1}` : ''
}

function cxFor(file: string, name: string | undefined, warnings: string[] = [], index = 0, count = 1): Cx {
  return {file, who: whoFor(name, index, count), pipeline: name || undefined, warnings}
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'an object'
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 37) + '...' : v)}`
  return `${typeof v} ${String(v)}`
}

function isObject(v: unknown): v is Rec {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** `path.key`; a key from the file that is not a plain name is quoted, so it cannot break the one-line message. */
function sub(path: string, key: string): string {
  const k = /^[\w$-]+$/.test(key) ? key : JSON.stringify(key)
  return path === '' ? k : `${path}.${k}`
}

// ---------------------------------------------------------------------------------------------
// Schema (Pachyderm's protobuf messages, snake_case names)

type Kind =
  | 'string'
  | 'bool'
  | 'int64'
  | 'uint64'
  | 'int32'
  | 'float'
  | 'strings'
  | 'int64s'
  | 'stringMap'
  | 'quantity'
  | 'timestamp'
  | 'any'
  | 'input'
  | 'inputs'
  | {msg: Schema}
  | {msgs: Schema}
  | {enum: readonly string[]}

type Legacy = {rename: string; note: string} | {drop: string} | {reject: string; hint?: string} | {cli: string}

interface Schema {
  fields: Record<string, Kind>
  legacy?: Record<string, Legacy>
}

const REMOVED_2X = 'was removed in Pachyderm 2.x'

const PROJECT: Schema = {fields: {name: 'string'}}
const PIPELINE: Schema = {fields: {name: 'string', project: {msg: PROJECT}}}
const SECRET: Schema = {fields: {name: 'string', key: 'string', mount_path: 'string', env_var: 'string'}}
const TRANSFORM: Schema = {
  fields: {
    image: 'string',
    cmd: 'strings',
    err_cmd: 'strings',
    env: 'stringMap',
    secrets: {msgs: SECRET},
    image_pull_secrets: 'strings',
    stdin: 'strings',
    err_stdin: 'strings',
    accept_return_code: 'int64s',
    debug: 'bool',
    user: 'string',
    working_dir: 'string',
    dockerfile: 'string',
    memory_volume: 'bool',
    datum_batching: 'bool',
  },
}
const TRIGGER: Schema = {
  fields: {branch: 'string', all: 'bool', rate_limit_spec: 'string', size: 'string', commits: 'int64', cron_spec: 'string'},
}
const PFS: Schema = {
  fields: {
    project: 'string',
    name: 'string',
    repo: 'string',
    repo_type: 'string',
    branch: 'string',
    commit: 'string',
    glob: 'string',
    join_on: 'string',
    outer_join: 'bool',
    group_by: 'string',
    lazy: 'bool',
    empty_files: 'bool',
    s3: 'bool',
    trigger: {msg: TRIGGER},
    propagation_spec: {msg: {fields: {never: 'bool'}}},
    reference: 'bool',
  },
  legacy: {
    from_commit: {reject: REMOVED_2X, hint: 'every job sees the whole input branch; nothing replaces it'},
    method: {
      reject: '(map/reduce/global) is Pachyderm 1.x (≤ 1.3) and is not supported',
      hint: 'use a glob: "/*" processes each top-level file separately (map), "/" processes everything together (reduce)',
    },
  },
}
const CRON: Schema = {
  fields: {name: 'string', project: 'string', repo: 'string', commit: 'string', spec: 'string', overwrite: 'bool', start: 'timestamp'},
}
const INPUT: Schema = {
  fields: {pfs: {msg: PFS}, join: 'inputs', group: 'inputs', cross: 'inputs', union: 'inputs', cron: {msg: CRON}},
  legacy: {
    atom: {rename: 'pfs', note: '"atom" inputs are now "pfs" inputs'},
    git: {reject: `(git inputs) ${REMOVED_2X}`, hint: 'commit the repository contents into a pach repo (or use a spout) instead'},
    method: PFS.legacy!.method!,
  },
}
const GPU: Schema = {fields: {type: 'string', number: 'int64'}}
const RESOURCES: Schema = {fields: {cpu: 'float', memory: 'quantity', gpu: {msg: GPU}, disk: 'quantity'}}
const SERVICE: Schema = {
  fields: {internal_port: 'int32', external_port: 'int32', ip: 'string', type: 'string'},
  legacy: {annotations: {reject: REMOVED_2X, hint: 'use metadata.annotations'}},
}
const SPOUT: Schema = {
  fields: {service: {msg: SERVICE}},
  legacy: {overwrite: {reject: REMOVED_2X, hint: 'spouts write whole commits; delete old files in the commit instead'}},
}
const EGRESS: Schema = {
  fields: {
    URL: 'string',
    object_storage: {msg: {fields: {url: 'string'}}},
    sql_database: {
      msg: {
        fields: {
          url: 'string',
          file_format: {msg: {fields: {type: {enum: ['UNKNOWN', 'CSV', 'JSON', 'PARQUET']}, columns: 'strings'}}},
          secret: {msg: {fields: {name: 'string', key: 'string'}}},
        },
      },
    },
  },
}
const TOLERATION: Schema = {
  fields: {
    key: 'string',
    operator: {enum: ['EMPTY', 'EXISTS', 'EQUAL']},
    value: 'string',
    effect: {enum: ['ALL_EFFECTS', 'NO_SCHEDULE', 'PREFER_NO_SCHEDULE', 'NO_EXECUTE']},
    toleration_seconds: 'int64',
  },
}
const SPEC: Schema = {
  fields: {
    pipeline: {msg: PIPELINE},
    tf_job: {msg: {fields: {tf_job: 'string'}}},
    transform: {msg: TRANSFORM},
    parallelism_spec: {
      msg: {
        fields: {constant: 'uint64'},
        legacy: {coefficient: {reject: REMOVED_2X, hint: 'use parallelism_spec.constant'}},
      },
    },
    egress: {msg: EGRESS},
    output_branch: 'string',
    s3_out: 'bool',
    resource_requests: {msg: RESOURCES},
    resource_limits: {msg: RESOURCES},
    sidecar_resource_limits: {msg: RESOURCES},
    sidecar_resource_requests: {msg: RESOURCES},
    input: 'input',
    description: 'string',
    service: {msg: SERVICE},
    spout: {msg: SPOUT},
    datum_set_spec: {msg: {fields: {number: 'int64', size_bytes: 'int64', per_worker: 'int64'}}},
    datum_timeout: 'string',
    job_timeout: 'string',
    salt: 'string',
    datum_tries: 'int64',
    scheduling_spec: {msg: {fields: {node_selector: 'stringMap', priority_class_name: 'string'}}},
    pod_spec: 'string',
    pod_patch: 'string',
    metadata: {msg: {fields: {annotations: 'stringMap', labels: 'stringMap'}}},
    reprocess_spec: 'string',
    autoscaling: 'bool',
    tolerations: {msgs: TOLERATION},
    maximum_expected_uptime: 'string',
    determined: {msg: {fields: {workspaces: 'strings'}}},
  },
  legacy: {
    standby: {rename: 'autoscaling', note: '"standby" is now "autoscaling"'},
    enable_stats: {drop: '"enable_stats" is always on now (the <pipeline>.meta repo); dropped'},
    inputs: {
      reject: 'is the Pachyderm 1.x (≤ 1.3) input list and is not supported',
      hint: 'use "input" with "pfs" (and cross/union/join/group to combine several inputs)',
    },
    method: PFS.legacy!.method!,
    chunk_spec: {reject: REMOVED_2X, hint: 'use datum_set_spec'},
    max_queue_size: {reject: REMOVED_2X},
    cache_size: {reject: REMOVED_2X},
    hashtree_spec: {reject: REMOVED_2X},
    incremental: {reject: REMOVED_2X, hint: 'processing is always incremental per datum'},
    scale_down_threshold: {reject: REMOVED_2X, hint: 'use autoscaling'},
    update: {cli: 'is set by the CLI (pach update pipeline)'},
    reprocess: {cli: 'is set by the CLI (--reprocess)'},
    dry_run: {cli: 'is set by the CLI'},
    spec_commit: {cli: 'is set by the CLI'},
  },
}

function lowerCamel(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

function squash(s: string): string {
  return s.toLowerCase().replace(/[_-]/g, '')
}

function suggestion(key: string, schema: Schema): string {
  const names = Object.keys(schema.fields)
  const exact = names.find((n) => squash(n) === squash(key))
  if (exact) return ` (did you mean "${exact}"?)`
  let best: string | undefined
  let bestD = Infinity
  for (const n of names) {
    const d = Math.min(editDistance(key, n), editDistance(key, lowerCamel(n)))
    if (d < bestD) {
      bestD = d
      best = n
    }
  }
  return best !== undefined && bestD <= 2 ? ` (did you mean "${best}"?)` : ''
}

/** The snake_case name a key stands for (a field or a legacy name), or undefined. */
function canonical(key: string, schema: Schema): string | undefined {
  for (const n of Object.keys(schema.fields)) if (key === n || key === lowerCamel(n)) return n
  for (const n of Object.keys(schema.legacy ?? {})) if (key === n || key === lowerCamel(n)) return n
  return undefined
}

/** Read one message: keys become snake_case, values are type-checked; unset (null) fields are left out. */
function readMsg(v: unknown, schema: Schema, path: string, cx: Cx): Rec {
  if (!isObject(v)) fail(cx, path, `${path} must be an object, got ${describe(v)}`)
  const out: Rec = {}
  const seen = new Map<string, string>()
  for (const [key, val] of Object.entries(v)) {
    let name = canonical(key, schema)
    if (name === undefined) {
      fail(cx, sub(path, key), `unknown field ${sub(path, key)}${suggestion(key, schema)}`, 'field names are snake_case or lowerCamelCase, as in Pachyderm')
    }
    const legacy = schema.legacy?.[name]
    if (legacy !== undefined) {
      if ('reject' in legacy) fail(cx, sub(path, key), `${sub(path, key)} ${legacy.reject}`, legacy.hint)
      if ('drop' in legacy) {
        warn(cx, `deprecated (Pachyderm 1.x): ${sub(path, key)}: ${legacy.drop}`)
        continue
      }
      if ('cli' in legacy) {
        warn(cx, `${sub(path, key)} ${legacy.cli}; ignored in a spec file`)
        continue
      }
      warn(cx, `deprecated (Pachyderm 1.x): ${sub(path, key)}: ${legacy.note}`)
      name = legacy.rename
    }
    const other = seen.get(name)
    if (other !== undefined) {
      fail(cx, sub(path, name), `${sub(path, name)} is set twice (as "${other}" and "${key}")`)
    }
    seen.set(name, key)
    if (val === null || val === undefined) continue
    out[name] = readValue(val, schema.fields[name]!, sub(path, name), cx)
  }
  return out
}

function readInt(v: unknown, path: string, cx: Cx, min: number, max: number): number {
  let n: number
  if (typeof v === 'number') n = v
  else if (typeof v === 'string' && /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v)) n = Number(v)
  else fail(cx, path, `${path} must be an integer (a number or a numeric string), got ${describe(v)}`)
  if (!Number.isInteger(n)) fail(cx, path, `${path} must be an integer, got ${describe(v)}`)
  if (n < min || n > max) fail(cx, path, `${path} is out of range (${n})`)
  return n
}

function readValue(v: unknown, kind: Kind, path: string, cx: Cx): unknown {
  if (typeof kind === 'object') {
    if ('msg' in kind) return readMsg(v, kind.msg, path, cx)
    if ('msgs' in kind) {
      if (!Array.isArray(v)) fail(cx, path, `${path} must be a list, got ${describe(v)}`)
      return v.map((item, i) => readMsg(item, kind.msgs, `${path}[${i}]`, cx))
    }
    // enum: a name or its number
    if (typeof v === 'string' && kind.enum.includes(v)) return v
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < kind.enum.length) return kind.enum[v]
    return fail(cx, path, `${path} must be one of ${kind.enum.join(', ')}, got ${describe(v)}`)
  }
  switch (kind) {
    case 'string':
      if (typeof v !== 'string') fail(cx, path, `${path} must be a string, got ${describe(v)}`)
      return v
    case 'bool':
      if (typeof v !== 'boolean') fail(cx, path, `${path} must be true or false, got ${describe(v)}`)
      return v
    case 'int64':
      return readInt(v, path, cx, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
    case 'uint64':
      return readInt(v, path, cx, 0, Number.MAX_SAFE_INTEGER)
    case 'int32':
      return readInt(v, path, cx, -2147483648, 2147483647)
    case 'float': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && v.trim() === v ? Number(v) : NaN
      if (!Number.isFinite(n)) fail(cx, path, `${path} must be a number (e.g. 0.5), got ${describe(v)}`)
      return n
    }
    case 'strings':
      if (!Array.isArray(v)) fail(cx, path, `${path} must be a list of strings, got ${describe(v)}`, path.endsWith('cmd') ? 'e.g. ["sh", "-c", "..."]' : undefined)
      return v.map((s, i) => {
        if (typeof s !== 'string') fail(cx, `${path}[${i}]`, `${path}[${i}] must be a string, got ${describe(s)}`)
        return s
      })
    case 'int64s':
      if (!Array.isArray(v)) fail(cx, path, `${path} must be a list of integers, got ${describe(v)}`)
      return v.map((s, i) => readInt(s, `${path}[${i}]`, cx, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER))
    case 'stringMap': {
      if (!isObject(v)) fail(cx, path, `${path} must be a map of strings, got ${describe(v)}`)
      const out: Record<string, string> = {}
      for (const [k, x] of Object.entries(v)) {
        if (typeof x === 'string') out[k] = x
        else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x)
        else fail(cx, sub(path, k), `${sub(path, k)} must be a string, got ${describe(x)}`)
      }
      return out
    }
    case 'quantity':
      if (typeof v === 'number' && Number.isFinite(v)) return String(v)
      if (typeof v !== 'string') fail(cx, path, `${path} must be a quantity string such as "512Mi", got ${describe(v)}`)
      return v
    case 'timestamp':
      if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) || Number.isNaN(Date.parse(v))) {
        fail(cx, path, `${path} must be an RFC 3339 time such as "2024-05-01T10:00:00Z", got ${describe(v)}`)
      }
      return v
    case 'input':
      return readMsg(v, INPUT, path, cx)
    case 'inputs':
      if (!Array.isArray(v)) fail(cx, path, `${path} must be a list of inputs, got ${describe(v)}`)
      if (path.split('[').length > MAX_INPUT_DEPTH) fail(cx, path, `${path}: inputs are nested more than ${MAX_INPUT_DEPTH} levels deep`)
      return v.map((item, i) => readMsg(item, INPUT, `${path}[${i}]`, cx))
    case 'any':
      return v
  }
}

// ---------------------------------------------------------------------------------------------
// Normalisation (defaults)

const str = (r: Rec | undefined, k: string, def = ''): string => (r !== undefined && typeof r[k] === 'string' && r[k] !== '' ? (r[k] as string) : def)
const bool = (r: Rec | undefined, k: string): boolean => r !== undefined && r[k] === true
const num = (r: Rec | undefined, k: string): number => (r !== undefined && typeof r[k] === 'number' ? (r[k] as number) : 0)
const has = (r: Rec, k: string): boolean => r[k] !== undefined

function buildTransform(t: Rec): Transform {
  const secrets = ((t.secrets as Rec[] | undefined) ?? []).map((s) => ({
    name: str(s, 'name'),
    ...(has(s, 'key') ? {key: s.key as string} : {}),
    ...(has(s, 'mount_path') ? {mount_path: s.mount_path as string} : {}),
    ...(has(s, 'env_var') ? {env_var: s.env_var as string} : {}),
  }))
  return {
    image: str(t, 'image', DEFAULT_IMAGE),
    cmd: (t.cmd as string[] | undefined) ?? [],
    stdin: (t.stdin as string[] | undefined) ?? [],
    err_cmd: (t.err_cmd as string[] | undefined) ?? [],
    err_stdin: (t.err_stdin as string[] | undefined) ?? [],
    env: (t.env as Record<string, string> | undefined) ?? {},
    secrets,
    image_pull_secrets: (t.image_pull_secrets as string[] | undefined) ?? [],
    accept_return_code: (t.accept_return_code as number[] | undefined) ?? [],
    debug: bool(t, 'debug'),
    user: str(t, 'user'),
    working_dir: str(t, 'working_dir'),
    dockerfile: str(t, 'dockerfile'),
    memory_volume: bool(t, 'memory_volume'),
    datum_batching: bool(t, 'datum_batching'),
  }
}

interface InputCx {
  cx: Cx
  pipeline: string
  project: string
  triggers: Map<string, number>
}

function buildInput(r: Rec, path: string, ic: InputCx): Input {
  const node: Rec = {}
  if (has(r, 'pfs')) node.pfs = buildPfs(r.pfs as Rec, sub(path, 'pfs'), ic)
  for (const k of ['cross', 'union', 'join', 'group'] as const) {
    if (has(r, k)) node[k] = (r[k] as Rec[]).map((c, i) => buildInput(c, `${sub(path, k)}[${i}]`, ic))
  }
  if (has(r, 'cron')) node.cron = buildCron(r.cron as Rec, sub(path, 'cron'), ic)
  return node as unknown as Input
}

function buildPfs(p: Rec, path: string, ic: InputCx): PfsInput {
  const repo = str(p, 'repo')
  const glob = str(p, 'glob')
  let branch = str(p, 'branch')
  let trigger: Rec | undefined
  if (has(p, 'trigger')) {
    trigger = {...(p.trigger as Rec)}
    if (str(trigger, 'branch') === '') trigger.branch = 'master'
    if (branch === '') {
      const n = (ic.triggers.get(repo) ?? 0) + 1
      ic.triggers.set(repo, n)
      branch = `${ic.pipeline}-trigger-${n}`
    }
  }
  const repoType = str(p, 'repo_type', 'user')
  if (repoType !== 'user' && repoType !== 'meta' && repoType !== 'spec') {
    fail(ic.cx, sub(path, 'repo_type'), `${sub(path, 'repo_type')} must be "user", "meta" or "spec", got ${describe(repoType)}`)
  }
  return {
    name: str(p, 'name', repo),
    repo,
    repo_type: repoType,
    branch: branch || 'master',
    glob: glob === '' ? '' : cleanGlob(glob),
    project: str(p, 'project', ic.project),
    join_on: str(p, 'join_on'),
    outer_join: bool(p, 'outer_join'),
    group_by: str(p, 'group_by'),
    lazy: bool(p, 'lazy'),
    empty_files: bool(p, 'empty_files'),
    reference: bool(p, 'reference'),
    s3: bool(p, 's3'),
    ...(has(p, 'commit') ? {commit: p.commit as string} : {}),
    ...(has(p, 'propagation_spec') ? {propagation_spec: p.propagation_spec as {never?: boolean}} : {}),
    ...(trigger !== undefined ? {trigger} : {}),
  }
}

function buildCron(c: Rec, path: string, ic: InputCx): CronInput {
  if (str(c, 'commit') !== '') {
    fail(ic.cx, sub(path, 'commit'), `${sub(path, 'commit')} is set: input cannot come from a commit; use a branch`)
  }
  const name = str(c, 'name')
  return {
    name,
    repo: str(c, 'repo', `${ic.pipeline}_${name}`),
    spec: str(c, 'spec'),
    overwrite: bool(c, 'overwrite'),
    ...(has(c, 'start') ? {start: c.start as string} : {}),
    project: str(c, 'project', ic.project),
  }
}

function buildResources(r: Rec): ResourceSpec {
  const out: ResourceSpec = {}
  if (has(r, 'cpu')) out.cpu = r.cpu as number
  if (has(r, 'memory')) out.memory = r.memory as string
  if (has(r, 'gpu')) out.gpu = {type: str(r.gpu as Rec, 'type'), number: num(r.gpu as Rec, 'number')}
  if (has(r, 'disk')) out.disk = r.disk as string
  return out
}

function withServiceDefault(s: Rec): Rec {
  return {...s, type: str(s, 'type', 'NodePort')}
}

/** Raw (already read) spec -> normalised spec, not yet validated nor sorted. */
function normalise(raw: Rec, cx: Cx, defaultProject: string): PipelineSpec {
  if (has(raw, 'tf_job')) fail(cx, 'tf_job', 'tf_job: embedding TFJobs in pipelines is not supported yet')
  const pl = (raw.pipeline as Rec | undefined) ?? {}
  const name = str(pl, 'name')
  const project = str(pl.project as Rec | undefined, 'name', defaultProject)
  if (!has(raw, 'transform')) fail(cx, 'transform', 'transform is required (it says which image and command to run)')
  const ic: InputCx = {cx, pipeline: name, project, triggers: new Map()}
  const rp = raw.reprocess_spec
  const spec: PipelineSpec = {
    pipeline: {name, project: {name: project}},
    description: str(raw, 'description'),
    transform: buildTransform(raw.transform as Rec),
    input: (has(raw, 'input') ? buildInput(raw.input as Rec, 'input', ic) : undefined) as Input,
    parallelism_spec: {constant: num(raw.parallelism_spec as Rec | undefined, 'constant') || 1},
    datum_tries: num(raw, 'datum_tries') || DEFAULT_DATUM_TRIES,
    output_branch: str(raw, 'output_branch', 'master'),
    reprocess_spec: (typeof rp === 'string' && rp !== '' ? rp : 'until_success') as PipelineSpec['reprocess_spec'],
    autoscaling: bool(raw, 'autoscaling'),
    s3_out: bool(raw, 's3_out'),
  }
  const copy = [
    'datum_timeout',
    'job_timeout',
    'salt',
    'datum_set_spec',
    'egress',
    'scheduling_spec',
    'tolerations',
    'pod_spec',
    'pod_patch',
    'metadata',
    'maximum_expected_uptime',
    'determined',
  ] as const
  const out = spec as unknown as Rec
  for (const k of copy) if (has(raw, k)) out[k] = raw[k]
  for (const k of ['resource_requests', 'resource_limits', 'sidecar_resource_limits', 'sidecar_resource_requests'] as const) {
    if (has(raw, k)) out[k] = buildResources(raw[k] as Rec)
  }
  if (has(raw, 'service')) spec.service = withServiceDefault(raw.service as Rec)
  if (has(raw, 'spout')) {
    const sp = raw.spout as Rec
    spec.spout = has(sp, 'service') ? {...sp, service: withServiceDefault(sp.service as Rec)} : {...sp}
  }
  return spec
}

// ---------------------------------------------------------------------------------------------
// Validation

const KINDS = ['pfs', 'cross', 'union', 'join', 'group', 'cron'] as const
type NodeKind = (typeof KINDS)[number]

function kindsOf(node: unknown): NodeKind[] {
  if (!isObject(node)) return []
  return KINDS.filter((k) => node[k] !== undefined && node[k] !== null)
}

function containsS3(node: Input): boolean {
  const r = node as unknown as Rec
  if (isObject(r.pfs)) return (r.pfs as unknown as PfsInput).s3 === true
  for (const k of ['cross', 'union', 'join', 'group']) if (Array.isArray(r[k]) && (r[k] as Input[]).some(containsS3)) return true
  return false
}

function checkName(cx: Cx, field: string, what: string, value: string): void {
  if (!NAME_RE.test(value)) {
    fail(cx, field, `${field} ${JSON.stringify(value)} is not a valid ${what} name: only letters, digits, "_" and "-" are allowed`)
  }
}

function checkDuration(cx: Cx, field: string, value: string | undefined, positive: boolean): void {
  if (value === undefined) return
  let ms: number
  try {
    ms = parseDuration(value)
  } catch {
    return fail(cx, field, `${field} ${JSON.stringify(value)} is not a duration`, 'use Go duration syntax such as "30s", "10m", "1h30m" or "500ms"')
  }
  if (positive && ms <= 0) fail(cx, field, `${field} ${JSON.stringify(value)} must be a positive duration`)
}

function checkResources(cx: Cx, field: string, r: ResourceSpec | undefined): void {
  if (r === undefined) return
  if (!isObject(r as unknown)) fail(cx, field, `${field} must be an object`)
  if (r.cpu !== undefined && (typeof r.cpu !== 'number' || !Number.isFinite(r.cpu) || r.cpu < 0)) {
    fail(cx, `${field}.cpu`, `${field}.cpu must be a non-negative number, got ${describe(r.cpu)}`)
  }
  for (const k of ['memory', 'disk'] as const) {
    const v = r[k]
    if (v === undefined || v === '') continue
    try {
      parseMemory(v)
    } catch {
      fail(cx, `${field}.${k}`, `${field}.${k} ${JSON.stringify(v)} is not a valid quantity`, 'use a Kubernetes quantity such as "512Mi", "1Gi", "100M" or "1024"')
    }
  }
  if (r.gpu !== undefined) {
    if (!Number.isInteger(r.gpu.number) || r.gpu.number < 0) fail(cx, `${field}.gpu.number`, `${field}.gpu.number must be a non-negative integer`)
    if (r.gpu.number > 0 && !r.gpu.type) fail(cx, `${field}.gpu.type`, `${field}.gpu.type is required (e.g. "nvidia.com/gpu")`)
  }
}

function checkJsonString(cx: Cx, field: string, v: string | undefined): void {
  if (v === undefined || v === '') return
  if (typeof v !== 'string') fail(cx, field, `${field} must be a string holding JSON`)
  try {
    JSON.parse(v)
  } catch (e) {
    fail(cx, field, `${field} is not valid JSON: ${(e as Error).message}`, `${field} is a JSON document inside a string`)
  }
}

/** Pachyderm validateNames: names unique across the tree, except between the alternatives of a union. */
function checkNames(cx: Cx, names: Set<string>, node: Input, path: string): void {
  const r = node as unknown as Rec
  if (isObject(r.pfs) || isObject(r.cron)) {
    const key = isObject(r.pfs) ? 'pfs' : 'cron'
    const name = (r[key] as {name: string}).name
    if (names.has(name)) {
      fail(cx, `${sub(path, key)}.name`, `${sub(path, key)}.name: name ${JSON.stringify(name)} was used more than once`, 'give each input a distinct "name" (it is the directory under /pfs)')
    }
    names.add(name)
  } else if (Array.isArray(r.union)) {
    const copies = (r.union as Input[]).map((child, i) => {
      const copy = new Set(names)
      checkNames(cx, copy, child, `${sub(path, 'union')}[${i}]`)
      return copy
    })
    for (const c of copies) for (const n of c) names.add(n)
  } else {
    for (const k of ['cross', 'join', 'group']) {
      if (Array.isArray(r[k])) (r[k] as Input[]).forEach((child, i) => checkNames(cx, names, child, `${sub(path, k)}[${i}]`))
    }
  }
}

function checkInputNode(cx: Cx, spec: PipelineSpec, node: Input, path: string): void {
  const kinds = kindsOf(node)
  if (kinds.length === 0) fail(cx, path, `${path}: no input set`, 'an input is one of pfs, cross, union, join, group, cron')
  if (kinds.length > 1) fail(cx, path, `${path}: multiple input types set (${kinds.join(', ')})`, 'each input node has exactly one of pfs, cross, union, join, group, cron')
  const kind = kinds[0]!
  const r = node as unknown as Rec
  const p = sub(path, kind)
  if (kind === 'pfs') {
    const pfs = r.pfs as PfsInput
    if (pfs.trigger !== undefined) {
      try {
        checkTrigger(pfs.trigger as Trigger, pfs.branch)
      } catch (e) {
        fail(cx, `${p}.trigger`, `${p}.trigger: ${(e as Error).message}`)
      }
    }
    if (!pfs.repo) fail(cx, `${p}.repo`, `${p}.repo is required`)
    checkName(cx, `${p}.repo`, 'repo', pfs.repo)
    if (!pfs.name) fail(cx, `${p}.name`, `${p}.name is required`)
    if (pfs.name === 'out') {
      fail(cx, `${p}.name`, `${p}.name: an input cannot be named "out" (pach creates /pfs/out for the output)`, 'inputs from a repo named "out" must set "name" to something else')
    }
    checkName(cx, `${p}.name`, 'input', pfs.name)
    if (!pfs.branch) fail(cx, `${p}.branch`, `${p}.branch is required`)
    checkName(cx, `${p}.branch`, 'branch', pfs.branch)
    if (pfs.project) checkName(cx, `${p}.project`, 'project', pfs.project)
    if (pfs.repo_type !== 'user' && pfs.repo_type !== 'meta' && pfs.repo_type !== 'spec') {
      fail(cx, `${p}.repo_type`, `${p}.repo_type must be "user", "meta" or "spec"`)
    }
    if (pfs.commit !== undefined && pfs.commit !== '') fail(cx, `${p}.commit`, `${p}.commit is set: input cannot come from a commit; use a branch`)
    if (!pfs.s3 && !pfs.glob) fail(cx, `${p}.glob`, `${p}.glob is required`, 'e.g. "/*" for one datum per top-level file or directory, "/" for one datum with everything')
    if (pfs.s3 && pfs.glob !== '/') {
      fail(cx, `${p}.glob`, `${p}.glob must be "/" for an s3 input (the S3 gateway exposes whole commits)`)
    }
    if (pfs.s3 && pfs.lazy) fail(cx, `${p}.lazy`, `${p}: an input cannot set both s3 and lazy`)
    if (pfs.s3 && pfs.empty_files) fail(cx, `${p}.empty_files`, `${p}: an input cannot set both s3 and empty_files`)
    if (pfs.glob) {
      try {
        compileGlob(pfs.glob)
      } catch (e) {
        if (!(e instanceof GlobSyntaxError)) throw e
        fail(cx, `${p}.glob`, `${p}.glob ${JSON.stringify(pfs.glob)} is invalid: ${e.reason}`)
      }
    }
    if (pfs.repo === spec.pipeline.name && pfs.repo_type === 'user' && pfs.project === spec.pipeline.project.name) {
      fail(cx, `${p}.repo`, `${p}.repo: pipeline ${JSON.stringify(spec.pipeline.name)} cannot read its own output repo (that would be a cycle)`)
    }
    return
  }
  if (kind === 'cron') {
    const cron = r.cron as CronInput
    if (!cron.name) fail(cx, `${p}.name`, `${p}.name is required`)
    checkName(cx, `${p}.name`, 'input', cron.name)
    if (cron.name === 'out') fail(cx, `${p}.name`, `${p}.name: an input cannot be named "out" (pach creates /pfs/out for the output)`)
    if (!cron.repo) fail(cx, `${p}.repo`, `${p}.repo is required`)
    checkName(cx, `${p}.repo`, 'repo', cron.repo)
    if (!cron.spec) fail(cx, `${p}.spec`, `${p}.spec is required (a cron expression such as "@every 10s" or "*/5 * * * *")`)
    const err = cronError(cron.spec)
    if (err !== null) fail(cx, `${p}.spec`, `${p}.spec ${JSON.stringify(cron.spec)} is not a valid cron expression: ${err}`)
    if (cron.start !== undefined && Number.isNaN(Date.parse(cron.start))) fail(cx, `${p}.start`, `${p}.start is not a valid time`)
    return
  }
  const children = r[kind]
  if (!Array.isArray(children)) fail(cx, p, `${p} must be a list of inputs`)
  if (children.length === 0) fail(cx, p, `${p} is empty: a ${kind} needs at least one input`)
  if (kind !== 'cross' && containsS3(node)) fail(cx, p, `${p}: s3 inputs are not supported inside a ${kind}`)
  ;(children as Input[]).forEach((child, i) => checkInputNode(cx, spec, child, `${p}[${i}]`))
}

/** Static validation of one normalised spec (everything that does not need the database). */
export function validateSpec(spec: PipelineSpec, file: string): void {
  const name = isObject(spec) && isObject(spec.pipeline) && typeof spec.pipeline.name === 'string' ? spec.pipeline.name : ''
  const cx = cxFor(file, name || undefined)
  if (!isObject(spec)) fail(cx, '', 'a pipeline spec must be an object')
  if (!name) fail(cx, 'pipeline.name', 'pipeline.name is required')
  if (!NAME_RE.test(name)) fail(cx, 'pipeline.name', `pipeline.name ${JSON.stringify(name)} is invalid: only letters, digits, "_" and "-" are allowed`)
  if (name.length > MAX_PIPELINE_NAME) {
    fail(cx, 'pipeline.name', `pipeline.name is ${name.length} characters long, but must have at most ${MAX_PIPELINE_NAME}`)
  }
  if (!/^[a-zA-Z0-9]/.test(name)) fail(cx, 'pipeline.name', `pipeline.name ${JSON.stringify(name)} must start with a letter or a digit`)
  const project = spec.pipeline.project?.name ?? ''
  if (!project) fail(cx, 'pipeline.project.name', 'pipeline.project.name is required')
  checkName(cx, 'pipeline.project.name', 'project', project)
  if (project.length > MAX_PIPELINE_NAME) fail(cx, 'pipeline.project.name', `pipeline.project.name must have at most ${MAX_PIPELINE_NAME} characters`)

  // transform
  const t = spec.transform
  if (!isObject(t)) fail(cx, 'transform', 'transform is required (it says which image and command to run)')
  if (!t.image) fail(cx, 'transform.image', 'transform.image is required')
  if (!Array.isArray(t.cmd) || t.cmd.length === 0) {
    fail(cx, 'transform.cmd', 'transform.cmd: no command specified', 'e.g. "cmd": ["python3", "/app.py"], or "cmd": ["bash"] with "stdin": [...]')
  }
  ;(t.secrets ?? []).forEach((s, i) => {
    const f = `transform.secrets[${i}]`
    if (!s.name) fail(cx, `${f}.name`, `${f}.name is required`)
    if (s.env_var && !s.key) fail(cx, `${f}.key`, `${f}.key is required when env_var is set`)
  })
  for (const [k] of Object.entries(t.env ?? {})) {
    if (k === '' || k.includes('=')) fail(cx, `transform.env`, `transform.env: ${JSON.stringify(k)} is not a valid variable name`)
  }

  // input
  const spout = spec.spout as Rec | undefined
  if (spec.input === undefined || spec.input === null) {
    if (spout === undefined) fail(cx, 'input', 'input is required (only spouts have no input)')
  } else {
    if (spout !== undefined && !isObject(spout.service)) {
      fail(cx, 'input', 'input: spout pipelines (without a service) must not have an input')
    }
    checkInputNode(cx, spec, spec.input, 'input')
    checkNames(cx, new Set(), spec.input, 'input')
  }

  // scalars
  const c = spec.parallelism_spec?.constant
  if (c !== undefined && (!Number.isInteger(c) || c < 0)) fail(cx, 'parallelism_spec.constant', 'parallelism_spec.constant must be a non-negative integer')
  if (!Number.isInteger(spec.datum_tries) || spec.datum_tries < 1) fail(cx, 'datum_tries', `datum_tries must be a positive integer, got ${describe(spec.datum_tries)}`)
  if (!spec.output_branch) fail(cx, 'output_branch', 'output_branch is required')
  checkName(cx, 'output_branch', 'branch', spec.output_branch)
  if (spec.reprocess_spec !== 'until_success' && spec.reprocess_spec !== 'every_job') {
    fail(cx, 'reprocess_spec', `reprocess_spec must be "until_success" or "every_job", got ${describe(spec.reprocess_spec)}`)
  }
  checkDuration(cx, 'datum_timeout', spec.datum_timeout, true)
  checkDuration(cx, 'job_timeout', spec.job_timeout, true)
  checkDuration(cx, 'maximum_expected_uptime', spec.maximum_expected_uptime, true)
  checkResources(cx, 'resource_requests', spec.resource_requests)
  checkResources(cx, 'resource_limits', spec.resource_limits)
  checkResources(cx, 'sidecar_resource_requests', spec.sidecar_resource_requests)
  checkResources(cx, 'sidecar_resource_limits', spec.sidecar_resource_limits)
  checkJsonString(cx, 'pod_spec', spec.pod_spec)
  checkJsonString(cx, 'pod_patch', spec.pod_patch)
  const net = networkAnnotation(spec)
  if (net !== undefined && net !== 'true' && net !== 'false') {
    fail(cx, `metadata.annotations.${NETWORK_ANNOTATION}`, `metadata.annotations["${NETWORK_ANNOTATION}"] must be "true" or "false", got ${describe(net)}`)
  }
  const ds = spec.datum_set_spec
  if (ds !== undefined) {
    for (const k of ['number', 'size_bytes', 'per_worker'] as const) {
      if (ds[k] !== undefined && (!Number.isInteger(ds[k]) || ds[k]! < 0)) fail(cx, `datum_set_spec.${k}`, `datum_set_spec.${k} must be a non-negative integer`)
    }
    if (ds.per_worker && (ds.number || ds.size_bytes)) {
      fail(cx, 'datum_set_spec.per_worker', 'datum_set_spec.per_worker cannot be set together with number or size_bytes')
    }
  }

  // cluster-only structures whose combinations Pachyderm checks
  const service = spec.service as Rec | undefined
  if (service !== undefined) {
    if (!SERVICE_TYPES.includes(str(service, 'type', 'NodePort'))) {
      fail(cx, 'service.type', `service.type ${JSON.stringify(service.type)} is not allowed (one of ${SERVICE_TYPES.join(', ')})`)
    }
    if ((spec.parallelism_spec?.constant ?? 1) !== 1) {
      fail(cx, 'parallelism_spec.constant', 'parallelism_spec.constant: services can only be run with a constant parallelism of 1')
    }
  }
  if (spout !== undefined) {
    if (spec.autoscaling) fail(cx, 'autoscaling', "autoscaling can't be used with spouts (spouts aren't triggered by input commits)")
    if (isObject(spout.service) && !SERVICE_TYPES.includes(str(spout.service, 'type', 'NodePort'))) {
      fail(cx, 'spout.service.type', `spout.service.type ${JSON.stringify(spout.service.type)} is not allowed (one of ${SERVICE_TYPES.join(', ')})`)
    }
  }
  const egress = spec.egress as Rec | undefined
  if (egress !== undefined) {
    const targets = ['URL', 'object_storage', 'sql_database'].filter((k) => egress[k] !== undefined && egress[k] !== '')
    if (targets.length === 0) fail(cx, 'egress', 'egress needs one of URL, object_storage, sql_database')
    if (targets.length > 1) fail(cx, 'egress', `egress sets more than one target (${targets.join(', ')})`)
  }
}

// ---------------------------------------------------------------------------------------------
// Text -> values

interface Located {
  value: unknown
  /** "document 2" / "array element 3": for messages about values that are not objects */
  where: string
}

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  const col = offset - before.lastIndexOf('\n')
  return `line ${line}, column ${col}`
}

/** A stream of concatenated JSON values, or an error message. */
function parseJsonStream(text: string): unknown[] | string {
  const values: unknown[] = []
  let i = 0
  const n = text.length
  while (i < n) {
    while (i < n && /\s/.test(text[i]!)) i++
    if (i >= n) break
    const start = i
    const open = text[i]
    if (open === '{' || open === '[') {
      let depth = 0
      let inString = false
      for (; i < n; i++) {
        const ch = text[i]
        if (inString) {
          if (ch === '\\') i++
          else if (ch === '"') inString = false
        } else if (ch === '"') inString = true
        else if (ch === '{' || ch === '[') depth++
        else if (ch === '}' || ch === ']') {
          depth--
          if (depth === 0) {
            i++
            break
          }
        }
      }
      if (depth !== 0) return `unexpected end of JSON: the value starting at ${lineCol(text, start)} is not closed`
    } else {
      while (i < n && !/[\s{[]/.test(text[i]!)) i++
    }
    const chunk = text.slice(start, i)
    try {
      values.push(JSON.parse(chunk))
    } catch (e) {
      // V8 quotes the offending text raw (newlines and all); the location below says where it is
      const msg = (e as Error).message.replace(/, ".*" is not valid JSON$/s, '')
      const m = /position (\d+)/.exec(msg)
      return m ? `${msg.replace(/ in JSON at position \d+.*$/, '')} at ${lineCol(text, start + Number(m[1]))}` : `${msg} (in the value starting at ${lineCol(text, start)})`
    }
  }
  return values
}

function parseYamlStream(text: string): unknown[] | string {
  const docs = parseAllDocuments(text)
  if (!Array.isArray(docs)) return []
  const out: unknown[] = []
  for (const doc of docs) {
    if (doc.errors.length > 0) return doc.errors[0]!.message.split('\n')[0]!.replace(/:$/, '')
    try {
      out.push(doc.toJS())
    } catch (e) {
      return (e as Error).message
    }
  }
  return out
}

function topLevelValues(text: string, file: string): Located[] {
  const body = text.replace(/^\uFEFF/, '')
  const first = body.trimStart()[0]
  let values: unknown[] | string
  let kind: string
  if (first === '{' || first === '[') {
    values = parseJsonStream(body)
    kind = 'JSON'
    if (typeof values === 'string') {
      const y = parseYamlStream(body)
      if (typeof y !== 'string') values = y
    }
  } else {
    values = parseYamlStream(body)
    kind = 'YAML'
  }
  if (typeof values === 'string') {
    throw new InvalidArgumentError('INVALID_SPEC', `${file}: invalid ${kind}: ${printable(values)}`, {data: {file, field: ''}})
  }
  const out: Located[] = []
  values.forEach((v, d) => {
    if (v === null || v === undefined) return
    if (Array.isArray(v)) v.forEach((item, j) => out.push({value: item, where: `element ${j + 1} of document ${d + 1}`}))
    else out.push({value: v, where: `document ${d + 1}`})
  })
  return out
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Parse one file's text (JSON: object, array, or concatenated objects; YAML: one or more
 * documents). `file` is used in messages. `defaultProject` fills pipeline.project (and, through
 * it, input projects). Every spec is normalised, validated (validateSpec) and its inputs sorted;
 * two specs with the same name, or specs whose inputs form a cycle, are rejected too.
 */
export function parseSpecs(text: string, file: string, defaultProject = 'default'): ParsedSpecs {
  const values = topLevelValues(text, file)
  if (values.length === 0) {
    throw new InvalidArgumentError('INVALID_SPEC', `${file}: no pipeline spec found`, {data: {file, field: ''}, hint: 'a spec file holds a JSON object, a JSON array of objects, or YAML documents'})
  }
  const warnings: string[] = []
  const specs = values.map(({value, where}, i) => {
    const rawName = isObject(value) && isObject(value.pipeline) && typeof value.pipeline.name === 'string' ? value.pipeline.name : undefined
    const cx = cxFor(file, rawName, warnings, i, values.length)
    if (!isObject(value)) fail(cx, '', `${where} is not a pipeline spec (expected an object, got ${describe(value)})`)
    const raw = readMsg(value, SPEC, '', cx)
    const spec = normalise(raw, cx, defaultProject)
    if (!spec.pipeline.name) fail(cx, 'pipeline.name', 'pipeline.name is required')
    validateSpec(spec, file)
    imageWarnings(spec, cx)
    if (spec.input !== undefined) spec.input = sortInput(spec.input)
    return spec
  })
  checkAcrossSpecs(specs, file)
  return {specs, warnings}
}

function imageWarnings(spec: PipelineSpec, cx: Cx): void {
  const image = spec.transform.image
  if (image.includes('@')) return
  const last = image.slice(image.lastIndexOf('/') + 1)
  const colon = last.lastIndexOf(':')
  if (colon < 0) warn(cx, `transform.image ${JSON.stringify(image)} has no tag (so it means :latest); pin a version so re-runs use the same code`)
  else if (last.slice(colon + 1) === 'latest') warn(cx, `transform.image ${JSON.stringify(image)} uses the "latest" tag; pin a version so re-runs use the same code`)
}

function pfsRepos(input: Input | undefined): PfsInput[] {
  if (input === undefined) return []
  const r = input as unknown as Rec
  if (isObject(r.pfs)) return [r.pfs as unknown as PfsInput]
  const out: PfsInput[] = []
  for (const k of ['cross', 'union', 'join', 'group']) if (Array.isArray(r[k])) for (const c of r[k] as Input[]) out.push(...pfsRepos(c))
  return out
}

function checkAcrossSpecs(specs: PipelineSpec[], file: string): void {
  const key = (project: string, name: string): string => `${project}/${name}`
  const byKey = new Map<string, number>()
  specs.forEach((s, i) => {
    const k = key(s.pipeline.project.name, s.pipeline.name)
    const prev = byKey.get(k)
    if (prev !== undefined) {
      fail(cxFor(file, s.pipeline.name), 'pipeline.name', `pipeline.name ${JSON.stringify(s.pipeline.name)} is defined more than once in this file (specs #${prev + 1} and #${i + 1})`)
    }
    byKey.set(k, i)
  })
  // edges: pipeline -> pipelines of this file whose output it reads
  const deps = specs.map((s) =>
    pfsRepos(s.input)
      .filter((p) => p.repo_type === 'user')
      .map((p) => byKey.get(key(p.project, p.repo)))
      .filter((j): j is number => j !== undefined),
  )
  const state = new Array<number>(specs.length).fill(0) // 0 new, 1 on stack, 2 done
  const stack: number[] = []
  const visit = (i: number): void => {
    state[i] = 1
    stack.push(i)
    for (const j of deps[i]!) {
      if (state[j] === 1) {
        const cycle = [...stack.slice(stack.indexOf(j)), j].map((k) => specs[k]!.pipeline.name)
        fail(cxFor(file, specs[j]!.pipeline.name), 'input', `input: pipelines form a cycle: ${cycle.join(' -> ')}`)
      }
      if (state[j] === 0) visit(j)
    }
    stack.pop()
    state[i] = 2
  }
  specs.forEach((_, i) => {
    if (state[i] === 0) visit(i)
  })
}

/**
 * The one local opt-in to networking: pipeline code runs with no network (only loopback)
 * unless the spec carries this annotation set to "true". An annotation, not a new field, so
 * the same spec still loads in Pachyderm (where pods have the cluster network anyway).
 */
export const NETWORK_ANNOTATION = 'pach.io/network'

function networkAnnotation(spec: PipelineSpec): unknown {
  const md = spec.metadata as {annotations?: Record<string, unknown>} | undefined
  return md?.annotations?.[NETWORK_ANNOTATION]
}

/** Does user code of this pipeline get a network? (see NETWORK_ANNOTATION) */
export function wantsNetwork(spec: PipelineSpec): boolean {
  return networkAnnotation(spec) === 'true'
}

/** Which of CLUSTER_ONLY_FIELDS a normalised spec actually sets (to tell the user they have no local effect). */
export function clusterOnlyFieldsIn(spec: PipelineSpec): string[] {
  const out: string[] = []
  const r = spec as unknown as Rec
  for (const f of CLUSTER_ONLY_FIELDS) {
    if (f.startsWith('input.pfs.')) {
      const k = f.slice('input.pfs.'.length) as keyof PfsInput
      if (pfsRepos(spec.input).some((p) => p[k] !== undefined && p[k] !== false)) out.push(f)
    } else if (f.startsWith('transform.')) {
      const v = (spec.transform as unknown as Rec)[f.slice('transform.'.length)]
      if (v === true || (typeof v === 'string' && v !== '') || (Array.isArray(v) && v.length > 0)) out.push(f)
    } else if (f === 'metadata') {
      // metadata acts locally only through NETWORK_ANNOTATION
      const md = (spec.metadata ?? {}) as {annotations?: Record<string, unknown>; labels?: Record<string, unknown>}
      const keys = [...Object.keys(md.annotations ?? {}).filter((k) => k !== NETWORK_ANNOTATION), ...Object.keys(md.labels ?? {})]
      if (keys.length) out.push(f)
    } else if (r[f] !== undefined && r[f] !== false) out.push(f)
  }
  return out
}

/** A short description of the input tree, as in pachctl's INPUT column: "images:/*", "(a:/* ⨯ b:/*)". */
export function specSummary(spec: PipelineSpec): string {
  const project = spec.pipeline?.project?.name ?? ''
  const show = (node: Input | undefined): string => {
    if (node === undefined || node === null) return 'none'
    const r = node as unknown as Rec
    if (isObject(r.pfs)) {
      const p = r.pfs as unknown as PfsInput
      const repo = (p.project && p.project !== project ? `${p.project}/` : '') + p.repo + (p.repo_type && p.repo_type !== 'user' ? `.${p.repo_type}` : '')
      return `${repo}${p.branch && p.branch !== 'master' ? `@${p.branch}` : ''}:${p.glob}`
    }
    if (isObject(r.cron)) {
      const c = r.cron as unknown as CronInput
      return `${c.name}:${c.spec}`
    }
    const list = (k: string): string[] => ((r[k] as Input[] | undefined) ?? []).map(show)
    if (Array.isArray(r.cross)) return `(${list('cross').join(' ⨯ ')})`
    if (Array.isArray(r.union)) return `(${list('union').join(' ∪ ')})`
    if (Array.isArray(r.join)) return `(${list('join').join(' ⋈ ')})`
    if (Array.isArray(r.group)) return `group(${list('group').join(', ')})`
    return 'none'
  }
  return show(spec.input)
}
