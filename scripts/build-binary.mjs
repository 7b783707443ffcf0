// `npm run build:binary` (`npm run build`, then this script): pach as one executable file,
// dist/bin/pach-<os>-<cpu> (+ .sha256 in `sha256sum` format), a Node single-executable
// application (SEA, node --experimental-sea-config; postject injects the blob into a copy of
// the node running this script). Takes a few seconds.
//
// What goes in (see src/cli/binary.ts for how it is read back):
//   - the main script scripts/sea-main.cjs, which compiles and runs the bundle (an asset);
//   - one CommonJS bundle of src/cli/binary.ts, every command, package.json's oclif section
//     and oclif.manifest.json, with every dependency bundled in (the npm bundle keeps
//     dockerode, yaml and tar-stream external and lazy; the binary has no node_modules).
//     The SEA main script can only require Node built-ins, so the build fails if any other
//     external require or import() is left in it. Our modules' createRequire(import.meta.url)
//     is served by a shim (scripts/sea-module-shim.cjs) that hands out the bundled packages,
//     and `debug` (oclif's logger) by sea-debug-shim.cjs, which sets the real one up only
//     when DEBUG is set. The commands are getters (build-info.mjs, lazy): a start evaluates
//     the one it runs. Their ids come sorted as oclif sorts them (binary.ts inKnownOrder);
//   - the V8 code cache of that bundle, taken after it ran `list repo` in a scratch project
//     (scripts/sea-train.cjs), so a start compiles neither the bundle nor the functions a
//     command calls (SEA's own useCodeCache only holds the top level; see sea-main.cjs);
//   - better-sqlite3's addon (node_modules/better-sqlite3/build/Release) as an asset, with its
//     sha256 and size recorded in the bundle (native-addon.ts checks them on extraction).
//
// The result is built under dist/bin/.build-<pid>/ and renamed into place, so a failed build
// leaves the previous binary as it was.
import {build} from 'esbuild'
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {commandsModule, gitBuildInfo} from './build-info.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = join(root, 'dist')
const outDir = join(dist, 'bin')
const name = `pach-${process.platform}-${process.arch}`
const started = performance.now()

class BuildError extends Error {}
function fail(message) {
  throw new BuildError(message)
}

try {
  await buildBinary()
} catch (e) {
  if (!(e instanceof BuildError)) throw e
  console.error(`build:binary: ${e.message}`)
  process.exitCode = 1
}

