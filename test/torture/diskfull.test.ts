/**
 * Disk full (issue 4): a `.pach` on a small tmpfs that a `put file` or a job's output fills.
 *
 * Each case checks: the failing command says so in one line (DISK_FULL, "no space left on
 * device") or, for a job, the job fails with that reason while the command that ran it exits
 * 0 as for any failed downstream job; nothing stored before is changed (same commits, same
 * bytes, an open commit still open with what it held); `fsck` finds no damage; `gc` gives
 * the space back (free space returns to what it was before the failed write, within the
 * growth of the SQLite files); and the store keeps working.
 *
 * Mounting a tmpfs needs root: CI runs as root; elsewhere these tests are skipped with a
 * notice (they are not counted as passed).
 */
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runPach, type RunResult} from '../helpers/cli.js'
import {expectUserError, pseudoRandom} from '../e2e/_util.js'

const ROOT = process.getuid?.() === 0
if (!ROOT && process.env.CI) throw new Error('the disk-full tests mount a tmpfs and need root under CI')

const MiB = 1024 * 1024

/** A tmpfs of `mib` MiB with a pach project in it; removed when the test finishes. */
function smallDisk(ctx: {onTestFinished: (fn: () => void) => void}, mib: number) {
  const mnt = mkdtempSync(join(tmpdir(), 'pach-full-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', mnt])
  const outside = mkdtempSync(join(tmpdir(), 'pach-full-src-'))
  ctx.onTestFinished(() => {
    try {
      execFileSync('umount', ['-l', mnt])
    } catch {
      /* already gone */
    }
    rmSync(mnt, {recursive: true, force: true})
    rmSync(outside, {recursive: true, force: true})
  })
  const dir = join(mnt, 'proj')
  const tmp = join(mnt, 'tmp')
  mkdirSync(dir)
  mkdirSync(tmp)
  const env = {TMPDIR: tmp, PACH_RUNNER: 'local'}
  const run = (args: string[], opts: {input?: string | Buffer; env?: Record<string, string>} = {}): Promise<RunResult> =>
    runPach(args, {cwd: dir, input: opts.input, env: {...env, ...opts.env}})
  const ok = async (args: string[], opts: {input?: string | Buffer; env?: Record<string, string>} = {}) => {
    const r = await run(args, opts)
    expect(r.exitCode, `pach ${args.join(' ')}\n${r.stderr}`).toBe(0)
    return r
  }
  const free = () => {
    const s = statfsSync(mnt)
    return s.bavail * s.bsize
  }
  /** a file outside the small disk with `bytes` of incompressible data */
  const source = (name: string, bytes: number, seed: number) => {
    const p = join(outside, name)
    writeFileSync(p, pseudoRandom(bytes, seed))
    return p
  }
  return {dir, run, ok, free, source}
}

/** bytes the SQLite files may grow by while a failed write is rolled back and gc runs */
const DB_SLACK = 2 * MiB

