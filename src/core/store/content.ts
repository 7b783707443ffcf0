/**
 * File content = an ordered list of blob ids (chunks), plus its size and content hash.
 *
 * Invariants:
 * - the chunk list is a pure function of the bytes (content-defined chunking restarts at
 *   every cut), so equal content has equal chunks and an equal hash, whether it was written
 *   whole or appended piecewise: appends re-chunk from the start of the last chunk.
 * - the content hash is sha256 over the concatenated chunk ids (hash.ts `contentHash`); it
 *   costs nothing extra at ingest since every chunk is hashed anyway.
 * - reading verifies every blob (BlobStore.readBlob).
 */
import {Readable} from 'node:stream'
import {CorruptObjectError} from '../errors.js'
import {chunkPieces, chunkStream, type ChunkerParams} from './chunker.js'
import {contentHash, sha256} from './hash.js'
import {blobLength, type BlobStore, type PackWriter} from './pack-store.js'

export interface FileContent {
  size: number
  hash: Buffer
  chunks: Buffer[]
  /** byte length of each chunk (parallel to chunks) */
  sizes: number[]
}

export interface WriteProgress {
  (bytes: number): void
}

/** A content (or a file entry's content) as compact text: hex hash and chunk ids (a job's scratch tables keep it so). */
export const contentText = (c: FileContent) => JSON.stringify({h: c.hash.toString('hex'), s: c.size, c: c.chunks.map((x) => x.toString('hex')), z: c.sizes})

/** The content contentText wrote. */
export function contentFromText(text: string): FileContent {
  const o = JSON.parse(text) as {h: string; s: number; c: string[]; z: number[]}
  return {hash: Buffer.from(o.h, 'hex'), size: o.s, chunks: o.c.map((x) => Buffer.from(x, 'hex')), sizes: o.z}
}

/** The content of an empty file (no chunks; nothing to store). */
export function emptyContent(): FileContent {
  return {size: 0, hash: contentHash([]), chunks: [], sizes: []}
}

/** Content of bytes that fit in one chunk (at most the chunker's minimum size): hashed in place. */
export function smallContent(buf: Buffer, writer: PackWriter): FileContent {
  if (buf.length === 0) return emptyContent()
  const id = sha256(buf)
  writer.add(id, buf)
  return {size: buf.length, hash: contentHash([id]), chunks: [id], sizes: [buf.length]}
}

/** Store bytes held in memory: one chunk when small, else chunked like a stream. */
export async function bufferContent(buf: Buffer, writer: PackWriter, params: ChunkerParams): Promise<FileContent> {
  if (buf.length <= params.minSize) {
    // drained like every other writer of small blobs: a job's 100,000 meta records held
    // every byte in the writer until its close (165 MB at 100,000 datums)
    const c = smallContent(buf, writer)
    if (writer.full) await writer.drain()
    return c
  }
  const c = await writeContent(
    (async function* () {
      yield buf
    })(),
    writer,
    params,
  )
  if (writer.full) await writer.drain()
  return c
}

/**
 * Chunk, hash and store a byte stream. A chunk is stored as views of the source blocks it spans
 * (chunkPieces): no copy, no fresh memory; the writer keeps them until they are appended to a
 * pack (one writev), so a source must never reuse a block's memory (Node streams do not).
 * Hashing is synchronous on this thread (SHA-NI): measured on 256 MiB, a thread-pool or worker
 * hash saved nothing on a busy 2-core machine, and its copies or messages cost more than it
 * overlapped (bench/README.md, "Reading the run" under the dedup results).
 */
export async function writeContent(
  source: AsyncIterable<Uint8Array>,
  writer: PackWriter,
  params: ChunkerParams,
  onBytes?: WriteProgress,
  signal?: AbortSignal,
): Promise<FileContent> {
  const chunks: Buffer[] = []
  const sizes: number[] = []
  let size = 0
  for await (const parts of chunkPieces(source, params)) {
    signal?.throwIfAborted()
    const id = sha256(...parts)
    const data = parts.length === 1 ? parts[0]! : parts
    const n = blobLength(data)
    writer.add(id, data)
    chunks.push(id)
    sizes.push(n)
    size += n
    onBytes?.(n)
    if (writer.full) await writer.drain()
  }
  return {size, hash: contentHash(chunks), chunks, sizes}
}

