#!/usr/bin/env node
// Pipeline benchmark for pach: the local runner against make, the docker runner against
// plain `docker run` / `docker exec`.
//
//   node bench/pipelines.mjs [--quick] [--work DIR] [--only local,docker] [--profile]
//                            [--keep] [--readme | --no-readme]
//
// 1. local, full run:   N one-file datums (`cp`, parallelism 2) via `pach create pipeline`
//                       vs `make -r -j2` and `make -j2` doing the same copies from clean.
// 2. local, 1 changed:  overwrite one input, `pach put file` (runs the job: 1 processed,
//                       N-1 skipped) vs `make -r -j2` / `make -j2` after changing one input.
// 3. docker:            M trivial datums (`true`, parallelism 1), `--runner docker`, per-datum
//                       time = job duration / M, vs `docker run --rm` and `docker exec` (warm).
//
// Medians of 3 reps (1 with --quick), tools interleaved with a rotating order. A markdown
// report goes to stdout, progress to stderr, raw numbers to <work>/results.json; a full
// run also replaces the pipelines section of bench/README.md (between the
// `pipelines:start` / `pipelines:end` markers; --readme forces it for --quick, --no-readme
// skips it). --profile adds a CPU profile (`node --cpu-prof`) of the local full run and of
// the 1-changed put, summarised by self time. Plain Node ESM, no dependencies.

import {spawnSync, execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import os from 'node:os'
import crypto from 'node:crypto'
import {fileURLToPath} from 'node:url'
import {median, snapshotPach as snapshotPachShared} from './lib.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.resolve(HERE, '..')
const README = path.join(HERE, 'README.md')
const MARK_START = '<!-- pipelines:start -->'
const MARK_END = '<!-- pipelines:end -->'
const IMAGE = 'pach-test/busybox:1'

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2)
const opt = {quick: false, work: path.join(HERE, '.work', 'pipelines'), only: null, keep: false, readme: null, profile: false}
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  if (a === '--quick') opt.quick = true
  else if (a === '--work') opt.work = path.resolve(argv[++i])
  else if (a.startsWith('--work=')) opt.work = path.resolve(a.slice(7))
  else if (a === '--only') opt.only = new Set(argv[++i].toLowerCase().split(','))
  else if (a.startsWith('--only=')) opt.only = new Set(a.slice(7).toLowerCase().split(','))
  else if (a === '--keep') opt.keep = true
  else if (a === '--readme') opt.readme = true
  else if (a === '--no-readme') opt.readme = false
  else if (a === '--profile') opt.profile = true
  else if (a === '-h' || a === '--help') {
    console.log('usage: node bench/pipelines.mjs [--quick] [--work DIR] [--only local,docker] [--profile] [--keep] [--readme|--no-readme]')
    process.exit(0)
  } else {
    console.error(`unknown option ${a}`)
    process.exit(2)
  }
}
if (opt.readme === null) opt.readme = !opt.quick
const REPS = opt.quick ? 1 : 3
const N = opt.quick ? 1_000 : 10_000 // local datums
const ND = opt.quick ? 200 : 1_000 // docker datums
const DOCKER_RUN_SAMPLES = 10
const DOCKER_EXEC_SAMPLES = 20
const COLD_SAMPLES = 5
const CHANGED = 'f17' // the input changed in step 2
const want = (s) => !opt.only || opt.only.has(s)

// ---------------------------------------------------------------- helpers
const T0 = Date.now()
function log(...a) {
  const t = ((Date.now() - T0) / 1000).toFixed(1).padStart(7)
  process.stderr.write(`[pipelines ${t}s] ${a.join(' ')}\n`)
}
function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}
function tail(s, n = 6) {
  const lines = String(s || '').replace(/\r/g, '\n').split('\n').map((l) => l.trimEnd()).filter(Boolean)
  return lines.slice(-n).join(' | ').slice(-700)
}
function rmrf(p) {
  if (fs.existsSync(p)) fs.rmSync(p, {recursive: true, force: true})
}
function mkdirp(p) {
  fs.mkdirSync(p, {recursive: true})
  return p
}
function freshDir(p) {
  rmrf(p)
  return mkdirp(p)
}
function version(cmd, args) {
  try {
    return execFileSync(cmd, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).split('\n')[0].trim()
  } catch {
    return 'missing'
  }
}
const rotate = (xs, k) => xs.map((_, i) => xs[(i + k) % xs.length])