async function buildBinary() {
const manifestFile = join(root, 'oclif.manifest.json')
if (!existsSync(join(dist, 'cli', 'binary.js')) || !existsSync(manifestFile)) fail('no dist/ to package: run `npm run build` first')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const require = createRequire(import.meta.url)
const addonFile = join(require.resolve('better-sqlite3/package.json').replace(/package\.json$/, ''), 'build', 'Release', 'better_sqlite3.node')
if (!existsSync(addonFile)) fail(`${addonFile} is missing: install dependencies with \`npm ci\``)
const addonBytes = readFileSync(addonFile)
const addon = {
  asset: 'better_sqlite3.node',
  name: 'better_sqlite3.node',
  sha256: createHash('sha256').update(addonBytes).digest('hex'),
  size: addonBytes.length,
  version: pkg.version,
}

const stage = join(outDir, `.build-${process.pid}`)
rmSync(stage, {recursive: true, force: true})
mkdirSync(stage, {recursive: true})
try {
  const commands = commandsModule(dist, {lazy: true})
  // only what oclif reads of package.json
  const pjson = {name: pkg.name, version: pkg.version, description: pkg.description, type: pkg.type, oclif: pkg.oclif}
  // oclif's sort of the commands, done here (src/cli/binary.ts inKnownOrder)
  const order = Object.keys(JSON.parse(readFileSync(manifestFile, 'utf8')).commands).sort((a, b) => a.localeCompare(b, 'en'))
  const entry = [
    "import {runBinary} from './cli/binary.js'",
    `import manifest from ${JSON.stringify(manifestFile)}`,
    commands.text,
    `runBinary({commands: COMMANDS, manifest, pjson: ${JSON.stringify(pjson)}, addon: ${JSON.stringify(addon)}, order: ${JSON.stringify(order)}})`,
  ].join('\n')

  const shim = join(root, 'scripts', 'sea-module-shim.cjs')
  const bundle = join(stage, 'pach-sea.cjs')
  const result = await build({
    stdin: {contents: entry, resolveDir: dist, sourcefile: 'pach-binary-entry.js', loader: 'js'},
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    outfile: bundle,
    // oclif loads these only to run TypeScript sources in development; ssh2 (under dockerode)
    // tries its optional native crypto addon and falls back to JavaScript
    external: ['typescript', 'ts-node', '*.node'],
    define: {'import.meta.url': '__pachBundleUrl', __PACH_BUILD__: JSON.stringify(gitBuildInfo(root, 'binary'))},
    // before any module runs: oclif's index checks the engine at load (bin/run.js sets the
    // same), by a require of its package.json that the SEA's require refuses with a warning
    banner: {js: "process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'; const __pachBundleUrl = require('node:url').pathToFileURL(process.execPath).href;"},
    plugins: [
      {
        // our modules' createRequire(import.meta.url) → the shim (bundled packages, then Node's)
        name: 'pach-module-shim',
        setup(b) {
          b.onResolve({filter: /^(node:)?module$/}, (args) => (args.importer.startsWith(dist) ? {path: shim} : undefined))
          // `debug` → sea-debug-shim.cjs (the real one only when DEBUG is set)
          b.onResolve({filter: /^debug$/}, () => ({path: join(root, 'scripts', 'sea-debug-shim.cjs')}))
          // ink's React devtools bridge (only with DEV=true; react-devtools-core and ws with
          // their optional addons): not in the binary, DEV=true then connects nothing
          b.onResolve({filter: /^\.\/devtools$/}, (args) => (/[\\/]ink[\\/]build[\\/]/.test(args.importer) ? {path: 'ink-devtools', namespace: 'pach-empty'} : undefined))
          b.onLoad({filter: /.*/, namespace: 'pach-empty'}, () => ({contents: 'module.exports = {}', loader: 'js'}))
        },
      },
    ],
    metafile: true,
    // sea-main.cjs reads it as latin1
    charset: 'ascii',
    legalComments: 'none',
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
  })
  // what the SEA main script would try to load from disk: nothing but Node built-ins may remain
  // fdir (under oclif's tinyglobby) probes for an optional picomatch in a try/catch at load;
  // tinyglobby hands it its own bundled copy
  const probe = (i, input) => i.kind === 'require-resolve' && i.path === 'picomatch' && input.includes('/fdir/')
  const builtin = (path) => path.startsWith('node:') || require('node:module').builtinModules.includes(path)
  const external = Object.entries(result.metafile.inputs).flatMap(([input, {imports}]) =>
    imports
      .filter((i) => i.external && !probe(i, input) && !i.path.startsWith('<define:') && !builtin(i.path) && !['typescript', 'ts-node'].includes(i.path) && !i.path.endsWith('.node'))
      .map((i) => `${i.kind} ${i.path} (in ${input})`),
  )
  if (external.length) fail(`the binary's bundle still loads from disk: ${[...new Set(external)].join(', ')}`)

  // the V8 code cache, taken after `list repo` ran in a scratch project (see sea-main.cjs)
  const cache = join(stage, 'pach.v8cache')
  const assets = {'pach.cjs': bundle, [addon.asset]: addonFile}
  writeFileSync(join(stage, 'assets.json'), JSON.stringify(assets))
  const project = join(stage, 'project')
  mkdirSync(project)
  const train = (args, cacheArgs = []) => {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'sea-train.cjs'), bundle, join(stage, 'assets.json'), ...cacheArgs, '--', ...args], {
      cwd: project,
      encoding: 'utf8',
      env: {...process.env, XDG_CACHE_HOME: join(stage, 'cache'), PACH_DETACH: '1'},
    })
    if (r.status !== 0) fail(`the bundle failed to run \`pach ${args.join(' ')}\`:\n${r.stdout}${r.stderr}`)
  }
  train(['init'])
  train(['create', 'repo', 'train'])
  train(['list', 'repo'], ['--cache', cache])
  assets['pach.v8cache'] = cache

  const blob = join(stage, 'sea.blob')
  const seaConfig = join(stage, 'sea-config.json')
  const main = join(root, 'scripts', 'sea-main.cjs')
  writeFileSync(seaConfig, JSON.stringify({main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false, useSnapshot: false, assets}))
  const sea = spawnSync(process.execPath, ['--experimental-sea-config', seaConfig], {encoding: 'utf8'})
  if (sea.status !== 0) fail(`node --experimental-sea-config failed:\n${sea.stdout}${sea.stderr}`)

  const exe = join(stage, name)
  copyFileSync(process.execPath, exe)
  chmodSync(exe, 0o755)
  const {inject} = require('postject')
  // postject logs its progress, and LIEF its warnings about node's unnamed note sections, on
  // the console: kept, and shown only if the injection fails
  const saved = {log: console.log, warn: console.warn, error: console.error}
  const said = []
  console.log = console.warn = console.error = (...args) => said.push(args.join(' '))
  try {
    await inject(exe, 'NODE_SEA_BLOB', readFileSync(blob), {sentinelFuse: 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'})
  } catch (e) {
    Object.assign(console, saved)
    fail(`postject failed: ${e.message}\n${said.join('\n')}`)
  } finally {
    Object.assign(console, saved)
  }
  const sha256 = createHash('sha256').update(readFileSync(exe)).digest('hex')
  writeFileSync(join(stage, `${name}.sha256`), `${sha256}  ${name}\n`)
  renameSync(exe, join(outDir, name))
  renameSync(join(stage, `${name}.sha256`), join(outDir, `${name}.sha256`))
  const mib = (statSync(join(outDir, name)).size / 2 ** 20).toFixed(1)
  console.error(`build:binary: ${relative(root, join(outDir, name))} (${mib} MiB, ${commands.count} commands, sha256 ${sha256.slice(0, 12)}…) in ${((performance.now() - started) / 1000).toFixed(1)} s`)
} finally {
  rmSync(stage, {recursive: true, force: true})
}
}
