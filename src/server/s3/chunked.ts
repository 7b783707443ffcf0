/**
 * The aws-chunked body decoder (pure over its input stream), for every variant clients send:
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD          `<hex>;chunk-signature=<sig>\r\n<data>\r\n` … `0;chunk-signature=<sig>\r\n\r\n`
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER  the same, then trailer lines and `x-amz-trailer-signature:<sig>\r\n\r\n`
 *   STREAMING-UNSIGNED-PAYLOAD-TRAILER          `<hex>\r\n<data>\r\n` … `0\r\n<name>:<value>\r\n\r\n`
 * Chunk signatures chain from the request's seed signature (sigv4.ts `chunkSignature`); a
 * mismatch is 403 SignatureDoesNotMatch. A checksum trailer (`x-amz-checksum-crc32`, `-sha1`,
 * `-sha256`) is checked against the decoded bytes (400 BadDigest). Framing errors (a size
 * line over 4 KiB or not hex, a missing CRLF, the body ending early) are 400 IncompleteBody or
 * InvalidArgument. Decoded bytes are yielded as they arrive: the caller commits nothing until
 * the generator has returned, so a failure at the end leaves nothing stored.
 */
import {createHash, type Hash} from 'node:crypto'
import {crc32} from 'node:zlib'
import {s3err} from './errors.js'
import {chunkSignature, EMPTY_SHA256, sameSignature, trailerSignature} from './sigv4.js'

export interface ChunkSigning {
  key: Buffer
  amzDate: string
  scope: string
  /** the request's own signature */
  seed: string
}

export interface ChunkedOptions {
  /** verify chunk (and trailer) signatures with this; unsigned streams leave it out */
  signing?: ChunkSigning
  /** `x-amz-decoded-content-length`, checked when given */
  decodedLength?: number
}

const MAX_LINE = 4096

/** Decode an aws-chunked stream; `trailers` holds the trailer headers once it has ended. */
export class ChunkedDecoder {
  readonly trailers: Record<string, string> = {}

  constructor(private readonly opts: ChunkedOptions = {}) {}

  async *decode(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
    const signing = this.opts.signing
    let prevSig = signing?.seed ?? ''
    let buf: Buffer = Buffer.alloc(0)
    const it = source[Symbol.asyncIterator]()
    let ended = false
    const more = async (): Promise<boolean> => {
      if (ended) return false
      const r = await it.next()
      if (r.done) {
        ended = true
        return false
      }
      buf = buf.length ? Buffer.concat([buf, Buffer.from(r.value)]) : Buffer.from(r.value)
      return true
    }
    const line = async (): Promise<string | undefined> => {
      for (;;) {
        const i = buf.indexOf('\r\n')
        if (i >= 0) {
          if (i > MAX_LINE) throw s3err(400, 'InvalidArgument', 'aws-chunked: a chunk header line is longer than 4 KiB')
          const s = buf.subarray(0, i).toString('latin1')
          buf = buf.subarray(i + 2)
          return s
        }
        if (buf.length > MAX_LINE) throw s3err(400, 'InvalidArgument', 'aws-chunked: a chunk header line is longer than 4 KiB')
        if (!(await more())) return undefined
      }
    }
    let total = 0
    let crc = 0
    const sha1 = createHash('sha1')
    const sha256 = createHash('sha256')
    for (;;) {
      const header = await line()
      if (header === undefined) throw s3err(400, 'IncompleteBody', 'aws-chunked: the body ended before its last (zero-length) chunk')
      const [sizeText, ...exts] = header.split(';')
      if (!/^[0-9a-fA-F]{1,15}$/.test(sizeText!.trim())) throw s3err(400, 'InvalidArgument', `aws-chunked: invalid chunk size ${JSON.stringify(sizeText!.slice(0, 40))}`)
      const size = parseInt(sizeText!.trim(), 16)
      const sigExt = exts.map((e) => e.trim()).find((e) => e.startsWith('chunk-signature='))
      const chunkSig = sigExt?.slice('chunk-signature='.length)
      if (signing && !chunkSig) throw s3err(403, 'SignatureDoesNotMatch', 'aws-chunked: a chunk has no chunk-signature')
      const chunkHash: Hash | undefined = signing ? createHash('sha256') : undefined
      let left = size
      while (left > 0) {
        if (buf.length === 0 && !(await more())) throw s3err(400, 'IncompleteBody')
        const take = buf.subarray(0, Math.min(left, buf.length))
        buf = buf.subarray(take.length)
        left -= take.length
        chunkHash?.update(take)
        crc = crc32(take, crc)
        sha1.update(take)
        sha256.update(take)
        total += take.length
        yield take
      }
      if (signing) {
        const want = chunkSignature(signing.key, signing.amzDate, signing.scope, prevSig, size === 0 ? EMPTY_SHA256 : chunkHash!.digest('hex'))
        if (!sameSignature(want, chunkSig!)) throw s3err(403, 'SignatureDoesNotMatch', 'aws-chunked: a chunk signature does not match')
        prevSig = want
      }
      if (size === 0) break
      while (buf.length < 2) if (!(await more())) throw s3err(400, 'IncompleteBody')
      if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw s3err(400, 'InvalidArgument', 'aws-chunked: a chunk is not followed by CRLF')
      buf = buf.subarray(2)
    }
    // trailers (possibly none), up to the empty line; a body that just ends here is accepted
    const lines: string[] = []
    let trailerSig: string | undefined
    for (;;) {
      const l = await line()
      if (l === undefined || l === '') break
      const c = l.indexOf(':')
      if (c <= 0) throw s3err(400, 'InvalidArgument', 'aws-chunked: a malformed trailer line')
      const name = l.slice(0, c).trim().toLowerCase()
      const value = l.slice(c + 1).trim()
      if (name === 'x-amz-trailer-signature') trailerSig = value
      else {
        this.trailers[name] = value
        lines.push(`${name}:${value}\n`)
      }
      if (lines.length > 64) throw s3err(400, 'InvalidArgument', 'aws-chunked: too many trailer lines')
    }
    if (signing && lines.length > 0) {
      const want = trailerSignature(signing.key, signing.amzDate, signing.scope, prevSig, lines.join(''))
      if (!trailerSig || !sameSignature(want, trailerSig)) throw s3err(403, 'SignatureDoesNotMatch', 'aws-chunked: the trailer signature does not match')
    }
    if (this.opts.decodedLength !== undefined && total !== this.opts.decodedLength) {
      throw s3err(400, 'IncompleteBody', `aws-chunked: decoded ${total} bytes, x-amz-decoded-content-length says ${this.opts.decodedLength}`)
    }
    const crcBuf = Buffer.alloc(4)
    crcBuf.writeUInt32BE(crc >>> 0)
    checkSum(this.trailers['x-amz-checksum-crc32'], crcBuf.toString('base64'))
    checkSum(this.trailers['x-amz-checksum-sha1'], sha1.digest('base64'))
    checkSum(this.trailers['x-amz-checksum-sha256'], sha256.digest('base64'))
  }
}

function checkSum(sent: string | undefined, actual: string): void {
  if (sent !== undefined && sent !== actual) throw s3err(400, 'BadDigest', 'The checksum in the trailer does not match the data received')
}
