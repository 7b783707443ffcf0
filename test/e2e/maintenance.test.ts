/**
 * E2E: fsck (healthy and damaged stores), gc (dry run, reclaiming dropped commits and
 * deleted repos), and refusing a .pach written by a newer format.
 */
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it, vi} from 'vitest'
import {tmpProject, type Project} from '../helpers/cli.js'
import {expectUserError, pseudoRandom, putText, runBytes, sha256} from './_util.js'

// each test makes ~10-20 CLI calls; give a loaded machine room (no test depends on timing)
vi.setConfig({testTimeout: 240_000})

/** Every pack file on disk (.pach/objects/packs/<aa>/<pack>) with its size. */
function packs(p: Project): {path: string; size: number}[] {
  const root = join(p.dir, '.pach', 'objects', 'packs')
  const out: {path: string; size: number}[] = []
  for (const d of readdirSync(root)) {
    const dir = join(root, d)
    if (!statSync(dir).isDirectory()) continue
    for (const f of readdirSync(dir)) out.push({path: join(dir, f), size: statSync(join(dir, f)).size})
  }
  return out
}

/** A project with /big.bin (~3 MiB, its own pack) and /small.txt (another pack); the big pack is damaged mid-file. */
async function damaged(): Promise<{p: Project; big: Buffer}> {
  const p = await tmpProject()
  const big = pseudoRandom(3 * 1024 * 1024, 777)
  writeFileSync(join(p.dir, 'big.bin'), big)
  await p.ok(['create', 'repo', 'r'])
  await p.ok(['put', 'file', 'r@master:/big.bin', '-f', join(p.dir, 'big.bin')])
  await putText(p, 'r@master:/small.txt', 'still fine\n')
  const list = packs(p).sort((a, b) => b.size - a.size)
  expect(list.length).toBeGreaterThanOrEqual(2)
  const target = list[0]!
  const bytes = readFileSync(target.path)
  const mid = Math.floor(bytes.length / 2)
  for (let i = mid; i < mid + 16; i++) bytes[i] = bytes[i]! ^ 0xff
  writeFileSync(target.path, bytes)
  return {p, big}
}

describe('fsck', () => {
  it('a healthy store: exit 0, --json {ok:true, problems:[]}', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/a.txt', 'a')
    await putText(p, 'r@master:/b.txt', 'b')
    const r = await p.json(['fsck'])
    expect(r.ok).toBe(true)
    expect(r.problems).toEqual([])
    expect(r.checked.packs).toBeGreaterThanOrEqual(1)
    expect(r.checked.commits).toBe(2)
    expect(r.garbage).toMatchObject({packs: 0, blobs: 0, trees: 0})
    const human = await p.run(['fsck'])
    expect(human.exitCode).toBe(0)
    expect(human.stdout).toContain('no errors')
  })

  it('a damaged pack: fsck exits 12 naming the file; get file fails without wrong bytes; other files still read', async () => {
    const {p, big} = await damaged()
    const r = await p.run(['fsck'])
    expectUserError(r, 12)
    expect(r.stdout).toContain('/big.bin')
    expect(r.stdout).not.toContain('/small.txt')

    const got = await runBytes(p, ['get', 'file', 'r@master:/big.bin'])
    expect(got.exitCode).not.toBe(0)
    expect(got.stdout.equals(big)).toBe(false)
    // whatever reached stdout must be a true prefix of the content: no wrong bytes
    expect(got.stdout.length).toBeLessThan(big.length)
    expect(sha256(got.stdout)).toBe(sha256(big.subarray(0, got.stdout.length)))
    expect(got.stderr).toMatch(/^pach: /)
    expect(got.stderr).not.toContain('    at ')

    // -o does not leave a partial file behind
    const dest = join(p.dir, 'out.bin')
    expectUserError(await p.run(['get', 'file', 'r@master:/big.bin', '-o', dest]), 12)
    expect(() => statSync(dest)).toThrow()

    expect(await p.ok(['get', 'file', 'r@master:/small.txt'])).toBe('still fine\n')
  })

  it('a damaged pack with --json: stdout is exactly one JSON document naming the damaged file', async () => {
    const {p} = await damaged()
    const r = await p.run(['fsck', '--json'])
    expect(r.exitCode).toBe(12)
    expect(r.stderr).toMatch(/^pach: /)
    let doc: any
    expect(() => (doc = JSON.parse(r.stdout)), `stdout is not one JSON document:\n${r.stdout}`).not.toThrow()
    const text = JSON.stringify(doc)
    expect(text).toContain('/big.bin')
    const report = doc.problems ? doc : (doc.error?.data ?? {})
    const files = (report.problems ?? []).filter((x: any) => x.kind === 'damaged_file')
    expect(files.length).toBeGreaterThanOrEqual(1)
    expect(files.every((x: any) => x.path === '/big.bin' && x.repo === 'r')).toBe(true)
  })

  it('a damaged pack: the intact chunks of the damaged file are not reported as garbage', async () => {
    const {p} = await damaged()
    const r = await p.run(['fsck'])
    expect(r.exitCode).toBe(12)
    // nothing was deleted: every blob is still referenced by /big.bin, so none is garbage
    // (the human report prints a "garbage (run `pach gc`)" line only when there is some)
    expect(r.stdout).not.toMatch(/garbage/)
  })
})