/**
 * The size and content hash a stream would have once stored (writeContent's), without storing
 * it: to tell whether a local file already equals a stored one.
 */
export async function hashContent(source: AsyncIterable<Uint8Array>, params: ChunkerParams, signal?: AbortSignal): Promise<{size: number; hash: Buffer}> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of chunkStream(source, params, {views: true})) {
    signal?.throwIfAborted()
    chunks.push(sha256(chunk))
    size += chunk.length
  }
  return {size, hash: contentHash(chunks)}
}

/**
 * Append a stream to existing content: the last chunk is re-read and re-chunked together with
 * the new bytes so the result equals chunking the concatenation.
 */
export async function appendContent(
  existing: FileContent,
  source: AsyncIterable<Uint8Array>,
  writer: PackWriter,
  params: ChunkerParams,
  onBytes?: WriteProgress,
  signal?: AbortSignal,
): Promise<FileContent> {
  if (existing.chunks.length === 0) return writeContent(source, writer, params, onBytes, signal)
  const keep = existing.chunks.slice(0, -1)
  const keepSizes = existing.sizes.slice(0, -1)
  const last = writer.read(existing.chunks[existing.chunks.length - 1]!)
  async function* joined(): AsyncGenerator<Uint8Array> {
    yield last
    yield* source
  }
  const tail = await writeContent(joined(), writer, params, (n) => onBytes?.(n), signal)
  const chunks = [...keep, ...tail.chunks]
  const sizes = [...keepSizes, ...tail.sizes]
  const size = keepSizes.reduce((a, b) => a + b, 0) + tail.size
  return {size, hash: contentHash(chunks), chunks, sizes}
}

/**
 * The content of several stored contents joined end to end (an S3 multipart upload's parts,
 * each chunked on its own as it arrived), equal to what chunking the joined bytes in one stream
 * gives: the same chunks, so the same hash as `put` of those bytes. Only the bytes around each
 * seam are read. By the restart invariant (chunker.ts), every cut of what is joined so far
 * stands except its last (an end-of-input cut); chunking restarts at the start of that last
 * chunk and runs on into the next part until a new cut falls on one of the part's own cuts:
 * from there both chunkings agree, and the part's remaining chunks are taken as they are. With
 * fastcdc-gear32-v2 that happens within a chunk or two; at worst (no cut ever agrees, more
 * likely with v1's sizes) the whole part is re-chunked, which is still correct. New chunks
 * (around the seams) go to `writer`; the parts' chunks must stay stored meanwhile (staged.ts).
 */
export async function concatContent(parts: readonly FileContent[], writer: PackWriter, params: ChunkerParams, signal?: AbortSignal): Promise<FileContent> {
  const chunks: Buffer[] = []
  const sizes: number[] = []
  for (const part of parts) {
    signal?.throwIfAborted()
    if (part.chunks.length === 0) continue
    if (chunks.length === 0) {
      chunks.push(...part.chunks)
      sizes.push(...part.sizes)
      continue
    }
    const lastId = chunks.pop()!
    const lastSize = sizes.pop()!
    // the re-chunked bytes: the joined content's last chunk, then the part's chunks in order
    async function* seam(): AsyncGenerator<Uint8Array> {
      yield writer.read(lastId)
      for (const id of part.chunks) yield writer.read(id)
    }
    let pos = -lastSize // end of the chunks made so far, relative to the part's start
    let j = 0 // the part's chunk whose end is the first at or past `pos`
    let end = part.sizes[0]!
    let rest = part.chunks.length // the part's chunks not re-chunked (kept as they are)
    for await (const c of chunkStream(seam(), params, {views: true})) {
      const id = sha256(c)
      writer.add(id, c)
      chunks.push(id)
      sizes.push(c.length)
      pos += c.length
      while (end < pos && j < part.sizes.length - 1) end += part.sizes[++j]!
      if (writer.full) await writer.drain()
      if (pos === 0 || pos === end) {
        // the part's start or a cut of its own: the rest of its chunks agree (the source is closed here)
        rest = pos === 0 ? 0 : j + 1
        break
      }
    }
    chunks.push(...part.chunks.slice(rest))
    sizes.push(...part.sizes.slice(rest))
  }
  let size = 0
  for (const s of sizes) size += s
  return {size, hash: contentHash(chunks), chunks, sizes}
}

