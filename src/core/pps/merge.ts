/**
 * Merge: a job's output commit is the union of every datum's output (Pachyderm's rule).
 *
 * Each datum's /pfs/out was stored as its own tree; datums skipped by an incremental job keep
 * the output their source job stored; datums that vanished from the inputs contribute
 * nothing. Two datums writing one path fail the job with Pachyderm's message naming both
 * ("duplicate path output by different datums (…)"). Only files count: directories follow.
 *
 * Two ways to the same tree: `mergeAll` applies every output (O(all outputs)), and
 * `mergeIncremental` edits the base job's output tree — deletes what re-run and vanished
 * datums wrote there, adds what this job's datums wrote (O(what changed)). Both only read
 * and add content-addressed trees: no row, file or job state changes here.
 */
import type {DatumState} from '../types.js'
import {contentFromText, contentText} from '../store/content.js'
import type {TreeOp, TreeStore} from '../store/tree-store.js'
import type {Datum} from './datum.js'

export interface MergeResult {
  /** the output root (null: empty), or null with an error */
  tree: Buffer | null
  /** Pachyderm's duplicate-path message, or a tree error; '' when merged */
  error: string
}

/** One datum's output: its stored tree (null when it wrote nothing or failed). */
export interface DatumOutput {
  id: string
  tree: Buffer | null
}

export function duplicateMessage(path: string, a: string, b: string): string {
  return `duplicate path output by different datums (${path} from ${a} and ${path} from ${b})`
}

/**
 * Where mergeAll keeps the paths it has placed (db/scratch.ts: a table keyed by path, so a
 * million-file output is not held in memory): claim answers false for a path already placed.
 */
export interface PathClaims {
  claim(path: string, datum: string, entry: string): boolean
  owner(path: string): string | undefined
  claimed(): Iterable<{path: string; entry: string}>
}

/**
 * Edits applied per tree-store call when a job's outputs or meta records are placed in order:
 * small enough that a batch dies young (memory stays bounded by it, not by the job), large
 * enough that each call rewrites a directory's nodes once for many edits.
 */
const APPLY_BATCH = 2_000

/** Edits of one tree, given in order and applied APPLY_BATCH at a time (see APPLY_BATCH). */
export class BatchedEdits {
  private ops: TreeOp[] = []

  constructor(
    private readonly trees: TreeStore,
    private tree: Buffer | null,
  ) {}

  push(...ops: TreeOp[]): void {
    this.ops.push(...ops)
    if (this.ops.length >= APPLY_BATCH) this.flush()
  }

  private flush(): void {
    if (this.ops.length) this.tree = this.trees.apply(this.tree, this.ops)
    this.ops = []
  }

  /** The tree with every edit applied. */
  done(): Buffer | null {
    this.flush()
    return this.tree
  }
}

/**
 * Output tree = union of every datum's output; two datums writing one path is an error
 * (named by the first two, in the order of `outputs`). Paths are claimed one by one, then
 * placed in path order a batch at a time: memory stays bounded by the batch, not the output.
 */
export function mergeAll(trees: TreeStore, outputs: Iterable<DatumOutput>, claims: PathClaims): MergeResult {
  for (const o of outputs) {
    if (!o.tree) continue
    for (const [path, e] of trees.walk(o.tree)) {
      if (e.kind !== 'file') continue
      if (!claims.claim(path, o.id, contentText(e))) return {tree: null, error: duplicateMessage(path, claims.owner(path)!, o.id)}
    }
  }
  try {
    const edits = new BatchedEdits(trees, null)
    for (const {path, entry} of claims.claimed()) edits.push({type: 'putEntry', path, entry: {kind: 'file', name: path.slice(path.lastIndexOf('/') + 1), ...contentFromText(entry)}})
    return {tree: edits.done(), error: ''}
  } catch (e) {
    return {tree: null, error: (e as Error).message}
  }
}

/** What an incremental merge needs from the job. */
export interface IncrementalMerge {
  /** the base job's output root */
  baseTree: Buffer | null
  /** datums this job ran, datums gone since the base, datums re-run (their base output goes) */
  plan: {process: Datum[]; removed: string[]; redo: string[]}
  /** this job's results by datum id */
  results: {get(id: string): {state: DatumState; output: Buffer | null} | undefined}
  /** the base job's output of a datum */
  baseOutput: (id: string) => Buffer | null
  /** every datum's output (read only to name a collision's owner) */
  allOutputs: () => DatumOutput[]
}

/**
 * The same result as mergeAll, from the base job's output: O(what changed) — the common case
 * of one changed input among thousands. Owners of existing paths are looked up only when a
 * collision is found.
 */
export function mergeIncremental(trees: TreeStore, m: IncrementalMerge): MergeResult {
  // one apply for deletes and puts (one save of each changed directory); a put collides
  // with what the base keeps: a file not deleted here, or a directory that still has files
  // after the deletes (then, rarely, the deletes are applied on their own to find out)
  const deletes: TreeOp[] = []
  const puts: TreeOp[] = []
  const deleted = new Set<string>()
  for (const id of [...m.plan.removed, ...m.plan.redo]) {
    const t = m.baseOutput(id)
    if (!t) continue
    for (const [path, e] of trees.walk(t)) {
      if (e.kind !== 'file') continue
      deletes.push({type: 'delete', path})
      deleted.add(path)
    }
  }
  let afterDeletes: Buffer | null | undefined
  const keptInBase = (path: string): boolean => {
    const hit = trees.lookup(m.baseTree, path)
    if (!hit || deleted.has(path)) return false
    if (hit.kind === 'file') return true
    if (afterDeletes === undefined) afterDeletes = deletes.length ? trees.apply(m.baseTree, deletes) : m.baseTree
    return trees.lookup(afterDeletes, path) !== undefined
  }
  const owner = new Map<string, string>()
  try {
    for (const d of m.plan.process) {
      const r = m.results.get(d.id)
      if (!r || r.state !== 'SUCCESS' || !r.output) continue
      for (const [path, e] of trees.walk(r.output)) {
        if (e.kind !== 'file') continue
        const prev = owner.get(path)
        if (prev !== undefined) return {tree: null, error: duplicateMessage(path, prev, d.id)}
        if (keptInBase(path)) {
          const other = m.allOutputs().find((o) => o.id !== d.id && o.tree && trees.lookup(o.tree, path))
          return {tree: null, error: duplicateMessage(path, other?.id ?? 'an earlier datum', d.id)}
        }
        owner.set(path, d.id)
        puts.push({type: 'putEntry', path, entry: e})
      }
    }
    const ops = [...deletes, ...puts]
    return {tree: ops.length ? trees.apply(m.baseTree, ops) : m.baseTree, error: ''}
  } catch (e) {
    return {tree: null, error: (e as Error).message}
  }
}
