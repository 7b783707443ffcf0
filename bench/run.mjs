#!/usr/bin/env node
// Storage benchmark for pach against git, git-annex, borg and restic.
//
//   node bench/run.mjs [--quick] [--work DIR] [--only A,B,...] [--keep] [--no-readme]
//
// Builds the standard data sets in a work dir (default bench/.work), times
// pach and the anchors on the same data, prints a markdown report on stdout
// and writes it into bench/README.md between the results markers.
// Progress goes to stderr. Plain Node ESM, no dependencies.

import {spawnSync, execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import os from 'node:os'
import crypto from 'node:crypto'
import {fileURLToPath} from 'node:url'
import {median, snapshotPach as snapshotPachShared} from './lib.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.resolve(HERE, '..')
const MiB = 1024 * 1024
const GiB = 1024 * MiB

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2)
const opt = {quick: false, work: path.join(HERE, '.work'), only: null, keep: false, readme: true}
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  if (a === '--quick') opt.quick = true
  else if (a === '--work') opt.work = path.resolve(argv[++i])
  else if (a.startsWith('--work=')) opt.work = path.resolve(a.slice(7))
  else if (a === '--only') opt.only = new Set(argv[++i].toUpperCase().split(','))
  else if (a.startsWith('--only=')) opt.only = new Set(a.slice(7).toUpperCase().split(','))
  else if (a === '--keep') opt.keep = true
  else if (a === '--no-readme') opt.readme = false
  else if (a === '-h' || a === '--help') {
    console.log('usage: node bench/run.mjs [--quick] [--work DIR] [--only A,B,C,D,E] [--keep] [--no-readme]')
    process.exit(0)
  } else {
    console.error(`unknown option ${a}`)
    process.exit(2)
  }
}
const REPS = opt.quick ? 1 : 3
const SIZES = opt.quick
  ? {aFiles: 4, aFile: 64 * MiB, bFiles: 10_000, bDirs: 100, cFile: 256 * MiB, eFile: 1 * GiB, minFree: 6 * GiB}
  : {aFiles: 4, aFile: 256 * MiB, bFiles: 100_000, bDirs: 100, cFile: 256 * MiB, eFile: 4 * GiB, minFree: 15 * GiB}
const want = (s) => !opt.only || opt.only.has(s)

// ---------------------------------------------------------------- helpers
const T0 = Date.now()
function log(...a) {
  const t = ((Date.now() - T0) / 1000).toFixed(1).padStart(7)
  process.stderr.write(`[bench ${t}s] ${a.join(' ')}\n`)
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], {encoding: 'utf8'})
  return r.status === 0 ? r.stdout.trim() : null
}
const TIME_BIN = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null

function tail(s, n = 6) {
  const lines = String(s || '').replace(/\r/g, '\n').split('\n').map((l) => l.trimEnd()).filter(Boolean)
  return lines.slice(-n).join(' | ').slice(-600)
}

/**
 * Run one command. Returns {ok, secs, rssKiB, stdout, stderr, err}.
 * The wall time is measured around spawnSync; with /usr/bin/time present the
 * command is wrapped to record its peak RSS (%M, KiB) into a side file.
 */
let rssSeq = 0
function run(cmd, args, {cwd, env, timeoutMs = 60 * 60 * 1000, measureRss = true} = {}) {
  let file = cmd
  let fargs = args
  let rssFile = null
  if (TIME_BIN && measureRss) {
    rssFile = path.join(os.tmpdir(), `pach-bench-rss-${process.pid}-${rssSeq++}`)
    file = TIME_BIN
    fargs = ['-f', '%M', '-o', rssFile, cmd, ...args]
  }
  const t = process.hrtime.bigint()
  const r = spawnSync(file, fargs, {
    cwd,
    env: {...process.env, ...env},
    encoding: 'utf8',
    maxBuffer: 1024 * MiB,
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const secs = Number(process.hrtime.bigint() - t) / 1e9
  let rssKiB = null
  if (rssFile) {
    try {
      const lines = fs.readFileSync(rssFile, 'utf8').trim().split('\n')
      const v = Number(lines[lines.length - 1])
      if (Number.isFinite(v)) rssKiB = v
    } catch {}
    fs.rmSync(rssFile, {force: true})
  }
  const ok = r.status === 0 && !r.error
  let err = null
  if (!ok) {
    const why = r.error ? `${r.error.code || r.error.message}` : `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}`
    err = `\`${[cmd, ...args].map((x) => (x.startsWith('/') ? path.basename(x) : x)).join(' ').slice(0, 160)}\`: ${why}: ${tail(r.stderr) || tail(r.stdout)}`
  }
  return {ok, secs, rssKiB, stdout: r.stdout || '', stderr: r.stderr || '', err}
}

/** Run a sequence of steps; time only the ones with timed !== false. Stops at the first failure. */
function runSeq(steps) {
  let secs = 0
  let rssKiB = null
  for (const s of steps) {
    const r = run(s.cmd, s.args, s)
    if (s.timed !== false) {
      secs += r.secs
      if (r.rssKiB != null) rssKiB = Math.max(rssKiB ?? 0, r.rssKiB)
    }
    if (!r.ok) return {ok: false, secs, rssKiB, err: r.err}
    if (s.check) {
      const msg = s.check(r)
      if (msg) return {ok: false, secs, rssKiB, err: `wrong result: ${msg}`}
    }
  }
  return {ok: true, secs, rssKiB}
}


function rmrf(p) {
  if (!fs.existsSync(p)) return
  try {
    fs.rmSync(p, {recursive: true, force: true})
  } catch {
    // git-annex leaves read-only dirs behind (a problem when not root): make them writable.
    spawnSync('chmod', ['-R', 'u+w', p], {stdio: 'ignore'})
    fs.rmSync(p, {recursive: true, force: true})
  }
}
function mkdirp(p) {
  fs.mkdirSync(p, {recursive: true})
  return p
}
function freshDir(p) {
  rmrf(p)
  return mkdirp(p)
}
function duBytes(p) {
  const r = spawnSync('du', ['-sb', p], {encoding: 'utf8'})
  return r.status === 0 ? Number(r.stdout.split(/\s+/)[0]) : null
}
function countFiles(dir) {
  let n = 0
  const walk = (d) => {
    for (const e of fs.readdirSync(d, {withFileTypes: true})) {
      if (e.isDirectory()) walk(path.join(d, e.name))
      else if (e.isFile()) n++
    }
  }
  if (fs.existsSync(dir)) walk(dir)
  return n
}
function findFile(dir, name) {
  for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) {
      const r = findFile(p, name)
      if (r) return r
    } else if (e.name === name) return p
  }
  return null
}
function freeBytes(p) {
  let q = p
  while (!fs.existsSync(q)) q = path.dirname(q)
  const r = spawnSync('df', ['-B1', '--output=avail', q], {encoding: 'utf8'})
  return Number(r.stdout.trim().split('\n').pop())
}
function version(cmd, args) {
  try {
    return execFileSync(cmd, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).split('\n')[0].trim()
  } catch {
    return 'missing'
  }
}

