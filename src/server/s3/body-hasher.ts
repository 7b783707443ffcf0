/**
 * A large request body's MD5 (the object's or part's ETag) and SHA-256 (checked against
 * `x-amz-content-sha256`) computed on a second core. On the event loop they cost ~2 CPU-s per
 * GiB uploaded, half of the gateway's work for an upload, and the loop is the gateway's one
 * thread: while it hashes it neither reads the sockets nor chunks what arrived, so the client,
 * the chunker and the hashes take turns. Here the loop copies each piece of the body into a
 * block of shared memory (~0.1 s per GiB) and one worker thread hashes the blocks in order
 * while the body goes on streaming into the store.
 *
 * Concepts: a `BodyHashStream` is one body's hashing; its blocks (1 MiB SharedArrayBuffers)
 * go to the worker as they fill, and come back to a small free list once hashed. At most
 * MAX_IN_FLIGHT blocks, of all bodies together, wait for the worker: beyond that `update`
 * returns a promise the body's reader awaits (backpressure to the sockets, so a slow worker
 * never queues an upload, nor ten parallel parts, in memory); waiting readers go on in turn.
 *
 * Invariants: the digests are those of exactly the bytes given to `update`, in order (the
 * worker receives one body's messages in the order they were sent); `digest()` settles only
 * after every block of that body was hashed. A worker that dies rejects every waiting digest
 * and wait: the upload fails (nothing is stored), it never passes unchecked; the next body
 * starts a new worker. The worker's
 * source is a string run with `eval` (pach is one bundled file; see core/archive/hasher.ts).
 */
import {createHash} from 'node:crypto'
import {Worker} from 'node:worker_threads'

/** Bodies at least this long are hashed off the event loop (smaller ones: not worth a message). */
export const OFFLOAD_MIN_BYTES = 1024 * 1024
const BLOCK = 1024 * 1024
const MAX_IN_FLIGHT = 16
const FREE_BLOCKS = 16

const WORKER_SOURCE = `
const {parentPort} = require('node:worker_threads')
const {createHash} = require('node:crypto')
const bodies = new Map()
parentPort.on('message', (m) => {
  if (m.t === 'begin') bodies.set(m.id, {md5: createHash('md5'), sha256: m.sha256 ? createHash('sha256') : null})
  else if (m.t === 'block') {
    const b = bodies.get(m.id)
    if (b) {
      const v = Buffer.from(m.buf, 0, m.len)
      b.md5.update(v)
      if (b.sha256) b.sha256.update(v)
    }
    parentPort.postMessage({t: 'hashed', id: m.id, buf: m.buf})
  } else if (m.t === 'end') {
    const b = bodies.get(m.id)
    bodies.delete(m.id)
    if (b) parentPort.postMessage({t: 'digest', id: m.id, md5: b.md5.digest(), sha256: b.sha256 ? b.sha256.digest() : null})
  } else if (m.t === 'drop') bodies.delete(m.id)
})
`

export interface BodyDigests {
  md5: Buffer
  /** only when the stream was begun with `sha256: true` */
  sha256?: Buffer
}

type HashedMsg = {t: 'hashed'; id: number; buf: SharedArrayBuffer}
type DigestMsg = {t: 'digest'; id: number; md5: Uint8Array; sha256: Uint8Array | null}

interface BodyState {
  /** set when the worker hashing this body died */
  error?: unknown
  digest?: {resolve: (d: BodyDigests) => void; reject: (e: unknown) => void}
}

/** One body's hashing: on the worker (BodyHasher.begin) or on the event loop (inlineBodyHash). */
export interface BodyHashStream {
  /** add bytes (copied at once: `b` may be reused); a promise when the reader should wait for room */
  update(b: Uint8Array): Promise<void> | undefined
  /** the digests of every byte given, once they are all hashed */
  digest(): Promise<BodyDigests>
  /** forget this body (it failed or was abandoned) */
  drop(): void
}

/** A small body's hashing, done at once on the event loop (never a wait). */
export function inlineBodyHash(opts: {sha256: boolean}): BodyHashStream {
  const md5 = createHash('md5')
  const sha256 = opts.sha256 ? createHash('sha256') : undefined
  return {
    update: (b) => {
      md5.update(b)
      sha256?.update(b)
      return undefined
    },
    digest: async () => ({md5: md5.digest(), ...(sha256 && {sha256: sha256.digest()})}),
    drop: () => {},
  }
}

