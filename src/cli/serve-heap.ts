/**
 * V8's heap sizing for `pach serve`, the one long-running process that moves gigabytes through
 * short-lived buffers (HTTP/2 frames and S3 request bodies, 64 KiB each, held until their chunk
 * is hashed and written).
 *
 * Why: V8 starts a full (mark-compact) collection when the old generation, ArrayBuffer bytes
 * included, passes a limit it sets after each collection from the live size and a growing
 * factor it picks from its own speed measurements. For the server's small live heap (~20 MB)
 * it picks a factor so close to 1 that the buffers in flight cross the limit every 20 MiB or
 * so: ~50 full collections per GiB put through ModifyFile (`--trace-gc`), ~0.8 CPU-s of
 * marking on V8's helper threads and ~0.3 s of pauses on the main thread — a fifth of the
 * server's CPU for a put. A fixed factor of 3 (heap-growing-percent 200, within the range V8
 * picks from on its own, up to 4) leaves ~3 per GiB; the peak RSS while 4 GiB stream in stays
 * within its target (bench/serve.mjs).
 *
 * The flag is set at run time (`v8.setFlagsFromString`), which V8 reads at each collection,
 * because the single executable cannot take V8 flags on its command line and NODE_OPTIONS
 * does not admit heap-sizing flags other than the maximum.
 */
import {setFlagsFromString} from 'node:v8'

const SERVE_HEAP_FLAGS = '--heap-growing-percent=200'

/** Apply SERVE_HEAP_FLAGS to this process (the one that serves). */
export function tuneServeHeap(): void {
  setFlagsFromString(SERVE_HEAP_FLAGS)
}
