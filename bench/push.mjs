// `pach push` / `pach pull` to and from a loopback `pach serve` (issue 14's speed targets),
// each against its anchor measured in the same run on the same data:
//   - push of the data to a second project under `pach serve` ≤ 1.5× `pach put file -r` of the
//     same data into a local repo (that repo is what is pushed);
//   - a second push of the unchanged data < 1 s and < 1 MiB on the wire (both ways, HTTP/2
//     framing and all, counted by a TCP proxy in front of the server);
//   - pull of it into a third, fresh project ≤ 1.5× `pach get file -r` of it out of the local repo.
// Two data sets, each in its own repo: 4 files of fresh random bytes (1 GiB in all,
// --size-mib) and --files files of 1 KiB in 100 directories (100,000, as bench/run.mjs's B).
// Every command is the built CLI as a user runs it, one process each; every rep starts from
// fresh projects (local, served, pulled into), so nothing is deduplicated across reps. Each
// ratio is median(pach op) / median(anchor) over --reps runs. CPU seconds (user + system) of
// the CLI process and of the server during each operation are reported beside the wall time.
//
//   npm run build && node bench/push.mjs [--reps 3] [--size-mib 1024] [--files 100000]
//        [--only big|small] [--prof DIR] [--no-readme]
//
// --prof DIR: V8 CPU profiles of the first rep's put, get, push, second push and pull (the CLI) and of
// the server (over the whole rep) are written to DIR, and each one's top self-time functions
// are printed to stderr. The report goes to stdout and replaces the `push:start`/`push:end`
// part of bench/README.md.
import {spawn} from 'node:child_process'
import {randomBytes, randomFillSync} from 'node:crypto'
import fs from 'node:fs'
import {connect, createServer} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {arg, cpuSeconds, dirBytes, freshDir, median, replaceReadmeSection, sleep, servingPid, snapshotPach, tail} from './lib.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const MiB = 1024 * 1024
const REPS = Number(arg('reps', 3))
const SIZE = Number(arg('size-mib', 1024)) * MiB
const FILES = Number(arg('files', 100_000))
const ONLY = arg('only', null)
const PROF = arg('prof', null) && path.resolve(arg('prof'))
const README = !process.argv.includes('--no-readme')
const work = path.join(root, 'bench', '.work', 'push')
const log = (m) => console.error(`bench/push: ${m}`)
if (ONLY && !['big', 'small'].includes(ONLY)) {
  log('--only takes big or small')
  process.exit(2)
}
freshDir(work)
if (PROF) fs.mkdirSync(PROF, {recursive: true})
const bin = snapshotPach({root, work, log, tail, freshDir, sleep})

// every pach process reports its CPU time and peak RSS on exit through this preload
const preload = path.join(work, 'usage-preload.cjs')
fs.writeFileSync(preload, "process.on('exit', () => { const r = process.resourceUsage(); require('node:fs').writeFileSync(process.env.PACH_BENCH_USAGE, JSON.stringify({cpu: (r.userCPUTime + r.systemCPUTime) / 1e6, kib: r.maxRSS})) })\n")
const env = {...process.env, PACH_DETACH: '1', PACH_CONFIG: path.join(work, 'no-pachctl-config.json')}
delete env.PACHD_ADDRESS
delete env.PACH_CONTEXT
let nth = 0

/**
 * Run the CLI (async, so the counting proxy in this process keeps forwarding meanwhile):
 * `{ms, out, cpu (s), kib}`. `prof`: a name for a CPU profile in --prof's DIR. Throws on a
 * non-zero exit.
 */
function pach(cwd, args, {prof} = {}) {
  const usage = path.join(work, `usage-${++nth}.json`)
  const node = ['--require', preload, ...(prof && PROF ? ['--cpu-prof', '--cpu-prof-dir', PROF, '--cpu-prof-name', `${prof}.cpuprofile`] : [])]
  return new Promise((res, rej) => {
    const t = process.hrtime.bigint()
    const p = spawn(process.execPath, [...node, bin, ...args], {cwd, env: {...env, PACH_BENCH_USAGE: usage}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('error', rej)
    p.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t) / 1e6
      if (code !== 0) return rej(new Error(`pach ${args.join(' ')} exited ${code}: ${tail(err, 5)}`))
      const u = JSON.parse(fs.readFileSync(usage, 'utf8'))
      fs.rmSync(usage)
      res({ms, out, ...u})
    })
  })
}
const json = async (cwd, args, opts) => {
  const r = await pach(cwd, [...args, '--json'], opts)
  return {...r, doc: JSON.parse(r.out)}
}

