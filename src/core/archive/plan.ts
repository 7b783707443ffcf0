/**
 * Pure planning for archives: which rows an export holds, and what an import does with each
 * row of an archive given what the store already has. No I/O: the effectful halves
 * (export.ts, import.ts) read the rows and apply the plans.
 *
 * What an archive holds, by table (the choices, and why):
 * - projects, repos, commit_sets, commits (+ commit_provenance), branches (+ branch_provenance,
 *   triggers), pipelines (+ every spec version), jobs, job_datums (datum sets), datums: the
 *   history as users list and inspect it, ids kept, the user `metadata` columns included
 *   (pachd's EditMetadata data is part of a repo's, branch's or commit's state).
 * - not secrets: an archive is a file that gets copied to backup disks and other machines; a
 *   restore must not spread credentials. The header and the summary name the secrets the
 *   pipelines read (`secrets_needed`), to recreate with `pach create secret`.
 * - not the remote tables (remotes, remote_commits, remote_branches, remote_content): they
 *   record what this store exchanged with which pachd cluster; a restored copy that inherited
 *   them would believe it had pushed commits it never pushed (and skip them), and
 *   remote_content is only a cache.
 * - not leases, queued transactions, `meta` (cluster ids, flags): state of this store's
 *   processes, not of the data. Job leases are dropped: a job running at export time is
 *   imported as a job whose runner died, which `pach run` restarts.
 * Local integer ids (repos.id, commits.seq, jobs.seq) are not archived: rows refer to repos by
 * (project, name, type), and commits and jobs are archived in seq order, which the importer
 * keeps by numbering them after its own.
 *
 * A subset export (`pach export -o F REPO…`) is closed under provenance: a named repo brings
 * every repo its commits or branches are provenant on, transitively, and every pipeline whose
 * output repo is included brings its spec and meta repos. Without them the imported commits
 * would name provenance commits that do not exist there (`inspect commit` and `fsck` see
 * dangling links) and jobs would name inputs that cannot be read; downstream repos are not
 * needed and are left out. The summary lists what was added.
 */
import {TABLES, type TableSpec} from '../db/archive-rows.js'
import {ConflictError, NotFoundError} from '../errors.js'

export interface RepoRef {
  id: number
  project: string
  name: string
  type: string
}

export const repoLabel = (r: {project: string; name: string; type: string}) => `${r.project}/${r.name}${r.type === 'user' ? '' : '.' + r.type}`

export interface ExportGraph {
  repos: readonly RepoRef[]
  /** repo-level provenance: repo_id depends on prov_repo_id (from commit and branch provenance) */
  edges: readonly (readonly [number, number])[]
  /** pipelines (project, name); their output repo is (project, name, 'user') */
  pipelines: readonly {project: string; name: string}[]
}

export interface ExportPlan {
  all: boolean
  repos: RepoRef[]
  pipelines: {project: string; name: string}[]
  requested: string[]
  added_by_provenance: string[]
}

/**
 * The repos and pipelines an export holds. `wanted` null = everything; else user repos by
 * (project, name), closed under provenance as the header explains. Throws REPO_NOT_FOUND.
 */
export function planExport(g: ExportGraph, wanted: readonly {project: string; name: string}[] | null): ExportPlan {
  const key = (p: string, n: string, t: string) => `${p}\0${n}\0${t}`
  const byKey = new Map(g.repos.map((r) => [key(r.project, r.name, r.type), r]))
  const byId = new Map(g.repos.map((r) => [r.id, r]))
  const pipelineKeys = new Set(g.pipelines.map((p) => key(p.project, p.name, 'user')))
  if (wanted === null) {
    return {all: true, repos: [...g.repos], pipelines: [...g.pipelines], requested: [], added_by_provenance: []}
  }
  const deps = new Map<number, number[]>()
  for (const [a, b] of g.edges) {
    let l = deps.get(a)
    if (!l) deps.set(a, (l = []))
    l.push(b)
  }
  const chosen = new Set<number>()
  const requested = new Set<number>()
  const queue: number[] = []
  const add = (r: RepoRef | undefined) => {
    if (r && !chosen.has(r.id)) {
      chosen.add(r.id)
      queue.push(r.id)
    }
  }
  for (const w of wanted) {
    const r = byKey.get(key(w.project, w.name, 'user'))
    if (!r) throw new NotFoundError('REPO_NOT_FOUND', `repo ${w.project}/${w.name} not found`, {hint: 'list the repos with `pach list repo --all-projects`', data: {repo: w.name, project: w.project}})
    requested.add(r.id)
    add(r)
  }
  while (queue.length) {
    const id = queue.shift()!
    const r = byId.get(id)!
    if (pipelineKeys.has(key(r.project, r.name, 'user')) || r.type !== 'user') {
      for (const t of ['user', 'spec', 'meta']) add(byKey.get(key(r.project, r.name, t)))
    }
    for (const d of deps.get(id) ?? []) add(byId.get(d))
  }
  const repos = g.repos.filter((r) => chosen.has(r.id))
  return {
    all: false,
    repos,
    pipelines: g.pipelines.filter((p) => {
      const out = byKey.get(key(p.project, p.name, 'user'))
      return out !== undefined && chosen.has(out.id)
    }),
    requested: repos.filter((r) => requested.has(r.id)).map(repoLabel),
    added_by_provenance: repos.filter((r) => !requested.has(r.id)).map(repoLabel),
  }
}