/** Write `size` bytes of crypto-random data in `piece`-sized chunks. */
function writeRandomFile(file, size, piece = 16 * MiB) {
  const fd = fs.openSync(file, 'w')
  try {
    for (let left = size; left > 0; ) {
      const n = Math.min(piece, left)
      const buf = crypto.randomBytes(n)
      let off = 0
      while (off < n) off += fs.writeSync(fd, buf, off, n - off)
      left -= n
    }
  } finally {
    fs.closeSync(fd)
  }
}

/** dst = src[0:at] + insert + src[at:] */
function writeWithInsertion(src, dst, at, insert) {
  const fin = fs.openSync(src, 'r')
  const fout = fs.openSync(dst, 'w')
  const buf = Buffer.allocUnsafe(16 * MiB)
  const copy = (from, len) => {
    let pos = from
    let left = len
    while (left > 0) {
      const n = fs.readSync(fin, buf, 0, Math.min(buf.length, left), pos)
      if (n <= 0) break
      fs.writeSync(fout, buf, 0, n)
      pos += n
      left -= n
    }
  }
  const size = fs.fstatSync(fin).size
  copy(0, at)
  fs.writeSync(fout, insert)
  copy(at, size - at)
  fs.closeSync(fin)
  fs.closeSync(fout)
}

