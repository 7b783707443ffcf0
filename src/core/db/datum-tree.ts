/**
 * A job's datum set as a persistent search tree keyed by datum id (a prolly tree whose chunk
 * boundaries are fixed by the keys themselves), stored as content-addressed nodes in
 * `datum_nodes`. A job that reprocesses 1 of N datums writes one leaf and the path above it
 * (~10 KiB at N = 1,000,000), reads O(log N) nodes to plan, and shares every other node with
 * its base job's set.
 *
 * Entries, in datum-id order (the order of `list datum`, as in Pachyderm, whose datums sit at
 * `/meta/<id>` of a fileset): datum id (32 bytes), datum hash (32), state (1 byte, index in
 * DATUM_STATES), source job id (16). `state` is the datum's state in its source job — the job
 * whose `datums` row describes it. The state in job J is derived: `state` when source is J,
 * else SKIPPED (J kept the source's result). So an entry a job skips is byte-identical to its
 * base's and costs nothing; only datums a job ran or dropped change its tree.
 *
 * Shape. Level 0 (leaves) holds entries; a node of level L ≥ 1 holds one item per child of
 * level L−1: the child's last id (32 bytes), its hash (32) and its entry count (uint32 BE).
 * Node bytes: level (1 byte) | item count (LEB128) | items (fixed size per level). Node hash:
 * SHA-256 of those bytes.
 * Boundaries: at level L an item ends its node when bits of its (last) id are zero:
 * `id.readUInt32BE(4L) % FANOUT === 0`. Ids are SHA-256 digests, so nodes average FANOUT items
 * (~5 KiB leaves) with a geometric spread (no cap is needed: a leaf of 1,000 entries has
 * odds e^-16), and a boundary depends on nothing but its own key. Hence: the tree of a set is
 * canonical (same entries, same root, whatever the edits that led there), and an edit changes
 * only the nodes whose key range it falls in, plus at most the next node at a level where it
 * removed the boundary key. The root is the lowest level that has one node; an empty set has
 * no root (null). Each level uses other bytes of the id, so the levels cut independently.
 *
 * Editing (edit) walks the old tree in key order and re-emits it through the same Builder as
 * build; a subtree whose key range holds no edit is taken whole (its item only) whenever the
 * builder is at a node boundary below it, so the cost is O(edits × height × node size).
 *
 * Invariants: node bytes decode (else CorruptObjectError); entries strictly ascending by id;
 * an item's count is its subtree's entry count; every item but each level's last ends on a
 * boundary key (verify checks them all).
 */
import {CorruptObjectError, InternalError} from '../errors.js'
import {sha256} from '../store/hash.js'

export const DATUM_STATES = ['SUCCESS', 'SKIPPED', 'FAILED', 'RECOVERED', 'STARTING', 'UNKNOWN'] as const
export type DatumSetState = (typeof DATUM_STATES)[number]

export interface DatumSetEntry {
  id: string
  hash: string
  /** the datum's state in its source job (see the header for the state in other jobs) */
  state: DatumSetState
  /** the job whose `datums` row describes this datum */
  source: string
}

/** Where nodes live: `datum_nodes` (db/datums.ts) or, in tests, a Map. */
export interface DatumNodeStore {
  get(hash: Buffer): Buffer | undefined
  put(hash: Buffer, data: Buffer): void
}

export const FANOUT = 64
const ENTRY = 81
const ITEM = 68
const MAX_LEVEL = 6 // 64^7 entries: beyond anything stored

const isBoundary = (id: Buffer, level: number) => id.readUInt32BE(4 * level) % FANOUT === 0

export function writeEntry(buf: Buffer, o: number, e: DatumSetEntry): void {
  const state = DATUM_STATES.indexOf(e.state)
  if (state < 0 || buf.write(e.id, o, 32, 'hex') !== 32 || buf.write(e.hash, o + 32, 32, 'hex') !== 32 || buf.write(e.source, o + 65, 16, 'hex') !== 16) {
    throw new InternalError(`datum set: bad entry ${JSON.stringify(e)}`)
  }
  buf[o + 64] = state
}

export function readEntry(buf: Buffer, o: number): DatumSetEntry {
  const state = DATUM_STATES[buf[o + 64]!]
  if (state === undefined) throw new CorruptObjectError(`a job's datum set is damaged: bad state byte ${buf[o + 64]}`)
  return {id: buf.toString('hex', o, o + 32), hash: buf.toString('hex', o + 32, o + 64), state, source: buf.toString('hex', o + 65, o + 81)}
}