/** Run one command; wall time around spawnSync. Returns {ok, ms, stdout, stderr, err}. */
function run(cmd, args, {cwd, env, timeoutMs = 90 * 60 * 1000} = {}) {
  const t = process.hrtime.bigint()
  const r = spawnSync(cmd, args, {
    cwd,
    env: env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  const ok = r.status === 0 && !r.error
  let err = null
  if (!ok) {
    const why = r.error ? `${r.error.code || r.error.message}` : `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}`
    const shown = [cmd, ...args].map((x) => (x.startsWith('/') ? path.basename(x) : x))
    err = `\`${shown.join(' ').slice(0, 160)}\`: ${why}: ${tail(r.stderr) || tail(r.stdout)}`
  }
  return {ok, ms, stdout: r.stdout || '', stderr: r.stderr || '', err}
}

/** A measurement slot: samples (ms) and failures (stderr tails). */
const results = {}
function slot(key, label) {
  return (results[key] ??= {label, samples: [], failures: [], extra: {}})
}
function record(key, label, r) {
  const s = slot(key, label)
  if (r.ok) s.samples.push(r.ms)
  else {
    s.failures.push(r.err)
    log(`  ${label}: FAILED: ${r.err}`)
  }
  return r.ok
}
const med = (key) => (results[key] ? median(results[key].samples) : null)

/** Turn a failed check into a failed result. */
function check(r, msg) {
  if (!r.ok || !msg) return r
  return {...r, ok: false, err: `wrong result: ${msg}`}
}

// ---------------------------------------------------------------- pach snapshot
// pach runs from a copy of the build, so a concurrent `npm run build` in the source tree
// cannot change the binary half-way through.
function snapshotPach() {
  return snapshotPachShared({root: ROOT, work: opt.work, log, tail, freshDir, sleep, attempts: 5})
}

let PACH_BIN = null
const baseEnv = {...process.env}
delete baseEnv.PACH_DETACH
delete baseEnv.PACH_RUNNER
delete baseEnv.PACH_PROJECT
/** Run pach with the project `proj` (PACH_DIR), from `cwd` (default proj). */
function pach(proj, args, {cwd, nodeArgs = []} = {}) {
  return run(process.execPath, [...nodeArgs, PACH_BIN, ...args], {cwd: cwd ?? proj, env: {...baseEnv, PACH_DIR: path.join(proj, '.pach')}})
}
function mustPach(proj, args, opts) {
  const r = pach(proj, args, opts)
  if (!r.ok) throw new Error(`setup step failed: ${r.err}`)
  return r
}

/** The newest job of pipeline P, parsed from `list job -p P --json`. */
function lastJob(proj, pipeline) {
  const r = pach(proj, ['list', 'job', '-p', pipeline, '--json'])
  if (!r.ok) return {error: r.err}
  let jobs
  try {
    jobs = JSON.parse(r.stdout)
  } catch (e) {
    return {error: `list job --json: not JSON: ${e.message}`}
  }
  if (!Array.isArray(jobs) || !jobs.length) return {error: 'list job: no job'}
  jobs.sort((a, b) => String(b.created).localeCompare(String(a.created)))
  const j = jobs[0]
  const durMs = j.started && j.finished ? Date.parse(j.finished) - Date.parse(j.started) : null
  return {
    id: j.job?.id,
    state: j.state,
    reason: j.reason,
    processed: j.data_processed,
    skipped: j.data_skipped,
    failed: j.data_failed,
    total: j.data_total,
    durMs,
    runner: j.details?.runner,
    stats: j.stats,
  }
}
function jobProblem(j, want) {
  if (j.error) return j.error
  if (j.state !== 'JOB_SUCCESS') return `job ${j.id} ${j.state}: ${j.reason || ''}`
  if (j.processed !== want.processed || j.skipped !== want.skipped) return `job ${j.id}: ${j.processed} processed, ${j.skipped} skipped (expected ${want.processed}/${want.skipped})`
  return null
}

// ---------------------------------------------------------------- data
function writeInputs(dir, n, tag) {
  freshDir(dir)
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, `f${i}`), `${tag} datum ${i} ${crypto.randomBytes(16).toString('hex')}\n`)
  return Array.from({length: n}, (_, i) => `f${i}`)
}
/** An empty project with repo `in` holding every file of `dataDir` at its root (one put file -r). */
function seedProject(proj, dataDir, names) {
  freshDir(proj)
  mustPach(proj, ['init'])
  mustPach(proj, ['create', 'repo', 'in'])
  mustPach(proj, ['put', 'file', 'in@master:/', '-r', ...names.flatMap((n) => ['-f', n])], {cwd: dataDir})
}
function writeSpec(file, spec) {
  fs.writeFileSync(file, JSON.stringify(spec, null, 1) + '\n')
  return file
}
const localSpec = {
  pipeline: {name: 'cp'},
  transform: {image: IMAGE, cmd: ['sh', '-c', 'cp "$in" /pfs/out/']},
  input: {pfs: {repo: 'in', glob: '/*'}},
  parallelism_spec: {constant: 2},
}
const dockerSpec = {
  pipeline: {name: 'tru'},
  transform: {image: IMAGE, cmd: ['true']},
  input: {pfs: {repo: 'in', glob: '/*'}},
  parallelism_spec: {constant: 1},
}

