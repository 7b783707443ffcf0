/**
 * A client stream's requests read by the server from the HTTP/2 stream itself, for the one
 * method whose messages are mostly bytes: ModifyFile. grpc-js gathers each request message
 * from its HTTP/2 frames and joins them (Buffer.concat) before decoding it: for the Python
 * SDK's 19 MiB messages that is a copy of every uploaded byte into fresh memory, a fifth of
 * the server's CPU for a 1 GiB upload with the garbage collection it causes, and nothing
 * reaches the store until the whole message is in. Here a message whose payload is one long
 * bytes field at its end (`splitter`) is handed over as its head (decoded) and its payload as
 * the frames' own bytes, views, as they arrive; every other message is gathered and decoded
 * as grpc-js would (the method's deserializer).
 *
 * Invariants, as grpc-js keeps them for other methods:
 * - a message longer than the server's limit fails the call with RESOURCE_EXHAUSTED and
 *   grpc-js's text; a compressed one is inflated (the call's grpc-encoding) and decoded;
 * - the stream ends (iteration ends) at the client's half-close, or a reset (call.ts
 *   `requests` tells the two apart, as for grpc-js's streams); a stream that ends inside a
 *   message fails the call, CANCELLED after a reset (a malformed or cut stream stores nothing);
 * - memory stays bounded: past HIGH_WATER_BYTES received and not yet taken, the HTTP/2 stream
 *   is paused (Node stops granting flow-control window), and resumed below half of it;
 * - a streamed payload must be read to its end before the next request is asked for.
 *
 * Used only when grpc-js's own call is reachable (no interceptors) and its request stream has
 * not been read yet (call.ts `takeRequests`); otherwise requests come through grpc-js.
 */
import {status} from '@grpc/grpc-js'
import {gunzipSync, inflateSync} from 'node:zlib'
import {grpcError} from './status.js'

/** The part of Node's Http2Stream the reader uses. */
export interface RawRequestStream {
  on(event: 'data', fn: (b: Buffer) => void): unknown
  on(event: 'end' | 'close' | 'aborted', fn: () => void): unknown
  listeners(event: 'data'): ((...a: unknown[]) => void)[]
  removeListener(event: 'data', fn: (...a: unknown[]) => void): unknown
  pause(): unknown
  resume(): unknown
}

/** A message's head decoded, its payload (a bytes field's value) still to come, `length` bytes. */
export interface Streamed<Req> {
  head: Req
  length: number
}

/**
 * How a method's message splits: given its first bytes (`prefix`, up to PREFIX_BYTES or the
 * whole message when shorter) and its `length`, either the head decoded and where the payload
 * starts (`at`; the payload runs from there to the message's end), or undefined: decode the
 * message whole.
 */
export type Splitter<Req> = (prefix: Buffer, length: number) => {head: Req; at: number} | undefined

/** A request: decoded whole, or a head with its payload as a stream of views. */
export type Request<Req> = {msg: Req} | {streamed: Streamed<Req>; payload: AsyncIterable<Buffer>}

/** Bytes received and not yet taken before the HTTP/2 stream is paused. */
export const HIGH_WATER_BYTES = 4 * 1024 * 1024
/** Messages this long or longer are offered to the splitter. */
const STREAM_MIN_BYTES = 256 * 1024
/** The most of a message's start the splitter sees. */
const PREFIX_BYTES = 64 * 1024
/** Payload bytes handed out between two turns of the event loop (so the socket is read meanwhile). */
const TURN_BYTES = 2 * 1024 * 1024

export interface ReaderOptions<Req> {
  maxMessageBytes: number
  /** the call's grpc-encoding (identity, gzip, deflate) */
  encoding: string
  deserialize: (b: Buffer) => Req
  splitter: Splitter<Req>
}

