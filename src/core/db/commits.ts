/**
 * Commit rows (`commits`), commit sets (`commit_sets`: one row per change id, with when it
 * was created and last modified) and commit provenance (`commit_provenance`: which commits
 * an AUTO commit was computed from). Inserting a commit upserts its commit set. Plain
 * synchronous functions over the handle: handle first, no awaits, plain rows.
 */
import type {CommitOrigin, RepoType} from '../types.js'
import {getMeta, setMeta} from './meta.js'
import {st} from './statements.js'
import type {DB} from './types.js'

export interface CommitRow {
  repo_id: number
  id: string
  seq: number
  branch: string | null
  parent: string | null
  origin: CommitOrigin
  description: string
  started: string
  finishing: string | null
  finished: string | null
  error: string
  tree: Buffer | null
  size: number
  /** user metadata JSON (db/metadata.ts) */
  metadata?: string
}

export const getCommit = (db: DB, repoId: number, id: string) =>
  st(db, 'SELECT * FROM commits WHERE repo_id = ? AND id = ?').get(repoId, id) as CommitRow | undefined
export const listCommitsById = (db: DB, id: string) => st(db, 'SELECT * FROM commits WHERE id = ? ORDER BY seq').all(id) as CommitRow[]
export const listCommitsByRepo = (db: DB, repoId: number) =>
  st(db, 'SELECT * FROM commits WHERE repo_id = ? ORDER BY seq DESC').all(repoId) as CommitRow[]
/** Children of a commit, oldest first (index commits_by_parent: repo_id, parent, seq). */
export const childCommits = (db: DB, repoId: number, id: string) =>
  st(db, 'SELECT * FROM commits WHERE repo_id = ? AND parent = ? ORDER BY seq').all(repoId, id) as CommitRow[]
/**
 * Insert a commit row and its commit set's (created at `started`; an existing set's `modified`
 * moves to `modified`, by default `started`: a commit inserted finished passes its `finished`).
 * Its seq is one more than any commit's, in every repo (index commits_by_global_seq).
 */
export function insertCommit(db: DB, c: Omit<CommitRow, 'seq'>, modified = c.started): CommitRow {
  // the seq is taken in the INSERT itself
  const {seq} = st(
    db,
    `INSERT INTO commits(repo_id, id, seq, branch, parent, origin, description, started, finishing, finished, error, tree, size)
     VALUES (@repo_id, @id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM commits), @branch, @parent, @origin, @description, @started, @finishing, @finished, @error, @tree, @size)
     RETURNING seq`,
  ).get(c) as {seq: number}
  const row: CommitRow = {...c, seq}
  st(db, 'INSERT INTO commit_sets(id, created, modified) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET modified = excluded.modified').run(
    c.id,
    c.started,
    modified,
  )
  return row
}
/**
 * Commits of a repo created after `seq` (only those made on `branch` when given), oldest first,
 * without trees (index commits_by_seq): what `subscribe commit` has not seen yet.
 */
export const listCommitsAfterSeq = (db: DB, repoId: number, seq: number, branch: string | null) =>
  st(
    db,
    `SELECT repo_id, id, seq, branch, parent, origin, description, started, finishing, finished, error, size, metadata FROM commits
     WHERE repo_id = @repoId AND seq > @seq AND (@branch IS NULL OR branch = @branch) ORDER BY seq`,
  ).all({repoId, seq, branch}) as Omit<CommitRow, 'tree'>[]
export const setCommitTree = (db: DB, repoId: number, id: string, tree: Buffer | null, size: number) =>
  st(db, 'UPDATE commits SET tree = ?, size = ? WHERE repo_id = ? AND id = ?').run(tree, size, repoId, id)
export const finishCommitRow = (db: DB, repoId: number, id: string, at: string, error: string, description: string | null) =>
  st(
    db,
    'UPDATE commits SET finishing = COALESCE(finishing, @at), finished = @at, error = @error, description = COALESCE(@description, description) WHERE repo_id = @repoId AND id = @id',
  ).run({at, error, description, repoId, id})
/** Open a finished commit again (a purge re-running its job: pps/job-lifecycle finishes it anew). */
export const reopenCommitRow = (db: DB, repoId: number, id: string) =>
  st(db, "UPDATE commits SET finishing = NULL, finished = NULL, error = '' WHERE repo_id = ? AND id = ?").run(repoId, id)