// ---------------------------------------------------------------- 1 + 2: local runner vs make
function benchLocal() {
  const dir = freshDir(path.join(opt.work, 'local'))
  const data = path.join(dir, 'data')
  log(`local: writing ${N} input files`)
  const names = writeInputs(data, N, 'in')
  const spec = writeSpec(path.join(dir, 'spec.json'), localSpec)
  // make: in/ is a copy of the inputs, one explicit rule per file
  const mk = mkdirp(path.join(dir, 'make'))
  fs.cpSync(data, path.join(mk, 'in'), {recursive: true})
  const mf = [`all: ${names.map((n) => `out/${n}`).join(' ')}`, '']
  for (const n of names) mf.push(`out/${n}: in/${n}`, '\tcp $< $@')
  fs.writeFileSync(path.join(mk, 'Makefile'), mf.join('\n') + '\n')
  const change = path.join(dir, 'changed')

  const L = {
    fullPach: `pach create pipeline (${N} datums, local, parallelism 2)`,
    fullPachJob: 'pach job duration (started → finished)',
    fullMakeR: 'make -r -j2 from clean',
    fullMake: 'make -j2 from clean',
    incPach: `pach put file (1 changed: 1 processed, ${N - 1} skipped)`,
    incPachJob: 'pach job duration (started → finished)',
    incMakeR: 'make -r -j2 after changing 1 input',
    incMake: 'make -j2 after changing 1 input',
  }
  const makeTool = (flags, fullKey, incKey) => (rep) => {
    rmrf(path.join(mk, 'out'))
    mkdirp(path.join(mk, 'out'))
    log(`  ${L[fullKey]}`)
    let r = run('make', flags, {cwd: mk})
    if (r.ok) {
      const have = fs.readdirSync(path.join(mk, 'out')).length
      r = check(r, have !== N && `${have} outputs, expected ${N}`)
    }
    if (!record(fullKey, L[fullKey], r)) return
    fs.writeFileSync(path.join(mk, 'in', CHANGED), `changed by make rep ${rep} ${flags.join(' ')} ${Date.now()}\n`)
    log(`  ${L[incKey]}`)
    r = run('make', flags, {cwd: mk})
    if (r.ok) {
      const fired = r.stdout.split('\n').filter((l) => l.startsWith('cp ')).length
      r = check(r, fired !== 1 && `${fired} rules fired, expected 1`)
    }
    record(incKey, L[incKey], r)
  }
  const tools = {
    pach: (rep) => {
      const proj = path.join(dir, 'proj')
      log(`  pach: seeding a project with ${N} files (not timed)`)
      try {
        seedProject(proj, data, names)
      } catch (e) {
        record('fullPach', L.fullPach, {ok: false, err: e.message})
        return
      }
      log(`  ${L.fullPach}`)
      let r = pach(proj, ['create', 'pipeline', '-f', spec, '--runner', 'local'])
      let j = r.ok ? lastJob(proj, 'cp') : null
      if (r.ok) r = check(r, jobProblem(j, {processed: N, skipped: 0}))
      if (!record('fullPach', L.fullPach, r)) return
      slot('fullPachJob', L.fullPachJob).samples.push(j.durMs)
      slot('fullPach', L.fullPach).extra = {processed: j.processed, skipped: j.skipped, runner: j.runner, stats: j.stats}
      const content = `changed by pach rep ${rep} ${Date.now()}\n`
      fs.writeFileSync(change, content)
      log(`  ${L.incPach}`)
      r = pach(proj, ['put', 'file', `in@master:/${CHANGED}`, '-f', change, '--runner', 'local'])
      j = r.ok ? lastJob(proj, 'cp') : null
      if (r.ok) r = check(r, jobProblem(j, {processed: 1, skipped: N - 1}))
      if (r.ok) {
        const g = pach(proj, ['get', 'file', `cp@master:/${CHANGED}`])
        r = check(r, (!g.ok || g.stdout !== content) && `output ${CHANGED} not updated: ${g.err || JSON.stringify(g.stdout.slice(0, 80))}`)
      }
      if (!record('incPach', L.incPach, r)) return
      slot('incPachJob', L.incPachJob).samples.push(j.durMs)
      slot('incPach', L.incPach).extra = {processed: j.processed, skipped: j.skipped, total: j.total, stats: j.stats}
    },
    makeR: makeTool(['-r', '-j2'], 'fullMakeR', 'incMakeR'),
    make: makeTool(['-j2'], 'fullMake', 'incMake'),
  }
  for (let rep = 0; rep < REPS; rep++) {
    const order = rotate(['pach', 'makeR', 'make'], rep)
    log(`local rep ${rep + 1}/${REPS}: ${order.join(', ')}`)
    for (const t of order) {
      try {
        tools[t](rep)
      } catch (e) {
        log(`  ${t} crashed: ${e.stack || e}`)
        slot(t === 'pach' ? 'fullPach' : t === 'makeR' ? 'fullMakeR' : 'fullMake', t).failures.push(String(e.message || e))
      }
    }
  }
  if (!opt.keep) rmrf(path.join(dir, 'proj'))
}

