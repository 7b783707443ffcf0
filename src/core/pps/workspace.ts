/**
 * Workspace: a worker's /pfs between datums — inputs in, outputs collected, always cleaned
 * (Pachyderm's `WithDatum`; the house style's `withWorkspace`).
 *
 * A worker owns two host directories that its runner mounts for the life of the worker:
 * `inputsDir` (seen by user code as /pfs, read-only, with `inputsDir/out` the mount point of
 * /pfs/out) and `outDir` (seen as /pfs/out, writable). Because the mounts point at the
 * directories themselves, they are emptied in place, never replaced.
 *
 * Invariants:
 * - while a datum runs, /pfs holds exactly that datum's inputs: `/pfs/<name>/<path>` for each
 *   input and the directories above them, nothing left from an earlier datum (no file, no
 *   empty parent directory) — so a warm worker that ran other datums first gives the same
 *   result as a fresh one. `enter` removes the previous datum's paths and the directories
 *   the new one does not need, and keeps those both need (a warm worker pays one
 *   rmdir/mkdir per changed parent, not a re-walk). A retry enters again, so it also starts
 *   from clean inputs (in the local runner's rewrite mode user code can write to them).
 * - /pfs/out is empty when user code starts (cleared on enter and before a retry); what the
 *   user wrote is removed once it is collected.
 * - an input with `lazy` is a tree of FIFOs fed from the store on open (lazy.ts); one with
 *   `empty_files` holds 0-byte files; one with `s3` is an empty directory (user code reads it
 *   through the job's S3 sidecar, s3-job.ts). A link in /pfs/out to one of those is stored as the
 *   real file, by reference (no bytes read).
 * - collect never follows a symlink out of /pfs, and stores only regular files whose names
 *   PFS can hold; anything else fails the datum (DatumError), never the job.
 * Removed entries are renamed into the job's `trash` (one syscall each); the job deletes the
 * trash with its scratch space, off the datums' critical path (removeLater).
 */
import {createReadStream, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync} from 'node:fs'
import {basename, dirname, isAbsolute, join, resolve, sep} from 'node:path'
import {nodeChildProcess} from '../builtins.js'
import type {CoreContext} from '../context.js'
import type {CommitRow} from '../db/pfs-rows.js'
import {validatePath} from '../pfs/paths.js'
import type {Entry, FileEntry, TreeOp} from '../store/tree-store.js'
import {smallContent, writeContent, type FileContent} from '../store/content.js'
import type {PackWriter} from '../store/pack-store.js'
import type {Datum, DatumInput} from './datum.js'
import {LazyFeeder} from './lazy.js'
import type {Stats} from './stats.js'

/** A datum failed in a way that is the datum's fault (its output), not the worker's. */
export class DatumError extends Error {}

/** What a workspace reads: trees and blobs, input commits, and the store's writer for outputs. */
export interface WorkspaceSource {
  ctx: CoreContext
  /** a datum input's (finished) commit */
  commitOf: (inp: DatumInput) => CommitRow | undefined
  /** write an entry (file or directory subtree) to a host path; returns the bytes written */
  materialize: (entry: Entry, dest: string) => number
}

/** A datum's inputs in place. */
export interface EnteredDatum {
  /** `<name>`, `<name>_COMMIT`, PACH_DATUM_<name>_JOIN_ON / _GROUP_BY */
  env: Record<string, string>
  /** bytes written into /pfs (lazy inputs count as user code reads them: `lazy.bytes`) */
  downloadBytes: number
  lazy: LazyFeeder
  /** host realpath of each lazy / empty_files placeholder → the real file */
  placeholders: Map<string, FileEntry>
}

export class WorkerWorkspace {
  readonly inputsDir: string
  readonly outDir: string
  /** the last datum's input paths (undefined before the first datum) */
  private prev: {path: string; dir: boolean}[] | undefined
  /** directories strictly between inputsDir and an input path, known to exist */
  private readonly dirs = new Set<string>()
  private real: {out: string; in: string} | undefined

  /** Make `<root>/pfs` (with its `out` mount point) and `<root>/out`. */
  constructor(
    private readonly src: WorkspaceSource,
    root: string,
    private readonly trash: string,
  ) {
    this.inputsDir = join(root, 'pfs')
    this.outDir = join(root, 'out')
    mkdirSync(join(this.inputsDir, 'out'), {recursive: true})
    mkdirSync(this.outDir, {recursive: true})
  }

  /** realpaths of outDir and inputsDir (resolved once, after the runner set the worker up) */
  private get realDirs(): {out: string; in: string} {
    return (this.real ??= {out: realpathSync(this.outDir), in: realpathSync(this.inputsDir)})
  }

