#!/usr/bin/env node
// Production entry: oclif dispatches through the bundled build (dist/bundle/pach.cjs, made by
// scripts/bundle.mjs and loaded with a V8 code cache by dist/bundle/index.js) using the
// shipped manifest; commands are found by oclif's "explicit" strategy in the same bundle, so
// a start reads one module instead of hundreds.
// oclif's engine check loads semver on every start; package.json's engines field already
// states the Node version.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const {main} = await import('../dist/bundle/index.js')

await main(import.meta.url)
