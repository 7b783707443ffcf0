/**
 * Reading pipeline spec files for create/update pipeline and list datum -f (the CLI edge:
 * files, stdin, URLs), then parsing and statically validating them.
 */
import {readFileSync} from 'node:fs'
import {InvalidArgumentError, NotFoundError} from '../core/errors.js'
import {parseSpecs, validateSpec, type PipelineSpec} from '../core/pps/spec/index.js'
import type {Reporter} from '../core/reporter.js'

/** The specs of a file as the user wrote them (for user_spec_json); undefined when unclear. */
async function rawDocs(text: string): Promise<unknown[] | undefined> {
  try {
    const v = JSON.parse(text) as unknown
    return Array.isArray(v) ? v : [v]
  } catch {
    // concatenated JSON objects or YAML documents
  }
  try {
    const YAML = await import('yaml')
    const docs = YAML.parseAllDocuments(text)
    const out: unknown[] = []
    for (const d of docs as {toJSON(): unknown}[]) {
      const v = d.toJSON()
      if (Array.isArray(v)) out.push(...v)
      else if (v !== null && v !== undefined) out.push(v)
    }
    return out
  } catch {
    return undefined
  }
}

export async function readSpecs(files: string[], project: string, reporter: Reporter): Promise<{spec: PipelineSpec; file: string; text: string; user?: string}[]> {
  if (files.length === 0) throw new InvalidArgumentError('MISSING_SPEC', 'no pipeline spec given', {hint: 'pass -f spec.json (or -f - for stdin)'})
  const out: {spec: PipelineSpec; file: string; text: string; user?: string}[] = []
  for (const file of files) {
    let text: string
    if (file === '-') text = readFileSync(0, 'utf8')
    else if (/^https?:\/\//.test(file)) {
      const res = await fetch(file).catch((e: Error) => {
        throw new InvalidArgumentError('FETCH_FAILED', `cannot fetch ${file}: ${e.message}`)
      })
      if (!res.ok) throw new InvalidArgumentError('FETCH_FAILED', `cannot fetch ${file}: HTTP ${res.status}`)
      text = await res.text()
    } else {
      try {
        text = readFileSync(file, 'utf8')
      } catch {
        throw new NotFoundError('LOCAL_FILE_NOT_FOUND', `spec file ${file} does not exist or cannot be read`)
      }
    }
    const name = file === '-' ? '<stdin>' : file
    const parsed = parseSpecs(text, name, project)
    for (const w of parsed.warnings) reporter.warn(w)
    const raw = await rawDocs(text)
    parsed.specs.forEach((spec, i) => {
      validateSpec(spec, name)
      const user = raw && raw.length === parsed.specs.length ? JSON.stringify(raw[i]) : undefined
      out.push({spec, file: name, text, user})
    })
  }
  return out
}
