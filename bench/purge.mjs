// Purge over a long history (issue 16 part 1): builds, in-process through the library in dist/,
// a project with repo R: one commit of FILES files under /d plus /secret.jpg, then COMMITS-1
// one-file commits into /d, so /secret.jpg is in every commit and /d (a large prolly
// directory) changes in each. Then times the planner (the dry run) for a path and for a glob
// over /d, and the purge of the path (history rewrite in one transaction + the sweep), medians
// of REPS fresh copies each (the purge changes the project).
//
//   npm run build && node bench/purge.mjs [--commits 500] [--files 5000] [--reps 3] [--work DIR]
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {arg, median} from './lib.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const COMMITS = Number(arg('commits', 500))
const FILES = Number(arg('files', 5000))
const REPS = Number(arg('reps', 3))
const work = path.resolve(arg('work', path.join(root, 'bench', '.work', `purge-${COMMITS}x${FILES}`)))
const {initPach, openPach} = await import(path.join(root, 'dist', 'core', 'pach.js'))
const {parseCommit} = await import(path.join(root, 'dist', 'core', 'pfs', 'refs.js'))
const {planPurge, purge} = await import(path.join(root, 'dist', 'core', 'maintenance', 'purge.js'))

const text = (s) =>
  async function* () {
    yield Buffer.from(s)
  }
fs.rmSync(work, {recursive: true, force: true})
const base = path.join(work, 'base')
fs.mkdirSync(base, {recursive: true})
let t = Date.now()
const pach = initPach(base, {})
pach.repos.create('default', 'R')
const first = Array.from({length: FILES}, (_, i) => ({path: `/d/f${i}`, open: text(`file ${i}\n`)}))
await pach.files.put('default', parseCommit('R@master'), [...first, {path: '/secret.jpg', open: text('SECRET\n')}])
for (let c = 1; c < COMMITS; c++) await pach.files.put('default', parseCommit('R@master'), [{path: `/d/f${c % FILES}`, open: text(`v${c}\n`)}])
pach.close()
console.log(`history: ${COMMITS} commits, ${FILES + 1} files, built in ${((Date.now() - t) / 1000).toFixed(1)} s`)

const req = (pattern) => ({project: 'default', repo: 'R', branch: 'master', pattern})
const plans = {path: [], glob: []}
const purges = []
let counts
for (let r = 0; r < REPS; r++) {
  const dir = path.join(work, `rep${r}`)
  fs.cpSync(base, dir, {recursive: true})
  const p = openPach({cwd: dir})
  t = performance.now()
  const a = planPurge(p.ctx, req('/secret.jpg'))
  plans.path.push(performance.now() - t)
  t = performance.now()
  const g = planPurge(p.ctx, req('/d/f1*'))
  plans.glob.push(performance.now() - t)
  t = performance.now()
  const done = await purge(p.ctx, req('/secret.jpg'))
  purges.push(performance.now() - t)
  counts = {path: a.commits.length, glob: `${g.files.length} file versions in ${g.commits.length} commits`, purged: done.plan.commits.length}
  p.close()
  fs.rmSync(dir, {recursive: true, force: true})
}
const ms = (xs) => `${Math.round(median(xs))} ms`
console.log(`plan of /secret.jpg (${counts.path} commits): ${ms(plans.path)}`)
console.log(`plan of /d/f1* (${counts.glob}): ${ms(plans.glob)}`)
console.log(`purge of /secret.jpg (${counts.purged} commits rewritten, then the sweep): ${ms(purges)}`)
fs.rmSync(work, {recursive: true, force: true})
