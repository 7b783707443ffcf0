// The single executable's main script (scripts/build-binary.mjs): compiles the bundle,
// a SEA asset, with the V8 code cache that the build recorded after running a command
// (scripts/sea-train.cjs), then runs it as a CommonJS module.
//
// Why not SEA's own useCodeCache: it caches the bundle as compiled before it ran, i.e. its
// top level only; every function a command calls is then compiled at start (~40 ms). A cache
// taken after a run holds those functions too. It is made by the same node binary the
// executable is a copy of, with the same flags, so V8 accepts it; if it ever did not
// (cachedDataRejected), the bundle still runs, compiled from source.
// The wrapper text must stay identical to sea-train.cjs's: V8 checks the source against the cache.
const sea = require('node:sea')
const vm = require('node:vm')
const {dirname} = require('node:path')

// getRawAsset: the bytes in the executable, not a copy. The bundle is ASCII (esbuild escapes
// the rest), so Buffer's latin1 is one plain copy into a string; sea.getAsset(key, encoding)
// would copy and then run a TextDecoder over 2.6 MB (~15 ms)
const source = Buffer.from(sea.getRawAsset('pach.cjs')).toString('latin1')
const cachedData = Buffer.from(sea.getRawAsset('pach.v8cache'))
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {filename: 'pach.cjs', cachedData})
const mod = {exports: {}}
script.runInThisContext()(mod.exports, require, mod, process.execPath, dirname(process.execPath))
