/**
 * The core's PullSource (src/core/remote/source.ts) over a connected PachdClient: pachd's
 * pfs_v2 calls a pull makes, with pachd's answers reduced to the core's shapes and its failures
 * turned into PachErrors (UNAVAILABLE / DEADLINE_EXCEEDED → REMOTE_UNREACHABLE,
 * UNAUTHENTICATED / PERMISSION_DENIED → REMOTE_AUTH, NOT_FOUND → `undefined` where the
 * interface allows it, anything else → REMOTE_FAILED with pachd's words).
 *
 * The connection and the remote's identity (GetVersion, InspectCluster's deployment id, the
 * token checked) come from connectRemote (src/client/connect.ts); `pullSource` only wraps it.
 */
import {status} from '@grpc/grpc-js'
import type {ResolvedRemote} from '../cli/remotes.js'
import {PachError} from '../core/errors.js'
import type {PullSource, RemoteChange, RemoteCommit, RemoteFile, RemoteIdentity} from '../core/remote/source.js'
import {grpcReason, versionString, type ConnectedRemote} from './connect.js'
import {isGrpcError, type PachdClient} from './pachd-client.js'

/** The core's PullSource over a connected remote (closing the source closes its client). */
export function pullSource(conn: ConnectedRemote, r: ResolvedRemote): PullSource {
  const identity: RemoteIdentity = {
    name: r.name,
    address: r.address,
    deploymentId: conn.deploymentId,
    clusterId: conn.clusterId,
    version: versionString(conn.version),
  }
  return new PachdPullSource(conn.client, identity, r)
}

/** A gRPC failure of a pull's call as a PachError. */
export function remoteError(r: {name: string; address: string}, e: unknown, what: string): PachError {
  if (!isGrpcError(e)) return e instanceof PachError ? e : new PachError('REMOTE_FAILED', `${what} on ${r.name} failed: ${(e as Error)?.message ?? String(e)}`)
  const data = {remote: r.name, address: r.address, grpc_code: e.code}
  if (e.code === status.UNAVAILABLE || e.code === status.DEADLINE_EXCEEDED) {
    return new PachError('REMOTE_UNREACHABLE', `lost pachd at ${r.address} during ${what} (${e.code === status.DEADLINE_EXCEEDED ? "no answer in time" : grpcReason(e, 0)})`, {hint: 'pull again: the commits already pulled are kept', data})
  }
  if (e.code === status.UNAUTHENTICATED || e.code === status.PERMISSION_DENIED) {
    return new PachError('REMOTE_AUTH', `${r.name} refused ${what}: ${e.details}`, {hint: 'log in with `pachctl auth login` for this context', data})
  }
  return new PachError('REMOTE_FAILED', `${r.name} refused ${what}: ${e.details}`, {data})
}

type Ts = {seconds: number | string | {toString(): string}; nanos: number} | null | undefined

function iso(t: Ts): string | undefined {
  if (!t) return undefined
  const ms = Number(t.seconds.toString()) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)
  return ms > 0 ? new Date(ms).toISOString() : undefined
}

const NOT_FOUND = status.NOT_FOUND

class PachdPullSource implements PullSource {
  constructor(private readonly c: PachdClient, readonly remote: RemoteIdentity, private readonly r: {name: string; address: string}) {}

  private repo(project: string, name: string) {
    return {name, type: 'user', project: {name: project}}
  }

  private commit(project: string, repo: string, id: string) {
    return {repo: this.repo(project, repo), id, branch: null}
  }

  private async orUndefined<T>(what: string, p: Promise<T>): Promise<T | undefined> {
    try {
      return await p
    } catch (e) {
      if (isGrpcError(e, NOT_FOUND)) return undefined
      throw remoteError(this.r, e, what)
    }
  }

