/**
 * Merkle trees: a commit's files as content-addressed directory objects (stored in SQLite
 * `trees(hash, data)`). Like blobs, trees are addressed by their content, so they live in the
 * store layer; PFS (commits) and PPS (datum outputs) point at them. The byte layouts and the
 * rule that cuts a large directory into a prolly tree of nodes are in tree-node.ts.
 *
 * Concepts:
 * - a directory is named by its hash: the hash of its one object (small directories) or of its
 *   root node (large ones). A dir entry carries that hash, its total size and file count, so a
 *   directory's hash is derived from its children's names and hashes.
 * - empty directories do not exist: removing a directory's last file removes it.
 *
 * Invariants:
 * - objects are immutable and shared: a commit that changes one file writes new objects only
 *   along that file's path, and in a large directory only the node holding the entry plus its
 *   ancestors (O(log n) nodes of ~0.5 KiB), so writes, lookups and diffs cost what changed,
 *   not the directory or repo size.
 * - reads never hold a whole large directory unless asked to (`get`): lookups descend the
 *   index, `entries`/`walk` read node by node, `diff` skips subtrees whose hashes are equal.
 * - a path is either a file or a directory; a write that would make it both fails with a
 *   "file / directory path collision" error and changes nothing.
 */
import {ConflictError, CorruptObjectError} from '../errors.js'
import {getTreeData, hasTree, insertTree} from '../db/objects.js'
import type {DB} from '../db/types.js'
import {sha256} from './hash.js'
import type {FileContent} from './content.js'
import {
  boundaryHash,
  cmpKey,
  dirTotals,
  encodeIndex,
  encodeLeaf,
  encodeTree,
  entryKey,
  entryNominal,
  isBoundary,
  isSmall,
  itemNominal,
  decodeNode,
  applyDelta,
  deltaHeader,
  encodeDelta,
  MAX_DELTA_DEPTH,
  summarize,
  SMALL_ENTRIES,
  type DirEntry,
  type Entry,
  type FileEntry,
  type IndexItem,
  type TreeNode,
} from './tree-node.js'

export {decodeTree, dirTotals, encodeTree, entryKey, type DirEntry, type Entry, type FileEntry, type IndexItem, type TreeNode} from './tree-node.js'

export interface DirSummary {
  hash: Buffer
  size: number
  files: number
}

/** A sorted edit of one directory: set `key` to an entry, or delete it (null). */
type DirOp = [key: string, entry: Entry | null]

// Cache bounds: by count for decoded nodes, by bytes for raw rows; each cache is cleared when
// full. A job writing a million /meta records passes through them all: the bounds are what a
// long write holds (~1,024 decoded nodes and 8 MiB of rows), not the job's size.
const NODE_CACHE = 1024
const RAW_CACHE_BYTES = 8 * 1024 * 1024

/** Reads and writes tree objects in SQLite, with a small decoded-node cache. */
export class TreeStore {
  private cache = new Map<string, TreeNode>()
  /** full bytes and delta depth of recently read or written objects (delta bases are read often) */
  private raw = new Map<string, Buffer>()
  private rawBytes = 0
  private depth = new Map<string, number>()

  private readonly putNodeFn: PutNode = (data, node, base) => this.putNode(data, node, base)

  constructor(readonly db: DB) {}

  /**
   * A stored tree object (a small directory, a leaf or an index node), verified against its
   * hash. `keep` false reads it once (a listing's leaves): neither it nor its bytes are added
   * to the caches, except a delta's chain, which later reads reuse.
   */
  node(hash: Buffer, keep = true): TreeNode {
    const key = hash.toString('latin1')
    const hit = this.cache.get(key)
    if (hit) return hit
    const node = decodeNode(this.bytes(hash, keep))
    if (keep) {
      if (this.cache.size >= NODE_CACHE) this.cache.clear()
      this.cache.set(key, node)
    }
    return node
  }

  /** An object's full bytes (following its delta chain), verified against its hash. */
  bytes(hash: Buffer, keep = true): Buffer {
    const key = hash.toString('latin1')
    const hit = this.raw.get(key)
    if (hit) return hit
    const row = getTreeData(this.db, hash)
    if (!row) throw new CorruptObjectError(`tree ${hash.toString('hex')} is missing from the database`, {data: {tree: hash.toString('hex')}})
    const delta = deltaHeader(row)
    const data = delta ? applyDelta(row, this.bytes(delta.base)) : row
    if (!sha256(data).equals(hash)) throw new CorruptObjectError(`tree ${hash.toString('hex')} is damaged (hash mismatch)`)
    if (keep || delta) this.remember(key, data, delta ? delta.depth : 0)
    return data
  }

