/**
 * pfs_v2's file methods over the core's FileService: ModifyFile (put, delete, copy), GetFile,
 * GetFileTAR, InspectFile, ListFile, WalkFile, GlobFile, DiffFile.
 *
 * ModifyFile: the first message names the commit (`set_commit`, else `first message must be a
 * commit`; a second one is `cannot set commit`); the rest are applied in order as ONE write of
 * the core (`files.put` with `append`), committed only when the client half-closes — so a
 * client that goes away, or a server that is killed, leaves nothing visible. The target is
 * the core's: an open commit takes the writes; a branch whose head is finished (or no branch)
 * gets a one-off commit, started and finished with the writes; an explicit finished commit id
 * is COMMIT_FINISHED. Messages become the core's edits as they arrive, never a whole file in
 * memory: a run of `add_file`s for one path is one source whose stream yields each message's
 * bytes (pachd's add_file appends, so the run is one append); `delete_file` and `copy_file`
 * are edits between sources. The server reads the request stream itself (request-reader.ts):
 * a large add_file (the Python SDK's 19 MiB) is split by `splitAddFile` into its head and its
 * bytes, which reach the store as they arrive, views of the HTTP/2 frames, never joined. An `add_file` with no source (Go) or an empty `raw` (Python)
 * still creates the file: presence is read from the oneof discriminator, never from length.
 * `add_file.url` fetches http(s) URLs here, as pachd does; other schemes are refused.
 *
 * GetFile: the path is a glob that must match exactly one regular file (pachd's texts
 * otherwise, which pachctl rewrites); bytes go out in RESPONSE_CHUNK_BYTES pieces, read from
 * the store as the client takes them (the call wrapper waits for `drain`).
 *
 * GetFileTAR: one tar archive as Go's archive/tar writes it for pachd (`fileset.WriteTarEntry`
 * with `tarutil.NewHeader(path, size)`): for each match, and under a matched directory each
 * descendant, in path order: a USTAR header named by the absolute path (directories end in
 * `/`, typeflag `5`; files `0`), mode/uid/gid/mtime 0, the content padded to 512 bytes; two
 * zero blocks at the end. A name too long for USTAR's prefix split, non-ASCII, or a size of
 * 8 GiB or more gets a PAX record first, as Go does.
 *
 * Listings: ListFile (direct children, or the file itself), WalkFile (the path and everything
 * under it), GlobFile, DiffFile (old side defaults to the new commit's parent). ListFile and
 * WalkFile page as pachd does: `paginationMarker` (exclusive), `number` (0 = all), `reverse`
 * (the last `number` before the marker, newest first).
 */
import type {UntypedServiceImplementation} from '@grpc/grpc-js'
import {posix} from 'node:path'
import {Readable} from 'node:stream'
import {InternalError, InvalidArgumentError, NotFoundError, PachError} from '../../core/errors.js'
import type {CommitRow, RepoRow} from '../../core/db/pfs-rows.js'
import type {PutEdit} from '../../core/pfs/file-service.js'
import {cleanPath} from '../../core/pfs/paths.js'
import {hasGlobChars} from '../../core/pfs/glob.js'
import type {CommitRef} from '../../core/pfs/refs.js'
import {contentBatches} from '../../core/store/content.js'
import type {Entry, FileEntry} from '../../core/store/tree-store.js'
import {repoLabel, type FileInfo} from '../../core/types.js'
import type {CallContext, Handlers} from './call.js'
import {commitOf, fileInfoPB, fileOf, pathOf} from './convert.js'
import {EncodedValue, fileInfoEncoder, type Encoded, type ListedEntry} from './wire.js'
import {RESPONSE_CHUNK_BYTES, serviceDefinition} from './definitions.js'
import type {Request} from './request-reader.js'
import {readVarint, varintLength, writeVarint} from '../../core/store/varint.js'
import type {ServiceDeps} from './deps.js'
import {mustWrite} from './access.js'
import type {ModifyFileRequest__Output as ModifyFileRequest} from '../proto/gen/pfs_v2/ModifyFileRequest.js'
import type {AddFile__Output as AddFile} from '../proto/gen/pfs_v2/AddFile.js'
import type {GetFileRequest__Output as GetFileRequest} from '../proto/gen/pfs_v2/GetFileRequest.js'
import type {InspectFileRequest__Output as InspectFileRequest} from '../proto/gen/pfs_v2/InspectFileRequest.js'
import type {ListFileRequest__Output as ListFileRequest} from '../proto/gen/pfs_v2/ListFileRequest.js'
import type {WalkFileRequest__Output as WalkFileRequest} from '../proto/gen/pfs_v2/WalkFileRequest.js'
import type {GlobFileRequest__Output as GlobFileRequest} from '../proto/gen/pfs_v2/GlobFileRequest.js'
import type {DiffFileRequest__Output as DiffFileRequest} from '../proto/gen/pfs_v2/DiffFileRequest.js'
import type {File__Output as FileMsg} from '../proto/gen/pfs_v2/File.js'

