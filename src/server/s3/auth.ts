/**
 * Who may call the gateway (Pachyderm's rule, auth.go, with pach's token in place of
 * Pachyderm's auth tokens):
 * - no token configured: any SigV4 request whose access key and secret are equal and
 *   non-empty, its signature verified with secret = access key (so a mismatched pair is 403
 *   SignatureDoesNotMatch); anonymous requests, presigned URLs (SigV4 query auth, verified the
 *   same way, and expiry) and SigV2 (accepted as anonymous: there is nothing to protect) pass;
 * - a token configured: the access key and the secret must both be the token (403
 *   InvalidAccessKeyId otherwise); anonymous, presigned and SigV2 requests are 403
 *   AccessDenied.
 * `fixed` (a job's sidecar) replaces the rule with one key pair: that pair only.
 * The signed time must be within 15 minutes of the server's (403 RequestTimeTooSkewed).
 */
import type {IncomingMessage} from 'node:http'
import type {ChunkSigning} from './chunked.js'
import {s3err} from './errors.js'
import {canonicalRequest, parseAmzDate, parseAuthHeader, parseCredential, sameSignature, scopeOf, sign, signingKey, stringToSign, type Credential} from './sigv4.js'

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
    const key = signingKey(secret, cred)
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
  if (closed) throw s3err(403, 'AccessDenied', rule.token !== undefined ? 'sign requests (SigV4) with the token of pach serve as access key and secret' : 'sign requests (SigV4) with the access key and secret in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY')
  if (typeof authz === 'string' && authz.length > 0 && !authz.startsWith('AWS ')) throw s3err(400, 'InvalidArgument', 'unsupported Authorization header: use AWS4-HMAC-SHA256')
  return {}
}
