/**
 * `pach import`: restore a pach archive (format.ts) into this store, ids kept exactly.
 *
 * How nothing becomes visible unless the whole archive verified, in a stream read once:
 * 1. The header and every record are read and held (metadata only). The reader has checked
 *    the records section's checksum before it yields the first object, so the records are
 *    intact when the plan is made: each row is inserted, or already present and equal, or a
 *    conflict (plan.ts). Any conflict refuses the import here, before anything is written.
 * 2. Objects stream in, each checked against its id (from a file: read into reused blocks and
 *    checked in batches on a worker thread, blocks.ts and hasher.ts; a batch comes out only
 *    once all of it passed, and a block is reused only once the pack writer has written what
 *    it took from it, `PackWriter.appended`): chunks go to a pack writer (temp packs
 *    in objects/tmp, holding a write lease so gc stays away), tree and datum-set nodes to a
 *    spool file beside them. Nothing is indexed yet, except that a writer with 25,000 chunks
 *    waiting publishes those to the blob index (unreferenced chunks: invisible, and gc's).
 * 3. Only when the reader has verified the trailer (every section digest, the totals, the end
 *    mark, the end of input) are the packs published; then every object the records and trees
 *    reference is checked to be present (in the archive or already here), and one SQLite
 *    transaction inserts the spooled nodes and every planned row. A damaged or truncated
 *    archive, an error or a kill before that transaction leaves no row: at most temp files
 *    and unreferenced chunks, which `pach gc` removes.
 * Importing an archive already imported plans no insert: the transaction writes nothing.
 */
import {closeSync, openSync, readSync, rmSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {join} from 'node:path'
import type {CoreContext} from '../context.js'
import {SCHEMA_VERSION} from '../db/migrations.js'
import {withRead, withTx} from '../db/open.js'
import type {DB} from '../db/types.js'
import * as rows from '../db/archive-rows.js'
import {hasDatumNode, indexDatumInputs, putDatumNode} from '../db/datums.js'
import {hasTree, insertTree} from '../db/objects.js'
import {listProjects} from '../db/projects.js'
import {listRepos} from '../db/repos.js'
import {InvalidArgumentError} from '../errors.js'
import {decodeNode} from '../store/tree-node.js'
import type {PackWriter} from '../store/pack-store.js'
import {FileBlocks} from './blocks.js'
import {ARCHIVE_FORMAT, damaged, readArchive, reviveBuffers, type ArchiveFrame, type ArchiveHeader, type ArchiveInput, type ArchiveSummary, type ObjectKind, type Trailer} from './format.js'
import {conflictError, planImport, repoLabel, type Row} from './plan.js'

export interface ImportSummary extends ArchiveSummary {
  /** the pach that wrote the archive, and when */
  exported_by: string
  exported: string
  /** rows inserted per table (all zero: the archive was already here) */
  inserted: Record<string, number>
  /** archived rows already present and equal */
  present: number
  noop: boolean
  /** chunks this store did not have */
  blobs_written: number
  /** the archive's chunker differs from this store's: its files read the same, but new writes of equal bytes will not deduplicate against them */
  chunker_differs: boolean
}

type RepoKey = [string, string, string]
const repoKeyStr = (k: readonly unknown[]) => `${String(k[0])}\0${String(k[1])}\0${String(k[2])}`

/** Validate one archived row against the table's columns; revive Buffers. Throws ARCHIVE_DAMAGED. */
function checkRow(spec: rows.TableSpec, cols: Set<string>, raw: Record<string, unknown>): Row {
  const row = reviveBuffers(raw)
  for (const c of Object.keys(row)) {
    if (!cols.has(c) || spec.drop?.includes(c)) throw damaged(`a ${spec.name} record has an unknown column ${JSON.stringify(c)}`)
  }
  for (const c of spec.key) if (row[c] === undefined || row[c] === null) throw damaged(`a ${spec.name} record lacks its key column ${c}`)
  for (const c of spec.repoCols ?? []) {
    const v = row[c]
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'string')) throw damaged(`a ${spec.name} record names its repo wrongly`)
  }
  return row
}