/** pachd's texts (src/server/pfs/pfs.go, api_server.go). */
export const FIRST_MESSAGE_NOT_COMMIT = 'first message must be a commit'
export const SECOND_SET_COMMIT = 'cannot set commit'
export const MATCHED_NON_FILE = 'cannot get directory or non-regular file. Use GetFileTAR instead'
export const MATCHED_MULTIPLE_FILES = 'matched multiple files. Use GetFileTAR instead'

/** The most files one ListFile/WalkFile page may ask for (pachd's limit). */
const MAX_PAGE = 100_000

export function pfsFileMethods(d: ServiceDeps, h: Handlers): UntypedServiceImplementation {
  const files = d.pach.files
  const trees = d.pach.ctx.trees

  /** A commit resolved once, for a read that must see one tree throughout. */
  const resolve = (ref: CommitRef, project: string) => d.pach.engine.resolve.commit(ref, project)

  const notFound = (project: string, repo: RepoRow, commit: CommitRow, path: string) =>
    new NotFoundError('FILE_NOT_FOUND', `file ${path} not found in repo ${repoLabel(repo)} at commit ${commit.id}`, {
      data: {project, repo: repoLabel(repo), commit: commit.id, path},
    })

  /** The entry at a path; the root of an empty commit is an empty directory. */
  const entryAt = (commit: CommitRow, path: string): Entry | undefined =>
    trees.lookup(commit.tree, path) ?? (path === '/' ? {kind: 'dir', name: '', hash: Buffer.alloc(32), size: 0, files: 0} : undefined)

  /** Matches of a GetFile path (a glob, or a literal path) in path order. */
  function* matches(commit: CommitRow, path: string): Generator<[string, Entry]> {
    if (!hasGlobChars(path)) {
      const e = trees.lookup(commit.tree, path)
      if (e) yield [path, e]
      return
    }
    yield* files.globWalk(commit.tree, path)
  }

  return {
    ModifyFile: h.clientStreamSplit('ModifyFile', splitAddFile, async (reqs: AsyncIterable<Request<ModifyFileRequest>>, ctx) => {
      const it = reqs[Symbol.asyncIterator]()
      const first = await it.next()
      if (first.done || !('msg' in first.value) || first.value.msg.body !== 'set_commit') throw new InvalidArgumentError('INVALID_REQUEST', FIRST_MESSAGE_NOT_COMMIT)
      const {ref, project} = commitOf(first.value.msg.set_commit)
      // a spout's token: its own output repo only (access.ts), and then its output branch too
      const writer = mustWrite(ctx, {project, ...ref.repo})
      await files.put(project, ref, modifyEdits(it, ctx), {append: true, signal: ctx.signal, writer})
      d.kick()
      return {}
    }),

    GetFile: h.serverStream('GetFile', async function* (req: GetFileRequest, ctx) {
      refuseExport(req)
      const {ref, project} = fileOf(req.file)
      const {repo, commit} = resolve(ref.commit, project)
      const path = cleanPath(ref.path)
      let found: FileEntry | undefined
      for (const [, e] of matches(commit, path)) {
        if (e.kind !== 'file') throw new InvalidArgumentError('MATCHED_NON_FILE', MATCHED_NON_FILE)
        if (found) throw new InvalidArgumentError('MATCHED_MULTIPLE_FILES', MATCHED_MULTIPLE_FILES)
        found = e
      }
      if (!found) throw notFound(project, repo, commit, path)
      const offset = Math.max(0, Number(req.offset) || 0)
      yield* pieces(blocks(contentBatches(d.pach.ctx.store, found, offset, `file ${path} in ${repoLabel(repo)}@${commit.id}`)), ctx.signal)
    }),

    GetFileTAR: h.serverStream('GetFileTAR', async function* (req: GetFileRequest, ctx) {
      refuseExport(req)
      const {ref, project} = fileOf(req.file)
      const {repo, commit} = resolve(ref.commit, project)
      const path = cleanPath(ref.path)
      const store = d.pach.ctx.store
      function* one(p: string, e: Entry): Generator<Buffer> {
        const name = e.kind === 'dir' ? (p === '/' ? '/' : `${p}/`) : p
        yield* tarHeader(name, e.kind === 'dir' ? 0 : e.size)
        if (e.kind === 'file' && e.size > 0) {
          yield* blocks(contentBatches(store, e, 0, `file ${p} in ${repoLabel(repo)}@${commit.id}`))
          const pad = (BLOCK - (e.size % BLOCK)) % BLOCK
          if (pad) yield Buffer.alloc(pad)
        }
      }
      function* archive(): Generator<Buffer> {
        let any = false
        let inside: string | undefined // the last matched directory: its subtree is written whole
        const top: Iterable<[string, Entry]> = path === '/' ? [['/', entryAt(commit, '/')!]] : matches(commit, path)
        for (const [m, e] of top) {
          if (inside !== undefined && m.startsWith(inside === '/' ? '/' : `${inside}/`)) continue
          any = true
          yield* one(m, e)
          if (e.kind !== 'dir') continue
          inside = m
          for (const [p, x] of trees.walk(commit.tree, m)) yield* one(p, x)
        }
        if (!any) throw notFound(project, repo, commit, path)
        yield Buffer.alloc(2 * BLOCK)
      }
      yield* pieces(archive(), ctx.signal)
    }),

    InspectFile: h.unary('InspectFile', (req: InspectFileRequest) => {
      const {ref, project} = fileOf(req.file)
      return fileInfoPB(files.inspect(project, ref))
    }),

    ListFile: h.serverStream('ListFile', function* (req: ListFileRequest) {
      checkPage(req.number, req.reverse)
      const {ref, project} = fileOf(req.file)
      const {repo, commit} = resolve(ref.commit, project)
      const path = cleanPath(ref.path)
      const at = entryAt(commit, path)
      if (!at) return // pachd lists nothing under a missing path
      const encode = fileInfoEncoder()
      if (at.kind === 'file') return yield* page([files.fileInfo(repo, commit, path, at)], infoPath, encode, req.paginationMarker, req.number, req.reverse)
      if (!commit.tree) return
      // the children straight from the tree, encoded from their entries (what files.list's
      // FileInfos would say: the same commit and time for all, a directory's path ending in /)
      const pb = files.fileInfo(repo, commit, path, at).file.commit
      const base = path === '/' ? '' : path
      const children = function* (): Generator<ListedEntry> {
        for (const e of trees.entries(at.hash)) yield {path: e.kind === 'dir' ? `${base}/${e.name}/` : `${base}/${e.name}`, entry: e}
      }
      yield* page(children(), (x) => x.path, (x) => encode.entry(pb, commit.finished, x), req.paginationMarker, req.number, req.reverse)
    }),

    WalkFile: h.serverStream('WalkFile', function* (req: WalkFileRequest) {
      checkPage(req.number, req.reverse)
      const {ref, project} = fileOf(req.file)
      const {repo, commit} = resolve(ref.commit, project)
      const path = cleanPath(ref.path)
      const at = trees.lookup(commit.tree, path)
      if (!at) {
        if (path === '/') return // an empty commit walks to nothing
        throw notFound(project, repo, commit, path)
      }
      const walk = function* (): Generator<FileInfo> {
        yield files.fileInfo(repo, commit, path, at)
        if (at.kind === 'dir') for (const [p, e] of trees.walk(commit.tree, path)) yield files.fileInfo(repo, commit, p, e)
      }
      yield* page(walk(), infoPath, fileInfoEncoder(), req.paginationMarker, req.number, req.reverse)
    }),

    GlobFile: h.serverStream('GlobFile', function* (req: GlobFileRequest) {
      const {ref, project} = commitOf(req.commit)
      const {repo, commit} = resolve(ref, project)
      const lower = req.path_range?.lower || undefined
      const upper = req.path_range?.upper || undefined
      const encode = fileInfoEncoder()
      for (const [p, e] of files.globWalk(commit.tree, pathOf(req.pattern))) {
        const info = files.fileInfo(repo, commit, p, e)
        if (lower !== undefined && info.file.path < lower) continue
        if (upper !== undefined && info.file.path >= upper) break
        yield encode(info)
      }
    }),

    DiffFile: h.serverStream('DiffFile', function* (req: DiffFileRequest) {
      const n = fileOf(req.new_file)
      const o = req.old_file?.commit ? fileOf(req.old_file) : undefined
      // both sides resolved once: the core diffs these commits, the directories come from them
      const nc = resolve(n.ref.commit, n.project)
      const oc = o ? resolve(o.ref.commit, o.project) : nc.commit.parent ? {repo: nc.repo, commit: d.pach.engine.resolve.commitById(nc.repo, nc.commit.parent)} : undefined
      const newRef = {...n.ref, commit: {repo: n.ref.commit.repo, id: nc.commit.id}}
      const oldRef = o && oc ? {...o.ref, commit: {repo: o.ref.commit.repo, id: oc.commit.id}} : undefined
      const pairs = files.diff(n.project, newRef, oldRef, {shallow: req.shallow, oldProject: o?.project})
      // pachd diffs directories too (a directory differs when anything under it does): each
      // changed path's directories, from the diffed path down, come once, before it
      const newRoot = cleanPath(n.ref.path)
      const oldRoot = o ? cleanPath(o.ref.path) : newRoot
      const isDir = (e: Entry | undefined) => e?.kind === 'dir'
      const rootIsDir = isDir(trees.lookup(nc.commit.tree, newRoot)) || (oc !== undefined && isDir(trees.lookup(oc.commit.tree, oldRoot)))
      const sent = new Set<string>()
      const dirPair = (rel: string) => {
        const np = rel ? (newRoot === '/' ? rel : newRoot + rel) : newRoot
        const op = rel ? (oldRoot === '/' ? rel : oldRoot + rel) : oldRoot
        const ne = trees.lookup(nc.commit.tree, np) ?? (np === '/' ? entryAt(nc.commit, '/') : undefined)
        const oe = oc ? (trees.lookup(oc.commit.tree, op) ?? (op === '/' ? entryAt(oc.commit, '/') : undefined)) : undefined
        return {
          new_file: ne?.kind === 'dir' ? fileInfoPB(files.fileInfo(nc.repo, nc.commit, np, ne)) : null,
          old_file: oe?.kind === 'dir' && oc ? fileInfoPB(files.fileInfo(oc.repo, oc.commit, op, oe)) : null,
        }
      }
      for (const p of pairs) {
        if (rootIsDir) {
          const side = p.new_file ?? p.old_file!
          const root = p.new_file ? newRoot : oldRoot
          const path = cleanPath(side.file.path)
          const rel = root === '/' ? path : path.slice(root.length)
          const parts = rel.split('/').filter(Boolean)
          const own = side.file_type === 'DIR' ? parts.length : parts.length - 1
          for (let i = 0; i <= own; i++) {
            const dir = parts.slice(0, i).map((x) => `/${x}`).join('')
            if (sent.has(dir)) continue
            sent.add(dir)
            if (i < parts.length || side.file_type !== 'DIR') yield dirPair(dir)
          }
          if (side.file_type === 'DIR') {
            yield {new_file: p.new_file ? fileInfoPB(p.new_file) : null, old_file: p.old_file ? fileInfoPB(p.old_file) : null}
            continue
          }
        }
        yield {new_file: p.new_file ? fileInfoPB(p.new_file) : null, old_file: p.old_file ? fileInfoPB(p.old_file) : null}
      }
    }),
  }

  /**
   * The ModifyFile messages after set_commit as the core's edits, in order, pulled as the
   * core consumes them: a run of add_files for one path is one source, its stream the run's
   * bytes; the next edit is handed out only once that stream has been read to its end.
   */
  async function* modifyEdits(it: AsyncIterator<Request<ModifyFileRequest>>, ctx: CallContext): AsyncGenerator<PutEdit> {
    const next = async (): Promise<Msg | undefined> => {
      const r = await it.next()
      if (r.done) {
        // the stream also ends when the client cancels: that is not a half-close
        ctx.signal.throwIfAborted()
        return undefined
      }
      return 'msg' in r.value ? r.value.msg : Object.assign(r.value.streamed.head, {[PAYLOAD]: r.value.payload})
    }
    let msg = await next()
    while (msg) {
      switch (msg.body) {
        case 'add_file': {
          const add = msg.add_file!
          if (add.source === 'url') {
            const url = add.url!.URL
            yield {path: add.path, open: () => fetchUrl(url, ctx.signal)}
            msg = await next()
            break
          }
          // the run: this add_file and the raw/empty ones for the same path right after it
          const head = msg
          const path = add.path
          const continues = (m: Msg | undefined) => m?.body === 'add_file' && m.add_file!.source !== 'url' && m.add_file!.path === path
          // a streamed message's bytes must be read before the next message is: no look ahead
          const second = head[PAYLOAD] ? undefined : await next()
          if (!head[PAYLOAD] && !continues(second)) {
            // a run of one message (most files): its bytes as they are
            const whole = bytesOf(add)
            yield {
              path,
              open: () => ingestSlices(whole),
              readSmall: (limit) => (whole.length <= limit ? whole : undefined),
            }
            msg = second
            break
          }
          let after: Msg | undefined
          let ended = false
          const run = async function* (): AsyncGenerator<Uint8Array> {
            let cur: Msg = head
            let m: Msg | undefined = head[PAYLOAD] ? undefined : second
            for (;;) {
              const streamed = cur[PAYLOAD]
              if (streamed) yield* streamed
              else {
                const bytes = bytesOf(cur.add_file!)
                if (bytes.length > 0) yield* ingestSlices(bytes)
              }
              if (streamed) m = await next()
              if (!continues(m)) break
              cur = m!
              if (!cur[PAYLOAD]) m = await next()
            }
            after = m
            ended = true
          }
          yield {path, open: run}
          if (!ended) throw new InternalError('ModifyFile: a file was not read to its end before the next edit was asked for')
          msg = after
          break
        }
        case 'delete_file':
          yield {delete: pathOf(msg.delete_file!.path)}
          msg = await next()
          break
        case 'copy_file': {
          const c = msg.copy_file!
          const src = fileOf(c.src)
          yield {copy: src.ref, fromProject: src.project, path: pathOf(c.dst), append: c.append}
          msg = await next()
          break
        }
        case 'set_commit':
          throw new InvalidArgumentError('INVALID_REQUEST', SECOND_SET_COMMIT)
        default:
          throw new InvalidArgumentError('INVALID_REQUEST', 'unrecognized message type')
      }
    }
  }
}