export class BodyHasher {
  private worker: Worker | undefined
  /** set by close(): no worker starts again */
  private closed: unknown
  private nextId = 0
  private readonly bodies = new Map<number, BodyState>()
  private readonly free: SharedArrayBuffer[] = []
  /** blocks posted to the worker and not yet hashed, all bodies together */
  private inFlight = 0
  /** readers waiting for room, in turn */
  private readonly waiting: {resolve: () => void; reject: (e: unknown) => void}[] = []

  begin(opts: {sha256: boolean}): BodyHashStream {
    const w = this.start()
    const id = this.nextId++
    const state: BodyState = {}
    this.bodies.set(id, state)
    w.postMessage({t: 'begin', id, sha256: opts.sha256})
    let block: SharedArrayBuffer | undefined
    let view: Uint8Array | undefined
    let fill = 0
    const send = () => {
      if (!block || fill === 0) return
      this.inFlight++
      w.postMessage({t: 'block', id, buf: block, len: fill})
      block = view = undefined
      fill = 0
    }
    return {
      update: (b) => {
        if (state.error) throw state.error
        let at = 0
        while (at < b.length) {
          if (!block) {
            block = this.free.pop() ?? new SharedArrayBuffer(BLOCK)
            view = new Uint8Array(block)
          }
          const n = Math.min(BLOCK - fill, b.length - at)
          view!.set(b.subarray(at, at + n), fill)
          fill += n
          at += n
          if (fill === BLOCK) send()
        }
        if (this.inFlight < MAX_IN_FLIGHT) return undefined
        return new Promise<void>((resolve, reject) => this.waiting.push({resolve, reject}))
      },
      digest: () => {
        if (state.error) return Promise.reject(state.error)
        send()
        return new Promise<BodyDigests>((resolve, reject) => {
          state.digest = {resolve, reject}
          w.postMessage({t: 'end', id})
        })
      },
      drop: () => {
        if (this.bodies.delete(id) && !state.error) w.postMessage({t: 'drop', id})
      },
    }
  }

  /** Stop the worker (the gateway closes); waiting bodies fail. */
  async close(): Promise<void> {
    this.closed ??= new Error('the S3 body hashing worker was closed')
    const w = this.worker
    this.worker = undefined
    this.failAll(this.closed)
    await w?.terminate()
  }

  private start(): Worker {
    if (this.closed) throw this.closed
    if (this.worker) return this.worker
    const w = new Worker(WORKER_SOURCE, {eval: true})
    // an idle worker does not keep the process alive; a body being hashed has its socket open
    w.unref()
    w.on('message', (m: HashedMsg | DigestMsg) => {
      const s = this.bodies.get(m.id)
      if (m.t === 'hashed') {
        if (this.free.length < FREE_BLOCKS) this.free.push(m.buf)
        this.inFlight--
        while (this.inFlight < MAX_IN_FLIGHT && this.waiting.length) this.waiting.shift()!.resolve()
        return
      }
      this.bodies.delete(m.id)
      s?.digest?.resolve({md5: Buffer.from(m.md5.buffer, m.md5.byteOffset, m.md5.byteLength), ...(m.sha256 && {sha256: Buffer.from(m.sha256.buffer, m.sha256.byteOffset, m.sha256.byteLength)})})
    })
    // the bodies it was hashing fail; the next body starts a new worker
    const fail = (e: unknown) => {
      if (this.worker !== w) return
      this.worker = undefined
      this.failAll(e)
    }
    w.on('error', fail)
    w.on('exit', (code) => fail(new Error(`the S3 body hashing worker exited (${code})`)))
    this.worker = w
    return w
  }

  private failAll(e: unknown): void {
    for (const s of this.bodies.values()) {
      s.error = e
      s.digest?.reject(e)
    }
    this.bodies.clear()
    // the blocks a dead worker held are not coming back
    this.inFlight = 0
    for (const r of this.waiting.splice(0)) r.reject(e)
  }
}