/** `pach serve --address localhost:0 --json` in project `dir`: {address, cpu() (s, so far), kib() (VmHWM), stop()}. */
async function serve(dir, prof) {
  const node = prof && PROF ? ['--cpu-prof', '--cpu-prof-dir', PROF, '--cpu-prof-name', `${prof}.cpuprofile`] : []
  const p = spawn(process.execPath, [...node, bin, 'serve', '--address', 'localhost:0', '--json'], {cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe']})
  let err = ''
  p.stderr.on('data', (d) => (err = (err + d).slice(-4000)))
  const exited = new Promise((res) => p.on('exit', (code, sig) => res(code ?? sig)))
  const address = await new Promise((res, rej) => {
    let out = ''
    p.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) res(JSON.parse(out.split('\n')[0]).address)
    })
    exited.then((c) => rej(new Error(`pach serve exited ${c}: ${tail(err, 5)}`)))
  })
  const pid = servingPid(p.pid)
  return {
    address,
    cpu: () => cpuSeconds(pid),
    kib: () => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]),
    async stop() {
      p.kill('SIGTERM')
      const t = setTimeout(() => p.kill('SIGKILL'), 30_000)
      await exited
      clearTimeout(t)
    },
  }
}

/** A TCP proxy on 127.0.0.1:0 to `target` that counts the bytes each way, over all its connections. */
async function countingProxy(target) {
  const i = target.lastIndexOf(':')
  const [host, port] = [target.slice(0, i), Number(target.slice(i + 1))]
  let up = 0
  let down = 0
  const sockets = new Set()
  const server = createServer((client) => {
    const upstream = connect({host, port})
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    const pipe = (from, to, count) => {
      from.on('data', (d) => {
        count(d.length)
        if (!to.write(d)) from.pause()
      })
      to.on('drain', () => from.resume())
      from.on('end', () => to.end())
    }
    pipe(client, upstream, (n) => (up += n))
    pipe(upstream, client, (n) => (down += n))
  })
  await new Promise((res) => server.listen(0, '127.0.0.1', res))
  return {
    address: `127.0.0.1:${server.address().port}`,
    bytes: () => ({up, down}),
    reset: () => (up = down = 0),
    close: () =>
      new Promise((res) => {
        for (const s of sockets) s.destroy()
        server.close(() => res())
      }),
  }
}

/** The data sets: a directory each, with its file count and bytes. */
function makeBig(dir) {
  fs.mkdirSync(dir, {recursive: true})
  const buf = Buffer.alloc(8 * MiB)
  const per = Math.floor(SIZE / 4)
  for (let f = 0; f < 4; f++) {
    const fd = fs.openSync(path.join(dir, `part-${f}.bin`), 'w')
    for (let left = per; left > 0; left -= buf.length) {
      randomFillSync(buf)
      fs.writeSync(fd, buf, 0, Math.min(buf.length, left))
    }
    fs.closeSync(fd)
  }
  return {files: 4, bytes: 4 * per}
}
function makeSmall(dir) {
  const dirs = Math.min(100, FILES)
  for (let d = 0, k = 0; d < dirs; d++) {
    const sub = path.join(dir, `d${String(d).padStart(3, '0')}`)
    fs.mkdirSync(sub, {recursive: true})
    const n = Math.floor(FILES / dirs) + (d < FILES % dirs ? 1 : 0)
    const buf = randomBytes(n * 1024)
    for (let i = 0; i < n; i++, k++) fs.writeFileSync(path.join(sub, `f${String(k).padStart(6, '0')}.bin`), buf.subarray(i * 1024, (i + 1) * 1024))
  }
  return {files: FILES, bytes: FILES * 1024}
}

/** Files and bytes under a directory. */
function tree(dir) {
  let files = 0
  for (const e of fs.readdirSync(dir, {withFileTypes: true, recursive: true})) if (e.isFile()) files++
  return {files, bytes: dirBytes(dir)}
}
const same = (what, got, want) => {
  if (got.files !== want.files || got.bytes !== want.bytes) throw new Error(`${what}: ${got.files} files, ${got.bytes} bytes; expected ${want.files} files, ${want.bytes} bytes`)
}

