/**
 * S3 ETag rows (schema 13): a file's content hash → the ETag the S3 gateway reports for it
 * (MD5 hex, or `<hex>-<N>` for a multipart upload). A cache written by the gateway; gc ignores
 * it. Plain synchronous functions, handle first.
 */
import type {DB} from './types.js'
import {st} from './statements.js'

export const getS3Etag = (db: DB, hash: Buffer) => st(db, 'SELECT etag FROM s3_etags WHERE hash = ?').pluck().get(hash) as string | undefined

export const putS3Etag = (db: DB, hash: Buffer, etag: string) => st(db, 'INSERT OR REPLACE INTO s3_etags(hash, etag) VALUES (?, ?)').run(hash, etag)

/** The known ETags of many content hashes at once (one query per 500). */
export function getS3Etags(db: DB, hashes: Buffer[]): [Buffer, string][] {
  const out: [Buffer, string][] = []
  for (let i = 0; i < hashes.length; i += 500) {
    const part = hashes.slice(i, i + 500)
    const rows = db.prepare(`SELECT hash, etag FROM s3_etags WHERE hash IN (${part.map(() => '?').join(',')})`).all(...part) as {hash: Buffer; etag: string}[]
    for (const r of rows) out.push([r.hash, r.etag])
  }
  return out
}

/** Forget a content's ETag (a purge: not even a digest of purged content is kept). */
export const deleteS3Etag = (db: DB, hash: Buffer) => st(db, 'DELETE FROM s3_etags WHERE hash = ?').run(hash)
