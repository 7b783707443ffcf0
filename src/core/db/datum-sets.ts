/**
 * A job's datum set: every datum of the job, in planning order, as one compact blob in
 * `job_datums.list`.
 *
 * Concept: a job stores full rows (`datums`: inputs, stats, output tree) only for the datums it
 * ran. A datum it skipped points at the job that last ran it (`source`), whose row holds the
 * same inputs and output. So finishing a job with 1 changed datum out of 10,000 writes 1 row
 * and one ~800 KB blob, instead of 10,000 rows, and the next job reads one blob instead of
 * 10,000 rows to plan.
 *
 * Entry layout (81 bytes, fixed): datum id (32 bytes, the 64-hex id), datum hash (32 bytes),
 * state (1 byte: index in DATUM_STATES, the order of pachctl's DatumState names we store), source job id (16 bytes, the 32-hex job id).
 * Invariant: the source of an entry is this job itself unless the state is SKIPPED, and the
 * source job's `datums` table has a row for the datum.
 * Encoding a malformed entry is a bug (InternalError); decoding a damaged blob throws
 * CorruptObjectError.
 */
import {CorruptObjectError, InternalError} from '../errors.js'

export const DATUM_STATES = ['SUCCESS', 'SKIPPED', 'FAILED', 'RECOVERED', 'STARTING', 'UNKNOWN'] as const
export type DatumSetState = (typeof DATUM_STATES)[number]

export interface DatumSetEntry {
  id: string
  hash: string
  state: DatumSetState
  /** the job whose `datums` row describes this datum */
  source: string
}

const ENTRY = 32 + 32 + 1 + 16

export function encodeDatumSet(entries: readonly DatumSetEntry[]): Buffer {
  const buf = Buffer.allocUnsafe(entries.length * ENTRY)
  let o = 0
  for (const e of entries) {
    const state = DATUM_STATES.indexOf(e.state)
    if (state < 0 || buf.write(e.id, o, 32, 'hex') !== 32 || buf.write(e.hash, o + 32, 32, 'hex') !== 32 || buf.write(e.source, o + 65, 16, 'hex') !== 16) {
      throw new InternalError(`datum set: bad entry ${JSON.stringify(e)}`)
    }
    buf[o + 64] = state
    o += ENTRY
  }
  return buf
}

export function decodeDatumSet(buf: Buffer): DatumSetEntry[] {
  if (buf.length % ENTRY !== 0) throw new CorruptObjectError(`a job's datum set is damaged: ${buf.length} bytes is not a whole number of entries`)
  const out: DatumSetEntry[] = new Array(buf.length / ENTRY)
  for (let o = 0, i = 0; o < buf.length; o += ENTRY, i++) {
    const state = DATUM_STATES[buf[o + 64]!]
    if (state === undefined) throw new CorruptObjectError(`a job's datum set is damaged: bad state byte ${buf[o + 64]} at entry ${i}`)
    out[i] = {id: buf.toString('hex', o, o + 32), hash: buf.toString('hex', o + 32, o + 64), state, source: buf.toString('hex', o + 65, o + 81)}
  }
  return out
}