// ---------------------------------------------------------------- 3: docker runner
function dockerReady() {
  const i = run('docker', ['info', '--format', '{{.ServerVersion}}'])
  if (!i.ok) return `no Docker engine answers (run \`bash .ci/setup-docker.sh\` as root): ${i.err}`
  const im = run('docker', ['image', 'inspect', IMAGE])
  if (!im.ok) return `image ${IMAGE} missing (run \`bash .ci/setup-docker.sh\` as root)`
  return null
}
function benchDocker() {
  const L = {
    pach: `pach create pipeline (${ND} datums, docker, parallelism 1)`,
    pachJob: 'pach job duration (started → finished)',
    run: `docker run --rm --network none ${IMAGE} true`,
    exec: 'docker exec <warm container> true',
  }
  const why = dockerReady()
  if (why) {
    for (const k of ['pach', 'run', 'exec']) slot(`dk_${k}`, L[k]).failures.push(why)
    log(`docker: skipped: ${why}`)
    return
  }
  const dir = freshDir(path.join(opt.work, 'docker'))
  const data = path.join(dir, 'data')
  log(`docker: writing ${ND} input files`)
  const names = writeInputs(data, ND, 'dk')
  const spec = writeSpec(path.join(dir, 'spec.json'), dockerSpec)
  const warm = `pach-bench-warm-${process.pid}`
  const w = run('docker', ['run', '-d', '--rm', '--network', 'none', '--name', warm, IMAGE, 'sleep', '86400'])
  if (!w.ok) slot('dk_exec', L.exec).failures.push(`starting the warm container: ${w.err}`)
  // spread the anchor samples over the reps, interleaved with pach
  const share = (total, rep) => Math.floor(total / REPS) + (rep < total % REPS ? 1 : 0)
  const tools = {
    pach: () => {
      const proj = path.join(dir, 'proj')
      log(`  pach: seeding a project with ${ND} files (not timed)`)
      try {
        seedProject(proj, data, names)
      } catch (e) {
        record('dk_pach', L.pach, {ok: false, err: e.message})
        return
      }
      log(`  ${L.pach}`)
      let r = pach(proj, ['create', 'pipeline', '-f', spec, '--runner', 'docker'])
      const j = r.ok ? lastJob(proj, 'tru') : null
      if (r.ok) r = check(r, jobProblem(j, {processed: ND, skipped: 0}))
      if (!record('dk_pach', L.pach, r)) return
      slot('dk_pachJob', L.pachJob).samples.push(j.durMs)
      slot('dk_pach', L.pach).extra = {processed: j.processed, runner: j.runner, stats: j.stats}
    },
    run: (rep) => {
      const k = share(DOCKER_RUN_SAMPLES, rep)
      log(`  ${L.run} ×${k}`)
      for (let i = 0; i < k; i++) record('dk_run', L.run, run('docker', ['run', '--rm', '--network', 'none', IMAGE, 'true']))
    },
    exec: (rep) => {
      if (!w.ok) return
      const k = share(DOCKER_EXEC_SAMPLES, rep)
      log(`  ${L.exec} ×${k}`)
      for (let i = 0; i < k; i++) record('dk_exec', L.exec, run('docker', ['exec', warm, 'true']))
    },
  }
  try {
    for (let rep = 0; rep < REPS; rep++) {
      const order = rotate(['pach', 'run', 'exec'], rep)
      log(`docker rep ${rep + 1}/${REPS}: ${order.join(', ')}`)
      for (const t of order) {
        try {
          tools[t](rep)
        } catch (e) {
          log(`  ${t} crashed: ${e.stack || e}`)
          slot(`dk_${t}`, L[t]).failures.push(String(e.message || e))
        }
      }
    }
  } finally {
    if (w.ok) run('docker', ['rm', '-f', warm])
    if (!opt.keep) rmrf(path.join(dir, 'proj'))
  }
}

// ---------------------------------------------------------------- cold start (context)
function benchCold() {
  const proj = path.join(opt.work, 'cold')
  freshDir(proj)
  mustPach(proj, ['init'])
  log(`cold start: node -e 0 and pach version ×${COLD_SAMPLES}`)
  for (let i = 0; i < COLD_SAMPLES; i++) {
    record('node0', 'node -e 0', run(process.execPath, ['-e', '0']))
    record('pachVersion', 'pach version', pach(proj, ['version']))
  }
  // what creating an inode costs on this disk (every datum creates a few, so does every cp)
  log(`context: creating files and directories in the work dir ×${COLD_SAMPLES}`)
  for (let i = 0; i < COLD_SAMPLES; i++) {
    const d = freshDir(path.join(proj, `fs${i}`))
    const K = 200
    let t = process.hrtime.bigint()
    for (let k = 0; k < K; k++) fs.writeFileSync(path.join(d, `f${k}`), 'x')
    slot('fsFile', 'create a file').samples.push(Number(process.hrtime.bigint() - t) / 1e6 / K)
    t = process.hrtime.bigint()
    for (let k = 0; k < K; k++) fs.mkdirSync(path.join(d, `d${k}`))
    slot('fsDir', 'create a directory').samples.push(Number(process.hrtime.bigint() - t) / 1e6 / K)
    rmrf(d)
  }
  rmrf(proj)
}

