/**
 * The pach archive (`pach export` / `pach import`): one self-describing file holding a set of
 * repos' metadata and exactly the stored objects it needs, written and read as a stream (no
 * seeking; memory bounded by one frame, or by the read pool of a file), in which truncation or
 * damage anywhere is detected before an importer makes anything visible. docs/format.md
 * "Archives" describes the layout:
 *
 *   "PACHARC1" | frame* | "PACHARCE"                    frame = kind u8 | length u32be | payload
 *   header section:  H {format, version, pach_version, schema, …}        E {section:"header", …}
 *   records section: R {t: table, row} …                                  E {section:"records", …}
 *   objects section: B blob | T tree | D datum node (id [32] | bytes) …   E {section:"objects", …}
 *   trailer:         Z {records, blobs, trees, datum_nodes, blob_bytes, bytes, digest}
 *
 * Checksums. Each section ends with an E frame carrying the count of its frames and its
 * digest: SHA-256 over its frames' bytes, except that an object frame contributes only its
 * 5-byte head and its 32-byte id — an object's bytes are certified by the id itself (SHA-256
 * of the bytes, checked for every object on read), so no byte is hashed twice. The trailer's
 * digest is SHA-256 over the magic and every E frame, so it covers every section's digest and
 * thereby the whole archive; `bytes` is the archive's length up to the trailer frame. A reader
 * checks all of it, then the end magic and the end of the input: a cut at any point, a
 * flipped bit anywhere and bytes appended after the end are each refused (ARCHIVE_DAMAGED).
 *
 * Invariant: `readArchive` yields a frame only after checking what can be checked of it so
 * far; a consumer may act on frames as they come only in ways it can undo (write unreferenced
 * objects, fill a spool) and must make nothing visible until the iteration ends normally,
 * which is when the trailer has verified.
 */
import {createHash, type Hash} from 'node:crypto'
import {CorruptObjectError, InvalidArgumentError} from '../errors.js'
import {isPooled, type PooledSource} from './blocks.js'
import {ObjectHasher, payloadMatches} from './hasher.js'

export const ARCHIVE_MAGIC = Buffer.from('PACHARC1')
export const ARCHIVE_END = Buffer.from('PACHARCE')
export const ARCHIVE_FORMAT = 'pach-archive'
export const ARCHIVE_VERSION = 1
/** no frame is larger (a record is a row; an object a chunk ≤ 4 MiB or a tree node) */
export const MAX_FRAME = 256 * 1024 * 1024

export const KIND = {header: 0x48, record: 0x52, blob: 0x42, tree: 0x54, datumNode: 0x44, sectionEnd: 0x45, trailer: 0x5a} as const
export type ObjectKind = 'blob' | 'tree' | 'datumNode'
const OBJECT_KINDS = new Map<number, ObjectKind>([
  [KIND.blob, 'blob'],
  [KIND.tree, 'tree'],
  [KIND.datumNode, 'datumNode'],
])
const OBJECT_BYTE: Record<ObjectKind, number> = {blob: KIND.blob, tree: KIND.tree, datumNode: KIND.datumNode}
export const SECTIONS = ['header', 'records', 'objects'] as const
export type SectionName = (typeof SECTIONS)[number]

export interface ArchiveHeader {
  format: string
  version: number
  pach_version: string
  /** the SQLite schema version the records' columns come from */
  schema: number
  created: string
  /** the source store's chunker (config.json), so an importer can say when its own differs */
  chunker: Record<string, unknown>
  /** "all", or the repos asked for and those added because they are provenance of them */
  scope: {all: boolean; requested: string[]; added_by_provenance: string[]}
  /** secrets the archived pipelines read; their values are never archived */
  secrets_needed: string[]
}

/** One metadata row: `t` its table, `row` its columns (local ids replaced by keys, blobs as {$hex}). */
export interface ArchiveRecord {
  t: string
  row: Record<string, unknown>
}

export interface SectionEnd {
  section: SectionName
  frames: number
  digest: string
}

export interface ArchiveTotals {
  records: number
  blobs: number
  trees: number
  datum_nodes: number
  blob_bytes: number
}