/** An archived row (repo columns as [project, name, type], Buffers revived). */
export type Row = Record<string, unknown>

export interface ImportPlan {
  /** rows to insert, per table, in archive order */
  insert: Map<string, Row[]>
  /** rows already present and equal */
  present: number
  conflicts: {table: string; message: string}[]
}

/** A value of a row as comparable text. */
function canon(v: unknown): string {
  if (Buffer.isBuffer(v)) return `x${v.toString('hex')}`
  if (v === undefined) return 'null'
  return JSON.stringify(v)
}

function describe(t: string, row: Row): string {
  const repo = (v: unknown) => (Array.isArray(v) ? repoLabel({project: String(v[0]), name: String(v[1]), type: String(v[2])}) : String(v))
  switch (t) {
    case 'repos':
      return `repo ${repoLabel(row as {project: string; name: string; type: string})}`
    case 'commits':
      return `commit ${repo(row.repo_id)}@${String(row.id)}`
    case 'commit_provenance':
      return `provenance of commit ${repo(row.repo_id)}@${String(row.commit_id)}`
    case 'branches':
      return `branch ${repo(row.repo_id)}@${String(row.name)}`
    case 'branch_provenance':
      return `provenance of branch ${repo(row.repo_id)}@${String(row.branch)}`
    case 'pipelines':
    case 'pipeline_versions':
      return `pipeline ${String(row.project)}/${String(row.name)}${t === 'pipeline_versions' ? ` version ${String(row.version)}` : ''}`
    case 'jobs':
      return `job ${String(row.project)}/${String(row.pipeline)}@${String(row.id)}`
    case 'job_datums':
      return `datum set of job ${String(row.project)}/${String(row.pipeline)}@${String(row.job_id)}`
    case 'datums':
      return `datum ${String(row.datum_id).slice(0, 12)} of job ${String(row.project)}/${String(row.pipeline)}@${String(row.job_id)}`
    default:
      return `${t} row`
  }
}

/** What differs, for the one-line message (the columns users recognise first). */
function difference(t: string, mine: Row, theirs: Row, cols: readonly string[]): string {
  const first = t === 'repos' ? 'created' : t === 'branches' ? 'head' : t === 'pipelines' ? 'version' : undefined
  const col = first && canon(mine[first]) !== canon(theirs[first]) ? first : cols.find((c) => canon(mine[c]) !== canon(theirs[c]))
  if (!col) return 'differs'
  const show = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex').slice(0, 16) : typeof v === 'string' && v.length > 40 ? `${v.slice(0, 37)}…` : JSON.stringify(v))
  const what = t === 'repos' && col === 'created' ? 'exists here with other history: created' : t === 'branches' && col === 'head' ? 'points elsewhere: head' : `differs: ${col}`
  return `${what} ${show(mine[col])} here, ${show(theirs[col])} in the archive`
}

/**
 * Decide, for every archived row, insert or already present; any row whose key exists here
 * with other values is a conflict (for tables compared, TABLES). `existing(table, row)`
 * returns the store's row with the same key (in archive form) or undefined. Pure given
 * `existing`. Importing the same archive twice: every row is present, nothing is inserted.
 */
export function planImport(tables: ReadonlyMap<string, readonly Row[]>, existing: (t: TableSpec, row: Row) => Row | undefined): ImportPlan {
  const plan: ImportPlan = {insert: new Map(), present: 0, conflicts: []}
  for (const spec of TABLES) {
    const rows = tables.get(spec.name) ?? []
    const ins: Row[] = []
    for (const row of rows) {
      const mine = existing(spec, row)
      if (!mine) {
        ins.push(row)
        continue
      }
      plan.present++
      if (!spec.compare) continue
      const cols = Object.keys(row).filter((c) => !(spec.drop ?? []).includes(c))
      if (cols.some((c) => canon(mine[c]) !== canon(row[c]))) {
        plan.conflicts.push({table: spec.name, message: `${describe(spec.name, row)} ${difference(spec.name, mine, row, cols)}`})
      }
    }
    plan.insert.set(spec.name, ins)
  }
  return plan
}

/** The refusal for a plan with conflicts: one line (the first), all of them in `data`. */
export function conflictError(plan: ImportPlan): ConflictError {
  const first = plan.conflicts[0]!
  const more = plan.conflicts.length - 1
  return new ConflictError('IMPORT_CONFLICT', `cannot import: ${first.message}${more ? ` (and ${more} more conflict${more === 1 ? '' : 's'})` : ''}`, {
    hint: 'nothing was imported; import into another project directory, or delete what conflicts here first',
    data: {conflicts: plan.conflicts.slice(0, 100)},
  })
}
