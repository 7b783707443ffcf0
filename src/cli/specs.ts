/**
 * Reading pipeline spec files for create/update pipeline and list datum -f (the CLI edge:
 * files, stdin, URLs), then parsing and statically validating them with parseSpecs — the one
 * parser: each spec comes back with the document the user wrote (stored as user_spec_json).
 */
import {readFileSync} from 'node:fs'
import {InvalidArgumentError, NotFoundError} from '../core/errors.js'
import {parseSpecs, type PipelineSpec} from '../core/pps/spec/index.js'
import type {Reporter} from '../core/reporter.js'

export interface SpecFromFile {
  spec: PipelineSpec
  /** the file as messages name it ("<stdin>" for -) */
  file: string
  /** the spec as the user wrote it, as JSON */
  user: string
}

export async function readSpecs(files: string[], project: string, reporter: Reporter): Promise<SpecFromFile[]> {
  if (files.length === 0) throw new InvalidArgumentError('MISSING_SPEC', 'no pipeline spec given', {hint: 'pass -f spec.json (or -f - for stdin)'})
  const out: SpecFromFile[] = []
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
    parsed.specs.forEach((spec, i) => out.push({spec, file: name, user: JSON.stringify(parsed.userSpecs[i])}))
  }
  return out
}