// ---------------------------------------------------------------- profile
/**
 * Self time per function from one or more .cpuprofile files. A native frame (no script: fs
 * bindings such as `mkdir`, `open`) is named with its nearest JS caller. `pach` aggregates
 * each sample under the innermost frame of pach's own code (dist/) on its stack, so the
 * time spent in node internals and libraries is charged to the pach function that called them.
 */
function summariseProfiles(files) {
  const fn = new Map() // key -> ms
  const area = new Map()
  const own = new Map()
  let totalMs = 0
  const add = (m, k, ms) => m.set(k, (m.get(k) ?? 0) + ms)
  for (const f of files) {
    const p = JSON.parse(fs.readFileSync(f, 'utf8'))
    const byId = new Map(p.nodes.map((n) => [n.id, n]))
    const parent = new Map()
    for (const nd of p.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id)
    const self = new Map()
    for (let i = 0; i < p.samples.length; i++) add(self, p.samples[i], (p.timeDeltas[i + 1] ?? 0) / 1000)
    const frame = (cf) => `${cf.functionName || '(anonymous)'}${cf.url ? ` ${shortUrl(cf.url)}:${cf.lineNumber + 1}` : ''}`
    for (const [id, ms] of self) {
      const cf = byId.get(id).callFrame
      let key = frame(cf)
      if (!cf.url && !cf.functionName.startsWith('(')) {
        let q = parent.get(id)
        while (q !== undefined && !byId.get(q).callFrame.url) q = parent.get(q)
        if (q !== undefined) key += ` ← ${frame(byId.get(q).callFrame)}`
      }
      add(fn, key, ms)
      add(area, areaOf(cf), ms)
      let q = id
      while (q !== undefined && !/\/pach-cli\/dist\//.test(byId.get(q).callFrame.url)) q = parent.get(q)
      add(own, q === undefined ? (cf.functionName.startsWith('(') ? cf.functionName : '(outside pach code: startup, module loading, oclif)') : frame(byId.get(q).callFrame), ms)
      totalMs += ms
    }
  }
  const top = (m, k) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k)
  return {totalMs, functions: top(fn, 15), pach: top(own, 15), areas: top(area, 10)}
}
function shortUrl(u) {
  let s = u.replace(/^file:\/\//, '')
  const nm = s.lastIndexOf('/node_modules/')
  if (nm >= 0) return s.slice(nm + 1)
  const d = s.indexOf('/pach-cli/')
  if (d >= 0) return s.slice(d + '/pach-cli/'.length)
  return s
}
function areaOf(cf) {
  if (!cf.url) return cf.functionName.startsWith('(') ? cf.functionName : '(native)'
  const u = cf.url
  const nm = u.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  if (nm) return `node_modules/${nm[1]}`
  if (u.startsWith('node:')) return 'node internals'
  const d = u.match(/pach-cli\/dist\/([^/]+(?:\/[^/]+)?)/)
  if (d) return `dist/${d[1]}`
  return u
}
function benchProfile() {
  const dir = freshDir(path.join(opt.work, 'profile'))
  const data = path.join(dir, 'data')
  const names = writeInputs(data, N, 'prof')
  const spec = writeSpec(path.join(dir, 'spec.json'), localSpec)
  const proj = path.join(dir, 'proj')
  log(`profile: seeding a project with ${N} files (not timed)`)
  seedProject(proj, data, names)
  const out = {}
  const prof = (key, label, args) => {
    const pd = freshDir(path.join(dir, `prof-${key}`))
    log(`profile: ${label}`)
    const r = pach(proj, args, {nodeArgs: ['--cpu-prof', '--cpu-prof-dir', pd]})
    const files = fs.readdirSync(pd).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(pd, f))
    if (!r.ok || !files.length) {
      out[key] = {label, error: r.err || 'no .cpuprofile written'}
      return
    }
    out[key] = {label, wallMs: r.ms, files: files.length, ...summariseProfiles(files)}
  }
  prof('full', `pach create pipeline (${N} datums, local)`, ['create', 'pipeline', '-f', spec, '--runner', 'local'])
  fs.writeFileSync(path.join(dir, 'changed'), `changed for the profile ${Date.now()}\n`)
  prof('inc', 'pach put file (1 changed)', ['put', 'file', `in@master:/${CHANGED}`, '-f', path.join(dir, 'changed'), '--runner', 'local'])
  results.profile = out
  if (!opt.keep) rmrf(proj)
}

