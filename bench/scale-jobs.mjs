// Scale of jobs (issue 10): what a job that reprocesses 1 of N datums stores and costs, and the
// memory of the first job over N datums. For each N of --sizes:
//   - setup, in-process through the library in dist/: repo `in` with N one-small-file entries at
//     the root (one commit);
//   - the first job, as the CLI: `pach create pipeline -f spec.json --runner local` of glob `/*`,
//     `cp "$in" /pfs/out/`, parallelism 2, which runs the whole job (wall, peak RSS, store growth);
//   - per rep, an incremental job inside the process: one input file overwritten (files.put,
//     not timed), then `jobs.runPending` with the local runner (timed: plan, run 1 datum, merge,
//     finish), and what the job added to the store (store read with pach closed, before and
//     after runPending): trees table (SUM(length(data)), rows), datum_nodes (the nodes of the
//     jobs' datum sets: SUM(length(data)), rows), datums rows, commits rows, the whole .pach
//     directory;
//   - per rep, an incremental job as the CLI: `pach put file in@master:/fK -f - --runner local`
//     (it commits and runs the job): wall, peak RSS, .pach growth (input commit included).
// Each incremental job is checked: 1 datum processed, N − 1 skipped.
//
//   npm run build && node bench/scale-jobs.mjs [--sizes 10000,100000] [--reps 3] [--work DIR] [--no-readme] [--keep] [--reuse] [--no-time]
//
// --keep leaves each project in the work dir; --reuse measures the incremental jobs on a kept
// project (no setup, no first job: its rows say "–").
//
// The markdown report goes to stdout and replaces the part of bench/README.md between the
// `scale-jobs:start` / `scale-jobs:end` markers (unless --no-readme). The first job runs every datum
// through the local runner (~3 ms a datum on 2 cores): 100,000 take minutes, 1,000,000 an hour.
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {arg, dirBytes, median, processTimer, replaceReadmeSection} from './lib.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SIZES = String(arg('sizes', '10000,100000')).split(',').map(Number)
const REPS = Number(arg('reps', 3))
const KEEP = process.argv.includes('--keep')
const REUSE = process.argv.includes('--reuse')
const README = !process.argv.includes('--no-readme')
const work = path.resolve(arg('work', path.join(root, 'bench', '.work', 'scale-jobs')))
const bin = path.join(root, 'bin', 'run.js')
const node = process.execPath
const log = (s) => process.stderr.write(`[scale-jobs ${((performance.now() - t0) / 1000).toFixed(1)}s] ${s}\n`)
const name = (i) => `f${String(i).padStart(7, '0')}`
const content = (i) => `${i}\n`
const TIME = fs.existsSync('/usr/bin/time') && !process.argv.includes('--no-time') ? '/usr/bin/time' : null
const t0 = performance.now()

if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) throw new Error('dist/ missing: run `npm run build` first')
const {initPach, openPach, parseCommit} = await import(path.join(root, 'dist', 'index.js'))
const {createLocalRunner} = await import(path.join(root, 'dist', 'runner', 'local.js'))
const {default: Database} = await import('better-sqlite3')

const out = (cmd, args, opts = {}) => spawnSync(cmd, args, {encoding: 'utf8', maxBuffer: 1 << 30, ...opts}).stdout
/** What the store holds (pach closed): table sums and row counts, and the .pach directory's bytes. */
const store = (pachDir) => {
  const db = new Database(path.join(pachDir, 'pach.db'), {readonly: true})
  try {
    const one = (sql) => db.prepare(sql).get()
    const trees = one('SELECT COALESCE(SUM(length(data)), 0) AS bytes, COUNT(*) AS n FROM trees')
    const sets = one('SELECT COALESCE(SUM(length(data)), 0) AS bytes, COUNT(*) AS n FROM datum_nodes')
    const datums = one('SELECT COUNT(*) AS n, COALESCE(SUM(length(inputs) + length(stats) + length(reason) + COALESCE(length(output), 0) + 200), 0) AS bytes FROM datums')
    const commits = one('SELECT COUNT(*) AS n FROM commits')
    return {trees, sets, datums, commits: commits.n, pach: dirBytes(pachDir)}
  } finally {
    db.close()
  }
}
/** The newest job of pipeline `out`: its id and counts. */
const lastJob = (pachDir) => {
  const db = new Database(path.join(pachDir, 'pach.db'), {readonly: true})
  try {
    return db.prepare("SELECT id, data_processed, data_skipped, data_total, state, started, finished FROM jobs WHERE pipeline = 'out' ORDER BY seq DESC LIMIT 1").get()
  } finally {
    db.close()
  }
}
const {wall} = processTimer({work, time: TIME})
/** Wall ms of a pach CLI process (output dropped) and its peak RSS in KiB. */
const cli = (args, cwd, input) => wall(node, [bin, ...args], cwd, {input, rss: true})
const one = (s) =>
  async function* () {
    yield Buffer.from(s)
  }