describe.runIf(ROOT)('disk full', () => {
  it('during put file: one clear line, no new commit, an open commit keeps its files, gc gives the space back', {timeout: 120_000}, async (ctx) => {
    const d = smallDisk(ctx, 24)
    await d.ok(['init'])
    await d.ok(['create', 'repo', 'data'])
    const keep = pseudoRandom(3 * MiB, 7)
    await d.ok(['put', 'file', 'data@master:/keep.bin', '-f', '-'], {input: keep})
    const head = JSON.parse((await d.ok(['inspect', 'commit', 'data@master', '--json'])).stdout).commit.id as string
    const before = d.free()
    const big = d.source('big.bin', before + 4 * MiB, 11)

    // a one-off commit that does not fit
    const r = await d.run(['put', 'file', 'data@master:/big.bin', '-f', big])
    expectUserError(r, 1, /no space left on device/)
    const commits = JSON.parse((await d.ok(['list', 'commit', 'data', '--json'])).stdout) as {commit: {id: string}}[]
    expect(commits.map((c) => c.commit.id)).toEqual([head])
    expect(Buffer.from((await runBytes(d, 'data@master:/keep.bin'))).equals(keep)).toBe(true)
    await d.ok(['fsck'])
    await d.ok(['gc'])
    expect(d.free()).toBeGreaterThanOrEqual(before - DB_SLACK)

    // into an open commit: it stays open with what it held, and can be finished
    await d.ok(['start', 'commit', 'data@master'])
    await d.ok(['put', 'file', 'data@master:/small.txt', '-f', '-'], {input: 'small\n'})
    const r2 = await d.run(['put', 'file', 'data@master:/big.bin', '-f', big])
    expectUserError(r2, 1, /no space left on device/)
    const open = JSON.parse((await d.ok(['inspect', 'commit', 'data@master', '--json'])).stdout)
    expect(open.finished ?? null).toBeNull()
    await d.ok(['gc'])
    await d.ok(['finish', 'commit', 'data@master'])
    expect((await d.ok(['get', 'file', 'data@master:/small.txt'])).stdout).toBe('small\n')
    const files = JSON.parse((await d.ok(['list', 'file', 'data@master:/', '--json'])).stdout) as {file: {path: string}}[]
    expect(files.map((f) => f.file.path).sort()).toEqual(['/keep.bin', '/small.txt'])
    await d.ok(['fsck'])
  })

  it('during a job: the job fails saying the disk is full, inputs stay intact, gc gives the space back', {timeout: 180_000}, async (ctx) => {
    const d = smallDisk(ctx, 48)
    await d.ok(['init'])
    await d.ok(['create', 'repo', 'in'])
    for (const n of ['a', 'b', 'c']) await d.ok(['put', 'file', `in@master:/${n}`, '-f', '-'], {input: `${n}\n`})
    const before = d.free()
    // three datums each write 40 % of the free space: each fits when it is written, all
    // three cannot be stored; either pach's write of the outputs or the user code of a
    // later datum runs out of space, and the job must fail saying so
    const out = Math.floor((before * 0.4) / MiB)
    const spec = {
      pipeline: {name: 'fill'},
      input: {pfs: {repo: 'in', glob: '/*'}},
      transform: {cmd: ['sh', '-c', `head -c ${out}m /dev/urandom > /pfs/out/$(basename $in).bin`]},
      datum_tries: 1,
    }
    writeFileSync(join(d.dir, 'fill.json'), JSON.stringify(spec))
    const r = await d.ok(['create', 'pipeline', '-f', 'fill.json'])
    const job = JSON.parse((await d.ok(['list', 'job', '-p', 'fill', '--json'])).stdout)[0]
    expect(job.state, r.stderr + JSON.stringify(job)).toBe('JOB_FAILURE')
    expect(r.stderr).toContain(`fill@${job.job.id}: failure`)
    if (!/no space left on device/.test(job.reason)) {
      // a datum's user code hit the full disk: its logs say so
      expect(job.reason).toMatch(/^datum [0-9a-f]{64} failed$/)
      expect((await d.ok(['logs', '-p', 'fill'])).stdout).toMatch(/No space left on device/i)
    }
    expect((await d.ok(['get', 'file', 'in@master:/a'])).stdout).toBe('a\n')
    await d.ok(['fsck'])
    await d.ok(['gc'])
    expect(d.free()).toBeGreaterThanOrEqual(before - DB_SLACK)
    // the store still works: small outputs fit
    await d.ok(['update', 'pipeline', '-f', '-'], {input: JSON.stringify({...spec, transform: {cmd: ['sh', '-c', 'cp $in /pfs/out/']}})})
    expect((await d.ok(['get', 'file', 'fill@master:/b'])).stdout).toBe('b\n')
    await d.ok(['fsck'])
  })
})

if (!ROOT) {
  describe('disk full', () => {
    it.skip('needs root to mount a tmpfs (runs in CI)', () => {})
  })
}

async function runBytes(d: {dir: string}, target: string): Promise<Buffer> {
  return execFileSync('node', [join(import.meta.dirname, '../../bin/run.js'), 'get', 'file', target], {cwd: d.dir, maxBuffer: 64 * MiB})
}
