/**
 * Human sizes as docker/go-units FromHumanSize reads them, which is what Pachyderm's branch
 * triggers use for `size` ("1K" = 1000 bytes, "100MB", "1.5G", "10 kib").
 *
 * Decimal multipliers only (k M G T P = 10^3 … 10^15, case-insensitive); an "i" and/or "b"
 * after the multiplier is accepted and changes nothing ("1KiB" = 1000, as in go-units); one
 * optional space between number and unit. The result is floored to whole bytes. A number
 * with more than one dot ("1.2.3") matches go-units' pattern but is not a float: rejected.
 *
 * Pure; its only caller is branch triggers (pfs/trigger.ts), so the error is
 * InvalidArgumentError with code INVALID_TRIGGER ("invalid trigger size").
 */
import {InvalidArgumentError} from '../errors.js'

/** docker/go-units FromHumanSize: decimal multipliers; "i" and "b" suffixes accepted. */
export function parseHumanSize(s: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s.trim())
  if (!m) throw new InvalidArgumentError('INVALID_TRIGGER', `invalid trigger size ${JSON.stringify(s)}`, {hint: 'use a size such as "100M", "1.5G" or "500KB"'})
  const n = Number(m[1])
  // the pattern admits "1.2.3" (as go-units' does), which go-units then fails to parse as a float
  if (!Number.isFinite(n)) throw new InvalidArgumentError('INVALID_TRIGGER', `invalid trigger size ${JSON.stringify(s)}`, {hint: 'use a size such as "100M", "1.5G" or "500KB"'})
  const mult: Record<string, number> = {k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15}
  return Math.floor(n * (m[2] ? mult[m[2].toLowerCase()]! : 1))
}
