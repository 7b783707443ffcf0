/**
 * A request body as a stream of its decoded bytes, never held whole (unless the caller, who
 * knows its declared length is small, asks for it `whole`): raw bytes, or aws-chunked
 * (chunked.ts) when `x-amz-content-sha256` or `Content-Encoding` says so. While it streams,
 * the MD5 (the object's ETag) is computed and, when the client sent them, the body's SHA-256
 * (`x-amz-content-sha256` as a hash), `Content-MD5` and `x-amz-checksum-crc32|sha1|sha256`
 * are checked once the last byte is in — a mismatch throws from the stream, so the write that
 * consumes it is abandoned before its commit and nothing is stored. A body that declares
 * OFFLOAD_MIN_BYTES or more has its MD5 and SHA-256 computed by the gateway's BodyHasher on
 * another thread (body-hasher.ts); the checks are the same and still precede the stream's end.
 */
import {createHash} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import {crc32} from 'node:zlib'
import {ChunkedDecoder, type ChunkSigning} from './chunked.js'
import {inlineBodyHash, OFFLOAD_MIN_BYTES, type BodyHasher} from './body-hasher.js'
import {s3err} from './errors.js'

export interface Body {
  /** the decoded bytes; consume once (either this or `whole`) */
  stream: AsyncIterable<Buffer>
  /** the decoded bytes at once, checked as `stream` checks them (a small body, held whole) */
  whole(): Promise<Buffer>
  /** MD5 hex of the decoded bytes, once the stream has ended */
  md5(): string
  /** the binary MD5 */
  md5raw(): Buffer
  size(): number
}

