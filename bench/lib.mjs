// Shared by the benchmark scripts (bench/run.mjs, pipelines.mjs, torture.mjs, history.mjs, scale.mjs, scale-jobs.mjs, dedup.mjs, binary.mjs).
import {spawn, spawnSync} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

/**
 * Copy the built CLI (bin, dist, package.json, manifest; node_modules linked) to `<work>/pach-cli`
 * and return its bin/run.js, so a concurrent `npm run build` in the source tree cannot change
 * the binary half-way through a benchmark. Builds first when dist/ is missing; retries a broken
 * build a minute apart.
 */
export function snapshotPach({root, work, log, tail, freshDir, sleep, attempts = 4}) {
  const dst = path.join(work, 'pach-cli')
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (!fs.existsSync(path.join(root, 'dist', 'commands'))) {
      log('dist/ missing: running npm run build')
      const b = spawnSync('npm', ['run', 'build'], {cwd: root, encoding: 'utf8'})
      if (b.status !== 0) {
        log(`build failed (attempt ${attempt}): ${tail(b.stderr || b.stdout, 3)}; retrying in 60 s`)
        sleep(60_000)
        continue
      }
    }
    freshDir(dst)
    for (const f of ['bin', 'dist', 'package.json', 'oclif.manifest.json']) {
      if (fs.existsSync(path.join(root, f))) fs.cpSync(path.join(root, f), path.join(dst, f), {recursive: true})
    }
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dst, 'node_modules'))
    const bin = path.join(dst, 'bin', 'run.js')
    const v = spawnSync(process.execPath, [bin, 'version'], {encoding: 'utf8'})
    if (v.status === 0) return bin
    log(`pach snapshot does not run (attempt ${attempt}): ${tail(v.stderr, 3)}; retrying in 60 s`)
    sleep(60_000)
  }
  throw new Error('could not get a working pach build (npm run build failed or dist/ is broken)')
}

/** The value of `--name VALUE` on the command line, or `dflt`. */
export function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? dflt : process.argv[i + 1]
}

/** Median of the finite values (mean of the middle two for an even count); null when there are none. */
export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (!v.length) return null
  const m = Math.floor(v.length / 2)
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}

/**
 * Run a process with its stdout drained: ms to its first stdout byte, and to its end. Rejects
 * on a non-zero exit. With `time` (the path of GNU time), the process runs under `time -f %M`
 * and `kib` is its peak RSS in KiB. `env`: the process's environment (default: this one's).
 */
export function firstLine(cmd, args, cwd, {time, env} = {}) {
  return new Promise((res, rej) => {
    const t = process.hrtime.bigint()
    let at
    let err = ''
    const p = time ? spawn(time, ['-f', '%M', cmd, ...args], {cwd, env, stdio: ['ignore', 'pipe', 'pipe']}) : spawn(cmd, args, {cwd, env, stdio: ['ignore', 'pipe', 'ignore']})
    p.stdout.on('data', () => (at ??= Number(process.hrtime.bigint() - t) / 1e6))
    p.stderr?.on('data', (b) => (err += b))
    p.on('error', rej)
    p.on('close', (code) => {
      const total = Number(process.hrtime.bigint() - t) / 1e6
      if (code !== 0) return rej(new Error(`${cmd} exited ${code}: ${err.slice(-500)}`))
      res({first: at, total, kib: time ? Number(err.trim().split('\n').at(-1)) : undefined})
    })
  })
}

/**
 * Timing whole processes (output dropped). `wall(cmd, args, cwd, {input, rss})` returns
 * `{ms, kib}`; with `rss`, kib is the peak RSS: through `time` (`/usr/bin/time -f %M`) when
 * given, else, for node processes only, through a preload written into `work` that reports
 * `process.resourceUsage().maxRSS` on exit (`withRss(args)` gives a node process's args and env
 * for it, `readRss()` reads what the last one reported). A failing process throws.
 */
export function processTimer({work, time}) {
  const node = process.execPath
  const devnull = fs.openSync('/dev/null', 'w')
  fs.mkdirSync(work, {recursive: true})
  const preload = path.join(work, 'rss-preload.cjs')
  fs.writeFileSync(preload, "process.on('exit', () => require('node:fs').writeFileSync(process.env.PACH_BENCH_RSS, String(process.resourceUsage().maxRSS)))\n")
  const rssFile = path.join(work, 'rss')
  const withRss = (args) => ({args: ['--require', preload, ...args], env: {...process.env, PACH_BENCH_RSS: rssFile}})
  const readRss = () => Number(fs.readFileSync(rssFile, 'utf8'))
  const wall = (cmd, args, cwd, {input, rss} = {}) => {
    let [c, a, env] = [cmd, args, process.env]
    if (rss && time) [c, a] = [time, ['-f', '%M', cmd, ...args]]
    else if (rss && cmd === node) ({args: a, env} = withRss(args))
    const t = process.hrtime.bigint()
    const r = spawnSync(c, a, {cwd, input, env, stdio: [input === undefined ? 'ignore' : 'pipe', devnull, 'pipe'], encoding: 'utf8'})
    const ms = Number(process.hrtime.bigint() - t) / 1e6
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
    let kib
    if (rss && time) kib = Number(r.stderr.trim().split('\n').at(-1))
    else if (rss && cmd === node) kib = readRss()
    return {ms, kib}
  }
  return {wall, withRss, readRss}
}

