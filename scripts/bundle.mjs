// Bundles the CLI into dist/bundle/ (esbuild, one CommonJS file plus an ESM loader that
// compiles it with a V8 code cache, see bundle-loader.mjs) for a fast cold start.
//
// Why: an unbundled start resolves and compiles ~400 modules (oclif and its dependencies, our
// core) — about 300 ms of a 480 ms `pach list repo`. One bundle file cuts that to one read and
// one compile. oclif finds the commands through the "explicit" discovery strategy: the bundle
// exports COMMANDS (id → class), generated here from the files under dist/commands so adding a
// command needs no registry edit. Heavy or native dependencies stay external and lazy
// (better-sqlite3's addon, dockerode, gRPC for `pach serve`, ink and React for `pach top`); our own dynamic imports stay lazy (esbuild
// wraps each such module in an init function run on first import).
import {build} from 'esbuild'
import {copyFileSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {commandsModule, gitBuildInfo} from './build-info.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
// the compiled tree to bundle (scripts/build.mjs passes its staging copy; default ./dist)
const dist = process.argv[2] ? resolve(process.argv[2]) : join(root, 'dist')

const commands = commandsModule(dist)
const entry = ["export {main} from './cli/main.js'", commands.text].join('\n')

const outdir = join(dist, 'bundle')
rmSync(outdir, {recursive: true, force: true})
await build({
  stdin: {contents: entry, resolveDir: dist, sourcefile: 'pach-entry.js', loader: 'js'},
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outfile: join(outdir, 'pach.cjs'),
  external: ['typescript', 'ts-node', 'dockerode', 'yaml', 'tar-stream', '@grpc/grpc-js', '@grpc/proto-loader', 'ink', 'react'],
  // modules that locate files relative to themselves (createRequire(import.meta.url)) get the
  // bundle's own URL; __PACH_BUILD__ is the commit it is built from (src/cli/build-info.ts)
  define: {'import.meta.url': '__pachBundleUrl', __PACH_BUILD__: JSON.stringify(gitBuildInfo(root, 'npm package'))},
  banner: {js: "const __pachBundleUrl = require('node:url').pathToFileURL(__filename).href;"},
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
})
// import() inside a vm.Script compiled from V8 cached data fails on Node 20 (the dynamic
// import callback is not restored with the cache), so the bundle's dynamic imports (externals
// such as dockerode, yaml, tar-stream, and oclif's loading of plugins) go through
// __pachImport, a real import() in the ESM loader (same directory, so same resolution).
// `import()` followed directly by ")" is text in a message, not a call, and is left alone.
const cjs = join(outdir, 'pach.cjs')
let calls = 0
const code = readFileSync(cjs, 'utf8').replace(/(?<![\w$.])import\((?!\))/g, () => {
  calls++
  return '__pachImport('
})
writeFileSync(cjs, code)
copyFileSync(join(root, 'scripts', 'bundle-loader.mjs'), join(outdir, 'index.js'))
console.error(`bundle: ${commands.count} commands → ${relative(root, outdir)}/pach.cjs (${calls} dynamic imports routed through the loader) + index.js`)