export interface Trailer extends ArchiveTotals {
  /** archive length up to (not including) the trailer frame */
  bytes: number
  /** SHA-256 over the magic and every section-end frame */
  digest: string
}

/** What `pach export` and `pach import` both say of an archive (the start of each one's `--json` summary). */
export interface ArchiveSummary extends Omit<Trailer, 'records'> {
  format: string
  version: number
  repos: string[]
  /** secrets the archived pipelines read; their values are never archived */
  secrets_needed: string[]
}

/** What an archive is read from: chunks of bytes (a stream, stdin), or a pool of reused blocks (blocks.ts). */
export type ArchiveInput = AsyncIterable<Buffer | Uint8Array | string> | PooledSource

export type ArchiveFrame = {kind: 'header'; header: ArchiveHeader} | {kind: 'record'; record: ArchiveRecord} | {kind: 'object'; type: ObjectKind; id: Buffer; data: Buffer}

function head(kind: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(5)
  h[0] = kind
  h.writeUInt32BE(length, 1)
  return h
}

/** JSON with Buffers written as {"$hex": …}; `reviveBuffers` undoes it. */
export function encodeJson(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && (x as {type?: string}).type === 'Buffer' && Array.isArray((x as {data?: unknown}).data) ? {$hex: Buffer.from((x as {data: number[]}).data).toString('hex')} : x)))
}

export function reviveBuffers(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(row)) {
    out[k] = v && typeof v === 'object' && typeof (v as {$hex?: unknown}).$hex === 'string' ? Buffer.from((v as {$hex: string}).$hex, 'hex') : v
  }
  return out
}

/**
 * Bytes gathered before they go to `out`. Larger batches are slower, not faster: measured on
 * Linux/ext4 (2026-12), a 1 GiB export written in 8 MiB pwritev calls spent 1.2–1.8 s of
 * system time, in 1 MiB calls ~0.5 s (what tar's 10 KiB writes take).
 */
const FLUSH_AT = 1024 * 1024

/**
 * Writes an archive through `out` (called with ~1 MiB batches of buffers, in order, awaited:
 * the sink's backpressure; the buffers are not copied into one, and not reused after). Call header, then records, then objects, then finish; each section is
 * closed when the next begins.
 */
export class ArchiveWriter {
  private pending: Buffer[] = []
  private pendingBytes = 0
  private section: SectionName | undefined
  private sectionHash: Hash = createHash('sha256')
  private sectionFrames = 0
  private readonly archiveHash = createHash('sha256')
  private bytes = 0
  readonly totals: ArchiveTotals = {records: 0, blobs: 0, trees: 0, datum_nodes: 0, blob_bytes: 0}

  constructor(private readonly out: (bufs: Buffer[]) => Promise<void>) {}

  private push(...bufs: Buffer[]): void {
    for (const b of bufs) {
      this.pending.push(b)
      this.pendingBytes += b.length
      this.bytes += b.length
    }
  }

  private async flushIfFull(): Promise<void> {
    if (this.pendingBytes >= FLUSH_AT) await this.flush()
  }

  /** Bytes handed to `out` so far. */
  flushed = 0

  /** Hand everything buffered to `out` now. */
  async flush(): Promise<void> {
    if (!this.pending.length) return
    this.flushed += this.pendingBytes
    const bufs = this.pending
    this.pending = []
    this.pendingBytes = 0
    await this.out(bufs)
  }

  /** Close the open section (if any) and open `next`, closing any section skipped on the way. */
  private enter(next: SectionName | 'trailer'): void {
    const order = [...SECTIONS, 'trailer'] as const
    const to = order.indexOf(next)
    for (;;) {
      const at = this.section === undefined ? -1 : order.indexOf(this.section)
      if (at === to) return
      if (at > to) throw new Error(`archive writer: ${next} after ${this.section}`)
      if (this.section !== undefined) {
        const end = encodeJson({section: this.section, frames: this.sectionFrames, digest: this.sectionHash.digest('hex')} satisfies SectionEnd)
        const h = head(KIND.sectionEnd, end.length)
        this.archiveHash.update(h).update(end)
        this.push(h, end)
      }
      const n = order[at + 1]!
      if (n === 'trailer') {
        this.section = undefined
        return
      }
      this.section = n
      this.sectionHash = createHash('sha256')
      this.sectionFrames = 0
    }
  }