// ---------------------------------------------------------------- report
const fmtMs = (ms) => (ms == null ? '—' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)
const fmtPer = (ms) => (ms == null ? '—' : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`)
const fmtX = (x) => (x == null || !Number.isFinite(x) ? '—' : `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`)
const n = (x) => x.toLocaleString('en-US')

function cell(key) {
  const s = results[key]
  if (!s) return 'not run'
  const m = median(s.samples)
  if (m == null) return s.failures.length ? '**failed**' : 'not run'
  return fmtMs(m) + (s.failures.length ? ` (${s.failures.length} failed)` : '')
}
function runs(key) {
  const s = results[key]
  return s ? `${s.samples.length}` : '0'
}

function render(machine) {
  const L = []
  const mode = opt.quick ? 'quick (--quick, 1 rep, smaller data)' : `full (${REPS} reps)`
  L.push(`Run: **${mode}**, ${machine.date.slice(0, 16).replace('T', ' ')} UTC, ${machine.totalSecs} s in all.`)
  L.push('')
  L.push(
    `Machine: ${machine.nproc} cores (${machine.cpu}), ${machine.mem} RAM, ${machine.kernel}; load average ${machine.loadStart} at start, ` +
      `${machine.loadEnd} at end. Node ${machine.node}, ${machine.make}, Docker ${machine.docker} (client ${machine.dockerClient}), ` +
      `bubblewrap ${machine.bwrap}${machine.localRunner ? `; local runner: ${machine.localRunner}` : ''}. The machine is shared and noisy (test suites and ` +
      `builds may run concurrently): absolute times move with the load; the ratios, from interleaved runs, are the numbers to read.`,
  )
  L.push('')
  const hasLocal = results.fullPach || results.fullMakeR
  const hasDocker = results.dk_pach || results.dk_run
  const ratio = (a, b) => (med(a) != null && med(b) != null ? med(a) / med(b) : null)
  if (hasLocal || hasDocker || results.node0) {
    L.push('| # | Step | Median | Per datum | pach ÷ this | Runs |')
    L.push('| --- | --- | ---: | ---: | ---: | ---: |')
  }
  if (hasLocal) {
    const per = (k) => (med(k) == null ? '—' : fmtPer(med(k) / N))
    L.push(`| 1 | **${results.fullPach?.label ?? 'pach create pipeline'}** | **${cell('fullPach')}** | **${per('fullPach')}** | | ${runs('fullPach')} |`)
    L.push(`| 1 | ↳ ${results.fullPachJob?.label ?? 'job duration'} | ${cell('fullPachJob')} | ${per('fullPachJob')} | | ${runs('fullPachJob')} |`)
    L.push(`| 1 | \`make -r -j2\` from clean (${n(N)} explicit rules) | ${cell('fullMakeR')} | ${per('fullMakeR')} | ${fmtX(ratio('fullPach', 'fullMakeR'))} | ${runs('fullMakeR')} |`)
    L.push(`| 1 | \`make -j2\` from clean (implicit-rule search) | ${cell('fullMake')} | ${per('fullMake')} | ${fmtX(ratio('fullPach', 'fullMake'))} | ${runs('fullMake')} |`)
    const x = results.incPach?.extra ?? {}
    const proof = x.processed != null ? ` → ${x.processed} processed, ${n(x.skipped)} skipped` : ''
    L.push(`| 2 | **pach put file, 1 input changed${proof}** | **${cell('incPach')}** | | | ${runs('incPach')} |`)
    L.push(`| 2 | ↳ ${results.incPachJob?.label ?? 'job duration'} | ${cell('incPachJob')} | | | ${runs('incPachJob')} |`)
    L.push(`| 2 | \`make -r -j2\` after changing 1 input (1 rule fires) | ${cell('incMakeR')} | | ${fmtX(ratio('incPach', 'incMakeR'))} | ${runs('incMakeR')} |`)
    L.push(`| 2 | \`make -j2\` after changing 1 input | ${cell('incMake')} | | ${fmtX(ratio('incPach', 'incMake'))} | ${runs('incMake')} |`)
  }
  if (hasDocker) {
    const jobPer = med('dk_pachJob') != null ? med('dk_pachJob') / ND : null
    L.push(`| 3 | **${results.dk_pach?.label ?? 'pach create pipeline (docker)'}** | **${cell('dk_pach')}** | ${med('dk_pach') == null ? '—' : fmtPer(med('dk_pach') / ND)} | | ${runs('dk_pach')} |`)
    L.push(`| 3 | ↳ **job duration (started → finished)** | ${cell('dk_pachJob')} | **${fmtPer(jobPer)}** | | ${runs('dk_pachJob')} |`)
    const perRatio = (k) => (jobPer != null && med(k) != null ? jobPer / med(k) : null)
    L.push(`| 3 | \`${results.dk_run?.label ?? 'docker run'}\` (a container per datum) | ${cell('dk_run')} | ${cell('dk_run')} | ${fmtX(perRatio('dk_run'))} | ${runs('dk_run')} |`)
    L.push(`| 3 | \`docker exec <warm container> true\` (CLI, one exec per datum) | ${cell('dk_exec')} | ${cell('dk_exec')} | ${fmtX(perRatio('dk_exec'))} | ${runs('dk_exec')} |`)
  }
  if (results.node0) {
    L.push(`| – | context: \`node -e 0\` / \`pach version\` (cold start) | ${cell('node0')} / ${cell('pachVersion')} | | | ${runs('node0')} |`)
  }
  if (med('fsFile') != null) {
    const us = (k) => `${(med(k) * 1000).toFixed(0)} µs`
    L.push(`| – | context: creating one file / one directory in the work dir (\`writeFileSync\` / \`mkdirSync\`, mean of 200) | ${us('fsFile')} / ${us('fsDir')} | | | ${runs('fsFile')} |`)
  }
  L.push('')
  L.push('"pach ÷ this" is pach\'s median time divided by the anchor\'s (per datum for step 3): below 1× pach is faster. ')
  L.push('')
  // targets
  const t = []
  const verdict = (ok) => (ok == null ? 'not measured' : ok ? '**met**' : '**not met**')
  if (hasLocal) {
    const r1 = ratio('fullPach', 'fullMakeR')
    t.push(`| 1 | full run within 1.5× of \`make -r -j2\` | ${fmtX(r1)} | ${verdict(r1 == null ? null : r1 <= 1.5)} |`)
    const m2 = med('incPach')
    t.push(`| 2 | 1 changed input: whole \`put file\` under 1 s | ${fmtMs(m2)} | ${verdict(m2 == null ? null : m2 < 1000)} |`)
  }
  if (hasDocker) {
    const jp = med('dk_pachJob') != null ? med('dk_pachJob') / ND : null
    t.push(`| 3 | docker: under 20 ms per datum (job duration / ${n(ND)}) | ${fmtPer(jp)} | ${verdict(jp == null ? null : jp < 20)} |`)
  }
  if (t.length) {
    L.push('| # | Target | Measured | |')
    L.push('| --- | --- | ---: | --- |')
    L.push(...t)
    L.push('')
  }
  // job stats
  const st = (k) => results[k]?.extra?.stats
  const stats = [['1', 'fullPach'], ['2', 'incPach'], ['3', 'dk_pach']].filter(([, k]) => st(k))
  if (stats.length) {
    L.push('Job stats of the last rep (`list job --json`): ' + stats.map(([i, k]) => {
      const s = st(k)
      return `${i}: download ${s.download_time}, process ${s.process_time}, upload ${s.upload_time}`
    }).join('; ') + '.')
    L.push('')
  }
  // profile
  if (results.profile) {
    L.push('### Profile')
    L.push('')
    L.push('`node --cpu-prof` on one run of each command (pach\'s own process; user code, bubblewrap and Docker run in other processes and show up here as idle time). Self time per function:')
    L.push('')
    for (const p of Object.values(results.profile)) {
      if (p.error) {
        L.push(`- ${p.label}: profile **failed**: ${p.error}`)
        continue
      }
      L.push(`**${p.label}**: ${fmtMs(p.wallMs)} wall, ${fmtMs(p.totalMs)} sampled.`)
      L.push('')
      L.push('| Self time | % | Function (file:line) |')
      L.push('| ---: | ---: | --- |')
      for (const [k, ms] of p.functions) L.push(`| ${ms.toFixed(0)} ms | ${((100 * ms) / p.totalMs).toFixed(1)} | \`${k}\` |`)
      L.push('')
      L.push('Charged to the innermost pach function on the stack (self time of everything it calls outside dist/):')
      L.push('')
      L.push('| Time | % | pach function (dist file:line) |')
      L.push('| ---: | ---: | --- |')
      for (const [k, ms] of p.pach) L.push(`| ${ms.toFixed(0)} ms | ${((100 * ms) / p.totalMs).toFixed(1)} | \`${k}\` |`)
      L.push('')
      L.push('By area: ' + p.areas.map(([a, ms]) => `${a} ${ms.toFixed(0)} ms`).join(', ') + '.')
      L.push('')
    }
  }
  // failures
  const fails = Object.values(results).filter((s) => s.failures?.length)
  if (fails.length) {
    L.push('**Failures**')
    L.push('')
    for (const s of fails) for (const f of s.failures) L.push(`- ${s.label}: ${f.replace(/\n/g, ' ')}`)
    L.push('')
  }
  return L.join('\n')
}