/**
 * Times a purge keeps for a commit it reopens to re-run its job (meta `purge_times`, a JSON map
 * of repo@commit → the commit's times and its commit set's `modified`): the job finishes the
 * commit again, and restoreCommitTimes puts the kept times back, so a purge changes no time.
 */
export function keepCommitTimes(db: DB, repoId: number, id: string): void {
  const c = getCommit(db, repoId, id)
  if (!c) return
  const kept = keptTimes(db)
  const modified = st(db, 'SELECT modified FROM commit_sets WHERE id = ?').pluck().get(id) as string | undefined
  kept[`${repoId}@${id}`] ??= {started: c.started, finishing: c.finishing, finished: c.finished, set_modified: modified ?? null}
  setMeta(db, 'purge_times', JSON.stringify(kept))
}

/** Put back the times keepCommitTimes kept for a commit (no-op for any other commit). */
export function restoreCommitTimes(db: DB, repoId: number, id: string): void {
  const kept = keptTimes(db)
  const t = kept[`${repoId}@${id}`]
  if (!t) return
  st(db, 'UPDATE commits SET started = ?, finishing = ?, finished = ? WHERE repo_id = ? AND id = ?').run(t.started, t.finishing, t.finished, repoId, id)
  if (t.set_modified) st(db, 'UPDATE commit_sets SET modified = ? WHERE id = ?').run(t.set_modified, id)
  delete kept[`${repoId}@${id}`]
  setMeta(db, 'purge_times', Object.keys(kept).length ? JSON.stringify(kept) : undefined)
}

interface KeptTimes {
  started: string
  finishing: string | null
  finished: string | null
  set_modified: string | null
}

const keptTimes = (db: DB): Record<string, KeptTimes> => {
  const raw = getMeta(db, 'purge_times')
  return raw ? (JSON.parse(raw) as Record<string, KeptTimes>) : {}
}

export const deleteCommitRow = (db: DB, repoId: number, id: string) => st(db, 'DELETE FROM commits WHERE repo_id = ? AND id = ?').run(repoId, id)
/** Every commit with its repo's name and type, oldest first (fsck). */
export const listCommitsWithRepo = (db: DB) =>
  st(db, 'SELECT c.repo_id, c.id, c.tree, r.name, r.type FROM commits c JOIN repos r ON r.id = c.repo_id ORDER BY c.seq').all() as {
    repo_id: number
    id: string
    tree: Buffer | null
    name: string
    type: RepoType
  }[]
/** Every distinct root tree a commit holds (gc's mark). */
/** Point every commit at `from` to `to` (the tree upgrade: same files, canonical encoding). */
export const replaceCommitTree = (db: DB, from: Buffer, to: Buffer) => st(db, 'UPDATE commits SET tree = ? WHERE tree = ?').run(to, from)
export const listCommitTrees = (db: DB) => st(db, 'SELECT DISTINCT tree FROM commits WHERE tree IS NOT NULL').pluck().all() as Buffer[]
/** A reference to a commit that does not exist: `what` (a branch name or commit id) points at `ref`. */
export interface DanglingRef {
  repo_id: number
  what: string
  ref: string
}
export const listDanglingBranchHeads = (db: DB) =>
  st(db, 'SELECT b.repo_id, b.name AS what, b.head AS ref FROM branches b LEFT JOIN commits c ON c.repo_id = b.repo_id AND c.id = b.head WHERE c.id IS NULL').all() as DanglingRef[]
export const listDanglingCommitParents = (db: DB) =>
  st(
    db,
    'SELECT k.repo_id, k.id AS what, k.parent AS ref FROM commits k LEFT JOIN commits c ON c.repo_id = k.repo_id AND c.id = k.parent WHERE k.parent IS NOT NULL AND c.id IS NULL',
  ).all() as DanglingRef[]
/**
 * Commit sets (one id shared by the commits of one change), newest change first (ties in
 * creation order), at most `limit` (index commit_sets_by_modified, so a limit reads no more).
 */
export const listCommitSetIds = (db: DB, limit = -1) =>
  st(db, 'SELECT id FROM commit_sets ORDER BY modified DESC, created DESC, rowid LIMIT ?').pluck().all(limit) as string[]
export const touchCommitSet = (db: DB, id: string, at: string) => st(db, 'UPDATE commit_sets SET modified = ? WHERE id = ?').run(at, id)
/** Drop the commit set row once no commit carries its id any more. */
export function deleteCommitSetIfEmpty(db: DB, id: string): void {
  if (!st(db, 'SELECT 1 FROM commits WHERE id = ?').pluck().get(id)) st(db, 'DELETE FROM commit_sets WHERE id = ?').run(id)
}
export const reparentCommits = (db: DB, repoId: number, from: string, to: string | null) =>
  st(db, 'UPDATE commits SET parent = ? WHERE repo_id = ? AND parent = ?').run(to, repoId, from)