const fmtS = (s) => (s == null ? '–' : s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`)
const fmtSize = (b) => (b >= GiB ? `${+(b / GiB).toFixed(2)} GiB` : `${+(b / MiB).toFixed(1)} MiB`)
const fmtMiB = (b) => (b == null ? '–' : `${(b / MiB).toFixed(1)} MiB`)
const fmtRss = (k) => (k == null ? '–' : `${(k / 1024).toFixed(0)} MiB`)
const fmtX = (x) => (x == null || !Number.isFinite(x) ? '–' : `${x.toFixed(2)}×`)
const verdict = (ok) => (ok == null ? '–' : ok ? '✅ met' : '❌ missed')

// ---------------------------------------------------------------- environment
const env = {
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  RESTIC_PASSWORD: 'x',
  RESTIC_CACHE_DIR: path.join(opt.work, 'home', 'restic-cache'),
  BORG_BASE_DIR: path.join(opt.work, 'home', 'borg'),
  BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
  BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
  PACH_PROJECT: 'default',
}
delete process.env.PACH_DIR
const GIT_C = ['-c', 'gc.auto=0', '-c', 'init.defaultBranch=main', '-c', 'core.autocrlf=false']

const have = {
  git: !!which('git'),
  annex: !!which('git-annex'),
  borg: !!which('borg'),
  restic: !!which('restic'),
  hyperfine: !!which('hyperfine'),
}

// pach runs from a snapshot of the build so a concurrent `npm run build` in
// the source tree cannot change the binary half-way through the benchmark.
function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}
function snapshotPach() {
  return snapshotPachShared({root: ROOT, work: opt.work, log, tail, freshDir, sleep, attempts: 4})
}

// ---------------------------------------------------------------- main
const results = {}
const machine = {}

function main() {
  const need = SIZES.minFree
  const free = freeBytes(opt.work)
  if (free < need) {
    console.error(
      `bench: only ${(free / GiB).toFixed(1)} GiB free under ${opt.work}; a ${opt.quick ? 'quick' : 'full'} run needs ` +
        `${(need / GiB).toFixed(0)} GiB. Free some disk or use --work DIR on a bigger disk${opt.quick ? '' : ' (or --quick)'}.`,
    )
    process.exit(3)
  }
  mkdirp(opt.work)
  mkdirp(env.RESTIC_CACHE_DIR)
  mkdirp(env.BORG_BASE_DIR)
  log(`work dir ${opt.work} (${(free / GiB).toFixed(0)} GiB free), ${opt.quick ? 'QUICK' : 'FULL'} run, ${REPS} rep(s)`)

  const PACH_BIN = snapshotPach()
  const P = (cwd, ...args) => ({cmd: process.execPath, args: [PACH_BIN, ...args], cwd, env})

  machine.date = new Date().toISOString()
  machine.nproc = version('nproc', [])
  machine.cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || os.arch()
  machine.mem = `${(os.totalmem() / GiB).toFixed(0)} GiB`
  machine.kernel = `${os.type()} ${os.release()}`
  machine.fs = (spawnSync('df', ['-T', opt.work], {encoding: 'utf8'}).stdout.trim().split('\n').pop() || '').split(/\s+/)[1] || '?'
  machine.node = process.version
  machine.pach = (spawnSync(process.execPath, [PACH_BIN, 'version'], {encoding: 'utf8'}).stdout.match(/pach\s+(\S+)/) || [])[1] || '?'
  machine.git = version('git', ['--version']).replace('git version ', '')
  machine.annex = version('git-annex', ['version']).replace('git-annex version: ', '')
  machine.restic = version('restic', ['version']).split(' ').slice(0, 2).join(' ')
  machine.borg = version('borg', ['--version'])
  machine.hyperfine = version('hyperfine', ['--version'])
  machine.loadStart = os.loadavg().map((x) => x.toFixed(2)).join(' ')
  log(`machine: ${JSON.stringify(machine)}`)

  const sections = [
    ['A', () => benchA(P)],
    ['B', () => benchB(P)],
    ['C', () => benchC(P)],
    ['D', () => benchD(P, PACH_BIN)],
    ['E', () => benchE(P)],
  ]
  for (const [name, fn] of sections) {
    if (!want(name)) continue
    try {
      fn()
    } catch (e) {
      log(`data set ${name} crashed: ${e.stack || e}`)
      results[name] = {...(results[name] || {}), crashed: String(e.message || e)}
    } finally {
      rmrf(path.join(opt.work, name))
    }
  }
  machine.loadEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ')
  machine.totalSecs = ((Date.now() - T0) / 1000).toFixed(0)

  const report = render()
  fs.writeFileSync(path.join(opt.work, 'results.json'), JSON.stringify({opt, machine, results}, null, 2))
  process.stdout.write(report + '\n')
  if (opt.readme) writeReadme(report)
  if (!opt.keep) {
    rmrf(path.join(opt.work, 'pach-cli'))
    rmrf(path.join(opt.work, 'home'))
  }
  log(`done in ${machine.totalSecs} s; raw results in ${path.join(opt.work, 'results.json')}`)
}

/** Repeat a measurement `reps` times; each rep calls setup() (untimed) then returns runSeq(steps). */
function repeat(label, reps, fn) {
  const times = []
  const rss = []
  let err = null
  for (let i = 0; i < reps; i++) {
    const r = fn(i)
    if (!r.ok) {
      err = r.err
      log(`  ${label} rep ${i + 1}: FAILED ${r.err}`)
      break
    }
    times.push(r.secs)
    if (r.rssKiB != null) rss.push(r.rssKiB)
    log(`  ${label} rep ${i + 1}: ${fmtS(r.secs)}${r.rssKiB != null ? `, peak RSS ${fmtRss(r.rssKiB)}` : ''}`)
  }
  return {times, median: err ? null : median(times), rssKiB: rss.length ? Math.max(...rss) : null, err}
}
const missing = (tool) => ({times: [], median: null, err: `${tool} not installed`})

/**
 * Interleaved reps: rep 1 of every tool, then rep 2 of every tool (order
 * rotated each rep), ... so that a change in background load hits every tool
 * alike. tools = {name: [label, fn(rep)] | null (not installed)}.
 */
function interleave(tools, reps) {
  const out = {}
  const names = Object.keys(tools)
  for (const n of names) out[n] = tools[n] ? {times: [], rss: [], err: null} : missing(n)
  for (let i = 0; i < reps; i++) {
    const order = names.slice(i % names.length).concat(names.slice(0, i % names.length))
    for (const n of order) {
      const o = out[n]
      if (!tools[n] || o.err) continue
      const [label, fn] = tools[n]
      const r = fn(i)
      if (!r.ok) {
        o.err = r.err
        log(`  ${label} rep ${i + 1}: FAILED ${r.err}`)
        continue
      }
      o.times.push(r.secs)
      if (r.rssKiB != null) o.rss.push(r.rssKiB)
      log(`  ${label} rep ${i + 1}: ${fmtS(r.secs)}${r.rssKiB != null ? `, peak RSS ${fmtRss(r.rssKiB)}` : ''}`)
    }
  }
  for (const n of names) {
    const o = out[n]
    if (!tools[n]) continue
    o.median = o.err ? null : median(o.times)
    o.rssKiB = o.rss.length ? Math.max(...o.rss) : null
    delete o.rss
  }
  return out
}

// ---------------------------------------------------------------- A: 1 GiB in 4 random files
function benchA(P) {
  const dir = freshDir(path.join(opt.work, 'A'))
  const data = mkdirp(path.join(dir, 'data'))
  const total = SIZES.aFiles * SIZES.aFile
  log(`A: generating ${SIZES.aFiles} × ${fmtSize(SIZES.aFile)} random files`)
  for (let i = 0; i < SIZES.aFiles; i++) writeRandomFile(path.join(data, `f${i}.bin`), SIZES.aFile)
  const R = (results.A = {bytes: total, label: `${fmtSize(total)} of random data in ${SIZES.aFiles} files`, tools: {}})
  const proj = path.join(dir, 'proj')

  const borgRepo = path.join(dir, 'borgrepo')
  const resticRepo = path.join(dir, 'resticrepo')
  const gitDir = path.join(dir, 'gitrepo.git')
  const annexDir = path.join(dir, 'annex')
  const eR = {...env, RESTIC_REPOSITORY: resticRepo}
  const g = ['--git-dir', gitDir, '--work-tree', data, ...GIT_C]

  log('A: ingest, tools interleaved')
  R.tools = interleave(
    {
      pach: [
        'pach put -r',
        () => {
          freshDir(proj)
          const r = runSeq([
            {...P(proj, 'init'), timed: false},
            {...P(proj, 'create', 'repo', 'data'), timed: false},
            {...P(proj, 'put', 'file', 'data@master', '-r', '-f', data)},
            {
              ...P(proj, 'list', 'file', 'data@master:/data'),
              timed: false,
              check: (x) => (x.stdout.includes(`f${SIZES.aFiles - 1}.bin`) ? null : `list file /data does not show the last file: ${tail(x.stdout, 3)}`),
            },
          ])
          if (r.ok) R.storeBytes = duBytes(path.join(proj, '.pach'))
          rmrf(proj)
          return r
        },
      ],
      borg: have.borg && [
        'borg create',
        () => {
          rmrf(borgRepo)
          const r = runSeq([
            {cmd: 'borg', args: ['init', '-e', 'none', 'borgrepo'], cwd: dir, env, timed: false},
            {cmd: 'borg', args: ['create', 'borgrepo::a', 'data'], cwd: dir, env},
          ])
          rmrf(borgRepo)
          return r
        },
      ],
      restic: have.restic && [
        'restic backup',
        () => {
          rmrf(resticRepo)
          const r = runSeq([
            {cmd: 'restic', args: ['init'], cwd: dir, env: eR, timed: false},
            {cmd: 'restic', args: ['backup', 'data'], cwd: dir, env: eR},
          ])
          rmrf(resticRepo)
          return r
        },
      ],
      git: have.git && [
        'git add+commit',
        () => {
          rmrf(gitDir)
          const r = runSeq([
            {cmd: 'git', args: ['init', '-q', '--bare', gitDir], cwd: dir, env, timed: false},
            {cmd: 'git', args: [...g, 'config', 'core.bare', 'false'], cwd: dir, env, timed: false},
            {cmd: 'git', args: [...g, 'add', '-A'], cwd: data, env},
            {cmd: 'git', args: [...g, 'commit', '-q', '-m', 'x'], cwd: data, env},
          ])
          rmrf(gitDir)
          return r
        },
      ],
      'git-annex': have.annex && [
        'git annex add+commit',
        () => {
          // git annex add moves files into .git/annex: work on a hard-linked copy.
          rmrf(annexDir)
          const cp = spawnSync('cp', ['-al', data, annexDir])
          if (cp.status !== 0) return {ok: false, secs: 0, err: 'cp -al failed'}
          const r = runSeq([
            {cmd: 'git', args: ['init', '-q'], cwd: annexDir, env, timed: false},
            {cmd: 'git', args: ['annex', 'init', '-q', 'bench'], cwd: annexDir, env, timed: false},
            {cmd: 'git', args: [...GIT_C, 'annex', 'add', '-q', '.'], cwd: annexDir, env},
            {cmd: 'git', args: [...GIT_C, 'commit', '-q', '-m', 'x'], cwd: annexDir, env},
          ])
          rmrf(annexDir)
          return r
        },
      ],
    },
    REPS,
  )
}

// ---------------------------------------------------------------- B: many small files
function benchB(P) {
  const dir = freshDir(path.join(opt.work, 'B'))
  const data = mkdirp(path.join(dir, 'data'))
  const {bFiles, bDirs} = SIZES
  const perDir = bFiles / bDirs
  log(`B: generating ${bFiles} files of 1 KiB in ${bDirs} dirs`)
  const dirs = []
  let k = 0
  for (let d = 0; d < bDirs; d++) {
    const dn = `d${String(d).padStart(3, '0')}`
    dirs.push(dn)
    mkdirp(path.join(data, dn))
    const buf = crypto.randomBytes(perDir * 1024)
    for (let i = 0; i < perDir; i++, k++) {
      fs.writeFileSync(path.join(data, dn, `f${String(k).padStart(6, '0')}.bin`), buf.subarray(i * 1024, (i + 1) * 1024))
    }
  }
  const sampleRel = path.join(dirs[bDirs - 1], `f${String(bFiles - 1).padStart(6, '0')}.bin`)
  const sample = fs.readFileSync(path.join(data, sampleRel))
  const R = (results.B = {label: `${bFiles.toLocaleString('en')} files of 1 KiB in ${bDirs} dirs`, files: bFiles, perDir, commit: {}, restore: {}, list: {}})
  const proj = path.join(dir, 'proj')
  const resticRepo = path.join(dir, 'resticrepo')
  const gitDir = path.join(dir, 'gitrepo.git')
  const eR = {...env, RESTIC_REPOSITORY: resticRepo}

  // Restored trees must hold every file, and the sample file byte for byte.
  const checkRestore = (out) => () => {
    const n = countFiles(out)
    if (n !== bFiles) return `restored ${n} files, expected ${bFiles}`
    const f = findFile(out, path.basename(sampleRel))
    if (!f || !fs.readFileSync(f).equals(sample)) return `content of ${sampleRel} differs after restore`
    return null
  }

  // --- commit (tools interleaved; the last rep's stores are kept for list and restore)
  log('B: commit, tools interleaved')
  // Files land at the root: one source per top-level dir, cwd = data.
  const pachSources = dirs.flatMap((d) => ['-f', d])
  const g = ['--git-dir', gitDir, '--work-tree', data, ...GIT_C]
  R.commit = interleave(
    {
      pach: [
        'pach put -r',
        () => {
          freshDir(proj)
          const r = runSeq([
            {...P(proj, 'init'), timed: false},
            {...P(proj, 'create', 'repo', 'data'), timed: false},
            {...P(data, 'put', 'file', 'data@master:/', '-r', ...pachSources), env: {...env, PACH_DIR: path.join(proj, '.pach')}},
          ])
          if (r.ok) R.storeBytes = duBytes(path.join(proj, '.pach'))
          return r
        },
      ],
      restic: have.restic && [
        'restic backup',
        () => {
          rmrf(resticRepo)
          return runSeq([
            {cmd: 'restic', args: ['init'], cwd: dir, env: eR, timed: false},
            {cmd: 'restic', args: ['backup', 'data'], cwd: dir, env: eR},
          ])
        },
      ],
      git: have.git && [
        'git add+commit',
        () => {
          rmrf(gitDir)
          return runSeq([
            {cmd: 'git', args: ['init', '-q', '--bare', gitDir], cwd: dir, env, timed: false},
            {cmd: 'git', args: [...g, 'config', 'core.bare', 'false'], cwd: dir, env, timed: false},
            {cmd: 'git', args: [...g, 'add', '-A'], cwd: data, env},
            {cmd: 'git', args: [...g, 'commit', '-q', '-m', 'x'], cwd: data, env},
          ])
        },
      ],
    },
    REPS,
  )

  // --- list (pach only; absolute time)
  log('B: pach list file')
  const lines = (r) => r.stdout.trim().split('\n').length - 1 // minus header
  R.list.root = R.commit.pach.err
    ? {times: [], median: null, err: 'no pach commit (put failed)'}
    : repeat('pach list file /', REPS, () =>
        runSeq([{...P(proj, 'list', 'file', 'data@master:/'), check: (r) => (lines(r) === bDirs ? null : `listed ${lines(r)} entries, expected ${bDirs}`)}]),
      )
  R.list.dir = R.commit.pach.err
    ? {times: [], median: null, err: 'no pach commit (put failed)'}
    : repeat(`pach list file /${dirs[0]}`, REPS, () =>
        runSeq([{...P(proj, 'list', 'file', `data@master:/${dirs[0]}`), check: (r) => (lines(r) === perDir ? null : `listed ${lines(r)} entries, expected ${perDir}`)}]),
      )

  // --- restore (tools interleaved; each restore is checked)
  const out = path.join(dir, 'out')
  log('B: restore, tools interleaved')
  // A restore's output is moved aside, not deleted, until the phase ends: deleting 100,000
  // files on a filesystem mounted with `discard` (this machine's ext4) slows the writes of the
  // next restore for a minute, whichever tool it is (measured: pach 6.2 s into a fresh
  // directory, 48-68 s right after an rm -rf of the previous output)
  const trash = path.join(dir, 'restored')
  let restores = 0
  const restoreWith = (steps, makeOut = false) => () => {
    if (makeOut) mkdirp(out)
    const r = runSeq(steps)
    if (fs.existsSync(out)) {
      mkdirp(trash)
      fs.renameSync(out, path.join(trash, String(restores++)))
    }
    return r
  }
  R.restore = interleave(
    {
      pach: !R.commit.pach.err && ['pach get -r', restoreWith([{...P(proj, 'get', 'file', 'data@master:/', '-r', '-o', out), check: checkRestore(out)}])],
      git: !R.commit.git.err && [
        'git checkout',
        restoreWith([{cmd: 'git', args: ['--git-dir', gitDir, '--work-tree', out, ...GIT_C, 'checkout', 'HEAD', '--', '.'], cwd: out, env, check: checkRestore(out)}], true),
      ],
      restic: !R.commit.restic.err && [
        'restic restore',
        restoreWith([{cmd: 'restic', args: ['restore', 'latest', '--target', out], cwd: dir, env: eR, check: checkRestore(out)}]),
      ],
    },
    REPS,
  )
  rmrf(trash)
  for (const k of Object.keys(R.restore)) {
    const e = R.commit[k].err
    if (e) R.restore[k] = {times: [], median: null, err: e.endsWith('not installed') ? e : 'no commit to restore from (commit failed)'}
  }
}

// ---------------------------------------------------------------- C: 1 MiB insertion into a 256 MiB file
// Chunk boundaries depend on the data, so the growth varies from one random
// file to the next: each rep uses fresh data and fresh stores; the median
// growth is reported, with every rep's value.
function benchC(P) {
  const R = (results.C = {label: `1 MiB inserted at 100 MiB into a ${fmtSize(SIZES.cFile)} random file`, tools: {}})
  for (const name of ['pach', 'restic', 'borg', 'git']) R.tools[name] = {growths: [], size1s: [], size2s: [], v1: [], v2: []}
  if (!have.restic) R.tools.restic.err = 'restic not installed'
  if (!have.borg) R.tools.borg.err = 'borg not installed'
  if (!have.git) R.tools.git.err = 'git not installed'
  for (let rep = 0; rep < REPS; rep++) {
    benchCRep(P, R, rep)
    rmrf(path.join(opt.work, 'C'))
  }
  for (const S of Object.values(R.tools)) {
    S.growth = median(S.growths)
    S.size1 = median(S.size1s)
    S.size2 = median(S.size2s)
    S.v1Secs = median(S.v1)
    S.v2Secs = median(S.v2)
  }
}

function benchCRep(P, R, rep) {
  const dir = freshDir(path.join(opt.work, 'C'))
  const data = mkdirp(path.join(dir, 'data'))
  const big = path.join(data, 'big.bin')
  const v2 = path.join(dir, 'big.v2')
  log(`C rep ${rep + 1}: generating ${fmtSize(SIZES.cFile)} file and its 1 MiB insertion variant`)
  writeRandomFile(big, SIZES.cFile)
  writeWithInsertion(big, v2, 100 * MiB, crypto.randomBytes(1 * MiB))

  const proj = path.join(dir, 'proj')
  const borgRepo = path.join(dir, 'borgrepo')
  const resticRepo = path.join(dir, 'resticrepo')
  const gitDir = path.join(dir, 'gitrepo.git')
  const eR = {...env, RESTIC_REPOSITORY: resticRepo}
  const g = ['--git-dir', gitDir, '--work-tree', data, ...GIT_C]

  const tools = {
    pach: {
      store: path.join(proj, '.pach'),
      setup: () => (freshDir(proj), runSeq([P(proj, 'init'), P(proj, 'create', 'repo', 'data')])),
      commit: () => runSeq([P(proj, 'put', 'file', 'data@master:/big.bin', '-f', big)]),
    },
    restic: {
      store: resticRepo,
      setup: () => runSeq([{cmd: 'restic', args: ['init'], cwd: dir, env: eR}]),
      commit: () => runSeq([{cmd: 'restic', args: ['backup', 'data'], cwd: dir, env: eR}]),
    },
    borg: {
      store: borgRepo,
      setup: () => runSeq([{cmd: 'borg', args: ['init', '-e', 'none', 'borgrepo'], cwd: dir, env}]),
      commit: (n) => runSeq([{cmd: 'borg', args: ['create', `borgrepo::v${n}`, 'data'], cwd: dir, env}]),
    },
    git: {
      store: gitDir,
      setup: () => runSeq([
        {cmd: 'git', args: ['init', '-q', '--bare', gitDir], cwd: dir, env},
        {cmd: 'git', args: [...g, 'config', 'core.bare', 'false'], cwd: dir, env},
      ]),
      commit: (n) => runSeq([
        {cmd: 'git', args: [...g, 'add', '-A'], cwd: data, env},
        {cmd: 'git', args: [...g, 'commit', '-q', '-m', `v${n}`], cwd: data, env},
      ]),
    },
  }
  const size1 = {}
  const live = Object.keys(tools).filter((k) => !R.tools[k].err)
  // Version 1 for every tool, then version 2 for every tool.
  for (const name of live) {
    const t = tools[name]
    const S = R.tools[name]
    log(`C rep ${rep + 1}: ${name} v1`)
    let r = t.setup()
    if (r.ok) r = t.commit(1)
    if (!r.ok) {
      S.err = r.err
      log(`  ${name}: FAILED ${r.err}`)
      continue
    }
    S.v1.push(r.secs)
    size1[name] = duBytes(t.store)
  }
  fs.renameSync(v2, big)
  for (const name of live) {
    const t = tools[name]
    const S = R.tools[name]
    if (S.err) continue
    log(`C rep ${rep + 1}: ${name} v2`)
    const r = t.commit(2)
    if (!r.ok) {
      S.err = r.err
      log(`  ${name}: FAILED ${r.err}`)
      continue
    }
    const size2 = duBytes(t.store)
    S.v2.push(r.secs)
    S.size1s.push(size1[name])
    S.size2s.push(size2)
    S.growths.push(size2 - size1[name])
    log(`  ${name}: store ${fmtMiB(size1[name])} -> ${fmtMiB(size2)}, growth ${fmtMiB(size2 - size1[name])}`)
  }
  // pach must give back the new version byte for byte.
  if (!R.tools.pach.err) {
    const back = path.join(dir, 'back.bin')
    const r = run(process.execPath, [P(proj).args[0], 'get', 'file', 'data@master:/big.bin', '-o', back], {cwd: proj, env, measureRss: false})
    let v
    if (!r.ok) v = `get file failed: ${r.err}`
    else v = spawnSync('cmp', ['-s', back, big]).status === 0 ? 'ok' : 'DIFFERS from the input'
    R.tools.pach.verify = R.tools.pach.verify && R.tools.pach.verify !== 'ok' ? R.tools.pach.verify : v
    log(`  pach v2 read-back: ${v}`)
  }
}

// ---------------------------------------------------------------- D: cold start
function benchD(P, PACH_BIN) {
  const dir = freshDir(path.join(opt.work, 'D'))
  const proj = mkdirp(path.join(dir, 'proj'))
  fs.writeFileSync(path.join(dir, 'hello.txt'), 'hello\n')
  const R = (results.D = {label: '`pach list repo` in a project with 3 repos', tools: {}})
  const setup = runSeq([
    P(proj, 'init'),
    P(proj, 'create', 'repo', 'images'),
    P(proj, 'create', 'repo', 'labels'),
    P(proj, 'create', 'repo', 'models'),
    P(proj, 'put', 'file', 'images@master:/hello.txt', '-f', path.join(dir, 'hello.txt')),
  ])
  if (!setup.ok) {
    R.tools.pach = {err: setup.err}
    return
  }
  const q = (s) => (/[\s'"]/.test(s) ? `'${s.replace(/'/g, `'\\''`)}'` : s)
  const cmds = {pach: `${q(process.execPath)} ${q(PACH_BIN)} list repo`, node: `${q(process.execPath)} -e 0`}
  if (have.hyperfine) {
    R.method = 'hyperfine -N --warmup 3 --runs 10'
    const json = path.join(dir, 'hf.json')
    log('D: hyperfine')
    const r = run('hyperfine', ['-N', '--warmup', '3', '--runs', '10', '--export-json', json, cmds.pach, cmds.node], {cwd: proj, env, measureRss: false})
    if (r.ok) {
      const hf = JSON.parse(fs.readFileSync(json, 'utf8'))
      ;['pach', 'node'].forEach((k, i) => {
        const x = hf.results[i]
        R.tools[k] = {median: x.median, min: x.min, max: x.max, mean: x.mean, stddev: x.stddev, times: x.times}
      })
      return
    }
    log(`  hyperfine failed (${r.err}); falling back to 10 plain runs`)
  }
  R.method = '10 runs after 3 warm-ups, median (no hyperfine)'
  const manual = (cmd, args) => {
    for (let i = 0; i < 3; i++) run(cmd, args, {cwd: proj, env, measureRss: false})
    const t = []
    for (let i = 0; i < 10; i++) {
      const r = run(cmd, args, {cwd: proj, env, measureRss: false})
      if (!r.ok) return {err: r.err}
      t.push(r.secs)
    }
    return {median: median(t), min: Math.min(...t), max: Math.max(...t), times: t}
  }
  R.tools.pach = manual(process.execPath, [PACH_BIN, 'list', 'repo'])
  R.tools.node = manual(process.execPath, ['-e', '0'])
}

