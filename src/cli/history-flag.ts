/**
 * `--history` for `list file` / `inspect file` (pachctl 1.x's flag): how many versions of each
 * path to show back through its commit's ancestry. A number (-1: all), or pachctl's words
 * `all` (-1) and `none` (0: no history, the plain output).
 */
import {Flags} from '@oclif/core'
import {InvalidArgumentError} from '../core/errors.js'

export const historyFlag = Flags.string({
  description: 'show the last N versions of each path, with the commit that introduced each (-1 or "all": every version)',
  helpValue: 'N|all',
})

/** The flag's value as a number of versions: -1 all, 0 none (also when absent). */
export function parseHistory(value: string | undefined): number {
  if (value === undefined || value === 'none') return 0
  if (value === 'all') return -1
  if (!/^-?\d+$/.test(value) || Number(value) < -1) {
    throw new InvalidArgumentError('USAGE', `--history takes a number of versions, -1 or "all" (got ${JSON.stringify(value)})`, {hint: 'e.g. --history 3, or --history all'})
  }
  return Number(value)
}
