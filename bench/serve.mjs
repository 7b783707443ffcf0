// `pach serve` through the official Python SDK (issue 13's speed targets), each against its
// anchor measured in the same run on the same data:
//   - put 1 GiB with the SDK (`put_file_from_file`, 19 MiB messages) ≤ 1.5× `pach put file`;
//   - get it with the SDK (`pfs_file`, read to the end) ≤ 1.5× `pach get file`;
//   - ListFile of a 100,000-file commit < 1 s (pach's client, in-process; the SDK's time too);
//   - InspectRepo round trip p50 < 2 ms on loopback (pach's client, 1,000 calls);
//   - 200 open SubscribeCommit streams < 100 MiB extra server RSS;
//   - the server under 300 MiB RSS (VmHWM) while a 4 GiB file streams in (ModifyFile).
// Every put uses fresh random bytes (a repeat would be deduplicated). Medians of --reps runs.
//
//   npm run build && node bench/serve.mjs [--reps 3] [--size-mib 1024] [--big-gib 4]
//        [--python .venv-test/bin/python] [--no-readme] [--only transfer,list,inspect,subscribe,big]
//
// The SDK's put and get are also run against bench/serve-sink.mjs (an endpoint that does no
// work): the SDK's own floor, what no server can beat.
//
// Each put and get also records CPU seconds: the server's (/proc/PID/stat, over the step) for
// the SDK's, the client's for both (GNU time): per GiB, they say more than wall time on a
// shared machine. `--only` runs the named steps (transfer: the puts and gets) and leaves
// bench/README.md alone. The report goes to stdout and, after a full run, replaces the
// `serve:start`/`serve:end` part of bench/README.md.
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {arg, cpuSeconds, freshDir, median, randomFile, replaceReadmeSection, sleep, servingPid, snapshotPach, tail} from './lib.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const REPS = Number(arg('reps', 3))
const SIZE = Number(arg('size-mib', 1024)) * 1024 * 1024
const BIG = Number(arg('big-gib', 4)) * 1024 ** 3
const PY = path.resolve(root, arg('python', '.venv-test/bin/python'))
const STEPS = ['transfer', 'list', 'inspect', 'subscribe', 'big']
const ONLY = arg('only', STEPS.join(',')).split(',')
for (const s of ONLY) if (!STEPS.includes(s)) throw new Error(`--only: no step ${s} (${STEPS.join(', ')})`)
const step = (s) => ONLY.includes(s)
const README = !process.argv.includes('--no-readme') && STEPS.every(step)
const TIME = '/usr/bin/time'
const work = path.join(root, 'bench', '.work', 'serve')
const log = (m) => console.error(`bench/serve: ${m}`)
if (!fs.existsSync(PY)) {
  log(`${PY} is missing: run the Python tests once (npm test) or pass --python <venv python with pachyderm_sdk>`)
  process.exit(1)
}
freshDir(work)
const bin = snapshotPach({root, work, log, tail, freshDir, sleep})
const proj = path.join(work, 'project')
fs.mkdirSync(proj)
/** Run `cmd`, under GNU time when there is one: {ms, out, cpu} (cpu: the process's user + system seconds). */
function timed(cmd, args, opts, what) {
  const cpuFile = path.join(work, 'cpu')
  const withTime = fs.existsSync(TIME)
  const t = process.hrtime.bigint()
  const r = withTime ? spawnSync(TIME, ['-f', '%U %S', '-o', cpuFile, cmd, ...args], opts) : spawnSync(cmd, args, opts)
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  if (r.status !== 0) throw new Error(`${what}: ${r.stderr}`)
  const cpu = withTime ? fs.readFileSync(cpuFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number).reduce((a, b) => a + b, 0) : NaN
  return {ms, out: r.stdout, cpu}
}
const pach = (args, opts = {}) =>
  timed(process.execPath, [bin, ...args], {cwd: proj, encoding: 'utf8', maxBuffer: 1 << 30, env: {...process.env, PACH_DETACH: '1'}, ...opts}, `pach ${args.join(' ')}`)
pach(['init'])
pach(['create', 'repo', 'data'])

// the server
const server = spawn(process.execPath, [bin, 'serve', '--address', 'localhost:0', '--json'], {cwd: proj, stdio: ['ignore', 'pipe', 'pipe']})
const address = await new Promise((res, rej) => {
  let out = ''
  server.stdout.on('data', (d) => {
    out += d
    if (out.includes('\n')) res(JSON.parse(out.split('\n')[0]).address)
  })
  server.on('exit', (c) => rej(new Error(`pach serve exited ${c}`)))
})
const url = `grpc://${address}`
// the process that serves: on glibc, \`pach serve\` re-executes itself once with malloc tuned
// (src/cli/malloc-reexec.ts) and the server is that child
const serving = servingPid(server.pid)
const rssKiB = (field = 'VmRSS', pid = serving) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
log(`serving on ${url}`)

