// Shared by the benchmark scripts (bench/run.mjs, pipelines.mjs, torture.mjs, history.mjs, scale.mjs).
import {spawn, spawnSync} from 'node:child_process'
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

/** Run a process with its stdout drained: ms to its first stdout byte, and to its end. Rejects on a non-zero exit. */
export function firstLine(cmd, args, cwd) {
  return new Promise((res, rej) => {
    const t = process.hrtime.bigint()
    let at
    const p = spawn(cmd, args, {cwd, stdio: ['ignore', 'pipe', 'ignore']})
    p.stdout.on('data', () => (at ??= Number(process.hrtime.bigint() - t) / 1e6))
    p.on('error', rej)
    p.on('close', (code) => (code === 0 ? res({first: at, total: Number(process.hrtime.bigint() - t) / 1e6}) : rej(new Error(`${cmd} exited ${code}`))))
  })
}