/**
 * Import an archive from `input` (chunks of bytes, e.g. a file or stdin stream). Throws
 * NOT_AN_ARCHIVE / FORMAT_TOO_NEW (exit 2), ARCHIVE_DAMAGED (exit 12, nothing imported),
 * IMPORT_CONFLICT (exit 5, nothing written), LOCKED while gc runs.
 */
export async function importArchive(ctx: CoreContext, input: ArchiveInput | {file: string}): Promise<ImportSummary> {
  const result: {trailer?: Trailer; size?: number} = {}
  // a file is read into reused blocks, its objects hashed on a second core (format.ts)
  const source = 'file' in input ? await FileBlocks.open(input.file) : input
  const sink: {writer?: PackWriter} = {}
  // a block the pack writer took chunks from is reused once they are in a temp pack
  const frames = readArchive(source, result, {settled: () => sink.writer?.appended() ?? Promise.resolve()})
  try {
    return await importFrames(ctx, frames, result, sink)
  } finally {
    // a refusal stops reading: close the input (a file, a stream, stdin)
    await frames.return(undefined).catch(() => {})
    if (source !== input) await (source as FileBlocks).close()
  }
}

async function importFrames(ctx: CoreContext, frames: AsyncGenerator<ArchiveFrame>, result: {trailer?: Trailer; size?: number}, sink: {writer?: PackWriter}): Promise<ImportSummary> {
  const db = ctx.db
  const cols = rows.archivedColumns(db)
  const tables = new Map<string, Row[]>(rows.TABLES.map((t) => [t.name, []]))
  let header: ArchiveHeader | undefined
  let first: {type: ObjectKind; id: Buffer; data: Buffer} | undefined

  // 1. header and records
  for (;;) {
    const n = await frames.next()
    if (n.done) break
    const f = n.value
    if (f.kind === 'header') {
      header = f.header
      if (typeof header.schema !== 'number' || header.schema > SCHEMA_VERSION) {
        throw new InvalidArgumentError('FORMAT_TOO_NEW', `the archive's records are of schema ${String(header.schema)}, newer than this pach's ${SCHEMA_VERSION}`, {hint: 'import it with a newer pach'})
      }
    } else if (f.kind === 'record') {
      const spec = rows.TABLE_BY_NAME.get(f.record.t)
      if (!spec) throw damaged(`a record of unknown table ${JSON.stringify(f.record.t)}`)
      tables.get(spec.name)!.push(checkRow(spec, cols.get(spec.name)!, f.record.row))
    } else {
      first = f
      break
    }
  }
  if (!header) throw damaged('it has no header')

  // 2. plan against what is here; refuse conflicts before writing anything
  const localRepos = new Map(listRepos(db).map((r) => [repoKeyStr([r.project, r.name, r.type]), r.id]))
  const idToKey = new Map([...localRepos].map(([k, id]) => [id, k.split('\0') as RepoKey]))
  const plan = withRead(db, () =>
    planImport(tables, (spec, row) => {
      const args: unknown[] = []
      for (const k of spec.key) {
        if (spec.repoCols?.includes(k)) {
          const id = localRepos.get(repoKeyStr(row[k] as RepoKey))
          if (id === undefined) return undefined
          args.push(id)
        } else args.push(row[k])
      }
      const mine = rows.rowByKey(db, spec, args)
      if (!mine) return undefined
      for (const c of spec.repoCols ?? []) mine[c] = idToKey.get(mine[c] as number) ?? null
      return mine
    }),
  )
  if (plan.conflicts.length) throw conflictError(plan)
  // a project the archive's repos live in must be here or in the archive
  const projects = new Set([...(tables.get('projects') ?? []).map((p) => String(p.name)), ...listProjects(db).map((p) => p.name)])
  for (const r of tables.get('repos')!) if (!projects.has(String(r.project))) throw damaged(`repo ${String(r.name)} is in project ${String(r.project)}, which the archive does not hold`)

  // 3. objects: chunks into temp packs, tree and datum-set nodes into a spool
  const writer = (sink.writer = await ctx.store.writerWait())
  const spoolPath = join(ctx.store.tmpDir, `import.${process.pid}.${ctx.newId()}.spool`)
  const spool = await open(spoolPath, 'w')
  let spoolOpen = true
  const spooled = {trees: new Set<string>(), nodes: new Set<string>()}
  const wantBlobs = new Set<string>()
  /** chunks the archive carried: present once the writer is closed, so not looked up again */
  const carried = new Set<string>()
  const wantTrees = new Set<string>()
  const totals = {blobs: 0, blobs_written: 0, blob_bytes: 0, trees: 0, datum_nodes: 0}
  const progress = ctx.reporter.progress('import', 'bytes')
  try {
    let spoolBuf: Buffer[] = []
    let spoolBytes = 0
    const flushSpool = async () => {
      if (!spoolBytes) return
      const b = Buffer.concat(spoolBuf, spoolBytes)
      ;[spoolBuf, spoolBytes] = [[], 0]
      await spool.write(b)
    }
    const take = async (o: {type: ObjectKind; id: Buffer; data: Buffer}) => {
      if (o.type === 'blob') {
        totals.blobs++
        totals.blob_bytes += o.data.length
        carried.add(o.id.toString('latin1'))
        if (writer.add(Buffer.from(o.id), o.data)) totals.blobs_written++
        if (writer.full) await writer.drain()
        progress.add(o.data.length)
        return
      }
      const k = o.id.toString('latin1')
      const mine = o.type === 'tree' ? spooled.trees : spooled.nodes
      if (o.type === 'tree') {
        totals.trees++
        const node = decodeNodeOrDamaged(o.data, o.id)
        if (node.kind === 'index') for (const it of node.items) wantTrees.add(it.hash.toString('latin1'))
        else {
          for (const e of node.entries) {
            if (e.kind === 'dir') wantTrees.add(e.hash.toString('latin1'))
            else for (const c of e.chunks) wantBlobs.add(c.toString('latin1'))
          }
        }
      } else totals.datum_nodes++
      if (mine.has(k)) return
      mine.add(k)
      const h = Buffer.allocUnsafe(5)
      h[0] = o.type === 'tree' ? 0x54 : 0x44
      h.writeUInt32BE(o.data.length, 1)
      spoolBuf.push(h, Buffer.from(o.id), Buffer.from(o.data))
      spoolBytes += 37 + o.data.length
      if (spoolBytes >= 1024 * 1024) await flushSpool()
    }
    if (first) await take(first)
    for (;;) {
      const n = await frames.next()
      if (n.done) break
      if (n.value.kind !== 'object') throw damaged('a record among the objects')
      await take(n.value)
    }
    const trailer = result.trailer!
    await flushSpool()
    await spool.close()
    spoolOpen = false

    // the archive verified: publish the chunks (unreferenced until the transaction below)
    await writer.close()
    for (const t of tables.get('commits')!) if (Buffer.isBuffer(t.tree)) wantTrees.add(t.tree.toString('latin1'))
    for (const d of tables.get('datums')!) if (Buffer.isBuffer(d.output)) wantTrees.add(d.output.toString('latin1'))
    for (const k of wantTrees) {
      if (!spooled.trees.has(k) && !hasTree(db, Buffer.from(k, 'latin1'))) throw damaged(`it references tree ${Buffer.from(k, 'latin1').toString('hex')}, which neither it nor this store holds`)
    }
    for (const k of wantBlobs) {
      if (!carried.has(k) && !ctx.store.has(Buffer.from(k, 'latin1'))) throw damaged(`it references chunk ${Buffer.from(k, 'latin1').toString('hex')}, which neither it nor this store holds`)
    }
    for (const s of tables.get('job_datums')!) {
      if (Buffer.isBuffer(s.root) && !spooled.nodes.has(s.root.toString('latin1')) && !hasDatumNode(db, s.root)) throw damaged(`it references a datum set ${s.root.toString('hex')} it does not hold`)
    }

    // 4. one transaction: nodes, then every planned row
    const inserted = withTx(db, () => applyPlan(db, spoolPath, plan.insert, localRepos))
    writer.release()
    progress.done()
    const noop = Object.values(inserted).every((n) => n === 0)
    return {
      format: ARCHIVE_FORMAT,
      version: header.version,
      exported_by: header.pach_version,
      exported: header.created,
      repos: tables.get('repos')!.map((r) => repoLabel(r as {project: string; name: string; type: string})),
      inserted,
      present: plan.present,
      noop,
      ...totals,
      bytes: result.size!,
      digest: trailer.digest,
      secrets_needed: header.secrets_needed ?? [],
      chunker_differs: JSON.stringify(sortKeys(header.chunker)) !== JSON.stringify(sortKeys({...ctx.config.chunker})),
    }
  } catch (e) {
    await writer.abort()
    throw e
  } finally {
    if (spoolOpen) await spool.close().catch(() => {})
    rmSync(spoolPath, {force: true})
    ctx.store.closeFds()
  }
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)))
}