  /** Put exactly datum `d`'s inputs under /pfs and empty /pfs/out; lazy inputs start feeding. */
  enter(d: Datum): EnteredDatum {
    const inputsDir = this.inputsDir
    const rels = d.inputs.map(relOf)
    const dests = d.inputs.map((inp, i) => join(inputsDir, inp.name, rels[i]!))
    const needed = new Set<string>()
    for (const dest of dests) for (let dir = dirname(dest); dir.length > inputsDir.length; dir = dirname(dir)) needed.add(dir)
    if (this.prev === undefined) clearDir(inputsDir, this.trash, 'out')
    for (const p of this.prev ?? []) {
      if (p.dir) clearDir(dirname(p.path), this.trash, undefined, basename(p.path))
      else {
        try {
          unlinkSync(p.path)
        } catch {
          // already gone
        }
      }
    }
    for (const dir of [...this.dirs].filter((x) => !needed.has(x)).sort((x, y) => y.length - x.length)) {
      try {
        rmdirSync(dir)
      } catch {
        clearDir(dirname(dir), this.trash, undefined, basename(dir))
      }
      this.dirs.delete(dir)
    }
    for (const dir of [...needed].sort((x, y) => x.length - y.length)) {
      if (this.dirs.has(dir)) continue
      mkdirSync(dir, {recursive: true})
      this.dirs.add(dir)
    }
    this.prev = []
    this.clearOutput()

    const trees = this.src.ctx.trees
    const out: EnteredDatum = {env: {}, downloadBytes: 0, lazy: new LazyFeeder((id) => this.src.ctx.store.readBlob(id)), placeholders: new Map()}
    d.inputs.forEach((inp, i) => {
      const dest = dests[i]!
      if (inp.s3) {
        // read through the job's S3 sidecar: the directory exists, nothing is downloaded
        mkdirSync(dest, {recursive: true})
        this.prev!.push({path: dest, dir: true})
      }
      const c = inp.s3 ? undefined : this.src.commitOf(inp)
      const entry = c ? trees.lookup(c.tree, inp.path) : undefined
      if (!inp.s3) this.prev!.push({path: dest, dir: !entry || entry.kind === 'dir'})
      if (entry) {
        if (inp.empty_files || inp.lazy) {
          const files = this.placeholderFiles(entry, dest)
          for (const f of files) out.placeholders.set(this.realDirs.in + f.path.slice(inputsDir.length), f.entry)
          if (inp.lazy) out.lazy.add(files)
          else emptyFiles(files)
        } else out.downloadBytes += this.src.materialize(entry, dest)
      }
    })
    out.env = inputEnv(d.inputs)
    out.lazy.start()
    return out
  }

  /** Stop feeding a datum's lazy inputs (its paths are removed by the next enter). */
  leave(e: EnteredDatum): void {
    e.lazy.stop()
  }

  /** Empty /pfs/out in place. */
  clearOutput(): void {
    clearDir(this.outDir, this.trash)
  }

  /**
   * Store what user code left in /pfs/out as tree ops (paths from /). Symlinks are resolved in
   * the container's view (/pfs/<input>/…, /pfs/out/…, or relative) and must land inside /pfs;
   * anything else (a link out of /pfs, a device, a FIFO, a socket, a name PFS cannot hold)
   * throws DatumError. Adds uploaded bytes to `stats`.
   */
  async collect(writer: PackWriter, stats: Stats, placeholders: Map<string, FileEntry>): Promise<TreeOp[]> {
    const {outDir, inputsDir} = this
    const chunker = this.src.ctx.config.chunker
    const ops: TreeOp[] = []
    const {out: realOut, in: realIn} = this.realDirs
    const inside = (p: string) => p === realOut || p.startsWith(realOut + sep) || p.startsWith(realIn + sep)
    const toHost = (containerPath: string): string => {
      if (containerPath === '/pfs/out' || containerPath.startsWith('/pfs/out/')) return join(outDir, containerPath.slice('/pfs/out'.length))
      if (containerPath.startsWith('/pfs/')) return join(inputsDir, containerPath.slice('/pfs'.length))
      return containerPath
    }
    const pfsPath = (relPath: string): string => {
      try {
        return validatePath(relPath)
      } catch (e) {
        throw new DatumError(`cannot upload file produced by the user code because its name cannot be represented in PFS: ${(e as Error).message}`)
      }
    }
    // what the user code wrote (not what its links point at), removed once everything is read:
    // the next datum then finds /pfs/out empty with no rename to the trash
    const written: string[] = []
    const visit = async (hostDir: string, containerDir: string, rel: string, depth: number, own: boolean): Promise<void> => {
      if (depth > 64) throw new DatumError(`output ${rel || '/'} is nested too deeply (symlink loop?)`)
      for (const name of readdirSync(hostDir).sort()) {
        const host = join(hostDir, name)
        const relPath = `${rel}/${name}`
        const st = lstatSync(host)
        if (own) written.push(host)
        let target = host
        let tst = st
        if (st.isSymbolicLink()) {
          const link = readlinkSync(host)
          const containerTarget = isAbsolute(link) ? link : resolve(`${containerDir}/${name}`, '..', link)
          let real: string
          try {
            real = realpathSync(toHost(containerTarget))
          } catch {
            throw new DatumError(`output ${relPath} is a symlink to ${link}, which does not exist`)
          }
          if (!inside(real)) throw new DatumError(`output ${relPath} is a symlink to ${link}, outside /pfs; it is not followed`)
          target = real
          tst = statSync(real)
        }
        if (tst.isDirectory()) {
          await visit(target, `${containerDir}/${name}`, relPath, depth + 1, own && target === host)
          continue
        }
        const stand = placeholders.get(target)
        if (stand) {
          ops.push({type: 'put', path: pfsPath(relPath), content: {size: stand.size, hash: stand.hash, chunks: stand.chunks, sizes: stand.sizes}})
          continue
        }
        if (!tst.isFile()) throw new DatumError(`cannot upload ${relPath}: not a regular file (devices, FIFOs and sockets are not stored)`)
        const path = pfsPath(relPath)
        let content: FileContent
        if (tst.size <= chunker.minSize) {
          // one chunk: hash in place, no stream machinery (the common case for many small outputs)
          content = smallContent(readFileSync(target), writer)
        } else {
          content = await writeContent(createReadStream(target, {highWaterMark: 1 << 20}), writer, chunker)
        }
        stats.upload_bytes += content.size
        ops.push({type: 'put', path, content})
        if (writer.full) await writer.drain()
      }
    }
    await visit(outDir, '/pfs/out', '', 0, true)
    for (const path of written.reverse()) {
      try {
        unlinkSync(path)
      } catch {
        try {
          rmdirSync(path)
        } catch {
          // left for the next datum's clearOutput
        }
      }
    }
    return ops
  }

