// Dedup worst case (issue 11): what a 1 MiB insertion into a large random file adds to `.pach`,
// per chunker configuration, and what each configuration costs at ingest and for small files.
//
// For each configuration of --configs (default: `fastcdc-gear32-v1` with 256 KiB / 1 MiB / 4 MiB,
// what stores made before v2 keep; `fastcdc-gear32-v2` with the sizes of new stores; and v2 with
// 64 KiB / 256 KiB / 1 MiB, the road not taken) and each
// size of --sizes (default 64 and 256 MiB), TRIALS trials (default 10). Trial t of a size is the
// same data for every configuration (paired): a file of seeded random bytes (AES-128-CTR
// keystream), then the same file with 1 MiB of new seeded random bytes inserted at a seeded random
// offset. Each trial is a fresh project (`initPach`, then config.json's `chunker` set to the
// configuration, as an existing store would have it), the file put at /f.bin as one commit and the
// new version put at the same path as a second commit, through the library in dist/. Growth =
// bytes of the files under `.pach` (lib.mjs dirBytes, pach closed so the WAL is checkpointed)
// after the second commit minus after the first. The first trial of each size reads v2 back and
// compares it. Then:
//   - ingest: `pach put file R@master:/big.bin -f big.bin` (the CLI, fsync on as in a new project)
//     of one 256 MiB random file into a fresh project per configuration, and `borg create` of it
//     into a fresh `-e none` repository when borg is installed; reps interleaved, median of REPS;
//   - small files: SMALL files (default 100,000) of 1 KiB in 100 directories, one commit through
//     the library: `.pach` bytes and blob rows per configuration (every file is smaller than any
//     configuration's minimum, so it is one chunk whatever the sizes).
//
//   npm run build && node bench/dedup.mjs [--sizes 64,256] [--trials 10] [--reps 3] [--small 100000]
//        [--configs v1:256K/1M/4M,v2:32K/128K/512K,v2:64K/256K/1M] [--ingest 256] [--work DIR] [--no-readme] [--keep]
//
// The markdown report goes to stdout and replaces the part of bench/README.md between the
// `dedup:start` / `dedup:end` markers (unless --no-readme). ~2-3 minutes on 2 cores.
import {spawnSync} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {arg, dirBytes, median, processTimer, replaceReadmeSection} from './lib.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const KiB = 1024
const MiB = 1024 * 1024
const SIZES = String(arg('sizes', '64,256')).split(',').map(Number)
const TRIALS = Number(arg('trials', 10))
const REPS = Number(arg('reps', 3))
const SMALL = Number(arg('small', 100_000))
const INGEST_MIB = Number(arg('ingest', 256))
const KEEP = process.argv.includes('--keep')
const README = !process.argv.includes('--no-readme')
const work = path.resolve(arg('work', path.join(root, 'bench', '.work', 'dedup')))
const bin = path.join(root, 'bin', 'run.js')
const node = process.execPath
const log = (s) => process.stderr.write(`${s}\n`)
const t0 = performance.now()
const loadStart = os.loadavg()

if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) throw new Error('dist/ missing: run `npm run build` first')
const {initPach, openPach, parseCommit, parseFile} = await import(path.join(root, 'dist', 'index.js'))
const {default: Database} = await import('better-sqlite3')

/** `v2:32K/128K/512K` → {name, chunker: {algorithm, minSize, avgSize, maxSize}}. */
const size = (s) => Number(s.slice(0, -1)) * (s.endsWith('M') ? MiB : s.endsWith('K') ? KiB : NaN)
const CONFIGS = String(arg('configs', 'v1:256K/1M/4M,v2:32K/128K/512K,v2:64K/256K/1M'))
  .split(',')
  .map((spec) => {
    const [v, sizes] = spec.split(':')
    const [minSize, avgSize, maxSize] = sizes.split('/').map(size)
    if (![minSize, avgSize, maxSize].every(Number.isSafeInteger)) throw new Error(`--configs: bad sizes in ${spec} (e.g. v2:32K/128K/512K)`)
    return {name: `${v} ${sizes.replaceAll('/', ' / ')}`, chunker: {algorithm: `fastcdc-gear32-${v}`, minSize, avgSize, maxSize}}
  })

/** `n` seeded pseudo-random bytes: the AES-128-CTR keystream under a key derived from `seed`. */
function prng(n, seed) {
  const key = crypto.createHash('sha256').update(`dedup-bench ${seed}`).digest().subarray(0, 16)
  const c = crypto.createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()])
}
/** A seeded offset in [0, n]. */
const offsetOf = (n, seed) => prng(8, `offset ${seed}`).readUInt32LE(0) % (n + 1)

// lib.mjs's wall() runs processes in this environment
Object.assign(process.env, {PACH_PROJECT: 'default', BORG_BASE_DIR: path.join(work, 'home', 'borg'), BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes', BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes'})
delete process.env.PACH_DIR
const {wall} = processTimer({work})

