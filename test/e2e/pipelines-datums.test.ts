/**
 * E2E (PPS): which datums a spec makes — globs and combinators (reference §3.1–3.4) — checked
 * cheaply with `list datum -f <spec>` previews, then real runs (glob "/*" copy, join, group)
 * for each runner: the /pfs layout keeps full input paths, and the PACH_DATUM_<input>_JOIN_ON
 * / _GROUP_BY variables carry the keys.
 */
import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {ID_RE} from './_util.js'
import {
  asSet,
  project,
  datumFiles,
  DATUM_RE,
  latestJobs,
  localTree,
  outputFiles,
  pipeline,
  putTree,
  RUNNERS,
  runnerIt,
  SCENARIO_TIMEOUT,
  writeSpec,
  type Datum,
  type RP,
} from './pipelines-util.js'

const GLOB_TREE = {'a.txt': 'A\n', 'b.txt': 'B\n', 'dir/c.txt': 'C\n', 'dir/sub/d.txt': 'D\n'}

/** repo g = /a.txt /b.txt /dir/c.txt /dir/sub/d.txt; repos A and B = /foo0 … /foo49, each "input". */
async function setupRepos(rp: RP, which: {g?: boolean; foos?: boolean}): Promise<void> {
  if (which.g) {
    await rp.ok(['create', 'repo', 'g'])
    await putTree(rp, 'g', localTree(rp.p, 'local-g', GLOB_TREE))
  }
  if (!which.foos) return
  const foos: Record<string, string> = {}
  for (let i = 0; i < 50; i++) foos[`foo${i}`] = 'input'
  const dir = localTree(rp.p, 'local-foo', foos)
  for (const repo of ['A', 'B']) {
    await rp.ok(['create', 'repo', repo])
    await putTree(rp, repo, dir)
  }
}

async function preview(rp: RP, input: unknown): Promise<Datum[]> {
  const file = writeSpec(rp.p, `preview-${Math.random().toString(36).slice(2)}`, pipeline('preview', 'true', input))
  const ds = (await rp.json(['list', 'datum', '-f', file])) as Datum[]
  for (const d of ds) expect(d.datum.id).toMatch(DATUM_RE)
  return ds
}

/**
 * The datum id layout of Pachyderm's common.DatumID (name, repo, branch, path, each followed by
 * its int64 big-endian byte length), hashed with SHA-256 as pach documents (src/core/pps/datum.ts).
 */
function datumId(inputs: {name: string; repo: string; path: string; branch?: string}[]): string {
  const h = createHash('sha256')
  for (const i of inputs) {
    for (const s of [i.name, i.repo, i.branch ?? 'master', i.path]) {
      const b = Buffer.from(s, 'utf8')
      const len = Buffer.alloc(8)
      len.writeBigInt64BE(BigInt(b.length))
      h.update(b).update(len)
    }
  }
  return h.digest('hex')
}

const pfs = (repo: string, glob: string, extra: Record<string, unknown> = {}) => ({pfs: {repo, glob, ...extra}})
/** "A:/foo11" style names for compact expectations */
const a = (...n: (string | number)[]) => n.map((x) => `A:/foo${x}`)
const b = (...n: (string | number)[]) => n.map((x) => `B:/foo${x}`)
const range = (from: number, to: number) => Array.from({length: to - from + 1}, (_, i) => from + i)