/** A decoded node: its level, item count and where the items start in its bytes. */
interface Node {
  level: number
  n: number
  data: Buffer
  at: number
}

function decodeNode(hash: Buffer, data: Buffer): Node {
  const bad = (why: string) => new CorruptObjectError(`datum set node ${hash.toString('hex').slice(0, 16)} is damaged: ${why}`)
  if (data.length < 2) throw bad('too short')
  const level = data[0]!
  if (level > MAX_LEVEL) throw bad(`level ${level}`)
  let n = 0
  let at = 1
  for (let mul = 1; ; mul *= 0x80) {
    if (at >= data.length || mul > 2 ** 28) throw bad('bad item count')
    const b = data[at++]!
    n += (b & 0x7f) * mul
    if (b < 0x80) break
  }
  if (n === 0 || data.length !== at + n * (level === 0 ? ENTRY : ITEM)) throw bad(`${data.length} bytes do not hold ${n} items`)
  return {level, n, data, at}
}

function encodeNode(level: number, items: Buffer[]): Buffer {
  const head: number[] = [level]
  for (let n = items.length; ; n = Math.floor(n / 0x80)) {
    if (n < 0x80) {
      head.push(n)
      break
    }
    head.push((n % 0x80) | 0x80)
  }
  return Buffer.concat([Buffer.from(head), ...items])
}

/** Item i's id (the entry's id, or the child's last id) as a Buffer view. */
const keyAt = (nd: Node, i: number) => nd.data.subarray(nd.at + i * (nd.level === 0 ? ENTRY : ITEM), nd.at + i * (nd.level === 0 ? ENTRY : ITEM) + 32)
const itemAt = (nd: Node, i: number) => nd.data.subarray(nd.at + i * ITEM, nd.at + (i + 1) * ITEM)
const childOf = (item: Buffer) => item.subarray(32, 64)
const countOf = (item: Buffer) => item.readUInt32BE(64)

/**
 * Emits the canonical tree of the items it is given in key order: entries at level 0, or
 * whole subtrees (their items) where every level below is at a node boundary.
 */
class Builder {
  private readonly pending: Buffer[][] = []
  private readonly counts: number[] = []

  constructor(private readonly tree: DatumTree) {}

  /** No open node at levels 0..level: a whole node of `level` may be taken as it is. */
  alignedAt(level: number): boolean {
    for (let l = 0; l <= level; l++) if (this.pending[l]?.length) return false
    return true
  }

  entry(bytes: Buffer): void {
    this.push(0, bytes, 1, bytes.subarray(0, 32))
  }

  /** A whole node of `level` (its item in the level above); the builder must be alignedAt(level). */
  node(level: number, item: Buffer): void {
    this.push(level + 1, item, countOf(item), item.subarray(0, 32))
  }

  private push(level: number, bytes: Buffer, count: number, key: Buffer): void {
    if (level > MAX_LEVEL) throw new InternalError('datum set: tree too tall')
    ;(this.pending[level] ??= []).push(bytes)
    this.counts[level] = (this.counts[level] ?? 0) + count
    if (isBoundary(key, level)) this.close(level)
  }

  private close(level: number): void {
    const items = this.pending[level]!
    const data = encodeNode(level, items)
    const hash = sha256(data)
    this.tree.store.put(hash, data)
    const last = items.at(-1)!.subarray(0, 32)
    const item = Buffer.allocUnsafe(ITEM)
    last.copy(item, 0)
    hash.copy(item, 32)
    item.writeUInt32BE(this.counts[level]!, 64)
    this.pending[level] = []
    this.counts[level] = 0
    this.push(level + 1, item, countOf(item), last)
  }

  /** Close the open nodes bottom up; the root is the lowest level left with one node. */
  finish(): Buffer | null {
    for (let level = 0; level <= MAX_LEVEL; level++) {
      if (this.pending[level]?.length) this.close(level)
      const above = this.pending[level + 1]
      if (above?.length === 1 && this.pending.slice(level + 2).every((p) => !p.length)) {
        let root = Buffer.from(childOf(above[0]!))
        // a root of one item is its only child (a level that has one node)
        for (let nd = this.tree.node(root); nd.level > 0 && nd.n === 1; nd = this.tree.node(root)) root = Buffer.from(childOf(itemAt(nd, 0)))
        return root
      }
    }
    return null
  }
}

export type DatumEdit = [id: string, entry: DatumSetEntry | null]

export class DatumTree {
  private readonly cache = new Map<string, Node>()

  constructor(readonly store: DatumNodeStore) {}

  /** Drop cached nodes (a test that damages rows under a live tree). */
  forget(): void {
    this.cache.clear()
  }

