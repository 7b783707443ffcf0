/**
 * How every RPC is handled, in one place: the handler wrappers the services are built with.
 * A wrapper (1) checks the caller's token, (2) reads the request headers pach honours into a
 * CallContext, (3) runs the handler with an AbortSignal that fires when the client goes away
 * or the server stops, (4) streams responses with backpressure, and (5) turns whatever the
 * handler throws into one gRPC status (status.ts). Handlers therefore only translate a
 * request into one core call and its result into the response.
 *
 * Headers (lower-case, as clients send them):
 * - `authn-token`: the caller's token. With no token configured the server is open (it binds
 *   loopback only); with one, every call must carry it, or a pipeline token the server issued
 *   (a spout's), which is allowed to write only its own output repo (`Access`).
 * - `pach-transaction`: the transaction a transactable request joins; an empty value means
 *   none (the Python SDK sends "" after a transaction ends).
 */
import {status, type Metadata, type sendUnaryData, type ServerDuplexStream, type ServerReadableStream, type ServerUnaryCall, type ServerWritableStream} from '@grpc/grpc-js'
import {timingSafeEqual} from 'node:crypto'
import {grpcError, toServiceError} from './status.js'
import {Encoded, EncodedValue} from './wire.js'
import {readRequests, type RawRequestStream, type Request, type Splitter} from './request-reader.js'

/** Who is calling: the server's own token holder (or anyone, when there is none), or a pipeline. */
export type Access = {kind: 'root'} | {kind: 'pipeline'; project: string; pipeline: string}

export interface CallContext {
  readonly access: Access
  /** the transaction named by `pach-transaction`, if any */
  readonly transaction?: string
  /** aborted when the client cancels or disconnects, or the server shuts down */
  readonly signal: AbortSignal
  readonly metadata: Metadata
}

export interface AuthConfig {
  /** the token every call must carry; undefined = no auth (loopback only) */
  readonly token?: string
  /** per-pipeline tokens the server issued (spouts), token → pipeline */
  readonly pipelineTokens: ReadonlyMap<string, {project: string; pipeline: string}>
}

export interface CallEnv {
  readonly auth: AuthConfig
  /** aborted when the server stops: every open call ends */
  readonly shutdown: AbortSignal
  /** a handler threw something that is not a PachError (a bug): log it */
  readonly onBug: (method: string, e: unknown) => void
}

/** pachd's texts for a missing or wrong token. */
export const NO_TOKEN = 'no authentication token (try logging in)'
export const BAD_TOKEN = 'provided auth token is corrupted or has expired (try logging in again)'

function header(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0]
  return v === undefined ? undefined : String(v)
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Who the metadata's token makes the caller; throws UNAUTHENTICATED. */
export function authenticate(md: Metadata, auth: AuthConfig): Access {
  const token = header(md, 'authn-token') ?? ''
  if (token) {
    const p = auth.pipelineTokens.get(token)
    if (p) return {kind: 'pipeline', ...p}
  }
  if (auth.token === undefined) return {kind: 'root'}
  if (!token) throw grpcError(status.UNAUTHENTICATED, NO_TOKEN)
  if (!sameToken(token, auth.token)) throw grpcError(status.UNAUTHENTICATED, BAD_TOKEN)
  return {kind: 'root'}
}

interface AnyCall {
  metadata: Metadata
  cancelled: boolean
  on(event: 'cancelled' | 'close' | 'error', fn: (...a: unknown[]) => void): unknown
}

function context(call: AnyCall, env: CallEnv): {ctx: CallContext; done: () => void} {
  const access = authenticate(call.metadata, env.auth)
  const ac = new AbortController()
  const abort = () => ac.abort()
  call.on('cancelled', abort)
  env.shutdown.addEventListener('abort', abort)
  if (call.cancelled || env.shutdown.aborted) ac.abort()
  const tx = header(call.metadata, 'pach-transaction')
  return {
    ctx: {access, transaction: tx ? tx : undefined, signal: ac.signal, metadata: call.metadata},
    done: () => env.shutdown.removeEventListener('abort', abort),
  }
}