/** One data set, REPS times from fresh projects: every measure's samples. */
async function bench(name, data, want) {
  const repo = name
  const r = {put: [], get: [], push: [], again: [], pull: [], wire: [], cpu: {put: [], get: [], push: [], pushServer: [], again: [], againServer: [], pull: [], pullServer: []}, kib: {push: [], pull: [], server: []}}
  for (let rep = 0; rep < REPS; rep++) {
    const dir = path.join(work, `${name}-${rep}`)
    const [local, remote, pulled, out] = ['local', 'remote', 'pulled', 'out'].map((d) => path.join(dir, d))
    for (const d of [local, remote, pulled]) fs.mkdirSync(d, {recursive: true})
    const prof = PROF && rep === 0 ? (what) => `${name}-${what}` : () => undefined

    // the anchors: put into a local repo, get out of it
    await pach(local, ['init'])
    await pach(local, ['create', 'repo', repo])
    const put = await pach(local, ['put', 'file', '-r', `${repo}@master:/`, '-f', data], {prof: prof('put')})
    r.put.push(put.ms)
    r.cpu.put.push(put.cpu)
    const get = await pach(local, ['get', 'file', '-r', `${repo}@master:/`, '-o', out], {prof: prof('get')})
    same(`get file -r of ${name}`, tree(out), want)
    fs.rmSync(out, {recursive: true, force: true})
    r.get.push(get.ms)
    r.cpu.get.push(get.cpu)

    // the remote: a second project under pach serve
    await pach(remote, ['init'])
    const server = await serve(remote, prof('server'))
    const proxy = await countingProxy(server.address)
    try {
      let c0 = server.cpu()
      const push = await json(local, ['push', `grpc://${server.address}`, `${repo}@master`], {prof: prof('push')})
      if (push.doc.commits !== 1 || push.doc.files !== want.files || push.doc.bytes_sent !== want.bytes) throw new Error(`push of ${name}: ${push.out}`)
      r.push.push(push.ms)
      r.cpu.push.push(push.cpu)
      r.cpu.pushServer.push(server.cpu() - c0)
      r.kib.push.push(push.kib)

      // the same push again, through the counting proxy: nothing to send
      proxy.reset()
      c0 = server.cpu()
      const again = await json(local, ['push', `grpc://${proxy.address}`, `${repo}@master`], {prof: prof('push-again')})
      if (again.doc.commits !== 0 || again.doc.bytes_sent !== 0 || again.doc.branches[0]?.status !== 'up-to-date') throw new Error(`second push of ${name} was not a no-op: ${again.out}`)
      r.again.push(again.ms)
      r.wire.push(proxy.bytes())
      r.cpu.again.push(again.cpu)
      r.cpu.againServer.push(server.cpu() - c0)

      // pull into a third, fresh project
      await pach(pulled, ['init'])
      c0 = server.cpu()
      const pull = await json(pulled, ['pull', `grpc://${server.address}`, `${repo}@master`], {prof: prof('pull')})
      if (pull.doc.commits !== 1 || pull.doc.files !== want.files || pull.doc.bytes_received !== want.bytes) throw new Error(`pull of ${name}: ${pull.out}`)
      r.pull.push(pull.ms)
      r.cpu.pull.push(pull.cpu)
      r.cpu.pullServer.push(server.cpu() - c0)
      r.kib.pull.push(pull.kib)
      r.kib.server.push(server.kib())
      if (rep === 0) {
        // what was pulled is what was put (checked once: it costs a get of its own)
        await pach(pulled, ['get', 'file', '-r', `${repo}@master:/`, '-o', out])
        same(`pull of ${name}`, tree(out), want)
        const a = fs.readdirSync(out, {recursive: true}).filter((f) => fs.statSync(path.join(out, f)).isFile()).sort()
        const probe = a[a.length >> 1]
        const src = findUnder(data, path.basename(probe))
        if (!src || !fs.readFileSync(src).equals(fs.readFileSync(path.join(out, probe)))) throw new Error(`pull of ${name}: ${probe} differs from the data`)
      }
    } finally {
      await proxy.close()
      await server.stop()
    }
    fs.rmSync(dir, {recursive: true, force: true})
    log(`${name} rep ${rep + 1}/${REPS}: put ${s(put.ms)}, get ${s(get.ms)}, push ${s(r.push.at(-1))}, again ${s(r.again.at(-1))} (${kib(r.wire.at(-1).up + r.wire.at(-1).down)}), pull ${s(r.pull.at(-1))}`)
  }
  return r
}
const s = (ms) => `${(ms / 1000).toFixed(2)} s`
const kib = (b) => `${(b / 1024).toFixed(1)} KiB`

/** The file named `base` under `dir` (names are unique in both data sets). */
function findUnder(dir, base) {
  const hit = fs.readdirSync(dir, {recursive: true}).find((f) => path.basename(f) === base)
  return hit && path.join(dir, hit)
}

