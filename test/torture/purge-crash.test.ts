/**
 * A purge killed at each of its points (issue 16 part 1) leaves the old history or the new
 * one, never a mix, and never the purged bytes for good. PACH_PURGE_CRASH makes the purge
 * SIGKILL itself at a named point (core/maintenance/purge.ts):
 * - after-trees: inside the switch transaction, the new trees written: old history, the
 *   purge runs again and completes;
 * - after-switch: committed, before the sweep: new history, the bytes still in packs with the
 *   sweep pending; the next `pach gc` removes them, `pach run` recomputes the output commits;
 * - mid-recompute: the sweep done, one output commit recomputed, the next one's job not run
 *   (its commits open with the purged tree): `pach run` recomputes it in place;
 * - mid-sweep: the purged blobs unindexed, their packs not yet rewritten (fsck cannot see
 *   those bytes any more): the next `pach gc` still rewrites those packs (from their trailers).
 * Each point: fsck clean, every commit either old or new as a whole, no byte of the purged
 * file left under .pach at the end.
 */
import {cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it, vi} from 'vitest'
import {runPach, tmpProject, type Project} from '../helpers/cli.js'
import {pseudoRandom} from '../e2e/_util.js'
import {filesHolding, local, pipeline} from '../e2e/purge-util.js'

vi.setConfig({testTimeout: 420_000})

