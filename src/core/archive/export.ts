/**
 * `pach export`: write a pach archive (format.ts) of every repo, or of some repos closed under
 * provenance (plan.ts), to a sink.
 *
 * Consistency: the whole export reads one SQLite snapshot (a read transaction held across the
 * stream; WAL lets writers go on meanwhile, and the archive shows the store as it was when the
 * export began), and holds a write lease so gc cannot delete a pack the snapshot still
 * references. Records are read in pages (keyset on rowid or seq), objects one at a time, so
 * memory does not grow with the data; what does grow is the set of object ids already written
 * (one entry per distinct chunk and tree node, as gc's mark holds), which is what makes each
 * chunk appear once however many commits share it.
 *
 * Order: the header, then every record (an importer checks them for conflicts before it
 * writes anything), then the objects the records reach: each commit's tree (whole objects,
 * not the store's deltas), the chunks of its files, each datum's output tree and each job's
 * datum-set nodes. Every chunk read is verified against its id (a damaged store fails the
 * export with CORRUPT_OBJECT rather than writing a backup that cannot be restored).
 */
import type {CoreContext} from '../context.js'
import * as datums from '../db/datums.js'
import {SCHEMA_VERSION} from '../db/migrations.js'
import type {DB} from '../db/types.js'
import {decodeNode} from '../store/tree-node.js'
import {ARCHIVE_FORMAT, ARCHIVE_VERSION, ArchiveWriter, type ArchiveHeader, type Trailer} from './format.js'
import {planExport, repoLabel, TABLES, type ExportPlan, type RepoRef, type TableSpec} from './plan.js'

export interface ExportOptions {
  /**
   * Resolves once the sink has written (not just queued) the first `bytes` bytes handed to it;
   * the export then reuses its read buffers. Omitted: every read gets fresh buffers (a sink
   * may keep what it is given, as tests that collect the archive do).
   */
  writtenUpTo?: (bytes: number) => Promise<void>
  /** user repos to export (closed under provenance); undefined or empty = everything */
  repos?: readonly {project: string; name: string}[]
  pachVersion: string
}

export interface ExportSummary {
  format: string
  version: number
  all: boolean
  repos: string[]
  added_by_provenance: string[]
  pipelines: string[]
  /** rows archived per table */
  rows: Record<string, number>
  records: number
  blobs: number
  blob_bytes: number
  trees: number
  datum_nodes: number
  /** archive size in bytes */
  bytes: number
  /** the trailer's whole-archive digest */
  digest: string
  secrets_needed: string[]
}

const PAGE = 1000
/** bytes of chunks read at once (one of the export's four reused read buffers) */
const SLOT = 8 * 1024 * 1024

/** Read the graph the planner needs (repos, repo-level provenance, pipelines). */
function readGraph(db: DB) {
  return {
    repos: db.prepare('SELECT id, project, name, type FROM repos ORDER BY project, name, type').all() as RepoRef[],
    edges: (
      db
        .prepare('SELECT DISTINCT repo_id, prov_repo_id FROM commit_provenance UNION SELECT DISTINCT repo_id, prov_repo_id FROM branch_provenance')
        .raw()
        .all() as [number, number][]
    ).map(([a, b]) => [a, b] as const),
    pipelines: db.prepare('SELECT project, name FROM pipelines ORDER BY project, name').all() as {project: string; name: string}[],
  }
}

/** The secrets the pipelines' specs read (transform.secrets[].name). */
function secretsOf(specs: string[]): string[] {
  const names = new Set<string>()
  for (const s of specs) {
    try {
      const spec = JSON.parse(s) as {transform?: {secrets?: {name?: unknown}[]}}
      for (const sec of spec.transform?.secrets ?? []) if (typeof sec.name === 'string') names.add(sec.name)
    } catch {
      // a spec is stored JSON; an unreadable one names no secret
    }
  }
  return [...names].sort()
}

