// dist/bundle/index.js (copied here by scripts/bundle.mjs): loads the CommonJS bundle
// pach.cjs through vm.Script with a V8 code cache, and re-exports `main` and `COMMANDS`.
//
// Why: compiling the ~1 MB bundle is most of a cold start (~80 ms of ~220 ms for
// `pach version`); with V8's cached data it takes ~30 ms. Node 20 has no
// module.enableCompileCache (22+), and V8 only takes cached data for scripts, hence CommonJS.
//
// Invariants: the cache file name carries the bundle's size and mtime (V8 itself checks only
// the source length, so a rebuilt bundle must never meet an old cache); a cache V8 rejects
// (another node, other flags) is rewritten; the cache is written to a temp name and renamed
// (many pach processes may start at once); a read-only install just runs without one.
// oclif loads this same module for its "explicit" command discovery (package.json
// oclif.commands.target), so the bundle is evaluated once per process.
import {readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import vm from 'node:vm'

const file = fileURLToPath(new URL('./pach.cjs', import.meta.url))
const source = readFileSync(file, 'utf8')
const st = statSync(file)
const cacheFile = join(dirname(file), `.pach-${st.size}-${Math.floor(st.mtimeMs)}.v8cache`)
let cachedData
try {
  cachedData = readFileSync(cacheFile)
} catch {
  // first start after a build
}
// the bundle's dynamic imports call this (see scripts/bundle.mjs): resolved from this directory
globalThis.__pachImport = (specifier) => import(specifier)
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {filename: file, cachedData})
const mod = {exports: {}}
script.runInThisContext()(mod.exports, createRequire(file), mod, file, dirname(file))
if (!cachedData || script.cachedDataRejected) {
  try {
    const tmp = `${cacheFile}.${process.pid}.tmp`
    writeFileSync(tmp, script.createCachedData())
    renameSync(tmp, cacheFile)
  } catch {
    // read-only install: run without a cache
  }
}

export const {main, COMMANDS} = mod.exports
