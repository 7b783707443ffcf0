// Scale: one change in a large directory (issue 10). For each N of --sizes, makes a project with
// repo R whose directory /d holds N one-small-file entries (one commit, in-process, through the
// library in dist/), and a git repository with the same tree (blobs by git fast-import, the index by
// git update-index --index-info, checked out); then measures, medians of REPS:
//   - a 1-file commit into /d: inside the process (`files.put`: time, .pach and trees-table growth)
//     and as the CLI (`pach put file R@master:/d/… -f -`: wall time, peak RSS, .pach growth);
//   - `inspect file` and `get file` of one path in /d (inside the process and CLI);
//   - `list file R@master:/d`: time to the first line, total and peak RSS (CLI); time to the
//     first item and total inside the process (`files.list` is a stream: the total consumes it);
//   - `diff file` of two adjacent commits (inside the process, and CLI);
//   - git on the same data: `git add` + `git commit` of one new file into /d (time, .git/objects
//     growth, loose), `git ls-tree HEAD d/<one>` and `git show HEAD:d/<one>`;
//   - the CLI start (`pach version`) for reference.
//
//   npm run build && node bench/scale.mjs [--sizes 10000,100000] [--reps 3] [--work DIR] [--no-readme] [--keep] [--no-time]
//
// The markdown report goes to stdout and replaces the part of bench/README.md between the
// `scale:start` / `scale:end` markers (unless --no-readme). 1,000,000 is allowed in --sizes but slow.
// Peak RSS comes from /usr/bin/time -f %M, or (without it, or with --no-time) from the pach
// process itself (process.resourceUsage().maxRSS on exit, through a --require preload).
import {spawn, spawnSync} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {arg, dirBytes, firstLine, median, processTimer, replaceReadmeSection} from './lib.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SIZES = String(arg('sizes', '10000,100000')).split(',').map(Number)
const REPS = Number(arg('reps', 3))
const KEEP = process.argv.includes('--keep')
const README = !process.argv.includes('--no-readme')
const work = path.resolve(arg('work', path.join(root, 'bench', '.work', 'scale')))
const bin = path.join(root, 'bin', 'run.js')
const node = process.execPath
const log = (s) => process.stderr.write(`${s}\n`)
const name = (i) => `d/f${String(i).padStart(7, '0')}`
// Every entry has its own small content: with one shared blob git's zlib would squeeze its trees
// (the same 20-byte id N times) far below what real data costs; pach's trees are not compressed.
const content = (i) => `${i}\n`
const TIME = fs.existsSync('/usr/bin/time') && !process.argv.includes('--no-time') ? '/usr/bin/time' : null // --no-time: RSS through the preload below
const t0 = performance.now()

if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) throw new Error('dist/ missing: run `npm run build` first')
const {initPach, openPach, parseCommit, parseFile} = await import(path.join(root, 'dist', 'index.js'))
const {default: Database} = await import('better-sqlite3')

const out = (cmd, args, opts = {}) => spawnSync(cmd, args, {encoding: 'utf8', maxBuffer: 1 << 30, ...opts}).stdout
/** The trees table: SUM(length(data)) and, where SQLite has dbstat, its pages. Only with pach closed. */
const treeBytes = (pachDir) => {
  const db = new Database(path.join(pachDir, 'pach.db'), {readonly: true})
  try {
    const data = db.prepare('SELECT COALESCE(SUM(length(data)), 0) AS n FROM trees').get().n
    let pages = null
    try {
      pages = db.prepare("SELECT SUM(pgsize) AS n FROM dbstat WHERE name = 'trees'").get().n
    } catch {
      // no dbstat in this SQLite build
    }
    return {data, pages}
  } finally {
    db.close()
  }
}
const {wall, withRss, readRss} = processTimer({work, time: TIME})
const one = (s) =>
  async function* () {
    yield Buffer.from(s)
  }

