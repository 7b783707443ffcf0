/**
 * Store index rows: `packs` (one per pack file), `blobs` (where each chunk lives: pack,
 * offset, length) and `trees` (Merkle tree objects, encoded as store/tree-store.ts says).
 * The pack store and the tree store read and write through these functions (statements are
 * cached per connection, so the hot path costs two map lookups). The whole-table reads and
 * the deletes are the ones fsck and gc need.
 * Blob, pack and tree ids are raw 32-byte sha256 digests (Buffer).
 */
import {st} from './statements.js'
import type {DB} from './types.js'

export interface PackRow {
  id: Buffer
  size: number
}

export interface BlobRow {
  id: Buffer
  pack: Buffer
  length: number
}

/** Where a blob lives in its pack. */
export interface BlobLocation {
  pack: Buffer
  offset: number
  length: number
}

export const hasBlob = (db: DB, id: Uint8Array) => st(db, 'SELECT 1 FROM blobs WHERE id = ?').pluck().get(id) !== undefined
export const getBlobLocation = (db: DB, id: Uint8Array) => st(db, 'SELECT pack, offset, length FROM blobs WHERE id = ?').get(id) as BlobLocation | undefined
export const insertPack = (db: DB, id: Uint8Array, size: number, created: string) => st(db, 'INSERT OR IGNORE INTO packs(id, size, created) VALUES (?, ?, ?)').run(id, size, created)
/** Index a blob in a pack; `replace` moves an indexed blob to this pack (repacking). */
export const insertBlob = (db: DB, id: Uint8Array, pack: Uint8Array, offset: number, length: number, replace = false) =>
  st(db, `INSERT OR ${replace ? 'REPLACE' : 'IGNORE'} INTO blobs(id, pack, offset, length) VALUES (?, ?, ?, ?)`).run(id, pack, offset, length)

export const listPacks = (db: DB) => st(db, 'SELECT id, size FROM packs').all() as PackRow[]
export const deletePackRow = (db: DB, id: Buffer) => st(db, 'DELETE FROM packs WHERE id = ?').run(id)

export const listBlobs = (db: DB) => st(db, 'SELECT id, pack, length FROM blobs').all() as BlobRow[]
export const listBlobsInPack = (db: DB, pack: Buffer) => st(db, 'SELECT id, pack, length FROM blobs WHERE pack = ?').all(pack) as BlobRow[]
export const getBlobRow = (db: DB, id: Buffer) => st(db, 'SELECT id, pack, length FROM blobs WHERE id = ?').get(id) as BlobRow | undefined
export const deleteBlobRow = (db: DB, id: Buffer) => st(db, 'DELETE FROM blobs WHERE id = ?').run(id)

export const getTreeData = (db: DB, hash: Buffer) => st(db, 'SELECT data FROM trees WHERE hash = ?').pluck().get(hash) as Buffer | undefined
/** Trees are content addressed: storing one that exists is a no-op. */
export const insertTree = (db: DB, hash: Buffer, data: Buffer) => st(db, 'INSERT OR IGNORE INTO trees(hash, data) VALUES (?, ?)').run(hash, data)
export const hasTree = (db: DB, hash: Buffer) => st(db, 'SELECT 1 FROM trees WHERE hash = ?').pluck().get(hash) !== undefined
export const listTreeHashes = (db: DB) => st(db, 'SELECT hash FROM trees').pluck().all() as Buffer[]
export const deleteTreeRow = (db: DB, hash: Buffer) => st(db, 'DELETE FROM trees WHERE hash = ?').run(hash)
