#!/usr/bin/env node
// Production entry: oclif dispatches to dist/commands via the shipped manifest.
// oclif's engine check loads semver (~50 modules) on every start; package.json's engines
// field already states the Node version.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const {execute} = await import('@oclif/core')

await execute({dir: import.meta.url})
