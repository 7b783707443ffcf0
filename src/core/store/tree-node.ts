/**
 * Tree nodes: the byte layouts of directory objects and the rule that cuts a large directory
 * into nodes (pure: no I/O; tree-store.ts reads and writes them). docs/format.md "Trees" is
 * the specification; this header is its summary.
 *
 * Concepts:
 * - an entry is one name in a directory: a file (content hash, size, chunk ids and sizes) or a
 *   directory (its hash, total size, file count). Its key is its name, plus "/" for a directory,
 *   and a directory's entries are sorted by key (JavaScript string order, as since version 1),
 *   so a depth-first walk yields Pachyderm's path order ("/a.txt" before "/a/b").
 * - a small directory (at most SMALL_ENTRIES entries and SMALL_BYTES bytes in layout 1) is one
 *   object in layout 1, byte for byte the format pach has always written: its hash did not
 *   change when large directories became trees of nodes.
 * - a larger directory is a prolly tree (a B-tree whose node boundaries depend only on content):
 *   its entries are cut into leaves (layout 2); the leaves, summarised as index items (last key,
 *   node hash, total size, files, entries), are cut the same way into index nodes of level 1
 *   (layout 3), and so on until one node remains, the root. The directory's hash is the root's.
 * - the cut: after each item, with `run` the nominal bytes of the node so far (the item
 *   included), the node ends if run ≥ MAX_NODE, or if run ≥ MIN_NODE and
 *   h(key, level) × RATE < nominal(item) × 2^32. h is a 32-bit hash of the key's UTF-8 bytes
 *   seeded by the level, so a boundary is a property of the key (plus the bytes since the last
 *   boundary): an edit changes the node it falls in, and the chunking of the following nodes
 *   is the same as before as soon as a boundary falls on the same key again (usually at once).
 *   Nominal bytes are the item's size in layout 1 (entries) or a fixed formula (index items),
 *   so they do not depend on the neighbouring items.
 *
 * Invariants:
 * - canonical: a directory's objects are a pure function of its entries, so equal directories
 *   have equal hashes whatever the order of the operations that built them.
 * - nodes are immutable and content addressed (hash = sha256 of the bytes), so unchanged
 *   subranges of a directory are shared between commits and between directories.
 * - a node is never empty. The root of a prolly directory is an index node with ≥ 2 items, or
 *   a leaf when all its entries fit one leaf (a directory of few but large entries).
 *
 * Layouts (integers big endian; varint = unsigned LEB128, up to 2^53):
 *   1 (small directory): u8 1 | u32 count | entries, each
 *       u8 kind (1 file, 2 dir) | u16 nameLen | name | hash[32] | f64 size |
 *       file: u32 n | n × (chunk id[32] | u32 chunk size)   dir: f64 fileCount
 *   2 (leaf): u8 2 | entries (to the end; no count, so an append leaves a prefix a delta shares), each
 *       u8 kind | varint shared | varint suffixLen | suffix | hash[32] | varint size |
 *       file: varint n | n × chunk id[32] | (n-1) × varint chunk size (the last is implied)
 *       dir: varint fileCount
 *     where the name = the first `shared` bytes of the previous entry's name + suffix.
 *   3 (index): u8 3 | u8 level | items (to the end), each
 *       varint shared | varint suffixLen | suffix (the child's last key) | hash[32] |
 *       varint size | varint files | varint entries
 *
 * Stored rows: a row holds an object's bytes, or a delta (u8 0x10 | u8 depth | base hash[32] |
 * varint prefix | varint suffix | middle bytes): the object is the base object's first
 * `prefix` bytes, then `middle`, then its last `suffix` bytes. A node rewritten by an edit is
 * stored against the node it replaces, so a one-entry change stores ~100 bytes per node, not
 * the node (git packs deltas after the fact; pach writes them). `depth` is the chain length
 * (a full object is 0); a delta is written only if the chain stays ≤ MAX_DELTA_DEPTH and the
 * delta is at most half the object. The object's hash is always sha256 of its full bytes.
 */
import {CorruptObjectError} from '../errors.js'
import {varintLength, writeVarint} from './varint.js'