/** A fresh project at `dir` whose store uses `chunker` (config.json edited as pach init leaves it). */
function project(dir, chunker, {fsync} = {}) {
  fs.rmSync(dir, {recursive: true, force: true})
  fs.mkdirSync(dir, {recursive: true})
  initPach(dir).close()
  const file = path.join(dir, '.pach', 'config.json')
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'))
  cfg.chunker = {...chunker}
  if (fsync !== undefined) cfg.fsync = fsync
  fs.writeFileSync(file, JSON.stringify(cfg, null, 2) + '\n')
  const pach = openPach({cwd: dir})
  pach.repos.create('default', 'R')
  pach.close()
}
const source = (buf) => ({
  path: '/f.bin',
  open: async function* () {
    for (let o = 0; o < buf.length; o += MiB) yield buf.subarray(o, o + MiB)
  },
})
const blobRows = (pachDir) => {
  const db = new Database(path.join(pachDir, 'pach.db'), {readonly: true})
  try {
    return db.prepare('SELECT COUNT(*) AS n FROM blobs').get().n
  } finally {
    db.close()
  }
}

fs.rmSync(work, {recursive: true, force: true})
fs.mkdirSync(work, {recursive: true})

// ---- 1. growth after a 1 MiB insertion ----
const growth = new Map() // `${config}|${size}` → {bytes: number[], offsets: number[], v1Blobs: number[]}
let readBack = 'ok'
for (const mib of SIZES) {
  for (let t = 0; t < TRIALS; t++) {
    const n = mib * MiB
    const v1 = prng(n, `file ${mib} ${t}`)
    const at = offsetOf(n, `${mib} ${t}`)
    const v2 = Buffer.concat([v1.subarray(0, at), prng(MiB, `insert ${mib} ${t}`), v1.subarray(at)])
    for (const c of CONFIGS) {
      const dir = path.join(work, 'trial')
      const pachDir = path.join(dir, '.pach')
      project(dir, c.chunker, {fsync: false}) // sizes do not depend on fsync; it only slows the trials
      let pach = openPach({cwd: dir})
      await pach.files.put('default', parseCommit('R@master'), [source(v1)])
      pach.close()
      const before = dirBytes(pachDir)
      const blobs1 = blobRows(pachDir)
      pach = openPach({cwd: dir})
      await pach.files.put('default', parseCommit('R@master'), [source(v2)])
      if (t === 0 && !pach.files.readAll('default', parseFile('R@master:/f.bin')).equals(v2)) {
        readBack = `MISMATCH (${c.name}, ${mib} MiB)`
        log(`read-back of v2 differs: ${c.name}, ${mib} MiB`)
      }
      pach.close()
      const g = dirBytes(pachDir) - before
      const k = `${c.name}|${mib}`
      if (!growth.has(k)) growth.set(k, {bytes: [], offsets: [], blobs: [], overhead: []})
      growth.get(k).bytes.push(g)
      growth.get(k).offsets.push(at)
      growth.get(k).blobs.push(blobs1)
      growth.get(k).overhead.push(before - n)
      log(`${mib} MiB trial ${t + 1}/${TRIALS}, insert at ${(at / MiB).toFixed(1)} MiB, ${c.name}: +${(g / MiB).toFixed(2)} MiB (${blobs1} chunks in v1)`)
    }
  }
}

// ---- 2. ingest of one INGEST_MIB random file: CLI put per configuration, and borg ----
const ingestDir = path.join(work, 'ingest')
fs.mkdirSync(ingestDir, {recursive: true})
const big = path.join(ingestDir, 'big.bin')
fs.writeFileSync(big, prng(INGEST_MIB * MiB, 'ingest'))
const haveBorg = spawnSync('borg', ['--version']).status === 0
const ingest = new Map(CONFIGS.map((c) => [c.name, []]))
if (haveBorg) ingest.set('borg', [])
const tools = [...ingest.keys()]
for (let rep = 0; rep < REPS; rep++) {
  const order = tools.map((_, i) => tools[(i + rep) % tools.length]) // rotated, so a load change hits every tool alike
  for (const tool of order) {
    const dir = path.join(ingestDir, 'store')
    if (tool === 'borg') {
      fs.rmSync(dir, {recursive: true, force: true})
      spawnSync('borg', ['init', '-e', 'none', dir], {stdio: 'ignore'})
      ingest.get(tool).push(wall('borg', ['create', `${dir}::a`, 'big.bin'], ingestDir).ms)
    } else {
      project(dir, CONFIGS.find((c) => c.name === tool).chunker)
      ingest.get(tool).push(wall(node, [bin, 'put', 'file', 'R@master:/big.bin', '-f', big], dir).ms)
    }
    log(`ingest ${INGEST_MIB} MiB rep ${rep + 1}, ${tool}: ${(ingest.get(tool).at(-1) / 1000).toFixed(2)} s`)
    fs.rmSync(dir, {recursive: true, force: true})
  }
}