const STATIC = `## Pipelines

\`bench/pipelines.mjs\` times pach's pipeline runners against the tools that do the same
work without versioning: \`make\` for the local runner, bare \`docker run\` / \`docker exec\`
for the Docker runner. Plain Node ESM, no dependencies; it needs \`make\`, and for step 3 a
Docker engine with the test image (\`bash .ci/setup-docker.sh\` as root).

\`\`\`sh
npm run build
npm run bench:pipelines                        # full: 3 reps, 10,000 / 1,000 datums (~15-30 min on 2 busy cores)
node bench/pipelines.mjs --quick               # 1 rep, 1,000 / 200 datums, does not touch this README
node bench/pipelines.mjs --only local|docker   # one part; --profile adds a CPU profile; --work DIR
\`\`\`

| # | What is timed (wall clock around the whole CLI, node start-up included) | Anchors | Target |
| --- | --- | --- | --- |
| 1 | repo \`in\` with 10,000 small files at the root (1,000 with \`--quick\`; one \`put file -r\`, not timed); \`pach create pipeline --runner local\` of glob \`/*\`, \`cmd: ["sh","-c","cp \\"$in\\" /pfs/out/"]\`, parallelism 2, which runs the whole first job | a generated Makefile with one rule per file (\`out/fN: in/fN\` → \`cp $< $@\`), from clean: \`make -r -j2\` and plain \`make -j2\` (with its implicit-rule search) | within 1.5× of \`make -r -j2\` |
| 2 | overwrite one input with new content: the whole \`pach put file --runner local\`, which runs the job (checked: 1 processed, 9,999 skipped, and the output file updated) | \`make -r -j2\` / \`make -j2\` after changing one input (checked: one rule fires) | under 1 s |
| 3 | 1,000 datums (200 with \`--quick\`) of \`true\`, parallelism 1, \`--runner docker\`: job duration (started → finished from \`list job --json\`) / 1,000 | \`docker run --rm --network none pach-test/busybox:1 true\` (10 runs: a container per datum), \`docker exec <warm container> true\` (20 runs) | under 20 ms per datum |

"Job duration" is pach's own started → finished: it leaves out node start-up, the commit
of the input and the datum planning (listing the input, datum ids and hashes, comparison
with the previous job), which come before \`started\`. The local runner keeps one sandboxed
shell per worker (bubblewrap when it works; the runner is named in the results), so a datum
costs a fork and exec inside it plus pach's own work: materialising the input, clearing the
worker's directories, hashing and storing the output. Each pach rep starts from a fresh project. Reps are interleaved with the anchors in a
rotating order so that a change in background load hits every tool alike. Results are
medians; a step that fails is shown as **failed** with its stderr tail under Failures. The
raw numbers go to \`bench/.work/pipelines/results.json\`.

### Results
`

