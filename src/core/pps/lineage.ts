/**
 * Per-file lineage (`pach lineage`, issue 16 §4): which input files, through which datums,
 * made an output file (upstream), or which output files a given file fed (downstream),
 * recursively across pipelines. Pure: the walk and the path rules here, over a
 * LineageSource that answers one step from the stored rows (lineage-reader.ts reads them
 * from the database; tests give hand-made rows).
 *
 * Concepts:
 * - a **node** is a file or directory at a commit of a repo (project, repo, commit, path,
 *   hash). A directory path carries a trailing "/" (as a datum's input does), the root is "/".
 * - an **edge** is one datum: upstream, from a file to each input (file or directory) of each
 *   datum that wrote it; downstream, from a file to each file written by each datum that read
 *   it (or read a directory holding it). A path written by several datums (a directory
 *   assembled from many datums' outputs) has an edge per datum: all are listed. Pachyderm 2
 *   (and pach) fail a job whose datums write one file twice, so a *file* has one writer.
 * - upstream ends at a repo no pipeline writes (a user input repo, a cron tick repo);
 *   downstream ends at a file no datum read.
 *
 * The result is a flat list of rows in depth-first order, each naming its parent row by
 * index (null for the asked file, depth 0) and, except for the root, the datum on the edge
 * from the parent (pipeline, job, datum). Flat rather than nested: a consumer filters with
 * one pass (`jq '.[] | select(.depth == 1)'`), a DAG's shared node is one row marked
 * `repeated` (its lineage is given where it first appears), and a tree is rebuilt from
 * `parent` in one loop. A node whose lineage the rows cannot tell (an output commit no job
 * made, e.g. one pulled from a cluster) carries a `note` instead of children; nothing is guessed.
 *
 * Invariants: the same source gives the same rows (datums ordered by pipeline, job, datum id;
 * a datum's files by repo and path); every (repo, commit, path) is expanded at most once.
 */

export interface LineageFile {
  /** the repo's project */
  project: string
  repo: string
  commit: string
  /** "/a/b.txt" for a file, "/a/" for a directory, "/" for the root */
  path: string
  /** hex content hash (a directory's tree hash) */
  hash: string
}

/** One datum of one job, with what it read and what it wrote. */
export interface DatumFacts {
  /** the pipeline's project */
  project: string
  pipeline: string
  job: string
  datum: string
  /** its inputs (at the commits its job read) */
  inputs: LineageFile[]
  /** the files it wrote, in its job's output commit (read for the downstream walk only) */
  outputs: LineageFile[]
}

/** One step of the walk: the datums on the far side of a node, or why they are unknown. */
export interface LineageStep {
  datums: DatumFacts[]
  /** what the rows cannot tell about this node (no job made its commit, a job that did not succeed) */
  note?: string
}

export interface LineageSource {
  /**
   * The datums that wrote `f` (a file, or files under a directory) in the job that made f's
   * commit; undefined when no pipeline writes f's repo (a user repo: upstream ends there).
   */
  writers(f: LineageFile): LineageStep | undefined
  /** The datums, in every job that read f's commit, that read `f` (or a directory holding it, or a file under it). */
  readers(f: LineageFile): LineageStep
}

export type LineageDirection = 'upstream' | 'downstream'

