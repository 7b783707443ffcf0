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
import {loadEmbeddedAddon, type EmbeddedAddon} from './native-addon.js'

/** What the build embeds (scripts/build-binary.mjs). */
export interface Embedded {
  commands: Record<string, Command.Class>
  manifest: Interfaces.Manifest
  pjson: Interfaces.PJSON
  addon: EmbeddedAddon
}

export async function runBinary(embedded: Embedded): Promise<void> {
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
  await plugin.load()
  // options, not a loaded Config: oclif's run() would load a Config it is given a second time
  await main({root, pjson: embedded.pjson, plugins: new Map([[plugin.name, plugin]])})
}