  /** The files of an input entry placed at `dest` (host paths), for placeholders. */
  private placeholderFiles(entry: Entry, dest: string): {path: string; entry: FileEntry}[] {
    if (entry.kind === 'file') return [{path: dest, entry}]
    const out: {path: string; entry: FileEntry}[] = []
    for (const [p, e] of this.src.ctx.trees.walk(entry.hash, '/')) if (e.kind === 'file') out.push({path: join(dest, p), entry: e})
    return out
  }
}

/** A datum's input variables: `<name>` (its path under /pfs), `<name>_COMMIT`, PACH_DATUM_<name>_JOIN_ON / _GROUP_BY. */
export function inputEnv(inputs: readonly DatumInput[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const inp of inputs) {
    env[inp.name] = `/pfs/${inp.name}${relOf(inp)}`
    env[`${inp.name}_COMMIT`] = inp.commit
    if (inp.join_on) env[`PACH_DATUM_${inp.name}_JOIN_ON`] = inp.join_on
    if (inp.group_by) env[`PACH_DATUM_${inp.name}_GROUP_BY`] = inp.group_by
  }
  return env
}

/** An input's path below /pfs/<name> ('' for the root; a directory datum's trailing "/" dropped). */
const relOf = (inp: DatumInput): string => (inp.path === '/' ? '' : inp.path.replace(/\/$/, ''))

/** Empty `dir` (all of it, or only `only`), except `keep`: entries are renamed to the trash. */
function clearDir(dir: string, trash: string, keep?: string, only?: string): void {
  let names: string[] = []
  try {
    names = only === undefined ? readdirSync(dir) : [only]
  } catch {
    mkdirSync(dir, {recursive: true})
    return
  }
  for (const n of names) {
    if (n === keep) continue
    try {
      renameSync(join(dir, n), join(trash, `${process.hrtime.bigint()}-${n}`))
    } catch {
      rmSync(join(dir, n), {recursive: true, force: true})
    }
  }
}

/** 0-byte placeholders for an empty_files input. */
function emptyFiles(files: {path: string}[]): void {
  const made = new Set<string>()
  for (const f of files) {
    const dir = dirname(f.path)
    if (!made.has(dir)) mkdirSync(dir, {recursive: true})
    made.add(dir)
    writeFileSync(f.path, '')
  }
}

/** Delete a directory in the background (a native rm, off pach's event loop). */
export function removeLater(dir: string): void {
  const doomed = `${dir}.deleting-${process.pid}-${Date.now()}`
  try {
    renameSync(dir, doomed)
  } catch {
    return
  }
  try {
    const child = nodeChildProcess().spawn('rm', ['-rf', doomed], {stdio: 'ignore', detached: true})
    child.on('error', () => rmSync(doomed, {recursive: true, force: true}))
    child.unref()
  } catch {
    rmSync(doomed, {recursive: true, force: true})
  }
}