/** WHERE clause and parameter selecting the rows of `t` the plan exports. */
function filterOf(t: TableSpec, plan: ExportPlan, projects: string[]): {where: string; param: string} {
  const ids = JSON.stringify(plan.repos.map((r) => r.id))
  const pipes = JSON.stringify(plan.pipelines.map((p) => `${p.project}\0${p.name}`))
  switch (t.name) {
    case 'projects':
      return {where: 'name IN (SELECT value FROM json_each(@p))', param: JSON.stringify(projects)}
    case 'repos':
      return {where: 'id IN (SELECT value FROM json_each(@p))', param: ids}
    case 'commit_sets':
      return {where: 'id IN (SELECT id FROM commits WHERE repo_id IN (SELECT value FROM json_each(@p)))', param: ids}
    case 'commits':
    case 'commit_provenance':
    case 'branches':
    case 'branch_provenance':
      return {where: 'repo_id IN (SELECT value FROM json_each(@p))', param: ids}
    case 'pipelines':
    case 'pipeline_versions':
      return {where: "project || char(0) || name IN (SELECT value FROM json_each(@p))", param: pipes}
    default:
      return {where: "project || char(0) || pipeline IN (SELECT value FROM json_each(@p))", param: pipes}
  }
}

/**
 * Write the archive through `out` (batches of ~1 MiB, in order, awaited: the sink's backpressure). Throws
 * REPO_NOT_FOUND for a named repo that does not exist (before writing anything),
 * CORRUPT_OBJECT when a stored object fails verification, LOCKED while gc runs.
 */
