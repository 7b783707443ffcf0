/**
 * Checking archive objects against their ids on a second core. An object frame's payload is
 * `id [32] | bytes` and the archive is only as safe as the check that SHA-256(bytes) = id for
 * every one of them (format.ts); on an import that check is most of the CPU (SHA-256 runs at
 * ~1.3 GB/s: ~0.8 s per GiB), and on the main thread it serialises with reading and writing.
 * `ObjectHasher` hands batches of payloads that live in SharedArrayBuffers (the pooled read
 * blocks of blocks.ts) to one worker thread, which hashes them in place — no copy, one
 * message per batch rather than per chunk (WebCrypto's per-call `digest` was tried in an
 * earlier session: copying each chunk and one call per chunk cost more than the hash) — while
 * the main thread reads the next batch and the pack writer writes the previous one. A payload
 * in ordinary memory (a frame gathered across two reads of a stream) is hashed inline.
 * `pach export --verify` uses it the same way for the chunks it reads from packs (export.ts),
 * their ids given beside them.
 *
 * The worker's source is a string run with `eval`: pach is bundled into one file (and into a
 * single executable), where a worker script beside it does not exist. It needs only
 * node:crypto and node:worker_threads.
 *
 * Invariant: `verify` resolves to -1 only when every payload's bytes hash to its id; otherwise
 * to the index of the first that does not (the caller refuses the archive). A worker that dies
 * rejects every pending batch: an error, never a pass.
 */
import {createHash} from 'node:crypto'
import {Worker} from 'node:worker_threads'

const ID = 32

const WORKER_SOURCE = `
const {parentPort} = require('node:worker_threads')
const {createHash} = require('node:crypto')
parentPort.on('message', ({seq, bufs, spec, ids}) => {
  const views = bufs.map((b) => Buffer.from(b))
  const idv = ids && Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength)
  let bad = -1
  for (let i = 0; i < spec.length; i += 3) {
    const v = views[spec[i]]
    const off = spec[i + 1]
    const end = off + spec[i + 2]
    const digest = createHash('sha256').update(v.subarray(idv ? off : off + ${ID}, end)).digest()
    if (!digest.equals(idv ? idv.subarray((i / 3) * ${ID}, (i / 3 + 1) * ${ID}) : v.subarray(off, off + ${ID}))) {
      bad = i / 3
      break
    }
  }
  parentPort.postMessage({seq, bad})
})
`

/** True when the payload's bytes hash to its id (the first 32 bytes). */
export function payloadMatches(payload: Buffer): boolean {
  return createHash('sha256').update(payload.subarray(ID)).digest().equals(payload.subarray(0, ID))
}

export class ObjectHasher {
  private readonly worker: Worker
  private seq = 0
  private readonly waiting = new Map<number, {resolve: (bad: number) => void; reject: (e: unknown) => void}>()
  private dead: unknown

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, {eval: true})
    this.worker.on('message', ({seq, bad}: {seq: number; bad: number}) => {
      const w = this.waiting.get(seq)
      this.waiting.delete(seq)
      w?.resolve(bad)
    })
    const fail = (e: unknown) => {
      this.dead ??= e
      for (const w of this.waiting.values()) w.reject(this.dead)
      this.waiting.clear()
    }
    this.worker.on('error', fail)
    this.worker.on('exit', (code) => fail(new Error(`the hashing worker exited (${code})`)))
  }

  /**
   * Check every payload (`id | bytes`); resolves to the index of the first whose bytes do not
   * hash to its id, or -1. Payloads in SharedArrayBuffers are hashed by the worker, the rest
   * here (before the worker's answer is awaited, so both cores work). With `ids` (an export
   * verifying chunks read from packs, where a chunk's id is not stored beside it) a payload is
   * the bytes alone and `ids[i]` the id they must hash to.
   */
  verify(payloads: readonly Buffer[], ids?: readonly Buffer[]): Promise<number> {
    if (this.dead) return Promise.reject(this.dead)
    const bufs: SharedArrayBuffer[] = []
    const bufIndex = new Map<SharedArrayBuffer, number>()
    const spec: number[] = []
    const shared: number[] = [] // payload index of each spec triple
    const sharedIds: Buffer[] = []
    let inlineBad = -1
    payloads.forEach((p, i) => {
      if (p.buffer instanceof SharedArrayBuffer) {
        let b = bufIndex.get(p.buffer)
        if (b === undefined) bufIndex.set(p.buffer, (b = bufs.push(p.buffer) - 1))
        spec.push(b, p.byteOffset, p.length)
        shared.push(i)
        if (ids) sharedIds.push(ids[i]!)
      } else if (inlineBad < 0 && !(ids ? createHash('sha256').update(p).digest().equals(ids[i]!) : payloadMatches(p))) inlineBad = i
    })
    if (!shared.length) return Promise.resolve(inlineBad)
    const seq = this.seq++
    return new Promise<number>((resolve, reject) => {
      this.waiting.set(seq, {resolve, reject})
      // the ids are copied into the message (32 bytes a chunk)
      this.worker.postMessage({seq, bufs, spec: Float64Array.from(spec), ids: ids ? Buffer.concat(sharedIds) : undefined})
    }).then((bad) => {
      const workerBad = bad < 0 ? -1 : shared[bad]!
      if (workerBad < 0) return inlineBad
      return inlineBad < 0 ? workerBad : Math.min(workerBad, inlineBad)
    })
  }

  async close(): Promise<void> {
    this.dead ??= new Error('the hashing worker was closed')
    await this.worker.terminate()
  }
}
