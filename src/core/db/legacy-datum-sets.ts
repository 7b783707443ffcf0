/**
 * The datum-set format of schemas 3 to 9, kept to read sets stored before schema 10 (which
 * replaced it by the datum tree of db/datum-tree.ts; migration 10 converts every set with
 * readLegacySet) and for the tests that build such databases. Nothing writes it any more.
 *
 * A job's datum set: every datum of the job, in planning order, stored in `job_datums.list`
 * either whole (a snapshot) or as a delta against the set of the job it was planned from.
 *
 * Concept: a job stores full rows (`datums`: inputs, stats, output tree) only for the datums it
 * ran. A datum it skipped points at the job that last ran it (`source`), whose row holds the
 * same inputs and output. So finishing a job with 1 changed datum out of 10,000 writes 1 row;
 * and since the job's set differs from its base job's set only where datums changed, was
 * added or went away, it stores just that difference: O(change), not O(datums).
 *
 * Entry layout (81 bytes, fixed): datum id (32 bytes, the 64-hex id), datum hash (32 bytes),
 * state (1 byte: index in DATUM_STATES, the order of pachctl's DatumState names we store),
 * source job id (16 bytes, the 32-hex job id).
 *
 * Snapshot: the entries in order, nothing else (the schema-3 format; `job_datums.base` NULL).
 *
 * Delta (`job_datums.base` = the job whose set it edits), all counts LEB128 varints:
 *   version byte 1 | n (entries of the resulting set) | flags byte (bit 0: "flip")
 *   | drops: count, then 32-byte datum ids — base entries that are gone (or move, see runs)
 *   | sets: count, then entries — base entries that stay in place with other fields
 *   | runs: count, then per run an anchor (byte 0 = at the head; 1 = after the 32-byte id that
 *     follows) and count, then entries — new entries, inserted in that order after the anchor.
 * Applied in that order (drops, sets, runs in the set's order), every op names a datum id, so
 * applying a delta costs O(its size) on a linked list keyed by id, not O(datums).
 * "flip": every base entry the delta does not name becomes SKIPPED. A job's entries for datums
 * it skipped are its base's entries with state SKIPPED, so after a job that ran every datum the
 * next job's set is "all SKIPPED but the one it ran": one flag and one entry, not N.
 * The encoder aligns the new order with the base's greedily (a base entry is kept in place when
 * it comes after the last kept one); anything out of that order is dropped and re-inserted, so
 * any order round-trips exactly, and the planner's orders (a full plan's, or planFromChanges':
 * the base order with replaced datums in place and new ones appended) cost O(change).
 *
 * Chains (db/datums.ts putDatumSet decides): a set is a delta when its base job has a set, the
 * chain from the snapshot stays at most MAX_CHAIN deltas long, and the chain's delta bytes stay
 * at most half the snapshot this set would be. So reading a set reads at most 1.5× a snapshot's
 * bytes in at most MAX_CHAIN + 1 row lookups, and the snapshots cost at most twice the deltas
 * that follow them (storage stays O(change) amortised). MAX_CHAIN = 4096 bounds the lookups
 * (point reads of a few µs: ~10-20 ms at the bound) where the byte rule alone would allow tens
 * of thousands of 1-change deltas; at that bound a snapshot every 4096 jobs adds 81·N/4096
 * bytes per job (2 KiB at N = 100,000, 20 KiB at 1,000,000).
 *
 * Encoding a malformed entry (or a set with a repeated id) is a bug (InternalError); decoding
 * or applying a damaged blob throws CorruptObjectError.
 */
import {CorruptObjectError, InternalError} from '../errors.js'
import {DATUM_STATES, writeEntry, type DatumSetEntry} from './datum-tree.js'
export type {DatumSetEntry} from './datum-tree.js'
import type {DB} from './types.js'

/** Longest chain of deltas from a snapshot (see the header). */
export const MAX_CHAIN = 4096

const ENTRY = 32 + 32 + 1 + 16
const ID = 32
const DELTA_VERSION = 1
const FLIP = 1

/** Bytes of a snapshot of `n` entries. */
export const snapshotBytes = (n: number) => n * ENTRY