const pyAt = (at, code, ...args) => timed(PY, ['-c', code, at, ...args], {encoding: 'utf8', maxBuffer: 1 << 26}, 'python')
const py = (code, ...args) => pyAt(url, code, ...args)
/** `fn()` with the server's CPU seconds over it as `server`. */
const withServerCpu = (fn) => {
  const c0 = cpuSeconds(serving)
  const r = fn()
  return {...r, server: cpuSeconds(serving) - c0}
}
const PY_PUT = `
import sys
from pachyderm_sdk import Client
from pachyderm_sdk.api import pfs
c = Client.from_pachd_address(sys.argv[1])
with c.pfs.commit(branch=pfs.Branch.from_uri("data@master")) as commit, open(sys.argv[3], "rb") as f:
    commit.put_file_from_file(path=sys.argv[2], file=f)
`
const PY_GET = `
import sys
from pachyderm_sdk import Client
from pachyderm_sdk.api import pfs
c = Client.from_pachd_address(sys.argv[1])
n = 0
with c.pfs.pfs_file(file=pfs.File.from_uri("data@master:" + sys.argv[2])) as f:
    while True:
        b = f.read(8 << 20)
        if not b: break
        n += len(b)
print(n)
`
const PY_LIST = `
import sys, time
from pachyderm_sdk import Client
from pachyderm_sdk.api import pfs
c = Client.from_pachd_address(sys.argv[1])
t = time.perf_counter()
n = sum(1 for _ in c.pfs.list_file(file=pfs.File.from_uri("many@master:/")))
print(n, (time.perf_counter() - t) * 1000)
`

// the same call through the SDK's grpcio channel, messages left as bytes: how much of the
// SDK's time is the transport and how much its pure-Python decoding (betterproto)
const PY_LIST_RAW = `
import sys, time
from pachyderm_sdk import Client
from pachyderm_sdk.api import pfs
c = Client.from_pachd_address(sys.argv[1])
call = c._channel.unary_stream('/pfs_v2.API/ListFile', request_serializer=bytes, response_deserializer=None)
req = pfs.ListFileRequest(file=pfs.File.from_uri("many@master:/"))
t = time.perf_counter()
msgs = list(call(req))
ms = (time.perf_counter() - t) * 1000
t = time.perf_counter()
for m in msgs[:10000]: pfs.FileInfo().parse(m)
print(len(msgs), ms, (time.perf_counter() - t) * 1000 / 10000)
`


// the SDK's own floor for the get: the same read from a server that does no work (serve-sink.mjs)
let sinkUrl
let sink
if (step('transfer')) {
  sink = spawn(process.execPath, [path.join(root, 'bench', 'serve-sink.mjs'), String(SIZE / 2 ** 20)], {stdio: ['ignore', 'pipe', 'inherit']})
  sinkUrl = await new Promise((res, rej) => {
    let out = ''
    sink.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) res(`grpc://127.0.0.1:${JSON.parse(out.split('\n')[0]).port}`)
    })
    sink.on('exit', (c) => rej(new Error(`serve-sink exited ${c}`)))
  })
}

const res = {cliPut: [], sdkPut: [], cliGet: [], sdkGet: [], sinkPut: [], sinkGet: []}
const cpu = {cliPut: [], sdkPut: [], cliGet: [], sdkGet: [], sinkPut: [], sinkGet: [], serverPut: [], serverGet: []}
const file = path.join(work, 'payload')
for (let i = 0; i < (step('transfer') ? REPS : 0); i++) {
  // alternate who goes first, each on fresh bytes
  const order = i % 2 ? ['sdk', 'cli'] : ['cli', 'sdk']
  for (const who of order) {
    randomFile(file, SIZE)
    if (who === 'cli') {
      spawnSync('sync')
      const p = pach(['put', 'file', `data@master:/cli-${i}`, '-f', file])
      spawnSync('sync')
      const g = pach(['get', 'file', `data@master:/cli-${i}`, '-o', path.join(work, 'out')])
      res.cliPut.push(p.ms)
      res.cliGet.push(g.ms)
      cpu.cliPut.push(p.cpu)
      cpu.cliGet.push(g.cpu)
    } else {
      spawnSync('sync')
      const p = withServerCpu(() => py(PY_PUT, `/sdk-${i}`, file))
      spawnSync('sync')
      const g = withServerCpu(() => py(PY_GET, `/sdk-${i}`))
      if (Number(g.out.trim()) !== SIZE) throw new Error(`SDK read ${g.out.trim()} bytes, expected ${SIZE}`)
      res.sdkPut.push(p.ms)
      res.sdkGet.push(g.ms)
      cpu.sdkPut.push(p.cpu)
      cpu.sdkGet.push(g.cpu)
      cpu.serverPut.push(p.server)
      cpu.serverGet.push(g.server)
      spawnSync('sync')
      const kp = pyAt(sinkUrl, PY_PUT, '/sink', file)
      res.sinkPut.push(kp.ms)
      cpu.sinkPut.push(kp.cpu)
      const k = pyAt(sinkUrl, PY_GET, '/sink')
      if (Number(k.out.trim()) !== SIZE) throw new Error(`SDK read ${k.out.trim()} bytes from the sink, expected ${SIZE}`)
      res.sinkGet.push(k.ms)
      cpu.sinkGet.push(k.cpu)
    }
    fs.rmSync(path.join(work, 'out'), {force: true})
    log(`rep ${i + 1}/${REPS}: ${who} done`)
  }
}
fs.rmSync(file, {force: true})
sink?.kill('SIGTERM')

