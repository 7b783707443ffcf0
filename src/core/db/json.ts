/**
 * JSON stored in text columns (specs, stats, job details, datum inputs, secrets): written by
 * pach itself, so text that does not parse means the database was damaged, not that the
 * user erred — a CorruptObjectError (exit 12) naming the column, never a crash.
 */
import {CorruptObjectError} from '../errors.js'

/** Parse a stored JSON column; `what` names it in the error ("job p@id stats"). */
export function parseStored<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T
  } catch {
    throw new CorruptObjectError(`stored ${what} is damaged (not JSON)`)
  }
}