describe('gc', () => {
  it('--dry-run removes nothing; gc reclaims dropped commits and deleted repos; fsck stays clean', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await p.ok(['create', 'repo', 'other'])
    const keep = pseudoRandom(300_000, 1)
    writeFileSync(join(p.dir, 'keep.bin'), keep)
    writeFileSync(join(p.dir, 'drop.bin'), pseudoRandom(300_000, 2))
    writeFileSync(join(p.dir, 'other.bin'), pseudoRandom(300_000, 3))
    await p.ok(['put', 'file', 'r@master', '-f', join(p.dir, 'keep.bin')])
    const dropId = (await p.json(['put', 'file', 'r@master', '-f', join(p.dir, 'drop.bin')])).commit.id
    await p.ok(['put', 'file', 'other@master', '-f', join(p.dir, 'other.bin')])
    const n0 = packs(p).length
    expect((await p.json(['gc'])).deleted_packs).toBe(0)
    expect(packs(p).length).toBe(n0)

    await p.ok(['delete', 'commit', dropId])
    const dry = await p.json(['gc', '--dry-run'])
    expect(dry.dry_run).toBe(true)
    expect(dry.reclaimed_bytes).toBeGreaterThanOrEqual(300_000)
    expect(packs(p).length).toBe(n0)

    const real = await p.json(['gc'])
    expect(real.dry_run).toBe(false)
    expect(real.reclaimed_bytes).toBeGreaterThanOrEqual(300_000)
    const n1 = packs(p).length
    expect(n1).toBeLessThan(n0)
    expect((await p.json(['fsck'])).ok).toBe(true)

    await p.ok(['delete', 'repo', 'other'])
    await p.ok(['gc'])
    expect(packs(p).length).toBeLessThan(n1)
    const f = await p.json(['fsck'])
    expect(f.ok).toBe(true)
    expect(f.garbage).toMatchObject({packs: 0, blobs: 0, trees: 0})

    const got = await runBytes(p, ['get', 'file', 'r@master:/keep.bin'])
    expect(got.exitCode).toBe(0)
    expect(sha256(got.stdout)).toBe(sha256(keep))
  })
})

describe('store format', () => {
  it('a .pach/config.json from a newer format is refused with a clear one-line error (exit 2)', async () => {
    const p = await tmpProject()
    const cfgPath = join(p.dir, '.pach', 'config.json')
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'))
    writeFileSync(cfgPath, JSON.stringify({...cfg, format: 99}))
    const line = expectUserError(await p.run(['list', 'repo']), 2)
    expect(line).toMatch(/format/)
    expect(line).toContain('99')
    const j = await p.run(['list', 'repo', '--json'])
    expectUserError(j, 2)
    expect(JSON.parse(j.stdout).error.code).toBeTypeOf('string')
    // a config that is not JSON at all: corrupt (12), still one line
    writeFileSync(cfgPath, '{not json')
    expectUserError(await p.run(['list', 'repo']), 12)
  })
})
