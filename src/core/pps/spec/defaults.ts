/**
 * Pipeline defaults (pachctl `create/update/inspect/delete defaults`; Pachyderm
 * ClusterDefaults and ProjectDefaults): a document `{"create_pipeline_request": {...}}` whose
 * fields fill what a pipeline spec leaves out. Cluster defaults apply to every project of the
 * .pach, project defaults to one project.
 *
 * Merging is Pachyderm's (server/pps/server/defaults.go makeEffectiveSpec): an RFC 7396 merge
 * patch, built-in defaults ⊕ cluster ⊕ project ⊕ the user's spec, each layer read to
 * canonical snake_case first (so `datumTries` in one layer meets `datum_tries` in another).
 * In a patch an object merges key by key, anything else (a list, a scalar) replaces, and
 * `null` deletes what the layers below set. The built-in defaults are normalise.ts's.
 *
 * Invariants:
 * - the stored document is the one the user wrote (as JSON); it is read again, against the
 *   spec schema, wherever it is used. A document that does not read is INVALID_SPEC, with
 *   every problem, and is never stored.
 * - pure: storage and regenerating pipelines are the pipeline service's.
 */
import {attempt, contextFor, fail, isObject, throwProblems, type JsonObject} from './context.js'
import {DEFAULTS, readMessage} from './schema.js'
import {topLevelValues} from './text.js'

/** The values a defaults file holds (one JSON or YAML document). @throws INVALID_SPEC */
export function parseDefaults(text: string, file: string): JsonObject {
  const values = topLevelValues(text, file)
  const ctx = contextFor(file, undefined)
  ctx.keepNull = true
  let out: JsonObject = {}
  attempt(() => {
    if (values.length !== 1 || !isObject(values[0]!.value)) {
      fail(ctx, '', 'defaults must be one object such as {"create_pipeline_request": {"datum_tries": 5}}')
    }
    readMessage(values[0]!.value, DEFAULTS, '', ctx) // checks every field
    out = values[0]!.value as JsonObject
  })
  throwProblems(ctx)
  return out
}

/** The create_pipeline_request of stored defaults, read to canonical snake_case (nulls kept: they delete). */
function requestOf(doc: JsonObject | undefined, file: string): JsonObject {
  if (doc === undefined) return {}
  const ctx = contextFor(file, undefined)
  ctx.keepNull = true
  const read = readMessage(doc, DEFAULTS, '', ctx)
  throwProblems(ctx)
  return isObject(read.create_pipeline_request) ? read.create_pipeline_request : {}
}

/** RFC 7396: `patch` applied to `target` (neither is changed). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch
  const out: JsonObject = isObject(target) ? {...target} : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

/** A value with every null removed (after merging, a null inside a list still means "unset"). */
export function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls)
  if (!isObject(v)) return v
  const out: JsonObject = {}
  for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = withoutNulls(x)
  return out
}

/**
 * The effective defaults for a project: cluster ⊕ project, as one canonical
 * create_pipeline_request (a null in the project layer deletes the cluster's value), or
 * undefined when neither is set.
 */
export function effectiveDefaults(cluster: JsonObject | undefined, project: JsonObject | undefined): JsonObject | undefined {
  if (cluster === undefined && project === undefined) return undefined
  const merged = mergePatch(requestOf(cluster, 'cluster defaults'), requestOf(project, 'project defaults'))
  return withoutNulls(merged) as JsonObject
}