function decodeNodeOrDamaged(data: Buffer, id: Buffer) {
  try {
    return decodeNode(data)
  } catch {
    throw damaged(`tree ${id.toString('hex')} cannot be decoded`)
  }
}

/** Inside the import's transaction: insert the spooled nodes, then the planned rows. Returns counts per table. */
function applyPlan(db: DB, spoolPath: string, insert: Map<string, Row[]>, localRepos: Map<string, number>): Record<string, number> {
  const fd = openSync(spoolPath, 'r')
  try {
    const h = Buffer.alloc(37)
    for (let pos = 0; ; ) {
      if (readSync(fd, h, 0, 37, pos) < 37) break
      const len = h.readUInt32BE(1)
      const data = Buffer.allocUnsafe(len)
      if (readSync(fd, data, 0, len, pos + 37) !== len) throw damaged('the import spool was cut short')
      ;(h[0] === 0x54 ? insertTree : putDatumNode)(db, Buffer.from(h.subarray(5, 37)), data)
      pos += 37 + len
    }
  } finally {
    closeSync(fd)
  }
  const counts: Record<string, number> = {}
  const seqBase = rows.nextSeqs(db)
  for (const spec of rows.TABLES) {
    const planned = insert.get(spec.name) ?? []
    counts[spec.name] = planned.length
    for (const row of planned) {
      const values: Record<string, unknown> = {}
      for (const [c, v] of Object.entries(row)) {
        if (spec.repoCols?.includes(c)) {
          const id = localRepos.get(repoKeyStr(v as RepoKey))
          if (id === undefined) throw damaged(`a ${spec.name} record names repo ${(v as string[]).join('/')}, which the archive does not hold`)
          values[c] = id
        } else values[c] = typeof v === 'boolean' ? Number(v) : v
      }
      if (spec.seq) values.seq = seqBase[spec.name as 'commits' | 'jobs']++
      const rowid = rows.insertArchivedRow(db, spec, values)
      if (spec.name === 'repos') localRepos.set(repoKeyStr([row.project, row.name, row.type]), rowid)
    }
  }
  // the lineage index is derived from the datum rows, so it is rebuilt, not carried
  const jobs = new Map<string, {project: string; pipeline: string; job_id: string}>()
  for (const d of insert.get('datums') ?? []) {
    const j = {project: String(d.project), pipeline: String(d.pipeline), job_id: String(d.job_id)}
    jobs.set(`${j.project}/${j.pipeline}/${j.job_id}`, j)
  }
  indexDatumInputs(db, jobs.values())
  return counts
}
