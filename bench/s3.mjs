// `pach serve`'s S3 gateway (issue 15's speed targets), each against its anchor measured in
// the same run on the same machine:
//   - upload 1 GiB with the aws CLI (`aws s3 cp`, its default multipart) ≤ 1.5× `pach put file`;
//   - download it with the aws CLI ≤ 1.5× `pach get file` (to a file);
//   - ListObjectsV2 over 100,000 keys, every page, < 3 s (the AWS JS SDK's paginator, in-process);
//   - 1,000 small PUTs/s on loopback with 8 concurrent clients (SigV4-signed, 1 KiB objects): each
//     PUT its own commit (the branch head finished, Pachyderm's rule), and into an open commit.
// Every upload is of fresh random bytes (a repeat would be deduplicated). Medians of --reps.
//
//   npm run build && node bench/s3.mjs [--reps 3] [--size-mib 1024] [--keys 100000] [--puts 2000] [--prof DIR] [--no-readme]
//
// The report goes to stdout and replaces the `s3:start`/`s3:end` part of bench/README.md.
import {spawn, spawnSync} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import {createRequire} from 'node:module'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {arg, cpuSeconds, freshDir, median, randomFile, replaceReadmeSection, sleep, servingPid, snapshotPach, tail} from './lib.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const REPS = Number(arg('reps', 3))
const SIZE = Number(arg('size-mib', 1024)) * 1024 * 1024
const KEYS = Number(arg('keys', 100_000))
const PUTS = Number(arg('puts', 2000))
const README = !process.argv.includes('--no-readme')
// --prof DIR: a V8 CPU profile of the server
const PROF = arg('prof', null) && path.resolve(arg('prof'))
const work = path.join(root, 'bench', '.work', 's3')
const log = (m) => console.error(`bench/s3: ${m}`)
// Debian's aws CLI (the one CI installs); the pip one on PATH may be another version
const AWS = fs.existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws'
freshDir(work)
const bin = snapshotPach({root, work, log, tail, freshDir, sleep})
const proj = path.join(work, 'project')
fs.mkdirSync(proj)
// CPU seconds (user + sys) of the last `timed` command, through GNU time when it is there: on a
// shared 2-core machine the steadier measure
const GNU_TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null
let lastCpu = NaN
const timed = (file, args, opts = {}) => {
  const t = process.hrtime.bigint()
  const r = GNU_TIME
    ? spawnSync(GNU_TIME, ['-f', '%U %S', file, ...args], {encoding: 'utf8', maxBuffer: 1 << 26, ...opts})
    : spawnSync(file, args, {encoding: 'utf8', maxBuffer: 1 << 26, ...opts})
  if (r.status !== 0) throw new Error(`${path.basename(file)} ${args.join(' ')}: ${r.stderr}`)
  const [u, sy] = GNU_TIME ? r.stderr.trim().split('\n').pop().split(' ').map(Number) : [NaN, NaN]
  lastCpu = u + sy
  return Number(process.hrtime.bigint() - t) / 1e6
}
/** CPU seconds the server process has used so far (Linux /proc). */
// the serving process (pach serve's child on glibc: servingPid), known once it has printed its address
let servingProc = NaN
const serverCpu = () => cpuSeconds(servingProc)
const pach = (args, opts = {}) => timed(process.execPath, [bin, ...args], {cwd: proj, env: {...process.env, PACH_DETACH: '1'}, ...opts})
pach(['init'])
pach(['create', 'repo', 'data'])
pach(['create', 'repo', 'many'])
pach(['create', 'repo', 'small'])