export interface FileEntry {
  kind: 'file'
  name: string
  hash: Buffer
  size: number
  chunks: Buffer[]
  sizes: number[]
}

export interface DirEntry {
  kind: 'dir'
  name: string
  hash: Buffer
  size: number
  files: number
}

export type Entry = FileEntry | DirEntry

/** One child of an index node: the subtree's last key, its node hash and totals. */
export interface IndexItem {
  key: string
  hash: Buffer
  size: number
  files: number
  /** entries (level 0 items) in the subtree */
  count: number
}

export type TreeNode =
  | {kind: 'small'; entries: Entry[]}
  | {kind: 'leaf'; entries: Entry[]}
  | {kind: 'index'; level: number; items: IndexItem[]}

/** A directory of at most this many entries (and SMALL_BYTES in layout 1) is one layout-1 object. */
export const SMALL_ENTRIES = 64
export const SMALL_BYTES = 16 * 1024
/** The cut (nominal bytes): no boundary before MIN_NODE, always one at MAX_NODE, about one per RATE bytes in between. */
export const MIN_NODE = 1024
export const RATE = 2048
export const MAX_NODE = 16384
/** Longest chain of deltas to read for one object. */
export const MAX_DELTA_DEPTH = 32
/** Objects smaller than this are always stored whole (a delta's header is 34+ bytes). */
export const MIN_DELTA_OBJECT = 160

export const entryKey = (e: {kind: string; name: string}): string => (e.kind === 'dir' ? e.name + '/' : e.name)

export function cmpKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** A directory's summary over its entries: total bytes and number of files beneath it. */
export function dirTotals(entries: readonly Entry[]): {size: number; files: number} {
  let size = 0
  let files = 0
  for (const e of entries) {
    size += e.size
    files += e.kind === 'file' ? 1 : e.files
  }
  return {size, files}
}

/** The length of an all-ASCII string (= its UTF-8 byte length), or -1. */
function asciiLength(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return -1
  return s.length
}

const utf8Length = (s: string): number => {
  const n = asciiLength(s)
  return n >= 0 ? n : Buffer.byteLength(s, 'utf8')
}

/** An entry's size in layout 1: its nominal bytes for the cut. */
export function entryNominal(e: Entry): number {
  return 1 + 2 + utf8Length(e.name) + 32 + 8 + (e.kind === 'file' ? 4 + e.chunks.length * 36 : 8)
}

/** An index item's nominal bytes for the cut. */
export function itemNominal(it: IndexItem): number {
  return 2 + utf8Length(it.key) + 32 + 24
}

// ---------------------------------------------------------------- the cut

const FNV_BASIS = 0x811c9dc5
const FNV_PRIME = 0x01000193

