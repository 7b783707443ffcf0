/**
 * Damaged pack files on disk (issue 4): bytes flipped inside a blob, a pack truncated, a
 * pack's trailer damaged, a pack deleted. `pach fsck` exits 12 and names the damaged pack
 * files and the affected commits and paths, and nothing else; `pach get file` of an affected
 * file fails with one clear line and exit 12, never with a wrong byte on stdout (at most a
 * correct prefix; with -o no file is left); unaffected files still read byte for byte.
 */
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {BIN} from '../helpers/cli.js'
import {Proj, randomBytesFor} from './crash.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

interface Fixture {
  p: Proj
  big: Buffer
  small: Map<string, Buffer>
  late: Buffer
  other: Buffer
  /** commits of r: A (big.bin), B (+ small/), C (+ late.txt) */
  a: string
  b: string
  c: string
  /** pack file paths by what they hold */
  packs: {big: string; small: string; late: string; other: string}
}

function packFiles(p: Proj): string[] {
  const root = join(p.dir, '.pach', 'objects', 'packs')
  return readdirSync(root).flatMap((d) => readdirSync(join(root, d)).map((f) => join(root, d, f)))
}

/** Run a put and return the one pack file it added. */
async function putPack(p: Proj, args: string[]): Promise<{commit: string; pack: string}> {
  const before = new Set(packFiles(p))
  const commit = (await p.json<{commit: {id: string}}>(['put', 'file', ...args])).commit.id
  const added = packFiles(p).filter((f) => !before.has(f))
  expect(added).toHaveLength(1)
  return {commit, pack: added[0]!}
}

/** The fixture for one (concurrent) test: cleanup goes to that test's own context. */
async function fixture(ctx: {onTestFinished: (fn: () => void) => void}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'pach-corrupt-'))
  ctx.onTestFinished(() => rmSync(dir, {recursive: true, force: true}))
  const p = new Proj(dir, BIN)
  await p.ok(['init'])
  await p.ok(['create', 'repo', 'r'])
  await p.ok(['create', 'repo', 'o'])
  const big = randomBytesFor('corrupt:big', 6 * 1024 * 1024) // several chunks, one pack
  writeFileSync(join(dir, 'big.bin'), big)
  const small = new Map<string, Buffer>()
  mkdirSync(join(dir, 'small'))
  for (let i = 0; i < 20; i++) {
    const b = randomBytesFor(`corrupt:small:${i}`, 1000 + i * 100)
    small.set(`/small/s${i}`, b)
    writeFileSync(join(dir, 'small', `s${i}`), b)
  }
  const late = Buffer.from('written last\n')
  writeFileSync(join(dir, 'late.txt'), late)
  const other = randomBytesFor('corrupt:other', 300_000)
  writeFileSync(join(dir, 'other.bin'), other)
  const A = await putPack(p, ['r@master:/big.bin', '-f', join(dir, 'big.bin')])
  const B = await putPack(p, ['-r', 'r@master:/small', '-f', join(dir, 'small')])
  const C = await putPack(p, ['r@master:/late.txt', '-f', join(dir, 'late.txt')])
  const O = await putPack(p, ['o@master:/other.bin', '-f', join(dir, 'other.bin')])
  return {p, big, small, late, other, a: A.commit, b: B.commit, c: C.commit, packs: {big: A.pack, small: B.pack, late: C.pack, other: O.pack}}
}

const hexOf = (path: string) => path.slice(path.lastIndexOf('/') + 1)

interface Problem {
  kind: string
  message: string
  pack?: string
  repo?: string
  commit?: string
  path?: string
}

/** fsck --json on a damaged store: exit 12, one JSON error envelope carrying the report. */
async function damagedReport(p: Proj): Promise<Problem[]> {
  const r = await p.run(['fsck', '--json'])
  expect(r.code).toBe(12)
  oneLine(r.stderr)
  const doc = JSON.parse(r.stdout.toString('utf8'))
  expect(doc.error.code).toBe('CORRUPT_OBJECT')
  return doc.error.data.problems as Problem[]
}

function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim())
  expect(lines, stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^pach: /)
  expect(stderr).not.toContain('    at ')
  return lines[0]!
}

/** The damaged files fsck names, as "repo@commit:path", sorted. */
const damagedFiles = (problems: Problem[]) =>
  problems
    .filter((x) => x.kind === 'damaged_file')
    .map((x) => `${x.repo}@${x.commit}:${x.path}`)
    .sort()

/** `get file` of a damaged file: exit 12, one line, stdout a true prefix; -o leaves nothing. */
async function expectUnreadable(f: Fixture, path: string, want: Buffer): Promise<string> {
  const r = await f.p.run(['get', 'file', `r@master:${path}`])
  expect(r.code).toBe(12)
  const line = oneLine(r.stderr)
  expect(line).toContain(`file ${path} in r@${f.c}`)
  expect(r.stdout.length).toBeLessThan(want.length)
  expect(sha(r.stdout)).toBe(sha(want.subarray(0, r.stdout.length)))
  const dest = join(f.p.dir, 'out.bin')
  const o = await f.p.run(['get', 'file', `r@master:${path}`, '-o', dest])
  expect(o.code).toBe(12)
  oneLine(o.stderr)
  expect(existsSync(dest)).toBe(false)
  return line
}