/** Bytes of the regular files under a directory (directories themselves not counted). */
export function dirBytes(dir) {
  let n = 0
  for (const e of fs.readdirSync(dir, {withFileTypes: true, recursive: true})) if (e.isFile()) n += fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size
  return n
}

/** `du -sb DIR` (apparent bytes, directories included), or null without GNU du. */
export function duBytes(dir) {
  const r = spawnSync('du', ['-sb', dir], {encoding: 'utf8'})
  return r.status === 0 ? Number(r.stdout.split(/\s/)[0]) : null
}

/** `du -sk DIR` in bytes: the disk blocks it takes (a 60-byte file takes a 4 KiB block), or null. */
export function duDisk(dir) {
  const r = spawnSync('du', ['-sk', dir], {encoding: 'utf8'})
  return r.status === 0 ? Number(r.stdout.split(/\s/)[0]) * 1024 : null
}

/**
 * Where a `.pach` keeps its bytes (pach closed): its files (pach.db, WAL, packs, the rest), and
 * inside pach.db, per table with its indexes, the pages (dbstat), the rows and, for trees, the
 * encoded bytes; the free pages SQLite keeps for reuse. `Database` is better-sqlite3.
 */
export function pachBreakdown(pachDir, Database) {
  const files = {db: 0, wal: 0, shm: 0, packs: 0, packFiles: 0, other: 0}
  for (const e of fs.readdirSync(pachDir, {withFileTypes: true, recursive: true})) {
    if (!e.isFile()) continue
    const full = path.join(e.parentPath ?? e.path, e.name)
    const size = fs.statSync(full).size
    const rel = path.relative(pachDir, full)
    if (rel === 'pach.db') files.db += size
    else if (rel === 'pach.db-wal') files.wal += size
    else if (rel === 'pach.db-shm') files.shm += size
    else if (rel.startsWith(path.join('objects', 'packs'))) {
      files.packs += size
      files.packFiles++
    } else files.other += size
  }
  const db = new Database(path.join(pachDir, 'pach.db'), {readonly: true})
  try {
    const pageSize = db.pragma('page_size', {simple: true})
    const pages = db.pragma('page_count', {simple: true})
    const free = db.pragma('freelist_count', {simple: true})
    // every b-tree (table or index) with the table it belongs to
    const owner = new Map(db.prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')").all().map((r) => [r.name, r.tbl_name]))
    const tables = new Map()
    for (const r of db.prepare('SELECT name, SUM(pgsize) AS bytes, COUNT(*) AS pages FROM dbstat GROUP BY name').all()) {
      const t = owner.get(r.name) ?? r.name
      const x = tables.get(t) ?? {bytes: 0, indexBytes: 0, rows: null}
      if (t === r.name) x.bytes += r.bytes
      else x.indexBytes += r.bytes
      tables.set(t, x)
    }
    for (const [t, x] of tables) {
      if (t.startsWith('sqlite_')) continue
      x.rows = db.prepare(`SELECT COUNT(*) AS n FROM "${t.replace(/"/g, '""')}"`).get().n
    }
    const treeData = db.prepare('SELECT COALESCE(SUM(length(data)), 0) AS n FROM trees').get().n
    return {files, pageSize, dbPages: pages * pageSize, freeBytes: free * pageSize, tables, treeData}
  } finally {
    db.close()
  }
}

/**
 * Replace the part of bench/README.md between `<!-- NAME:start -->` and `<!-- NAME:end -->`
 * with `report` (the markers stay); `log` says so when the markers are missing.
 */
export function replaceReadmeSection(name, report, log) {
  const file = path.join(path.dirname(new URL(import.meta.url).pathname), 'README.md')
  const start = `<!-- ${name}:start -->`
  const text = fs.readFileSync(file, 'utf8')
  const a = text.indexOf(start)
  const b = text.indexOf(`<!-- ${name}:end -->`)
  if (a < 0 || b < 0) log(`bench/README.md has no ${name}:start / ${name}:end markers: not updated`)
  else fs.writeFileSync(file, `${text.slice(0, a + start.length)}\n${report}\n${text.slice(b)}`)
}

/** A file of `size` fresh random bytes (8 MiB pieces; nothing in it deduplicates). */
export function randomFile(file, size) {
  const fd = fs.openSync(file, 'w')
  const buf = Buffer.alloc(8 << 20)
  for (let left = size; left > 0; left -= buf.length) {
    crypto.randomFillSync(buf)
    fs.writeSync(fd, buf, 0, Math.min(buf.length, left))
  }
  fs.closeSync(fd)
}

/** Block this thread for `ms` (the benches' waits between synchronous steps). */
export const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/** The last `n` lines of a process's output, on one line. */
export const tail = (s, n) => String(s).trim().split('\n').slice(-n).join(' / ')

/** An empty directory at `d` (whatever was there is removed). */
export function freshDir(d) {
  fs.rmSync(d, {recursive: true, force: true})
  fs.mkdirSync(d, {recursive: true})
}

/**
 * The pid of the process that serves, for a `pach serve` started as `pid`: on glibc it
 * re-executes itself once with malloc tuned (src/cli/malloc-reexec.ts) and its child serves.
 * Call it once the server has printed its address (the child prints it).
 */
export function servingPid(pid) {
  const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
  return kids ? Number(kids.split(' ')[0]) : pid
}

/** CPU seconds (user + system) process `pid` has used so far (Linux /proc; NaN once it is gone). */
export function cpuSeconds(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) / 100 // USER_HZ, as Linux reports it in /proc/PID/stat
  } catch {
    return NaN
  }
}
