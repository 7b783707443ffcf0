/**
 * Responses written in wire bytes by hand, for the one place where the generic path costs more
 * than the work itself: a listing's FileInfos (ListFile, WalkFile, GlobFile). Through
 * proto-loader each entry is a plain object that protobufjs converts (`fromObject`) and then
 * encodes, nested message by nested message, ~10 µs an entry, most of a 100,000-file listing.
 * Every entry of a listing names the same commit at the same time, so here the commit and the
 * timestamp are encoded once and each entry adds its path, type, size and hash around them
 * (~1 µs).
 *
 * Invariants:
 * - `Encoded` carries the complete serialized message; the server's serializers pass it
 *   through untouched (server.ts wraps every method's `responseSerialize`), so a handler may
 *   yield either plain objects or Encoded values.
 * - The bytes decode, with the same .proto definitions, to exactly what `fileInfoPB` gives for
 *   the same FileInfo (test/unit/wire.test.ts checks it field by field). Empty strings, zero
 *   numbers and absent messages are left out, as proto3's canonical form does; a decoder fills
 *   them with their defaults.
 */
import type {Entry} from '../../core/store/tree-store.js'
import type {CommitPB, FileInfo, RepoPB} from '../../core/types.js'
import {varintLength, writeVarint} from '../../core/store/varint.js'
import {timestamp} from './convert.js'

/** A message already serialized; the server writes `bytes` as the message. */
export class Encoded {
  constructor(readonly bytes: Buffer) {}
}

/**
 * A `google.protobuf.BytesValue` (GetFile's and GetFileTAR's responses) kept as its parts: the
 * field's head (tag 1, length-delimited, the length) and the value itself, so the server can
 * write the value to the HTTP/2 stream as it is. Through protobufjs and grpc-js each 2 MiB
 * message was copied twice (encoded, then framed), a third of a 1 GiB GetFile's server CPU with
 * the garbage collection of those copies. `bytes()` joins the parts, for the generic path.
 */
export class EncodedValue {
  readonly head: Buffer
  constructor(readonly value: Buffer) {
    this.head = Buffer.allocUnsafe(1 + varintLength(value.length))
    writeVarint(this.head, writeVarint(this.head, 0, tag(1, LEN)), value.length)
  }

  get length(): number {
    return this.head.length + this.value.length
  }

  bytes(): Buffer {
    return Buffer.concat([this.head, this.value], this.length)
  }
}

/** Field tags (field number << 3 | wire type 2, length-delimited; 0 for varints). */
const LEN = 2

const tag = (field: number, wireType: number) => (field << 3) | wireType

/** A length-delimited message built from parts (each part already a complete field). */
class Fields {
  private parts: Buffer[] = []
  private size = 0

  bytes(field: number, b: Buffer | null | undefined): this {
    if (!b || b.length === 0) return this
    const head = Buffer.allocUnsafe(1 + varintLength(b.length))
    writeVarint(head, writeVarint(head, 0, tag(field, LEN)), b.length)
    this.parts.push(head, b)
    this.size += head.length + b.length
    return this
  }

  string(field: number, s: string | null | undefined): this {
    return s ? this.bytes(field, Buffer.from(s, 'utf8')) : this
  }

  varint(field: number, n: number | null | undefined): this {
    if (!n) return this
    const b = Buffer.allocUnsafe(varintLength(tag(field, 0)) + varintLength(n))
    writeVarint(b, writeVarint(b, 0, tag(field, 0)), n)
    this.parts.push(b)
    this.size += b.length
    return this
  }

  done(): Buffer {
    return Buffer.concat(this.parts, this.size)
  }
}

const projectBytes = (name: string) => new Fields().string(1, name).done()
const repoBytes = (r: RepoPB) => new Fields().string(1, r.name).string(2, r.type).bytes(3, projectBytes(r.project?.name ?? '')).done()

function commitBytes(c: CommitPB): Buffer {
  const repo = repoBytes(c.repo)
  const branch = c.branch ? new Fields().bytes(1, repoBytes(c.branch.repo)).string(2, c.branch.name).done() : null
  return new Fields().bytes(1, branch).string(2, c.id).bytes(3, repo).done()
}

const sameRepo = (a: RepoPB, b: RepoPB) => a === b || (a.name === b.name && a.type === b.type && a.project?.name === b.project?.name)