/** h(key, level): FNV-1a over the key's UTF-8 bytes from a level-seeded basis, then murmur3's fmix32. */
export function boundaryHash(key: string, level: number): number {
  let h = (FNV_BASIS ^ Math.imul(level + 1, 0x9e3779b9)) >>> 0
  const ascii = asciiLength(key) >= 0
  if (ascii) {
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME)
  } else {
    for (const b of Buffer.from(key, 'utf8')) h = Math.imul(h ^ b, FNV_PRIME)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Does a node end after an item of `nominal` bytes with key hash `h`, the node's bytes so far being `run`? */
export function isBoundary(run: number, nominal: number, h: number): boolean {
  if (run >= MAX_NODE) return true
  if (run < MIN_NODE) return false
  return h * RATE < nominal * 4294967296
}

/** Is a directory of these entries small (one layout-1 object)? */
export function isSmall(entries: readonly Entry[]): boolean {
  if (entries.length > SMALL_ENTRIES) return false
  let n = 5
  for (const e of entries) n += entryNominal(e)
  return n <= SMALL_BYTES
}

// ---------------------------------------------------------------- reading (varints: varint.ts)

class Reader {
  o = 0
  constructor(readonly buf: Buffer) {}

  u8(): number {
    if (this.o >= this.buf.length) throw truncated()
    return this.buf[this.o++]!
  }

  varint(): number {
    let n = 0
    let mul = 1
    for (let i = 0; i < 8; i++) {
      const b = this.u8()
      n += (b & 127) * mul
      if (b < 128) return n
      mul *= 128
    }
    throw new CorruptObjectError('tree node: varint too long')
  }

  bytes(len: number): Buffer {
    if (this.o + len > this.buf.length) throw truncated()
    const b = this.buf.subarray(this.o, this.o + len)
    this.o += len
    return b
  }
}

const truncated = () => new CorruptObjectError('tree node is truncated')

// ---------------------------------------------------------------- layout 1

export function encodeTree(entries: readonly Entry[]): Buffer {
  // hot path (every changed small directory of every commit): ASCII names are written byte by
  // byte and hashes with set(), avoiding a Buffer per name
  let len = 5
  const lens: number[] = new Array(entries.length)
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    lens[i] = utf8Length(e.name)
    len += 1 + 2 + lens[i]! + 32 + 8 + (e.kind === 'file' ? 4 + e.chunks.length * 36 : 8)
  }
  const buf = Buffer.allocUnsafe(len)
  buf[0] = 1
  buf.writeUInt32BE(entries.length, 1)
  let o = 5
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    buf[o++] = e.kind === 'file' ? 1 : 2
    const n = lens[i]!
    buf.writeUInt16BE(n, o)
    o += 2
    o = writeName(buf, o, e.name, n)
    buf.set(e.hash, o)
    o += 32
    buf.writeDoubleBE(e.size, o)
    o += 8
    if (e.kind === 'file') {
      const {chunks, sizes} = e
      buf.writeUInt32BE(chunks.length, o)
      o += 4
      for (let j = 0; j < chunks.length; j++) {
        buf.set(chunks[j]!, o)
        o += 32
        buf.writeUInt32BE(sizes[j]!, o)
        o += 4
      }
    } else {
      buf.writeDoubleBE(e.files, o)
      o += 8
    }
  }
  return buf
}

function writeName(buf: Buffer, o: number, name: string, n: number): number {
  if (n === name.length) for (let k = 0; k < n; k++) buf[o + k] = name.charCodeAt(k)
  else buf.write(name, o, n, 'utf8')
  return o + n
}

export function decodeTree(buf: Buffer): Entry[] {
  const node = decodeNode(buf)
  if (node.kind !== 'small') throw new CorruptObjectError('not a layout-1 directory')
  return node.entries
}

function decodeSmall(buf: Buffer): Entry[] {
  let o = 1
  const count = buf.readUInt32BE(o)
  o += 4
  const out: Entry[] = new Array(count)
  for (let i = 0; i < count; i++) {
    const kind = buf.readUInt8(o++)
    const nlen = buf.readUInt16BE(o)
    o += 2
    const name = buf.toString('utf8', o, o + nlen)
    o += nlen
    const hash = buf.subarray(o, o + 32)
    o += 32
    const size = buf.readDoubleBE(o)
    o += 8
    if (kind === 1) {
      const n = buf.readUInt32BE(o)
      o += 4
      const chunks: Buffer[] = new Array(n)
      const sizes: number[] = new Array(n)
      for (let j = 0; j < n; j++) {
        chunks[j] = buf.subarray(o, o + 32)
        o += 32
        sizes[j] = buf.readUInt32BE(o)
        o += 4
      }
      out[i] = {kind: 'file', name, hash, size, chunks, sizes}
    } else if (kind === 2) {
      const files = buf.readDoubleBE(o)
      o += 8
      out[i] = {kind: 'dir', name, hash, size, files}
    } else {
      throw new CorruptObjectError(`tree entry of unknown kind ${kind}`)
    }
  }
  return out
}

// ---------------------------------------------------------------- layouts 2 and 3

/** Bytes shared at the start of two UTF-8 names (never splitting a character). */
function sharedPrefix(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a[i] === b[i]) i++
  while (i > 0 && i < b.length && (b[i]! & 0xc0) === 0x80) i-- // back to a character start
  return i
}

/**
 * Names of one node, each written as (shared, suffix) against the previous one: the encoder's
 * half of NameReader. `size(i)` is what name i takes, `write` puts it at `o`.
 */