function writeReadme(report) {
  const section = `${MARK_START}\n${STATIC}\n${report}\n${MARK_END}`
  // re-read right before writing: another script edits other sections of this file
  let text = fs.existsSync(README) ? fs.readFileSync(README, 'utf8') : ''
  const a = text.indexOf(MARK_START)
  const b = text.indexOf(MARK_END)
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + MARK_END.length)
  else text = text.replace(/\n*$/, '\n\n') + section + '\n'
  fs.writeFileSync(README, text)
  log(`wrote the pipelines section of ${path.relative(ROOT, README)}`)
}

// ---------------------------------------------------------------- main
function main() {
  mkdirp(opt.work)
  log(`work dir ${opt.work}, ${opt.quick ? 'QUICK' : 'FULL'} run, ${REPS} rep(s), ${N} local / ${ND} docker datums`)
  const machine = {}
  machine.date = new Date().toISOString()
  machine.loadStart = os.loadavg().map((x) => x.toFixed(2)).join(' ')
  PACH_BIN = snapshotPach()
  machine.nproc = version('nproc', [])
  machine.cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || os.arch()
  machine.mem = `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`
  machine.kernel = `${os.type()} ${os.release()}`
  machine.node = process.version
  machine.make = version('make', ['--version'])
  machine.docker = version('docker', ['version', '--format', '{{.Server.Version}}'])
  machine.dockerClient = version('docker', ['version', '--format', '{{.Client.Version}}'])
  machine.bwrap = version('bwrap', ['--version']).replace(/^bubblewrap /, '')
  log(`machine: ${JSON.stringify(machine)}`)

  const parts = [
    ['cold', benchCold, true],
    ['local', benchLocal, want('local')],
    ['docker', benchDocker, want('docker')],
    ['profile', benchProfile, opt.profile],
  ]
  for (const [name, fn, on] of parts) {
    if (!on) continue
    try {
      fn()
    } catch (e) {
      log(`${name} crashed: ${e.stack || e}`)
      slot(`crash_${name}`, name).failures.push(String(e.message || e))
    }
  }
  machine.localRunner = results.fullPach?.extra?.runner
  machine.loadEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ')
  machine.totalSecs = ((Date.now() - T0) / 1000).toFixed(0)
  const report = render(machine)
  fs.writeFileSync(path.join(opt.work, 'results.json'), JSON.stringify({opt, N, ND, machine, results}, null, 2))
  process.stdout.write(report + '\n')
  if (opt.readme) writeReadme(report)
  if (!opt.keep) {
    rmrf(path.join(opt.work, 'pach-cli'))
    for (const d of ['local', 'docker', 'profile']) rmrf(path.join(opt.work, d))
  }
  log(`done in ${machine.totalSecs} s`)
}

main()
