// History length: `pach list commit R@master` over a long branch against `git log` on the same
// history (issue 10). Builds a project with repo R and COMMITS one-file commits into a FILES-file
// directory (in-process, through the library in dist/), and a git repository with the same
// commits (git fast-import); then times, as whole processes (medians of REPS runs, interleaved):
// `pach list commit R@master` (table, --json, -n 10) and `git log` (whole, -n 10), the time to
// the first line of the whole listing, the CLI start (`pach version`), and the same listings
// inside the process (the library, no CLI start).
//
//   npm run build && node bench/history.mjs [--commits 10000] [--files 500] [--reps 5] [--work DIR] [--keep]
//
// --keep reuses the project and git repository of an earlier run with the same sizes.
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {arg, firstLine, median} from './lib.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const COMMITS = Number(arg('commits', 10_000))
const FILES = Number(arg('files', 500))
const REPS = Number(arg('reps', 5))
const KEEP = process.argv.includes('--keep')
const work = path.resolve(arg('work', path.join(root, 'bench', '.work', `history-${COMMITS}x${FILES}`)))
const proj = path.join(work, 'pach')
const gitDir = path.join(work, 'git')
const bin = path.join(root, 'bin', 'run.js')
const log = (s) => process.stderr.write(`${s}\n`)
const name = (i) => `d/f${String(i).padStart(6, '0')}`
const content = (i) => `v ${i}\n` // commit i (0 = the first, with every file) writes file i % FILES

if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) throw new Error('dist/ missing: run `npm run build` first')
const {initPach, openPach, parseCommit} = await import(path.join(root, 'dist', 'index.js'))

// ---- data ----
const ready = path.join(work, 'ready')
if (!KEEP || !fs.existsSync(ready)) {
  fs.rmSync(work, {recursive: true, force: true})
  fs.mkdirSync(proj, {recursive: true})
  let t = performance.now()
  const pach = initPach(proj)
  pach.repos.create('default', 'R')
  const ref = parseCommit('R@master')
  const one = (s) => async function* () {
    yield Buffer.from(s)
  }
  await pach.files.put('default', ref, Array.from({length: FILES}, (_, f) => ({path: `/${name(f)}`, open: one(content(0))})))
  for (let i = 1; i <= COMMITS; i++) {
    await pach.files.put('default', ref, [{path: `/${name(i % FILES)}`, open: one(content(i))}])
    if (i % 1000 === 0) log(`pach: ${i}/${COMMITS} commits`)
  }
  pach.close()
  log(`pach: ${COMMITS + 1} commits in ${((performance.now() - t) / 1000).toFixed(1)} s`)

  t = performance.now()
  spawnSync('git', ['init', '-q', '-b', 'master', gitDir], {stdio: 'inherit'})
  const chunks = []
  const data = (s) => `data ${Buffer.byteLength(s)}\n${s}\n`
  for (let i = 0; i <= COMMITS; i++) {
    chunks.push(`commit refs/heads/master\ncommitter bench <bench@example.com> ${1_700_000_000 + i} +0000\n${data(`commit ${i}`)}`)
    if (i === 0) for (let f = 0; f < FILES; f++) chunks.push(`M 100644 inline ${name(f)}\n${data(content(0))}`)
    else chunks.push(`M 100644 inline ${name(i % FILES)}\n${data(content(i))}`)
  }
  const fi = spawnSync('git', ['fast-import', '--quiet'], {cwd: gitDir, input: chunks.join('')})
  if (fi.status !== 0) throw new Error(`git fast-import failed: ${fi.stderr}`)
  spawnSync('git', ['gc', '-q'], {cwd: gitDir})
  log(`git: ${COMMITS + 1} commits in ${((performance.now() - t) / 1000).toFixed(1)} s`)
  fs.writeFileSync(ready, '')
}