/**
 * Stream a file's bytes, verifying each blob; `offset` skips leading bytes and `end` (exclusive,
 * default: the size) stops the stream there, so a range reads only the chunks it covers. `what`
 * names the file in a CorruptObjectError ("file /a in repo@commit"). Chunks are read in batches
 * of up to READ_BATCH bytes (BlobStore.readBlobs: one read per run of chunks side by side in a
 * pack, each chunk still verified), not one read and one buffer per chunk.
 */
export function readContent(store: BlobStore, content: Pick<FileContent, 'chunks' | 'sizes'>, offset = 0, what?: string, end?: number): Readable {
  const batches = contentBatches(store, content, offset, what, end)
  return new Readable({
    highWaterMark: 4 * 1024 * 1024,
    read() {
      try {
        const r = batches.next()
        if (r.done) return void this.push(null)
        for (const buf of r.value) this.push(buf)
      } catch (e) {
        this.destroy(e as Error)
      }
    },
  })
}

/**
 * readContent's bytes as a generator of batches (each the verified blobs of one store read, as
 * views of what was read): for a consumer that takes blocks as they are. A Readable in byte
 * mode joins what it buffered into one new Buffer on each read() (its async iterator's way),
 * one copy of every byte (a 1 GiB GetFile spent ~0.9 s of its server CPU there).
 */
export function* contentBatches(store: BlobStore, content: Pick<FileContent, 'chunks' | 'sizes'>, offset = 0, what?: string, end?: number): Generator<Buffer[]> {
  let i = 0
  let skip = offset
  while (i < content.chunks.length && skip >= content.sizes[i]!) {
    skip -= content.sizes[i]!
    i++
  }
  // bytes still to give
  let left = end === undefined ? Infinity : Math.max(0, end - offset)
  while (i < content.chunks.length && left > 0) {
    const ids: Buffer[] = []
    let batch = 0
    while (i < content.chunks.length && (ids.length === 0 || batch + content.sizes[i]! <= READ_BATCH) && batch - skip < left) {
      batch += content.sizes[i]!
      ids.push(content.chunks[i++]!)
    }
    let bufs: Buffer[]
    try {
      bufs = ids.length === 1 ? [store.readBlob(ids[0]!)] : store.readBlobs(ids)
    } catch (e) {
      throw what ? naming(e, what) : e
    }
    const out: Buffer[] = []
    for (let buf of bufs) {
      if (left <= 0) break
      if (skip > 0) {
        buf = buf.subarray(skip)
        skip = 0
      }
      if (buf.length > left) buf = buf.subarray(0, left)
      left -= buf.length
      if (buf.length > 0) out.push(buf)
    }
    yield out
  }
}

/** How many bytes of chunks readContent reads at once (about one 8 MiB S3 range or pack run). */
const READ_BATCH = 2 * 1024 * 1024

/** Read a whole (small) file into memory; `what` as in readContent. */
export function readContentSync(store: BlobStore, content: Pick<FileContent, 'chunks'>, what?: string): Buffer {
  try {
    // one chunk (most files): the blob itself, no copy
    if (content.chunks.length === 1) return store.readBlob(content.chunks[0]!)
    return Buffer.concat(content.chunks.map((c) => store.readBlob(c)))
  } catch (e) {
    throw what ? naming(e, what) : e
  }
}

/** A CorruptObjectError that names the file it hit (other errors unchanged). */
function naming(e: unknown, what: string): Error {
  if (!(e instanceof CorruptObjectError)) return e as Error
  return new CorruptObjectError(`${what} cannot be read: ${e.message}`, {data: {...e.data, file: what}, cause: e})
}
