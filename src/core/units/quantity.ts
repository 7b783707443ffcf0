/**
 * Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity), as pipeline specs
 * write `resource_requests` / `resource_limits` memory and disk: "512Mi", "1Gi", "100M",
 * "1024", "1.5Gi", "1e6".
 *
 * Accepted: an unsigned decimal number (or "+" sign) followed by one binary suffix (Ki Mi Gi
 * Ti Pi Ei, powers of 1024), one decimal suffix (n u m k M G T P E, powers of 1000), or a
 * decimal exponent (e/E). Negative quantities are rejected. The result is in bytes, rounded up
 * to a whole byte (a fractional result within 1e-6 of an integer is rounded to it).
 *
 * Pure; errors are InvalidArgumentError with code INVALID_QUANTITY.
 */
import {InvalidArgumentError} from '../errors.js'

const QUANTITY_RE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/
const QUANTITY_SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
}

/** Kubernetes quantities ("1Gi", "512Mi", "1G", "100M", "1024", "1.5Gi", "1e6") -> bytes (rounded up); throws InvalidArgumentError otherwise. */
export function parseMemory(s: string): number {
  const m = typeof s === 'string' ? QUANTITY_RE.exec(s) : null
  if (m === null) {
    throw new InvalidArgumentError('INVALID_QUANTITY', `invalid quantity ${JSON.stringify(s)}`, {
      hint: 'use a Kubernetes quantity such as "512Mi", "1Gi", "100M" or "1024" (binary suffixes Ki Mi Gi Ti, decimal k M G T)',
    })
  }
  const [, sign, digits, suffix, exp] = m
  if (sign === '-') throw new InvalidArgumentError('INVALID_QUANTITY', `invalid quantity ${JSON.stringify(s)}: must not be negative`)
  const factor = exp !== undefined ? 10 ** Number(exp) : QUANTITY_SUFFIX[suffix ?? '']!
  const bytes = Number(digits) * factor
  const rounded = Math.round(bytes)
  return Math.abs(bytes - rounded) < 1e-6 ? rounded : Math.ceil(bytes)
}