// ---- checks: both list every commit ----
const out = (cmd, args, cwd) => spawnSync(cmd, args, {cwd, encoding: 'utf8', maxBuffer: 1 << 30}).stdout
const pachLines = out(process.execPath, [bin, 'list', 'commit', 'R@master'], proj).trimEnd().split('\n').length - 1
const gitLines = out('git', ['log', '--format=%H', 'master'], gitDir).trimEnd().split('\n').length
if (pachLines !== COMMITS + 1 || gitLines !== COMMITS + 1) throw new Error(`expected ${COMMITS + 1} commits: pach lists ${pachLines}, git ${gitLines}`)

// ---- timings: whole processes, output to /dev/null ----
const devnull = fs.openSync('/dev/null', 'w')
const wall = (cmd, args, cwd) => {
  const t = process.hrtime.bigint()
  const r = spawnSync(cmd, args, {cwd, stdio: ['ignore', devnull, 'pipe']})
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
  return Number(process.hrtime.bigint() - t) / 1e6
}
const cases = [
  ['pach list commit R@master', () => wall(process.execPath, [bin, 'list', 'commit', 'R@master'], proj)],
  ['pach list commit R@master --json', () => wall(process.execPath, [bin, 'list', 'commit', 'R@master', '--json'], proj)],
  ['pach list commit R@master -n 10', () => wall(process.execPath, [bin, 'list', 'commit', 'R@master', '-n', '10'], proj)],
  ['pach version (CLI start)', () => wall(process.execPath, [bin, 'version'], proj)],
  ['git log master', () => wall('git', ['log', 'master'], gitDir)],
  ['git log -n 10 master', () => wall('git', ['log', '-n', '10', 'master'], gitDir)],
  ['pach list commit R@master: first line', async () => (await firstLine(process.execPath, [bin, 'list', 'commit', 'R@master'], proj)).first],
  ['pach list commit R@master --json: first line', async () => (await firstLine(process.execPath, [bin, 'list', 'commit', 'R@master', '--json'], proj)).first],
  ['git log master: first line', async () => (await firstLine('git', ['log', 'master'], gitDir)).first],
]
const runs = new Map(cases.map(([k]) => [k, []]))
for (let rep = 0; rep < REPS; rep++) {
  for (let j = 0; j < cases.length; j++) {
    const [k, f] = cases[(j + rep) % cases.length] // rotate the order so load hits every case alike
    runs.get(k).push(await f())
  }
  log(`rep ${rep + 1}/${REPS} done`)
}

// ---- inside the process: the library, no CLI start ----
const pach = openPach({pachDir: proj, readonly: true})
const inproc = (f) => {
  const xs = []
  for (let rep = 0; rep < REPS; rep++) {
    const t = performance.now()
    f()
    xs.push(performance.now() - t)
  }
  return xs
}
const master = parseCommit('R@master')
runs.set('in process: history(R@master), every CommitInfo', inproc(() => [...pach.commits.history('default', master)]))
runs.set('in process: history(R@master).summaries() (the table pass)', inproc(() => [...pach.commits.history('default', master).summaries()]))
runs.set('in process: history(R@master, {number: 10})', inproc(() => [...pach.commits.history('default', master, {number: 10})]))
pach.close()

// ---- report ----
const git = median(runs.get('git log master'))
const git10 = median(runs.get('git log -n 10 master'))
const firstGit = median(runs.get('git log master: first line'))
const anchor = (k) => (!k.startsWith('pach list') ? undefined : k.includes('first line') ? firstGit : k.includes('-n 10') ? git10 : git)
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`)
const lines = [
  `${COMMITS.toLocaleString('en')} one-file commits into a ${FILES}-file directory (${(COMMITS + 1).toLocaleString('en')} listed); medians of ${REPS} runs; ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
  `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} at end; node ${process.version}; ${out('git', ['--version']).trim()}.`,
  '',
  '| Measurement | Median | Runs | vs git |',
  '| --- | ---: | --- | ---: |',
  ...[...runs].map(([k, xs]) => {
    const a = anchor(k)
    return `| ${k} | ${fmt(median(xs))} | ${xs.map((x) => fmt(x)).join(', ')} | ${a ? `${(median(xs) / a).toFixed(1)}× git` : ''} |`
  }),
]
console.log(lines.join('\n'))
if (!KEEP) fs.rmSync(work, {recursive: true, force: true})
