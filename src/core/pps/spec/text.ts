/**
 * Spec file text -> the top-level values it holds, before any spec rule applies.
 *
 * A file is JSON (one object, an array of objects, or a stream of concatenated values) or
 * YAML (one or more documents, each an object or a list of objects). Text whose first
 * character (after a byte-order mark and whitespace) is "{" or "[" is read as JSON first and
 * as YAML if that fails; any other text is YAML. The items of a top-level array become
 * separate values; null (empty) documents are skipped. Each value carries where it came from
 * ("document 2", "element 3 of document 1") for messages about values that are not objects.
 *
 * Text that is neither is an INVALID_SPEC error: the JSON error with its line and column, or
 * the YAML parser's first error. The yaml package is loaded on first use only (it is ~80
 * modules; cold start matters).
 */
import {createRequire} from 'node:module'
import {InvalidArgumentError, printable} from '../../errors.js'

/** yaml is loaded only when a YAML spec is parsed (it is ~80 modules; cold start matters). */
function parseAllDocuments(text: string): ReturnType<typeof import('yaml').parseAllDocuments> {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml')
  return yaml.parseAllDocuments(text)
}

export interface Located {
  value: unknown
  /** "document 2" / "element 3 of document 1": for messages about values that are not objects */
  where: string
}

/** "line L, column C" (1-based) of an offset in the text. */
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

/** The documents of a YAML stream as plain values, or the first error message. */
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

/** The top-level values of a spec file, in order; throws INVALID_SPEC when the text is neither JSON nor YAML. */
export function topLevelValues(text: string, file: string): Located[] {
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