function readEntry(buf: Buffer, o: number, what: string): DatumSetEntry {
  const state = DATUM_STATES[buf[o + 64]!]
  if (state === undefined) throw new CorruptObjectError(`a job's datum set is damaged: bad state byte ${buf[o + 64]} at ${what}`)
  return {id: buf.toString('hex', o, o + ID), hash: buf.toString('hex', o + 32, o + 64), state, source: buf.toString('hex', o + 65, o + 81)}
}

export function encodeDatumSet(entries: readonly DatumSetEntry[]): Buffer {
  const buf = Buffer.allocUnsafe(entries.length * ENTRY)
  let o = 0
  for (const e of entries) {
    writeEntry(buf, o, e)
    o += ENTRY
  }
  return buf
}

export function decodeDatumSet(buf: Buffer): DatumSetEntry[] {
  if (buf.length % ENTRY !== 0) throw new CorruptObjectError(`a job's datum set is damaged: ${buf.length} bytes is not a whole number of entries`)
  const out: DatumSetEntry[] = new Array(buf.length / ENTRY)
  for (let o = 0, i = 0; o < buf.length; o += ENTRY, i++) out[i] = readEntry(buf, o, `entry ${i}`)
  return out
}

// ---------------------------------------------------------------------------------------------
// Deltas

const sameEntry = (a: DatumSetEntry, b: DatumSetEntry) => a.id === b.id && a.hash === b.hash && a.state === b.state && a.source === b.source

/** Grows as it is written; varints are LEB128. */
class Writer {
  private buf = Buffer.allocUnsafe(256)
  length = 0
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n))
    this.buf.copy(next, 0, 0, this.length)
    this.buf = next
  }
  byte(b: number): void {
    this.room(1)
    this.buf[this.length++] = b
  }
  varint(n: number): void {
    this.room(10)
    while (n >= 0x80) {
      this.buf[this.length++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    this.buf[this.length++] = n
  }
  id(id: string): void {
    this.room(ID)
    if (this.buf.write(id, this.length, ID, 'hex') !== ID) throw new InternalError(`datum set: bad datum id ${JSON.stringify(id)}`)
    this.length += ID
  }
  entry(e: DatumSetEntry): void {
    this.room(ENTRY)
    writeEntry(this.buf, this.length, e)
    this.length += ENTRY
  }
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length))
  }
}

class Reader {
  o = 0
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.o + n > this.buf.length) throw new CorruptObjectError(`a job's datum set delta is damaged: it ends inside a record (byte ${this.o} of ${this.buf.length})`)
  }
  byte(): number {
    this.need(1)
    return this.buf[this.o++]!
  }
  varint(): number {
    let n = 0
    for (let mul = 1; ; mul *= 0x80) {
      const b = this.byte()
      n += (b & 0x7f) * mul
      if (b < 0x80) return n
      if (mul > 2 ** 42) throw new CorruptObjectError("a job's datum set delta is damaged: a count is too long")
    }
  }
  id(): string {
    this.need(ID)
    this.o += ID
    return this.buf.toString('hex', this.o - ID, this.o)
  }
  entry(what: string): DatumSetEntry {
    this.need(ENTRY)
    this.o += ENTRY
    return readEntry(this.buf, this.o - ENTRY, what)
  }
  /** a count of records of `size` bytes each, checked against what is left */
  count(size: number): number {
    const n = this.varint()
    if (n * size > this.buf.length - this.o) throw new CorruptObjectError(`a job's datum set delta is damaged: ${n} records do not fit in what is left`)
    return n
  }
  end(): boolean {
    return this.o === this.buf.length
  }
}

/**
 * The delta that turns `base` (entries in order, keyed by id: a job's set as getDatumSet reads
 * it) into `next` (entries in order). Pure; one pass over both lists, no index of N entries
 * built (the common case is the same id at the same place), and its size is O(what differs)
 * for order-preserving edits (see the header).
 */