const server = spawn(process.execPath, [...(PROF ? ['--cpu-prof', '--cpu-prof-dir', PROF] : []), bin, 'serve', '--address', 'localhost:0', '--s3-address', 'localhost:0', '--json'], {cwd: proj, stdio: ['ignore', 'pipe', 'pipe']})
const endpoint = await new Promise((res, rej) => {
  let out = ''
  server.stdout.on('data', (d) => {
    out += d
    if (out.includes('\n')) res(JSON.parse(out.split('\n')[0]).s3_endpoint)
  })
  server.on('exit', (c) => rej(new Error(`pach serve exited ${c}`)))
})
log(`S3 gateway at ${endpoint}`)
servingProc = servingPid(server.pid)
const awsEnv = {...process.env, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_DEFAULT_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null'}
const aws = (...args) => timed(AWS, ['--endpoint-url', endpoint, ...args], {env: awsEnv})


// 1. upload and download of SIZE, interleaved (rep i: CLI first on odd reps)
const res = {cliPut: [], awsPut: [], cliGet: [], awsGet: []}
// CPU seconds: the pach command; the aws CLI plus the gateway's server process
const cpu = {cliPut: [], awsPut: [], cliGet: [], awsGet: []}
const withServer = (key, f) => {
  const s0 = serverCpu()
  res[key].push(f())
  cpu[key].push(lastCpu + (serverCpu() - s0))
}
const file = path.join(work, 'big.bin')
const out = path.join(work, 'out.bin')
for (let i = 0; i < REPS; i++) {
  const steps = [
    () => {
      randomFile(file, SIZE)
      res.cliPut.push(pach(['put', 'file', `data@master:/cli-${i}`, '-f', file]))
      cpu.cliPut.push(lastCpu)
      fs.rmSync(out, {force: true})
      res.cliGet.push(timed('sh', ['-c', `node "${bin}" get file data@master:/cli-${i} > "${out}"`], {cwd: proj}))
      cpu.cliGet.push(lastCpu)
    },
    () => {
      randomFile(file, SIZE)
      withServer('awsPut', () => aws('s3', 'cp', '--only-show-errors', file, `s3://master.data/aws-${i}`))
      fs.rmSync(out, {force: true})
      withServer('awsGet', () => aws('s3', 'cp', '--only-show-errors', `s3://master.data/aws-${i}`, out))
      if (fs.statSync(out).size !== SIZE) throw new Error(`aws s3 cp got ${fs.statSync(out).size} bytes, not ${SIZE}`)
    },
  ]
  for (const s of i % 2 ? steps.reverse() : steps) s()
  log(`rep ${i + 1}: put pach ${res.cliPut[i].toFixed(0)} ms, aws ${res.awsPut[i].toFixed(0)} ms; get pach ${res.cliGet[i].toFixed(0)} ms, aws ${res.awsGet[i].toFixed(0)} ms`)
  log(`rep ${i + 1} CPU s: put pach ${cpu.cliPut[i].toFixed(2)}, aws + gateway ${cpu.awsPut[i].toFixed(2)}; get pach ${cpu.cliGet[i].toFixed(2)}, aws + gateway ${cpu.awsGet[i].toFixed(2)}`)
}
// 1b. the aws CLI's floor: the same transfers against bench/s3-sink.mjs, a server that does no
// work (drops uploads unread, serves downloads from the page cache), so what remains is the
// client's own cost on this machine, which no gateway can go below
const floor = {put: [], get: [], putCpu: [], getCpu: []}
{
  const sink = spawn(process.execPath, [path.join(root, 'bench', 's3-sink.mjs'), file], {stdio: ['ignore', 'pipe', 'inherit']})
  const port = await new Promise((res, rej) => {
    let o = ''
    sink.stdout.on('data', (d) => {
      o += d
      if (o.includes('\n')) res(JSON.parse(o.split('\n')[0]).port)
    })
    sink.on('exit', (c) => rej(new Error(`s3-sink exited ${c}`)))
  })
  const sinkAws = (...args) => timed(AWS, ['--endpoint-url', `http://127.0.0.1:${port}`, ...args], {env: awsEnv})
  for (let i = 0; i < REPS; i++) {
    floor.put.push(sinkAws('s3', 'cp', '--only-show-errors', file, 's3://sink/big.bin'))
    floor.putCpu.push(lastCpu)
    fs.rmSync(out, {force: true})
    floor.get.push(sinkAws('s3', 'cp', '--only-show-errors', 's3://sink/big.bin', out))
    floor.getCpu.push(lastCpu)
    if (fs.statSync(out).size !== SIZE) throw new Error(`aws s3 cp from the sink got ${fs.statSync(out).size} bytes, not ${SIZE}`)
    log(`floor rep ${i + 1}: aws alone put ${floor.put[i].toFixed(0)} ms (${floor.putCpu[i].toFixed(2)} CPU s), get ${floor.get[i].toFixed(0)} ms (${floor.getCpu[i].toFixed(2)} CPU s)`)
  }
  sink.kill('SIGTERM')
}
fs.rmSync(file, {force: true})
fs.rmSync(out, {force: true})

// 2. ListObjectsV2 over KEYS keys (100 directories), every page
const src = path.join(work, 'many')
for (let d = 0; d < 100; d++) {
  fs.mkdirSync(path.join(src, `d${d}`), {recursive: true})
  for (let f = 0; f < KEYS / 100; f++) fs.writeFileSync(path.join(src, `d${d}`, `f${f}`), `${d}/${f}`)
}
pach(['put', 'file', '-r', 'many@master:/', '-f', src])
fs.rmSync(src, {recursive: true, force: true})
const {S3Client, ListObjectsV2Command} = await import('@aws-sdk/client-s3')
const client = new S3Client({endpoint, region: 'us-east-1', forcePathStyle: true, credentials: {accessKeyId: 'bench', secretAccessKey: 'bench'}, maxAttempts: 1})
const listMs = []
for (let i = 0; i < REPS; i++) {
  const t = performance.now()
  let n = 0
  let token
  do {
    const r = await client.send(new ListObjectsV2Command({Bucket: 'master.many', ContinuationToken: token}))
    n += r.KeyCount ?? 0
    token = r.NextContinuationToken
  } while (token)
  if (n !== KEYS) throw new Error(`ListObjectsV2 listed ${n} keys, not ${KEYS}`)
  listMs.push(performance.now() - t)
}
log(`ListObjectsV2 of ${KEYS} keys: ${listMs.map((x) => x.toFixed(0)).join(' / ')} ms`)

// 3. small PUTs, 8 concurrent clients: one commit each, then into an open commit. The clients
// run in this process and the gateway in its own: each run logs the CPU seconds (user+sys) of
// both, the server's from /proc (serverCpu above), to tell their shares apart.
// The clients are lean (the SDK's own per-request machinery costs more CPU than the gateway on
// these 2 cores, which it shares): raw node:http keep-alive requests, each a real SigV4-signed
// PUT by the SDK's signer (@smithy/signature-v4, node's SHA-256) with the body's SHA-256 as its
// payload hash, which the gateway verifies. Every body is distinct random bytes, so each PUT
// writes a new blob (a pack synced per group) and a new ETag row.
const requireSdk = createRequire(createRequire(import.meta.url).resolve('@aws-sdk/client-s3'))
const {SignatureV4} = requireSdk('@smithy/signature-v4')
class NodeSha256 {
  constructor(secret) {
    this.h = secret ? crypto.createHmac('sha256', secret) : crypto.createHash('sha256')
  }
  update(d) {
    this.h.update(d)
  }
  async digest() {
    return new Uint8Array(this.h.digest())
  }
}
async function puts(prefix) {
  const bodies = Array.from({length: PUTS}, () => crypto.randomBytes(1024))
  const {hostname, port, host} = new URL(endpoint)
  let next = 0
  const s0 = serverCpu()
  const c0 = process.cpuUsage()
  const t = performance.now()
  await Promise.all(
    Array.from({length: 8}, async () => {
      const agent = new http.Agent({keepAlive: true, maxSockets: 1})
      const signer = new SignatureV4({credentials: {accessKeyId: 'bench', secretAccessKey: 'bench'}, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false})
      for (let k; (k = next++) < PUTS; ) {
        const body = bodies[k]
        const path = `/master.small/${prefix}/${k}`
        const headers = {host, 'content-length': String(body.length), 'x-amz-content-sha256': crypto.createHash('sha256').update(body).digest('hex')}
        const signed = await signer.sign({method: 'PUT', protocol: 'http:', hostname, port: Number(port), path, query: {}, headers, body})
        await new Promise((resolve, reject) => {
          const req = http.request({agent, hostname, port, method: 'PUT', path, headers: signed.headers}, (res) => {
            res.resume()
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${path}: ${res.statusCode}`))))
          })
          req.on('error', reject)
          req.end(body)
        })
      }
      agent.destroy()
    }),
  )
  const secs = (performance.now() - t) / 1000
  const c = process.cpuUsage(c0)
  log(`${prefix}: ${secs.toFixed(2)} s wall; CPU: clients ${((c.user + c.system) / 1e6).toFixed(2)} s, server ${(serverCpu() - s0).toFixed(2)} s`)
  return PUTS / secs
}
const perCommit = []
const openCommit = []
for (let i = 0; i < REPS; i++) {
  perCommit.push(await puts(`each-${i}`))
  pach(['start', 'commit', 'small@master'])
  openCommit.push(await puts(`open-${i}`))
  pach(['finish', 'commit', 'small@master'])
  log(`rep ${i + 1}: ${perCommit[i].toFixed(0)} PUTs/s one commit each, ${openCommit[i].toFixed(0)} PUTs/s into an open commit`)
}
server.kill('SIGTERM')
await new Promise((r) => server.once('exit', r))

const m = (xs) => median(xs)
const f1 = (x) => (x / 1000).toFixed(2)
const ratio = (a, b) => (m(a) / m(b)).toFixed(2)
const mark = (ok) => (ok ? '✓' : '✗')
const report = [
  `Run ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}; ${spawnSync(AWS, ['--version'], {encoding: 'utf8'}).stdout.trim().split(' ')[0]}; medians of ${REPS} (\`node bench/s3.mjs\`).`,
  '',
  '| measure | through the gateway | anchor | ratio | target | CPU s: aws CLI + gateway / anchor |',
  '| --- | ---: | ---: | ---: | --- | ---: |',
  `| upload ${SIZE / 2 ** 20} MiB, \`aws s3 cp\` | ${f1(m(res.awsPut))} s | \`pach put file\` ${f1(m(res.cliPut))} s | ${ratio(res.awsPut, res.cliPut)}× ${mark(m(res.awsPut) <= 1.5 * m(res.cliPut))} | ≤ 1.5× | ${m(cpu.awsPut).toFixed(2)} / ${m(cpu.cliPut).toFixed(2)} |`,
  `| download it, \`aws s3 cp\` | ${f1(m(res.awsGet))} s | \`pach get file\` ${f1(m(res.cliGet))} s | ${ratio(res.awsGet, res.cliGet)}× ${mark(m(res.awsGet) <= 1.5 * m(res.cliGet))} | ≤ 1.5× | ${m(cpu.awsGet).toFixed(2)} / ${m(cpu.cliGet).toFixed(2)} |`,
  `| the aws CLI alone, upload (bench/s3-sink.mjs: a server that drops the bytes) | ${f1(m(floor.put))} s | \`pach put file\` | ${ratio(floor.put, res.cliPut)}× | the floor of any gateway | ${m(floor.putCpu).toFixed(2)} (aws CLI) |`,
  `| the aws CLI alone, download (served from the page cache) | ${f1(m(floor.get))} s | \`pach get file\` | ${ratio(floor.get, res.cliGet)}× | the floor of any gateway | ${m(floor.getCpu).toFixed(2)} (aws CLI) |`,
  `| ListObjectsV2, ${KEYS.toLocaleString('en')} keys, every page (AWS JS SDK) | ${f1(m(listMs))} s ${mark(m(listMs) < 3000)} | | | < 3 s | |`,
  `| 1 KiB PUTs, 8 concurrent clients (SigV4, distinct bodies), one commit each | ${m(perCommit).toFixed(0)}/s ${mark(m(perCommit) >= 1000)} | | | ≥ 1,000/s | |`,
  `| the same into an open commit | ${m(openCommit).toFixed(0)}/s ${mark(m(openCommit) >= 1000)} | | | | |`,
].join('\n')
console.log(report)
if (README) replaceReadmeSection('s3', report, log)
