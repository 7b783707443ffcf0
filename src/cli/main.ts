/**
 * The CLI's entry: oclif's run + flush, with one change to its error path. An unknown
 * command gets one `pach:` line and exit 2 — the same shape as every other usage error (see
 * base-command.ts); everything else is left to oclif's handler (commands render their own
 * errors in PachCommand.catch). The line (unknownCommand) is, in order of preference:
 *   - for a pachctl command pach does not have (cli/pachctl.ts), what to use instead; for
 *     one pach has under another name (`validate pipeline`), that command;
 *   - the nearest command (git's "did you mean"), as a whole command line to copy: the
 *     user's own arguments follow it as they were typed;
 *   - for a known verb with an unknown noun, the nouns that verb takes.
 * The user's words are echoed from argv as typed (oclif's command id joins them with ":",
 * which cannot be told apart from the ":" of `repo@branch:/path`).
 */
import {Config, flush, handle, Interfaces, run} from '@oclif/core'
import {printable} from '../core/errors.js'
import {editDistance} from '../core/text/edit-distance.js'
import {pachctlCommand} from './pachctl.js'

/**
 * grpc-js sets the TLS server name to the host even when it is an IP address
 * (`grpcs://10.0.0.5:30650`), and Node warns about that on stderr (DEP0123): two lines of
 * noise around a command's one-line result. The certificate is still checked against the
 * IP. That one warning is dropped; every other warning is left alone.
 */
function dropTlsIpServernameWarning(): void {
  const emit = process.emitWarning
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const opt = rest[0]
    const code = typeof opt === 'object' && opt !== null ? (opt as {code?: string}).code : rest[1]
    if (code === 'DEP0123') return
    return (emit as (...a: unknown[]) => void).call(process, warning, ...rest)
  } as typeof process.emitWarning
}

/** `load`: bin/run.js's URL (oclif finds the package from it), or the binary's options with its root plugin (binary.ts). */
export async function main(load: Interfaces.LoadOptions): Promise<void> {
  dropTlsIpServernameWarning()
  try {
    await run(process.argv.slice(2), load)
    await flush()
  } catch (e) {
    if (!/^command (.+) not found$/s.test((e as Error)?.message ?? '')) return handle(e as Error)
    const config = load instanceof Config ? load : await Config.load(load)
    // oclif lists an alias (`list:repos`) as a command of its own too
    const aliases = new Set(config.commands.flatMap((c) => c.aliases))
    const ids = config.commands
      .filter((c) => !c.hidden && !aliases.has(c.id))
      .flatMap((c) => [c.id, ...c.aliases].map((id) => ({id: id.replace(/:/g, ' '), canonical: c.id.replace(/:/g, ' ')})))
    process.stderr.write(unknownCommand(process.argv.slice(2), ids) + '\n')
    process.exitCode = 2
  }
}

/** A command id (words joined by spaces) and, for an alias, the command it names. */
export interface KnownCommand {
  id: string
  canonical: string
}

/** The one-line answer to an unknown command line `argv` (pure). */
export function unknownCommand(argv: readonly string[], commands: readonly KnownCommand[]): string {
  const words: string[] = []
  for (const a of argv) {
    if (a.startsWith('-')) break
    words.push(a)
  }
  const typed = (n: number) => printable(words.slice(0, Math.max(1, n)).join(' '))
  const pachctl = pachctlCommand(words)
  const n = pachctl?.pachctl.split(' ').length ?? 0
  if (pachctl?.instead) return `pach: \`${typed(n)}\` is a pachctl command pach does not have: ${pachctl.instead}`
  if (pachctl?.pach && pachctl.pach !== pachctl.pachctl) {
    const line = ['pach', pachctl.pach, ...argv.slice(n).map(shellWord)].join(' ')
    return `pach: unknown command "${typed(n)}" (pachctl's \`${pachctl.pachctl}\` is \`pach ${pachctl.pach}\` here: \`${printable(line)}\`)`
  }
  const nounsOf = (verb: string) => [...new Set(commands.filter((c) => c.id === c.canonical && c.id.startsWith(`${verb} `)).map((c) => c.id.split(' ')[1]!))].sort()
  // the verbs (topics) compete too: `pach lis` is nearer `pach list` than `pach logs`
  const verbs = [...new Set(commands.filter((c) => c.id.includes(' ')).map((c) => c.id.split(' ')[0]!))].map((v) => ({id: v, canonical: v}))
  const near = nearestCommand(words, [...commands, ...verbs])
  if (near?.verb) return `pach: unknown command "${typed(1)}" (did you mean \`pach ${near.id}\`? it takes one of: ${nounsOf(near.id).join(', ')})`
  if (near) {
    const line = ['pach', ...near.id.split(' '), ...argv.slice(near.words).map(shellWord)].join(' ')
    return `pach: unknown command "${typed(near.words)}" (did you mean \`${printable(line)}\`?)`
  }
  const nouns = words[0] ? nounsOf(words[0]) : []
  if (nouns.length) return `pach: unknown command "${typed(2)}" (\`pach ${typed(1)}\` takes one of: ${nouns.join(', ')})`
  return `pach: unknown command "${typed(1)}" (run \`pach help\` for the list)`
}

/**
 * The command nearest to the leading words, comparing each command id with as many words as
 * it has: at most max(2, ⌊length/4⌋) edits; the fewest edits win, then the longer command.
 */
function nearestCommand(words: readonly string[], commands: readonly KnownCommand[]): {id: string; words: number; verb: boolean} | undefined {
  let best: {id: string; words: number; d: number; verb: boolean} | undefined
  for (const c of commands) {
    const n = c.id.split(' ').length
    if (n > words.length) continue
    const s = words.slice(0, n).join(' ')
    const d = editDistance(s, c.id)
    if (d > Math.max(2, Math.floor(s.length / 4))) continue
    // a verb alone (`list`) is a topic, not a command: it needs a noun, so typing it exactly is no typo
    const verb = !commands.some((k) => k.id === c.id && k !== c) && commands.some((k) => k.id.startsWith(`${c.id} `))
    if (verb && d === 0) continue
    if (!best || d < best.d || (d === best.d && n > best.words)) best = {id: c.canonical, words: n, d, verb}
  }
  return best
}

/** `w` as a shell word: unchanged when it needs no quoting, else single-quoted. */
function shellWord(w: string): string {
  return /^[\w@%+=:,./^~-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`
}