class NameWriter {
  private readonly names: Buffer[]
  private readonly shared: number[]

  constructor(strings: readonly string[]) {
    this.names = strings.map((n) => Buffer.from(n, 'utf8'))
    this.shared = this.names.map((n, i) => (i ? sharedPrefix(this.names[i - 1]!, n) : 0))
  }

  size(i: number): number {
    const suffix = this.names[i]!.length - this.shared[i]!
    return varintLength(this.shared[i]!) + varintLength(suffix) + suffix
  }

  write(buf: Buffer, o: number, i: number): number {
    const name = this.names[i]!
    const shared = this.shared[i]!
    o = writeVarint(buf, o, shared)
    o = writeVarint(buf, o, name.length - shared)
    return o + name.copy(buf, o, shared)
  }
}

export function encodeLeaf(entries: readonly Entry[]): Buffer {
  const names = new NameWriter(entries.map((e) => e.name))
  let len = 1
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    len += 1 + names.size(i) + 32 + varintLength(e.size)
    if (e.kind === 'file') {
      len += varintLength(e.chunks.length) + 32 * e.chunks.length
      for (let j = 0; j < e.sizes.length - 1; j++) len += varintLength(e.sizes[j]!)
    } else len += varintLength(e.files)
  }
  const buf = Buffer.allocUnsafe(len)
  buf[0] = 2
  let o = 1
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    buf[o++] = e.kind === 'file' ? 1 : 2
    o = names.write(buf, o, i)
    buf.set(e.hash, o)
    o += 32
    o = writeVarint(buf, o, e.size)
    if (e.kind === 'file') {
      o = writeVarint(buf, o, e.chunks.length)
      for (const c of e.chunks) {
        buf.set(c, o)
        o += 32
      }
      for (let j = 0; j < e.sizes.length - 1; j++) o = writeVarint(buf, o, e.sizes[j]!)
    } else o = writeVarint(buf, o, e.files)
  }
  return buf
}

export function encodeIndex(level: number, items: readonly IndexItem[]): Buffer {
  const keys = new NameWriter(items.map((it) => it.key))
  let len = 2
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!
    len += keys.size(i) + 32 + varintLength(it.size) + varintLength(it.files) + varintLength(it.count)
  }
  const buf = Buffer.allocUnsafe(len)
  buf[0] = 3
  buf[1] = level
  let o = 2
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!
    o = keys.write(buf, o, i)
    buf.set(it.hash, o)
    o += 32
    o = writeVarint(buf, o, it.size)
    o = writeVarint(buf, o, it.files)
    o = writeVarint(buf, o, it.count)
  }
  return buf
}

/**
 * Names of one node, each stored as (shared, suffix) against the previous: rebuilt in place in
 * one scratch buffer (decoding a leaf allocates no buffer per name).
 */
class NameReader {
  private buf = Buffer.allocUnsafe(256)
  private len = 0

  next(r: Reader): string {
    const shared = r.varint()
    const suffixLen = r.varint()
    if (shared > this.len) throw new CorruptObjectError('tree node: bad name prefix')
    const suffix = r.bytes(suffixLen)
    const len = shared + suffixLen
    if (len > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(len, this.buf.length * 2))
      this.buf.copy(bigger, 0, 0, shared)
      this.buf = bigger
    }
    suffix.copy(this.buf, shared)
    this.len = len
    return this.buf.toString('utf8', 0, len)
  }
}

function decodeLeaf(buf: Buffer): Entry[] {
  const r = new Reader(buf)
  r.o = 1
  const out: Entry[] = []
  const names = new NameReader()
  while (r.o < buf.length) {
    const kind = r.u8()
    const name = names.next(r)
    const hash = r.bytes(32)
    const size = r.varint()
    if (kind === 1) {
      const n = r.varint()
      const chunks: Buffer[] = new Array(n)
      for (let j = 0; j < n; j++) chunks[j] = r.bytes(32)
      const sizes: number[] = new Array(n)
      let rest = size
      for (let j = 0; j < n - 1; j++) rest -= sizes[j] = r.varint()
      if (n) sizes[n - 1] = rest
      out.push({kind: 'file', name, hash, size, chunks, sizes})
    } else if (kind === 2) {
      out.push({kind: 'dir', name, hash, size, files: r.varint()})
    } else throw new CorruptObjectError(`tree entry of unknown kind ${kind}`)
  }
  if (out.length === 0) throw new CorruptObjectError('tree leaf is empty')
  return out
}

