/**
 * XML for the S3 wire: request bodies parsed with fast-xml-parser (namespace-agnostic, entities
 * decoded, `Part`/`Object` always arrays), responses built by tiny escaping templates.
 */
import {XMLParser, XMLValidator} from 'fast-xml-parser'
import {s3err} from './errors.js'

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'
export const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'

/** Escape text for an XML element or attribute. */
export function esc(s: string | number | boolean): string {
  // XML 1.0 cannot carry most control characters at all: they are written as U+FFFD
  // eslint-disable-next-line no-control-regex
  return String(s).replace(/[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : c === "'" ? '&apos;' : '\ufffd',
  )
}

/** `<name>value</name>`, escaped; nothing for undefined. */
export function el(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : `<${name}>${esc(value)}</${name}>`
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  // numeric character references too: Go clients (rclone) write ETag quotes as &#34;
  htmlEntities: true,
  isArray: (name) => name === 'Part' || name === 'Object',
})

/**
 * Parse a request body: the root element's content as a plain object. Not well-formed, or
 * a different root → 400 MalformedXML.
 */
export function parseBody(text: string, root: string): Record<string, unknown> {
  if (!text.trim() || XMLValidator.validate(text) !== true) throw s3err(400, 'MalformedXML')
  let doc: Record<string, unknown>
  try {
    doc = parser.parse(text) as Record<string, unknown>
  } catch {
    throw s3err(400, 'MalformedXML')
  }
  const top = doc[root]
  if (top === undefined) throw s3err(400, 'MalformedXML')
  return top === '' ? {} : (top as Record<string, unknown>)
}
