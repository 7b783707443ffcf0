/**
 * What this pach was built from and how it is distributed, for `pach version`.
 *
 * The bundlers fill it in at build time (esbuild `define` of `__PACH_BUILD__`):
 * scripts/bundle.mjs for the npm package (dist/bundle), scripts/build-binary.mjs for the single
 * executable. The unbundled tsc output (dist/cli, dist/commands: the library and in-process
 * tests) has no define and reports an unknown commit, distributed as the npm package.
 * The commit is `git rev-parse HEAD` of the tree that was built, `git_tree_modified` whether
 * that tree had uncommitted changes to tracked files, `build_date` the commit's date (not the
 * build's, so two builds of one commit are the same bytes).
 */

export interface BuildInfo {
  /** full commit id, '' when built outside a git checkout */
  git_commit: string
  git_tree_modified: boolean
  /** RFC 3339 date of the commit, '' when unknown */
  build_date: string
  distribution: 'binary' | 'npm package'
}

declare const __PACH_BUILD__: BuildInfo | undefined

export function buildInfo(): BuildInfo {
  return typeof __PACH_BUILD__ === 'undefined' ? {git_commit: '', git_tree_modified: false, build_date: '', distribution: 'npm package'} : __PACH_BUILD__
}