export interface ProvRow {
  repo_id: number
  commit_id: string
  prov_repo_id: number
  prov_commit_id: string
}
/** A commit's direct provenance, by (repo, commit) (the primary key's order). */
export const commitProvenance = (db: DB, repoId: number, id: string) =>
  st(db, 'SELECT * FROM commit_provenance WHERE repo_id = ? AND commit_id = ? ORDER BY prov_repo_id, prov_commit_id').all(repoId, id) as ProvRow[]
/** The commits that name this one as direct provenance, in the order the links were made. */
export const commitSubvenance = (db: DB, repoId: number, id: string) =>
  st(db, 'SELECT * FROM commit_provenance WHERE prov_repo_id = ? AND prov_commit_id = ? ORDER BY rowid').all(repoId, id) as ProvRow[]
export const insertCommitProvenance = (db: DB, r: ProvRow) =>
  st(db, 'INSERT OR IGNORE INTO commit_provenance(repo_id, commit_id, prov_repo_id, prov_commit_id) VALUES (@repo_id, @commit_id, @prov_repo_id, @prov_commit_id)').run(r)
/** Remove a commit's own provenance links (before they are written again). */
export const deleteCommitProvenance = (db: DB, repoId: number, id: string) =>
  st(db, 'DELETE FROM commit_provenance WHERE repo_id = ? AND commit_id = ?').run(repoId, id)
/** Remove every link that names this commit as provenance. */
export const deleteCommitSubvenance = (db: DB, repoId: number, id: string) =>
  st(db, 'DELETE FROM commit_provenance WHERE prov_repo_id = ? AND prov_commit_id = ?').run(repoId, id)
/** Remove every commit provenance link from or to a repo's commits. */
export const deleteRepoCommitProvenance = (db: DB, repoId: number) =>
  st(db, 'DELETE FROM commit_provenance WHERE prov_repo_id = ? OR repo_id = ?').run(repoId, repoId)

// ---- listings (list commit): one statement per listing, rows streamed ----

/** A commit a CommitInfo names (parent, child, provenance): where it is and its branch. */
export interface LinkedCommit {
  repo_id: number
  id: string
  branch: string | null
}
/** What a CommitInfo says about a commit besides its own row. */
export interface CommitLinks {
  /** the parent's branch (null without a parent, or when the parent row is gone) */
  parent_branch: string | null
  /** same repo, oldest first */
  children: LinkedCommit[]
  /** by (repo, commit) */
  provenance: LinkedCommit[]
  /** in the order the links were made */
  subvenance: LinkedCommit[]
}
/** A commit's row without its tree (listings never read trees). */
export type CommitSummaryRow = Omit<CommitRow, 'tree'>
export type CommitListRow = CommitSummaryRow & CommitLinks

const SUMMARY_COLS = 'c.repo_id, c.id, c.seq, c.branch, c.parent, c.origin, c.description, c.started, c.finishing, c.finished, c.error, c.size, c.metadata'
// correlated subqueries over the outer row `c` (repo_id, id, parent); each is one index search
const LINK_COLS = `
  (SELECT p.branch FROM commits p WHERE p.repo_id = c.repo_id AND p.id = c.parent) AS parent_branch,
  (SELECT json_group_array(json_array(k.repo_id, k.id, k.branch) ORDER BY k.seq)
     FROM commits k WHERE k.repo_id = c.repo_id AND k.parent = c.id) AS children,
  (SELECT json_group_array(json_array(x.prov_repo_id, x.prov_commit_id, y.branch) ORDER BY x.prov_repo_id, x.prov_commit_id)
     FROM commit_provenance x LEFT JOIN commits y ON y.repo_id = x.prov_repo_id AND y.id = x.prov_commit_id
     WHERE x.repo_id = c.repo_id AND x.commit_id = c.id) AS provenance,
  (SELECT json_group_array(json_array(x.repo_id, x.commit_id, y.branch) ORDER BY x.rowid)
     FROM commit_provenance x LEFT JOIN commits y ON y.repo_id = x.repo_id AND y.id = x.commit_id
     WHERE x.prov_repo_id = c.repo_id AND x.prov_commit_id = c.id) AS subvenance`

