// Build step of scripts/build-binary.mjs: runs the binary's bundle once, the way the single
// executable runs it (sea-main.cjs: the same wrapper, a require that only loads Node
// built-ins, `node:sea` answering from the asset files), and with --cache writes V8's code
// cache of the bundle after the run, which then holds every function that run compiled.
// usage: node sea-train.cjs <bundle> <assets.json> [--cache <out>] -- <pach args…>
const {builtinModules} = require('node:module')
const {readFileSync, writeFileSync} = require('node:fs')
const {dirname} = require('node:path')
const vm = require('node:vm')

const [bundle, assetsFile, ...rest] = process.argv.slice(2)
const sep = rest.indexOf('--')
const cacheOut = rest[0] === '--cache' ? rest[1] : undefined
const assets = JSON.parse(readFileSync(assetsFile, 'utf8'))
const fakeSea = {
  isSea: () => true,
  getAsset(key, encoding) {
    const bytes = readFileSync(assets[key])
    return encoding ? bytes.toString(encoding) : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)
  },
}
function seaRequire(id) {
  if (id === 'node:sea') return fakeSea
  if (!id.startsWith('node:') && !builtinModules.includes(id)) throw new Error(`the single executable cannot require ${id}`)
  return require(id)
}
process.argv = [process.execPath, process.execPath, ...rest.slice(sep + 1)]
const source = readFileSync(bundle, 'latin1')
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {filename: 'pach.cjs'})
if (cacheOut) process.on('exit', () => writeFileSync(cacheOut, script.createCachedData()))
const mod = {exports: {}}
script.runInThisContext()(mod.exports, seaRequire, mod, process.execPath, dirname(process.execPath))