export type Unary<Req, Res> = (req: Req, ctx: CallContext) => Res | Promise<Res>
export type ServerStreaming<Req, Res> = (req: Req, ctx: CallContext) => AsyncIterable<Res> | Iterable<Res>
export type ClientStreaming<Req, Res> = (reqs: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>
export type Bidi<Req, Res> = (reqs: AsyncIterable<Req>, ctx: CallContext) => AsyncIterable<Res> | Iterable<Res>
/** A client stream whose large messages may come as a decoded head and a payload stream (request-reader.ts). */
export type ClientStreamingSplit<Req, Res> = (reqs: AsyncIterable<Request<Req>>, ctx: CallContext) => Promise<Res>

/** The wrappers for one server: each turns a handler into grpc-js's handler of its kind. */
export function handlers(env: CallEnv) {
  const fail = (method: string, e: unknown) => toServiceError(e, (bug) => env.onBug(method, bug))
  const shutdownError = () => grpcError(status.UNAVAILABLE, 'pach serve is shutting down')

  /** A client stream's handler run over `reqs` (with the call's metadata, for `requests`): its result, or its error, to `cb`. */
  function answerStream<R, Res>(method: string, call: ServerReadableStream<unknown, Res>, cb: sendUnaryData<Res>, reqs: AsyncIterable<R>, fn: (reqs: AsyncIterable<R>, ctx: CallContext) => Promise<Res>): void {
    let done = () => {}
    Promise.resolve()
      .then(() => {
        const c = context(call, env)
        done = c.done
        return fn(requests(reqs, c.ctx), c.ctx)
      })
      .then(
        (res) => cb(null, res),
        (e) => cb(env.shutdown.aborted ? shutdownError() : fail(method, e)),
      )
      .finally(() => done())
  }

  async function writeAll<Res>(method: string, call: ServerWritableStream<unknown, Res> | ServerDuplexStream<unknown, Res>, out: AsyncIterable<Res> | Iterable<Res>, ctx: CallContext) {
    const direct = directSender(call)
    if (direct) {
      await writeDirect(direct, out, ctx)
      if (env.shutdown.aborted) throw shutdownError()
      return
    }
    for await (const msg of out) {
      if (ctx.signal.aborted) break
      if (!call.write(msg)) {
        await new Promise<void>((res) => {
          const go = () => {
            call.off('drain', go)
            ctx.signal.removeEventListener('abort', go)
            res()
          }
          call.on('drain', go)
          ctx.signal.addEventListener('abort', go)
        })
      }
    }
    if (env.shutdown.aborted) throw shutdownError()
  }

  /** Run a streaming handler's responses to the end of the call: OK when they end, its error otherwise. */
  function respond<Res>(method: string, call: ServerWritableStream<unknown, Res> | ServerDuplexStream<unknown, Res>, produce: (ctx: CallContext) => AsyncIterable<Res> | Iterable<Res>): void {
    let done = () => {}
    Promise.resolve()
      .then(async () => {
        const c = context(call, env)
        done = c.done
        await writeAll(method, call, produce(c.ctx), c.ctx)
      })
      .then(
        () => call.end(),
        (e) => call.emit('error', env.shutdown.aborted ? shutdownError() : fail(method, e)),
      )
      .finally(() => done())
  }

  return {
    unary<Req, Res>(method: string, fn: Unary<Req, Res>) {
      return (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => {
        let done = () => {}
        Promise.resolve()
          .then(() => {
            const c = context(call, env)
            done = c.done
            return fn(call.request, c.ctx)
          })
          .then(
            (res) => cb(null, res),
            (e) => cb(env.shutdown.aborted ? shutdownError() : fail(method, e)),
          )
          .finally(() => done())
      }
    },

    serverStream<Req, Res>(method: string, fn: ServerStreaming<Req, Res>) {
      return (call: ServerWritableStream<Req, Res>) => respond(method, call, (ctx) => fn(call.request, ctx))
    },

    clientStream<Req, Res>(method: string, fn: ClientStreaming<Req, Res>) {
      return (call: ServerReadableStream<Req, Res>, cb: sendUnaryData<Res>) => {
        readOneAhead(call)
        answerStream(method, call, cb, call as AsyncIterable<Req>, fn)
      }
    },

    /**
     * A client-streaming method whose requests the server reads from the HTTP/2 stream itself
     * (request-reader.ts), so a message `split` recognises reaches the handler as its head and
     * its payload's bytes as they arrive; through grpc-js (every message decoded whole) when
     * its call cannot be taken over.
     */
    clientStreamSplit<Req, Res>(method: string, split: Splitter<Req>, fn: ClientStreamingSplit<Req, Res>) {
      return (call: ServerReadableStream<Req, Res>, cb: sendUnaryData<Res>) => {
        const own = takeRequests(call, split)
        if (!own) readOneAhead(call)
        const reqs: AsyncIterable<Request<Req>> = own ?? wrapped(call as AsyncIterable<Req>)
        answerStream(method, call, cb, Object.assign(reqs, {metadata: call.metadata}), fn)
      }
    },

    bidi<Req, Res>(method: string, fn: Bidi<Req, Res>) {
      return (call: ServerDuplexStream<Req, Res>) => {
        readOneAhead(call)
        respond(method, call, (ctx) => fn(requests(call as AsyncIterable<Req>, ctx), ctx))
      }
    },

    /** A method that always fails with `code` and `message`, whatever its kind. */
    refuse(kind: MethodKind, code: status, message: string) {
      const err = () => grpcError(code, message)
      const check = (md: Metadata) => authenticate(md, env.auth)
      switch (kind) {
        case 'unary':
          return (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
            try {
              check(call.metadata)
              cb(err())
            } catch (e) {
              cb(fail('refuse', e))
            }
          }
        case 'clientStream':
          return (call: ServerReadableStream<unknown, unknown>, cb: sendUnaryData<unknown>) => {
            try {
              check(call.metadata)
              cb(err())
            } catch (e) {
              cb(fail('refuse', e))
            }
          }
        default:
          return (call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>) => {
            try {
              check(call.metadata)
              call.emit('error', err())
            } catch (e) {
              call.emit('error', fail('refuse', e))
            }
          }
      }
    },
  }
}

/** grpc-js's own call under a response stream: it serializes a message and writes it to the HTTP/2 stream. */
interface DirectSender {
  sendMessage(message: unknown, done: () => void): void
  /** grpc-js's base call: the HTTP/2 stream and whether the response headers went out */
  stream?: RawStream
  metadataSent?: boolean
}

interface RawStream {
  write(chunk: Buffer, cb?: (e?: Error | null) => void): boolean
  cork(): void
  uncork(): void
  readonly destroyed: boolean
  readonly closed: boolean
}

/**
 * The call's own sender, when grpc-js exposes it (no interceptors: the response stream's
 * `call` is grpc-js's base call); undefined otherwise, and the stream's `write` is used.
 */
function directSender(call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>): DirectSender | undefined {
  const base = (call as unknown as {call?: {sendMessage?: unknown; stream?: unknown}}).call
  return base && typeof base.sendMessage === 'function' && base.stream ? (base as DirectSender) : undefined
}

/** Messages written and not yet flushed to the socket, at most (then the handler waits). */
const IN_FLIGHT_MESSAGES = 256
/**
 * Bytes of messages written and not yet flushed, at most: GetFile's 2 MiB messages would
 * otherwise let 256 of them (512 MiB) queue when the store reads faster than the client takes
 * them (a 1 GiB GetFile to the Python SDK held ~1.1 GiB).
 */
const IN_FLIGHT_BYTES = 8 * 1024 * 1024

/** A response message's payload size as far as it matters for IN_FLIGHT_BYTES: encoded bytes, or a bytes `value` (GetFile, GetFileTAR). */
function payloadBytes(msg: unknown): number {
  if (msg instanceof Encoded) return msg.bytes.length
  if (msg instanceof EncodedValue) return msg.value.length
  const value = (msg as {value?: unknown} | null)?.value
  return value instanceof Uint8Array ? value.length : 0
}

/** The most bytes of pre-encoded messages framed into one write of the HTTP/2 stream. */
const BATCH_BYTES = 64 * 1024

/**
 * Response messages handed to grpc-js's call without waiting for each to reach the socket:
 * the response stream's `write` passes one message at a time and waits for its write to
 * complete, one turn of the event loop per message (~25 µs: 2.5 s of a 100,000-entry
 * ListFile). Handed over together, Node writes the burst to the HTTP/2 stream in one go.
 * At most IN_FLIGHT_MESSAGES wait unwritten; the status is sent after the last is written
 * (so it follows the data). A client that goes away aborts `ctx.signal`, which ends the wait
 * (grpc-js then never calls back for what was not written).
 *
 * Messages already encoded (`Encoded`, a listing's FileInfos) skip grpc-js's per-message path
 * too (serialize, copy into a frame, one stream write and callback each: a third of a large
 * listing's server time): once the first response message has gone out through grpc-js (it
 * sends the headers), they are framed as gRPC frames them (a 0 byte, the length in 4 bytes
 * big-endian, the message) into one buffer of up to BATCH_BYTES, written to the HTTP/2 stream
 * in one write when it is full, before any other message, before the handler waits, and on
 * the next turn of the event loop (so a slow producer's message is not held back).
 *
 * A bytes message kept as parts (`EncodedValue`, GetFile's 2 MiB pieces) goes out the same way
 * but unbatched: its frame head and field head in one small write and the value, as it is, in
 * the next (corked together), so the value's bytes are never copied on their way to the socket.
 */
async function writeDirect(direct: DirectSender, out: AsyncIterable<unknown> | Iterable<unknown>, ctx: CallContext): Promise<void> {
  let pending = 0
  let pendingBytes = 0
  let wake: (() => void) | undefined
  const below = (limit: number) => pending <= limit && pendingBytes <= (limit === 0 ? 0 : IN_FLIGHT_BYTES / 2)
  const done = (n: number, bytes: number) => {
    pending -= n
    pendingBytes -= bytes
    if (wake && below(IN_FLIGHT_MESSAGES / 2)) {
      const w = wake
      wake = undefined
      w()
    }
  }
  const settle = (limit: number) =>
    new Promise<void>((res) => {
      if (below(limit) || ctx.signal.aborted) return res()
      const go = () => {
        ctx.signal.removeEventListener('abort', go)
        res()
      }
      wake = go
      ctx.signal.addEventListener('abort', go)
    })
  const stream = direct.stream
  const framing = typeof direct.metadataSent === 'boolean' && typeof stream?.write === 'function'
  let batch: Buffer | undefined
  let used = 0
  let count = 0
  let scheduled = false
  const flush = () => {
    if (!count) return
    const bytes = batch!.subarray(0, used)
    const n = count
    batch = undefined
    used = count = 0
    if (stream!.destroyed || stream!.closed) return done(n, bytes.length)
    stream!.write(bytes, () => done(n, bytes.length))
  }
  const later = () => {
    scheduled = false
    flush()
  }
  try {
    for await (const msg of out) {
      if (ctx.signal.aborted) return
      pending++
      const size = payloadBytes(msg)
      pendingBytes += size
      if (framing && msg instanceof Encoded && direct.metadataSent && msg.bytes.length + 5 <= BATCH_BYTES) {
        const b = msg.bytes
        if (batch && used + 5 + b.length > BATCH_BYTES) flush()
        batch ??= Buffer.allocUnsafe(BATCH_BYTES)
        batch[used] = 0
        batch.writeUInt32BE(b.length, used + 1)
        used += 5 + b.copy(batch, used + 5)
        pendingBytes += 5 // its frame head: the batch is written (and counted off) framed
        count++
        if (!scheduled) {
          scheduled = true
          setImmediate(later)
        }
      } else if (framing && msg instanceof EncodedValue && direct.metadataSent) {
        flush()
        const head = Buffer.allocUnsafe(5 + msg.head.length)
        head[0] = 0
        head.writeUInt32BE(msg.length, 1)
        msg.head.copy(head, 5)
        if (stream!.destroyed || stream!.closed) done(1, size)
        else {
          stream!.cork()
          stream!.write(head)
          stream!.write(msg.value, () => done(1, size))
          stream!.uncork()
        }
      } else {
        flush()
        direct.sendMessage(msg, () => done(1, size))
      }
      if (pending >= IN_FLIGHT_MESSAGES || pendingBytes >= IN_FLIGHT_BYTES) {
        flush()
        await settle(IN_FLIGHT_MESSAGES / 2)
      }
    }
    flush()
    while (pending > 0 && !ctx.signal.aborted) await settle(0)
  } catch (e) {
    // the messages before a failure still go out, ahead of its status (as one by one they did)
    if (!ctx.signal.aborted) flush()
    throw e
  } finally {
    batch = undefined
    count = 0
  }
}

/**
 * The request stream of a client-streaming or bidi call, which ends only on the client's
 * half-close. Node also ends an HTTP/2 stream's readable side when the client resets it (a
 * cancel, a dropped connection), and grpc-js passes that on as a half-close; the reset's
 * 'close' (grpc-js's 'cancelled') follows before the next turn of the event loop. So at the
 * end the stream waits one turn (a Node client that went quiet first: see NODE_CANCEL_GRACE_MS)
 * and, if the call was cancelled meanwhile, throws instead of
 * ending: no handler takes an abandoned upload as complete.
 */
async function* requests<Req>(call: AsyncIterable<Req>, ctx: CallContext): AsyncGenerator<Req> {
  let last = Date.now()
  for await (const r of call) {
    yield r
    last = Date.now()
  }
  const md = (call as unknown as {metadata?: Metadata}).metadata
  const node = md !== undefined && String(md.get('user-agent')[0] ?? '').includes('grpc-node-js')
  const wait = node && Date.now() - last >= NODE_IDLE_END_MS ? NODE_CANCEL_GRACE_MS : 0
  await new Promise<void>((res) => {
    if (wait === 0) return setImmediate(res)
    const go = () => {
      clearTimeout(t)
      ctx.signal.removeEventListener('abort', go)
      res()
    }
    const t = setTimeout(go, wait)
    ctx.signal.addEventListener('abort', go)
    if (ctx.signal.aborted) go()
  })
  if (ctx.signal.aborted) throw grpcError(status.CANCELLED, 'context canceled')
}

/**
 * A grpc-js client that cancels a client stream half-closes it first and resets it some time
 * later (Node's Http2Stream.close: end() at once, RST_STREAM after; ~40 ms seen on loopback),
 * so a cancel after the client went quiet reaches the server as a complete request followed
 * by a reset — pach push stopped between two writes would otherwise commit its partial
 * upload. So the end of a Node client's request stream that comes NODE_IDLE_END_MS or more
 * after its last message (a half-close right after the last write is a client's normal end)
 * waits up to NODE_CANCEL_GRACE_MS for the reset. Go and C-core clients (pachctl, the Python
 * SDK) reset without half-closing and never wait.
 */
const NODE_IDLE_END_MS = 20
const NODE_CANCEL_GRACE_MS = 200

/**
 * A request stream reads at most one message ahead of its handler (grpc-js's default is 16):
 * with the Python SDK's 19 MiB messages, 16 read ahead would hold ~300 MiB while the store
 * works through the first. What the client may send beyond that waits in the HTTP/2 window.
 */
function readOneAhead(call: ServerReadableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>): void {
  const state = (call as unknown as {_readableState?: {highWaterMark: number}})._readableState
  if (state) state.highWaterMark = 1
}

/** Requests decoded whole, as split requests. */
async function* wrapped<Req>(reqs: AsyncIterable<Req>): AsyncGenerator<Request<Req>> {
  for await (const msg of reqs) yield {msg}
}

/** grpc-js's base call under a request stream, as far as takeRequests needs it. */
interface BaseCall {
  stream?: RawRequestStream
  handler?: {deserialize?: (b: Buffer) => unknown}
  maxReceiveMessageSize?: number
  incomingEncoding?: string
  readQueue?: unknown[]
  isReadPending?: boolean
}

/**
 * The call's requests read by request-reader.ts, taking the HTTP/2 stream from grpc-js: only
 * when grpc-js's base call is the call's (no interceptors) and has read nothing yet; else
 * undefined, and grpc-js reads them.
 */
function takeRequests<Req>(call: ServerReadableStream<Req, unknown>, splitter: Splitter<Req>): AsyncIterable<Request<Req>> | undefined {
  const base = (call as unknown as {call?: BaseCall}).call
  if (!base?.stream || typeof base.handler?.deserialize !== 'function' || typeof base.maxReceiveMessageSize !== 'number') return undefined
  if (!Array.isArray(base.readQueue) || base.readQueue.length > 0 || base.isReadPending) return undefined
  const stream = base.stream
  if (typeof stream.listeners !== 'function' || typeof stream.pause !== 'function') return undefined
  return readRequests(stream, {
    maxMessageBytes: base.maxReceiveMessageSize,
    encoding: base.incomingEncoding ?? 'identity',
    deserialize: base.handler.deserialize as (b: Buffer) => Req,
    splitter,
  })
}

export type Handlers = ReturnType<typeof handlers>
export type MethodKind = 'unary' | 'serverStream' | 'clientStream' | 'bidi'

/** The kind of a method from its definition's streaming flags. */
export function methodKind(def: {requestStream: boolean; responseStream: boolean}): MethodKind {
  if (def.requestStream) return def.responseStream ? 'bidi' : 'clientStream'
  return def.responseStream ? 'serverStream' : 'unary'
}