type RawLinks = {parent_branch: string | null; children: string; provenance: string; subvenance: string}
const linked = (json: string): LinkedCommit[] =>
  json === '[]' ? [] : (JSON.parse(json) as [number, string, string | null][]).map(([repo_id, id, branch]) => ({repo_id, id, branch}))
function decodeLinks<T extends RawLinks>(r: T): Omit<T, keyof RawLinks> & CommitLinks {
  return {...r, children: linked(r.children), provenance: linked(r.provenance), subvenance: linked(r.subvenance)}
}

/** The links of a commit whose row is `c` (its parent as `c` says). */
export function commitLinks(db: DB, c: {repo_id: number; id: string; parent: string | null}): CommitLinks {
  const r = st(db, `SELECT ${LINK_COLS} FROM (SELECT @repo_id AS repo_id, @id AS id, @parent AS parent) c`).get({
    repo_id: c.repo_id,
    id: c.id,
    parent: c.parent,
  }) as RawLinks
  return decodeLinks(r)
}

/** Which commits of a repo a listing covers (newest first); see `listCommits`. */
export interface CommitQuery {
  repoId: number
  /** walk the first-parent chain from this commit (absent: every commit of the repo, by seq) */
  head?: string
  /** stop the walk after this commit id */
  from?: string
  /** also every commit made on this branch that left the chain (pachctl --all); the whole list is then by seq */
  alsoBranch?: string
  origin?: CommitOrigin
  /** at most this many (after the origin filter); absent or ≤ 0: all */
  limit?: number
}

// The first-parent chain as a recursive CTE that SQLite runs as a co-routine: each step adds
// the one parent of the last row, so rows come out in walk order (newest first: a parent is
// always older) and are produced only as the outer query asks, so LIMIT, or a consumer that
// stops iterating, ends the walk. CROSS JOIN pins the join order (chain outside, commits
// searched by primary key).
const CHAIN = `WITH RECURSIVE chain(id, parent) AS (
    SELECT id, parent FROM commits WHERE repo_id = @repo AND id = @head
    UNION ALL
    SELECT k.id, k.parent FROM chain CROSS JOIN commits k ON k.repo_id = @repo AND k.id = chain.parent
    WHERE chain.id IS NOT @from
  )`
const FILTER = '(@origin IS NULL OR c.origin = @origin)'

function listingSql(q: CommitQuery, links: boolean): string {
  const cols = links ? `${SUMMARY_COLS}, ${LINK_COLS}` : SUMMARY_COLS
  if (q.head === undefined) return `SELECT ${cols} FROM commits c WHERE c.repo_id = @repo AND ${FILTER} ORDER BY c.seq DESC LIMIT @limit`
  if (q.alsoBranch === undefined) {
    return `${CHAIN} SELECT ${cols} FROM chain CROSS JOIN commits c ON c.repo_id = @repo AND c.id = chain.id WHERE ${FILTER} LIMIT @limit`
  }
  return `${CHAIN} SELECT ${cols} FROM commits c
    WHERE c.repo_id = @repo AND (c.branch = @branch OR c.id IN (SELECT id FROM chain)) AND ${FILTER}
    ORDER BY c.seq DESC LIMIT @limit`
}
const listingParams = (q: CommitQuery) => ({
  repo: q.repoId,
  head: q.head ?? null,
  from: q.from ?? null,
  branch: q.alsoBranch ?? null,
  origin: q.origin ?? null,
  limit: q.limit && q.limit > 0 ? q.limit : -1,
})
function bind(q: CommitQuery) {
  const p = listingParams(q)
  // only the names a statement uses may be bound
  if (q.head === undefined) return {repo: p.repo, origin: p.origin, limit: p.limit}
  if (q.alsoBranch === undefined) return {repo: p.repo, head: p.head, from: p.from, origin: p.origin, limit: p.limit}
  return p
}

/**
 * The commits a query covers, newest first, read as they are consumed (an iterator over one
 * statement). While it is open the connection can read but not write: finish (or `return()`)
 * it first.
 */
export function* listCommits(db: DB, q: CommitQuery): Generator<CommitListRow> {
  for (const r of st(db, listingSql(q, true)).iterate(bind(q))) yield decodeLinks(r as CommitSummaryRow & RawLinks)
}
/** As `listCommits`, without the links (cheaper: for tables). */
export function listCommitSummaries(db: DB, q: CommitQuery): IterableIterator<CommitSummaryRow> {
  return st(db, listingSql(q, false)).iterate(bind(q)) as IterableIterator<CommitSummaryRow>
}
