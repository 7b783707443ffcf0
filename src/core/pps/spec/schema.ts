/**
 * Reading one spec document field by field against a schema of Pachyderm's protobuf messages
 * (Pachyderm parses with protojson after converting YAML to JSON). The result is the same
 * document with snake_case keys, type-checked values and unset fields left out;
 * normalise.ts applies the defaults.
 *
 * Rules:
 * - every field is accepted in snake_case and in lowerCamelCase (`join_on` / `joinOn`), at
 *   every level; setting both spellings of one field is an error. Unknown fields are an error
 *   naming the full path (`transform.cmdd`) with a "did you mean" hint (the field equal up to
 *   case, "_" and "-", else the nearest one within edit distance 2). `null` means "not set".
 * - int64/uint64/int32 fields take JSON numbers or numeric strings ("5"), integral and in
 *   range; float fields (resource cpu) too. Booleans must be booleans. Enums take the name or
 *   its number. Timestamps (cron.start) are RFC 3339 strings. Deliberate leniencies (YAML
 *   writes these unquoted): string-map values (env, labels, ...) may be numbers or booleans,
 *   memory/disk quantities may be numbers; both are turned into strings.
 * - inputs (cross/union/join/group) nest at most MAX_INPUT_DEPTH levels deep.
 * - Pachyderm 1.x: `atom` -> `pfs` and `standby` -> `autoscaling` are accepted, `enable_stats`
 *   is dropped; each adds a "deprecated (Pachyderm 1.x): ..." warning. `inputs`/`method`
 *   (≤ 1.3), `git` inputs, `parallelism_spec.coefficient`, `chunk_spec`, `max_queue_size`,
 *   `cache_size`, `hashtree_spec`, `incremental`, `scale_down_threshold`, `spout.overwrite`,
 *   `service.annotations`, `pfs.from_commit` are rejected with a message saying what replaced
 *   them. `update`, `reprocess`, `dry_run`, `spec_commit` are set by the CLI: accepted,
 *   ignored, warned about.
 */
import {editDistance} from '../../text/edit-distance.js'
import {attempt, describeValue, fail, fieldPath, isObject, warn, type JsonObject, type SpecContext} from './context.js'
import {MAX_INPUT_DEPTH} from './types.js'

// Pachyderm's protobuf messages, by their snake_case field names.

/** How a field's value is read: a scalar type, a (list of) nested message(s), an enum, or an input (tree). */
export type FieldKind =
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
  | 'input'
  | 'inputs'
  | {msg: Schema}
  | {msgs: Schema}
  | {enum: readonly string[]}

/** A field name from older Pachyderm: renamed (with a warning), dropped (warning), rejected (error), or set by the CLI (warning). */
type Legacy = {rename: string; note: string} | {drop: string} | {reject: string; hint?: string} | {cli: string}

