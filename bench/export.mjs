// `pach export` / `pach import` of 1 GiB against `tar` of the `.pach` directory (issue 16's
// target: each within 1.5× of tar), in the same run on the same data:
//   - export:  `pach export -o F` of the whole project   vs  `tar -cf T .pach`
//   - import:  `pach import F` into a fresh `pach init`  vs  `tar -xf T` into a fresh dir
// The data: 4 files of fresh random bytes (256 MiB each, --size-mib 1024 in all), put once per
// rep into a fresh project (not timed against anything; reported). Every command is the built
// CLI as a user runs it, one process each; tar runs without compression (a backup of random
// data gains nothing from it). Every timed command starts after a `sync` (not timed), so none
// pays for the dirty pages of the one before it (an export and a tar just wrote 2 GiB; the
// first writer after them would otherwise wait for all of it).
// Durability decides the import anchor: pach import fsyncs its packs and commits its rows
// before it exits (config `fsync`, as every pach write), while `tar -xf` returns with its bytes
// still in the page cache. The import ratio the target is judged by is therefore
// `pach import F && sync` against `tar -xf T && sync` (a sync after each, timed with it: both
// sides durable, and pach's sync finds almost nothing left to write); the ratio against a bare
// `tar -xf` is reported beside it. Export is compared without a sync on either side: neither
// `pach export -o F` nor `tar -cf` fsyncs its output.
// Each ratio is median(pach) / median(tar) over --reps runs (default 3; --reps 1 is the quick
// mode); the order alternates per rep so neither side always finds a warmer page cache.
//
//   npm run build && node bench/export.mjs [--reps 3] [--size-mib 1024] [--no-readme]
//
// The report goes to stdout and replaces the `export:start`/`export:end` part of bench/README.md.
import {spawn} from 'node:child_process'
import {randomFillSync} from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {arg, dirBytes, freshDir, median, replaceReadmeSection, sleep, snapshotPach, tail} from './lib.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const MiB = 1024 * 1024
const REPS = Number(arg('reps', 3))
const SIZE = Number(arg('size-mib', 1024)) * MiB
const README = !process.argv.includes('--no-readme')
const work = path.join(root, 'bench', '.work', 'export')
const log = (m) => console.error(`bench/export: ${m}`)
freshDir(work)
const loadStart = os.loadavg()[0].toFixed(1)
const bin = snapshotPach({root, work, log, tail, freshDir, sleep})
const env = {...process.env, PACH_DETACH: '1'}