// ---------------------------------------------------------------- E: memory on a big file
function benchE(P) {
  const dir = freshDir(path.join(opt.work, 'E'))
  const huge = path.join(dir, 'huge.bin')
  log(`E: generating ${fmtSize(SIZES.eFile)} file (fresh random 64 MiB pieces)`)
  writeRandomFile(huge, SIZES.eFile, 64 * MiB)
  const R = (results.E = {label: `put of one ${(SIZES.eFile / GiB).toFixed(0)} GiB random file`, bytes: SIZES.eFile})
  const proj = path.join(dir, 'proj')
  R.pach = repeat('pach put big file', REPS, () => {
    freshDir(proj)
    const r = runSeq([
      {...P(proj, 'init'), timed: false},
      {...P(proj, 'create', 'repo', 'data'), timed: false},
      P(proj, 'put', 'file', 'data@master:/huge.bin', '-f', huge),
      {
        ...P(proj, 'inspect', 'file', 'data@master:/huge.bin', '--json'),
        timed: false,
        check: (x) => (x.stdout.includes(String(SIZES.eFile)) ? null : `inspect file does not report size ${SIZES.eFile}: ${tail(x.stdout, 2)}`),
      },
    ])
    if (r.ok) R.storeBytes = duBytes(path.join(proj, '.pach'))
    rmrf(proj)
    return r
  })
  if (!TIME_BIN) R.pach.note = '/usr/bin/time missing (apt-get install -y time): no RSS'
}