/** A project in a copy of `base` (removed after the test). */
function copyOf(base: string, ctx: {onTestFinished: (fn: () => void) => void}): Project {
  const dir = mkdtempSync(join(tmpdir(), 'pach-purge-crash-'))
  ctx.onTestFinished(() => rmSync(dir, {recursive: true, force: true}))
  cpSync(join(base, '.pach'), join(dir, '.pach'), {recursive: true})
  const p: Project = {
    dir,
    run: (args, opts = {}) => runPach(args, {cwd: dir, input: opts.input, env: {...local, ...opts.env}}),
    async ok(args, opts = {}) {
      const r = await p.run(args, opts)
      if (r.exitCode !== 0) throw new Error(`pach ${args.join(' ')} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
      return r.stdout
    },
    async json(args, opts = {}) {
      return JSON.parse(await p.ok([...args, '--json'], opts))
    },
  }
  return p
}

// the secret: two versions over several chunks (v2 chunker: 32 KiB min), each with a marker
const v1 = Buffer.concat([Buffer.from('CRASH-MARKER-ONE '), pseudoRandom(300_000, 11)])
const v2 = Buffer.concat([Buffer.from('CRASH-MARKER-TWO '), pseudoRandom(200_000, 12)])

describe('purge killed mid-way', () => {
  it('leaves the old or the new history as a whole, and the next gc removes the bytes', async (ctx) => {
    const base = await tmpProject(true, ctx)
    await base.ok(['create', 'repo', 'r'])
    await pipeline(base, {pipeline: {name: 'cp'}, input: {pfs: {repo: 'r', glob: '/*'}}, transform: {cmd: ['sh', '-c', 'cp /pfs/r/* /pfs/out/']}})
    // keep.bin and secret v1 in one put: one pack holding live and purged blobs (a repack)
    mkdirSync(join(base.dir, 'first'))
    writeFileSync(join(base.dir, 'first', 'secret.bin'), v1)
    writeFileSync(join(base.dir, 'first', 'keep.bin'), pseudoRandom(100_000, 13))
    writeFileSync(join(base.dir, 'v2'), v2)
    await base.ok(['put', 'file', '-r', 'r@master:/', '-f', join(base.dir, 'first')], {env: local})
    await base.ok(['put', 'file', 'r@master:/secret.bin', '-f', join(base.dir, 'v2')], {env: local})
    const ids = ((await base.json(['list', 'commit', 'r'])) as any[]).map((c) => c.commit.id as string)
    const holding = ids.slice(0, 2) // the two commits with /secret.bin (newest first)
    const cpIds = ((await base.json(['list', 'commit', 'cp'])) as any[]).map((c) => c.commit.id as string)

    const secretAt = async (p: Project, id: string) => {
      const r = await p.run(['get', 'file', `r@${id}:/secret.bin`])
      return r.exitCode === 0 ? 'old' : r.exitCode === 4 ? 'new' : `exit ${r.exitCode}`
    }
    const state = async (p: Project) => {
      const each = await Promise.all(holding.map((id) => secretAt(p, id)))
      expect(new Set(each).size, `a mix of histories: ${each.join(', ')}`).toBe(1)
      expect(((await p.json(['list', 'commit', 'r'])) as any[]).map((c) => c.commit.id)).toEqual(ids)
      return each[0]
    }
    const fsckOk = async (p: Project) => {
      const f = await p.json(['fsck'])
      expect(f.problems).toEqual([])
      expect(f.ok).toBe(true)
    }
    const gone = (p: Project) => expect([...filesHolding(p.dir, 'CRASH-MARKER-ONE'), ...filesHolding(p.dir, 'CRASH-MARKER-TWO')]).toEqual([])
    const purge = ['purge', 'file', 'r@master:/secret.bin', '-m', 'crash test']

    // 1. killed inside the switch transaction: the old history; purging again completes
    {
      const p = copyOf(base.dir, ctx)
      const r = await p.run(purge, {env: {PACH_PURGE_CRASH: 'after-trees'}})
      expect(r.exitCode, r.stderr).toBe(-1) // SIGKILL
      expect(await state(p)).toBe('old')
      await fsckOk(p)
      expect((await p.json(['purge', 'log'])).entries).toEqual([])
      expect(filesHolding(p.dir, 'CRASH-MARKER-TWO').length).toBeGreaterThan(0)
      await p.ok(purge)
      expect(await state(p)).toBe('new')
      await fsckOk(p)
      gone(p)
    }
    // 2. killed after the switch, before the sweep: the new history, bytes until the next gc
    {
      const p = copyOf(base.dir, ctx)
      const r = await p.run(purge, {env: {PACH_PURGE_CRASH: 'after-switch'}})
      expect(r.exitCode, r.stderr).toBe(-1)
      expect(await state(p)).toBe('new')
      await fsckOk(p)
      const log = await p.json(['purge', 'log'])
      expect(log.sweep_pending).toBe(true)
      expect(log.entries).toHaveLength(1)
      expect(await p.ok(['purge', 'log'])).toContain('run `pach gc`')
      expect(filesHolding(p.dir, 'CRASH-MARKER-TWO').length).toBeGreaterThan(0)
      await p.ok(['gc'])
      gone(p)
      expect((await p.json(['purge', 'log'])).sweep_pending).toBe(false)
      // the jobs were put back to run in their own commits: `pach run` recomputes them
      await p.ok(['run'])
      expect((await p.json(['list', 'file', 'cp@master'])).map((f: any) => f.file.path)).toEqual(['/keep.bin'])
      expect((await p.json(['inspect', 'commit', 'cp@master'])).commit.id).toBe(ids[0])
      await fsckOk(p)
      gone(p)
    }
    // 4. killed between two repairs: the older output commit recomputed and finished, the head's
    //    job not run yet, its commits open with the purged tree (no derived data either way)
    {
      const p = copyOf(base.dir, ctx)
      const r = await p.run(purge, {env: {PACH_PURGE_CRASH: 'mid-recompute'}})
      expect(r.exitCode, r.stderr).toBe(-1)
      expect(await state(p)).toBe('new')
      await fsckOk(p)
      gone(p) // the sweep ran before the repairs
      const [head, older] = holding
      expect((await p.json(['inspect', 'commit', `cp@${older}`])).finished).not.toBeNull()
      expect((await p.json(['list', 'file', `cp@${older}`])).map((f: any) => f.file.path)).toEqual(['/keep.bin'])
      expect((await p.json(['inspect', 'commit', `cp@${head}`])).finished).toBeNull()
      expect((await p.json(['inspect', 'job', `cp@${head}`])).state).toBe('JOB_CREATED')
      expect((await p.json(['list', 'file', `cp@${head}`])).map((f: any) => f.file.path)).toEqual(['/keep.bin'])
      await p.ok(['run'])
      expect((await p.json(['inspect', 'commit', `cp@${head}`])).finished).not.toBeNull()
      expect((await p.json(['list', 'file', `cp@${head}`])).map((f: any) => f.file.path)).toEqual(['/keep.bin'])
      expect(((await p.json(['list', 'commit', 'cp'])) as any[]).map((c) => c.commit.id)).toEqual(cpIds)
      await fsckOk(p)
      gone(p)
    }
    // 3. killed mid-sweep, the purged blobs unindexed but their packs not rewritten
    {
      const p = copyOf(base.dir, ctx)
      const r = await p.run(purge, {env: {PACH_PURGE_CRASH: 'mid-sweep'}})
      expect(r.exitCode, r.stderr).toBe(-1)
      expect(await state(p)).toBe('new')
      await fsckOk(p)
      expect((await p.json(['purge', 'log'])).sweep_pending).toBe(true)
      await p.ok(['gc'])
      gone(p)
      await fsckOk(p)
    }
  })
})
