/**
 * E2E: `pach export` / `pach import` with the built CLI. A project with two repos, branches, a
 * three-commit history and a pipeline that ran (local runner) is exported and imported into a
 * fresh project; every `--json` listing (repos, branches, commits, inspect commit, pipelines,
 * jobs, datums, files) and every file's bytes are compared; fsck is clean; a second import is
 * a no-op; a project with a conflicting repo and a truncated archive are refused with one line
 * and nothing imported; a subset export brings its provenance; `export -o - | import -` works
 * through a pipe. A store with a flipped byte in a chunk: `export` writes an archive that
 * `import` refuses (exit 12, nothing imported), `export --verify` fails (exit 12) and leaves no
 * file, and `fsck` names the chunk.
 */
import {execa} from 'execa'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, tmpProject, type Project} from '../helpers/cli.js'
import {expectUserError, pseudoRandom, runBytes, sha256} from './_util.js'
import {writeSpec} from './pipelines-util.js'

const env = {PACH_RUNNER: 'local'}

async function sourceProject(ctx: {onTestFinished: (fn: () => void) => void}): Promise<Project> {
  const p = await tmpProject(true, ctx)
  const ok = (args: string[]) => p.ok(args, {env})
  await ok(['create', 'repo', 'images', '-d', 'raw images'])
  await ok(['create', 'repo', 'labels'])
  writeFileSync(join(p.dir, 'big.bin'), pseudoRandom(400_000))
  writeFileSync(join(p.dir, 'a.txt'), 'alpha\n')
  await ok(['put', 'file', 'images@master:/a.txt', '-f', join(p.dir, 'a.txt')])
  await ok(['start', 'commit', 'images@master', '-m', 'the big one'])
  await ok(['put', 'file', 'images@master:/big.bin', '-f', join(p.dir, 'big.bin')])
  await ok(['finish', 'commit', 'images@master'])
  await ok(['create', 'branch', 'images@dev', '--head', 'master'])
  await ok(['put', 'file', 'labels@master:/l.csv', '-f', join(p.dir, 'a.txt')])
  const spec = {pipeline: {name: 'edges'}, transform: {image: 'pach-test/busybox:1', cmd: ['sh', '-c', 'for f in /pfs/images/*; do head -c 100 "$f" > /pfs/out/$(basename "$f"); done']}, input: {pfs: {repo: 'images', glob: '/*'}}}
  await ok(['create', 'pipeline', '-f', writeSpec(p, 'edges', spec)])
  writeFileSync(join(p.dir, 'c.txt'), 'gamma\n')
  await ok(['put', 'file', 'images@master:/c.txt', '-f', join(p.dir, 'c.txt')])
  return p
}

/**
 * Every listing a user compares, as parsed JSON: repos, pipelines, jobs, each job's datums, and
 * per repo its branches, its commits, `inspect commit` of its head and the files of every
 * commit (`list file` carries each file's hash); and the sha256 of every file's bytes at each
 * head (`get file`).
 */
async function listings(p: Project): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  const j = async (args: string[]) => (out[args.join(' ')] = await p.json(args))
  // read-only commands: run a few at a time (the CLI's start-up dominates)
  const [repos, , jobs] = (await Promise.all([j(['list', 'repo']), j(['list', 'pipeline']), j(['list', 'job'])])) as [{repo: {name: string}}[], unknown, {job: {id: string; pipeline: {name: string}}}[]]
  await Promise.all(jobs.map((job) => j(['list', 'datum', `${job.job.pipeline.name}@${job.job.id}`])))
  await Promise.all(
    repos.map(async ({repo}) => {
      const [, commits] = (await Promise.all([j(['list', 'branch', repo.name]), j(['list', 'commit', repo.name]), j(['inspect', 'commit', `${repo.name}@master`])])) as [unknown, {commit: {id: string}}[]]
      await Promise.all(commits.map((c) => j(['list', 'file', `${repo.name}@${c.commit.id}:/`])))
      const head = (await p.json(['list', 'file', `${repo.name}@master:/`])) as {file: {path: string}; file_type: string}[]
      for (const f of head.filter((f) => f.file_type === 'FILE')) {
        const r = await runBytes(p, ['get', 'file', `${repo.name}@master:${f.file.path}`])
        out[`sha ${repo.name}@master:${f.file.path}`] = sha256(r.stdout)
      }
    }),
  )
  return out
}

