/**
 * Datum and job processing stats: times in milliseconds and bytes while a job runs, shown in
 * pachctl's ProcessStats shape (durations as Go duration strings in seconds, "0.0125s").
 * A job's stats are the sum of its processed datums' stats.
 */
import type {ProcessStats} from '../types.js'

export interface Stats {
  download_ms: number
  process_ms: number
  upload_ms: number
  download_bytes: number
  upload_bytes: number
}

export const zeroStats = (): Stats => ({download_ms: 0, process_ms: 0, upload_ms: 0, download_bytes: 0, upload_bytes: 0})

/** Add `b` into `a`. */
export function addStats(a: Stats, b: Stats): void {
  a.download_ms += b.download_ms
  a.process_ms += b.process_ms
  a.upload_ms += b.upload_ms
  a.download_bytes += b.download_bytes
  a.upload_bytes += b.upload_bytes
}

/** Stored stats (possibly partial, e.g. `{}` for a skipped datum) in pachctl's shape. */
export function statsPB(s: Partial<Stats>): ProcessStats {
  const d = (ms = 0) => `${(ms / 1000).toFixed(6).replace(/\.?0+$/, '')}s`
  return {
    download_time: d(s.download_ms),
    process_time: d(s.process_ms),
    upload_time: d(s.upload_ms),
    download_bytes: s.download_bytes ?? 0,
    upload_bytes: s.upload_bytes ?? 0,
  }
}