/** One message: its fields and the legacy names it still recognises. */
export interface Schema {
  fields: Record<string, FieldKind>
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
/** The top-level message: a CreatePipelineRequest. */
export const PIPELINE_SPEC: Schema = {
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

/** Pipeline defaults (Pachyderm ClusterDefaults / ProjectDefaults): a CreatePipelineRequest that specs are merged into. */
export const DEFAULTS: Schema = {fields: {create_pipeline_request: {msg: PIPELINE_SPEC}}}

// Reading

/**
 * The kind of the field `key` names in `schema` as protojson sees Pachyderm's message: a field
 * by its proto or JSON name, or one the CLI sets (`update`, `reprocess`, `dry_run`,
 * `spec_commit`, real fields of CreatePipelineRequest); undefined for any other key (pach's
 * 1.x names included: pachd's protojson knows none of them). Input fields are INPUT's.
 */
export function protoFieldKind(schema: Schema, key: string): FieldKind | 'scalar' | undefined {
  for (const [n, kind] of Object.entries(schema.fields)) if (key === n || key === lowerCamel(n)) return kind
  for (const [n, l] of Object.entries(schema.legacy ?? {})) if ((key === n || key === lowerCamel(n)) && 'cli' in l) return 'scalar'
  return undefined
}

/** The schema of a nested message kind (`input`/`inputs` are INPUT), or undefined for scalars and maps. */
export function messageSchema(kind: FieldKind | 'scalar'): {schema: Schema; repeated: boolean} | undefined {
  if (kind === 'input') return {schema: INPUT, repeated: false}
  if (kind === 'inputs') return {schema: INPUT, repeated: true}
  if (typeof kind === 'object' && 'msg' in kind) return {schema: kind.msg, repeated: false}
  if (typeof kind === 'object' && 'msgs' in kind) return {schema: kind.msgs, repeated: true}
  return undefined
}

/** `join_on` -> `joinOn` (protojson's JSON name). */
function lowerCamel(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

/** A name with case, "_" and "-" ignored, for "did you mean". */
function squash(s: string): string {
  return s.toLowerCase().replace(/[_-]/g, '')
}

/** The " (did you mean ...)" tail for an unknown key, or "". */
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

/**
 * Read one message: keys become snake_case, values are type-checked; unset (null) fields are
 * left out (kept as null with ctx.keepNull, for a defaults merge). Each key is one check (context.ts attempt): a bad key or value is reported and
 * left out, and the other keys are still read.
 */
export function readMessage(v: unknown, schema: Schema, path: string, ctx: SpecContext): JsonObject {
  if (!isObject(v)) fail(ctx, path, `${path} must be an object, got ${describeValue(v)}`)
  const out: JsonObject = {}
  const seen = new Map<string, string>()
  for (const [key, val] of Object.entries(v)) {
    attempt(() => {
      let name = canonical(key, schema)
      if (name === undefined) {
        fail(ctx, fieldPath(path, key), `unknown field ${fieldPath(path, key)}${suggestion(key, schema)}`, 'field names are snake_case or lowerCamelCase, as in Pachyderm')
      }
      const legacy = schema.legacy?.[name]
      if (legacy !== undefined) {
        if ('reject' in legacy) fail(ctx, fieldPath(path, key), `${fieldPath(path, key)} ${legacy.reject}`, legacy.hint)
        if ('drop' in legacy) {
          warn(ctx, `deprecated (Pachyderm 1.x): ${fieldPath(path, key)}: ${legacy.drop}`)
          return
        }
        if ('cli' in legacy) {
          warn(ctx, `${fieldPath(path, key)} ${legacy.cli}; ignored in a spec file`)
          return
        }
        warn(ctx, `deprecated (Pachyderm 1.x): ${fieldPath(path, key)}: ${legacy.note}`)
        name = legacy.rename
      }
      const other = seen.get(name)
      if (other !== undefined) {
        fail(ctx, fieldPath(path, name), `${fieldPath(path, name)} is set twice (as "${other}" and "${key}")`)
      }
      seen.set(name, key)
      if (val === null || val === undefined) {
        if (val === null && ctx.keepNull) out[name] = null
        return
      }
      out[name] = readValue(val, schema.fields[name]!, fieldPath(path, name), ctx)
    })
  }
  return out
}

/** An integer in [min, max], from a JSON number or a numeric string. */
function readInt(v: unknown, path: string, ctx: SpecContext, min: number, max: number): number {
  let n: number
  if (typeof v === 'number') n = v
  else if (typeof v === 'string' && /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v)) n = Number(v)
  else fail(ctx, path, `${path} must be an integer (a number or a numeric string), got ${describeValue(v)}`)
  if (!Number.isInteger(n)) fail(ctx, path, `${path} must be an integer, got ${describeValue(v)}`)
  if (n < min || n > max) fail(ctx, path, `${path} is out of range (${n})`)
  return n
}

/** One field's value, checked and converted according to its kind. */
function readValue(v: unknown, kind: FieldKind, path: string, ctx: SpecContext): unknown {
  if (typeof kind === 'object') {
    if ('msg' in kind) return readMessage(v, kind.msg, path, ctx)
    if ('msgs' in kind) {
      if (!Array.isArray(v)) fail(ctx, path, `${path} must be a list, got ${describeValue(v)}`)
      return v.map((item, i) => readMessage(item, kind.msgs, `${path}[${i}]`, ctx))
    }
    // enum: a name or its number
    if (typeof v === 'string' && kind.enum.includes(v)) return v
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < kind.enum.length) return kind.enum[v]
    return fail(ctx, path, `${path} must be one of ${kind.enum.join(', ')}, got ${describeValue(v)}`)
  }
  switch (kind) {
    case 'string':
      if (typeof v !== 'string') fail(ctx, path, `${path} must be a string, got ${describeValue(v)}`)
      return v
    case 'bool':
      if (typeof v !== 'boolean') fail(ctx, path, `${path} must be true or false, got ${describeValue(v)}`)
      return v
    case 'int64':
      return readInt(v, path, ctx, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
    case 'uint64':
      return readInt(v, path, ctx, 0, Number.MAX_SAFE_INTEGER)
    case 'int32':
      return readInt(v, path, ctx, -2147483648, 2147483647)
    case 'float': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && v.trim() === v ? Number(v) : NaN
      if (!Number.isFinite(n)) fail(ctx, path, `${path} must be a number (e.g. 0.5), got ${describeValue(v)}`)
      return n
    }
    case 'strings':
      if (!Array.isArray(v)) fail(ctx, path, `${path} must be a list of strings, got ${describeValue(v)}`, path.endsWith('cmd') ? 'e.g. ["sh", "-c", "..."]' : undefined)
      return v.map((s, i) => {
        if (typeof s !== 'string') fail(ctx, `${path}[${i}]`, `${path}[${i}] must be a string, got ${describeValue(s)}`)
        return s
      })
    case 'int64s':
      if (!Array.isArray(v)) fail(ctx, path, `${path} must be a list of integers, got ${describeValue(v)}`)
      return v.map((s, i) => readInt(s, `${path}[${i}]`, ctx, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER))
    case 'stringMap': {
      if (!isObject(v)) fail(ctx, path, `${path} must be a map of strings, got ${describeValue(v)}`)
      const out: Record<string, string> = {}
      for (const [k, x] of Object.entries(v)) {
        if (typeof x === 'string') out[k] = x
        else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x)
        else fail(ctx, fieldPath(path, k), `${fieldPath(path, k)} must be a string, got ${describeValue(x)}`)
      }
      return out
    }
    case 'quantity':
      if (typeof v === 'number' && Number.isFinite(v)) return String(v)
      if (typeof v !== 'string') fail(ctx, path, `${path} must be a quantity string such as "512Mi", got ${describeValue(v)}`)
      return v
    case 'timestamp':
      if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) || Number.isNaN(Date.parse(v))) {
        fail(ctx, path, `${path} must be an RFC 3339 time such as "2024-05-01T10:00:00Z", got ${describeValue(v)}`)
      }
      return v
    case 'input':
      return readMessage(v, INPUT, path, ctx)
    case 'inputs':
      if (!Array.isArray(v)) fail(ctx, path, `${path} must be a list of inputs, got ${describeValue(v)}`)
      if (path.split('[').length > MAX_INPUT_DEPTH) fail(ctx, path, `${path}: inputs are nested more than ${MAX_INPUT_DEPTH} levels deep`)
      return v.map((item, i) => readMessage(item, INPUT, `${path}[${i}]`, ctx))
  }
}
