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
 * datum-set nodes.
 *
 * Verification. Chunks are copied as they are stored, like `tar` or restic's copy: read in
 * groups of up to SLOT bytes (the chunks of one file, or of several small ones, lying side by
 * side in their packs) into a few reused buffers, on libuv's pool while the sink writes the
 * groups before, and written from those very buffers, each chunk behind its frame head and id. A chunk missing from the index or cut short in its pack
 * fails the export (CORRUPT_OBJECT); its bytes are not hashed. The archive still certifies
 * every byte: each chunk travels with its id, and `pach import` refuses an archive in which
 * any chunk does not hash to its id before it makes anything visible (format.ts), so a chunk
 * damaged in the store yields an archive that cannot be restored wrongly, only refused;
 * `pach fsck` finds such a chunk in the store. Hashing 1 GiB costs ~0.7 s of a core, more
 * than tar takes to copy it, which is why it is not the default. With `verify` every chunk is
 * checked against its id by the hashing worker (hasher.ts) while the main thread reads the
 * next group and the sink writes the one before, and a group goes to the archive writer only
 * once all of it passed: a damaged store fails the export with CORRUPT_OBJECT before any of
 * the damaged chunk reaches the sink (the file sink then removes what it wrote). Tree nodes
 * are verified either way (they are decoded to walk the tree, and a stored delta is rebuilt
 * into the whole node the archive carries).
 */
import type {CoreContext} from '../context.js'
import * as rows from '../db/archive-rows.js'
import {beginSnapshot} from '../db/open.js'
import * as datums from '../db/datums.js'
import {getPipeline} from '../db/pipelines.js'
import {listProjects} from '../db/projects.js'
import {SCHEMA_VERSION} from '../db/migrations.js'
import {decodeNode} from '../store/tree-node.js'
import {ObjectHasher} from './hasher.js'
import {ARCHIVE_FORMAT, ARCHIVE_VERSION, ArchiveWriter, type ArchiveHeader, type ArchiveSummary, type Trailer} from './format.js'
import {planExport, repoLabel} from './plan.js'

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
  /** check every chunk against its id while exporting (on a worker thread): see the header */
  verify?: boolean
}

export interface ExportSummary extends ArchiveSummary {
  all: boolean
  added_by_provenance: string[]
  pipelines: string[]
  /** rows archived per table */
  rows: Record<string, number>
  records: number
  /** every chunk was checked against its id while exporting (`verify`); otherwise copied as stored */
  verified: boolean
}

/** bytes of chunks read at once (one of the RING reused read buffers) */
const SLOT = 8 * 1024 * 1024
/** reused read buffers: one being read, one being hashed (verify), the rest queued or being written */
const RING = 4

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

/**
 * Write the archive through `out` (batches of ~1 MiB, in order, awaited: the sink's
 * backpressure). Throws REPO_NOT_FOUND for a named repo that does not exist (before writing
 * anything), CORRUPT_OBJECT when a stored object is missing, cut short, or (trees always,
 * chunks with `verify`) fails its hash check, LOCKED while gc runs.
 */