const {PachdClient} = await import(path.join(path.dirname(bin), '..', 'dist', 'client', 'pachd-client.js'))
const client = new PachdClient(url)
const repo = {repo: {name: 'data', type: 'user', project: {name: 'default'}}}

// ListFile of 100,000 files
const listMs = []
let sdkList = []
let sdkListRaw = []
if (step('list')) {
  const manyDir = path.join(work, 'many')
  fs.mkdirSync(manyDir)
  for (let i = 0; i < 100_000; i++) fs.writeFileSync(path.join(manyDir, `f${String(i).padStart(6, '0')}`), String(i))
  pach(['create', 'repo', 'many'])
  pach(['put', 'file', '-r', 'many@master:/', '-f', manyDir])
  fs.rmSync(manyDir, {recursive: true, force: true})
  for (let i = 0; i < REPS; i++) {
    const t = performance.now()
    let n = 0
    for await (const _ of client.stream(client.pfs, 'ListFile', {file: {commit: {repo: {name: 'many', type: 'user', project: {name: 'default'}}, id: '', branch: {name: 'master'}}, path: '/'}})) n++
    if (n !== 100_000) throw new Error(`ListFile gave ${n} entries`)
    listMs.push(performance.now() - t)
  }
  sdkList = py(PY_LIST).out.trim().split(' ').map(Number)
  sdkListRaw = py(PY_LIST_RAW).out.trim().split(' ').map(Number)
}

// InspectRepo round trips
const rt = []
if (step('inspect')) {
  for (let i = 0; i < 100; i++) await client.unary(client.pfs, 'InspectRepo', repo)
  for (let i = 0; i < 1000; i++) {
    const t = process.hrtime.bigint()
    await client.unary(client.pfs, 'InspectRepo', repo)
    rt.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
}

// 200 open SubscribeCommit streams
let before = NaN
let withSubs = NaN
if (step('subscribe')) {
  before = rssKiB()
  const ac = new AbortController()
  const subs = []
  for (let i = 0; i < 200; i++) {
    const c = new PachdClient(url)
    subs.push(
      (async () => {
        try {
          for await (const _ of c.stream(c.pfs, 'SubscribeCommit', {repo: repo.repo, branch: 'master', state: 'FINISHED', all: false, origin_kind: 'ORIGIN_KIND_UNKNOWN', from: null}, {signal: ac.signal}));
        } catch {}
        c.close()
      })(),
    )
  }
  await new Promise((r) => setTimeout(r, 3000))
  pach(['put', 'file', 'data@master:/tick', '-f', '/etc/hostname'])
  await new Promise((r) => setTimeout(r, 2000))
  withSubs = rssKiB()
  ac.abort()
  await Promise.all(subs)
}

// a 4 GiB ModifyFile, server RSS sampled
let hwmBefore = NaN
let hwmAfter = NaN
let peak = NaN
let bigMs = NaN
let bigCpu = NaN
if (step('big')) {
  hwmBefore = rssKiB('VmHWM')
  peak = rssKiB()
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB())), 50)
  const chunk = randomBytes(2 << 20)
  async function* bigReqs() {
    yield {set_commit: {repo: repo.repo, id: '', branch: {repo: repo.repo, name: 'master'}}}
    yield {delete_file: {path: '/big', datum: ''}}
    for (let sent = 0; sent < BIG; sent += chunk.length) {
      chunk.writeUInt32LE(sent / chunk.length, 0) // no two chunks alike
      yield {add_file: {path: '/big', datum: '', raw: {value: chunk}}}
    }
  }
  const c0 = cpuSeconds(serving)
  const tBig = performance.now()
  await client.send(client.pfs, 'ModifyFile', bigReqs())
  bigMs = performance.now() - tBig
  bigCpu = cpuSeconds(serving) - c0
  clearInterval(sampler)
  hwmAfter = rssKiB('VmHWM')
}
const wrapperKiB = serving === server.pid ? 0 : rssKiB('VmRSS', server.pid)
client.close()
server.kill('SIGTERM')