/** Run a command to its end under GNU time: wall ms, CPU s (user + system), stdout. Throws on a non-zero exit. */
let nth = 0
function timed(cmd, args, cwd) {
  const usage = path.join(work, `time-${++nth}.txt`)
  return new Promise((res, rej) => {
    const t = process.hrtime.bigint()
    const p = spawn('/usr/bin/time', ['-f', '%U %S', '-o', usage, cmd, ...args], {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('error', rej)
    p.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t) / 1e6
      if (code !== 0) return rej(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${tail(err, 5)}`))
      const [u, s] = fs.readFileSync(usage, 'utf8').trim().split('\n').pop().split(' ').map(Number)
      fs.rmSync(usage)
      res({ms, cpu: u + s, out})
    })
  })
}
const pach = (cwd, args) => timed(process.execPath, [bin, ...args], cwd)
const sync = () => timed('sync', [], work)

// the data, written once: 4 files of fresh random bytes
const dataDir = path.join(work, 'data')
freshDir(dataDir)
const FILES = 4
const buf = Buffer.allocUnsafe(16 * MiB)
for (let i = 0; i < FILES; i++) {
  const fd = fs.openSync(path.join(dataDir, `f${i}.bin`), 'w')
  for (let left = SIZE / FILES; left > 0; left -= buf.length) fs.writeSync(fd, randomFillSync(buf), 0, Math.min(buf.length, left))
  fs.closeSync(fd)
}
log(`data: ${FILES} files, ${SIZE / MiB} MiB in all`)

const r = {put: [], export: [], tarc: [], import: [], importSync: [], tarx: [], tarxSync: []}
const cpu = {export: [], tarc: [], import: [], tarx: []}
let sizes
for (let rep = 0; rep < REPS; rep++) {
  const dir = path.join(work, `rep${rep}`)
  freshDir(dir)
  const src = path.join(dir, 'src')
  const dst = path.join(dir, 'dst')
  const untar = path.join(dir, 'untar')
  for (const d of [src, dst, untar]) fs.mkdirSync(d)
  await pach(src, ['init'])
  await pach(src, ['create', 'repo', 'data'])
  const put = await pach(src, ['put', 'file', '-r', 'data@master:/', '-f', dataDir])
  r.put.push(put.ms)
  const archive = path.join(dir, 'backup.pacharc')
  const tarball = path.join(dir, 'pach.tar')
  const pachFirst = rep % 2 === 0
  const ex = async () => (await sync(), pach(src, ['export', '-o', archive, '--json']))
  const tc = async () => (await sync(), timed('tar', ['-cf', tarball, '.pach'], src))
  let e, t
  if (pachFirst) [e, t] = [await ex(), await tc()]
  else [t, e] = [await tc(), await ex()]
  r.export.push(e.ms)
  r.tarc.push(t.ms)
  cpu.export.push(e.cpu)
  cpu.tarc.push(t.cpu)
  await pach(dst, ['init'])
  // a sync after each side, timed apart: tar -x returns with its bytes in the page cache, and
  // the sync is what makes them as durable as pach import's fsynced packs
  const im = async () => {
    await sync()
    const i = await pach(dst, ['import', archive, '--json'])
    return {...i, syncMs: (await sync()).ms}
  }
  const tx = async () => {
    await sync()
    const x = await timed('tar', ['-xf', tarball], untar)
    return {...x, syncMs: (await sync()).ms}
  }
  let i, x
  if (pachFirst) [i, x] = [await im(), await tx()]
  else [x, i] = [await tx(), await im()]
  r.import.push(i.ms)
  r.importSync.push(i.ms + i.syncMs)
  r.tarx.push(x.ms)
  r.tarxSync.push(x.ms + x.syncMs)
  cpu.import.push(i.cpu)
  cpu.tarx.push(x.cpu)
  const imported = JSON.parse(i.out)
  if (imported.blob_bytes !== SIZE) throw new Error(`import restored ${imported.blob_bytes} bytes, expected ${SIZE}`)
  const fsck = JSON.parse((await pach(dst, ['fsck', '--json', '--no-read-data'])).out)
  if (!fsck.ok) throw new Error('fsck after import found problems')
  sizes = {pachDir: dirBytes(path.join(src, '.pach')), archive: fs.statSync(archive).size, tar: fs.statSync(tarball).size}
  const sec = (ms) => (ms / 1000).toFixed(2)
  log(`rep ${rep + 1}/${REPS}: put ${sec(put.ms)} s, export ${sec(e.ms)} s vs tar -c ${sec(t.ms)} s, import ${sec(i.ms)} s (+ sync ${sec(i.syncMs)} s) vs tar -x ${sec(x.ms)} s (+ sync ${sec(x.syncMs)} s)`)
  fs.rmSync(dir, {recursive: true, force: true})
}
fs.rmSync(dataDir, {recursive: true, force: true})

const s = (ms) => `${(ms / 1000).toFixed(2)} s`
const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]))
const c = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, median(v)]))
const ratio = (a, b) => `${(a / b).toFixed(2)}×`
const gib = (b) => `${(b / MiB).toFixed(0)} MiB`
const load = os.loadavg().map((x) => x.toFixed(1)).join(' ')
const report = [
  `Run ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, load average (1 min) ${loadStart} at the start, ${load} at the end (1/5/15 min); ${REPS} rep${REPS === 1 ? '' : 's'} (medians), ${FILES} files of ${SIZE / FILES / MiB} MiB random bytes (\`put file -r\` of them: ${s(m.put)}).`,
  '',
  '| | pach | tar | pach / tar (wall) | target | CPU pach / tar (user + sys) |',
  '|---|---|---|---|---|---|',
  `| export (\`pach export -o F\` vs \`tar -cf T .pach\`) | ${s(m.export)} | ${s(m.tarc)} | ${ratio(m.export, m.tarc)} | ≤ 1.5× | ${c.export.toFixed(2)} s / ${c.tarc.toFixed(2)} s |`,
  `| import, durable (\`pach import F && sync\` into a fresh project vs \`tar -xf T && sync\`) | ${s(m.importSync)} | ${s(m.tarxSync)} | ${ratio(m.importSync, m.tarxSync)} | ≤ 1.5× | ${c.import.toFixed(2)} s / ${c.tarx.toFixed(2)} s |`,
  `| import vs a bare \`tar -xf T\` (its bytes not yet on disk) | ${s(m.import)} | ${s(m.tarx)} | ${ratio(m.import, m.tarx)} | | |`,
  `| size | archive ${gib(sizes.archive)} | tar ${gib(sizes.tar)} (\`.pach\` ${gib(sizes.pachDir)}) | | | |`,
].join('\n')
console.log(report)
if (README) replaceReadmeSection('export', report, log)
