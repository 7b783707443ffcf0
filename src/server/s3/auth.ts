/**
 * Who may call the gateway (Pachyderm's rule, auth.go, with pach's token in place of
 * Pachyderm's auth tokens):
 * - no token configured: any signed request (SigV4 or SigV2, in the Authorization header or
 *   presigned in the query) whose access key and secret are equal and non-empty, its signature
 *   verified with secret = access key (so a mismatched pair is 403 SignatureDoesNotMatch), and
 *   a presigned URL's expiry checked; anonymous requests pass;
 * - a token configured: the access key and the secret must both be the token (403
 *   InvalidAccessKeyId otherwise), in the Authorization header; anonymous requests and
 *   presigned URLs are 403 AccessDenied.
 * `fixed` (a job's sidecar) replaces the rule with one key pair: that pair only.
 * The signed time must be within 15 minutes of the server's (403 RequestTimeTooSkewed).
 */
import type {IncomingMessage} from 'node:http'
import type {ChunkSigning} from './chunked.js'
import {s3err} from './errors.js'
import {createHmac} from 'node:crypto'
import {canonicalRequest, parseAmzDate, parseAuthHeader, parseCredential, sameSignature, scopeOf, sign, cachedSigningKey, stringToSign, type Credential} from './sigv4.js'

export interface AuthRule {
  /** pach serve's token: key and secret must be it */
  token?: string
  /** a single accepted key pair (a job's sidecar) */
  fixed?: {accessKey: string; secretKey: string}
}

export interface Authenticated {
  /** for aws-chunked signed bodies */
  signing?: ChunkSigning
  accessKey?: string
}

const MAX_SKEW_MS = 15 * 60 * 1000

