import {PachCommand} from '../cli/base-command.js'
import {buildInfo, type BuildInfo} from '../cli/build-info.js'

/**
 * `pach version`: the version, the commit it was built from, and whether this is the single
 * executable or the npm package. `--json` keeps the first fields (`pachctl`: pach's version,
 * `node`) and adds pachctl's version-message names (`git_commit`, `git_tree_modified`,
 * `build_date`, `platform`) and `distribution`.
 */
interface VersionInfo extends BuildInfo {
  pachctl: string
  node: string
  /** `<os>-<cpu>`, as in the binary's name (pach-linux-x64) */
  platform: string
}

export default class Version extends PachCommand<typeof Version, VersionInfo> {
  static override summary = 'Print the pach version, the commit it was built from, and whether it is the binary or the npm package.'
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']
  static override needsRepo = false

  async exec(): Promise<VersionInfo> {
    return {pachctl: this.config.version, node: process.version, platform: `${process.platform}-${process.arch}`, ...buildInfo()}
  }

  human(r: VersionInfo) {
    const commit = r.git_commit ? r.git_commit.slice(0, 12) + (r.git_tree_modified ? ' (modified)' : '') : 'unknown'
    return [
      'COMPONENT           VERSION',
      `pach                ${r.pachctl}`,
      `commit              ${commit}`,
      `distribution        ${r.distribution} (${r.platform}, node ${r.node})`,
    ].join('\n')
  }
}