  node(hash: Buffer): Node {
    const k = hash.toString('latin1')
    const hit = this.cache.get(k)
    if (hit) return hit
    const data = this.store.get(hash)
    if (!data) throw new CorruptObjectError(`datum set node ${hash.toString('hex').slice(0, 16)} is missing`)
    const nd = decodeNode(hash, data)
    if (this.cache.size >= 512) this.cache.delete(this.cache.keys().next().value!)
    this.cache.set(k, nd)
    return nd
  }

  /** The tree of entries given in ascending id order. */
  build(sorted: Iterable<DatumSetEntry>): Buffer | null {
    const b = new Builder(this)
    let prev = ''
    for (const e of sorted) {
      if (e.id <= prev) throw new InternalError(`datum set: entries out of order or repeated at ${e.id}`)
      prev = e.id
      const bytes = Buffer.allocUnsafe(ENTRY)
      writeEntry(bytes, 0, e)
      b.entry(bytes)
    }
    return b.finish()
  }

  /** Entry count (the root's items' counts; a leaf's item count). */
  size(root: Buffer | null): number {
    if (!root) return 0
    const nd = this.node(root)
    if (nd.level === 0) return nd.n
    let n = 0
    for (let i = 0; i < nd.n; i++) n += countOf(itemAt(nd, i))
    return n
  }