  private frame(kind: number, payload: Buffer): void {
    const h = head(kind, payload.length)
    this.sectionHash.update(h).update(payload)
    this.sectionFrames++
    this.push(h, payload)
  }

  async header(h: ArchiveHeader): Promise<void> {
    if (this.bytes !== 0) throw new Error('archive writer: header twice')
    this.push(ARCHIVE_MAGIC)
    this.archiveHash.update(ARCHIVE_MAGIC)
    this.enter('header')
    this.frame(KIND.header, encodeJson(h))
    await this.flushIfFull()
  }

  async record(r: ArchiveRecord): Promise<void> {
    this.enter('records')
    this.frame(KIND.record, encodeJson(r))
    this.totals.records++
    await this.flushIfFull()
  }

  /** An object: `id` must be SHA-256 of `data` (readers refuse it otherwise). */
  async object(type: ObjectKind, id: Buffer, data: Buffer): Promise<void> {
    this.enter('objects')
    // the frame head and the id in one buffer (one iovec fewer per chunk), the bytes as given
    const hid = Buffer.allocUnsafe(5 + id.length)
    hid[0] = OBJECT_BYTE[type]
    hid.writeUInt32BE(id.length + data.length, 1)
    id.copy(hid, 5)
    this.sectionHash.update(hid)
    this.sectionFrames++
    this.push(hid, data)
    if (type === 'blob') {
      this.totals.blobs++
      this.totals.blob_bytes += data.length
    } else if (type === 'tree') this.totals.trees++
    else this.totals.datum_nodes++
    await this.flushIfFull()
  }

  /** Close the last section, write the trailer and the end magic, flush. Returns the trailer. */
  async finish(): Promise<Trailer> {
    this.enter('trailer')
    const trailer: Trailer = {...this.totals, bytes: this.bytes, digest: this.archiveHash.digest('hex')}
    const z = encodeJson(trailer)
    this.push(head(KIND.trailer, z.length), z, ARCHIVE_END)
    await this.flush()
    return trailer
  }

  /** Bytes written so far (buffered included). */
  get size(): number {
    return this.bytes
  }
}

/** The error for an archive that fails verification: exit 12, nothing imported. */
export function damaged(what: string, at?: number): CorruptObjectError {
  return new CorruptObjectError(`the archive is damaged: ${what}${at === undefined ? '' : ` (at byte ${at})`}`, {
    code: 'ARCHIVE_DAMAGED',
    hint: 'nothing was imported; use an intact copy of the archive (or export it again)',
    data: at === undefined ? {} : {offset: at},
  })
}

/**
 * Pulls exact byte counts from a sequence of chunks, without copying when a chunk holds them.
 * Over a pooled source (blocks.ts) it holds the chunk it reads from (`hold`, `unhold` when it
 * moves past it); `lastChunk` names the chunk a `read` returned a view of (undefined when the
 * bytes were gathered from several into a buffer of their own, then a SharedArrayBuffer so the
 * hashing worker can read it too).
 */
class ByteSource {
  private buf: Buffer = Buffer.alloc(0)
  private pos = 0
  offset = 0
  private done = false
  /** `buf` is a pooled chunk this source holds */
  private held = false
  lastChunk: Buffer | undefined

  constructor(
    private readonly nextChunk: () => Promise<Buffer | null>,
    private readonly pool?: {hold(c: Buffer): void; unhold(c: Buffer): void},
  ) {}

  private async more(): Promise<boolean> {
    if (this.done) return false
    const c = await this.nextChunk()
    if (!c) {
      this.done = true
      return false
    }
    this.pool?.hold(c)
    const [old, oldHeld] = [this.buf, this.held]
    if (this.pos < old.length) {
      // (not reached by read or atEnd, which consume the chunk first; kept for safety)
      this.buf = Buffer.concat([old.subarray(this.pos), c])
      this.held = false
      this.pool?.unhold(c)
    } else {
      this.buf = c
      this.held = this.pool !== undefined
    }
    this.pos = 0
    if (oldHeld) this.pool!.unhold(old)
    return true
  }