export function authenticate(req: IncomingMessage, path: string, query: [string, string][], rule: AuthRule, now: number): Authenticated {
  const h = req.headers
  const authz = h.authorization
  const q = new Map(query)
  const secretFor = (key: string): string => {
    if (rule.fixed) {
      if (key !== rule.fixed.accessKey) throw s3err(403, 'InvalidAccessKeyId')
      return rule.fixed.secretKey
    }
    if (rule.token !== undefined) {
      if (key !== rule.token) throw s3err(403, 'InvalidAccessKeyId')
      return rule.token
    }
    if (!key) throw s3err(403, 'InvalidAccessKeyId', 'The access key is empty: use any non-empty access key, with the same value as its secret')
    return key
  }
  const closed = rule.token !== undefined || rule.fixed !== undefined
  const verify = (cred: Credential, amzDate: string, signedHeaders: string[], signature: string, payloadHash: string, q2: [string, string][]) => {
    const secret = secretFor(cred.accessKey)
    const canonical = canonicalRequest({method: req.method ?? 'GET', path, query: q2, headers: h as Record<string, string>, signedHeaders, payloadHash})
    const key = cachedSigningKey(secret, cred)
    const want = sign(key, stringToSign(amzDate, scopeOf(cred), canonical))
    if (!sameSignature(want, signature)) throw s3err(403, 'SignatureDoesNotMatch')
    return {key, want}
  }
  if (typeof authz === 'string' && authz.startsWith('AWS4-HMAC-SHA256')) {
    const a = parseAuthHeader(authz)
    const amzDate = String(h['x-amz-date'] ?? h.date ?? '')
    const t = parseAmzDate(amzDate)
    if (!t) throw s3err(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header')
    if (Math.abs(t.getTime() - now) > MAX_SKEW_MS) throw s3err(403, 'RequestTimeTooSkewed')
    if (!a.signedHeaders.includes('host')) throw s3err(400, 'AuthorizationHeaderMalformed', 'SignedHeaders must include host')
    const payload = String(h['x-amz-content-sha256'] ?? 'UNSIGNED-PAYLOAD')
    const {key, want} = verify(a.credential, amzDate, a.signedHeaders, a.signature, payload, query)
    return {accessKey: a.credential.accessKey, signing: {key, amzDate, scope: scopeOf(a.credential), seed: want}}
  }
  if (q.get('X-Amz-Algorithm') !== undefined) {
    if (closed) throw s3err(403, 'AccessDenied', 'presigned URLs are refused while pach serve has a token; sign requests with the token as access key and secret')
    if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw s3err(400, 'AuthorizationQueryParametersError', 'X-Amz-Algorithm must be AWS4-HMAC-SHA256')
    const cred = parseCredential(q.get('X-Amz-Credential') ?? '')
    const amzDate = q.get('X-Amz-Date') ?? ''
    const t = parseAmzDate(amzDate)
    const expires = Number(q.get('X-Amz-Expires') ?? 'NaN')
    const signature = q.get('X-Amz-Signature') ?? ''
    const signed = (q.get('X-Amz-SignedHeaders') ?? '').split(';').filter(Boolean)
    if (!t || !/^\d{8}T\d{6}Z$/.test(amzDate) || !Number.isInteger(expires) || expires < 1 || expires > 604800 || !/^[0-9a-f]{64}$/.test(signature) || !signed.includes('host')) {
      throw s3err(400, 'AuthorizationQueryParametersError', 'presigned URL: X-Amz-Date, X-Amz-Expires (1..604800), X-Amz-SignedHeaders (with host) and X-Amz-Signature are required')
    }
    if (t.getTime() - now > MAX_SKEW_MS) throw s3err(403, 'RequestTimeTooSkewed')
    if (now > t.getTime() + expires * 1000) throw s3err(403, 'AccessDenied', 'Request has expired')
    const rest = query.filter(([k]) => k !== 'X-Amz-Signature')
    verify(cred, amzDate, signed, signature, q.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD', rest)
    return {accessKey: cred.accessKey}
  }
  const v2 = typeof authz === 'string' && authz.startsWith('AWS ')
  if (v2) {
    const m = /^AWS ([^:\s]+):(\S+)$/.exec(authz.trim())
    if (!m) throw s3err(400, 'InvalidArgument', 'AWS authorization header is invalid. Expected AwsAccessKeyId:signature')
    const date = String(h['x-amz-date'] ?? h.date ?? '')
    const t = parseAmzDate(date)
    if (!t) throw s3err(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header')
    if (Math.abs(t.getTime() - now) > MAX_SKEW_MS) throw s3err(403, 'RequestTimeTooSkewed')
    const secret = secretFor(m[1]!)
    if (!signedV2(secret, req, h['x-amz-date'] !== undefined ? '' : String(h.date ?? ''), m[2]!)) throw s3err(403, 'SignatureDoesNotMatch')
    return {accessKey: m[1]}
  }
  if (q.get('AWSAccessKeyId') !== undefined && q.get('Signature') !== undefined) {
    if (closed) throw s3err(403, 'AccessDenied', 'presigned URLs are refused while pach serve has a token; sign requests with the token as access key and secret')
    const expires = Number(q.get('Expires') ?? 'NaN')
    if (!Number.isInteger(expires)) throw s3err(403, 'AccessDenied', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters')
    if (now > expires * 1000) throw s3err(403, 'AccessDenied', 'Request has expired')
    if (!signedV2(secretFor(q.get('AWSAccessKeyId')!), req, String(expires), q.get('Signature')!)) throw s3err(403, 'SignatureDoesNotMatch')
    return {accessKey: q.get('AWSAccessKeyId')}
  }
  if (closed) throw s3err(403, 'AccessDenied', rule.token !== undefined ? 'sign requests (SigV4) with the token of pach serve as access key and secret' : 'sign requests (SigV4) with the access key and secret in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY')
  if (typeof authz === 'string' && authz.length > 0) throw s3err(400, 'InvalidArgument', 'unsupported Authorization header: use AWS4-HMAC-SHA256')
  return {}
}

/** The sub-resources SigV2 signs (with their values), in the canonical resource. */
const V2_SUBRESOURCES = new Set(['acl', 'cors', 'delete', 'lifecycle', 'location', 'logging', 'notification', 'partNumber', 'policy', 'requestPayment', 'restore', 'tagging', 'torrent', 'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'website', 'response-cache-control', 'response-content-disposition', 'response-content-encoding', 'response-content-language', 'response-content-type', 'response-expires'])

/**
 * SigV2 (HMAC-SHA1, base64) as the spec defines it: method, Content-MD5, Content-Type, the date
 * line (the Date header, empty when x-amz-date is sent, or a presigned URL's Expires), the
 * x-amz-* headers lower-cased and sorted, and the path as sent plus the signed sub-resources.
 */
function signV2(secret: string, req: IncomingMessage, dateLine: string, path: string): string {
  const h = req.headers
  const url = req.url ?? '/'
  const qi = url.indexOf('?')
  const sub = (qi >= 0 ? url.slice(qi + 1) : '')
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const eq = p.indexOf('=')
      const k = decodeURIComponent(eq < 0 ? p : p.slice(0, eq))
      return [k, eq < 0 ? undefined : decodeURIComponent(p.slice(eq + 1).replace(/\+/g, ' '))] as const
    })
    .filter(([k]) => V2_SUBRESOURCES.has(k))
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => (v === undefined || v === '' ? k : `${k}=${v}`))
  const amz = Object.keys(h)
    .filter((k) => k.startsWith('x-amz-'))
    .sort()
    .map((k) => `${k}:${String(h[k]).trim()}\n`)
    .join('')
  const one = (v: string | string[] | undefined) => (v === undefined ? '' : String(v).trim())
  const text = `${req.method}\n${one(h['content-md5'])}\n${one(h['content-type'])}\n${dateLine}\n${amz}${path}${sub.length ? `?${sub.join('&')}` : ''}`
  return createHmac('sha1', secret).update(text).digest('base64')
}

/** Whether `got` signs the request; a bucket's path is also tried with a trailing "/" (botocore signs `/bucket/` for `/bucket`). */
function signedV2(secret: string, req: IncomingMessage, dateLine: string, got: string): boolean {
  const url = req.url ?? '/'
  const qi = url.indexOf('?')
  const path = qi >= 0 ? url.slice(0, qi) : url
  if (sameSignature(signV2(secret, req, dateLine, path), got)) return true
  return /^\/[^/]+$/.test(path) && sameSignature(signV2(secret, req, dateLine, `${path}/`), got)
}