/** Read `stream`'s requests (grpc-js must not read it: its 'data' listeners are removed here). */
export function readRequests<Req>(stream: RawRequestStream, opts: ReaderOptions<Req>): AsyncIterable<Request<Req>> {
  const chunks: Buffer[] = []
  let head = 0 // bytes of chunks[0] already taken
  let buffered = 0
  let ended = false
  let paused = false
  let wake: (() => void) | undefined
  const signal = () => {
    const w = wake
    wake = undefined
    w?.()
  }
  for (const l of stream.listeners('data')) stream.removeListener('data', l)
  stream.on('data', (b: Buffer) => {
    if (b.length === 0) return
    chunks.push(b)
    buffered += b.length
    if (buffered >= HIGH_WATER_BYTES && !paused) {
      paused = true
      stream.pause()
    }
    signal()
  })
  let reset = false
  const finish = () => {
    ended = true
    signal()
  }
  stream.on('end', finish)
  // a reset (the client cancelled, the connection dropped) may end the stream without 'end'
  stream.on('aborted', () => {
    reset = true
    finish()
  })
  stream.on('close', finish)
  stream.resume()

  const taken = (n: number) => {
    buffered -= n
    if (paused && buffered < HIGH_WATER_BYTES / 2) {
      paused = false
      stream.resume()
    }
  }
  /** Wait until `n` bytes are buffered; false when the stream ended first. */
  const need = async (n: number): Promise<boolean> => {
    while (buffered < n) {
      if (ended) return false
      await new Promise<void>((res) => (wake = res))
    }
    return true
  }
  /** Up to `n` bytes from the front, a view of one chunk (call with buffered > 0). */
  const takeView = (n: number): Buffer => {
    const c = chunks[0]!
    const k = Math.min(n, c.length - head)
    const v = c.subarray(head, head + k)
    head += k
    if (head === c.length) {
      chunks.shift()
      head = 0
    }
    taken(k)
    return v
  }
  /** Exactly `n` buffered bytes, contiguous (a view when they lie in one chunk, else a copy). */
  const take = (n: number): Buffer => {
    if (chunks[0]!.length - head >= n) return takeView(n)
    const out = Buffer.allocUnsafe(n)
    for (let o = 0; o < n; ) o += takeView(n - o).copy(out, o)
    return out
  }
  /** The first `n` buffered bytes, contiguous, not taken. */
  const peek = (n: number): Buffer => {
    const c = chunks[0]!
    if (c.length - head >= n) return c.subarray(head, head + n)
    const out = Buffer.allocUnsafe(n)
    let o = c.copy(out, 0, head)
    for (let i = 1; o < n; i++) o += chunks[i]!.copy(out, o, 0, n - o)
    return out
  }
  const cut = () => (reset ? grpcError(status.CANCELLED, 'context canceled') : grpcError(status.INTERNAL, 'the request stream ended inside a message'))

  /** payload bytes of the current streamed message not yet taken */
  let left = 0
  async function* payload(): AsyncGenerator<Buffer> {
    let sinceTurn = 0
    while (left > 0) {
      if (!(await need(1))) throw cut()
      const v = takeView(left)
      left -= v.length
      sinceTurn += v.length
      yield v
      if (sinceTurn >= TURN_BYTES && left > 0) {
        sinceTurn = 0
        await new Promise<void>((res) => setImmediate(res))
      }
    }
  }

  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (!(await need(5))) {
          if (buffered > 0) throw cut()
          return
        }
        const frame = take(5)
        const compressed = frame[0] === 1
        const length = frame.readUInt32BE(1)
        if (opts.maxMessageBytes !== -1 && length > opts.maxMessageBytes) {
          // grpc-js's text (stream-decoder.js)
          throw grpcError(status.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs ${opts.maxMessageBytes})`)
        }
        if (!compressed && length >= STREAM_MIN_BYTES) {
          const p = Math.min(length, PREFIX_BYTES)
          if (!(await need(p))) throw cut()
          const split = opts.splitter(peek(p), length)
          if (split) {
            take(split.at)
            left = length - split.at
            yield {streamed: {head: split.head, length: left}, payload: payload()}
            // the consumer had to read it all; anything left is a bug in the consumer
            if (left > 0) throw new Error('a streamed request payload was not read to its end')
            continue
          }
        }
        if (!(await need(length))) throw cut()
        let body = length === 0 ? Buffer.alloc(0) : take(length)
        if (compressed) body = inflate(body, opts.encoding, opts.maxMessageBytes)
        let msg: Req
        try {
          msg = opts.deserialize(body)
        } catch {
          throw grpcError(status.INTERNAL, 'Error deserializing request')
        }
        yield {msg}
      }
    },
  }
}

/** A compressed message's bytes (grpc-js: gzip and deflate; refused past the limit). */
function inflate(body: Buffer, encoding: string, max: number): Buffer {
  if (encoding !== 'gzip' && encoding !== 'deflate') throw grpcError(status.UNIMPLEMENTED, `Received message compressed with unsupported encoding "${encoding}"`)
  try {
    const opts = max === -1 ? {} : {maxOutputLength: max}
    return encoding === 'gzip' ? gunzipSync(body, opts) : inflateSync(body, opts)
  } catch (e) {
    if ((e as {code?: string}).code === 'ERR_BUFFER_TOO_LARGE') throw grpcError(status.RESOURCE_EXHAUSTED, `Received message that decompresses to a size larger than ${max}`)
    throw grpcError(status.INTERNAL, 'Failed to decompress message')
  }
}