const m = (xs) => median(xs)
const f1 = (x) => (x / 1000).toFixed(2)
const ratio = (a, b) => (m(a) / m(b)).toFixed(2)
const gib = SIZE / 2 ** 30
/** CPU seconds per GiB moved, median */
const perGiB = (xs) => (m(xs) / gib).toFixed(2)
const p50 = m(rt)
const rows = {
  transfer: [
    `| put ${SIZE / 2 ** 20} MiB (fresh bytes) | ${f1(m(res.sdkPut))} s | \`pach put file\` ${f1(m(res.cliPut))} s | ${ratio(res.sdkPut, res.cliPut)}× | ≤ 1.5× |`,
    `| get it | ${f1(m(res.sdkGet))} s | \`pach get file\` ${f1(m(res.cliGet))} s | ${ratio(res.sdkGet, res.cliGet)}× | ≤ 1.5× |`,
    `| the SDK's own floor: the put to a server that does no work (bench/serve-sink.mjs) | ${f1(m(res.sinkPut))} s, SDK ${perGiB(cpu.sinkPut)} CPU-s per GiB | \`pach put file\` ${f1(m(res.cliPut))} s | ${ratio(res.sinkPut, res.cliPut)}× | |`,
    `| the SDK's own floor: the get from it | ${f1(m(res.sinkGet))} s, SDK ${perGiB(cpu.sinkGet)} CPU-s per GiB | \`pach get file\` ${f1(m(res.cliGet))} s | ${ratio(res.sinkGet, res.cliGet)}× | |`,
    `| CPU-s per GiB, put | server ${perGiB(cpu.serverPut)}, SDK ${perGiB(cpu.sdkPut)} | \`pach put file\` ${perGiB(cpu.cliPut)} | | |`,
    `| CPU-s per GiB, get | server ${perGiB(cpu.serverGet)}, SDK ${perGiB(cpu.sdkGet)} | \`pach get file\` ${perGiB(cpu.cliGet)} | | |`,
  ],
  list: [`| ListFile, 100,000 files | ${Math.round(m(listMs))} ms (pach's client); SDK ${Math.round(sdkList[1])} ms, of which grpcio's transport ${Math.round(sdkListRaw[1])} ms and betterproto's decoding ${Math.round(sdkListRaw[2] * 1000)} µs a FileInfo | | | < 1 s |`],
  inspect: [`| InspectRepo round trip, p50 of 1,000 | ${p50?.toFixed(2)} ms | | | < 2 ms |`],
  subscribe: [`| 200 open SubscribeCommit streams | +${((withSubs - before) / 1024).toFixed(1)} MiB RSS | | | < 100 MiB |`],
  big: [
    `| server RSS while ${BIG / 2 ** 30} GiB streams in (ModifyFile, 2 MiB messages) | peak ${(peak / 1024).toFixed(0)} MiB; VmHWM over the whole run ${(hwmAfter / 1024).toFixed(0)} MiB (before this step: ${(hwmBefore / 1024).toFixed(0)} MiB)${wrapperKiB ? `; the re-exec parent ${(wrapperKiB / 1024).toFixed(0)} MiB more` : ''}; ${(BIG / 2 ** 20 / (bigMs / 1000)).toFixed(0)} MiB/s, server ${(bigCpu / (BIG / 2 ** 30)).toFixed(2)} CPU-s per GiB | | | < 300 MiB |`,
  ],
}
const report = [
  `Run ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}; pachyderm_sdk ${spawnSync(PY, ['-c', 'import importlib.metadata as m; print(m.version("pachyderm_sdk"))'], {encoding: 'utf8'}).stdout.trim()}; medians of ${REPS} (\`node bench/serve.mjs\`).`,
  '',
  '| measure | pach serve + SDK | anchor | ratio | target |',
  '| --- | ---: | ---: | ---: | --- |',
  ...STEPS.filter(step).flatMap((s) => rows[s]),
].join('\n')
if (step('transfer')) log(`per rep (s): ${JSON.stringify({wall: res, cpu})}`)
console.log(report)
if (README) replaceReadmeSection('serve', report, log)
fs.rmSync(work, {recursive: true, force: true})
process.exit(0)