  /** The objects a stored delta row is based on, nearest first (none for a whole object): gc and fsck keep them alive. */
  *deltaBases(hash: Buffer): Generator<Buffer> {
    for (let row = getTreeData(this.db, hash); row; ) {
      const base = deltaHeader(row)?.base
      if (!base) return
      yield base
      row = getTreeData(this.db, base)
    }
  }

  private remember(key: string, data: Buffer, depth: number): void {
    if (this.rawBytes + data.length > RAW_CACHE_BYTES) {
      this.raw.clear()
      this.depth.clear()
      this.rawBytes = 0
    }
    this.raw.set(key, data)
    this.rawBytes += data.length
    this.depth.set(key, depth)
  }

  /** Store an object, as a delta against `base` (the object it replaces) when that is small. */
  private putNode(data: Buffer, node: TreeNode, base?: Buffer): Buffer {
    const hash = sha256(data)
    const key = hash.toString('latin1')
    let row = data
    let depth = 0
    // the base must be stored now, not just cached: gc (another process) may have freed it
    if (base && !base.equals(hash) && hasTree(this.db, base)) {
      const baseData = this.bytes(base)
      const baseDepth = this.depth.get(base.toString('latin1')) ?? MAX_DELTA_DEPTH
      const delta = encodeDelta(data, baseData, base, baseDepth + 1)
      if (delta) {
        row = delta
        depth = baseDepth + 1
      }
    }
    if (insertTree(this.db, hash, row).changes === 0 && row !== data) {
      // stored before in another form: its chain length is the stored row's
      depth = deltaHeader(getTreeData(this.db, hash)!)?.depth ?? 0
    }
    if (this.cache.size >= NODE_CACHE) this.cache.clear()
    this.cache.set(key, node)
    this.remember(key, data, depth)
    return hash
  }

  /** Every entry of a directory, in one array: for small directories and callers that need them all. */
  get(hash: Buffer): Entry[] {
    const n = this.node(hash)
    return n.kind === 'index' ? [...this.entries(hash)] : n.entries
  }

  /**
   * A directory's entries in key order, read as they are yielded: the API for listings and
   * walks that must not hold a whole large directory (list file, materialize, glob, fsck).
   */
  entries(dir: Buffer): Generator<Entry> {
    return this.entriesUnder(dir)
  }

  private *entriesUnder(node: Buffer, passing = false): Generator<Entry> {
    const n = this.node(node, !passing)
    if (n.kind !== 'index') {
      yield* n.entries
      return
    }
    // index nodes are kept (lookups need them); leaves read once, so a listing of a million
    // entries holds one leaf at a time, not the caches' worth
    for (const it of n.items) yield* this.entriesUnder(it.hash, n.level === 1)
  }

  /**
   * A directory's entries in key order from the first whose key (`entryKey`: `name`, or
   * `name/` for a directory) is >= `from`: a seek of O(log n) nodes, then read as yielded (a
   * listing's next page starts here without reading the entries before it).
   */
  *entriesFrom(dir: Buffer, from: string): Generator<Entry> {
    if (from === '') {
      yield* this.entriesUnder(dir)
      return
    }
    const n = this.node(dir)
    if (n.kind !== 'index') {
      for (const e of n.entries) if (cmpKey(entryKey(e), from) >= 0) yield e
      return
    }
    // items carry their subtree's last key: the first item whose last key >= from holds the start
    const items = n.items
    const i = lowerBound(items.length, (k) => cmpKey(items[k]!.key, from) < 0)
    if (i === items.length) return
    yield* this.entriesFrom(items[i]!.hash, from)
    for (let k = i + 1; k < items.length; k++) yield* this.entriesUnder(items[k]!.hash, n.level === 1)
  }

  /** A directory's total size and file count (from its root node). */
  summary(hash: Buffer): DirSummary {
    const n = this.node(hash)
    const s = summarize(hash, n)
    return {hash, size: s.size, files: s.files}
  }

  /** Store a directory given all its entries (sorted by key); returns its summary. */
  put(entries: Entry[]): DirSummary {
    const s = this.build(entries)
    if (!s) throw new Error('TreeStore.put: a directory has at least one entry')
    return s
  }

