/**
 * Helpers of the purge e2e tests (not a test file itself).
 */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import type {Project} from '../helpers/cli.js'

export const local = {PACH_RUNNER: 'local'}

/** Every file under .pach whose bytes contain `marker` (packs, the database and its WAL). */
export function filesHolding(dir: string, marker: string): string[] {
  const needle = Buffer.from(marker)
  const out: string[] = []
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n)
      if (statSync(p).isDirectory()) walk(p)
      else if (readFileSync(p).includes(needle)) out.push(p)
    }
  }
  walk(join(dir, '.pach'))
  return out
}

export const pipeline = async (p: Project, spec: object) => p.ok(['create', 'pipeline', '-f', '-'], {input: JSON.stringify(spec), env: local})

