/**
 * Where a spec stage is while it reads a spec file, for its messages: every error and
 * warning of pps/spec/ goes through here, so they all have one shape.
 *
 * Every problem is reported, not just the first: `fail` records a problem on the context and
 * abandons only the check it is in (by throwing a private sentinel that `attempt` catches);
 * the stage entry points wrap each independent check (one field, one input node) in
 * `attempt`, so the next check still runs. A problem on a field hides later problems on the
 * same field, on fields inside it and on fields it is inside (a `transform` that is not an
 * object says nothing more about `transform.cmd`; a `transform.cmd[0]` that is not a string
 * drops `cmd`, which must not then be reported missing). At the end `throwProblems` turns
 * them into one error.
 *
 * Invariants:
 * - every error is an InvalidArgumentError with code INVALID_SPEC whose one-line message
 *   starts with the file and, when known, the pipeline (`spec.json: pipeline "edges": `, or
 *   `spec.json: spec #2: ` for a nameless spec in a file of several) and names the field
 *   path; `data` carries {file, field, pipeline} of the first problem and `errors`, every
 *   problem ({message, field, pipeline?, hint?}), each message one line of the same form.
 *   With several problems the message is the first one's plus "(and N more errors)".
 * - the sentinel never leaves pps/spec/: every entry point runs its checks under `attempt`.
 * - field paths are dotted (`transform.cmd`, `input.cross[1].pfs.glob`); a key from the file
 *   that is not a plain name is JSON-quoted, so it cannot break the one-line message.
 * - the core never prints: warnings are pushed onto the context's list, which parseSpecs
 *   returns.
 */
import {InvalidArgumentError} from '../../errors.js'

/** A JSON object as read from a spec file (or a message of it), before any typing. */
export type JsonObject = Record<string, unknown>

/** One problem found in a spec file: a one-line message (file and pipeline included), the field it is about. */
export interface SpecProblem {
  message: string
  field: string
  pipeline?: string
  hint?: string
}

/** Where messages come from: the file, the spec in it, and the lists that collect warnings and problems. */
export interface SpecContext {
  file: string
  /** `pipeline "x"`, `spec #2`, or "" (see specLabel) */
  who: string
  pipeline?: string
  warnings: string[]
  /** shared by the specs of one file */
  problems: SpecProblem[]
  /** the fields of this spec with a problem, to hide later problems on the same, an inner or an outer field */
  failed: Set<string>
  /** keep `null` fields (as null) when reading: they delete a default in a merge (defaults.ts) */
  keepNull?: boolean
}

/** Thrown by fail to abandon the current check; caught by attempt. Never leaves pps/spec/. */
class Abandon extends Error {}
const ABANDON = new Abandon('spec check abandoned')

/** Is `field` the same as, or inside, `outer` (`input.pfs.glob` is inside `input.pfs` and `input`; everything is inside "")? */
function within(field: string, outer: string): boolean {
  return outer === '' || field === outer || field.startsWith(outer + '.') || field.startsWith(outer + '[')
}

/** "file: " or "file: pipeline \"x\": ", the start of every message. */
function messagePrefix(ctx: SpecContext): string {
  return ctx.who === '' ? `${ctx.file}: ` : `${ctx.file}: ${ctx.who}: `
}

/**
 * Record a problem with `field` (its dotted path; "" for the whole spec) and abandon the
 * current check (see attempt). A problem on a field that has one already, or is inside or
 * around one that has, is not recorded.
 */
export function fail(ctx: SpecContext, field: string, message: string, hint?: string): never {
  if (![...ctx.failed].some((other) => within(field, other) || within(other, field))) {
    ctx.failed.add(field)
    ctx.problems.push({message: messagePrefix(ctx) + message, field, ...(ctx.pipeline ? {pipeline: ctx.pipeline} : {}), ...(hint ? {hint} : {})})
  }
  throw ABANDON
}

/** Record a problem (as fail) and go on: for a problem after which the check can continue. */
export function report(ctx: SpecContext, field: string, message: string, hint?: string): void {
  attempt(() => fail(ctx, field, message, hint))
}

/** Run one check; a `fail` inside it ends that check only (the problem is recorded). Other errors pass through. */
export function attempt(check: () => void): void {
  try {
    check()
  } catch (e) {
    if (e !== ABANDON) throw e
  }
}

/** The one INVALID_SPEC error for a file's problems (see the header), or undefined when there are none. */
export function problemsError(file: string, problems: SpecProblem[]): InvalidArgumentError | undefined {
  const first = problems[0]
  if (first === undefined) return undefined
  const more = problems.length - 1
  return new InvalidArgumentError('INVALID_SPEC', first.message + (more > 0 ? ` (and ${more} more error${more === 1 ? '' : 's'})` : ''), {
    hint: first.hint,
    data: {file, field: first.field, ...(first.pipeline ? {pipeline: first.pipeline} : {}), errors: problems},
  })
}

/** Throw the file's problems as one error, if it has any. */
export function throwProblems(ctx: SpecContext): void {
  const e = problemsError(ctx.file, ctx.problems)
  if (e) throw e
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

/**
 * The context for spec `index` (of `count`) of `file`, named `name` when it has one. Contexts
 * of the specs of one file share `warnings` and `problems` (pass the first one's `problems`).
 */
export function contextFor(file: string, name: string | undefined, warnings: string[] = [], index = 0, count = 1, problems: SpecProblem[] = []): SpecContext {
  return {file, who: specLabel(name, index, count), pipeline: name || undefined, warnings, problems, failed: new Set()}
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
