/**
 * Go durations (time.ParseDuration), as pipeline specs (`datum_timeout`, `job_timeout`,
 * `maximum_expected_uptime`) and cron "@every" write them.
 *
 * Syntax: an optional sign, then either "0" or one or more `<decimal><unit>` terms ("1h30m",
 * "1.5h", ".5s"), units ns, us (µs, μs), ms, s, m, h; a unit is required on every term.
 * The result is in milliseconds (fractions kept: "1500us" = 1.5).
 *
 * Pure; errors are InvalidArgumentError with code INVALID_DURATION.
 */
import {InvalidArgumentError} from '../errors.js'

const DURATION_UNITS: Record<string, number> = {ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/** Go time.ParseDuration ("30s", "1h30m", "500ms", "1.5h", "-2m", "0") -> milliseconds; throws InvalidArgumentError otherwise. */
export function parseDuration(s: string): number {
  const bad = (): never => {
    throw new InvalidArgumentError('INVALID_DURATION', `invalid duration ${JSON.stringify(s)}`, {
      hint: 'use Go duration syntax such as "30s", "10m", "1h30m" or "500ms"',
    })
  }
  if (typeof s !== 'string') return bad()
  let rest = s
  let sign = 1
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1
    rest = rest.slice(1)
  }
  if (rest === '0') return 0
  if (rest === '') return bad()
  let total = 0
  const re = /^(\d*)(?:\.(\d*))?([^\d.]*)/
  while (rest !== '') {
    const m = re.exec(rest)!
    const [all, int = '', frac, unit = ''] = m
    if (int === '' && (frac === undefined || frac === '')) return bad()
    const factor = DURATION_UNITS[unit]
    if (factor === undefined) return bad()
    total += Number(`${int || '0'}.${frac || '0'}`) * factor
    rest = rest.slice(all.length)
  }
  return sign * total
}
