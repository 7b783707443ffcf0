#!/usr/bin/env node
// Crash torture, large run: SIGKILL pach at seeded random moments (test/torture/crash.ts).
//
//   node bench/torture.mjs --kills 200 --seed 1 [--scenarios put-large,gc] [--docker auto|on|off]
//                          [--work DIR] [--point N] [--quick] [--keep-failures]
//
// --kills N      SIGKILLs that must hit a live pach (kills landing after the victim exited
//                are re-drawn; default 200)
// --seed S       fixes scenarios, data, modes, recovery choices and kill delays (default 1)
// --scenarios    comma list (put-large, put-many, finish-commit, job-local, job-docker,
//                squash-delete, gc, purge); default all
// --docker       auto (default): the docker scenario runs when `docker info` answers and the
//                test image exists; on: required; off: never
// --point N      re-run kill point N of this seed alone (after the calibration runs)
// --quick        the smaller data of the CI test (put-large 8-12 MiB, put-many 1,000-1,500 files)
// --work DIR     scratch dir (default bench/.work/torture); results.json is written there
//
// Progress goes to stderr, one line per kill point; stdout gets the summary line, e.g.
//   crash torture seed 1: 200/200 kill points survived (...); 0 failed; ... bytes lost: 0; 1234 s
// Exit status 1 when any kill point failed. pach runs from a snapshot of the build
// (<work>/pach-cli, see lib.mjs), so rebuilding the tree during a run changes nothing.
// The engine is TypeScript; it is bundled on the fly with esbuild (a devDependency).

import {build} from 'esbuild'
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {snapshotPach} from './lib.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.resolve(HERE, '..')

const opt = {kills: 200, seed: 1, scenarios: undefined, docker: 'auto', work: path.join(HERE, '.work', 'torture'), point: undefined, quick: false, keepFailures: false}
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  const next = () => {
    if (i + 1 >= argv.length) usage(`${a} needs a value`)
    return argv[++i]
  }
  if (a === '--kills') opt.kills = Number(next())
  else if (a === '--seed') opt.seed = Number(next())
  else if (a === '--scenarios') opt.scenarios = next().split(',').filter(Boolean)
  else if (a === '--docker') opt.docker = next()
  else if (a === '--work') opt.work = path.resolve(next())
  else if (a === '--point') opt.point = Number(next())
  else if (a === '--quick') opt.quick = true
  else if (a === '--keep-failures') opt.keepFailures = true
  else if (a === '--help' || a === '-h') usage()
  else usage(`unknown argument ${a}`)
}
if (!Number.isInteger(opt.kills) || opt.kills < 1) usage('--kills must be a positive integer')
if (!Number.isInteger(opt.seed)) usage('--seed must be an integer')
if (!['auto', 'on', 'off'].includes(opt.docker)) usage('--docker is auto, on or off')

function usage(msg) {
  const text = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 22).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')
  process.stderr.write(`${msg ? `torture: ${msg}\n\n` : ''}${text}\n`)
  process.exit(msg ? 2 : 0)
}

const log = (s) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`)
const tail = (s, n) => String(s ?? '').trim().split('\n').slice(-n).join(' | ')
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
const freshDir = (d) => {
  fs.rmSync(d, {recursive: true, force: true})
  fs.mkdirSync(d, {recursive: true})
}

fs.mkdirSync(opt.work, {recursive: true})
const engine = path.join(opt.work, 'crash.mjs')
await build({entryPoints: [path.join(ROOT, 'test', 'torture', 'crash.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: engine, logLevel: 'error'})
const {torture, summaryLine, dockerProblem} = await import(pathToFileURL(engine).href)

let docker = opt.docker === 'on'
if (opt.docker !== 'off') {
  const problem = dockerProblem()
  if (problem && opt.docker === 'on') usage(`--docker on, but ${problem}`)
  if (problem) log(`docker scenario skipped: ${problem}`)
  docker = !problem
}

const bin = snapshotPach({root: ROOT, work: opt.work, log, tail, freshDir, sleep})
log(`seed ${opt.seed}, ${opt.kills} kill points, pach ${bin}`)
const report = await torture({
  seed: opt.seed,
  kills: opt.kills,
  bin,
  work: path.join(opt.work, 'run'),
  scenarios: opt.scenarios,
  docker,
  point: opt.point,
  quick: opt.quick,
  keepFailures: opt.keepFailures,
  log,
})
fs.writeFileSync(path.join(opt.work, 'results.json'), JSON.stringify(report, null, 2))
for (const k of report.points.filter((p) => p.problems.length)) log(`FAILED #${k.index} ${k.scenario} [${k.mode}]: ${k.problems.join(' / ')}`)
for (const [name, s] of Object.entries(report.byScenario)) log(`${name}: ${s.survived}/${s.delivered} survived, outcomes ${JSON.stringify(s.outcomes)}`)
process.stdout.write(summaryLine(report) + '\n')
process.exit(report.failed ? 1 : 0)