describe.concurrent('datum previews (list datum -f): globs and combinators, exactly as the reference', () => {
  it('globs "/", "/*", "/*/*", "/**", "/*.txt": datum counts and the files each datum holds', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    await setupRepos(rp, {g: true})
    const head = (await rp.json(['inspect', 'commit', 'g@master'])).commit.id
    const files = async (glob: string) => {
      const ds = await preview(rp, pfs('g', glob))
      // every datum reads the current head of g
      for (const d of ds) for (const f of d.data) expect(f.file.commit).toMatchObject({id: head, repo: {name: 'g'}})
      // ids are distinct
      expect(new Set(ds.map((d) => d.datum.id)).size).toBe(ds.length)
      return ds.map((d) => d.data.map((f) => `${f.file.path}:${f.file_type}`))
    }
    // "/" = one datum: the whole repo (the root directory)
    expect(await files('/')).toEqual([['/:DIR']])
    // "/*" = one datum per top-level file or directory (the directory datum carries the subtree)
    expect((await files('/*')).sort()).toEqual([['/a.txt:FILE'], ['/b.txt:FILE'], ['/dir/:DIR']])
    // "/*/*" = second-level entries only
    expect((await files('/*/*')).sort()).toEqual([['/dir/c.txt:FILE'], ['/dir/sub/:DIR']])
    // "/**" = every file AND every directory at every depth, each its own datum
    expect((await files('/**')).sort()).toEqual([['/a.txt:FILE'], ['/b.txt:FILE'], ['/dir/:DIR'], ['/dir/c.txt:FILE'], ['/dir/sub/:DIR'], ['/dir/sub/d.txt:FILE']])
    // "/*.txt" = top-level .txt files only
    expect((await files('/*.txt')).sort()).toEqual([['/a.txt:FILE'], ['/b.txt:FILE']])
    // the datum id depends only on input name, repo, branch and path (directories with their
    // trailing "/"), not on the glob or the content
    const idOf = (ds: Datum[], path: string) => ds.find((d) => d.data[0]!.file.path === path)!.datum.id
    const all = await preview(rp, pfs('g', '/**'))
    expect(idOf(await preview(rp, pfs('g', '/*')), '/a.txt')).toBe(idOf(all, '/a.txt'))
    for (const path of ['/a.txt', '/dir/', '/dir/sub/d.txt']) expect(idOf(all, path)).toBe(datumId([{name: 'g', repo: 'g', path}]))
    // the input name counts: the same file under another name is another datum
    const named = await preview(rp, pfs('g', '/a.txt', {name: 'other'}))
    expect(named.map((d) => d.datum.id)).toEqual([datumId([{name: 'other', repo: 'g', path: '/a.txt'}])])
  })

  it('pfs, union, cross, join, outer join, group and group(join) on the foo0..foo49 worked examples', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    await setupRepos(rp, {foos: true})

    // pfs
    expect(datumFiles(await preview(rp, pfs('A', '/foo?1'))).sort()).toEqual([a(11), a(21), a(31), a(41)])
    expect(datumFiles(await preview(rp, pfs('A', '/foo*2'))).sort()).toEqual([a(12), a(2), a(22), a(32), a(42)])

    // union: the 9 single-file datums
    const union = datumFiles(await preview(rp, {union: [pfs('A', '/foo?1'), pfs('B', '/foo*2')]}))
    expect(asSet(union)).toEqual(asSet([a(11), a(21), a(31), a(41), b(12), b(2), b(22), b(32), b(42)]))

    // cross: 4 x 5 two-file datums, A's file first (children sorted by input name)
    const cross = datumFiles(await preview(rp, {cross: [pfs('A', '/foo?1'), pfs('B', '/foo*2')]}))
    const crossWant: string[][] = []
    for (const x of [11, 21, 31, 41]) for (const y of [12, 2, 22, 32, 42]) crossWant.push([...a(x), ...b(y)])
    expect(asSet(cross)).toEqual(asSet(crossWant))
    // cross with an empty child is empty, also when nested
    expect(await preview(rp, {cross: [{union: [pfs('A', '/foo?1'), pfs('B', '/foo*2')]}, pfs('A', '!(**)', {name: 'C'})]})).toEqual([])

    // join: A /foo(?)(?) on $1$2, B /foo(?)(?) on $2$1 -> 16 pairs
    const joinDs = await preview(rp, {join: [pfs('A', '/foo(?)(?)', {join_on: '$1$2'}), pfs('B', '/foo(?)(?)', {join_on: '$2$1'})]})
    const join = datumFiles(joinDs)
    const pairs = [[11, 11], [12, 21], [13, 31], [14, 41], [21, 12], [22, 22], [23, 32], [24, 42], [31, 13], [32, 23], [33, 33], [34, 43], [41, 14], [42, 24], [43, 34], [44, 44]]
    expect(join).toHaveLength(16)
    // a multi-input datum's id covers its inputs in order (A, then B)
    expect(joinDs.map((d) => d.datum.id)).toContain(datumId([{name: 'A', repo: 'A', path: '/foo12'}, {name: 'B', repo: 'B', path: '/foo21'}]))
    expect(asSet(join)).toEqual(asSet(pairs.map(([x, y]) => [...a(x!), ...b(y!)])))

    // outer join (both outer): A /foo1(?) on $1, B /foo(?)1 on $1 -> 10 exactly as listed
    const outer = datumFiles(
      await preview(rp, {join: [pfs('A', '/foo1(?)', {join_on: '$1', outer_join: true}), pfs('B', '/foo(?)1', {join_on: '$1', outer_join: true})]}),
    )
    expect(asSet(outer)).toEqual(
      asSet([a(10), [...a(11), ...b(11)], [...a(12), ...b(21)], [...a(13), ...b(31)], [...a(14), ...b(41)], a(15), a(16), a(17), a(18), a(19)]),
    )
    // the same join without outer_join keeps only the 4 matched keys
    const inner = datumFiles(await preview(rp, {join: [pfs('A', '/foo1(?)', {join_on: '$1'}), pfs('B', '/foo(?)1', {join_on: '$1'})]}))
    expect(asSet(inner)).toEqual(asSet([[...a(11), ...b(11)], [...a(12), ...b(21)], [...a(13), ...b(31)], [...a(14), ...b(41)]]))

    // group by $1 -> 4 datums of 10 files each, in path order
    const group = datumFiles(await preview(rp, {group: [pfs('A', '/foo(?)(?)', {group_by: '$1'})]}))
    expect([...group].sort((x, y) => x[0]!.localeCompare(y[0]!))).toEqual([a(...range(10, 19)), a(...range(20, 29)), a(...range(30, 39)), a(...range(40, 49))])

    // group(join(A on $1$2 by $1, B on $2$1 by $2)) -> 4
    const gj = datumFiles(
      await preview(rp, {
        group: [{join: [pfs('A', '/foo(?)(?)', {join_on: '$1$2', group_by: '$1'}), pfs('B', '/foo(?)(?)', {join_on: '$2$1', group_by: '$2'})]}],
      }),
    )
    expect(asSet(gj, true)).toEqual(
      asSet(
        [
          [...a(11, 12, 13, 14), ...b(11, 21, 31, 41)],
          [...a(21, 22, 23, 24), ...b(12, 22, 32, 42)],
          [...a(31, 32, 33, 34), ...b(13, 23, 33, 43)],
          [...a(41, 42, 43, 44), ...b(14, 24, 34, 44)],
        ],
        true,
      ),
    )

    // group of two inputs with different keys -> 10 (key 0: B only; keys 5..9: B only)
    const g2 = datumFiles(await preview(rp, {group: [pfs('A', '/foo(?)(?)', {group_by: '$1'}), pfs('B', '/foo(?)(?)', {group_by: '$2'})]}))
    const g2want: string[][] = [b(10, 20, 30, 40)]
    for (const k of [1, 2, 3, 4]) g2want.push([...a(...range(k * 10, k * 10 + 9)), ...b(10 + k, 20 + k, 30 + k, 40 + k)])
    for (const k of [5, 6, 7, 8, 9]) g2want.push(b(10 + k, 20 + k, 30 + k, 40 + k))
    expect(asSet(g2, true)).toEqual(asSet(g2want, true))
  })
})