export function encodeDatumSetDelta(base: ReadonlyMap<string, DatumSetEntry>, next: readonly DatumSetEntry[]): Buffer {
  // greedy alignment: walk the base forward; next[i] keeps its base entry's place when that
  // entry is still ahead, and the base entries walked past are dropped
  const it = base.values()
  let cur = it.next()
  const drops: string[] = []
  /** base entries walked past unmatched: a later next[i] naming one is a move (insert) */
  const passed = new Set<string>()
  const inserted = new Set<string>()
  const kept: [DatumSetEntry, DatumSetEntry][] = [] // [base, next] pairs that differ from the base entry
  const isInsert = new Uint8Array(next.length)
  let flips = 0
  let sames = 0
  for (let i = 0; i < next.length; i++) {
    const e = next[i]!
    let b: DatumSetEntry | undefined
    if (!cur.done && cur.value.id === e.id) b = cur.value
    else if (base.has(e.id) && !passed.has(e.id) && !inserted.has(e.id)) {
      // ahead of the walk (or, if the walk ends without it, named twice in `next`)
      while (!cur.done && cur.value.id !== e.id) {
        drops.push(cur.value.id)
        passed.add(cur.value.id)
        cur = it.next()
      }
      if (cur.done) throw new InternalError(`datum set: datum ${e.id} appears twice`)
      b = cur.value
    }
    if (!b) {
      if (inserted.has(e.id)) throw new InternalError(`datum set: datum ${e.id} appears twice`)
      inserted.add(e.id)
      isInsert[i] = 1
      continue
    }
    cur = it.next()
    if (b === e || sameEntry(b, e)) {
      if (b.state !== 'SKIPPED') {
        sames++
        kept.push([b, e])
      }
    } else {
      if (b.state !== 'SKIPPED' && e.state === 'SKIPPED' && e.hash === b.hash && e.source === b.source) flips++
      kept.push([b, e])
    }
  }
  for (; !cur.done; cur = it.next()) drops.push(cur.value.id)
  const flip = flips > sames
  const w = new Writer()
  w.byte(DELTA_VERSION)
  w.varint(next.length)
  w.byte(flip ? FLIP : 0)
  w.varint(drops.length)
  for (const id of drops) w.id(id)
  // kept entries the delta must name: those that differ from what the base (flipped, with the flag) gives
  const asBase = (b: DatumSetEntry, e: DatumSetEntry) =>
    flip && b.state !== 'SKIPPED' ? e.state === 'SKIPPED' && e.id === b.id && e.hash === b.hash && e.source === b.source : sameEntry(b, e)
  const sets = kept.filter(([b, e]) => !asBase(b, e)).map(([, e]) => e)
  w.varint(sets.length)
  for (const e of sets) w.entry(e)
  let runs = 0
  for (let i = 0; i < next.length; i++) if (isInsert[i] && (i === 0 || !isInsert[i - 1])) runs++
  w.varint(runs)
  for (let i = 0; i < next.length; ) {
    if (!isInsert[i]) {
      i++
      continue
    }
    let j = i
    while (j < next.length && isInsert[j]) j++
    if (i === 0) w.byte(0)
    else {
      w.byte(1)
      w.id(next[i - 1]!.id)
    }
    w.varint(j - i)
    for (let k = i; k < j; k++) w.entry(next[k]!)
    i = j
  }
  return w.done()
}

interface Node {
  e: DatumSetEntry
  /** index (1-based) of the delta that last named it; 0: from the snapshot */
  gen: number
  prev: Node | undefined
  next: Node | undefined
}

/**
 * A set being rebuilt from a snapshot and the deltas of its chain: a doubly linked list keyed
 * by datum id, so each delta applies in O(its size). `entries()` reads it out in order.
 */
export class DatumSetBuilder {
  private readonly nodes = new Map<string, Node>()
  private head: Node | undefined
  private tail: Node | undefined
  private gen = 0
  /** the last delta with the flip flag */
  private flippedAt = 0

  constructor(snapshot: readonly DatumSetEntry[]) {
    for (const e of snapshot) {
      if (this.nodes.has(e.id)) throw new CorruptObjectError(`a job's datum set is damaged: datum ${e.id} appears twice`)
      this.insertAfter(this.tail, e)
    }
  }

  get size(): number {
    return this.nodes.size
  }

  private insertAfter(prev: Node | undefined, e: DatumSetEntry): void {
    const n: Node = {e, gen: this.gen, prev, next: prev ? prev.next : this.head}
    if (n.next) n.next.prev = n
    else this.tail = n
    if (prev) prev.next = n
    else this.head = n
    this.nodes.set(e.id, n)
  }

  private must(id: string, op: string): Node {
    const n = this.nodes.get(id)
    if (!n) throw new CorruptObjectError(`a job's datum set delta is damaged: it ${op} datum ${id}, which its base does not have`)
    return n
  }