export async function exportArchive(ctx: CoreContext, out: (bufs: Buffer[]) => Promise<void>, opts: ExportOptions): Promise<ExportSummary> {
  const db = ctx.db
  // a write lease keeps gc from deleting packs under the snapshot (gc refuses while one lives)
  const lease = await ctx.store.writerWait()
  const endSnapshot = beginSnapshot(db)
  let hasher: ObjectHasher | undefined
  try {
    const plan = planExport(rows.archiveGraph(db), opts.repos?.length ? opts.repos : null)
    const projects = plan.all ? listProjects(db).map((p) => p.name) : [...new Set(plan.repos.map((r) => r.project))].sort()
    const selection: rows.Selection = {repoIds: plan.repos.map((r) => r.id), pipelines: plan.pipelines, projects}
    const specs = plan.pipelines.map((p) => getPipeline(db, p.project, p.name)?.spec ?? '')
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
    const counts: Record<string, number> = {}
    for (const t of rows.TABLES) {
      let n = 0
      for (const r of rows.archivedRows(db, t, selection)) {
        const row: Record<string, unknown> = {}
        for (const [c, v] of Object.entries(r)) {
          if (t.drop?.includes(c)) continue
          row[c] = t.repoCols?.includes(c) ? (repoKey.get(v as number) ?? null) : v
        }
        await w.record({t: t.name, row})
        n++
      }
      counts[t.name] = n
    }

    // objects reached by those records, each once
    progress.stage('objects')
    const verify = opts.verify === true
    hasher = verify ? new ObjectHasher() : undefined
    // buffers are reused only once the sink says it has written them; otherwise each read gets fresh ones
    const reuse = opts.writtenUpTo !== undefined
    const ring = Array.from({length: RING}, () => ({buf: undefined as Buffer | undefined, until: 0}))
    let nextSlot = 0
    // groups read but not yet written (verify: the one the worker is checking)
    const inFlight: {ids: Buffer[]; data: Buffer[]; damaged: (k: number) => Error; check?: Promise<number>; slot: {until: number}}[] = []
    const deliver = async (): Promise<void> => {
      const g = inFlight.shift()!
      const bad = g.check ? await g.check : -1
      if (bad >= 0) throw g.damaged(bad)
      // written from the buffer it was read into, in the writer's ~1 MiB batches
      for (const [k, id] of g.ids.entries()) await w.object('blob', id, g.data[k]!)
      g.slot.until = w.size
    }
    // the group being gathered: chunks of one file, or of several small ones, up to SLOT bytes
    let group: Buffer[] = []
    let groupBytes = 0
    const send = async (): Promise<void> => {
      if (!group.length) return
      const ids = group
      ;[group, groupBytes] = [[], 0]
      const slot = ring[nextSlot++ % RING]!
      if (slot.until > w.flushed) await w.flush()
      if (reuse && slot.until > 0) await opts.writtenUpTo!(slot.until)
      // (the slot's last group was delivered: at most two groups are in flight, RING > 2)
      const scratch = reuse ? (slot.buf ??= verify ? Buffer.from(new SharedArrayBuffer(SLOT)) : Buffer.allocUnsafe(SLOT)) : undefined
      // read on the pool: the sink's queued writes go on being issued meanwhile (a blocking
      // read stalled them; ~0.1 s of a 1 GiB export's wall)
      const r = await ctx.store.readBlobsUnverifiedAsync(ids, scratch)
      let check: Promise<number> | undefined
      if (hasher) {
        // chunks that did not fit the shared slot are in ordinary memory: hashed inline by verify
        check = hasher.verify(r.data, ids)
        check.catch(() => {}) // awaited in deliver (unless an error comes first)
      }
      inFlight.push({ids, data: r.data, damaged: r.damaged, check, slot})
      while (inFlight.length > (hasher ? 1 : 0)) await deliver()
    }
    const drain = async (): Promise<void> => {
      await send()
      while (inFlight.length) await deliver()
    }
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
          for (const [i, c] of e.chunks.entries()) {
            const ck = c.toString('latin1')
            if (seenBlobs.has(ck)) continue
            seenBlobs.add(ck)
            if (group.length && groupBytes + e.sizes[i]! > SLOT) await send()
            group.push(c)
            groupBytes += e.sizes[i]!
          }
        }
      }
    }
    for (const root of rows.archivedTreeRoots(db, selection)) await walk(root)
    await drain()
    const tree = datums.datumTree(db)
    const seenNodes = new Set<string>()
    for (const root of rows.archivedDatumSetRoots(db, selection)) {
      for (const h of [...tree.nodes(root, seenNodes)]) await w.object('datumNode', h, datums.getDatumNode(db, h)!)
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
      rows: counts,
      records: trailer.records,
      blobs: trailer.blobs,
      blob_bytes: trailer.blob_bytes,
      trees: trailer.trees,
      datum_nodes: trailer.datum_nodes,
      bytes: w.size,
      digest: trailer.digest,
      verified: opts.verify === true,
      secrets_needed: secrets,
    }
  } finally {
    endSnapshot()
    ctx.store.closeFds()
    lease.release()
    await hasher?.close()
  }
}