/** Every file not in `damaged` still reads byte for byte (r at C, and repo o). */
async function expectOthersRead(f: Fixture, damaged: Set<string>): Promise<void> {
  const want = new Map<string, Buffer>([['/big.bin', f.big], ...f.small, ['/late.txt', f.late]])
  for (const [path, b] of want) {
    if (damaged.has(path)) continue
    const r = await f.p.run(['get', 'file', `r@${f.c}:${path}`])
    expect(r.code, `${path}: ${r.stderr}`).toBe(0)
    expect(sha(r.stdout), path).toBe(sha(b))
  }
  const o = await f.p.run(['get', 'file', 'o@master:/other.bin'])
  expect(sha(o.stdout)).toBe(sha(f.other))
}

// each test makes ~25 CLI calls; a loaded machine needs room (nothing depends on timing)
describe.concurrent('a damaged pack file', {timeout: 300_000}, () => {
  it('bytes flipped inside a blob: fsck names the pack and /big.bin in every commit holding it; get fails cleanly', async (ctx) => {
    const f = await fixture(ctx)
    const bytes = readFileSync(f.packs.big)
    const mid = Math.floor(bytes.length / 2)
    for (let i = mid; i < mid + 16; i++) bytes[i] = bytes[i]! ^ 0xff
    writeFileSync(f.packs.big, bytes)

    const problems = await damagedReport(f.p)
    const packs = new Set(problems.filter((x) => x.pack).map((x) => x.pack))
    expect([...packs]).toEqual([hexOf(f.packs.big)])
    expect(damagedFiles(problems)).toEqual([f.a, f.b, f.c].map((c) => `r@${c}:/big.bin`).sort())
    const human = await f.p.run(['fsck'])
    expect(human.stdout.toString()).toContain(hexOf(f.packs.big))
    expect(human.stdout.toString()).toContain('/big.bin')

    expect(await expectUnreadable(f, '/big.bin', f.big)).toMatch(/damaged/)
    // a directory download names the damaged file inside it
    const dir = await f.p.run(['get', 'file', 'r@master:/', '-r', '-o', join(f.p.dir, 'all')])
    expect(dir.code).toBe(12)
    expect(oneLine(dir.stderr)).toContain(`file /big.bin in r@${f.c}`)
    await expectOthersRead(f, new Set(['/big.bin']))
  })

  it('a truncated pack: fsck names it and every file with bytes in it; get fails cleanly', async (ctx) => {
    const f = await fixture(ctx)
    truncateSync(f.packs.small, Math.floor(statSync(f.packs.small).size / 2))

    const problems = await damagedReport(f.p)
    expect(problems.filter((x) => x.kind === 'damaged_pack').map((x) => x.pack)).toEqual([hexOf(f.packs.small)])
    // the first half of the pack still holds intact blobs: only files whose bytes are gone
    const files = damagedFiles(problems)
    expect(files.length).toBeGreaterThan(0)
    const paths = new Set(files.map((x) => x.slice(x.indexOf(':') + 1)))
    for (const x of paths) expect(x).toMatch(/^\/small\/s\d+$/)
    for (const x of files) expect([f.b, f.c].some((c) => x.startsWith(`r@${c}:`))).toBe(true)
    for (const path of paths) await expectUnreadable(f, path, f.small.get(path)!)
    await expectOthersRead(f, paths)
  })

  it('a damaged trailer only: fsck names the pack, and no file (every blob still verifies)', async (ctx) => {
    const f = await fixture(ctx)
    const bytes = readFileSync(f.packs.big)
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0x01 // inside the trailer's last entry
    writeFileSync(f.packs.big, bytes)

    const problems = await damagedReport(f.p)
    expect(problems.map((x) => [x.kind, x.pack])).toEqual([['damaged_pack', hexOf(f.packs.big)]])
    await expectOthersRead(f, new Set())
  })

  it('a deleted pack: fsck names it as missing and every file that had bytes in it', async (ctx) => {
    const f = await fixture(ctx)
    unlinkSync(f.packs.late)

    const problems = await damagedReport(f.p)
    expect(problems.filter((x) => x.kind === 'missing_pack').map((x) => x.pack)).toEqual([hexOf(f.packs.late)])
    expect(damagedFiles(problems)).toEqual([`r@${f.c}:/late.txt`])
    const r = await f.p.run(['get', 'file', 'r@master:/late.txt'])
    expect(r.code).toBe(12)
    expect(r.stdout.length).toBe(0)
    expect(oneLine(r.stderr)).toContain(`file /late.txt in r@${f.c}`)
    await expectOthersRead(f, new Set(['/late.txt']))
  })
})