// ---------------------------------------------------------------- report
function render() {
  const L = []
  const m = machine
  L.push(`Run: **${opt.quick ? 'quick (--quick, 1 rep, smaller data)' : `full (${REPS} reps, median)`}**, ${m.date.slice(0, 16).replace('T', ' ')} UTC, ${m.totalSecs} s in all.`)
  L.push('')
  L.push(`Machine: ${m.nproc} cores (${m.cpu}), ${m.mem} RAM, ${m.kernel}, ${m.fs} file system; load average ${m.loadStart} at start, ${m.loadEnd} at end ` +
    '(other processes, e.g. test suites, may have run concurrently: read ratios, not absolute times). Page cache is warm for every tool alike (caches cannot be dropped here).')
  L.push('')
  L.push(`Versions: node ${m.node}, pach ${m.pach}, git ${m.git}, git-annex ${m.annex}, ${m.restic}, ${m.borg}, ${m.hyperfine}.`)
  L.push('')

  // Summary
  const sum = []
  const row = (...c) => sum.push(`| ${c.join(' | ')} |`)
  const A = results.A
  const B = results.B
  const C = results.C
  const D = results.D
  const E = results.E
  const st = (x) => (x?.err ? 'failed' : fmtS(x?.median))
  row('Set', 'Measurement', 'pach', 'Anchor', 'Ratio', 'Target', 'Result')
  row('---', '---', '---:', '---:', '---:', '---', '---')
  if (A) {
    const p = A.tools.pach
    const b = A.tools.borg
    const ratio = p?.median && b?.median ? b.median / p.median : null
    row('A', `ingest, ${A.label}`, st(p), `borg ${st(b)}`, `${fmtX(ratio)} (borg/pach)`, '≥ 1× (aim 2×)', ratio == null ? '–' : ratio >= 2 ? '✅ met (aim too)' : verdict(ratio >= 1))
  }
  if (B) {
    const p = B.commit.pach
    const r = B.commit.restic
    const ratio = p?.median && r?.median ? r.median / p.median : null
    row('B', `commit, ${B.label}`, st(p), `restic ${st(r)}`, `${fmtX(ratio)} (restic/pach)`, 'pach ≤ restic (≥ 1×)', ratio == null ? '–' : verdict(ratio >= 1))
    const pr = B.restore.pach
    const gr = B.restore.git
    const ratio2 = pr?.median && gr?.median ? gr.median / pr.median : null
    row('B', 'restore (get -r / checkout)', st(pr), `git ${st(gr)}`, `${fmtX(ratio2)} (git/pach)`, 'pach ≤ git (≥ 1×)', ratio2 == null ? '–' : verdict(ratio2 >= 1))
    row('B', `list file / (${B.files.toLocaleString('en')}-file commit)`, st(B.list.root), '–', '–', '< 1 s', B.list.root?.median == null ? '–' : verdict(B.list.root.median < 1))
    row('B', `list file of one ${B.perDir.toLocaleString('en')}-file dir`, st(B.list.dir), '–', '–', '< 1 s', B.list.dir?.median == null ? '–' : verdict(B.list.dir.median < 1))
  }
  if (C) {
    const g = (t) => (t?.err ? 'failed' : fmtMiB(t?.growth))
    const p = C.tools.pach
    row('C', `store growth, ${C.label}`, g(p), `restic ${g(C.tools.restic)}, borg ${g(C.tools.borg)}, git ${g(C.tools.git)}`, '–', '< 4 MiB', p?.growth == null ? '–' : verdict(p.growth < 4 * MiB))
  }
  if (D) {
    const p = D.tools.pach
    const n = D.tools.node
    row('D', `cold start, ${D.label}`, p?.err ? 'failed' : fmtS(p?.median), `\`node -e 0\` ${n?.err ? 'failed' : fmtS(n?.median)}`, p?.median && n?.median ? `${fmtX(p.median / n.median)} (pach/node)` : '–', '< 250 ms where node starts in 90 ms: pach/node ≤ 2.78×', p?.median == null ? '–' : verdict(p.median < 0.25 || (n?.median != null && p.median / n.median <= 0.25 / 0.09)))
  }
  if (E) {
    const p = E.pach
    const tput = p?.median ? E.bytes / MiB / p.median : null
    row('E', `peak RSS, ${E.label}`, p?.err ? 'failed' : fmtRss(p?.rssKiB), '–', '–', '< 300 MiB', p?.rssKiB == null ? '–' : verdict(p.rssKiB < 300 * 1024))
    row('E', 'ingest throughput of that file', p?.err ? 'failed' : tput ? `${tput.toFixed(0)} MiB/s (${fmtS(p.median)})` : '–', '–', '–', '(report)', '–')
  }
  L.push('### Summary')
  L.push('')
  L.push(...sum)
  L.push('')

  // Details
  const detail = (title, head, rows) => {
    L.push(`### ${title}`)
    L.push('')
    L.push(`| ${head.join(' | ')} |`)
    L.push(`| ${head.map((_, i) => (i ? '---:' : '---')).join(' | ')} |`)
    for (const r of rows) L.push(`| ${r.join(' | ')} |`)
    L.push('')
  }
  const runs = (x) => (x?.times?.length ? x.times.map((t) => t.toFixed(2)).join(', ') : '–')
  const failures = []
  const noteFail = (what, x) => {
    if (x?.err) failures.push(`- ${what}: ${x.err.replace(/\|/g, '\\|')}`)
  }

  if (A) {
    const p = A.tools.pach?.median
    detail(`A. Ingest: ${A.label}`, ['Tool', 'Median', 'MiB/s', 'Ratio tool/pach', 'Peak RSS', 'Runs (s)'],
      Object.entries(A.tools).map(([k, x]) => {
        noteFail(`A ${k}`, x)
        return [k, st(x), x?.median ? (A.bytes / MiB / x.median).toFixed(0) : '–', k === 'pach' ? '1.00×' : p && x?.median ? fmtX(x.median / p) : '–', fmtRss(x?.rssKiB), runs(x)]
      }))
    L.push(`Timed: the data step only (\`pach put file -r\`, \`borg create\`, \`restic backup\`, \`git add -A\` + \`git commit\`, \`git annex add\` + \`git commit\`); \`init\` / \`create repo\` are not timed. pach store after ingest: ${fmtMiB(A.storeBytes)}.`)
    L.push('')
  }
  if (B) {
    const rows = []
    for (const [phase, set] of [['commit', B.commit], ['restore', B.restore]]) {
      const p = set.pach?.median
      for (const [k, x] of Object.entries(set)) {
        noteFail(`B ${phase} ${k}`, x)
        rows.push([`${phase}: ${k}`, st(x), k === 'pach' ? '1.00×' : p && x?.median ? fmtX(x.median / p) : '–', fmtRss(x?.rssKiB), runs(x)])
      }
    }
    for (const [k, x] of Object.entries(B.list)) {
      noteFail(`B list ${k}`, x)
      rows.push([`pach list file ${k === 'root' ? '/' : `/d000 (${B.perDir} files)`}`, st(x), '–', fmtRss(x?.rssKiB), runs(x)])
    }
    detail(`B. Small files: ${B.label}`, ['Step: tool', 'Median', 'Ratio tool/pach', 'Peak RSS', 'Runs (s)'], rows)
    L.push(`Commit = \`pach put file data@master:/ -r -f d000 … -f d099\` (files at the root), \`restic backup data\`, \`git add -A\` + \`git commit\`. Restore = \`pach get file data@master:/ -r -o out\`, \`git --work-tree=<empty> checkout HEAD -- .\`, \`restic restore latest --target out\`; every restore is checked (file count and one file's bytes). pach store: ${fmtMiB(B.storeBytes)}.`)
    L.push('')
  }
  if (C) {
    detail(`C. Delta: ${C.label}`, ['Tool', 'Store after v1', 'Store after v2', 'Growth (median)', 'Growth per rep (MiB)', 'v1 put', 'v2 put'],
      Object.entries(C.tools).map(([k, x]) => {
        noteFail(`C ${k}`, x)
        const per = x?.growths?.length ? x.growths.map((b) => (b / MiB).toFixed(1)).join(', ') : '–'
        return [k, x?.err ? 'failed' : fmtMiB(x.size1), fmtMiB(x.size2), x?.err ? 'failed' : fmtMiB(x.growth), per, fmtS(x?.v1Secs), fmtS(x?.v2Secs)]
      }))
    L.push(`Store size is \`du -sb\` of \`.pach\`, the restic repo, the borg repo and \`.git\`. pach read-back of v2: ${C.tools.pach?.verify ?? '–'}. Each rep uses a fresh random file and fresh stores (growth depends on where chunk boundaries fall). Reference numbers from the issue: restic 2.1 MiB, borg 7.6 MiB, git 257 MiB.`)
    L.push('')
  }
  if (D) {
    detail(`D. Cold start: ${D.label}`, ['Command', 'Median', 'Min', 'Max'],
      Object.entries(D.tools).map(([k, x]) => {
        noteFail(`D ${k}`, x)
        return [k === 'pach' ? '`pach list repo`' : '`node -e 0`', x?.err ? 'failed' : fmtS(x?.median), fmtS(x?.min), fmtS(x?.max)]
      }))
    L.push(`Method: ${D.method ?? '–'}.`)
    L.push('')
  }
  if (E) {
    noteFail('E pach', E.pach)
    detail(`E. Memory: ${E.label}`, ['Tool', 'Median time', 'MiB/s', 'Peak RSS (max of runs)', 'Runs (s)'],
      [['pach', st(E.pach), E.pach?.median ? (E.bytes / MiB / E.pach.median).toFixed(0) : '–', fmtRss(E.pach?.rssKiB), runs(E.pach)]])
    L.push(`\`pach put file data@master:/huge.bin -f huge.bin\` under \`/usr/bin/time -f %M\`; the file is fresh random 64 MiB pieces (nothing dedups). pach store after: ${fmtMiB(E.storeBytes)}.${E.pach?.note ? ' ' + E.pach.note : ''}`)
    L.push('')
  }
  for (const [k, v] of Object.entries(results)) if (v.crashed) failures.push(`- data set ${k} crashed: ${v.crashed}`)
  L.push('### Failures')
  L.push('')
  L.push(failures.length ? failures.join('\n') : 'None.')
  return L.join('\n')
}

function writeReadme(report) {
  const file = path.join(HERE, 'README.md')
  const start = '<!-- results:start -->'
  const end = '<!-- results:end -->'
  const block = `${start}\n${report}\n${end}`
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `# pach storage benchmark\n\n## Results\n\n${start}\n${end}\n`
  const i = text.indexOf(start)
  const j = text.indexOf(end)
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length)
  else text += `\n## Results\n\n${block}\n`
  fs.writeFileSync(file, text)
  log(`results written to ${path.relative(ROOT, file)}`)
}

main()
