/**
 * The CLI's entry: oclif's run + flush, with one change to its error path. An unknown
 * command gets one `pach:` line with the closest known command (git's "did you mean"), and
 * exit 2 — the same shape as every other usage error (see base-command.ts); everything else
 * is left to oclif's handler (commands render their own errors in PachCommand.catch).
 */
import {Config, flush, handle, run} from '@oclif/core'
import {printable} from '../core/errors.js'
import {editDistance} from '../core/text/edit-distance.js'

export async function main(bin: string): Promise<void> {
  try {
    await run(process.argv.slice(2), bin)
    await flush()
  } catch (e) {
    const unknown = /^command (.+) not found$/s.exec((e as Error)?.message ?? '')
    if (!unknown) return handle(e as Error)
    const config = await Config.load(bin)
    const typed = unknown[1]!.replace(/:/g, ' ')
    const close = closest(typed, config.commands.filter((c) => !c.hidden).map((c) => c.id.replace(/:/g, ' ')))
    const hint = close ? `did you mean \`pach ${close}\`? ` : ''
    process.stderr.write(`pach: unknown command "${printable(typed)}" (${hint}run \`pach help\` for the list)\n`)
    process.exitCode = 2
  }
}

/** The candidate nearest to `s` by edit distance, if it is near enough to be a typo. */
export function closest(s: string, candidates: string[]): string | undefined {
  let best: string | undefined
  let bestD = Math.max(2, Math.floor(s.length / 4)) + 1
  for (const c of candidates) {
    const d = editDistance(s, c)
    if (d < bestD) [best, bestD] = [c, d]
  }
  return best
}