export interface LineageRow extends LineageFile {
  /** this row's place in the list */
  index: number
  /** the row it hangs from (null: the asked file) */
  parent: number | null
  depth: number
  /** the datum on the edge from the parent row (absent on the root) */
  pipeline_project?: string
  pipeline?: string
  job?: string
  datum?: string
  /** the node was expanded at an earlier row (same repo, commit and path): its lineage is there */
  repeated?: true
  /** why this node's lineage is not known */
  note?: string
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
const byFile = (a: LineageFile, b: LineageFile) => cmp(a.project, b.project) || cmp(a.repo, b.repo) || cmp(a.path, b.path) || cmp(a.commit, b.commit)
const byDatum = (a: DatumFacts, b: DatumFacts) => cmp(a.project, b.project) || cmp(a.pipeline, b.pipeline) || cmp(a.job, b.job) || cmp(a.datum, b.datum)
const nodeKey = (f: LineageFile) => `${f.project}\0${f.repo}\0${f.commit}\0${f.path}`

/**
 * Walk the lineage of `root` in one direction. `maxDepth` (default unbounded) stops the walk
 * below that depth (rows at maxDepth are listed, not expanded).
 */
export function traceLineage(source: LineageSource, root: LineageFile, direction: LineageDirection, opts: {maxDepth?: number} = {}): LineageRow[] {
  const rows: LineageRow[] = []
  const expanded = new Set<string>()
  const maxDepth = opts.maxDepth ?? Infinity
  const visit = (f: LineageFile, parent: number | null, depth: number, via?: DatumFacts) => {
    const row: LineageRow = {index: rows.length, parent, depth, project: f.project, repo: f.repo, commit: f.commit, path: f.path, hash: f.hash}
    if (via) Object.assign(row, {pipeline_project: via.project, pipeline: via.pipeline, job: via.job, datum: via.datum})
    rows.push(row)
    const key = nodeKey(f)
    if (expanded.has(key)) {
      row.repeated = true
      return
    }
    expanded.add(key)
    if (depth >= maxDepth) return
    const step = direction === 'upstream' ? source.writers(f) : source.readers(f)
    if (!step) return
    if (step.note) row.note = step.note
    for (const d of [...step.datums].sort(byDatum)) {
      const next = direction === 'upstream' ? d.inputs : d.outputs
      for (const g of [...next].sort(byFile)) visit(g, row.index, depth + 1, d)
    }
  }
  visit(root, null, 0)
  return rows
}

// ---------------------------------------------------------------------------------------------
// Path rules (shared by the reader)

/** "/a/b" for a file or directory path given as "/a/b", "/a/b/" or "a/b"; the root stays "/". */
export function barePath(p: string): string {
  let s = p.startsWith('/') ? p : '/' + p
  while (s.length > 1 && s.endsWith('/')) s = s.slice(0, -1)
  return s
}

/** A node's path: directories with a trailing "/" (the root is "/"). */
export const nodePath = (path: string, isDir: boolean): string => {
  const b = barePath(path)
  return isDir && b !== '/' ? b + '/' : b
}

/**
 * Whether a datum that read input path `input` (a file, or a directory with its trailing
 * "/") read something of `target` (bare path; `targetIsDir` when it is a directory): the same
 * path, a directory holding it, or (for a directory target) something under it.
 */
export function inputTouches(input: string, target: string, targetIsDir: boolean): boolean {
  const i = barePath(input)
  if (i === target) return true
  const iDir = input.endsWith('/') ? (i === '/' ? '/' : i + '/') : undefined
  if (iDir && (iDir === '/' || target.startsWith(iDir))) return true
  const tDir = target === '/' ? '/' : target + '/'
  return targetIsDir && i.startsWith(tDir)
}

/**
 * The input paths a datum may have recorded for something of `target` (see inputTouches):
 * the exact ones (the path itself, as a file and as a directory, and each directory above it)
 * and, for a directory target, the half-open key range of everything under it.
 */
export function inputKeys(target: string, targetIsDir: boolean): {paths: string[]; range?: {from: string; to: string}} {
  const paths = new Set<string>(['/'])
  const parts = target.split('/').filter(Boolean)
  for (let n = 1; n <= parts.length; n++) {
    const p = '/' + parts.slice(0, n).join('/')
    paths.add(p + '/')
    if (n === parts.length) paths.add(p)
  }
  if (!targetIsDir) return {paths: [...paths]}
  const from = target === '/' ? '/' : target + '/'
  const to = from.slice(0, -1) + String.fromCharCode(from.charCodeAt(from.length - 1) + 1)
  return {paths: [...paths], range: {from, to}}
}
