// Shared by scripts/bundle.mjs (the npm package) and scripts/build-binary.mjs (the single
// executable): the commit a build comes from (src/cli/build-info.ts reads it through the
// `__PACH_BUILD__` define) and the generated module text that registers every command.
import {spawnSync} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import {join, relative, sep} from 'node:path'

function git(root, args) {
  const r = spawnSync('git', args, {cwd: root, encoding: 'utf8'})
  return r.status === 0 ? r.stdout.trim() : undefined
}

/** BuildInfo (src/cli/build-info.ts) of the checkout at `root`; empty fields outside git. */
export function gitBuildInfo(root, distribution) {
  const commit = git(root, ['rev-parse', 'HEAD']) ?? ''
  return {
    git_commit: commit,
    git_tree_modified: commit !== '' && (git(root, ['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
    build_date: commit ? git(root, ['log', '-1', '--format=%cI', commit]) ?? '' : '',
    distribution,
  }
}

function commandFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return commandFiles(path)
    return name.endsWith('.js') ? [path] : []
  })
}

/**
 * Module text (resolved from `dist`) that imports every compiled command under
 * dist/commands and exports COMMANDS (oclif's "explicit" discovery: id → class), so adding a
 * command needs no registry edit. Returns the text and the number of commands.
 * `lazy`: each entry is a getter that require()s its module on first use, which esbuild
 * bundles as a module initialised on that first call, so a start evaluates only the command
 * it runs (oclif reads the class of that one command when it has a manifest).
 */
export function commandsModule(dist, {lazy = false} = {}) {
  const commandsDir = join(dist, 'commands')
  const files = commandFiles(commandsDir).sort()
  const id = (file) => relative(commandsDir, file).replace(/\.js$/, '').split(sep).join(':')
  const spec = (file) => `./${relative(dist, file).split(sep).join('/')}`
  if (lazy) {
    const text = [
      'export const COMMANDS = {',
      ...files.map((file) => `  get '${id(file)}'() { return require('${spec(file)}').default },`),
      '}',
    ].join('\n')
    return {text, count: files.length}
  }
  const text = [
    ...files.map((file, i) => `import C${i} from './${relative(dist, file).split(sep).join('/')}'`),
    'export const COMMANDS = {',
    ...files.map((file, i) => `  '${relative(commandsDir, file).replace(/\.js$/, '').split(sep).join(':')}': C${i},`),
    '}',
  ].join('\n')
  return {text, count: files.length}
}