  /** Exactly n bytes, or null when the input ends first (having consumed what there was). */
  async read(n: number): Promise<Buffer | null> {
    if (this.buf.length - this.pos >= n) {
      const out = this.buf.subarray(this.pos, this.pos + n)
      this.pos += n
      this.offset += n
      this.lastChunk = this.held ? this.buf : undefined
      return out
    }
    // gather the rest from several chunks into one buffer
    const out = this.pool ? Buffer.from(new SharedArrayBuffer(n)) : Buffer.allocUnsafe(n)
    this.lastChunk = undefined
    let got = 0
    for (;;) {
      const take = Math.min(n - got, this.buf.length - this.pos)
      this.buf.copy(out, got, this.pos, this.pos + take)
      this.pos += take
      got += take
      this.offset += take
      if (got === n) return out
      if (!(await this.more())) return null
    }
  }

  async atEnd(): Promise<boolean> {
    while (this.pos >= this.buf.length) if (!(await this.more())) return true
    return false
  }
}

function mismatch(o: {type: ObjectKind; payload: Buffer; at: number}): CorruptObjectError {
  return damaged(`${o.type === 'datumNode' ? 'datum node' : o.type} ${o.payload.subarray(0, 32).toString('hex')} does not match its hash`, o.at)
}

function parseJson<T>(payload: Buffer, what: string, at: number): T {
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object')
    return v as T
  } catch {
    throw damaged(`the ${what} is not valid JSON`, at)
  }
}

/**
 * Read and verify an archive, yielding its header, records and objects in order. Throws
 * NOT_AN_ARCHIVE (exit 2) for input that does not start like one, FORMAT_TOO_NEW for a newer
 * archive version, ARCHIVE_DAMAGED (exit 12) for anything that fails verification — possibly
 * after frames were yielded (see the header: act on them only in undoable ways). Normal
 * completion of the iteration means the whole archive verified; `result.trailer` is then set.
 *
 * From a pooled source (blocks.ts: a file read into reused SharedArrayBuffer blocks) object
 * frames are verified in batches (about OBJECT_BATCH bytes, or BATCH_CHUNKS blocks) by a
 * worker thread (hasher.ts) while the next batch is read: a batch is yielded once the worker
 * has passed all of it, so the invariant above holds unchanged. Its frames' bytes are views
 * of the pool's blocks; a block goes back to the pool once the reader has moved past it and
 * `opts.settled()` — called when the consumer has taken the last frame of a batch — has
 * resolved, which says the consumer holds none of the bytes yielded so far (the importer's
 * pack writer has written them), or rejected, which says it failed and will not touch them.
 * Without `settled` a consumer must copy what it keeps before taking the next frame. From any
 * other input every object is hashed here, before its frame is yielded.
 */
export async function* readArchive(input: ArchiveInput, result: {trailer?: Trailer; size?: number} = {}, opts: {settled?: () => Promise<void>} = {}): AsyncGenerator<ArchiveFrame> {
  const pooled = isPooled(input) ? input : undefined
  const holds = new Map<Buffer, number>()
  const pool = pooled && {
    hold: (c: Buffer) => void holds.set(c, (holds.get(c) ?? 0) + 1),
    unhold: (c: Buffer) => {
      const n = holds.get(c)! - 1
      if (n > 0) holds.set(c, n)
      else {
        holds.delete(c)
        pooled.release(c)
      }
    },
  }
  let it: AsyncIterator<Buffer | Uint8Array | string> | undefined
  const nextChunk = pooled
    ? () => pooled.next()
    : async () => {
        it ??= (input as AsyncIterable<Buffer | Uint8Array | string>)[Symbol.asyncIterator]()
        const r = await it.next()
        if (r.done) return null
        const v = r.value
        return typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)
      }
  const hasher = pooled ? new ObjectHasher() : undefined
  try {
    yield* frames(new ByteSource(nextChunk, pool || undefined), result, hasher, pool || undefined, opts.settled)
  } finally {
    await hasher?.close()
    // a refusal stops reading: close the input (a file stream, stdin)
    await it?.return?.().catch(() => {})
  }
}

