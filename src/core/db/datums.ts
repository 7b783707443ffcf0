/**
 * Datum rows (`datums` table): plain synchronous functions over the handle, as in pfs-rows.ts.
 */
import type {DB} from './types.js'

// maintenance (fsck/gc) reads

/** Every datum's output tree (kept for incremental merges even when no commit holds it whole). */
export function listDatumOutputTrees(db: DB): Buffer[] {
  return db.prepare('SELECT DISTINCT output FROM datums WHERE output IS NOT NULL').pluck().all() as Buffer[]
}