/** The `n` functions with the most self time in a V8 .cpuprofile, as lines for stderr. */
function profileTop(file, n = 15) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'))
  const byId = new Map(p.nodes.map((x) => [x.id, x]))
  const self = new Map()
  let total = 0
  p.samples.forEach((id, i) => {
    const cf = byId.get(id).callFrame
    const key = `${cf.functionName || '(anonymous)'} ${cf.url ? `${path.basename(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim()
    const dt = p.timeDeltas[i] / 1000
    self.set(key, (self.get(key) ?? 0) + dt)
    total += dt
  })
  const busy = total - (self.get('(idle)') ?? 0)
  return [
    `${path.basename(file)}: ${(total / 1000).toFixed(2)} s sampled, ${(busy / 1000).toFixed(2)} s not idle`,
    ...[...self].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, ms]) => `  ${ms.toFixed(0).padStart(7)} ms ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${k}`),
  ]
}

const sets = []
for (const [name, make, label] of [
  ['big', makeBig, `${SIZE / MiB} MiB in 4 files`],
  ['small', makeSmall, `${FILES.toLocaleString('en')} files of 1 KiB in ${Math.min(100, FILES)} dirs`],
]) {
  if (ONLY && ONLY !== name) continue
  const data = path.join(work, `data-${name}`)
  log(`${name}: writing ${label}`)
  const want = make(data)
  sets.push({name, label, r: await bench(name, data, want)})
  fs.rmSync(data, {recursive: true, force: true})
}
if (PROF) {
  for (const f of fs.readdirSync(PROF).filter((x) => x.endsWith('.cpuprofile')).sort()) for (const line of profileTop(path.join(PROF, f))) log(line)
}

const m = (xs) => median(xs)
const sec = (xs) => `${(m(xs) / 1000).toFixed(2)} s`
const ratio = (a, b) => `${(m(a) / m(b)).toFixed(2)}×`
const cpu = (xs) => `${m(xs).toFixed(1)} s`
const rows = []
const cpuRows = []
for (const {name, label, r} of sets) {
  const up = m(r.wire.map((w) => w.up))
  const down = m(r.wire.map((w) => w.down))
  const wire = m(r.wire.map((w) => w.up + w.down))
  rows.push(
    `| push ${label} | ${sec(r.push)} | \`pach put file -r\` ${sec(r.put)} | ${ratio(r.push, r.put)} | ≤ 1.5× |`,
    `| second push, unchanged | ${sec(r.again)}; ${kib(wire)} on the wire (${kib(up)} up, ${kib(down)} down) | | | < 1 s, < 1 MiB |`,
    `| pull it into a fresh project | ${sec(r.pull)} | \`pach get file -r\` ${sec(r.get)} | ${ratio(r.pull, r.get)} | ≤ 1.5× |`,
  )
  cpuRows.push(
    `| ${name} | \`put file -r\` | ${sec(r.put)} | ${cpu(r.cpu.put)} | |`,
    `| | \`push\` | ${sec(r.push)} | ${cpu(r.cpu.push)} (peak RSS ${(m(r.kib.push) / 1024).toFixed(0)} MiB) | ${cpu(r.cpu.pushServer)} |`,
    `| | second \`push\` | ${sec(r.again)} | ${cpu(r.cpu.again)} | ${m(r.cpu.againServer).toFixed(2)} s |`,
    `| | \`get file -r\` | ${sec(r.get)} | ${cpu(r.cpu.get)} | |`,
    `| | \`pull\` | ${sec(r.pull)} | ${cpu(r.cpu.pull)} (peak RSS ${(m(r.kib.pull) / 1024).toFixed(0)} MiB) | ${cpu(r.cpu.pullServer)} (peak RSS ${(m(r.kib.server) / 1024).toFixed(0)} MiB) |`,
  )
}
const report = [
  `Run ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}; medians of ${REPS} (\`node bench/push.mjs${process.argv.slice(2).filter((a) => a !== '--no-readme').map((a) => ` ${a}`).join('')}\`); every rep from fresh projects, the remote a second project under \`pach serve\` on loopback.`,
  '',
  '| measure | pach | anchor | ratio | target |',
  '| --- | ---: | ---: | ---: | --- |',
  ...rows,
  '',
  'Wall time and CPU seconds (user + system) of the CLI process and of the server during each operation:',
  '',
  '| data | operation | wall | CLI CPU | server CPU |',
  '| --- | --- | ---: | ---: | ---: |',
  ...cpuRows,
].join('\n')
console.log(report)
if (README) replaceReadmeSection('push', report, log)
fs.rmSync(work, {recursive: true, force: true})
process.exit(0)