  private async *guard<T>(what: string, it: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* it
    } catch (e) {
      throw remoteError(this.r, e, what)
    }
  }

  async inspectRepo(project: string, repo: string): Promise<{description: string} | undefined> {
    const info = await this.orUndefined('InspectRepo', this.c.unary(this.c.pfs, 'InspectRepo', {repo: this.repo(project, repo)}))
    return info && {description: info.description}
  }

  async branchHead(project: string, repo: string, branch: string): Promise<string | undefined> {
    const info = await this.orUndefined('InspectBranch', this.c.unary(this.c.pfs, 'InspectBranch', {branch: {repo: this.repo(project, repo), name: branch}}))
    return info?.head?.id || undefined
  }

  async inspectCommit(project: string, repo: string, id: string): Promise<RemoteCommit | undefined> {
    const info = await this.orUndefined('InspectCommit', this.c.unary(this.c.pfs, 'InspectCommit', {commit: this.commit(project, repo, id)}))
    return info && toCommit(info)
  }

  async listCommits(project: string, repo: string, opts: {to: string; from?: string; number?: number}): Promise<RemoteCommit[]> {
    const out: RemoteCommit[] = []
    const req = {
      repo: this.repo(project, repo),
      to: this.commit(project, repo, opts.to),
      ...(opts.from ? {from: this.commit(project, repo, opts.from)} : {}),
      number: opts.number ?? 0,
      all: true,
    }
    try {
      for await (const info of this.c.stream(this.c.pfs, 'ListCommit', req)) out.push(toCommit(info))
    } catch (e) {
      // pachd refuses a `from` it no longer has (squashed or dropped): the whole ancestry, whose
      // oldest commit then does not sit on `from`, tells the core the branch was rewritten
      if (opts.from && isGrpcError(e, NOT_FOUND)) return this.listCommits(project, repo, {to: opts.to, number: opts.number})
      throw remoteError(this.r, e, 'ListCommit')
    }
    return out
  }

  async *diff(project: string, repo: string, commit: string, signal?: AbortSignal): AsyncIterable<RemoteChange> {
    const req = {new_file: {commit: this.commit(project, repo, commit), path: '/'}}
    for await (const d of this.guard('DiffFile', this.c.stream(this.c.pfs, 'DiffFile', req, {signal}))) {
      const n = d.new_file
      const o = d.old_file
      if (n && isFile(n.file_type)) yield {op: 'put', file: toFile(n)}
      else if (o && isFile(o.file_type) && !n) yield {op: 'delete', path: trimPath(o.file?.path ?? '')}
      else if (o && isFile(o.file_type) && n && !isFile(n.file_type)) yield {op: 'delete', path: trimPath(o.file?.path ?? '')}
    }
  }

  async *walk(project: string, repo: string, commit: string, signal?: AbortSignal): AsyncIterable<RemoteFile> {
    const req = {file: {commit: this.commit(project, repo, commit), path: '/'}}
    try {
      for await (const f of this.c.stream(this.c.pfs, 'WalkFile', req, {signal})) if (isFile(f.file_type)) yield toFile(f)
    } catch (e) {
      // an empty commit has no `/` on some pachd versions
      if (isGrpcError(e, NOT_FOUND)) return
      throw remoteError(this.r, e, 'WalkFile')
    }
  }

  async *read(project: string, repo: string, commit: string, path: string, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    const req = {file: {commit: this.commit(project, repo, commit), path}}
    for await (const b of this.guard('GetFile', this.c.stream(this.c.pfs, 'GetFile', req, {signal}))) if (b.value.length) yield b.value
  }

  async *readAll(project: string, repo: string, commit: string, signal?: AbortSignal): AsyncIterable<{path: string; size: number; data: AsyncIterable<Uint8Array>}> {
    const req = {file: {commit: this.commit(project, repo, commit), path: '/'}}
    const frames = (async function* (it: AsyncIterable<{value: Buffer}>) {
      for await (const b of it) if (b.value.length) yield b.value
    })(this.guard('GetFileTAR', this.c.stream(this.c.pfs, 'GetFileTAR', req, {signal})))
    yield* tarEntries(frames, `GetFileTAR of ${repo}@${commit} on ${this.r.name}`)
  }

  close(): void {
    this.c.close()
  }
}

const BLOCK = 512

/** Bytes of a stream of frames, taken by count. */
class ByteQueue {
  private bufs: Buffer[] = []
  private len = 0
  private ended = false

  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  private async fill(n: number): Promise<void> {
    while (this.len < n && !this.ended) {
      const r = await this.it.next()
      if (r.done) this.ended = true
      else if (r.value.length) {
        this.bufs.push(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength))
        this.len += r.value.length
      }
    }
  }

  /** exactly n bytes, or undefined at the end of the stream */
  async take(n: number): Promise<Buffer | undefined> {
    await this.fill(n)
    if (this.len < n) return undefined
    const out = Buffer.allocUnsafe(n)
    let at = 0
    while (at < n) {
      const b = this.bufs[0]!
      const k = Math.min(b.length, n - at)
      b.copy(out, at, 0, k)
      at += k
      if (k === b.length) this.bufs.shift()
      else this.bufs[0] = b.subarray(k)
    }
    this.len -= n
    return out
  }

  /** the next n bytes as they arrive (views of the frames, never copied or reused) */
  async *stream(n: number, onTaken: (k: number) => void): AsyncGenerator<Buffer> {
    let left = n
    while (left > 0) {
      if (this.len === 0) await this.fill(1)
      const b = this.bufs[0]
      if (!b) return
      const piece = b.length <= left ? b : b.subarray(0, left)
      if (piece === b) this.bufs.shift()
      else this.bufs[0] = b.subarray(left)
      this.len -= piece.length
      left -= piece.length
      onTaken(piece.length)
      yield piece
    }
  }
}

