/**
 * AWS Signature Version 4 for S3 (pure): the canonical request, the string to sign, the
 * signing key, and the per-chunk and trailer signatures of aws-chunked bodies.
 *
 * Rules (AWS's, as the SDKs sign):
 * - canonical URI: the decoded path, each byte outside A-Za-z0-9-._~ and "/" percent-encoded
 *   (S3 signs the path as sent: no normalisation, no double encoding);
 * - canonical query: every parameter (the signature itself excluded for presigned URLs),
 *   name and value decoded then re-encoded the same way ("+" in a raw query is a space), sorted
 *   by name then value; a flag without "=" has an empty value;
 * - canonical headers: the signed ones, lower-cased names, values trimmed with inner runs of
 *   spaces collapsed, in the order of SignedHeaders;
 * - the payload hash is the literal `x-amz-content-sha256` (`UNSIGNED-PAYLOAD`,
 *   `STREAMING-…` or a hex SHA-256); presigned URLs sign `UNSIGNED-PAYLOAD`.
 * The region is whatever the credential scope says: it is never checked (as Pachyderm).
 */
import {createHash, createHmac, timingSafeEqual} from 'node:crypto'
import {s3err} from './errors.js'

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

export interface Credential {
  accessKey: string
  /** yyyymmdd */
  date: string
  region: string
  service: string
}

export interface AuthHeader {
  credential: Credential
  signedHeaders: string[]
  signature: string
}

const AUTH_RE = /^AWS4-HMAC-SHA256 +Credential=([^/,]*)\/(\d{8})\/([^/]*)\/([^/]*)\/aws4_request, *SignedHeaders=([^, ]+), *Signature=([0-9a-f]{64})$/

/** Parse an `Authorization: AWS4-HMAC-SHA256 …` header; 400 AuthorizationHeaderMalformed when it is not one. */
export function parseAuthHeader(h: string): AuthHeader {
  const m = AUTH_RE.exec(h.trim())
  if (!m) throw s3err(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; expected AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…')
  return {
    credential: {accessKey: m[1]!, date: m[2]!, region: m[3]!, service: m[4]!},
    signedHeaders: m[5]!.split(';'),
    signature: m[6]!,
  }
}

/** Parse `X-Amz-Credential` (key/date/region/service/aws4_request). */
export function parseCredential(s: string): Credential {
  const parts = s.split('/')
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1]!)) {
    throw s3err(400, 'AuthorizationQueryParametersError', 'X-Amz-Credential must be <key>/<yyyymmdd>/<region>/<service>/aws4_request')
  }
  return {accessKey: parts[0]!, date: parts[1]!, region: parts[2]!, service: parts[3]!}
}

const PLAIN = /^[A-Za-z0-9\-_.~]*$/
const PLAIN_PATH = /^[A-Za-z0-9\-_.~/]*$/

/** AWS's URI encoding: unreserved characters stay, everything else is %XX of its UTF-8 bytes. */
export function awsEncode(s: string, keepSlash: boolean): string {
  if ((keepSlash ? PLAIN_PATH : PLAIN).test(s)) return s
  let out = ''
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b)
    if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || c === '-' || c === '_' || c === '.' || c === '~' || (keepSlash && c === '/')) out += c
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

/** Percent-decode; a malformed escape → 400 InvalidURI. */
export function decodeComponent(s: string, plusIsSpace: boolean): string {
  try {
    return decodeURIComponent(plusIsSpace ? s.replace(/\+/g, ' ') : s)
  } catch {
    throw s3err(400, 'InvalidURI', `Couldn't parse the specified URI: malformed percent-encoding in ${JSON.stringify(s.slice(0, 80))}`)
  }
}

/** The raw query string as decoded [name, value] pairs, in order. */
export function parseQuery(raw: string): [string, string][] {
  if (!raw) return []
  return raw
    .split('&')
    .filter((p) => p.length > 0)
    .map((p) => {
      const eq = p.indexOf('=')
      return eq < 0 ? [decodeComponent(p, true), ''] : [decodeComponent(p.slice(0, eq), true), decodeComponent(p.slice(eq + 1), true)]
    })
}

export interface CanonicalInput {
  method: string
  /** the decoded path, e.g. "/bucket/a b.txt" */
  path: string
  query: [string, string][]
  /** lower-cased header name → value (joined with "," when repeated) */
  headers: Record<string, string | undefined>
  signedHeaders: string[]
  payloadHash: string
}

export function canonicalRequest(i: CanonicalInput): string {
  const q = i.query
    .map(([k, v]) => [awsEncode(k, false), awsEncode(v, false)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
  const hdrs = i.signedHeaders.map((h) => `${h}:${(i.headers[h] ?? '').trim().replace(/ +/g, ' ')}\n`).join('')
  return [i.method, awsEncode(i.path, true), q, hdrs, i.signedHeaders.join(';'), i.payloadHash].join('\n')
}

export const sha256hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex')
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest()

export function scopeOf(c: Credential): string {
  return `${c.date}/${c.region}/${c.service}/aws4_request`
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256hex(canonical)}`
}

export function signingKey(secret: string, c: Credential): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, c.date), c.region), c.service), 'aws4_request')
}

const KEYS_MAX = 1024
const keys = new Map<string, Buffer>()

/**
 * signingKey, remembered: the key is a function of the secret and the scope (one day), so a
 * client's requests of one day share it (four HMACs saved per request). Bounded: cleared when full.
 */
export function cachedSigningKey(secret: string, c: Credential): Buffer {
  const k = `${c.date}/${c.region}/${c.service}/${secret}`
  let key = keys.get(k)
  if (!key) {
    if (keys.size >= KEYS_MAX) keys.clear()
    keys.set(k, (key = signingKey(secret, c)))
  }
  return key
}

export function sign(key: Buffer, toSign: string): string {
  return createHmac('sha256', key).update(toSign).digest('hex')
}

/** The signature of one aws-chunked chunk, chained from the previous one (the seed: the request's). */
export function chunkSignature(key: Buffer, amzDate: string, scope: string, previous: string, chunkSha256: string): string {
  return sign(key, `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previous}\n${EMPTY_SHA256}\n${chunkSha256}`)
}

/** The signature of an aws-chunked body's trailer (`name:value\n` lines as sent, names lower-cased). */
export function trailerSignature(key: Buffer, amzDate: string, scope: string, previous: string, trailerText: string): string {
  return sign(key, `AWS4-HMAC-SHA256-TRAILER\n${amzDate}\n${scope}\n${previous}\n${sha256hex(trailerText)}`)
}

/** Constant-time comparison of two hex signatures. */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Parse `20060102T150405Z` (x-amz-date), else an HTTP date; undefined when neither. */
export function parseAmzDate(s: string | undefined): Date | undefined {
  if (!s) return undefined
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s)
  if (m) return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!))
  const t = Date.parse(s)
  return Number.isNaN(t) ? undefined : new Date(t)
}
