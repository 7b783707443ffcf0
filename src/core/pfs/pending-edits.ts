/**
 * What a path holds part-way through one write: the base tree plus the tree ops queued so far
 * (puts, deletes and copies, in order), without applying them. `FileService.put` asks it when
 * an append needs the file it appends to, in a write that mixes deletes, copies and appends
 * in one commit (pachd's ModifyFile: `delete_file /a` then `add_file /a …`).
 *
 * Model: the ops list is the write's order; an op's index is its time. For a path P the
 * answer is the latest of: a put at P, or a copy (merge) at P or above P whose entry holds P —
 * unless a delete at P or above P came after it. With none of those, P is what the base tree
 * holds (and the caller must re-check it at commit time: `fromBase`).
 *
 * Cost: a lookup reads one map entry per ancestor of P (plus the copied subtrees holding P),
 * so 100,000 delete+append pairs cost 100,000 short lookups, not a scan of the ops.
 * Invariants: ops are recorded in order and never reordered; a recorded op's slot in `ops`
 * may be replaced (a placeholder filled in) but keeps its path and kind.
 */
import type {Entry, TreeOp} from '../store/tree-store.js'

export interface PendingLookup {
  entry: Entry | undefined
  /** true when no queued op decided the answer: it came from the base tree */
  fromBase: boolean
}

export class PendingEdits {
  private readonly puts = new Map<string, number>()
  private readonly deletes = new Map<string, number>()
  private readonly merges = new Map<string, number[]>()

  constructor(
    private readonly ops: readonly TreeOp[],
    private readonly base: Buffer | null,
    private readonly lookup: (root: Buffer | null, path: string) => Entry | undefined,
  ) {}

  /** Record the op at `slot` of the ops list (call in order). */
  record(slot: number): void {
    const op = this.ops[slot]!
    if (op.type === 'put') this.puts.set(op.path, slot)
    else if (op.type === 'delete') this.deletes.set(op.path, slot)
    else {
      const list = this.merges.get(op.path)
      if (list) list.push(slot)
      else this.merges.set(op.path, [slot])
    }
  }

  /** The entry at `path` (a clean absolute path) once the ops recorded so far apply. */
  current(path: string): PendingLookup {
    const above = ancestors(path)
    let cut = -1
    for (const a of above) cut = Math.max(cut, this.deletes.get(a) ?? -1)
    let best = -1
    let entry: Entry | undefined
    const p = this.puts.get(path)
    if (p !== undefined && p > cut) {
      const op = this.ops[p]!
      if (op.type === 'put') {
        best = p
        entry = {kind: 'file', name: '', hash: op.content.hash, size: op.content.size, chunks: op.content.chunks, sizes: op.content.sizes}
      }
    }
    for (const a of above) {
      for (const slot of this.merges.get(a) ?? []) {
        if (slot <= cut || slot <= best) continue
        const op = this.ops[slot]!
        if (op.type !== 'merge' && op.type !== 'putEntry') continue
        const e = a === path ? op.entry : op.entry.kind === 'dir' ? this.lookup(op.entry.hash, a === '/' ? path : path.slice(a.length)) : undefined
        if (e) {
          best = slot
          entry = e
        }
      }
    }
    if (best >= 0) return {entry, fromBase: false}
    if (cut >= 0) return {entry: undefined, fromBase: false}
    return {entry: this.lookup(this.base, path), fromBase: true}
  }
}

/** "/", "/a", "/a/b" for "/a/b". */
function ancestors(path: string): string[] {
  const out = ['/']
  let at = 0
  while (at >= 0 && path.length > 1) {
    at = path.indexOf('/', at + 1)
    out.push(at < 0 ? path : path.slice(0, at))
  }
  return out
}