const field = (h: Buffer, at: number, len: number) => {
  const raw = h.subarray(at, at + len)
  const nul = raw.indexOf(0)
  return (nul >= 0 ? raw.subarray(0, nul) : raw).toString('utf8')
}

function octal(h: Buffer, at: number, len: number): number {
  if (h[at]! & 0x80) {
    // base-256 (GNU), for sizes of 8 GiB or more
    let v = 0
    for (let i = at + 1; i < at + len; i++) v = v * 256 + h[i]!
    return v
  }
  const t = field(h, at, len).trim()
  return t ? parseInt(t, 8) : 0
}

/** PAX records (`len key=value\n`) → map. */
function paxRecords(b: Buffer): Map<string, string> {
  const out = new Map<string, string>()
  let at = 0
  while (at < b.length) {
    const sp = b.indexOf(0x20, at)
    if (sp < 0) break
    const len = Number(b.subarray(at, sp).toString())
    if (!len) break
    const rec = b.subarray(sp + 1, at + len - 1).toString('utf8')
    const eq = rec.indexOf('=')
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1))
    at += len
  }
  return out
}

/**
 * The regular files of a tar stream as pachd's GetFileTAR writes it (USTAR headers named by
 * absolute path, PAX records for long names and large sizes, directories as `5` entries).
 * An entry's data not read by the consumer is skipped before the next header.
 */
async function* tarEntries(frames: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<{path: string; size: number; data: AsyncIterable<Uint8Array>}> {
  const q = new ByteQueue(frames[Symbol.asyncIterator]())
  const truncated = () => new PachError('REMOTE_FAILED', `${what}: the archive ended early`, {hint: 'pull again'})
  let pax = new Map<string, string>()
  for (;;) {
    const h = await q.take(BLOCK)
    if (!h) throw truncated()
    if (h.every((x) => x === 0)) return
    const type = String.fromCharCode(h[156] || 0x30)
    const prefix = field(h, 345, 155)
    const name = pax.get('path') ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100))
    const size = pax.has('size') ? Number(pax.get('size')) : octal(h, 124, 12)
    const pad = (BLOCK - (size % BLOCK)) % BLOCK
    if (type === 'x' || type === 'g') {
      const body = await q.take(size + pad)
      if (!body) throw truncated()
      if (type === 'x') pax = paxRecords(body.subarray(0, size))
      continue
    }
    pax = new Map()
    let left = size
    if (type === '0' || type === '\0') {
      const path = trimPath(name)
      yield {path, size, data: q.stream(size, (k) => (left -= k))}
    }
    if (left > 0) for await (const _ of q.stream(left, (k) => (left -= k))) void _
    if (left > 0) throw truncated()
    if (pad && !(await q.take(pad))) throw truncated()
  }
}

function isFile(t: unknown): boolean {
  return t === 'FILE' || t === 1
}

function trimPath(p: string): string {
  const s = p.startsWith('/') ? p : `/${p}`
  return s.length > 1 ? s.replace(/\/+$/, '') : s
}

function toFile(f: {file: {path: string} | null; size_bytes: number | string; hash: Buffer}): RemoteFile {
  return {path: trimPath(f.file?.path ?? ''), hash: Buffer.from(f.hash), size: Number(f.size_bytes)}
}

function toCommit(info: {
  commit: {id: string} | null
  parent_commit: {id: string} | null
  description: string
  origin: {kind: unknown} | null
  started: Ts
  finished: Ts
}): RemoteCommit {
  const finished = iso(info.finished)
  return {
    id: info.commit?.id ?? '',
    parent: info.parent_commit?.id || null,
    description: info.description ?? '',
    origin: info.origin?.kind === 'AUTO' || info.origin?.kind === 2 ? 'AUTO' : 'USER',
    started: iso(info.started),
    finished,
    isFinished: finished !== undefined,
  }
}