/** A ModifyFile message; one that came streamed carries its add_file's bytes under PAYLOAD (its raw is empty). */
const PAYLOAD = Symbol('payload')
type Msg = ModifyFileRequest & {[PAYLOAD]?: AsyncIterable<Buffer>}

const bytesOf = (a: AddFile) => (a.source === 'raw' ? a.raw?.value : undefined) ?? Buffer.alloc(0)

/**
 * ModifyFile's split (request-reader.ts): a message that is one add_file whose last field is
 * its `raw` (a BytesValue with only its value) is decoded up to the value, which then streams.
 * As Python, Go and protobufjs encode it: tag 2 (add_file) | len | [tag 1 path | tag 2 datum]
 * | tag 3 (raw) | len | tag 1 (value) | len | the bytes, to the message's end. Anything else
 * (other fields, another order, a head past the prefix) is decoded whole. The head is decoded
 * by the method's own deserializer, from the same path and datum fields and an empty raw, so
 * it is exactly what the whole message would give, less the bytes.
 */
const modifyFileDeserialize = serviceDefinition('pfs_v2.API').ModifyFile!.requestDeserialize as (b: Buffer) => ModifyFileRequest
export function splitAddFile(prefix: Buffer, length: number): {head: ModifyFileRequest; at: number} | undefined {
  // a length of at most 5 bytes (messages are far below 2^35 bytes), within the prefix
  const varint = (at: number) => readVarint(prefix, at, 5)
  if (prefix[0] !== 0x12) return undefined
  const outer = varint(1)
  if (!outer || outer[1] + outer[0] !== length) return undefined
  const fieldsAt = outer[1]
  let at = fieldsAt
  for (;;) {
    const tag = prefix[at]
    if (tag === 0x0a || tag === 0x12) {
      // path or datum: length-delimited, kept as they are
      const l = varint(at + 1)
      if (!l || l[1] + l[0] > prefix.length) return undefined
      at = l[1] + l[0]
      continue
    }
    if (tag !== 0x1a) return undefined
    const raw = varint(at + 1)
    if (!raw || raw[1] + raw[0] !== length || prefix[raw[1]] !== 0x0a) return undefined
    const value = varint(raw[1] + 1)
    if (!value || value[1] + value[0] !== length) return undefined
    // the head: the same fields, and an empty raw (tag 3, length 0)
    const fields = prefix.subarray(fieldsAt, at)
    const inner = Buffer.concat([fields, Buffer.from([0x1a, 0])])
    const head = Buffer.alloc(1 + varintLength(inner.length) + inner.length)
    head[0] = 0x12
    inner.copy(head, writeVarint(head, 1, inner.length))
    return {head: modifyFileDeserialize(head), at: value[1]}
  }
}

