/**
 * Tree-store test helpers: a TreeStore over a fresh in-memory database (the current schema),
 * and the content of a one-chunk file made from a string (its blob is not stored: trees only
 * record chunk ids, so tree tests need no pack store).
 */
import Database from 'better-sqlite3'
import {migrate} from '../../src/core/db/migrations.js'
import {contentHash, sha256} from '../../src/core/store/hash.js'
import type {FileContent} from '../../src/core/store/content.js'
import {TreeStore} from '../../src/core/store/tree-store.js'

export function memoryTrees(): TreeStore {
  const db = new Database(':memory:')
  migrate(db, 0)
  return new TreeStore(db)
}

export function content(s: string): FileContent {
  const id = sha256(Buffer.from(s))
  return {size: s.length, hash: contentHash([id]), chunks: [id], sizes: [s.length]}
}
