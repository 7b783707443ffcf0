// The single executable (issue 12): its size and the cold start of `pach list repo` from it,
// against `node -e 0` (the floor: starting Node and nothing else) and the npm package's
// `node bin/run.js list repo`. Target: the binary's median ≤ 1.5× `node -e 0`'s.
//
// hyperfine (-N, no shell) runs the three commands in ROUNDS rounds (default 4) of RUNS runs
// each (default 15, after 3 warm-ups), so a change in the machine's load falls on all three,
// in one project made by the binary (`init`, `create repo images`, one `put file`): all three
// list the same repo. Medians of every run's wall time, the ratio of medians, and the mean CPU
// time (user + system, less moved by other processes on a shared machine than wall time).
//
//   npm run build:binary && node bench/binary.mjs [--rounds 4] [--runs 15] [--no-readme]
//
// The markdown report goes to stdout and replaces the part of bench/README.md between the
// `binary:start` / `binary:end` markers (unless --no-readme). ~30 s.
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {arg, median, replaceReadmeSection} from './lib.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const ROUNDS = Number(arg('rounds', 4))
const RUNS = Number(arg('runs', 15))
const README = !process.argv.includes('--no-readme')
const name = `pach-${process.platform}-${process.arch}`
const exe = path.join(root, 'dist', 'bin', name)
const log = (m) => console.error(`bench/binary: ${m}`)
if (!fs.existsSync(exe)) {
  log(`${path.relative(root, exe)} is missing: run \`npm run build:binary\` first`)
  process.exit(1)
}
const out = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, {cwd: root, encoding: 'utf8', ...opts})
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
  return r.stdout.trim()
}
out('hyperfine', ['--version'])

const loadStart = os.loadavg()
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pach-bench-binary-'))
try {
  fs.writeFileSync(path.join(work, 'cat.txt'), 'meow\n')
  for (const args of [['init'], ['create', 'repo', 'images'], ['put', 'file', 'images@master', '-f', 'cat.txt']]) out(exe, args, {cwd: work})
  const commands = {node: 'node -e 0', binary: `${exe} list repo`, npm: `node ${path.join(root, 'bin', 'run.js')} list repo`}
  const json = path.join(work, 'hyperfine.json')
  const times = Object.fromEntries(Object.keys(commands).map((k) => [k, []]))
  const cpu = Object.fromEntries(Object.keys(commands).map((k) => [k, []]))
  for (let round = 0; round < ROUNDS; round++) {
    out('hyperfine', ['-N', '--warmup', '3', '--runs', String(RUNS), '--export-json', json, ...Object.values(commands)], {cwd: work})
    JSON.parse(fs.readFileSync(json, 'utf8')).results.forEach((r, i) => {
      const k = Object.keys(commands)[i]
      times[k].push(...r.times)
      cpu[k].push(r.user + r.system)
    })
  }
  const med = Object.fromEntries(Object.keys(commands).map((k) => [k, median(times[k]) * 1000]))
  const cpuMs = Object.fromEntries(Object.keys(commands).map((k) => [k, (cpu[k].reduce((a, b) => a + b, 0) / cpu[k].length) * 1000]))
  const ms = (v) => `${v.toFixed(0)} ms`
  const ratio = med.binary / med.node
  const size = fs.statSync(exe).size
  const L = [
    `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`pach\` at \`${out('git', ['rev-parse', '--short', 'HEAD'])}\`, hyperfine -N, ${ROUNDS} rounds of ${RUNS} runs of each command (after 3 warm-ups).`,
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} at start, ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} at end (shared with other agents: read medians and ratios); node ${process.version}.`,
    '',
    `\`dist/bin/${name}\`: ${(size / 2 ** 20).toFixed(1)} MiB (${size.toLocaleString('en')} bytes; a copy of node is ~${(fs.statSync(process.execPath).size / 2 ** 20).toFixed(0)} MiB of it).`,
    '',
    '| Command | Median | × `node -e 0` | CPU (user + system) | × `node -e 0` |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...[
      ['node', '`node -e 0`'],
      ['binary', `\`${name} list repo\` (the binary)`],
      ['npm', '`node bin/run.js list repo` (the npm package)'],
    ].map(([k, label]) => `| ${label} | ${ms(med[k])} | ${(med[k] / med.node).toFixed(2)}× | ${ms(cpuMs[k])} | ${(cpuMs[k] / cpuMs.node).toFixed(2)}× |`),
    '',
    `Target (issue 12): the binary ≤ 1.5× \`node -e 0\`: ${ratio <= 1.5 ? 'met' : '**not met**'}.`,
  ]
  const report = L.join('\n')
  console.log(report)
  if (README) replaceReadmeSection('binary', report, log)
} finally {
  fs.rmSync(work, {recursive: true, force: true})
}