/** GetFile's `URL` (export to object storage) is pachd's Egress path, which pach does not serve. */
function refuseExport(req: GetFileRequest): void {
  if (req.URL) throw new InvalidArgumentError('UNSUPPORTED_URL', `cannot export to ${req.URL}: pach serve does not write to object storage; read the bytes with GetFile or GetFileTAR`)
}

/** An add_file URL source, fetched as pachd does: http(s) only (a server never reads its own files for a client). */
async function* fetchUrl(url: string, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new InvalidArgumentError('UNSUPPORTED_URL', `cannot fetch ${JSON.stringify(url)}: not a URL`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new InvalidArgumentError('UNSUPPORTED_URL', `cannot fetch ${url}: pach serve fetches only http:// and https:// URLs`, {
      hint: 'put the bytes themselves (AddFile.raw), or serve the object over http(s)',
    })
  }
  let res: Response
  try {
    res = await fetch(u, {signal})
  } catch (e) {
    signal.throwIfAborted()
    throw new InvalidArgumentError('FETCH_FAILED', `cannot fetch ${url}: ${(e as Error).message}`)
  }
  if (!res.ok || !res.body) throw new InvalidArgumentError('FETCH_FAILED', `error retrieving content from ${JSON.stringify(url)}: ${res.status} ${res.statusText}`)
  yield* Readable.fromWeb(res.body as never) as AsyncIterable<Uint8Array>
}

