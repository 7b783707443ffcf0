/**
 * The single executable's entry (pach-<os>-<cpu>, built by scripts/build-binary.mjs as a Node
 * single-executable application). The npm package starts from bin/run.js and lets oclif find
 * its package.json, oclif.manifest.json and command bundle on disk; the binary has no files
 * beside it, so everything a start reads comes from inside it:
 *   - package.json (the oclif section, name, version) and oclif's manifest: embedded in the
 *     bundle as data by the build;
 *   - the commands: the same COMMANDS map the npm bundle exports, handed to oclif's root
 *     plugin directly (oclif would otherwise read <root>/oclif.manifest.json and import the
 *     "explicit" target file: the two reads its Plugin does from disk);
 *   - better-sqlite3's native addon: a SEA asset written once to a per-version cache
 *     directory and loaded from there (native-addon.ts), on the first database open.
 * The rest of the bundle reads nothing of its own from disk (yaml, dockerode and tar-stream
 * are bundled in; scripts/build-binary.mjs checks that no external import is left).
 *
 * oclif's Plugin has no public way to take a manifest or a command map, so the two private
 * steps (`_manifest`, `commandCache`) are set on the instance; the binary's e2e suite
 * (test/e2e/binary.test.ts) fails if an oclif upgrade changes them.
 */
import {Command, Interfaces, Plugin} from '@oclif/core'
import {getAsset} from 'node:sea'
import {dirname} from 'node:path'
import {provideNativeBinding} from '../core/db/open.js'
import {main} from './main.js'
import {runRelayFromEnv} from '../runner/local-endpoint.js'
import {loadEmbeddedAddon, type EmbeddedAddon} from './native-addon.js'

/** What the build embeds (scripts/build-binary.mjs). */
export interface Embedded {
  commands: Record<string, Command.Class>
  manifest: Interfaces.Manifest
  pjson: Interfaces.PJSON
  addon: EmbeddedAddon
  /** the manifest's command ids sorted by localeCompare in the `en` locale (ICU's root order) */
  order: string[]
}

export async function runBinary(embedded: Embedded): Promise<void> {
  // started by the local runner as an s3 job's sandbox relay (runner/local-endpoint.ts), not as the CLI
  if (runRelayFromEnv()) return
  provideNativeBinding(() => loadEmbeddedAddon(embedded.addon, (key) => getAsset(key)))
  const root = dirname(process.execPath)
  const plugin = new Plugin({root, pjson: embedded.pjson, isRoot: true})
  Object.assign(plugin, {
    commandCache: embedded.commands,
    async _manifest() {
      plugin.hasManifest = true
      Object.assign(plugin, {commandIDs: Object.keys(embedded.manifest.commands)})
      return embedded.manifest
    },
  })
  await inKnownOrder(embedded.order, () => plugin.load())
  // options, not a loaded Config: oclif's run() would load a Config it is given a second time
  await main({root, pjson: embedded.pjson, plugins: new Map([[plugin.name, plugin]])})
}

/**
 * Runs `fn` (oclif's Plugin.load, which sorts the commands with localeCompare) with
 * localeCompare answering from `order` for two of its ids. A process's first localeCompare
 * builds ICU's collator (~7 ms, a twentieth of a start) and nothing else in a command needs
 * ICU. The order is the one ICU gives in the root collation, which is what the C, POSIX and
 * English locales use; under any other locale (LC_ALL, LC_COLLATE, LANG), or for any other
 * strings or arguments, the real localeCompare answers.
 */
async function inKnownOrder<T>(order: readonly string[], fn: () => Promise<T>): Promise<T> {
  const locale = process.env.LC_ALL || process.env.LC_COLLATE || process.env.LANG || 'C'
  if (!/^(C|POSIX|en)([._@-]|$)/.test(locale)) return fn()
  const rank = new Map(order.map((id, i) => [id, i]))
  const real = String.prototype.localeCompare
  String.prototype.localeCompare = function (this: string, that: string, ...rest: unknown[]): number {
    const a = rank.get(String(this))
    const b = rank.get(that)
    return a === undefined || b === undefined || rest.length > 0 ? real.call(this, that, ...(rest as [])) : a - b
  }
  try {
    return await fn()
  } finally {
    String.prototype.localeCompare = real
  }
}