  /** The entry `name` (a file, else a directory) directly in a directory: O(log n) nodes read. */
  findIn(dir: Buffer, name: string): Entry | undefined {
    return this.findKey(dir, name) ?? this.findKey(dir, name + '/')
  }

  private findKey(dir: Buffer, key: string): Entry | undefined {
    let n = this.node(dir)
    while (n.kind === 'index') {
      const items = n.items
      const i = lowerBound(items.length, (k) => cmpKey(items[k]!.key, key) < 0)
      if (i === items.length) return undefined
      n = this.node(items[i]!.hash)
    }
    const entries = n.entries
    const i = lowerBound(entries.length, (k) => cmpKey(entryKey(entries[k]!), key) < 0)
    const e = entries[i]
    return e && entryKey(e) === key ? e : undefined
  }

  /** Find the entry at a path ("/" returns a synthetic root dir entry, or undefined if empty). */
  lookup(root: Buffer | null, path: string): Entry | undefined {
    if (!root) return undefined
    if (path === '/') {
      const s = this.summary(root)
      return {kind: 'dir', name: '', hash: root, size: s.size, files: s.files}
    }
    const parts = path.split('/').filter(Boolean)
    let dir: Buffer = root
    for (let i = 0; i < parts.length; i++) {
      const e = this.findIn(dir, parts[i]!)
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
    for (const e of this.entries(hash)) {
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
      for (const e of this.entries(entry.hash)) this.merge(top, `${parts.length ? path : ''}/${e.name}`, e)
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

  // ------------------------------------------------------------ building and editing

  /** Store a directory from all its entries (sorted by key): one small object, or a prolly tree. */
  private build(entries: readonly Entry[], base?: Buffer): DirSummary | null {
    if (entries.length === 0) return null
    if (isSmall(entries)) {
      const hash = this.putNode(encodeTree(entries), {kind: 'small', entries: entries as Entry[]}, base)
      return {hash, ...dirTotals(entries)}
    }
    const leaves: IndexItem[] = []
    const b = new NodeBuilder(this.putNodeFn, 0, (it) => leaves.push(it))
    for (const e of entries) b.add(e)
    b.flush()
    return this.buildAbove(leaves, 1)
  }

  /** Cut the items of `level` into nodes, then their items, until one node remains (the root). */
  private buildAbove(items: IndexItem[], level: number): DirSummary {
    while (items.length > 1) {
      const next: IndexItem[] = []
      const b = new NodeBuilder(this.putNodeFn, level, (it) => next.push(it))
      for (const it of items) b.add(it)
      b.flush()
      items = next
      level++
    }
    const root = items[0]!
    return {hash: root.hash, size: root.size, files: root.files}
  }

  /**
   * Apply sorted ops to a stored directory (null = none). Small directories are edited in
   * memory; a prolly directory is edited level by level, re-cutting only the nodes the ops fall
   * in (and the following ones until a boundary falls where an old one did).
   */
  editDir(base: Buffer | null, ops: readonly DirOp[]): DirSummary | null {
    const root = base ? this.node(base) : undefined
    if (!base || !root || root.kind === 'small') return this.build(mergeSorted(root?.kind === 'small' ? root.entries : [], ops), base ?? undefined)
    const height = root.kind === 'index' ? root.level : 0
    let levelOps: LevelOps = new Map(ops.map(([k, e]) => [k, {set: e}]))
    const cursor = new OldTree(this, base, root)
    for (let level = 0; level <= height; level++) {
      // at the old root's level, a re-cut node identical to an old one must stay: it has no
      // parent to keep it (the root's single leaf split after a huge entry, or a new node
      // appended after a boundary at the end of the old root)
      levelOps = this.editLevel(cursor, level, levelOps, level === height)
      if (levelOps.size === 0) return this.summary(base) // nothing changed after all
    }
    // the old root was removed; what remains are the new nodes of its level
    const top: IndexItem[] = []
    for (const [, op] of [...levelOps].sort((a, b) => cmpKey(a[0], b[0]))) if (op.set) top.push(op.set as IndexItem)
    if (top.length === 0) return null
    if (top.length > 1) return this.buildAbove(top, height + 1)
    let r = top[0]!
    for (let n = this.node(r.hash); n.kind === 'index' && n.items.length === 1; n = this.node(r.hash)) r = n.items[0]!
    if (r.count <= SMALL_ENTRIES) {
      const all = this.get(r.hash)
      if (isSmall(all)) return this.build(all)
    }
    return {hash: r.hash, size: r.size, files: r.files}
  }

  /**
   * Re-cut one level. `ops` are by key at this level (entries at level 0, index items above):
   * set to an item or delete. Returns the ops for the level above: the old nodes re-cut are
   * deleted, the new nodes set (a node that came out identical cancels out).
   */
  private editLevel(tree: OldTree, level: number, ops: LevelOps, top = false): LevelOps {
    const keys = [...ops.keys()].sort(cmpKey)
    const out: LevelOps = new Map()
    const keyOf = level === 0 ? (x: Entry | IndexItem) => entryKey(x as Entry) : (x: Entry | IndexItem) => (x as IndexItem).key
    const b = new NodeBuilder(this.putNodeFn, level, (it) => {
      const o = out.get(it.key)
      if (o) o.set = it
      else out.set(it.key, {set: it})
    })
    let i = 0
    while (i < keys.length) {
      let at = tree.seek(level, keys[i]!)
      for (;;) {
        const old = at.item
        b.base = old.hash // a node cut while reading this old node is stored against it
        const o = out.get(old.key)
        if (o) o.old = old
        else out.set(old.key, {set: null, old})
        const items = at.items as (Entry | IndexItem)[]
        let j = 0
        while (j < items.length || (i < keys.length && (at.last || cmpKey(keys[i]!, old.key) <= 0))) {
          const ik = j < items.length ? keyOf(items[j]!) : undefined
          const c = i < keys.length && (at.last || cmpKey(keys[i]!, old.key) <= 0) ? (ik === undefined ? -1 : cmpKey(keys[i]!, ik)) : 1
          if (c <= 0) {
            const set = ops.get(keys[i]!)!.set
            if (set) b.add(set)
            i++
            if (c === 0) j++
          } else {
            b.add(items[j]!)
            j++
          }
        }
        if (at.last) {
          b.flush()
          break
        }
        if (!b.pending) break // a boundary at the end of an old node: the rest is unchanged
        at = tree.next(level)!
      }
    }
    if (!top) for (const [k, o] of out) if (o.old && o.set && o.old.hash.equals(o.set.hash)) out.delete(k)
    return out
  }

  // ------------------------------------------------------------ diff

  /** Differences between two trees, in path order. Cost is proportional to what changed. */
  *diff(oldRoot: Buffer | null, newRoot: Buffer | null, base = ''): Generator<DiffItem> {
    if (oldRoot && newRoot && oldRoot.equals(newRoot)) return
    const a = new Frontier(this, oldRoot)
    const b = new Frontier(this, newRoot)
    for (;;) {
      a.settle(b)
      const ea = a.peekEntry()
      const eb = b.peekEntry()
      if (!ea && !eb) return
      const c = ea && eb ? cmpKey(entryKey(ea), entryKey(eb)) : ea ? -1 : 1
      if (c < 0) {
        yield* this.removedOrAdded(ea!, base, 'deleted')
        a.pop()
      } else if (c > 0) {
        yield* this.removedOrAdded(eb!, base, 'added')
        b.pop()
      } else {
        const p = `${base}/${ea!.name}`
        if (!ea!.hash.equals(eb!.hash)) {
          if (ea!.kind === 'dir') yield* this.diff(ea!.hash, eb!.hash, p)
          else yield {path: p, change: 'modified', old: ea as FileEntry, new: eb as FileEntry}
        }
        a.pop()
        b.pop()
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

type LevelOps = Map<string, {set: Entry | IndexItem | null; old?: IndexItem}>

/** The first index in [0, n) where `before` is false (before must be monotone). */
function lowerBound(n: number, before: (i: number) => boolean): number {
  let lo = 0
  let hi = n
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (before(mid)) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Entries with sorted ops applied (both sorted by key). */
function mergeSorted(entries: readonly Entry[], ops: readonly DirOp[]): Entry[] {
  const out: Entry[] = []
  let i = 0
  let j = 0
  while (i < entries.length || j < ops.length) {
    const c = i < entries.length && j < ops.length ? cmpKey(entryKey(entries[i]!), ops[j]![0]) : i < entries.length ? -1 : 1
    if (c < 0) out.push(entries[i++]!)
    else {
      const e = ops[j++]![1]
      if (e) out.push(e)
      if (c === 0) i++
    }
  }
  return out
}

/** Stores a node's bytes (as a delta against `base` when worth it) and returns its hash. */
type PutNode = (data: Buffer, node: TreeNode, base?: Buffer) => Buffer

/** Cuts a stream of items of one level into stored nodes, reporting each node's summary. */
class NodeBuilder {
  private items: (Entry | IndexItem)[] = []
  private run = 0
  /** the old node the next node most likely replaces (for a delta row) */
  base: Buffer | undefined

  constructor(
    private readonly put: PutNode,
    private readonly level: number,
    private readonly emit: (summary: IndexItem) => void,
  ) {}

  get pending(): boolean {
    return this.items.length > 0
  }

  add(item: Entry | IndexItem): void {
    this.items.push(item)
    const leaf = this.level === 0
    const nominal = leaf ? entryNominal(item as Entry) : itemNominal(item as IndexItem)
    this.run += nominal
    const key = leaf ? entryKey(item as Entry) : (item as IndexItem).key
    if (isBoundary(this.run, nominal, boundaryHash(key, this.level))) this.flush()
  }

  flush(): void {
    if (!this.items.length) return
    const node: TreeNode = this.level === 0 ? {kind: 'leaf', entries: this.items as Entry[]} : {kind: 'index', level: this.level, items: this.items as IndexItem[]}
    const data = node.kind === 'leaf' ? encodeLeaf(node.entries) : encodeIndex(this.level, (node as Extract<TreeNode, {kind: 'index'}>).items)
    const hash = this.put(data, node, this.base)
    this.emit(summarize(hash, node))
    this.items = []
    this.run = 0
  }
}

/** A cursor over the nodes of one level of a stored prolly directory (for editing). */
class OldTree {
  private frames: {items: IndexItem[]; idx: number}[] = []
  private height: number
  private level = 0

  constructor(
    private readonly store: TreeStore,
    private readonly rootHash: Buffer,
    private readonly root: TreeNode,
  ) {
    this.height = root.kind === 'index' ? root.level : 0
  }

  /** The node of `level` whose key range holds `key` (the last node if none). */
  seek(level: number, key: string): Position {
    this.level = level
    this.frames = []
    let node = this.root
    for (let lv = this.height; lv > level; lv--) {
      const items = (node as {items: IndexItem[]}).items
      let idx = lowerBound(items.length, (k) => cmpKey(items[k]!.key, key) < 0)
      if (idx === items.length) idx--
      this.frames.push({items, idx})
      node = this.store.node(items[idx]!.hash)
    }
    return this.position(node)
  }

  /** The next node of the current level, or undefined after the last. */
  next(level: number): Position | undefined {
    if (level !== this.level) throw new Error('OldTree.next: level changed')
    let f = this.frames.length - 1
    while (f >= 0 && this.frames[f]!.idx === this.frames[f]!.items.length - 1) f--
    if (f < 0) return undefined
    this.frames[f]!.idx++
    let node = this.store.node(this.frames[f]!.items[this.frames[f]!.idx]!.hash)
    for (let k = f + 1; k < this.frames.length; k++) {
      const items = (node as {items: IndexItem[]}).items
      this.frames[k] = {items, idx: 0}
      node = this.store.node(items[0]!.hash)
    }
    return this.position(node)
  }

  private position(node: TreeNode): Position {
    const last = this.frames.every((f) => f.idx === f.items.length - 1)
    const top = this.frames[this.frames.length - 1]
    const item = top ? top.items[top.idx]! : summarize(this.rootHash, this.root)
    return {items: node.kind === 'index' ? node.items : node.entries, item, last}
  }
}

interface Position {
  /** the node's items: entries (level 0) or index items */
  items: readonly (Entry | IndexItem)[]
  /** the node as its parent's item (the root: its own summary) */
  item: IndexItem
  /** no node of this level follows */
  last: boolean
}

/**
 * One side of a diff: a queue of entries and unexpanded nodes in key order. Two frontiers
 * skip equal nodes together and expand the higher of two different ones, so a diff reads
 * only the nodes on the paths to what changed.
 */
class Frontier {
  private queue: ({node: Buffer; level: number} | Entry)[] = []

  constructor(
    private readonly store: TreeStore,
    root: Buffer | null,
  ) {
    if (root) this.queue.push({node: root, level: this.levelOf(root)})
  }

  private levelOf(hash: Buffer): number {
    const n = this.store.node(hash)
    return n.kind === 'index' ? n.level : 0
  }

  private head(): {node: Buffer; level: number} | Entry | undefined {
    return this.queue[this.queue.length - 1]
  }

  private expand(): void {
    const h = this.queue.pop() as {node: Buffer; level: number}
    const n = this.store.node(h.node)
    if (n.kind === 'index') for (let i = n.items.length - 1; i >= 0; i--) this.queue.push({node: n.items[i]!.hash, level: n.level - 1})
    else for (let i = n.entries.length - 1; i >= 0; i--) this.queue.push(n.entries[i]!)
  }

  /** Bring both heads to entries, dropping equal nodes on both sides. */
  settle(other: Frontier): void {
    for (;;) {
      const a = this.head()
      const b = other.head()
      const an = a && 'node' in a ? a : undefined
      const bn = b && 'node' in b ? b : undefined
      if (an && bn && an.node.equals(bn.node)) {
        this.queue.pop()
        other.queue.pop()
      } else if (an && (!bn || an.level >= bn.level)) this.expand()
      else if (bn) other.expand()
      else return
    }
  }

  peekEntry(): Entry | undefined {
    return this.head() as Entry | undefined
  }

  pop(): void {
    this.queue.pop()
  }
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

/**
 * A directory being edited: the stored directory (`base`) plus edits by name. Unchanged
 * entries stay in the store (a lookup reads O(log n) nodes), so editing one name of a large
 * directory never loads it whole.
 */
class MutDir {
  /** name → new entry, a child being edited, or null (removed) */
  private edits = new Map<string, Entry | MutDir | null>()
  dirty = false

  constructor(private readonly store: TreeStore, private base: Buffer | null) {}

  /** What `name` is now: an edit, else the stored entry. */
  private current(name: string): Entry | MutDir | undefined {
    if (this.edits.has(name)) return this.edits.get(name) ?? undefined
    return this.base ? this.store.findIn(this.base, name) : undefined
  }

  clear(): void {
    this.base = null
    this.edits.clear()
    this.dirty = true
  }

  replaceWith(hash: Buffer): void {
    this.base = hash
    this.edits.clear()
    this.dirty = true
  }

  descend(parts: string[], create: boolean, fullPath: string): MutDir | undefined {
    let d: MutDir = this
    let soFar = ''
    for (const part of parts) {
      soFar += '/' + part
      const cur = d.current(part)
      if (cur instanceof MutDir) {
        d = cur
        continue
      }
      if (cur === undefined) {
        if (!create) return undefined
        const nd = new MutDir(this.store, null)
        nd.dirty = true
        d.edits.set(part, nd)
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
      d.edits.set(part, nd)
      d = nd
    }
    return d
  }

  kindOf(name: string): 'file' | 'dir' | undefined {
    const cur = this.current(name)
    return cur === undefined ? undefined : cur instanceof MutDir || cur.kind === 'dir' ? 'dir' : 'file'
  }

  set(name: string, entry: Entry, fullPath: string): void {
    if (entry.kind === 'file' && this.kindOf(name) === 'dir') {
      throw new ConflictError('PATH_COLLISION', `file / directory path collision (${fullPath}): ${fullPath} is a directory`, {
        hint: `delete ${fullPath} first (pach delete file -r), or write under another path`,
        data: {path: fullPath},
      })
    }
    this.edits.set(name, entry)
    this.dirty = true
  }

  remove(name: string): void {
    if (this.current(name) === undefined) return
    this.edits.set(name, null)
    this.dirty = true
  }

  /** Persist changed directories bottom-up; returns the dir summary or null if empty. */
  save(): DirSummary | null {
    const ops = new Map<string, Entry | null>()
    for (const [name, v] of this.edits) {
      let now: Entry | null
      if (v instanceof MutDir) {
        const s = v.save()
        if (!v.dirty) continue
        this.dirty = true
        now = s && {kind: 'dir', name, hash: s.hash, size: s.size, files: s.files}
      } else now = v
      const was = this.base ? this.store.findIn(this.base, name) : undefined
      if (was && now && was.kind === now.kind && was.hash.equals(now.hash) && was.size === now.size) continue
      if (was) ops.set(entryKey(was), null)
      if (now) ops.set(entryKey(now), now)
    }
    if (!this.dirty || (ops.size === 0 && this.base)) {
      if (!this.base) return null
      return this.store.summary(this.base)
    }
    return this.store.editDir(this.base, [...ops].sort((a, b) => cmpKey(a[0], b[0])))
  }
}