/** pachd's paging limits. */
function checkPage(number: number, reverse: boolean): void {
  if (number === 0 && reverse) throw new InvalidArgumentError('INVALID_REQUEST', 'number must be > 0 when reverse is true')
  if (number > MAX_PAGE) throw new InvalidArgumentError('INVALID_REQUEST', `cannot return more than ${MAX_PAGE} files at a time`)
}

/**
 * A page of FileInfos in path order: after the marker (forward) or before it (reverse, newest
 * first, the last `number`), at most `number` (0 = all). The marker compares by clean path.
 */
function* page<T>(items: Iterable<T>, pathOfItem: (t: T) => string, encode: (t: T) => Encoded, marker: FileMsg | null, number: number, reverse: boolean): Generator<Encoded> {
  const mark = marker ? cleanPath(marker.path) : undefined
  const markKey = marker?.path ? pathOf(marker.path) : undefined
  if (!reverse) {
    let left = number > 0 ? number : Infinity
    for (const it of items) {
      if (left <= 0) return
      if (markKey !== undefined) {
        const p = pathOfItem(it)
        if (p < markKey || cleanPath(p) === mark) continue
      }
      left--
      yield encode(it)
    }
    return
  }
  // the last `number` before the marker, kept in a ring
  const ring: T[] = []
  let at = 0
  for (const it of items) {
    const p = pathOfItem(it)
    if (markKey !== undefined && (p >= markKey || cleanPath(p) === mark)) break
    if (ring.length < number) ring.push(it)
    else ring[at] = it
    at = (at + 1) % number
  }
  for (let i = 1; i <= ring.length; i++) yield encode(ring[(at - i + ring.length * 2) % ring.length]!)
}

