/**
 * Core-level test projects: a fresh `.pach` in a temp dir through the library, closed and
 * removed when the test finishes, and the source `files.put` takes for a string's bytes.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {onTestFinished} from 'vitest'
import {initPach, type Pach} from '../../src/core/pach.js'

export function tempPach(prefix = 'pach-int-', opts: Parameters<typeof initPach>[1] = {}): {pach: Pach; dir: string} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const pach = initPach(dir, opts)
  onTestFinished(() => {
    pach.close()
    rmSync(dir, {recursive: true, force: true})
  })
  return {pach, dir}
}

export const text = (s: string) =>
  async function* () {
    yield Buffer.from(s)
  }