export async function exportArchive(ctx: CoreContext, out: (bufs: Buffer[]) => Promise<void>, opts: ExportOptions): Promise<ExportSummary> {
  const db = ctx.db
  // a write lease keeps gc from deleting packs under the snapshot (gc refuses while one lives)
  const lease = await ctx.store.writerWait()
  db.exec('BEGIN')
  try {
    const plan = planExport(readGraph(db), opts.repos?.length ? opts.repos : null)
    const projects = plan.all ? (db.prepare('SELECT name FROM projects ORDER BY name').pluck().all() as string[]) : [...new Set(plan.repos.map((r) => r.project))].sort()
    const specs = plan.pipelines.map((p) => db.prepare('SELECT spec FROM pipelines WHERE project = ? AND name = ?').pluck().get(p.project, p.name) as string)
    const secrets = secretsOf(specs)
    const header: ArchiveHeader = {
      format: ARCHIVE_FORMAT,
      version: ARCHIVE_VERSION,
      pach_version: opts.pachVersion,
      schema: SCHEMA_VERSION,
      created: ctx.now(),
      chunker: {...ctx.config.chunker},
      scope: {all: plan.all, requested: plan.requested, added_by_provenance: plan.added_by_provenance},
      secrets_needed: secrets,
    }
    const progress = ctx.reporter.progress('export', 'bytes')
    let reported = 0
    const w = new ArchiveWriter(async (bufs) => {
      await out(bufs)
      progress.add(w.size - reported)
      reported = w.size
    })
    await w.header(header)

    // records, table by table, page by page
    const repoKey = new Map(plan.repos.map((r) => [r.id, [r.project, r.name, r.type]]))
    const rows: Record<string, number> = {}
    for (const t of TABLES) {
      const f = filterOf(t, plan, projects)
      const order = t.seq ? 'seq' : 'rowid'
      const page = db.prepare(`SELECT ${order} AS _k, * FROM ${t.name} WHERE (${f.where}) AND ${order} > @after ORDER BY ${order} LIMIT ${PAGE}`)
      let after = Number.MIN_SAFE_INTEGER
      let n = 0
      for (;;) {
        const batch = page.all({p: f.param, after}) as Record<string, unknown>[]
        for (const r of batch) {
          const row: Record<string, unknown> = {}
          for (const [c, v] of Object.entries(r)) {
            if (c === '_k' || t.drop?.includes(c)) continue
            row[c] = t.repoCols?.includes(c) ? (repoKey.get(v as number) ?? null) : v
          }
          await w.record({t: t.name, row})
          n++
        }
        if (batch.length < PAGE) break
        after = batch[batch.length - 1]!._k as number
      }
      rows[t.name] = n
    }

    // objects reached by those records, each once
    progress.stage('objects')
    const ring = Array.from({length: 4}, () => ({buf: Buffer.allocUnsafe(SLOT), until: 0}))
    let nextSlot = 0
    const seenTrees = new Set<string>()
    const seenBlobs = new Set<string>()
    const walk = async (hash: Buffer): Promise<void> => {
      const k = hash.toString('latin1')
      if (seenTrees.has(k)) return
      seenTrees.add(k)
      const data = ctx.trees.bytes(hash, false)
      await w.object('tree', hash, data)
      const node = decodeNode(data)
      if (node.kind === 'index') {
        for (const it of node.items) await walk(it.hash)
        return
      }
      for (const e of node.entries) {
        if (e.kind === 'dir') await walk(e.hash)
        else {
          const fresh = e.chunks.filter((c) => {
            const ck = c.toString('latin1')
            if (seenBlobs.has(ck)) return false
            seenBlobs.add(ck)
            return true
          })
          // a file's chunks lie side by side in its packs: read them in runs of ≤ 8 MiB, into
          // buffers reused once the sink has written what was read into them
          const sizeOf = new Map(e.chunks.map((c, k) => [c.toString('latin1'), e.sizes[k]!]))
          for (let i = 0; i < fresh.length; ) {
            let j = i
            let bytes = 0
            while (j < fresh.length && (j === i || bytes + sizeOf.get(fresh[j]!.toString('latin1'))! <= SLOT)) bytes += sizeOf.get(fresh[j++]!.toString('latin1'))!
            const ids = fresh.slice(i, j)
            const slot = ring[nextSlot++ % ring.length]!
            if (slot.until > w.flushed) await w.flush()
            if (slot.until > 0 && opts.writtenUpTo) await opts.writtenUpTo(slot.until)
            const data = ctx.store.readBlobs(ids, opts.writtenUpTo ? slot.buf : undefined)
            for (const [k, id] of ids.entries()) await w.object('blob', id, data[k]!)
            slot.until = w.size
            i = j
          }
        }
      }
    }
    const ids = JSON.stringify(plan.repos.map((r) => r.id))
    const pipes = JSON.stringify(plan.pipelines.map((p) => `${p.project}\0${p.name}`))
    const roots = [
      db.prepare(`SELECT seq AS _k, tree AS h FROM commits WHERE repo_id IN (SELECT value FROM json_each(@p)) AND tree IS NOT NULL AND seq > @after ORDER BY seq LIMIT ${PAGE}`),
      db.prepare(`SELECT rowid AS _k, output AS h FROM datums WHERE project || char(0) || pipeline IN (SELECT value FROM json_each(@p)) AND output IS NOT NULL AND rowid > @after ORDER BY rowid LIMIT ${PAGE}`),
    ]
    for (const [i, q] of roots.entries()) {
      for (let after = Number.MIN_SAFE_INTEGER; ; ) {
        const batch = q.all({p: i === 0 ? ids : pipes, after}) as {_k: number; h: Buffer}[]
        for (const r of batch) await walk(r.h)
        if (batch.length < PAGE) break
        after = batch[batch.length - 1]!._k
      }
    }
    const tree = datums.datumTree(db)
    const nodeData = db.prepare('SELECT data FROM datum_nodes WHERE hash = ?').pluck()
    const seenNodes = new Set<string>()
    const sets = db.prepare(`SELECT rowid AS _k, root FROM job_datums WHERE project || char(0) || pipeline IN (SELECT value FROM json_each(@p)) AND root IS NOT NULL AND rowid > @after ORDER BY rowid LIMIT ${PAGE}`)
    for (let after = Number.MIN_SAFE_INTEGER; ; ) {
      const batch = sets.all({p: pipes, after}) as {_k: number; root: Buffer}[]
      for (const s of batch) {
        for (const h of [...tree.nodes(s.root, seenNodes)]) await w.object('datumNode', h, nodeData.get(h) as Buffer)
      }
      if (batch.length < PAGE) break
      after = batch[batch.length - 1]!._k
    }
    const trailer: Trailer = await w.finish()
    progress.done()
    return {
      format: ARCHIVE_FORMAT,
      version: ARCHIVE_VERSION,
      all: plan.all,
      repos: plan.repos.map(repoLabel),
      added_by_provenance: plan.added_by_provenance,
      pipelines: plan.pipelines.map((p) => `${p.project}/${p.name}`),
      rows,
      records: trailer.records,
      blobs: trailer.blobs,
      blob_bytes: trailer.blob_bytes,
      trees: trailer.trees,
      datum_nodes: trailer.datum_nodes,
      bytes: w.size,
      digest: trailer.digest,
      secrets_needed: secrets,
    }
  } finally {
    if (db.inTransaction) db.exec('COMMIT')
    ctx.store.closeFds()
    lease.release()
  }
}
