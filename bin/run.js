#!/usr/bin/env node
// Production entry: oclif dispatches through the bundled build (dist/bundle/pach.cjs, made by
// scripts/bundle.mjs and loaded with a V8 code cache by dist/bundle/index.js) using the
// shipped manifest; commands are found by oclif's "explicit" strategy in the same bundle, so
// a start reads one module instead of hundreds.
// oclif's engine check loads semver on every start; package.json's engines field already
// states the Node version.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
// `npm run build` swaps dist/ in with two renames (scripts/build.mjs): a start that falls
// between them finds no dist/ for a few microseconds and tries once more.
const load = () => import('../dist/bundle/index.js')
const {main} = await load().catch(async (e) => {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e
  await new Promise((r) => setTimeout(r, 200))
  return load()
})

await main(import.meta.url)
