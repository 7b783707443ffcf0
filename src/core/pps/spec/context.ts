/**
 * Where a spec stage is while it reads a spec file, for its messages: every error and
 * warning of pps/spec/ goes through here, so they all have one shape.
 *
 * Invariants:
 * - every error is an InvalidArgumentError with code INVALID_SPEC whose one-line message
 *   starts with the file and, when known, the pipeline (`spec.json: pipeline "edges": `, or
 *   `spec.json: spec #2: ` for a nameless spec in a file of several) and names the field
 *   path; `data` carries {file, field, pipeline}.
 * - field paths are dotted (`transform.cmd`, `input.cross[1].pfs.glob`); a key from the file
 *   that is not a plain name is JSON-quoted, so it cannot break the one-line message.
 * - the core never prints: warnings are pushed onto the context's list, which parseSpecs
 *   returns.
 */
import {InvalidArgumentError} from '../../errors.js'

/** A JSON object as read from a spec file (or a message of it), before any typing. */
export type JsonObject = Record<string, unknown>

/** Where messages come from: the file, the spec in it, and the list that collects warnings. */
export interface SpecContext {
  file: string
  /** `pipeline "x"`, `spec #2`, or "" (see specLabel) */
  who: string
  pipeline?: string
  warnings: string[]
}

/** "file: " or "file: pipeline \"x\": ", the start of every message. */
function messagePrefix(ctx: SpecContext): string {
  return ctx.who === '' ? `${ctx.file}: ` : `${ctx.file}: ${ctx.who}: `
}

/** Throw the INVALID_SPEC error for `field` (its dotted path; "" for the whole spec). */
export function fail(ctx: SpecContext, field: string, message: string, hint?: string): never {
  throw new InvalidArgumentError('INVALID_SPEC', messagePrefix(ctx) + message, {
    hint,
    data: {file: ctx.file, field, ...(ctx.pipeline ? {pipeline: ctx.pipeline} : {})},
  })
}

/** Record a warning (parseSpecs returns them; the core never prints). */
export function warn(ctx: SpecContext, message: string): void {
  ctx.warnings.push(messagePrefix(ctx) + message)
}

/** How messages name a spec: by its pipeline name, else by its position when the file holds several. */
function specLabel(name: string | undefined, index: number, count: number): string {
  if (name) return `pipeline ${JSON.stringify(name)}`
  return count > 1 ? `spec #${index + 1}` : ''
}

/** The context for spec `index` (of `count`) of `file`, named `name` when it has one. */
export function contextFor(file: string, name: string | undefined, warnings: string[] = [], index = 0, count = 1): SpecContext {
  return {file, who: specLabel(name, index, count), pipeline: name || undefined, warnings}
}

/** A value as messages show it: its kind, and for scalars the value (long strings cut at 40 characters). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'an object'
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 37) + '...' : v)}`
  return `${typeof v} ${String(v)}`
}

/** A JSON object (not null, not an array). */
export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** `path.key`; a key from the file that is not a plain name is quoted, so it cannot break the one-line message. */
export function fieldPath(path: string, key: string): string {
  const k = /^[\w$-]+$/.test(key) ? key : JSON.stringify(key)
  return path === '' ? k : `${path}.${k}`
}