describe('export of a damaged store (built CLI)', () => {
  it('export copies the damaged chunk and import refuses the archive; export --verify fails with no file; fsck names the chunk', {timeout: 120_000}, async (ctx) => {
    const p = await tmpProject(true, ctx)
    await p.ok(['create', 'repo', 'data'])
    const data = pseudoRandom(3_000_000, 11)
    writeFileSync(join(p.dir, 'd.bin'), data)
    await p.ok(['put', 'file', 'data@master:/d.bin', '-f', join(p.dir, 'd.bin')])
    // flip one byte of the file's middle in the pack that holds it
    const needle = data.subarray(1_500_000, 1_500_064)
    const packs = join(p.dir, '.pach', 'objects', 'packs')
    const pack = readdirSync(packs, {recursive: true, withFileTypes: true})
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .find((f) => readFileSync(f).includes(needle))!
    const bytes = readFileSync(pack)
    bytes[bytes.indexOf(needle) + 32] ^= 1
    writeFileSync(pack, bytes)

    const archive = join(p.dir, 'plain.pacharc')
    const ex = await p.json(['export', '-o', archive])
    expect(ex).toMatchObject({blob_bytes: 3_000_000, verified: false})
    const d = await tmpProject(true, ctx)
    expectUserError(await d.run(['import', archive]), 12, /the archive is damaged: blob [0-9a-f]{64} does not match its hash/)
    expect(await d.json(['list', 'repo'])).toEqual([])
    expect((await d.json(['fsck'])).ok).toBe(true)

    const checked = join(p.dir, 'checked.pacharc')
    expectUserError(await p.run(['export', '-o', checked, '--verify']), 12, /blob [0-9a-f]{64} in pack [0-9a-f]{64} is damaged \(hash mismatch\)/)
    expect(existsSync(checked)).toBe(false)
    expect(readdirSync(p.dir).filter((f) => f.includes('checked'))).toEqual([])
    const fsck = await p.run(['fsck', '--json'])
    expect(fsck.exitCode).toBe(12)
    expect(JSON.parse(fsck.stdout).error.data.problems.map((x: {message: string}) => x.message).join('\n')).toMatch(/hash mismatch|damaged/)
  })
})