const STREAMING = new Set(['STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'STREAMING-UNSIGNED-PAYLOAD'])

/** Whether the request carries a body framing or length this gateway can read. */
export function requestBody(req: IncomingMessage, signing: ChunkSigning | undefined, hasher?: BodyHasher): Body {
  const h = req.headers
  const sha = String(h['x-amz-content-sha256'] ?? '')
  const chunked = STREAMING.has(sha) || /(^|,)\s*aws-chunked\s*(,|$)/i.test(String(h['content-encoding'] ?? ''))
  const lengthText = h['content-length']
  const length = lengthText === undefined ? undefined : Number(lengthText)
  if (lengthText !== undefined && !(Number.isSafeInteger(length) && length! >= 0)) throw s3err(400, 'InvalidArgument', 'invalid Content-Length')
  if (length === undefined && !chunked && h['transfer-encoding'] === undefined) throw s3err(411, 'MissingContentLength')
  let contentMd5: Buffer | undefined
  if (h['content-md5'] !== undefined) {
    const t = String(h['content-md5'])
    contentMd5 = Buffer.from(t, 'base64')
    if (contentMd5.length !== 16 || contentMd5.toString('base64') !== t) throw s3err(400, 'InvalidDigest')
  }
  const wantSha = /^[0-9a-f]{64}$/i.test(sha) && !chunked ? sha.toLowerCase() : undefined
  const decodedText = h['x-amz-decoded-content-length']
  const decodedLength = chunked && decodedText !== undefined ? Number(decodedText) : undefined
  if (decodedLength !== undefined && !(Number.isSafeInteger(decodedLength) && decodedLength >= 0)) throw s3err(400, 'InvalidArgument', 'invalid x-amz-decoded-content-length')
  const signed = sha.startsWith('STREAMING-AWS4-HMAC-SHA256-PAYLOAD')
  if (signed && !signing) throw s3err(403, 'AccessDenied', 'a signed aws-chunked body needs a SigV4 Authorization header')
  let digest: Buffer | undefined
  let size = 0
  /** the raw body ended short of its end or of its Content-Length */
  const cutShort = (n: number) => !req.complete || (length !== undefined && n < length)
  async function* raw(): AsyncGenerator<Buffer> {
    let n = 0
    try {
      for await (const b of req) {
        n += (b as Buffer).length
        yield b as Buffer
      }
    } catch {
      throw s3err(400, 'IncompleteBody')
    }
    if (cutShort(n)) throw s3err(400, 'IncompleteBody')
  }
  const declared = chunked ? decodedLength : length
  const hashOpts = {sha256: wantSha !== undefined}
  const hashing = hasher && declared !== undefined && declared >= OFFLOAD_MIN_BYTES ? hasher.begin(hashOpts) : inlineBodyHash(hashOpts)
  const ck = checksumHeaders(req)
  let crc = 0
  /** hashes `b`; a promise when the reader should wait for the hashing worker */
  const update = (b: Buffer): Promise<void> | undefined => {
    const wait = hashing.update(b)
    if (ck.crc32 !== undefined) crc = crc32(b, crc)
    ck.sha1?.update(b)
    ck.sha256?.update(b)
    size += b.length
    return wait
  }
  async function* decoded(): AsyncGenerator<Buffer> {
    const src = chunked ? new ChunkedDecoder({signing: signed ? signing : undefined, decodedLength}).decode(raw()) : raw()
    let done = false
    try {
      for await (const b of src) {
        const wait = update(b)
        if (wait) await wait
        yield b
      }
      await check()
      done = true
    } finally {
      // a body that failed or was abandoned: the worker forgets it
      if (!done) hashing.drop()
    }
  }
  /** a raw (not aws-chunked) body read with the request's events, without the streams' async iteration */
  const rawWhole = () =>
    new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = []
      let n = 0
      const fail = () => {
        cleanup()
        reject(s3err(400, 'IncompleteBody'))
      }
      const data = (b: Buffer) => {
        n += b.length
        parts.push(b)
      }
      const end = () => {
        cleanup()
        if (cutShort(n)) return reject(s3err(400, 'IncompleteBody'))
        resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts, n))
      }
      const cleanup = () => {
        req.off('data', data)
        req.off('end', end)
        req.off('error', fail)
        req.off('close', close)
      }
      // a request closed before its end was not read whole
      const close = () => {
        if (!req.complete) fail()
      }
      req.on('data', data)
      req.on('end', end)
      req.on('error', fail)
      req.on('close', close)
    })
  async function whole(): Promise<Buffer> {
    if (chunked) {
      const parts: Buffer[] = []
      for await (const b of decoded()) parts.push(b)
      return Buffer.concat(parts)
    }
    const b = await rawWhole()
    const wait = update(b)
    if (wait) await wait
    await check()
    return b
  }
  async function check(): Promise<void> {
    const d = await hashing.digest()
    digest = d.md5
    if (wantSha && d.sha256?.toString('hex') !== wantSha) throw s3err(400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.')
    if (contentMd5 && !contentMd5.equals(digest)) throw s3err(400, 'BadDigest')
    if (ck.crc32 !== undefined) {
      const c = Buffer.alloc(4)
      c.writeUInt32BE(crc >>> 0)
      if (c.toString('base64') !== ck.crc32) throw s3err(400, 'BadDigest', 'The CRC32 checksum you specified did not match what we received.')
    }
    if (ck.sha1 && ck.sha1.digest('base64') !== ck.sha1want) throw s3err(400, 'BadDigest', 'The SHA1 checksum you specified did not match what we received.')
    if (ck.sha256 && ck.sha256.digest('base64') !== ck.sha256want) throw s3err(400, 'BadDigest', 'The SHA256 checksum you specified did not match what we received.')
  }
  return {
    stream: decoded(),
    whole,
    md5raw: () => digest!,
    md5: () => digest!.toString('hex'),
    size: () => size,
  }
}

function checksumHeaders(req: IncomingMessage) {
  const h = req.headers
  const s = (n: string) => (h[n] === undefined ? undefined : String(h[n]))
  const sha1want = s('x-amz-checksum-sha1')
  const sha256want = s('x-amz-checksum-sha256')
  return {
    crc32: s('x-amz-checksum-crc32'),
    sha1: sha1want !== undefined ? createHash('sha1') : undefined,
    sha1want,
    sha256: sha256want !== undefined ? createHash('sha256') : undefined,
    sha256want,
  }
}

/** A small body (an XML document) read whole, at most `limit` bytes (400 MaxMessageLengthExceeded beyond). */
export async function smallBody(req: IncomingMessage, signing: ChunkSigning | undefined, limit = 1024 * 1024): Promise<Buffer> {
  const body = requestBody(req, signing)
  const parts: Buffer[] = []
  let n = 0
  for await (const b of body.stream) {
    n += b.length
    if (n > limit) throw s3err(400, 'MaxMessageLengthExceeded', `Your request was too big (more than ${limit} bytes).`)
    parts.push(b)
  }
  return Buffer.concat(parts)
}