  /** Apply one delta (encodeDatumSetDelta against the set this builder holds now). */
  apply(delta: Buffer): void {
    const r = new Reader(delta)
    const version = r.byte()
    if (version !== DELTA_VERSION) throw new CorruptObjectError(`a job's datum set delta is damaged: unknown version ${version}`)
    const n = r.varint()
    const flags = r.byte()
    if (flags & ~FLIP) throw new CorruptObjectError(`a job's datum set delta is damaged: unknown flags ${flags}`)
    this.gen++
    if (flags & FLIP) this.flippedAt = this.gen
    for (let i = r.count(ID); i > 0; i--) {
      const node = this.must(r.id(), 'drops')
      if (node.prev) node.prev.next = node.next
      else this.head = node.next
      if (node.next) node.next.prev = node.prev
      else this.tail = node.prev
      this.nodes.delete(node.e.id)
    }
    for (let i = r.count(ENTRY); i > 0; i--) {
      const e = r.entry('a changed entry')
      const node = this.must(e.id, 'changes')
      node.e = e
      node.gen = this.gen
    }
    for (let i = r.count(2); i > 0; i--) {
      const anchor = r.byte()
      if (anchor > 1) throw new CorruptObjectError(`a job's datum set delta is damaged: bad anchor byte ${anchor}`)
      let after = anchor === 1 ? this.must(r.id(), 'inserts after') : undefined
      for (let k = r.count(ENTRY); k > 0; k--) {
        const e = r.entry('an inserted entry')
        if (this.nodes.has(e.id)) throw new CorruptObjectError(`a job's datum set delta is damaged: it inserts datum ${e.id}, which is there already`)
        this.insertAfter(after, e)
        after = this.nodes.get(e.id)
      }
    }
    if (!r.end()) throw new CorruptObjectError(`a job's datum set delta is damaged: ${delta.length - r.o} bytes after its last record`)
    if (this.nodes.size !== n) throw new CorruptObjectError(`a job's datum set delta is damaged: it makes ${this.nodes.size} entries, not the ${n} it records`)
    // what "flip" means: entries not named by this delta are SKIPPED from now on
    // (applied lazily when read out: gen < flippedAt)
  }

  /** The set's entries in order. */
  *entries(): Generator<DatumSetEntry> {
    for (let n = this.head; n; n = n.next) {
      yield n.gen < this.flippedAt && n.e.state !== 'SKIPPED' ? {...n.e, state: 'SKIPPED'} : n.e
    }
  }
}

/** The set a snapshot and its chain of deltas (oldest first) describe, in order. */
export function resolveDatumSet(snapshot: Buffer, deltas: readonly Buffer[]): DatumSetEntry[] {
  if (deltas.length === 0) return decodeDatumSet(snapshot)
  const b = new DatumSetBuilder(decodeDatumSet(snapshot))
  for (const d of deltas) b.apply(d)
  return [...b.entries()]
}

/**
 * A set as schemas 8 and 9 stored it (`job_datums` with list, base, depth, chain): its
 * snapshot, then its chain's deltas applied, in planning order. Throws CorruptObjectError for a
 * broken chain.
 */
export function readLegacySet(db: DB, project: string, pipeline: string, job: string): DatumSetEntry[] {
  const get = db.prepare('SELECT list, base FROM job_datums WHERE project = ? AND pipeline = ? AND job_id = ?')
  let row = get.get(project, pipeline, job) as {list: Buffer; base: string | null} | undefined
  if (!row) throw new CorruptObjectError(`job ${pipeline}@${job} has no datum set`)
  const deltas: Buffer[] = []
  while (row.base !== null) {
    if (deltas.length > MAX_CHAIN) throw new CorruptObjectError(`the datum set of job ${pipeline}@${job} is damaged: its chain of deltas is longer than ${MAX_CHAIN} (a cycle?)`)
    deltas.push(row.list)
    const base: string = row.base
    row = get.get(project, pipeline, base) as typeof row
    if (!row) throw new CorruptObjectError(`the datum set of job ${pipeline}@${job} is damaged: its chain reaches job ${base}, which has no datum set`)
  }
  return resolveDatumSet(row.list, deltas.reverse())
}
