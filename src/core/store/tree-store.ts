/**
 * Merkle trees: a commit's files as content-addressed directory objects (git's model,
 * stored in SQLite `trees(hash, data)`). Like blobs, trees are addressed by their content,
 * so they live in the store layer; PFS (commits) and PPS (datum outputs) point at them.
 *
 * Concepts:
 * - a tree is one directory: its entries sorted by key (file: name; dir: name + "/"), so a
 *   depth-first walk yields full paths in Pachyderm's lexicographic order ("/a.txt" before
 *   "/a/b").
 * - a file entry carries its content (hash, size, chunk ids and chunk sizes); a dir entry
 *   carries its tree hash, total size and file count. Directory hash = tree hash, so it is
 *   derived from its children's names and hashes.
 * - empty directories do not exist: removing a directory's last file removes it.
 *
 * Invariants:
 * - trees are immutable and shared: a commit that changes one file writes new trees only
 *   along that file's path, so diff and write cost what changed, not the repo size.
 * - a path is either a file or a directory; a write that would make it both fails with a
 *   "file / directory path collision" error and changes nothing.
 *
 * Encoding (version 1, big endian): u8 version | u32 count | entries, each
 *   u8 kind (1 file, 2 dir) | u16 nameLen | name utf8 | hash[32] | f64 size |
 *   file: u32 n | n × (chunk id[32] | u32 chunk size)   dir: f64 fileCount
 * tree hash = sha256(encoding).
 */
import {ConflictError, CorruptObjectError} from '../errors.js'
import {getTreeData, insertTree} from '../db/objects.js'
import type {DB} from '../db/types.js'
import {sha256} from './hash.js'
import type {FileContent} from './content.js'

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

export const entryKey = (e: {kind: string; name: string}): string => (e.kind === 'dir' ? e.name + '/' : e.name)

function cmpKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function encodeTree(entries: readonly Entry[]): Buffer {
  // hot path (every changed directory of every commit; 10,000-entry dirs are common): ASCII
  // names are written byte by byte and hashes with set(), avoiding a Buffer per name
  let len = 5
  const lens: number[] = new Array(entries.length)
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    const n = asciiLength(e.name)
    lens[i] = n >= 0 ? n : Buffer.byteLength(e.name, 'utf8')
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
    const name = e.name
    if (n === name.length) for (let k = 0; k < n; k++) buf[o + k] = name.charCodeAt(k)
    else buf.write(name, o, n, 'utf8')
    o += n
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

/** The length of an all-ASCII string (= its UTF-8 byte length), or -1. */
function asciiLength(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return -1
  return s.length
}

export function decodeTree(buf: Buffer): Entry[] {
  let o = 0
  if (buf.readUInt8(o++) !== 1) throw new CorruptObjectError('unknown tree encoding version')
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

/** Reads and writes tree objects in SQLite, with a small decoded-tree cache. */
export class TreeStore {
  private cache = new Map<string, Entry[]>()

  constructor(readonly db: DB) {}

  get(hash: Buffer): Entry[] {
    const key = hash.toString('latin1')
    const hit = this.cache.get(key)
    if (hit) return hit
    const data = getTreeData(this.db, hash)
    if (!data) throw new CorruptObjectError(`tree ${hash.toString('hex')} is missing from the database`, {data: {tree: hash.toString('hex')}})
    if (!sha256(data).equals(hash)) throw new CorruptObjectError(`tree ${hash.toString('hex')} is damaged (hash mismatch)`)
    const entries = decodeTree(data)
    if (this.cache.size > 20_000) this.cache.clear()
    this.cache.set(key, entries)
    return entries
  }

  /**
   * A directory's entries in key order, read as they are yielded: the API for listings and
   * walks that must not hold a whole large directory (list file, materialize, glob, fsck).
   */
  *entries(dir: Buffer): Generator<Entry> {
    yield* this.get(dir)
  }

  /** Store a directory (entries must be sorted by key); returns its dir summary. */
  put(entries: Entry[]): {hash: Buffer; size: number; files: number} {
    const data = encodeTree(entries)
    const hash = sha256(data)
    insertTree(this.db, hash, data)
    this.cache.set(hash.toString('latin1'), entries)
    return {hash, ...dirTotals(entries)}
  }

  /** Find the entry at a path ("/" returns a synthetic root dir entry, or undefined if empty). */
  lookup(root: Buffer | null, path: string): Entry | undefined {
    if (!root) return undefined
    if (path === '/') {
      return {kind: 'dir', name: '', hash: root, ...dirTotals(this.get(root))}
    }
    const parts = path.split('/').filter(Boolean)
    let dir: Buffer = root
    for (let i = 0; i < parts.length; i++) {
      const e = findEntry(this.get(dir), parts[i]!)
      if (!e) return undefined
      if (i === parts.length - 1) return e
      if (e.kind !== 'dir') return undefined
      dir = e.hash
    }
    return undefined
  }

  /** Entries directly under a directory path. */
  list(root: Buffer | null, path: string): Entry[] | undefined {
    const e = this.lookup(root, path)
    if (!e) return undefined
    if (e.kind !== 'dir') return undefined
    return this.get(e.hash)
  }

  /** Depth-first walk yielding [fullPath, entry] for every file and directory under `path` (excluding `path` itself), in path order. */
  *walk(root: Buffer | null, path = '/'): Generator<[string, Entry]> {
    const start = this.lookup(root, path)
    if (!start || start.kind !== 'dir') return
    const base = path === '/' ? '' : path.replace(/\/$/, '')
    yield* this.walkDir(start.hash, base)
  }

  private *walkDir(hash: Buffer, base: string): Generator<[string, Entry]> {
    for (const e of this.get(hash)) {
      const p = `${base}/${e.name}`
      yield [p, e]
      if (e.kind === 'dir') yield* this.walkDir(e.hash, p)
    }
  }

  /**
   * Apply writes and deletes to a tree, returning the new root (null = empty).
   * Ops apply in order; `put` replaces a file, `delete` removes a file or a whole subtree
   * (a missing path is a no-op), `putEntry` places an existing entry (file or dir), `merge`
   * places one file by file (used by copy, see `merge`).
   */
  apply(root: Buffer | null, ops: readonly TreeOp[]): Buffer | null {
    const top = new MutDir(this, root)
    for (const op of ops) {
      if (op.type === 'merge') {
        this.merge(top, op.path, op.entry)
        continue
      }
      const parts = op.path.split('/').filter(Boolean)
      if (op.type === 'delete') {
        if (parts.length === 0) {
          top.clear()
          continue
        }
        const parent = top.descend(parts.slice(0, -1), false, op.path)
        parent?.remove(parts[parts.length - 1]!)
        continue
      }
      if (parts.length === 0) {
        if (op.type === 'putEntry' && op.entry.kind === 'dir') {
          top.replaceWith(op.entry.hash)
          continue
        }
        throw new ConflictError('PATH_COLLISION', 'cannot write a file at the root path "/"')
      }
      const parent = top.descend(parts.slice(0, -1), true, op.path)!
      const name = parts[parts.length - 1]!
      const entry: Entry =
        op.type === 'put'
          ? {kind: 'file', name, hash: op.content.hash, size: op.content.size, chunks: op.content.chunks, sizes: op.content.sizes}
          : {...op.entry, name}
      parent.set(name, entry, op.path)
    }
    return top.save()?.hash ?? null
  }

  /**
   * Place an entry as if each of its files were put at its path (Pachyderm's copy overwrites
   * file by file): a directory merges into an existing one; where nothing exists the entry is
   * placed whole, by reference. A file / directory collision throws.
   */
  private merge(top: MutDir, path: string, entry: Entry): void {
    const parts = path.split('/').filter(Boolean)
    const parent = parts.length ? top.descend(parts.slice(0, -1), true, path)! : undefined
    const name = parts[parts.length - 1]!
    const cur = parent ? parent.kindOf(name) : 'dir'
    if (entry.kind === 'dir' && cur === 'dir') {
      for (const e of this.get(entry.hash)) this.merge(top, `${parts.length ? path : ''}/${e.name}`, e)
      return
    }
    if (!parent) throw new ConflictError('PATH_COLLISION', 'cannot write a file at the root path "/"')
    if (entry.kind === 'dir' && cur === 'file') {
      throw new ConflictError('PATH_COLLISION', `file / directory path collision (${path}): ${path} is a file`, {
        hint: `delete ${path} first, or copy to another path`,
        data: {path},
      })
    }
    parent.set(name, {...entry, name}, path)
  }

  /** Differences between two trees, in path order. Cost is proportional to what changed. */
  *diff(oldRoot: Buffer | null, newRoot: Buffer | null, base = ''): Generator<DiffItem> {
    if (oldRoot && newRoot && oldRoot.equals(newRoot)) return
    const a = oldRoot ? this.get(oldRoot) : []
    const b = newRoot ? this.get(newRoot) : []
    let i = 0
    let j = 0
    while (i < a.length || j < b.length) {
      const ea = a[i]
      const eb = b[j]
      const c = ea && eb ? cmpKey(entryKey(ea), entryKey(eb)) : ea ? -1 : 1
      if (c < 0) {
        yield* this.removedOrAdded(ea!, base, 'deleted')
        i++
      } else if (c > 0) {
        yield* this.removedOrAdded(eb!, base, 'added')
        j++
      } else {
        const p = `${base}/${ea!.name}`
        if (!ea!.hash.equals(eb!.hash)) {
          if (ea!.kind === 'dir') yield* this.diff(ea!.hash, eb!.hash, p)
          else yield {path: p, change: 'modified', old: ea as FileEntry, new: eb as FileEntry}
        }
        i++
        j++
      }
    }
  }

  private *removedOrAdded(e: Entry, base: string, change: 'added' | 'deleted'): Generator<DiffItem> {
    const p = `${base}/${e.name}`
    if (e.kind === 'file') {
      yield change === 'added' ? {path: p, change, new: e} : {path: p, change, old: e}
      return
    }
    for (const [sub, se] of this.walkDir(e.hash, p)) {
      if (se.kind === 'file') yield change === 'added' ? {path: sub, change, new: se} : {path: sub, change, old: se}
    }
  }
}

/** Binary search by key (entries are sorted by entryKey): a file `name` or a dir `name/`. */
export function findEntry(entries: readonly Entry[], name: string): Entry | undefined {
  for (const key of [name, name + '/']) {
    let lo = 0
    let hi = entries.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const k = entryKey(entries[mid]!)
      if (k === key) return entries[mid]
      if (k < key) lo = mid + 1
      else hi = mid - 1
    }
  }
  return undefined
}

export interface DiffItem {
  path: string
  change: 'added' | 'deleted' | 'modified'
  old?: FileEntry
  new?: FileEntry
}

export type TreeOp =
  | {type: 'put'; path: string; content: FileContent}
  | {type: 'delete'; path: string}
  | {type: 'putEntry'; path: string; entry: Entry}
  | {type: 'merge'; path: string; entry: Entry}

/** A directory being edited: unchanged children stay as stored entries. */
class MutDir {
  private entries: Map<string, Entry | MutDir> | undefined
  dirty = false

  constructor(private readonly store: TreeStore, private base: Buffer | null) {}

  private load(): Map<string, Entry | MutDir> {
    if (!this.entries) {
      this.entries = new Map()
      if (this.base) for (const e of this.store.get(this.base)) this.entries.set(e.name, e)
    }
    return this.entries
  }

  clear(): void {
    this.entries = new Map()
    this.dirty = true
  }

  replaceWith(hash: Buffer): void {
    this.base = hash
    this.entries = undefined
    this.dirty = true
  }

  descend(parts: string[], create: boolean, fullPath: string): MutDir | undefined {
    let d: MutDir = this
    let soFar = ''
    for (const part of parts) {
      soFar += '/' + part
      const m = d.load()
      const cur = m.get(part)
      if (cur instanceof MutDir) {
        d = cur
        continue
      }
      if (cur === undefined) {
        if (!create) return undefined
        const nd = new MutDir(this.store, null)
        nd.dirty = true
        m.set(part, nd)
        d.dirty = true
        d = nd
        continue
      }
      if (cur.kind === 'file') {
        if (!create) return undefined
        throw new ConflictError('PATH_COLLISION', `file / directory path collision (${fullPath}): ${soFar} is a file`, {
          hint: `delete ${soFar} first, or write under another path`,
          data: {path: fullPath, file: soFar},
        })
      }
      const nd = new MutDir(this.store, cur.hash)
      m.set(part, nd)
      d = nd
    }
    return d
  }

  kindOf(name: string): 'file' | 'dir' | undefined {
    const cur = this.load().get(name)
    return cur === undefined ? undefined : cur instanceof MutDir || cur.kind === 'dir' ? 'dir' : 'file'
  }

  set(name: string, entry: Entry, fullPath: string): void {
    const m = this.load()
    const cur = m.get(name)
    if (cur !== undefined && entry.kind === 'file' && (cur instanceof MutDir || cur.kind === 'dir')) {
      throw new ConflictError('PATH_COLLISION', `file / directory path collision (${fullPath}): ${fullPath} is a directory`, {
        hint: `delete ${fullPath} first (pach delete file -r), or write under another path`,
        data: {path: fullPath},
      })
    }
    m.set(name, entry)
    this.dirty = true
  }

  remove(name: string): void {
    const m = this.load()
    if (m.delete(name)) this.dirty = true
  }

  /** Persist changed directories bottom-up; returns the dir summary or null if empty. */
  save(): {hash: Buffer; size: number; files: number} | null {
    const m = this.load()
    let childDirty = this.dirty
    const list: Entry[] = []
    for (const [name, v] of m) {
      if (v instanceof MutDir) {
        const s = v.save()
        if (v.dirty) childDirty = true
        if (s) list.push({kind: 'dir', name, hash: s.hash, size: s.size, files: s.files})
      } else list.push(v)
    }
    this.dirty = childDirty
    if (list.length === 0) return null
    if (!childDirty && this.base) return {hash: this.base, ...dirTotals(list)}
    list.sort((a, b) => cmpKey(entryKey(a), entryKey(b)))
    return this.store.put(list)
  }
}