describe.concurrent.each(RUNNERS)('datums at run time [%s runner]', (runner) => {
  const rit = runnerIt(runner)

  rit('glob "/*" copy keeps full input paths; a join and a group run with their key variables', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    const p = rp.p
    await setupRepos(rp, {g: true, foos: true})
    const copy = pipeline('copy', 'cp -r /pfs/g/. /pfs/out/ && find /pfs/g | sort > "/pfs/out/ls-$(basename "$g")" && echo "$g" > "/pfs/out/env-$(basename "$g")"', pfs('g', '/*'))
    const join = pipeline(
      'joined',
      'echo "$PACH_DATUM_A_JOIN_ON $PACH_DATUM_B_JOIN_ON $A $B" > /pfs/out/$PACH_DATUM_A_JOIN_ON && ls /pfs >> /pfs/out/$PACH_DATUM_A_JOIN_ON',
      {join: [pfs('A', '/foo1(?)', {join_on: '$1'}), pfs('B', '/foo(?)1', {join_on: '$1'})]},
    )
    const group = pipeline('grouped', 'ls /pfs/A > /pfs/out/$PACH_DATUM_A_GROUP_BY && echo "key=$PACH_DATUM_A_GROUP_BY" >> /pfs/out/$PACH_DATUM_A_GROUP_BY', {
      group: [pfs('A', '/foo(?)(?)', {group_by: '$1'})],
    })
    const r = await rp.okr(['create', 'pipeline', '-f', writeSpec(p, 'copy', copy), '-f', writeSpec(p, 'join', join), '-f', writeSpec(p, 'group', group)])
    expect(r.stderr).not.toMatch(/failure|killed|unrunnable/)

    const latest = await latestJobs(rp)
    // copy: one datum per top-level entry; output paths = full input paths
    const cj = latest.copy!
    expect(cj).toMatchObject({state: 'JOB_SUCCESS', data_processed: 3, data_skipped: 0, data_total: 3, data_failed: 0})
    expect(cj.job.id).toMatch(ID_RE)
    const out = await outputFiles(rp, 'copy@master')
    expect(out).toEqual({
      '/a.txt': 'A\n',
      '/b.txt': 'B\n',
      '/dir/c.txt': 'C\n',
      '/dir/sub/d.txt': 'D\n',
      // each datum sees only its own match, at /pfs/<input>/<full path>
      '/ls-a.txt': '/pfs/g\n/pfs/g/a.txt\n',
      '/ls-b.txt': '/pfs/g\n/pfs/g/b.txt\n',
      '/ls-dir': '/pfs/g\n/pfs/g/dir\n/pfs/g/dir/c.txt\n/pfs/g/dir/sub\n/pfs/g/dir/sub/d.txt\n',
      '/env-a.txt': '/pfs/g/a.txt\n',
      '/env-b.txt': '/pfs/g/b.txt\n',
      '/env-dir': '/pfs/g/dir\n',
    })

    // join: 4 inner pairs keyed 1..4; both inputs present, both key variables set
    expect(latest.joined).toMatchObject({state: 'JOB_SUCCESS', data_processed: 4, data_total: 4})
    expect(await outputFiles(rp, 'joined@master')).toEqual({
      '/1': '1 1 /pfs/A/foo11 /pfs/B/foo11\nA\nB\nout\n',
      '/2': '2 2 /pfs/A/foo12 /pfs/B/foo21\nA\nB\nout\n',
      '/3': '3 3 /pfs/A/foo13 /pfs/B/foo31\nA\nB\nout\n',
      '/4': '4 4 /pfs/A/foo14 /pfs/B/foo41\nA\nB\nout\n',
    })

    // group: 4 datums, each holding the 10 files of its key
    expect(latest.grouped).toMatchObject({state: 'JOB_SUCCESS', data_processed: 4, data_total: 4})
    const g = await outputFiles(rp, 'grouped@master')
    expect(Object.keys(g).sort()).toEqual(['/1', '/2', '/3', '/4'])
    for (const k of [1, 2, 3, 4]) {
      expect(g[`/${k}`]).toBe(range(k * 10, k * 10 + 9).map((n) => `foo${n}\n`).join('') + `key=${k}\n`)
    }
  })
})
