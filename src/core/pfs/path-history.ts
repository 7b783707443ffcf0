/**
 * Path history: how one path changed along a commit's first-parent ancestry, read through the
 * tree store's lookups. Serves `find commit` (the commits that changed a path) and
 * `list file --history` / `inspect file --history` (the versions of a path).
 *
 * Concepts:
 * - the version of a path in a commit is its entry there: a file, or a directory named by the
 *   hash of everything under it. Two commits hold the same version when the hashes are equal,
 *   so a commit that changed any file under /dir changed /dir.
 * - a commit changed a path when the path's entry in its tree differs from the one in the tree
 *   it started from (its parent's, or the nearest non-errored ancestor's: `Resolver.baseTree`).
 * - a version is reported with the commit that introduced it: the oldest commit of the run of
 *   commits holding it (pachctl 1.x's fileHistory). The walk back ends where the path did not
 *   exist: versions from before a delete belong to an earlier life of the path.
 * - errored commits are passed over: their content is not part of the history (children start
 *   from the ancestor before them). The start commit is read as it is, even when errored.
 *
 * Cost: one lookup (O(depth · log n) tree nodes, mostly cached) per commit walked.
 */
import type {CoreContext} from '../context.js'
import * as rows from '../db/pfs-rows.js'
import type {CommitRow, RepoRow} from '../db/pfs-rows.js'
import type {Entry} from '../store/tree-store.js'
import type {Resolver} from './resolve.js'

/** One version of a path: its entry, and the commit that introduced it. */
export interface PathVersion {
  commit: CommitRow
  entry: Entry
}

/** One step of a walk back for `find commit`: a commit, and whether it changed the path. */
export interface PathChange {
  commit: CommitRow
  changed: boolean
}

const sameEntry = (a: Entry | undefined, b: Entry | undefined) => (!a || !b ? a === b : a.kind === b.kind && a.hash.equals(b.hash))

export class PathHistory {
  constructor(
    private readonly ctx: CoreContext,
    private readonly r: Resolver,
  ) {}

  /** `start` and its first-parent ancestors, newest first, passing over errored ancestors. */
  *ancestry(repo: RepoRow, start: CommitRow): Generator<CommitRow> {
    yield start
    for (let c = this.parent(repo, start); c; c = this.parent(repo, c)) if (!c.error) yield c
  }

  private parent(repo: RepoRow, c: CommitRow): CommitRow | undefined {
    return c.parent ? rows.getCommit(this.ctx.db, repo.id, c.parent) : undefined
  }

  /**
   * The versions of `path` from `start` back, newest first, at most `limit` (0 or less: all).
   * Empty when the path does not exist at `start`.
   */
  versions(repo: RepoRow, start: CommitRow, path: string, limit = 0): PathVersion[] {
    const out: PathVersion[] = []
    let cur: PathVersion | undefined
    for (const c of this.ancestry(repo, start)) {
      const e = this.ctx.trees.lookup(c.tree, path)
      if (!cur) {
        if (!e) return out
        cur = {commit: c, entry: e}
        continue
      }
      if (sameEntry(e, cur.entry)) {
        cur = {commit: c, entry: cur.entry}
        continue
      }
      out.push(cur)
      if ((limit > 0 && out.length >= limit) || !e) return out
      cur = {commit: c, entry: e}
    }
    if (cur) out.push(cur)
    return out
  }

  /**
   * Walk back from `start` (newest first), telling for each commit whether it changed `path`
   * (errored commits change nothing). The caller stops the walk when it has enough.
   */
  *changes(repo: RepoRow, start: CommitRow, path: string): Generator<PathChange> {
    for (let c: CommitRow | undefined = start; c; ) {
      const parent = this.parent(repo, c)
      let changed = false
      if (!c.error) {
        const base = this.r.baseTree(repo, parent)
        const sameRoot = c.tree && base ? c.tree.equals(base) : c.tree === base
        changed = !sameRoot && !sameEntry(this.ctx.trees.lookup(c.tree, path), this.ctx.trees.lookup(base, path))
      }
      yield {commit: c, changed}
      c = parent
    }
  }
}