describe.concurrent('export and import (built CLI)', () => {
  // one source project for both tests (they only read it and write archives beside it)
  let a: Project
  const cleanups: (() => void)[] = []
  beforeAll(async () => {
    a = await sourceProject({onTestFinished: (fn) => void cleanups.push(fn)})
  }, 180_000)
  afterAll(() => cleanups.forEach((fn) => fn()))

  it('round trip into a fresh project: every listing and file equal, fsck clean, second import a no-op, conflicts and damage refused', {timeout: 180_000}, async (ctx) => {
    const archive = join(a.dir, 'backup.pacharc')
    // (--verify: the chunks checked on the hashing worker; the subset export below copies them as stored)
    const ex = await a.json(['export', '-o', archive, '--verify'])
    expect(ex).toMatchObject({format: 'pach-archive', all: true, pipelines: ['default/edges'], verified: true})
    expect(ex.repos).toEqual(expect.arrayContaining(['default/images', 'default/labels', 'default/edges', 'default/edges.spec', 'default/edges.meta']))
    expect(ex.rows.jobs).toBe(2)

    const b = await tmpProject(true, ctx)
    const im = await b.json(['import', archive])
    expect(im).toMatchObject({noop: false, digest: ex.digest, bytes: ex.bytes, blob_bytes: ex.blob_bytes})
    const [want, got] = await Promise.all([listings(a), listings(b)])
    expect(Object.keys(want).filter((k) => k.startsWith('list datum'))).toHaveLength(2)
    expect(Object.keys(want).filter((k) => k.startsWith('sha ')).length).toBe(7)
    expect(Object.keys(want).filter((k) => k.startsWith('list file images@')).length).toBe(3)
    expect(got).toEqual(want)
    const fsck = await b.json(['fsck'])
    expect(fsck.ok).toBe(true)
    expect(fsck.garbage.bytes).toBe(0)

    // a second import changes nothing
    const again = await b.json(['import', archive])
    expect(again).toMatchObject({noop: true, blobs_written: 0})
    expect(Object.values(again.inserted).every((n) => n === 0)).toBe(true)

    // a project whose repo `images` has other history: refused, one line, nothing imported
    const c = await tmpProject(true, ctx)
    await c.ok(['create', 'repo', 'images'])
    expectUserError(await c.run(['import', archive]), 5, /cannot import: repo default\/images exists here with other history/)
    expect((await c.json(['list', 'repo'])).map((r: {repo: {name: string}}) => r.repo.name)).toEqual(['images'])

    // a truncated archive: refused (exit 12), nothing imported
    const cut = join(a.dir, 'cut.pacharc')
    writeFileSync(cut, readFileSync(archive).subarray(0, Math.floor(ex.bytes * 0.8)))
    const d = await tmpProject(true, ctx)
    expectUserError(await d.run(['import', cut]), 12, /the archive is damaged: .*truncated/)
    expect(await d.json(['list', 'repo'])).toEqual([])
    expect((await d.json(['fsck'])).ok).toBe(true)
  })

  it('a subset export brings its provenance and leaves the rest; export -o - | import - through a pipe', {timeout: 180_000}, async (ctx) => {
    const sub = join(a.dir, 'edges.pacharc')
    const ex = await a.json(['export', '-o', sub, 'edges'])
    expect(ex.repos.sort()).toEqual(['default/edges', 'default/edges.meta', 'default/edges.spec', 'default/images'])
    expect(ex.added_by_provenance.sort()).toEqual(['default/edges.meta', 'default/edges.spec', 'default/images'])
    const b = await tmpProject(true, ctx)
    await b.json(['import', sub])
    expect((await b.json(['list', 'repo'])).map((r: {repo: {name: string}}) => r.repo.name).sort()).toEqual(['edges', 'images'])
    expect(await b.json(['inspect', 'commit', 'edges@master'])).toEqual(await a.json(['inspect', 'commit', 'edges@master']))
    expect((await b.json(['fsck'])).ok).toBe(true)
    expectUserError(await a.run(['export', '-o', join(a.dir, 'x.pacharc'), 'nope']), 4, /repo default\/nope not found/)
    expectUserError(await b.run(['import', join(b.dir, 'missing.pacharc')]), 4, /archive .*missing.pacharc does not exist/)
    writeFileSync(join(b.dir, 'notes.txt'), 'not an archive\n')
    expectUserError(await b.run(['import', join(b.dir, 'notes.txt')]), 2, /not a pach archive/)
    expectUserError(await b.run(['export', '-o', join(b.dir, 'no', 'such', 'dir.pacharc')]), 4, /directory .* does not exist/)

    const c = await tmpProject(true, ctx)
    const piped = await execa('sh', ['-c', `node ${BIN} export -o - --pach-dir "${a.dir}" | node ${BIN} import - --json --pach-dir "${c.dir}"`], {env: {PACH_DETACH: ''}, reject: false})
    expect(piped.exitCode, piped.stderr).toBe(0)
    expect(JSON.parse(piped.stdout)).toMatchObject({noop: false})
    for (const args of [['list', 'repo'], ['list', 'commit', 'images'], ['list', 'job'], ['list', 'file', 'edges@master:/']]) expect(await c.json(args)).toEqual(await a.json(args))
  })
})