const infoPath = (f: FileInfo) => f.file.path

/** How much of a request's bytes the store takes between two turns of the event loop. */
const INGEST_SLICE_BYTES = 2 * 1024 * 1024

/**
 * A request's bytes in slices of INGEST_SLICE_BYTES (views, no copy), with a turn of the
 * event loop between slices. The store chunks and hashes synchronously; over a whole 19 MiB
 * message (the Python SDK's size) that is ~50 ms in which the socket is not read, the kernel's
 * buffers fill and the client stops sending. Between slices the server reads what arrived,
 * so the client keeps sending while the store works.
 */
async function* ingestSlices(bytes: Buffer): AsyncGenerator<Uint8Array> {
  if (bytes.length <= INGEST_SLICE_BYTES) {
    if (bytes.length > 0) yield bytes
    return
  }
  for (let at = 0; at < bytes.length; at += INGEST_SLICE_BYTES) {
    if (at > 0) await new Promise<void>((res) => setImmediate(res))
    yield bytes.subarray(at, at + INGEST_SLICE_BYTES)
  }
}

/** The blocks of a file's batches, one by one. */
function* blocks(batches: Iterable<Buffer[]>): Generator<Buffer> {
  for (const b of batches) yield* b
}

/**
 * Bytes as response messages of at most RESPONSE_CHUNK_BYTES: a block of 64 KiB or more (a
 * stored chunk) goes out as it is, cut when larger, without a copy (and written to the socket
 * without one: EncodedValue); smaller ones (tar headers, small files) are gathered into one
 * message. The source is read as the client takes the messages (the call's in-flight bound).
 */
