/**
 * Reading pipeline spec files for create/update/edit pipeline and list datum -f (the CLI
 * edge: files, stdin, URLs), then parsing and statically validating them with parseSpecs —
 * the one parser: each spec comes back with the document the user wrote (stored as
 * user_spec_json). Parse warnings go to stderr as they are found.
 *
 * Also the CLI's words about specs: the notice for fields with no local effect
 * (noticeClusterOnly: one line per field, naming the pipelines) and the text of an effective
 * spec that `--dry-run` prints (specText, after pachctl's PrintCreatePipelineRequest).
 */
import {readFileSync} from 'node:fs'
import {InvalidArgumentError, NotFoundError} from '../core/errors.js'
import {clusterOnlyFieldsIn, parseSpecs, type PipelineSpec} from '../core/pps/spec/index.js'
import type {Reporter} from '../core/reporter.js'

export interface SpecFromFile {
  spec: PipelineSpec
  /** the file as messages name it ("<stdin>" for -) */
  file: string
  /** the spec as the user wrote it, as JSON */
  user: string
}

/** Read and parse every spec of `files` (a path, an http(s) URL, or - for stdin), each merged into `defaults(its project)`. Throws INVALID_SPEC, MISSING_SPEC, FETCH_FAILED, LOCAL_FILE_NOT_FOUND. */
export async function readSpecs(files: string[], project: string, reporter: Reporter, defaults?: (project: string) => Record<string, unknown> | undefined): Promise<SpecFromFile[]> {
  if (files.length === 0) throw new InvalidArgumentError('MISSING_SPEC', 'no pipeline spec given', {hint: 'pass -f spec.json (or -f - for stdin)'})
  const out: SpecFromFile[] = []
  const invalid: InvalidArgumentError[] = []
  for (const file of files) {
    const text = await readSpecText(file)
    const name = file === '-' ? '<stdin>' : file
    let parsed: ReturnType<typeof parseSpecs>
    try {
      parsed = parseSpecs(text, name, project, defaults)
    } catch (e) {
      // every file's problems, not just the first file's
      if (e instanceof InvalidArgumentError && e.code === 'INVALID_SPEC') {
        invalid.push(e)
        continue
      }
      throw e
    }
    for (const w of parsed.warnings) reporter.warn(w)
    parsed.specs.forEach((spec, i) => out.push({spec, file: name, user: JSON.stringify(parsed.userSpecs[i])}))
  }
  if (invalid.length > 1) throw allProblems(invalid)
  if (invalid[0]) throw invalid[0]
  return out
}

/** One INVALID_SPEC error listing the problems of several files (each file's error lists its own in data.errors). */
function allProblems(errors: InvalidArgumentError[]): InvalidArgumentError {
  const problems = errors.flatMap((e) => (Array.isArray(e.data.errors) ? (e.data.errors as {message: string}[]) : [{message: e.message, field: e.data.field, hint: e.hint}]))
  const first = errors[0]!
  const more = problems.length - 1
  const head = (problems[0] as {message: string}).message
  return new InvalidArgumentError('INVALID_SPEC', `${head} (and ${more} more error${more === 1 ? '' : 's'})`, {hint: first.hint, data: {...first.data, errors: problems}})
}

/** The text of a spec (or defaults) file: a path, an http(s) URL, or - for stdin. Throws FETCH_FAILED, LOCAL_FILE_NOT_FOUND. */
export async function readSpecText(file: string): Promise<string> {
  if (file === '-') {
    // as pachctl: say why nothing happens when stdin is a terminal
    if (process.stdin.isTTY) process.stderr.write('Reading from stdin (end with Ctrl-D).\n')
    return readFileSync(0, 'utf8')
  }
  if (/^https?:\/\//.test(file)) {
    const res = await fetch(file).catch((e: Error) => {
      throw new InvalidArgumentError('FETCH_FAILED', `cannot fetch ${file}: ${e.message}`)
    })
    if (!res.ok) throw new InvalidArgumentError('FETCH_FAILED', `cannot fetch ${file}: HTTP ${res.status}`)
    return res.text()
  }
  try {
    return readFileSync(file, 'utf8')
  } catch {
    throw new NotFoundError('LOCAL_FILE_NOT_FOUND', `spec file ${file} does not exist or cannot be read`)
  }
}

/**
 * One notice per cluster-only field the specs set (spec/types.ts CLUSTER_ONLY_FIELDS), naming
 * the pipelines that set it: the field is kept and shown, and only a cluster acts on it.
 */
export function noticeClusterOnly(specs: PipelineSpec[], reporter: Reporter): void {
  const byField = new Map<string, string[]>()
  for (const spec of specs) {
    for (const f of clusterOnlyFieldsIn(spec)) byField.set(f, [...(byField.get(f) ?? []), spec.pipeline.name])
  }
  for (const [field, names] of byField) {
    const who = names.length === 1 ? `pipeline "${names[0]}"` : `pipelines ${names.map((n) => `"${n}"`).join(', ')}`
    reporter.info(`notice: ${who}: ${field} has no effect when pach runs the pipeline (it is kept in the spec for a Pachyderm cluster)`)
  }
}

/** An effective spec as `create/update pipeline --dry-run` shows it (pachctl's PrintCreatePipelineRequest, readable values). */
export function specText(spec: PipelineSpec): string {
  const limits = spec.resource_limits
  const requests = spec.resource_requests
  const lines = [
    `Name: ${spec.pipeline.name}`,
    ...(spec.pipeline.project.name !== 'default' ? [`Project: ${spec.pipeline.project.name}`] : []),
    ...(spec.description ? [`Description: ${spec.description}`] : []),
    `Parallelism Spec: constant:${spec.parallelism_spec.constant}`,
    ...(requests ? ['ResourceRequests:', `  CPU: ${requests.cpu ?? ''}`, `  Memory: ${requests.memory ?? ''}`] : []),
    ...(limits ? ['ResourceLimits:', `  CPU: ${limits.cpu ?? ''}`, `  Memory: ${limits.memory ?? ''}`, ...(limits.gpu ? ['  GPU:', `    Type: ${limits.gpu.type}`, `    Number: ${limits.gpu.number}`] : [])] : []),
    `Datum Timeout: ${spec.datum_timeout ?? 'none'}`,
    `Job Timeout: ${spec.job_timeout ?? 'none'}`,
    `Input: ${indentJson(compact(spec.input))}`,
    `Output Branch: ${spec.output_branch}`,
    `Transform: ${indentJson(compact(spec.transform))}`,
  ]
  return lines.join('\n')
}

/** A value without its empty fields ("", false, [], {}), as Go's encoding/json omits them in pachctl's text. */
function compact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(compact)
  if (v === null || typeof v !== 'object') return v
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    const c = compact(x)
    if (c === '' || c === false || c === undefined || (Array.isArray(c) && c.length === 0) || (typeof c === 'object' && c !== null && !Array.isArray(c) && Object.keys(c).length === 0)) continue
    out[k] = c
  }
  return out
}

function indentJson(v: unknown): string {
  return JSON.stringify(v ?? null, null, 2)
}