function decodeIndex(buf: Buffer): {level: number; items: IndexItem[]} {
  const r = new Reader(buf)
  r.o = 1
  const level = r.u8()
  const items: IndexItem[] = []
  const names = new NameReader()
  while (r.o < buf.length) {
    items.push({key: names.next(r), hash: r.bytes(32), size: r.varint(), files: r.varint(), count: r.varint()})
  }
  if (level < 1 || items.length === 0) throw new CorruptObjectError('tree index node is malformed')
  return {level, items}
}

/** Decode any tree object. */
export function decodeNode(buf: Buffer): TreeNode {
  try {
    switch (buf[0]) {
      case 1:
        return {kind: 'small', entries: decodeSmall(buf)}
      case 2:
        return {kind: 'leaf', entries: decodeLeaf(buf)}
      case 3:
        return {kind: 'index', ...decodeIndex(buf)}
      default:
        throw new CorruptObjectError('unknown tree encoding version')
    }
  } catch (e) {
    if (e instanceof RangeError) throw new CorruptObjectError('tree node is truncated')
    throw e
  }
}

/** Summary of a node's subtree as its parent's item. */
export function summarize(hash: Buffer, node: TreeNode): IndexItem {
  if (node.kind === 'index') {
    let size = 0
    let files = 0
    let count = 0
    for (const it of node.items) {
      size += it.size
      files += it.files
      count += it.count
    }
    return {key: node.items[node.items.length - 1]!.key, hash, size, files, count}
  }
  const t = dirTotals(node.entries)
  return {key: entryKey(node.entries[node.entries.length - 1]!), hash, ...t, count: node.entries.length}
}

// ---------------------------------------------------------------- delta rows

export const DELTA_TAG = 0x10

export interface DeltaHeader {
  depth: number
  base: Buffer
}

/** The header of a delta row, or undefined for a full object. */
export function deltaHeader(row: Buffer): DeltaHeader | undefined {
  if (row[0] !== DELTA_TAG) return undefined
  if (row.length < 34) throw truncated()
  return {depth: row[1]!, base: row.subarray(2, 34)}
}

/** A delta row for `data` against `base` (depth = the base's depth + 1), or undefined if not worth it. */
export function encodeDelta(data: Buffer, base: Buffer, baseHash: Buffer, depth: number): Buffer | undefined {
  if (data.length < MIN_DELTA_OBJECT || depth > MAX_DELTA_DEPTH) return undefined
  const n = Math.min(data.length, base.length)
  let prefix = 0
  while (prefix < n && data[prefix] === base[prefix]) prefix++
  let suffix = 0
  while (suffix < n - prefix && data[data.length - 1 - suffix] === base[base.length - 1 - suffix]) suffix++
  const middle = data.length - prefix - suffix
  const len = 34 + varintLength(prefix) + varintLength(suffix) + middle
  if (len * 2 > data.length) return undefined
  const row = Buffer.allocUnsafe(len)
  row[0] = DELTA_TAG
  row[1] = depth
  baseHash.copy(row, 2)
  let o = writeVarint(row, 34, prefix)
  o = writeVarint(row, o, suffix)
  data.copy(row, o, prefix, prefix + middle)
  return row
}

/** The object a delta row stands for, given its base object's bytes. */
export function applyDelta(row: Buffer, base: Buffer): Buffer {
  const r = new Reader(row)
  r.o = 34
  const prefix = r.varint()
  const suffix = r.varint()
  if (prefix + suffix > base.length) throw new CorruptObjectError('tree delta does not fit its base')
  return Buffer.concat([base.subarray(0, prefix), row.subarray(r.o), base.subarray(base.length - suffix)])
}