/** Object bytes verified together in the worker (one batch hashed while the next is read). */
const OBJECT_BATCH = 4 * 1024 * 1024
/** …or fewer when a batch spans this many pooled blocks (what the reader holds stays bounded: see blocks.ts's BLOCKS) */
const BATCH_CHUNKS = 3

interface PendingObject {
  type: ObjectKind
  payload: Buffer
  at: number
}

async function* frames(
  src: ByteSource,
  result: {trailer?: Trailer; size?: number},
  hasher: ObjectHasher | undefined,
  pool: {hold(c: Buffer): void; unhold(c: Buffer): void} | undefined,
  settled: (() => Promise<void>) | undefined,
): AsyncGenerator<ArchiveFrame> {
  let batch: PendingObject[] = []
  let batchBytes = 0
  let batchChunks = new Set<Buffer>()
  const queue: {objects: PendingObject[]; chunks: Set<Buffer>; check: Promise<number>}[] = []
  const seal = () => {
    if (!batch.length) return
    const check = hasher!.verify(batch.map((o) => o.payload))
    check.catch(() => {}) // awaited in deliver (unless a refusal comes first)
    queue.push({objects: batch, chunks: batchChunks, check})
    ;[batch, batchBytes, batchChunks] = [[], 0, new Set()]
  }
  async function* deliver(): AsyncGenerator<ArchiveFrame> {
    const b = queue.shift()!
    const bad = await b.check
    if (bad >= 0) throw mismatch(b.objects[bad]!)
    for (const o of b.objects) yield {kind: 'object', type: o.type, id: o.payload.subarray(0, 32), data: o.payload.subarray(32)}
    // the consumer has taken the whole batch: its blocks go back once it lets go of them, or
    // once it has failed (a pack append that failed writes nothing more; the consumer then
    // throws on its next object, which the reader must be able to read rather than wait for
    // a block forever)
    const back = () => {
      for (const c of b.chunks) pool!.unhold(c)
    }
    ;(settled ? settled() : Promise.resolve()).then(back, back)
  }

  const magic = await src.read(ARCHIVE_MAGIC.length)
  if (!magic || !magic.equals(ARCHIVE_MAGIC)) {
    if (magic && magic.subarray(0, 7).equals(ARCHIVE_MAGIC.subarray(0, 7))) {
      throw new InvalidArgumentError('FORMAT_TOO_NEW', `the archive is of format ${magic.subarray(4).toString('latin1')}, newer than this pach reads (PACHARC1)`, {hint: 'import it with a newer pach'})
    }
    throw new InvalidArgumentError('NOT_AN_ARCHIVE', 'the input is not a pach archive (it does not start with PACHARC1)', {hint: 'give a file written by `pach export`'})
  }
  const archiveHash = createHash('sha256').update(ARCHIVE_MAGIC)
  const totals: ArchiveTotals = {records: 0, blobs: 0, trees: 0, datum_nodes: 0, blob_bytes: 0}
  let section = 0 // index into SECTIONS; SECTIONS.length = trailer expected
  let sectionHash = createHash('sha256')
  let frames = 0

  for (;;) {
    const at = src.offset
    // a copy: reading the payload may move past the block the head is in, which a pooled
    // source then refills (the head is hashed after the payload is read)
    const head5 = await src.read(5)
    const h = head5 && Buffer.from(head5)
    if (!h) throw damaged(section < SECTIONS.length ? `it ends inside its ${SECTIONS[section]} section (truncated)` : 'it ends before its trailer (truncated)', src.offset)
    const kind = h[0]!
    const len = h.readUInt32BE(1)
    if (len > MAX_FRAME) throw damaged(`a frame claims ${len} bytes`, at)
    const payload = await src.read(len)
    if (!payload) throw damaged(`it ends inside a frame (truncated)`, src.offset)

    if (kind === KIND.sectionEnd) {
      if (section >= SECTIONS.length) throw damaged('an unexpected section end', at)
      const end = parseJson<SectionEnd>(payload, 'section end', at)
      const name = SECTIONS[section]!
      if (end.section !== name || end.frames !== frames || end.digest !== sectionHash.digest('hex')) {
        throw damaged(`its ${name} section does not match its checksum`, at)
      }
      if (name === 'header' && frames !== 1) throw damaged('its header section must hold one header', at)
      archiveHash.update(h).update(payload)
      section++
      sectionHash = createHash('sha256')
      frames = 0
      continue
    }
    if (kind === KIND.trailer) {
      if (section !== SECTIONS.length) throw damaged(`its trailer comes before the end of its ${SECTIONS[section]} section`, at)
      const t = parseJson<Trailer>(payload, 'trailer', at)
      const ok =
        t.digest === archiveHash.digest('hex') &&
        t.bytes === at &&
        t.records === totals.records &&
        t.blobs === totals.blobs &&
        t.trees === totals.trees &&
        t.datum_nodes === totals.datum_nodes &&
        t.blob_bytes === totals.blob_bytes
      if (!ok) throw damaged('its trailer does not match its contents', at)
      const end = await src.read(ARCHIVE_END.length)
      if (!end) throw damaged('it ends before its end mark (truncated)', src.offset)
      if (!end.equals(ARCHIVE_END)) throw damaged('its end mark is wrong', src.offset - ARCHIVE_END.length)
      if (!(await src.atEnd())) throw damaged('there are bytes after its end mark', src.offset)
      seal()
      while (queue.length) yield* deliver()
      result.trailer = t
      result.size = src.offset
      return
    }

    const object = OBJECT_KINDS.get(kind)
    const expected: SectionName | undefined = kind === KIND.header ? 'header' : kind === KIND.record ? 'records' : object ? 'objects' : undefined
    if (!expected) throw damaged(`unknown frame kind 0x${kind.toString(16)}`, at)
    if (SECTIONS[section] !== expected) throw damaged(`a ${expected} frame in its ${SECTIONS[section] ?? 'trailer'} section`, at)
    frames++
    if (object) {
      if (len < 32) throw damaged('an object frame shorter than its id', at)
      const id = payload.subarray(0, 32)
      const data = payload.subarray(32)
      sectionHash.update(h).update(id)
      if (object === 'blob') {
        totals.blobs++
        totals.blob_bytes += data.length
      } else if (object === 'tree') totals.trees++
      else totals.datum_nodes++
      if (!hasher) {
        if (!payloadMatches(payload)) throw mismatch({type: object, payload, at})
        yield {kind: 'object', type: object, id, data}
        continue
      }
      batch.push({type: object, payload, at})
      batchBytes += len
      const c = src.lastChunk
      if (c && !batchChunks.has(c)) {
        // the batch holds the block until its consumer lets go (the reader may move past it first)
        batchChunks.add(c)
        pool!.hold(c)
      }
      if (batchBytes >= OBJECT_BATCH || batchChunks.size >= BATCH_CHUNKS) {
        seal()
        // one batch in the worker while the next is read; the one before goes to the consumer
        while (queue.length > 1) yield* deliver()
      }
      continue
    }
    sectionHash.update(h).update(payload)
    if (kind === KIND.header) {
      const header = parseJson<ArchiveHeader>(payload, 'header', at)
      if (header.format !== ARCHIVE_FORMAT) throw new InvalidArgumentError('NOT_AN_ARCHIVE', `the input is not a pach archive (format ${JSON.stringify(header.format)})`)
      if (typeof header.version !== 'number' || header.version > ARCHIVE_VERSION) {
        throw new InvalidArgumentError('FORMAT_TOO_NEW', `the archive is version ${header.version}, newer than this pach reads (${ARCHIVE_VERSION})`, {hint: 'import it with a newer pach'})
      }
      yield {kind: 'header', header}
      continue
    }
    const record = parseJson<ArchiveRecord>(payload, 'record', at)
    if (typeof record.t !== 'string' || !record.row || typeof record.row !== 'object') throw damaged('a record without table or row', at)
    totals.records++
    yield {kind: 'record', record}
  }
}