const sameCommit = (a: CommitPB, b: CommitPB) =>
  a === b ||
  (a.id === b.id && sameRepo(a.repo, b.repo) && (a.branch === b.branch || (!!a.branch && !!b.branch && a.branch.name === b.branch.name && sameRepo(a.branch.repo, b.branch.repo))))

const FILE_TYPES: Record<string, number> = {RESERVED: 0, FILE: 1, DIR: 2}

/** A listing's entry before it is a FileInfo: the tree entry at its path (a directory's path ends in `/`). */
export interface ListedEntry {
  path: string
  entry: Entry
}

export interface FileInfoEncoder {
  (f: FileInfo): Encoded
  /**
   * The FileInfo `FileService.fileInfo` would give for a tree entry, encoded straight from the
   * entry: no FileInfo object and no hex round trip of its hash (a listing's hot path).
   */
  entry(commit: CommitPB, committed: string | null, e: ListedEntry): Encoded
}

/**
 * An encoder for the FileInfos of one listing: it keeps the last commit's and the last
 * time's bytes, so a listing of one commit encodes them once.
 */
export function fileInfoEncoder(): FileInfoEncoder {
  let last: CommitPB | undefined
  let commit: Buffer = Buffer.alloc(0)
  let committedIso: string | null | undefined
  let committed: Buffer = Buffer.alloc(0)
  // hash: hex (a FileInfo's) or bytes (a tree entry's)
  const encode = (c: CommitPB, when: string | null, path: string, type: number, size: number, hash: string | Uint8Array | null | undefined): Encoded => {
    if (!last || !sameCommit(c, last)) [last, commit] = [c, commitBytes(c)]
    if (when !== committedIso) {
      committedIso = when
      const t = timestamp(when)
      committed = t ? new Fields().varint(1, t.seconds).varint(2, t.nanos).done() : Buffer.alloc(0)
    }
    const pathLen = Buffer.byteLength(path)
    const hashLen = !hash ? 0 : typeof hash === 'string' ? hash.length >>> 1 : hash.length
    const fileLen = (commit.length ? 1 + varintLength(commit.length) + commit.length : 0) + (pathLen ? 1 + varintLength(pathLen) + pathLen : 0)
    const total =
      1 + varintLength(fileLen) + fileLen +
      (type ? 2 : 0) +
      (committed.length ? 1 + varintLength(committed.length) + committed.length : 0) +
      (size ? 1 + varintLength(size) : 0) +
      (hashLen ? 1 + varintLength(hashLen) + hashLen : 0)
    const buf = Buffer.allocUnsafe(total)
    let pos = 0
    buf[pos++] = tag(1, LEN)
    pos = writeVarint(buf, pos, fileLen)
    if (commit.length) {
      buf[pos++] = tag(1, LEN)
      pos = writeVarint(buf, pos, commit.length)
      pos += commit.copy(buf, pos)
    }
    if (pathLen) {
      buf[pos++] = tag(2, LEN)
      pos = writeVarint(buf, pos, pathLen)
      pos += buf.write(path, pos, pathLen, 'utf8')
    }
    if (type) {
      buf[pos++] = tag(2, 0)
      buf[pos++] = type
    }
    if (committed.length) {
      buf[pos++] = tag(3, LEN)
      pos = writeVarint(buf, pos, committed.length)
      pos += committed.copy(buf, pos)
    }
    if (size) {
      buf[pos++] = tag(4, 0)
      pos = writeVarint(buf, pos, size)
    }
    if (hashLen) {
      buf[pos++] = tag(5, LEN)
      pos = writeVarint(buf, pos, hashLen)
      if (typeof hash === 'string') buf.write(hash, pos, hashLen, 'hex')
      else buf.set(hash!, pos)
    }
    return new Encoded(buf)
  }
  const fn = (f: FileInfo) => encode(f.file.commit, f.committed, f.file.path, FILE_TYPES[f.file_type] ?? 0, f.size_bytes, f.hash)
  return Object.assign(fn, {
    entry: (c: CommitPB, when: string | null, {path, entry}: ListedEntry) => encode(c, when, path, entry.kind === 'file' ? 1 : 2, entry.size, entry.hash),
  })
}