const spec = {
  pipeline: {name: 'out'},
  transform: {image: 'busybox', cmd: ['sh', '-c', 'cp "$in" /pfs/out/']},
  input: {pfs: {repo: 'in', glob: '/*'}},
  parallelism_spec: {constant: 2},
}

const results = []
for (const N of SIZES) {
  const dir = path.join(work, `n${N}`)
  const proj = path.join(dir, 'pach')
  const pachDir = path.join(proj, '.pach')
  const rows = new Map()
  const add = (k, v, unit = 'ms') => {
    if (!rows.has(k)) rows.set(k, {values: [], unit})
    rows.get(k).values.push(v)
  }
  let pach
  let s0, s1, j
  let firstRow = {}
  if (REUSE && fs.existsSync(pachDir)) log(`n=${N}: reusing ${proj}`)
  else {
    fs.rmSync(dir, {recursive: true, force: true})
    fs.mkdirSync(proj, {recursive: true})
    pach = initPach(proj)
    pach.repos.create('default', 'in')
    await pach.files.put('default', parseCommit('in@master'), Array.from({length: N}, (_, i) => ({path: `/${name(i)}`, open: one(content(i))})))
    pach.close()
    const specFile = path.join(dir, 'spec.json')
    fs.writeFileSync(specFile, JSON.stringify(spec))
    log(`n=${N}: input committed; first job (${N} datums, CLI)`)

    // ---- the first job, as the CLI
    s0 = store(pachDir)
    const first = cli(['create', 'pipeline', '-f', specFile, '--runner', 'local'], proj)
    s1 = store(pachDir)
    j = lastJob(pachDir)
    if (j.state !== 'JOB_SUCCESS' || j.data_processed !== N) throw new Error(`n=${N}: first job ${j.state}, ${j.data_processed} processed of ${N}`)
    firstRow = {ms: first.ms, rss: first.kib * 1024, pach: s1.pach - s0.pach, trees: s1.trees.bytes - s0.trees.bytes, set: s1.sets.bytes - s0.sets.bytes}
    log(`n=${N}: first job ${(first.ms / 1000).toFixed(1)} s, peak RSS ${(first.kib / 1024).toFixed(0)} MiB`)
  }

  const runner = await createLocalRunner()
  try {
    for (let rep = 0; rep < REPS; rep++) {
      // ---- incremental job inside the process
      const k = (rep * 7919 + 17) % N
      const sPut = store(pachDir)
      pach = openPach({pachDir: proj})
      await pach.files.put('default', parseCommit('in@master'), [{path: `/${name(k)}`, open: one(`changed ${rep} ${Date.now()}\n`)}])
      pach.close()
      s0 = store(pachDir)
      pach = openPach({pachDir: proj})
      const t = performance.now()
      const done = await pach.jobs.runPending({runner: async () => runner})
      add('in process: incremental job (jobs.runPending)', performance.now() - t)
      pach.close()
      s1 = store(pachDir)
      j = lastJob(pachDir)
      if (done.length !== 1 || j.state !== 'JOB_SUCCESS' || j.data_processed !== 1 || j.data_skipped !== N - 1) throw new Error(`n=${N}: incremental job ${j.state}, ${j.data_processed} processed, ${j.data_skipped} skipped`)
      add('in process: job duration (started → finished)', Date.parse(j.finished) - Date.parse(j.started))
      add('store growth: .pach (whole directory)', s1.pach - s0.pach, 'B')
      add('store growth: trees table, SUM(length(data))', s1.trees.bytes - s0.trees.bytes, 'B')
      add('store growth: trees table, rows', s1.trees.n - s0.trees.n, 'n')
      add("store growth: datum_nodes (the job's datum set), SUM(length(data))", s1.sets.bytes - s0.sets.bytes, 'B')
      add('store growth: datum_nodes rows', s1.sets.n - s0.sets.n, 'n')
      add('store growth: datums rows', s1.datums.n - s0.datums.n, 'n')
      add('store growth: datums rows, approx. bytes', s1.datums.bytes - s0.datums.bytes, 'B')
      add('store growth: commits rows (input commit and job)', s1.commits - sPut.commits, 'n')
      add('store growth: .pach (input commit and job)', s1.pach - sPut.pach, 'B')

      // ---- incremental job as the CLI (put file commits the input and runs the job)
      const c = (rep * 104729 + 5003) % N
      s0 = store(pachDir)
      const put = cli(['put', 'file', `in@master:/${name(c)}`, '-f', '-', '--runner', 'local'], proj, `cli ${rep} ${Date.now()}\n`)
      s1 = store(pachDir)
      j = lastJob(pachDir)
      if (j.state !== 'JOB_SUCCESS' || j.data_processed !== 1 || j.data_skipped !== N - 1) throw new Error(`n=${N}: CLI incremental job ${j.state}, ${j.data_processed} processed, ${j.data_skipped} skipped`)
      add('CLI: put file (1 input changed, runs the job): wall', put.ms)
      add('CLI: put file (1 input changed, runs the job): peak RSS', put.kib * 1024, 'B')
      add('CLI: put file: .pach growth (input commit and job)', s1.pach - s0.pach, 'B')
      log(`n=${N}: rep ${rep + 1}/${REPS} done`)
    }
  } finally {
    await runner.close?.()
  }
  results.push({n: N, rows, first: firstRow, pach: dirBytes(pachDir)})
  if (!KEEP) fs.rmSync(dir, {recursive: true, force: true})
}