  get(root: Buffer | null, id: string): DatumSetEntry | undefined {
    if (!root) return undefined
    const key = Buffer.from(id, 'hex')
    if (key.length !== 32) return undefined
    let nd = this.node(root)
    for (;;) {
      // first item whose key is >= the id
      let lo = 0
      let hi = nd.n
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (keyAt(nd, mid).compare(key) < 0) lo = mid + 1
        else hi = mid
      }
      if (lo === nd.n) return undefined
      if (nd.level === 0) return keyAt(nd, lo).equals(key) ? readEntry(nd.data, nd.at + lo * ENTRY) : undefined
      nd = this.node(childOf(itemAt(nd, lo)))
    }
  }

  /** How many entries have an id below `id` (which need not be in the tree): its place in id order. */
  countBelow(root: Buffer | null, id: string): number {
    if (!root) return 0
    const key = Buffer.from(id, 'hex')
    let before = 0
    let nd = this.node(root)
    for (;;) {
      let i = 0
      while (i < nd.n && keyAt(nd, i).compare(key) < 0) {
        if (nd.level > 0) before += countOf(itemAt(nd, i))
        i++
      }
      if (nd.level === 0 || i === nd.n) return before + (nd.level === 0 ? i : 0)
      nd = this.node(childOf(itemAt(nd, i)))
    }
  }

  /** Every entry in id order, read a node at a time. */
  *entries(root: Buffer | null): Generator<DatumSetEntry> {
    if (!root) return
    const nd = this.node(root)
    if (nd.level === 0) {
      for (let i = 0; i < nd.n; i++) yield readEntry(nd.data, nd.at + i * ENTRY)
      return
    }
    for (let i = 0; i < nd.n; i++) yield* this.entries(Buffer.from(childOf(itemAt(nd, i))))
  }

  /**
   * Hashes of every node of the tree, root first (gc, the bench). With `seen` (latin1 keys,
   * shared across trees), a node already in it is skipped with its subtree, and each node
   * yielded is added: marking many sets that share nodes costs their distinct nodes.
   */
  *nodes(root: Buffer | null, seen?: Set<string>): Generator<Buffer> {
    if (!root) return
    if (seen) {
      const k = root.toString('latin1')
      if (seen.has(k)) return
      seen.add(k)
    }
    yield root
    const nd = this.node(root)
    if (nd.level === 0) return
    for (let i = 0; i < nd.n; i++) yield* this.nodes(Buffer.from(childOf(itemAt(nd, i))), seen)
  }

  /**
   * The tree with `edits` applied (id → new entry, or null to remove; ids need not exist).
   * Canonical: equal to build() of the resulting entries.
   */
  edit(root: Buffer | null, edits: readonly DatumEdit[]): Buffer | null {
    if (!edits.length) return root
    const sorted = [...edits].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    for (let i = 1; i < sorted.length; i++) if (sorted[i]![0] === sorted[i - 1]![0]) throw new InternalError(`datum set: datum ${sorted[i]![0]} edited twice`)
    const keys = sorted.map(([id]) => Buffer.from(id, 'hex'))
    let k = 0
    const b = new Builder(this)
    const emit = (e: DatumSetEntry | null) => {
      if (!e) return
      const bytes = Buffer.allocUnsafe(ENTRY)
      writeEntry(bytes, 0, e)
      b.entry(bytes)
    }
    /** edits with keys <= hi (undefined: no bound) are left */
    const editsUpTo = (hi: Buffer | undefined) => k < keys.length && (!hi || keys[k]!.compare(hi) <= 0)
    const walk = (hash: Buffer, rightmost: boolean): void => {
      const nd = this.node(hash)
      if (nd.level === 0) {
        for (let i = 0; i < nd.n; i++) {
          const key = keyAt(nd, i)
          while (k < keys.length && keys[k]!.compare(key) < 0) emit(sorted[k++]![1])
          if (k < keys.length && keys[k]!.equals(key)) emit(sorted[k++]![1])
          else b.entry(nd.data.subarray(nd.at + i * ENTRY, nd.at + (i + 1) * ENTRY))
        }
        if (rightmost) while (k < keys.length) emit(sorted[k++]![1])
        return
      }
      for (let i = 0; i < nd.n; i++) {
        const item = itemAt(nd, i)
        const right = rightmost && i === nd.n - 1
        if (!editsUpTo(right ? undefined : item.subarray(0, 32)) && b.alignedAt(nd.level - 1)) b.node(nd.level - 1, item)
        else walk(Buffer.from(childOf(item)), right)
      }
    }
    if (root) walk(root, true)
    else while (k < keys.length) emit(sorted[k++]![1])
    return b.finish()
  }

  /**
   * Check every node of a tree (fsck): decodes, ids ascending, counts and boundaries as the
   * header says. Returns the problems found (empty: sound). `seen` (shared across the trees
   * of a project) skips subtrees a previous call found sound: their items are still checked.
   */
  verify(root: Buffer | null, seen?: Set<string>): string[] {
    const problems: string[] = []
    if (!root) return problems
    let prev: Buffer | undefined
    const check = (hash: Buffer, rightmost: boolean, expectLevel?: number): {last: Buffer; count: number} | undefined => {
      let nd: Node
      try {
        nd = this.node(hash)
      } catch (e) {
        problems.push((e as Error).message)
        return undefined
      }
      if (expectLevel !== undefined && nd.level !== expectLevel) problems.push(`datum set node ${hash.toString('hex').slice(0, 16)} is at level ${nd.level}, not ${expectLevel}`)
      let count = 0
      for (let i = 0; i < nd.n; i++) {
        const last = i === nd.n - 1
        if (nd.level === 0) {
          const key = keyAt(nd, i)
          if (prev && prev.compare(key) >= 0) problems.push(`datum set node ${hash.toString('hex').slice(0, 16)}: ids out of order at ${key.toString('hex')}`)
          prev = key
          try {
            readEntry(nd.data, nd.at + i * ENTRY)
          } catch (e) {
            problems.push((e as Error).message)
          }
          count++
        } else {
          const item = itemAt(nd, i)
          const key = item.subarray(0, 32)
          if (prev && prev.compare(key) >= 0) problems.push(`datum set node ${hash.toString('hex').slice(0, 16)}: ids out of order at ${key.toString('hex')}`)
          const child = Buffer.from(childOf(item))
          if (seen?.has(child.toString('latin1'))) {
            prev = Buffer.from(key)
            count += countOf(item)
            if (!(rightmost && last) && last !== isBoundary(key, nd.level)) problems.push(`datum set node ${hash.toString('hex').slice(0, 16)}: a node boundary is not where its keys put it`)
            continue
          }
          const before = problems.length
          const sub = check(child, rightmost && last, nd.level - 1)
          if (seen && problems.length === before) seen.add(child.toString('latin1'))
          if (!sub) continue
          if (!sub.last.equals(item.subarray(0, 32)) || sub.count !== countOf(item)) problems.push(`datum set node ${hash.toString('hex').slice(0, 16)}: item ${i} does not describe its child`)
          count += sub.count
        }
        if (!(rightmost && last) && last !== isBoundary(keyAt(nd, i), nd.level)) problems.push(`datum set node ${hash.toString('hex').slice(0, 16)}: a node boundary is not where its keys put it`)
      }
      return {last: Buffer.from(keyAt(nd, nd.n - 1)), count}
    }
    check(root, true)
    return problems
  }
}

/** A Map-backed node store (tests, and the planner's dry runs). */
export function memoryNodes(): DatumNodeStore & {nodes: Map<string, Buffer>} {
  const nodes = new Map<string, Buffer>()
  return {nodes, get: (h) => nodes.get(h.toString('hex')), put: (h, d) => void nodes.set(h.toString('hex'), d)}
}
