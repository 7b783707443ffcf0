/**
 * ETags S3 clients can verify: the MD5 hex of the bytes for a single-part object,
 * `<md5 of the parts' binary MD5s>-<N>` for a multipart upload (Pachyderm reports its own
 * content hash instead, which s3cmd and the AWS Java SDK reject).
 *
 * Where they come from: a PUT or CopyObject through the gateway knows the MD5 (computed while
 * the body streams in) and records it against the file's content hash (core/db/s3-etags.ts);
 * a file written another way (`pach put file`, a pipeline) gets its MD5 computed on its first
 * GET/HEAD — one full read — and recorded, so later reads cost a lookup. Equal content has an
 * equal content hash, so a copy or a re-upload finds its ETag already known.
 * Listings never read file bytes: a file whose MD5 is not known yet is listed with its content
 * hash (64 hex, which no client mistakes for an MD5), so listing 100,000 keys costs one batched
 * lookup per page, not 100,000 reads.
 */
import {createHash} from 'node:crypto'
import {getS3Etag, getS3Etags, putS3Etag} from '../../core/db/s3-etags.js'
import type {Pach} from '../../core/pach.js'
import {readContent} from '../../core/store/content.js'
import type {FileEntry} from '../../core/store/tree-store.js'

const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e'
const MEMO_MAX = 250_000

export class Etags {
  private memo = new Map<string, string>()

  constructor(private readonly pach: Pach) {}

  private remember(key: string, etag: string): void {
    if (this.memo.size >= MEMO_MAX) this.memo.clear()
    this.memo.set(key, etag)
  }

  /** The recorded ETag of a content hash, if any. */
  known(hash: Buffer): string | undefined {
    const key = hash.toString('hex')
    let e = this.memo.get(key)
    if (e === undefined) {
      e = getS3Etag(this.pach.ctx.db, hash)
      if (e !== undefined) this.remember(key, e)
    }
    return e
  }

  record(hash: Buffer, etag: string): void {
    if (this.known(hash) === etag) return
    putS3Etag(this.pach.ctx.db, hash, etag)
    this.remember(hash.toString('hex'), etag)
  }

  /** A file's ETag, computing (and recording) its MD5 when it is not known yet. */
  async of(e: FileEntry): Promise<string> {
    if (e.size === 0) return EMPTY_MD5
    const k = this.known(e.hash)
    if (k) return k
    const md5 = createHash('md5')
    for await (const b of readContent(this.pach.ctx.store, e)) md5.update(b as Buffer)
    const etag = md5.digest('hex')
    this.record(e.hash, etag)
    return etag
  }

  /** ETags for a listing page: the known ones in one query, else the content hash. */
  forListing(entries: FileEntry[]): string[] {
    const missing: Buffer[] = []
    const found = new Map<string, string>()
    for (const e of entries) {
      const key = e.hash.toString('hex')
      const m = this.memo.get(key)
      if (m !== undefined) found.set(key, m)
      else if (e.size > 0) missing.push(e.hash)
    }
    if (missing.length > 0) {
      for (const [hash, etag] of getS3Etags(this.pach.ctx.db, missing)) {
        const key = hash.toString('hex')
        found.set(key, etag)
        this.remember(key, etag)
      }
    }
    return entries.map((e) => (e.size === 0 ? EMPTY_MD5 : (found.get(e.hash.toString('hex')) ?? e.hash.toString('hex'))))
  }
}