// ---- report
const fmt = (v, unit) => {
  if (v == null) return '–'
  if (unit === 'n') return String(Math.round(v))
  if (unit === 'B') return Math.abs(v) >= 1 << 20 ? `${(v / (1 << 20)).toFixed(1)} MiB` : Math.abs(v) >= 1024 ? `${(v / 1024).toFixed(1)} KiB` : `${Math.round(v)} B`
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`
}
const targets = {
  'in process: incremental job (jobs.runPending)': '≤ 100 ms (at 100k)',
  'store growth: .pach (whole directory)': '≤ 64 KiB (at 100k)',
  "store growth: datum_nodes (the job's datum set), SUM(length(data))": 'part of ≤ 64 KiB',
  'store growth: trees table, SUM(length(data))': 'part of ≤ 64 KiB',
}
const keys = [...new Set(results.flatMap((r) => [...r.rows.keys()]))]
const cols = results.map((r) => `N = ${r.n.toLocaleString('en')}`)
const report = [
  `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`pach\` at \`${out('git', ['rev-parse', '--short', 'HEAD'], {cwd: root}).trim()}\`, ${REPS} reps (median), ${((performance.now() - t0) / 1000).toFixed(0)} s in all.`,
  `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} at end (shared with other agents); node ${process.version}.`,
  '',
  `| First job (CLI \`create pipeline\`, every datum runs) | ${cols.join(' | ')} | Target |`,
  `| --- | ${results.map(() => '---:').join(' | ')} | --- |`,
  `| wall | ${results.map((r) => fmt(r.first.ms, 'ms')).join(' | ')} | |`,
  `| peak RSS | ${results.map((r) => fmt(r.first.rss, 'B')).join(' | ')} | ≤ 400 MB (at 1M) |`,
  `| .pach growth | ${results.map((r) => fmt(r.first.pach, 'B')).join(' | ')} | |`,
  `| trees table growth | ${results.map((r) => fmt(r.first.trees, 'B')).join(' | ')} | |`,
  `| its datum set (datum_nodes) | ${results.map((r) => fmt(r.first.set, 'B')).join(' | ')} | |`,
  '',
  `| Incremental job, 1 of N datums reprocessed | ${cols.join(' | ')} | Target (issue 10) |`,
  `| --- | ${results.map(() => '---:').join(' | ')} | --- |`,
  ...keys.map((k) => `| ${k} | ${results.map((r) => (r.rows.get(k) ? fmt(median(r.rows.get(k).values), r.rows.get(k).unit) : '–')).join(' | ')} | ${targets[k] ?? ''} |`),
  `| .pach after the run | ${results.map((r) => fmt(r.pach, 'B')).join(' | ')} | |`,
].join('\n')
console.log(report)
if (README) replaceReadmeSection('scale-jobs', report, log)
