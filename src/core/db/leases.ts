/**
 * The `leases` table: which processes may be writing packs that are not indexed yet, and
 * which process runs gc.
 *
 * Row: `id` (random), `kind` ('write' for a pack writer, 'gc' for a collector), the holder's
 * `pid` and `host`, and `started` (ISO time). A row whose process is gone is stale: readers
 * filter it out with `liveLeases` (core/process.ts), nothing here deletes it on its own.
 * Plain functions over the handle; callers that check and insert atomically do so inside
 * their own `withTx`.
 */
import type {DB} from './open.js'
import {st} from './statements.js'

export interface LeaseRow {
  id: string
  kind: string
  pid: number
  host: string
  started: string
}

/** Every lease of `kind`, live or stale. */
export function listLeasesByKind(db: DB, kind: string): LeaseRow[] {
  return st(db, 'SELECT * FROM leases WHERE kind = ?').all(kind) as LeaseRow[]
}

export function insertLease(db: DB, lease: LeaseRow): void {
  st(db, 'INSERT INTO leases(id, kind, pid, host, started) VALUES (?, ?, ?, ?, ?)').run(lease.id, lease.kind, lease.pid, lease.host, lease.started)
}

export function deleteLease(db: DB, id: string): void {
  st(db, 'DELETE FROM leases WHERE id = ?').run(id)
}

/** Drop every lease, live or stale (gc does this inside the transaction that found none live). */
export function deleteAllLeases(db: DB): void {
  db.prepare('DELETE FROM leases').run()
}