async function* pieces(src: Iterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<EncodedValue> {
  const size = RESPONSE_CHUNK_BYTES
  const alone = 64 * 1024
  let held: Buffer[] = []
  let total = 0
  const flush = () => {
    const value = held.length === 1 ? held[0]! : Buffer.concat(held, total)
    held = []
    total = 0
    return new EncodedValue(value)
  }
  for (const b of src) {
    signal.throwIfAborted()
    const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
    if (buf.length >= alone) {
      if (total > 0) yield flush()
      for (let at = 0; at < buf.length; at += size) yield new EncodedValue(buf.subarray(at, at + size))
      continue
    }
    if (total + buf.length > size) yield flush()
    held.push(buf)
    total += buf.length
  }
  if (total > 0) yield flush()
}

// ------------------------------------------------------------------ tar framing (Go's archive/tar)

const BLOCK = 512
const NAME_SIZE = 100
const PREFIX_SIZE = 155
/** the largest size an 11-digit octal field holds */
const MAX_OCTAL_SIZE = 8 ** 11 - 1

/** Go's splitUSTARPath: a long ASCII name cut at a `/` into prefix (≤155) and name (≤100). */
function splitUstar(name: string): [string, string] | undefined {
  let length = name.length
  if (length <= NAME_SIZE || !isAscii(name)) return undefined
  if (length > PREFIX_SIZE + 1) length = PREFIX_SIZE + 1
  else if (name[length - 1] === '/') length--
  const i = name.lastIndexOf('/', length - 1)
  const nlen = name.length - i - 1
  if (i <= 0 || nlen > NAME_SIZE || nlen === 0 || i > PREFIX_SIZE) return undefined
  return [name.slice(0, i), name.slice(i + 1)]
}

const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s)

