/**
 * Store index rows: `packs` (one per pack file), `blobs` (where each chunk lives: pack,
 * offset, length) and `trees` (Merkle tree objects, see store/tree-store.ts). The pack store
 * and the tree store write these through their own cached statements on the hot path; the
 * functions here are the whole-table reads and the deletes that fsck and gc need.
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

export const listPacks = (db: DB) => st(db, 'SELECT id, size FROM packs').all() as PackRow[]
export const deletePackRow = (db: DB, id: Buffer) => st(db, 'DELETE FROM packs WHERE id = ?').run(id)

export const listBlobs = (db: DB) => st(db, 'SELECT id, pack, length FROM blobs').all() as BlobRow[]
export const listBlobsInPack = (db: DB, pack: Buffer) => st(db, 'SELECT id, pack, length FROM blobs WHERE pack = ?').all(pack) as BlobRow[]
export const getBlobRow = (db: DB, id: Buffer) => st(db, 'SELECT id, pack, length FROM blobs WHERE id = ?').get(id) as BlobRow | undefined
export const deleteBlobRow = (db: DB, id: Buffer) => st(db, 'DELETE FROM blobs WHERE id = ?').run(id)

export const listTreeHashes = (db: DB) => st(db, 'SELECT hash FROM trees').pluck().all() as Buffer[]
export const deleteTreeRow = (db: DB, hash: Buffer) => st(db, 'DELETE FROM trees WHERE hash = ?').run(hash)
