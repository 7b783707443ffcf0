// Bundles the CLI into dist/bundle/ (esbuild, ESM, code splitting) for a fast cold start.
//
// Why: an unbundled start resolves and compiles ~400 modules (oclif and its dependencies, our
// core) — about 300 ms of a 480 ms `pach list repo`. One bundle file cuts that to one read and
// one compile. oclif finds the commands through the "explicit" discovery strategy: the bundle
// exports COMMANDS (id → class), generated here from the files under dist/commands so adding a
// command needs no registry edit. Heavy or native dependencies stay external and lazy
// (better-sqlite3's addon, dockerode, ink/react); dynamic imports become separate chunks that
// load only when used.
import {build} from 'esbuild'
import {readdirSync, rmSync, statSync} from 'node:fs'
import {join, relative, sep} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const commandsDir = join(root, 'dist', 'commands')

function commandFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return commandFiles(path)
    return name.endsWith('.js') ? [path] : []
  })
}

const files = commandFiles(commandsDir).sort()
const entry = [
  "export {main} from './cli/main.js'",
  ...files.map((file, i) => `import C${i} from './${relative(join(root, 'dist'), file).split(sep).join('/')}'`),
  'export const COMMANDS = {',
  ...files.map((file, i) => `  '${relative(commandsDir, file).replace(/\.js$/, '').split(sep).join(':')}': C${i},`),
  '}',
].join('\n')

const outdir = join(root, 'dist', 'bundle')
rmSync(outdir, {recursive: true, force: true})
await build({
  stdin: {contents: entry, resolveDir: join(root, 'dist'), sourcefile: 'pach-entry.js', loader: 'js'},
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  entryNames: 'pach',
  chunkNames: 'chunks/[name]-[hash]',
  external: ['typescript', 'ts-node', 'dockerode', 'ink', 'react', 'react/jsx-runtime', 'yaml', 'tar-stream'],
  // oclif and other CommonJS dependencies call require() for node builtins
  banner: {js: "import {createRequire as __pachCreateRequire} from 'node:module'; const require = __pachCreateRequire(import.meta.url);"},
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
})
console.error(`bundle: ${files.length} commands → dist/bundle/pach.js`)