/** An octal field as Go writes it: zero-padded digits and a NUL in `width` bytes. */
function octal(block: Buffer, at: number, width: number, v: number): void {
  block.write(v.toString(8).padStart(width - 1, '0'), at, width - 1, 'ascii')
  block[at + width - 1] = 0
}

/** One header block; `magic` marks USTAR/PAX (both write "ustar\0" "00"). */
function headerBlock(name: string, size: number, typeflag: string, prefix = '', devNumbers = true): Buffer {
  const b = Buffer.alloc(BLOCK)
  Buffer.from(name, 'utf8').copy(b, 0, 0, NAME_SIZE)
  octal(b, 100, 8, 0) // mode
  octal(b, 108, 8, 0) // uid
  octal(b, 116, 8, 0) // gid
  octal(b, 124, 12, size > MAX_OCTAL_SIZE ? 0 : size)
  octal(b, 136, 12, 0) // mtime: Go writes the zero time as the epoch
  b.write(typeflag, 156, 1, 'ascii')
  b.write('ustar\x0000', 257, 8, 'ascii')
  if (devNumbers) {
    octal(b, 329, 8, 0) // devmajor
    octal(b, 337, 8, 0) // devminor
  }
  Buffer.from(prefix, 'utf8').copy(b, 345, 0, PREFIX_SIZE)
  b.fill(0x20, 148, 156)
  let sum = 0
  for (const x of b) sum += x
  octal(b, 148, 7, sum)
  b[155] = 0x20
  return b
}

/** A PAX record: "<len> key=value\n", where len counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  let n = Buffer.byteLength(body)
  let len = n + String(n).length
  if (String(len).length !== String(n).length) len = n + String(len).length
  return `${len}${body}`
}

/** The header block(s) for one entry, as Go's tar.Writer.WriteHeader chooses USTAR, else PAX. */
function* tarHeader(name: string, size: number): Generator<Buffer> {
  const typeflag = name.endsWith('/') ? '5' : '0'
  const fits = Buffer.byteLength(name) <= NAME_SIZE && isAscii(name)
  const split = fits ? undefined : splitUstar(name)
  if ((fits || split) && size <= MAX_OCTAL_SIZE) {
    yield split ? headerBlock(split[1], size, typeflag, split[0]) : headerBlock(name, size, typeflag)
    return
  }
  const records: [string, string][] = []
  if (!fits) records.push(['path', name])
  if (size > MAX_OCTAL_SIZE) records.push(['size', String(size)])
  const data = Buffer.from(records.map(([k, v]) => paxRecord(k, v)).join(''), 'utf8')
  // Go: path.Join(path.Split(name) with "PaxHeaders.0" between), ASCII only, ≤ 100, no trailing /
  const slash = name.lastIndexOf('/')
  const paxName = toAscii(posix.join(name.slice(0, slash + 1), 'PaxHeaders.0', name.slice(slash + 1))).slice(0, NAME_SIZE).replace(/\/+$/, '')
  yield headerBlock(paxName, data.length, 'x', '', false)
  yield data
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK
  if (pad) yield Buffer.alloc(pad)
  yield headerBlock(toAscii(name).slice(0, NAME_SIZE), size, typeflag)
}

/** Go's toASCII: drop every non-ASCII character. */
const toAscii = (s: string) => s.replace(/[^\x00-\x7f]/g, '')

