// History length: `pach list commit R@master` over a long branch against `git log` on the same
// history (issue 10). Builds a project with repo R and COMMITS one-file commits into a FILES-file
// directory (in-process, through the library in dist/), and a git repository with the same
// commits (git fast-import); then times, as whole processes (medians of REPS runs, interleaved):
// `pach list commit R@master` (table, --json, -n 10) and `git log` (whole, -n 10), the time to
// the first line of the whole listing, the CLI start (`pach version`), and the same listings
// inside the process (the library, no CLI start). Storage, measured once when the data is built
// (and again after `pach gc`, which merges the one-commit packs):
// `.pach` (bytes of its regular files, and `du -sb`) with a breakdown (pach.db by table with its
// indexes, free pages, WAL, pack files), against `.git` on the same history as fast-import left
// it (one pack), loose (every object its own file: the pack exploded by `git unpack-objects`)
// and after `git gc --aggressive`.
//
//   npm run build && node bench/history.mjs [--commits 10000] [--files 500] [--reps 5] [--work DIR] [--keep]
//
// --keep reuses the project and git repository of an earlier run with the same sizes.
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {arg, dirBytes, duBytes, duDisk, firstLine, median, pachBreakdown} from './lib.mjs'

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
const {default: Database} = await import('better-sqlite3')

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
  const pachDir = path.join(proj, '.pach')
  const sizes = {pach: {bytes: dirBytes(pachDir), du: duBytes(pachDir), disk: duDisk(pachDir), breakdown: pachBreakdown(pachDir, Database)}}
  // and after `pach gc`: nothing is garbage here, but it merges the 10,001 one-commit packs
  const gcRun = spawnSync(process.execPath, [bin, 'gc'], {cwd: proj, encoding: 'utf8'})
  if (gcRun.status !== 0) throw new Error(`pach gc failed: ${gcRun.stderr}`)
  sizes.pachGc = {bytes: dirBytes(pachDir), du: duBytes(pachDir), disk: duDisk(pachDir)}

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
  const dotGit = path.join(gitDir, '.git')
  const gitSize = () => ({bytes: dirBytes(dotGit), du: duBytes(dotGit), disk: duDisk(dotGit)})
  sizes.gitFastImport = gitSize()
  // loose: move fast-import's pack out and unpack every object into its own file
  const packDir = path.join(dotGit, 'objects', 'pack')
  const aside = path.join(work, 'fast-import-pack')
  fs.mkdirSync(aside)
  for (const f of fs.readdirSync(packDir)) fs.renameSync(path.join(packDir, f), path.join(aside, f))
  for (const f of fs.readdirSync(aside).filter((f) => f.endsWith('.pack'))) {
    const u = spawnSync('git', ['unpack-objects', '-q'], {cwd: gitDir, input: fs.readFileSync(path.join(aside, f)), maxBuffer: 1 << 30})
    if (u.status !== 0) throw new Error(`git unpack-objects failed: ${u.stderr}`)
  }
  fs.rmSync(aside, {recursive: true})
  sizes.gitLoose = gitSize()
  const g = spawnSync('git', ['gc', '-q', '--aggressive', '--prune=now'], {cwd: gitDir})
  if (g.status !== 0) throw new Error(`git gc --aggressive failed: ${g.stderr}`)
  sizes.gitPacked = gitSize()
  log(`git: ${COMMITS + 1} commits in ${((performance.now() - t) / 1000).toFixed(1)} s (with unpacking and gc --aggressive)`)
  fs.writeFileSync(path.join(work, 'sizes.json'), JSON.stringify(sizes, (k, v) => (v instanceof Map ? Object.fromEntries(v) : v)))
  fs.writeFileSync(ready, '')
}
const sizes = JSON.parse(fs.readFileSync(path.join(work, 'sizes.json'), 'utf8'))

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
// ---- storage ----
const B = (n) => (n == null ? '–' : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`)
const n = (x) => (x == null ? '–' : x.toLocaleString('en'))
const per = (bytes) => `${(bytes / COMMITS / 1024).toFixed(1)} KiB per commit`
const bd = sizes.pach.breakdown
const tables = Object.entries(bd.tables).filter(([t]) => !t.startsWith('sqlite_'))
const shown = ['trees', 'commits', 'commit_sets', 'blobs', 'packs']
const rest = tables.filter(([t]) => !shown.includes(t))
const row = (t) => {
  const x = bd.tables[t]
  return x ? `| pach.db: ${t} (${n(x.rows)} rows) | ${B(x.bytes)} + ${B(x.indexBytes)} of indexes | ${per(x.bytes + x.indexBytes)} |` : `| pach.db: ${t} | – | |`
}
lines.push(
  '',
  `Storage after the ${COMMITS.toLocaleString('en')} commits: bytes of the regular files, \`du -sb\` (apparent sizes, directories too) and the disk blocks taken (\`du -s\`: every small file takes a 4 KiB block):`,
  '',
  '| Store | Regular files | `du -sb` | On disk (`du -s`) | Per commit (regular files) |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...[
    ['`.pach`', sizes.pach],
    ['`.pach` after `pach gc` (small packs merged)', sizes.pachGc],
    ['`.git`, loose (every object its own zlib file)', sizes.gitLoose],
    ['`.git`, as `git fast-import` left it (one pack)', sizes.gitFastImport],
    ['`.git`, packed (`git gc --aggressive`)', sizes.gitPacked],
  ].map(([k, x]) => `| ${k} | ${B(x.bytes)} | ${B(x.du)} | ${B(x.disk)} | ${per(x.bytes)} |`),
  '',
  'Where `.pach` keeps its bytes (pages per table, from SQLite\'s dbstat):',
  '',
  '| Part | Bytes | Per commit |',
  '| --- | ---: | ---: |',
  `| pach.db file | ${B(bd.files.db)} | ${per(bd.files.db)} |`,
  `| pach.db: trees, encoded bytes (SUM(length(data))) | ${B(bd.treeData)} | ${per(bd.treeData)} |`,
  ...shown.map(row),
  `| pach.db: ${rest.length} other tables | ${B(rest.reduce((a, [, x]) => a + x.bytes + x.indexBytes, 0))} | |`,
  `| pach.db: free pages (freelist) | ${B(bd.freeBytes)} | |`,
  `| pach.db-wal, pach.db-shm | ${B(bd.files.wal)}, ${B(bd.files.shm)} | |`,
  `| pack files (${n(bd.files.packFiles)}) | ${B(bd.files.packs)} | ${per(bd.files.packs)} |`,
  `| other files | ${B(bd.files.other)} | |`,
)
console.log(lines.join('\n'))
if (!KEEP) fs.rmSync(work, {recursive: true, force: true})