// ---- 3. small files: SMALL files of 1 KiB in 100 directories, one commit ----
const small = new Map()
if (SMALL > 0) {
  for (const c of CONFIGS) {
    const dir = path.join(work, 'small')
    project(dir, c.chunker)
    const pach = openPach({cwd: dir})
    const t = performance.now()
    await pach.files.put(
      'default',
      parseCommit('R@master'),
      Array.from({length: SMALL}, (_, i) => ({
        path: `/d${String(i % 100).padStart(3, '0')}/f${String(i).padStart(6, '0')}`,
        open: async function* () {
          yield prng(KiB, `small ${i}`)
        },
      })),
    )
    const ms = performance.now() - t
    pach.close()
    small.set(c.name, {bytes: dirBytes(path.join(dir, '.pach')), blobs: blobRows(path.join(dir, '.pach')), ms})
    log(`small files, ${c.name}: ${(small.get(c.name).bytes / MiB).toFixed(1)} MiB, ${small.get(c.name).blobs} blobs, ${(ms / 1000).toFixed(1)} s`)
  }
}
if (!KEEP) fs.rmSync(work, {recursive: true, force: true})

// ---- report ----
const mb = (v) => `${(v / MiB).toFixed(2)} MiB`
const sec = (ms) => `${(ms / 1000).toFixed(2)} s`
const out = (cmd, args) => spawnSync(cmd, args, {cwd: root, encoding: 'utf8'}).stdout.trim()
const L = []
L.push(
  `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`pach\` at \`${out('git', ['rev-parse', '--short', 'HEAD'])}\`, ${TRIALS} trials per size, ingest median of ${REPS}, ${((performance.now() - t0) / 1000).toFixed(0)} s in all.`,
  `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} at start, ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} at end (shared with other agents: read medians and ratios); node ${process.version}${haveBorg ? `; ${out('borg', ['--version'])}` : ''}.`,
  '',
  `| Chunker (min / avg / max) | File | Growth: worst of ${TRIALS} | median | best | Chunks in the file | Metadata after the first put (.pach − file) | Target (issue 11) |`,
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
)
for (const c of CONFIGS) {
  for (const mib of SIZES) {
    const g = growth.get(`${c.name}|${mib}`)
    const worst = Math.max(...g.bytes)
    L.push(`| ${c.name} | ${mib} MiB | ${mb(worst)} | ${mb(median(g.bytes))} | ${mb(Math.min(...g.bytes))} | ${median(g.blobs)} | ${(median(g.overhead) / KiB).toFixed(0)} KiB | ≤ 3 MiB worst: ${worst <= 3 * MiB ? 'met' : '**not met**'} |`)
  }
}
L.push('', `Growth per trial (MiB, trial order; insert offsets in MiB): ${SIZES.map((mib) => `${mib} MiB at ${growth.get(`${CONFIGS[0].name}|${mib}`).offsets.map((o) => (o / MiB).toFixed(1)).join(', ')}`).join('; ')}.`, '')
for (const c of CONFIGS) L.push(`- ${c.name}: ${SIZES.map((mib) => `${mib} MiB: ${growth.get(`${c.name}|${mib}`).bytes.map((b) => (b / MiB).toFixed(2)).join(', ')}`).join('; ')}`)
L.push('', `Read-back of the second version (first trial of each size, every configuration): ${readBack}.`, '')
L.push(`| Ingest of one ${INGEST_MIB} MiB random file | Median | Runs (s) | Time / borg's |`, '| --- | ---: | ---: | ---: |')
const borgMs = haveBorg ? median(ingest.get('borg')) : null
for (const tool of tools) {
  const m = median(ingest.get(tool))
  const label = tool === 'borg' ? '`borg create` (`-e none`)' : `\`pach put file\` (CLI), ${tool}`
  L.push(`| ${label} | ${sec(m)} | ${ingest.get(tool).map((x) => (x / 1000).toFixed(2)).join(', ')} | ${borgMs ? `${(m / borgMs).toFixed(2)}×` : '–'} |`)
}
if (SMALL > 0) {
  L.push('', `| ${SMALL.toLocaleString('en')} files of 1 KiB in 100 directories, one commit | .pach | blobs rows | put (library) |`, '| --- | ---: | ---: | ---: |')
  for (const c of CONFIGS) {
    const s = small.get(c.name)
    L.push(`| ${c.name} | ${mb(s.bytes)} | ${s.blobs.toLocaleString('en')} | ${sec(s.ms)} |`)
  }
}
const report = L.join('\n')
console.log(report)
if (README) replaceReadmeSection('dedup', report, log)