const results = [] // one {n, rows: Map(key → {values: number[], unit})} per size
for (const N of SIZES) {
  const dir = path.join(work, `n${N}`)
  const proj = path.join(dir, 'pach')
  const pachDir = path.join(proj, '.pach')
  const gitDir = path.join(dir, 'git')
  const rows = new Map()
  const add = (k, v, unit = 'ms') => {
    if (!rows.has(k)) rows.set(k, {values: [], unit})
    rows.get(k).values.push(v)
  }
  const probe = name(Math.floor(N / 2))

  // ---- data: pach, one commit of N entries through the library ----
  fs.rmSync(dir, {recursive: true, force: true})
  fs.mkdirSync(proj, {recursive: true})
  let t = performance.now()
  let pach = initPach(proj)
  pach.repos.create('default', 'R')
  const master = parseCommit('R@master')
  await pach.files.put('default', master, Array.from({length: N}, (_, i) => ({path: `/${name(i)}`, open: one(content(i))})))
  pach.close()
  log(`n=${N}: pach setup (${N} entries, one commit) ${((performance.now() - t) / 1000).toFixed(1)} s`)

  // ---- git: the same tree, checked out. fast-import writes the blobs only (its own tree building
  // searches a directory linearly per entry: quadratic, hours at 1,000,000); the index comes from
  // `update-index --index-info` with the blob ids computed here, then write-tree / commit-tree.
  t = performance.now()
  spawnSync('git', ['init', '-q', '-b', 'master', gitDir], {stdio: 'inherit'})
  for (const [k, v] of [['user.name', 'bench'], ['user.email', 'bench@example.com'], ['gc.auto', '0']]) spawnSync('git', ['config', k, v], {cwd: gitDir})
  const git = (args, input) => {
    const r = spawnSync('git', args, {cwd: gitDir, input, encoding: 'utf8', maxBuffer: 1 << 30})
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`)
    return r.stdout.trim()
  }
  const blobs = []
  const index = []
  for (let i = 0; i < N; i++) {
    const c = content(i)
    blobs.push(`blob\ndata ${Buffer.byteLength(c)}\n${c}\n`)
    const id = crypto.createHash('sha1').update(`blob ${Buffer.byteLength(c)}\0${c}`).digest('hex')
    index.push(`100644 ${id}\t${name(i)}\n`)
  }
  git(['fast-import', '--quiet'], blobs.join(''))
  git(['update-index', '--index-info'], index.join(''))
  const commit = git(['commit-tree', git(['write-tree']), '-m', 'setup'])
  git(['update-ref', 'refs/heads/master', commit])
  git(['checkout-index', '-a', '-f', '-u']) // the files, and their stat data in the index
  log(`n=${N}: git setup ${((performance.now() - t) / 1000).toFixed(1)} s`)

  for (let rep = 0; rep < REPS; rep++) {
    // 1-file commit inside the process: a new file /d/lib-<rep>
    let before = dirBytes(pachDir)
    let tb = treeBytes(pachDir)
    pach = openPach({pachDir: proj})
    t = performance.now()
    await pach.files.put('default', master, [{path: `/d/lib-${rep}`, open: one(`lib ${rep}\n`)}])
    add('in process: 1-file commit (files.put)', performance.now() - t)
    pach.close()
    let ta = treeBytes(pachDir)
    add('in process: 1-file commit: .pach growth', dirBytes(pachDir) - before, 'B')
    add('in process: 1-file commit: trees table growth, SUM(length(data))', ta.data - tb.data, 'B')
    if (ta.pages != null) add('in process: 1-file commit: trees table growth, pages (dbstat)', ta.pages - tb.pages, 'B')

    // reads inside the process (the commit just made and its parent are adjacent), each on a
    // freshly opened handle: the tree store's cache starts cold, as in a CLI process
    const fileRef = parseFile(`R@master:/${probe}`)
    const dirRef = parseFile('R@master:/d')
    const cold = async (key, f) => {
      const p = openPach({pachDir: proj, readonly: true})
      try {
        const t = performance.now()
        await f(p)
        add(key, performance.now() - t)
      } finally {
        p.close()
      }
    }
    await cold('in process: inspect file of one path', (p) => p.files.inspect('default', fileRef))
    await cold('in process: get file of one path', async (p) => {
      for await (const _ of p.files.read('default', fileRef).stream); // resolve, open, read the content
    })
    await cold('in process: diff file of two adjacent commits (/d)', (p) => p.files.diff('default', dirRef))
    await cold('in process: list file of /d: first item', (p) => p.files.list('default', dirRef)[Symbol.iterator]().next())
    await cold('in process: list file of /d: whole (every FileInfo)', (p) => {
      let n = 0
      for (const _ of p.files.list('default', dirRef)) n++
      return n
    })

    // 1-file commit as the CLI
    before = dirBytes(pachDir)
    tb = treeBytes(pachDir)
    const put = wall(node, [bin, 'put', 'file', `R@master:/d/cli-${rep}`, '-f', '-'], proj, {input: `cli ${rep}\n`, rss: true})
    ta = treeBytes(pachDir)
    add('CLI: put file (1-file commit): wall', put.ms)
    if (put.kib !== undefined) add('CLI: put file (1-file commit): peak RSS', put.kib * 1024, 'B')
    add('CLI: put file (1-file commit): .pach growth', dirBytes(pachDir) - before, 'B')
    add('CLI: put file (1-file commit): trees table growth', ta.data - tb.data, 'B')
    add('CLI: inspect file of one path', wall(node, [bin, 'inspect', 'file', `R@master:/${probe}`], proj).ms)
    add('CLI: get file of one path', wall(node, [bin, 'get', 'file', `R@master:/${probe}`], proj).ms)
    const ls = TIME
      ? await firstLine(node, [bin, 'list', 'file', 'R@master:/d'], proj, {time: TIME})
      : await firstLine(node, withRss([bin, 'list', 'file', 'R@master:/d']).args, proj, {env: withRss([]).env})
    add('CLI: list file of /d: first line', ls.first)
    add('CLI: list file of /d: whole', ls.total)
    add('CLI: list file of /d: peak RSS', (ls.kib ?? readRss()) * 1024, 'B')
    add('CLI: diff file of two adjacent commits (/d)', wall(node, [bin, 'diff', 'file', 'R@master:/d'], proj).ms)
    add('CLI: start (`pach version`)', wall(node, [bin, 'version'], proj).ms)

    // git: one new file into d/, git add + git commit
    fs.writeFileSync(path.join(gitDir, 'd', `git-${rep}`), `git ${rep}\n`)
    const objs = path.join(gitDir, '.git', 'objects')
    before = dirBytes(objs)
    const gb = dirBytes(path.join(gitDir, '.git'))
    const ga = wall('git', ['add', `d/git-${rep}`], gitDir)
    const gc = wall('git', ['commit', '-q', '-m', `rep ${rep}`], gitDir, {rss: true})
    add('git: add + commit of 1 file', ga.ms + gc.ms)
    if (gc.kib !== undefined) add('git: commit: peak RSS', gc.kib * 1024, 'B')
    add('git: add + commit: .git/objects growth (loose)', dirBytes(objs) - before, 'B')
    add('git: add + commit: .git growth (with the index)', dirBytes(path.join(gitDir, '.git')) - gb, 'B')
    add('git: ls-tree HEAD of one path', wall('git', ['ls-tree', 'HEAD', probe], gitDir).ms)
    add('git: show HEAD:<one path>', wall('git', ['show', `HEAD:${probe}`], gitDir).ms)
    add('git: ls-tree HEAD d/ (whole directory)', wall('git', ['ls-tree', 'HEAD', 'd/'], gitDir).ms)
    log(`n=${N}: rep ${rep + 1}/${REPS} done`)
  }
  // sanity: pach lists every entry of /d (N + what the reps added); counted as it streams, since
  // at 1,000,000 entries the listing is hundreds of MB. A mismatch is reported, not thrown, so
  // the figures of a long run survive.
  const lines = await new Promise((res, rej) => {
    let n = 0
    const p = spawn(node, [bin, 'list', 'file', 'R@master:/d'], {cwd: proj, stdio: ['ignore', 'pipe', 'ignore']})
    p.stdout.on('data', (b) => {
      for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++
    })
    p.on('error', rej)
    p.on('close', (code) => (code === 0 ? res(n) : rej(new Error(`n=${N}: pach list file exited ${code}`))))
  })
  const check = lines - 1 === N + 2 * REPS ? 'ok' : `MISMATCH: pach lists ${lines - 1} entries in /d, expected ${N + 2 * REPS}`
  if (check !== 'ok') log(`n=${N}: ${check}`)
  results.push({n: N, rows, pachBytes: dirBytes(pachDir), check})
  if (!KEEP) fs.rmSync(dir, {recursive: true, force: true})
}

// ---- report ----
const fmt = (v, unit) => {
  if (unit === 'B') return v >= 1 << 20 ? `${(v / (1 << 20)).toFixed(1)} MiB` : v >= 1024 ? `${(v / 1024).toFixed(1)} KiB` : `${v} B`
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`
}
const targets = {
  'in process: 1-file commit (files.put)': '≤ 60 ms',
  'in process: 1-file commit: .pach growth': '≤ 8 KiB metadata',
  'in process: 1-file commit: trees table growth, SUM(length(data))': '≤ 8 KiB metadata',
  'in process: inspect file of one path': '≤ 20 ms',
  'in process: get file of one path': '≤ 20 ms',
  'in process: diff file of two adjacent commits (/d)': '≤ 20 ms',
  'CLI: put file (1-file commit): peak RSS': '< 150 MB (at 1M)',
  'CLI: list file of /d: first line': '< 100 ms',
  'CLI: list file of /d: whole': '≤ 3 s (at 1M)',
  'CLI: list file of /d: peak RSS': 'bounded (not growing with N)',
}
const loadEnd = os.loadavg()
const keys = [...new Set(results.flatMap((r) => [...r.rows.keys()]))]
const lines = [
  `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`pach\` at \`${out('git', ['rev-parse', '--short', 'HEAD'], {cwd: root}).trim()}\`, ${REPS} reps (median; every rep adds one file through the library and one through the CLI, so the directory holds N + 2·rep entries), ${((performance.now() - t0) / 1000).toFixed(0)} s in all.`,
  `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, load average ${loadEnd.map((x) => x.toFixed(2)).join(' ')} at end (shared with other agents' builds and tests: read orders of magnitude, not the last millisecond); node ${process.version}; ${out('git', ['--version']).trim()}.`,
  '',
  `| Measurement | ${results.map((r) => `N = ${r.n.toLocaleString('en')}`).join(' | ')} | Target (issue 10, at 100k and 1M) |`,
  `| --- | ${results.map(() => '---:').join(' | ')} | --- |`,
  ...keys.map((k) => {
    const cells = results.map((r) => {
      const row = r.rows.get(k)
      return row ? fmt(median(row.values), row.unit) : '–'
    })
    return `| ${k} | ${cells.join(' | ')} | ${targets[k] ?? ''} |`
  }),
  `| .pach after the run | ${results.map((r) => fmt(r.pachBytes, 'B')).join(' | ')} | |`,
  `| check: \`list file\` shows N + 2·reps entries | ${results.map((r) => r.check).join(' | ')} | |`,
]
const report = lines.join('\n')
console.log(report)
if (README) replaceReadmeSection('scale', report, log)
