// `npm run build`: compile (tsc), bundle (bundle.mjs) and write oclif's manifest into a staging
// directory, then move the result into place — so a linked `pach` keeps working while a build
// runs, and a failed build leaves the previous dist/ untouched.
//
// Staging: .build-<pid>/ beside package.json, on the same filesystem so the moves are renames.
// It is a small plugin root of its own (a copy of package.json, node_modules linked, dist/),
// because `oclif manifest <root>` loads the commands from <root>/dist/bundle and writes
// <root>/oclif.manifest.json.
//
// The swap: dist → .build-<pid>/old, .build-<pid>/dist → dist, then the manifest by one
// rename. A directory cannot be renamed over a non-empty one, so there are two renames and,
// between them, a few microseconds with no dist/; bin/run.js retries its first import once
// for a start that falls into that gap. A process already running has its code loaded (the
// bundle is one file read at start; its dynamic imports are external packages in
// node_modules), so removing the old tree under it is safe.
import {spawnSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const stage = join(root, `.build-${process.pid}`)
const dist = join(root, 'dist')

function step(args) {
  const r = spawnSync(process.execPath, args, {cwd: root, stdio: 'inherit'})
  if (r.status !== 0) {
    rmSync(stage, {recursive: true, force: true})
    process.exit(r.status ?? 1)
  }
}

rmSync(stage, {recursive: true, force: true})
mkdirSync(stage)
copyFileSync(join(root, 'package.json'), join(stage, 'package.json'))
symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'))

step([join(root, 'scripts', 'protos.mjs')])
step([join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--outDir', join(stage, 'dist')])
step([join(root, 'scripts', 'bundle.mjs'), join(stage, 'dist')])
step([join(root, 'node_modules', 'oclif', 'bin', 'run.js'), 'manifest', stage])

// dist/bin holds the single executable (`npm run build:binary`), which this build does not
// make: it moves into the new tree (a rename), so `npm test` after `npm run build:binary`
// (pretest builds) still finds it
try {
  renameSync(join(dist, 'bin'), join(stage, 'dist', 'bin'))
} catch (e) {
  if (e.code !== 'ENOENT') throw e
}
// another build may swap in between our two renames: then move its tree aside too and retry
for (let attempt = 0; ; attempt++) {
  try {
    if (existsSync(dist)) renameSync(dist, join(stage, `old-${attempt}`))
  } catch (e) {
    if (e.code !== 'ENOENT') throw e
  }
  try {
    renameSync(join(stage, 'dist'), dist)
    break
  } catch (e) {
    if ((e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') || attempt >= 5) throw e
  }
}
renameSync(join(stage, 'oclif.manifest.json'), join(root, 'oclif.manifest.json'))
rmSync(stage, {recursive: true, force: true})
