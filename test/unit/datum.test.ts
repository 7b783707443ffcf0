import {createHash} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {InvalidArgumentError} from '../../src/core/errors.js'
import {
  datumHash,
  datumId,
  matchGlob,
  planDatums,
  planFromChanges,
  planIncremental,
  streamDatums,
  streamPlan,
  type Datum,
  type InputListing,
  type Lister,
  type Match,
} from '../../src/core/pps/datum.js'
import {
  inputKind,
  inputName,
  sortInput,
  walkPfs,
  withPfsDefaults,
  type Input,
  type PfsInput,
} from '../../src/core/pps/input.js'

// ---------------------------------------------------------------------------------------------
// In-memory listings

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

/**
 * A commit's listing: every file, every directory implied by the files, and the root, with
 * content hashes (dir hash = hash of its children's paths and hashes), in Pachyderm path order.
 */
function listing(files: Record<string, string>, commit = 'c0ffee'): InputListing {
  const entries = new Map<string, Match>()
  for (const [path, content] of Object.entries(files)) {
    entries.set(path, {path, isDir: false, hash: sha(content), size: Buffer.byteLength(content)})
  }
  const dirs = new Set<string>()
  for (const path of Object.keys(files)) {
    const parts = path.split('/').filter(Boolean)
    for (let i = 0; i < parts.length - 1; i++) dirs.add('/' + parts.slice(0, i + 1).join('/'))
  }
  if (Object.keys(files).length > 0) dirs.add('/')
  const key = (p: string, dir: boolean): string => (p === '/' ? '/' : dir ? p + '/' : p)
  const under = (dir: string, p: string): boolean => p !== dir && p.startsWith(dir === '/' ? '/' : dir + '/')
  for (const d of dirs) {
    const kids = Object.keys(files).filter((p) => under(d, p)).sort()
    entries.set(d, {
      path: d,
      isDir: true,
      hash: sha(kids.map((k) => k + ':' + sha(files[k]!)).join('\n')),
      size: kids.reduce((n, k) => n + Buffer.byteLength(files[k]!), 0),
    })
  }
  const sorted = [...entries.values()].sort((a, b) => {
    const ka = key(a.path, a.isDir)
    const kb = key(b.path, b.isDir)
    return ka < kb ? -1 : ka > kb ? 1 : 0
  })
  return {commit, entries: sorted}
}

/** Lister over repo name -> files. */
function lister(repos: Record<string, Record<string, string>>): Lister {
  const cache = new Map<string, InputListing>()
  return (input: PfsInput) => {
    const files = repos[input.repo]
    if (files === undefined) throw new Error(`no repo ${input.repo}`)
    let l = cache.get(input.repo)
    if (!l) {
      l = listing(files, 'commit-' + input.repo)
      cache.set(input.repo, l)
    }
    return l
  }
}

function pfs(repo: string, glob: string, opts: Partial<PfsInput> = {}): Input {
  return {pfs: withPfsDefaults({repo, glob, ...opts})}
}

/** "/foo0" .. "/foo49", each with content "input" (iterator_test.go TestIterators). */
const FOO: Record<string, string> = Object.fromEntries(Array.from({length: 50}, (_, i) => [`/foo${i}`, 'input']))
const fooList = lister({data: FOO})

/** Each datum as its input paths (in datum order). */
const paths = (ds: Datum[]): string[][] => ds.map((d) => d.inputs.map((i) => i.path))
/** Each datum as "name:path" members. */
const members = (ds: Datum[]): string[][] => ds.map((d) => d.inputs.map((i) => `${i.name}:${i.path}`))
/** Order-insensitive view: each datum's members sorted, datums sorted. */
const asSet = (ds: string[][]): string[] => ds.map((d) => [...d].sort().join(' ')).sort()
const foo = (...ns: (number | string)[]): string[] => ns.map((n) => `/foo${n}`)
const range = (a: number, b: number): number[] => Array.from({length: b - a + 1}, (_, i) => a + i)
const bin4 = (i: number): string => i.toString(2).padStart(4, ' ')

// ---------------------------------------------------------------------------------------------

describe('§3.4 worked examples (repo with /foo0../foo49)', () => {
  const in1 = pfs('data', '/foo?1', {name: 'A'})
  const in2 = pfs('data', '/foo*2', {name: 'B'})

  it('pfs /foo?1 and /foo*2', () => {
    expect(paths(planDatums(in1, fooList, ''))).toEqual(foo(11, 21, 31, 41).map((p) => [p]))
    expect(paths(planDatums(in2, fooList, ''))).toEqual(foo(12, 2, 22, 32, 42).map((p) => [p]))
  })

  it('zero datums: !(**)', () => {
    expect(planDatums(pfs('data', '!(**)'), fooList, '')).toEqual([])
  })

  it('union of the two = the 9 single-file datums, concatenated in child order', () => {
    const ds = planDatums({union: [in1, in2]}, fooList, '')
    expect(members(ds)).toEqual([...foo(11, 21, 31, 41).map((p) => ['A:' + p]), ...foo(12, 2, 22, 32, 42).map((p) => ['B:' + p])])
  })

  it('cross of the two = 20 two-file datums, first child outermost', () => {
    const ds = planDatums({cross: [in1, in2]}, fooList, '')
    const want: string[][] = []
    for (const a of foo(11, 21, 31, 41)) for (const b of foo(12, 2, 22, 32, 42)) want.push([a, b])
    expect(paths(ds)).toEqual(want)
  })

  it('cross with an empty child is empty, also nested', () => {
    const in0 = pfs('data', '!(**)', {name: 'Z'})
    const empty: Input = {cross: [{union: [in1, in2]}, in0, in2, {cross: [in1, in2]}]}
    expect(planDatums(empty, fooList, '')).toEqual([])
    expect(planDatums({cross: [empty, in1]}, fooList, '')).toEqual([])
  })

  it('join: A /foo(?)(?) on $1$2, B /foo(?)(?) on $2$1 -> 16 pairs', () => {
    const A = pfs('data', '/foo(?)(?)', {name: 'A', join_on: '$1$2'})
    const B = pfs('data', '/foo(?)(?)', {name: 'B', join_on: '$2$1'})
    const ds = planDatums({join: [A, B]}, fooList, '')
    const pairs = ['11,11', '12,21', '13,31', '14,41', '21,12', '22,22', '23,32', '24,42', '31,13', '32,23', '33,33', '34,43', '41,14', '42,24', '43,34', '44,44']
    expect(members(ds)).toEqual(pairs.map((p) => p.split(',')).map(([a, b]) => [`A:/foo${a}`, `B:/foo${b}`]))
  })

  it('outer join: A /foo1(?) on $1 outer, B /foo(?)1 on $1 outer -> exactly 10', () => {
    const A = pfs('data', '/foo1(?)', {name: 'A', join_on: '$1', outer_join: true})
    const B = pfs('data', '/foo(?)1', {name: 'B', join_on: '$1', outer_join: true})
    expect(members(planDatums({join: [A, B]}, fooList, ''))).toEqual([
      ['A:/foo10'],
      ['A:/foo11', 'B:/foo11'],
      ['A:/foo12', 'B:/foo21'],
      ['A:/foo13', 'B:/foo31'],
      ['A:/foo14', 'B:/foo41'],
      ['A:/foo15'],
      ['A:/foo16'],
      ['A:/foo17'],
      ['A:/foo18'],
      ['A:/foo19'],
    ])
  })

  it('join where only one side is outer keeps only that side unmatched', () => {
    const A = pfs('data', '/foo1(?)', {name: 'A', join_on: '$1', outer_join: true})
    const B = pfs('data', '/foo(?)1', {name: 'B', join_on: '$1'})
    expect(planDatums({join: [A, B]}, fooList, '')).toHaveLength(10)
    const A2 = pfs('data', '/foo1(?)', {name: 'A', join_on: '$1'})
    const B2 = pfs('data', '/foo(?)1', {name: 'B', join_on: '$1', outer_join: true})
    // inner on A's side: only keys 1..4 (B has no unmatched files: its keys 1..4 all match)
    expect(members(planDatums({join: [A2, B2]}, fooList, ''))).toEqual([
      ['A:/foo11', 'B:/foo11'],
      ['A:/foo12', 'B:/foo21'],
      ['A:/foo13', 'B:/foo31'],
      ['A:/foo14', 'B:/foo41'],
    ])
  })

  it('group: A /foo(?)(?) by $1 -> 4 groups of 10', () => {
    const A = pfs('data', '/foo(?)(?)', {name: 'A', group_by: '$1'})
    const ds = planDatums({group: [A]}, fooList, '')
    expect(paths(ds)).toEqual([1, 2, 3, 4].map((t) => foo(...range(t * 10, t * 10 + 9))))
  })

  it('group: A by $1, B by $2 -> 10 groups, child by child', () => {
    const A = pfs('data', '/foo(?)(?)', {name: 'A', group_by: '$1'})
    const B = pfs('data', '/foo(?)(?)', {name: 'B', group_by: '$2'})
    const ds = planDatums({group: [A, B]}, fooList, '')
    const bOf = (d: number): string[] => [1, 2, 3, 4].map((t) => `B:/foo${t}${d}`)
    const aOf = (t: number): string[] => range(0, 9).map((d) => `A:/foo${t}${d}`)
    expect(members(ds)).toEqual([
      bOf(0),
      [...aOf(1), ...bOf(1)],
      [...aOf(2), ...bOf(2)],
      [...aOf(3), ...bOf(3)],
      [...aOf(4), ...bOf(4)],
      bOf(5),
      bOf(6),
      bOf(7),
      bOf(8),
      bOf(9),
    ])
  })

  it('group of join: each input of each join pair grouped by its own key -> 4', () => {
    const A = pfs('data', '/foo(?)(?)', {name: 'A', join_on: '$1$2', group_by: '$1'})
    const B = pfs('data', '/foo(?)(?)', {name: 'B', join_on: '$2$1', group_by: '$2'})
    const ds = planDatums({group: [{join: [A, B]}]}, fooList, '')
    expect(ds).toHaveLength(4)
    // exact order: join pairs in key order, each pair's inputs in turn (iterator_test GroupJoin)
    expect(members(ds)[0]).toEqual(['A:/foo11', 'B:/foo11', 'A:/foo12', 'B:/foo21', 'A:/foo13', 'B:/foo31', 'A:/foo14', 'B:/foo41'])
    expect(asSet(members(ds))).toEqual(
      asSet(
        [1, 2, 3, 4].map((k) => [
          ...[1, 2, 3, 4].map((j) => `A:/foo${k}${j}`),
          ...[1, 2, 3, 4].map((j) => `B:/foo${j}${k}`),
        ]),
      ),
    )
  })

  it('union(A /foo(?)(?), group(B by $2)) -> 50', () => {
    const A = pfs('data', '/foo(?)(?)', {name: 'A'})
    const B = pfs('data', '/foo(?)(?)', {name: 'B', group_by: '$2'})
    const ds = planDatums({union: [A, {group: [B]}]}, fooList, '')
    expect(ds).toHaveLength(50)
    expect(members(ds.slice(0, 40))).toEqual(range(10, 49).map((n) => [`A:/foo${n}`]))
    expect(members(ds.slice(40))).toEqual(range(0, 9).map((d) => [1, 2, 3, 4].map((t) => `B:/foo${t}${d}`)))
  })

  it('cross(A /foo?1, B /foo*2, S3 input) -> 20, each also carrying the "/" input', () => {
    const S = pfs('data', '/', {name: 'S', s3: true})
    const ds = planDatums({cross: [in1, in2, S]}, fooList, '')
    expect(ds).toHaveLength(20)
    for (const d of ds) {
      expect(d.inputs).toHaveLength(3)
      expect(d.inputs[2]).toMatchObject({name: 'S', path: '/', isDir: true, s3: true})
    }
  })

  it('an s3 input is one datum for its whole commit (none for an empty one); a change to it changes every crossed datum', () => {
    const S = pfs('cfg', '/', {name: 'S', s3: true})
    const items = pfs('items', '/*', {name: 'I'})
    const repos = {cfg: {'/a': '1', '/d/b': '2'}, items: {'/x': 'x', '/y': 'y'}}
    const alone = planDatums(S, lister(repos), '')
    expect(members(alone)).toEqual([['S:/']])
    expect(alone[0]!.inputs[0]).toMatchObject({s3: true, isDir: true, commit: 'commit-cfg'})
    expect(planDatums(S, lister({cfg: {}}), '')).toEqual([])
    // the first job streams its datums: the same plan
    expect([...streamPlan(S, lister(repos), '')()]).toEqual(alone)
    const before = planDatums({cross: [S, items]}, lister(repos), '')
    expect(asSet(members(before))).toEqual(['I:/x S:/', 'I:/y S:/'])
    const after = planDatums({cross: [S, items]}, lister({...repos, cfg: {...repos.cfg, '/d/b': 'changed'}}), '')
    expect(after.map((d) => d.id)).toEqual(before.map((d) => d.id))
    after.forEach((d, i) => expect(d.hash).not.toBe(before[i]!.hash))
    const baseSet = new Map(before.map((d) => [d.id, {hash: d.hash, state: 'SUCCESS'}]))
    const plan = planIncremental(after, baseSet, {reprocessEveryJob: false})
    expect([plan.process.length, plan.skipped]).toEqual([2, 0])
    // the s3 input unchanged, one more item: only its datum runs (without s3_out), all of them with s3_out
    const more = planDatums({cross: [S, items]}, lister({...repos, items: {...repos.items, '/z': 'z'}}), '')
    expect(members(planIncremental(more, baseSet, {reprocessEveryJob: false}).process)).toEqual([['I:/z', 'S:/']])
    expect(planIncremental(more, baseSet, {reprocessEveryJob: false, s3Out: true}).process).toHaveLength(3)
  })

  it('a join of inputs without join_on (all keys "") is their cross product', () => {
    const A = pfs('data', '/foo?1', {name: 'A'})
    const B = pfs('data', '/foo*2', {name: 'B'})
    expect(paths(planDatums({join: [A, B]}, fooList, ''))).toEqual(paths(planDatums({cross: [A, B]}, fooList, '')))
  })
})

describe('integration-test examples', () => {
  it('TestJoinInput: file-0./file-1. + binary 4-wide -> keys 1100 and 1110', () => {
    const repo0 = Object.fromEntries(range(0, 15).map((i) => [`/file-0.${bin4(i)}`, `${i}`]))
    const repo1 = Object.fromEntries(range(0, 15).map((i) => [`/file-1.${bin4(i)}`, `${i}`]))
    const list = lister({repo0, repo1})
    const input: Input = {
      join: [pfs('repo0', '/file-?.(11*)', {join_on: '$1'}), pfs('repo1', '/file-?.(*0)', {join_on: '$1'})],
    }
    const ds = planDatums(input, list, '')
    expect(members(ds)).toEqual([
      ['repo0:/file-0.1100', 'repo1:/file-1.1100'],
      ['repo0:/file-0.1110', 'repo1:/file-1.1110'],
    ])
    expect(ds.map((d) => d.inputs[0]!.join_on)).toEqual(['1100', '1110'])
  })

  it('TestJoinInput directories: one datum with both directories', () => {
    const list = lister({repo0: {'/dir-01/foo': 'foo'}, repo1: {'/dir-10/bar': 'bar'}})
    const input: Input = {
      join: [pfs('repo0', '/dir-(?)(?)', {join_on: '$2'}), pfs('repo1', '/dir-(?)(?)', {join_on: '$1'})],
    }
    const ds = planDatums(input, list, '')
    expect(members(ds)).toEqual([['repo0:/dir-01/', 'repo1:/dir-10/']])
    expect(ds[0]!.inputs.every((i) => i.isDir && i.join_on === '1')).toBe(true)
  })

  it('TestGroupInput/Basic: 16 files grouped by the 3rd char -> 3 exact groups', () => {
    const repo = Object.fromEntries(range(0, 15).map((i) => [`/file.${bin4(i)}`, `${i}`]))
    const ds = planDatums({group: [pfs('repo', '/file.(?)(?)(?)(?)', {group_by: '$3'})]}, lister({repo}), '')
    const f = (...xs: string[]): string[] => xs.map((x) => `/file.${x}`)
    expect(paths(ds)).toEqual([
      f('   0', '   1'),
      f(' 100', ' 101', '1000', '1001', '1100', '1101'),
      f('  10', '  11', ' 110', ' 111', '1010', '1011', '1110', '1111'),
    ])
    expect(ds.map((d) => d.inputs[0]!.group_by)).toEqual([' ', '0', '1'])
  })

  it('TestGroupInput/Symlink-style keys: /*-PATID(*)-*.txt by $1', () => {
    const repo = {
      '/T1-LIPID-PATID1-CLIA1.txt': 'a',
      '/T2-LIPID-PATID2-CLIA2.txt': 'b',
      '/T3-LIPID-PATID1-CLIA3.txt': 'c',
      '/T4-LIPID-PATID3-CLIA4.txt': 'd',
      '/T5-LIPID-PATID3-CLIA5.txt': 'e',
      '/T6-LIPID-PATID4-CLIA6.txt': 'f',
    }
    const ds = planDatums({group: [pfs('repo', '/*-PATID(*)-*.txt', {group_by: '$1'})]}, lister({repo}), '')
    expect(ds.map((d) => d.inputs.length)).toEqual([2, 1, 2, 1])
  })

  it('TestUnionInput: 4 repos x {file-0, file-1} with /* -> 8', () => {
    const files = {'/file-0': '0', '/file-1': '1'}
    const list = lister({r1: files, r2: files, r3: files, r4: files})
    const ds = planDatums({union: ['r3', 'r1', 'r4', 'r2'].map((r) => pfs(r, '/*'))}, list, '')
    expect(ds).toHaveLength(8)
    // children sorted by name
    expect(ds.map((d) => d.inputs[0]!.name)).toEqual(['r1', 'r1', 'r2', 'r2', 'r3', 'r3', 'r4', 'r4'])
  })

  it('TestJoinTrailingSlash: /(*) and /(*)/ join the same 10 pairs', () => {
    const files = Object.fromEntries(range(0, 9).map((j) => [`/foo-${j}`, 'bar']))
    const list = lister({r0: files, r1: files})
    for (const glob of ['/(*)', '/(*)/']) {
      const ds = planDatums({join: [pfs('r0', glob, {join_on: '$1'}), pfs('r1', glob, {join_on: '$1'})]}, list, '')
      expect(paths(ds)).toEqual(range(0, 9).map((j) => [`/foo-${j}`, `/foo-${j}`]))
    }
  })
})

describe('glob matching over files and directories', () => {
  const tree = {'/a.txt': 'a', '/a/b': 'b', '/a-b': 'c', '/dir/x': 'x', '/dir/sub/y': 'y'}

  it('root glob "/" yields one datum only when the commit has files', () => {
    const ds = planDatums(pfs('r', '/'), lister({r: tree}), '')
    expect(ds).toHaveLength(1)
    expect(ds[0]!.inputs[0]).toMatchObject({path: '/', isDir: true, size: 5})
    // "" cleans to "/"
    expect(planDatums(pfs('r', ''), lister({r: tree}), '')).toHaveLength(1)
    expect(planDatums(pfs('r', '/'), lister({r: {}}), '')).toEqual([])
    // a listing without a root entry still yields the root datum
    const noRoot: InputListing = {commit: 'c', entries: listing(tree).entries.filter((e) => e.path !== '/')}
    expect(matchGlob(withPfsDefaults({repo: 'r', glob: '/'}), noRoot)).toHaveLength(1)
    // only directories (impossible in PFS, but defensive): no files -> nothing
    expect(matchGlob(withPfsDefaults({repo: 'r', glob: '/'}), {commit: 'c', entries: [{path: '/d', isDir: true, hash: 'h', size: 0}]})).toEqual([])
  })

  it('"/" never matches anything but the root, other globs never match the root', () => {
    expect(paths(planDatums(pfs('r', '/**'), lister({r: tree}), '')).flat()).not.toContain('/')
  })

  it('"/*" yields top-level files and directories, in Pachyderm path order', () => {
    const ds = planDatums(pfs('r', '/*'), lister({r: tree}), '')
    expect(paths(ds).flat()).toEqual(['/a-b', '/a.txt', '/a/', '/dir/'])
    expect(ds.map((d) => d.inputs[0]!.isDir)).toEqual([false, false, true, true])
  })

  it('"/**" yields files and directories at every depth', () => {
    expect(paths(planDatums(pfs('r', '/**'), lister({r: tree}), '')).flat()).toEqual([
      '/a-b',
      '/a.txt',
      '/a/',
      '/a/b',
      '/dir/',
      '/dir/sub/',
      '/dir/sub/y',
      '/dir/x',
    ])
  })

  it('TestGlobFile counts: 100 root files + dir1/* + dir2/dir3/*: * -> 102, */* -> 101', () => {
    const files: Record<string, string> = {}
    for (let i = 0; i < 100; i++) files[`/file${i}`] = 'x'
    for (let i = 0; i < 100; i++) files[`/dir1/file${i}`] = 'x'
    for (let i = 0; i < 10; i++) files[`/dir2/dir3/file${i}`] = 'x'
    const list = lister({r: files})
    expect(planDatums(pfs('r', '*'), list, '')).toHaveLength(102)
    expect(planDatums(pfs('r', '*/*'), list, '')).toHaveLength(101)
  })

  it('dir matches carry the dir hash and total size; keys come from the path without "/"', () => {
    const l = listing(tree)
    const [d] = matchGlob(withPfsDefaults({repo: 'r', glob: '/(d*)', join_on: '$1-x', group_by: '${1}$$'}), l)
    const dirEntry = l.entries.find((e) => e.path === '/dir')!
    expect(d).toMatchObject({path: '/dir/', isDir: true, hash: dirEntry.hash, size: 2, join_on: 'dir-x', group_by: 'dir$', commit: 'c0ffee'})
  })

  it('unsorted listings and dir paths with a trailing "/" are tolerated', () => {
    const l = listing(tree)
    const messy: InputListing = {
      commit: l.commit,
      entries: [...l.entries].reverse().map((e) => (e.isDir && e.path !== '/' ? {...e, path: e.path + '/'} : e)),
    }
    const input = withPfsDefaults({repo: 'r', glob: '/**'})
    expect(matchGlob(input, messy)).toEqual(matchGlob(input, l))
  })

  it('cron behaves like pfs over <repo>@master with glob "/*"', () => {
    const ticks = {'/2024-05-01T10:00:00Z': '', '/2024-05-01T11:00:00Z': ''}
    const cron: Input = {cron: {name: 'tick', repo: 'p_tick', spec: '@hourly', overwrite: false, project: 'default'}}
    const ds = planDatums(cron, lister({p_tick: ticks}), '')
    expect(members(ds)).toEqual([['tick:/2024-05-01T10:00:00Z'], ['tick:/2024-05-01T11:00:00Z']])
    expect(ds[0]!.inputs[0]).toMatchObject({repo: 'p_tick', branch: 'master'})
  })

  it('a malformed glob or input tree is an InvalidArgumentError', () => {
    expect(() => planDatums(pfs('data', '/foo[', {}), fooList, '')).toThrow(InvalidArgumentError)
    expect(() => planDatums({cross: []}, fooList, '')).toThrow(InvalidArgumentError)
    const both = {pfs: withPfsDefaults({repo: 'data', glob: '/*'}), union: []} as unknown as Input
    expect(() => planDatums(both, fooList, '')).toThrow(/multiple input types set/)
    expect(() => inputKind({} as Input)).toThrow(/no input set/)
  })
})

describe('datum ids and hashes', () => {
  const A = pfs('data', '/foo?1', {name: 'A'})
  const B = pfs('data', '/foo*2', {name: 'B', reference: true})

  it('datumId is sha256 over name/repo/branch/path with int64BE byte lengths', () => {
    const inputs = [{name: 'in', repo: 'images', branch: 'master', path: '/dir/'}]
    const h = createHash('sha256')
    for (const s of ['in', 'images', 'master', '/dir/']) {
      h.update(s)
      const len = Buffer.alloc(8)
      len.writeBigInt64BE(BigInt(Buffer.byteLength(s)))
      h.update(len)
    }
    expect(datumId(inputs)).toBe(h.digest('hex'))
    expect(datumId(inputs)).toMatch(/^[0-9a-f]{64}$/)
    // lengths make the encoding unambiguous
    expect(datumId([{name: 'ab', repo: 'c', branch: 'm', path: '/x'}])).not.toBe(datumId([{name: 'a', repo: 'bc', branch: 'm', path: '/x'}]))
  })

  it('ids depend only on names and paths; hashes change with content', () => {
    const changed = {...FOO, '/foo11': 'changed'}
    const before = planDatums({cross: [A, pfs('data', '/foo*2', {name: 'B'})]}, fooList, 's')
    const after = planDatums({cross: [A, pfs('data', '/foo*2', {name: 'B'})]}, lister({data: changed}), 's')
    expect(after.map((d) => d.id)).toEqual(before.map((d) => d.id))
    const differ = after.filter((d, i) => d.hash !== before[i]!.hash)
    expect(differ.map((d) => d.inputs[0]!.path)).toEqual(Array(5).fill('/foo11'))
    // the id also changes with the input name
    const renamed = planDatums(pfs('data', '/foo?1', {name: 'A2'}), fooList, 's')
    expect(renamed[0]!.id).not.toBe(planDatums(A, fooList, 's')[0]!.id)
  })

  it('hashes change with the salt but not the ids', () => {
    const s1 = planDatums(A, fooList, 'salt-1')
    const s2 = planDatums(A, fooList, 'salt-2')
    expect(s2.map((d) => d.id)).toEqual(s1.map((d) => d.id))
    for (let i = 0; i < s1.length; i++) expect(s2[i]!.hash).not.toBe(s1[i]!.hash)
    expect(s1[0]!.hash).toBe(datumHash(s1[0]!.id, s1[0]!.inputs, 'salt-1'))
  })

  it('reference inputs do not contribute to the hash', () => {
    const changedB = {...FOO, '/foo12': 'changed', '/foo2': 'changed too'}
    const before = planDatums({cross: [A, B]}, fooList, 's')
    const after = planDatums({cross: [A, B]}, lister({data: changedB}), 's')
    expect(after.map((d) => d.hash)).toEqual(before.map((d) => d.hash))
    // while a non-reference change does
    const changedA = {...FOO, '/foo21': 'changed'}
    const afterA = planDatums({cross: [A, B]}, lister({data: changedA}), 's')
    expect(afterA.filter((d, i) => d.hash !== before[i]!.hash)).toHaveLength(5)
  })

  it('union collapses datums with identical ids', () => {
    const X = pfs('data', '/foo1*', {name: 'X'})
    const Y = pfs('data', '/foo?1', {name: 'X'})
    const ds = planDatums({union: [X, Y]}, fooList, '')
    // /foo1, /foo10../foo19 (11) + /foo21, /foo31, /foo41 (foo11 already present)
    expect(ds).toHaveLength(14)
    expect(new Set(ds.map((d) => d.id)).size).toBe(14)
  })
})

describe('input sorting and naming (pps.SortInput)', () => {
  it('children of cross/union/join/group are stably sorted by name, innermost first', () => {
    const tree: Input = {
      cross: [pfs('zeta', '/*'), {union: [pfs('m', '/*'), pfs('c', '/*')]}, pfs('d', '/*')],
    }
    const sorted = sortInput(tree)
    expect(walkPfs(tree).map((p) => p.name)).toEqual(['c', 'm', 'd', 'zeta'])
    expect(inputName(sorted)).toBe('c')
    expect(inputName({union: [pfs('m', '/*'), pfs('c', '/*')]})).toBe('m')
    // idempotent and non-mutating
    expect(sortInput(sorted)).toEqual(sorted)
    expect(inputName(tree)).toBe('zeta')
  })

  it('datum input order follows the sorted tree', () => {
    const ds = planDatums({cross: [pfs('data', '/foo*2', {name: 'B'}), pfs('data', '/foo?1', {name: 'A'})]}, fooList, '')
    expect(ds[0]!.inputs.map((i) => i.name)).toEqual(['A', 'B'])
  })

  it('cron inputs sort first (Pachyderm InputName has no cron case) but keep their name', () => {
    const cron: Input = {cron: {name: 'tick', repo: 'p_tick', spec: '@hourly', overwrite: false, project: 'default'}}
    const tree: Input = {cross: [pfs('a', '/*'), cron]}
    expect(walkPfs(tree).map((p) => [p.name, p.glob, p.branch])).toEqual([
      ['tick', '/*', 'master'],
      ['a', '/*', 'master'],
    ])
    expect(inputName(cron)).toBe('tick')
  })
})

describe('planIncremental', () => {
  const A = pfs('data', '/foo?1', {name: 'A'})
  const base = (ds: Datum[], state = 'SUCCESS'): Map<string, {hash: string; state: string}> =>
    new Map(ds.map((d) => [d.id, {hash: d.hash, state}]))
  const every = {reprocessEveryJob: false}

  it('no base: everything is processed', () => {
    const cur = planDatums(A, fooList, 's')
    expect(planIncremental(cur, undefined, every)).toEqual({process: cur, skipped: 0, removed: [], redo: [], total: cur.length})
  })

  it('unchanged datums are skipped (SUCCESS and SKIPPED)', () => {
    const cur = planDatums(A, fooList, 's')
    expect(planIncremental(cur, base(cur), every)).toEqual({process: [], skipped: cur.length, removed: [], redo: [], total: cur.length})
    expect(planIncremental(cur, base(cur, 'SKIPPED'), every).skipped).toBe(4)
  })

  it('changed content: processed and redone', () => {
    const prev = planDatums(A, fooList, 's')
    const cur = planDatums(A, lister({data: {...FOO, '/foo21': 'new'}}), 's')
    const p = planIncremental(cur, base(prev), every)
    expect(p.process.map((d) => d.inputs[0]!.path)).toEqual(['/foo21'])
    expect(p.redo).toEqual([cur[1]!.id])
    expect(p.skipped).toBe(3)
    expect(p.removed).toEqual([])
  })

  it('vanished datums are removed, new ones processed without redo', () => {
    const prev = planDatums(A, fooList, 's')
    const files = {...FOO, '/foo51': 'input'}
    delete (files as Record<string, string>)['/foo31']
    const cur = planDatums(pfs('data', '/foo?1', {name: 'A'}), lister({data: files}), 's')
    const p = planIncremental(cur, base(prev), every)
    expect(p.removed).toEqual([prev[2]!.id])
    expect(p.process.map((d) => d.inputs[0]!.path)).toEqual(['/foo51'])
    expect(p.redo).toEqual([])
    expect(p.skipped).toBe(3)
  })

  it('failed or recovered base datums are re-processed (and redone)', () => {
    const cur = planDatums(A, fooList, 's')
    for (const state of ['FAILED', 'RECOVERED']) {
      const p = planIncremental(cur, base(cur, state), every)
      expect(p.process).toEqual(cur)
      expect(p.redo).toEqual(cur.map((d) => d.id))
      expect(p.skipped).toBe(0)
    }
  })

  it('a new salt re-processes everything', () => {
    const prev = planDatums(A, fooList, 'old')
    const cur = planDatums(A, fooList, 'new')
    expect(planIncremental(cur, base(prev), every).process).toHaveLength(4)
  })

  it('reprocess_spec every_job processes all (and s3_out too); vanished outputs still removed', () => {
    const prev = planDatums(pfs('data', '/foo*1', {name: 'A'}), fooList, 's')
    const cur = planDatums(A, fooList, 's')
    const p = planIncremental(cur, base(prev), {reprocessEveryJob: true})
    expect(p.process).toEqual(cur)
    expect(p.skipped).toBe(0)
    expect(p.redo).toEqual(cur.map((d) => d.id))
    expect(p.removed).toEqual([prev.find((d) => d.inputs[0]!.path === '/foo1')!.id])
    expect(planIncremental(cur, base(cur), {reprocessEveryJob: false, s3Out: true}).skipped).toBe(0)
  })
})

describe('streamDatums (a first job over a lone pfs input, planned as it runs)', () => {
  const files: Record<string, string> = {'/a': '1', '/a.txt': '2', '/a/b': '3', '/a/c/d': '4', '/b-x': '5', '/b/e': '6', '/z': '7'}
  it.each(['/*', '/*/*', '/**', '/a/*', '/?', '/[ab]*', '/nothing*'])('glob %s: the same datums, ids, hashes and order as planDatums', (glob) => {
    const input = pfs('data', glob)
    const l = listing(files, 'commit-data')
    const stream = streamDatums(input, l.commit, () => l.entries, 'salt')!
    expect(stream).toBeDefined()
    const want = planDatums(input, lister({data: files}), 'salt')
    expect([...stream()]).toEqual(want)
    expect([...stream()]).toEqual(want) // it can be read again
  })

  it('a cron input streams too; the root glob, cross, union, join and group do not', () => {
    expect(streamDatums({cron: {name: 'tick', spec: '@every 1m', repo: 'tick'}} as Input, 'c', () => [], 's')).toBeDefined()
    expect(streamDatums(pfs('data', '/'), 'c', () => [], 's')).toBeUndefined()
    expect(streamDatums({cross: [pfs('data', '/*'), pfs('other', '/*')]} as Input, 'c', () => [], 's')).toBeUndefined()
    expect(streamDatums({union: [pfs('data', '/*')]} as Input, 'c', () => [], 's')).toBeUndefined()
  })
})

describe('streamPlan (a first job over any input, planned as it runs)', () => {
  it('a cross of two 2,000-file inputs yields its first datums without building its 4,000,000', () => {
    const many = (p: string): Record<string, string> => Object.fromEntries(Array.from({length: 2000}, (_, i) => [`/${p}${String(i).padStart(4, '0')}`, `${p}${i}`]))
    const repos = {a: many('a'), b: many('b')}
    let listed = 0
    const base = lister(repos)
    const counting: Lister = (input) => {
      listed++
      return base(input)
    }
    const stream = streamPlan({cross: [pfs('a', '/*'), pfs('b', '/*')]} as Input, counting, 'salt')
    for (let walk = 0; walk < 2; walk++) {
      const it = stream()[Symbol.iterator]()
      const first = [it.next().value!, it.next().value!, it.next().value!]
      expect(paths(first)).toEqual([
        ['/a0000', '/b0000'],
        ['/a0000', '/b0001'],
        ['/a0000', '/b0002'],
      ])
    }
    // each leaf is listed once, however often the plan is walked
    expect(listed).toBe(2)
  })

  it('every combinator can be walked again with the same datums (leaves and buckets kept, union seen-sets per walk)', () => {
    const repos = {data: {'/a/1.vol': 'x', '/a/2.vol': 'y', '/b/1.vol': 'z'}, other: {'/1.txt': 'p', '/3.txt': 'q'}}
    const inputs: Input[] = [
      {cross: [pfs('data', '/*/*'), pfs('other', '/*')]},
      {union: [pfs('data', '/*/*'), pfs('data', '/*/*'), pfs('other', '/*')]},
      {join: [pfs('data', '/*/(*).vol', {join_on: '$1'}), pfs('other', '/(*).txt', {join_on: '$1', outer_join: true})]},
      {group: [pfs('data', '/(*)/*.vol', {group_by: '$1'}), pfs('other', '/(*).txt', {group_by: '$1'})]},
      {cross: [{union: [pfs('data', '/*'), pfs('other', '/*')]}, pfs('other', '/*', {name: 'o2'})]},
    ] as Input[]
    for (const input of inputs) {
      const want = planDatums(input, lister(repos), 'salt')
      expect(want.length).toBeGreaterThan(0)
      const stream = streamPlan(input, lister(repos), 'salt')
      expect([...stream()]).toEqual(want)
      expect([...stream()]).toEqual(want)
    }
  })
})

describe('planFromChanges (incremental planning from the changed paths)', () => {
  const at = (l: InputListing) => (path: string) => l.entries.find((e) => e.path === path)
  /** Files that differ between two file maps, plus every directory above them. */
  const changedPaths = (a: Record<string, string>, b: Record<string, string>) => {
    const out = new Set<string>()
    for (const p of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (a[p] === b[p]) continue
      const parts = p.split('/').filter(Boolean)
      for (let i = 1; i <= parts.length; i++) out.add('/' + parts.slice(0, i).join('/'))
    }
    return out
  }
  const full = (input: Input, files: Record<string, string>) => planDatums(input, lister({data: files}), 'salt')
  const baseOf = (ds: Datum[]) => new Map(ds.map((d) => [d.id, {hash: d.hash, state: 'SUCCESS'}]))

  it.each([
    ['/*', {'/a': '1', '/b': '2', '/c': '3'}, {'/a': '1', '/b': 'changed', '/d': '4'}],
    ['/*', {'/a': '1', '/b': '2'}, {'/b': '2'}],
    ['/*/*', {'/x/a': '1', '/x/b': '2', '/y/c': '3'}, {'/x/a': '1', '/y/c': '3!', '/z/d': '4'}],
    ['/*', {'/d/a': '1', '/d/b': '2', '/e': '3'}, {'/d/a': '1', '/d/b': '2!', '/e': '3'}],
    ['/?', {'/a': '1', '/bb': '2'}, {'/a': '1!', '/bb': '2!', '/c': '3'}],
  ])('glob %s: only datums on changed paths are planned; the plan equals planIncremental over a full plan', (glob, before, after) => {
    const input = pfs('data', glob)
    const base = full(input, before)
    const want = planIncremental(full(input, after), baseOf(base), {reprocessEveryJob: false})
    const then = listing(before)
    const now = listing(after)
    const got = planFromChanges(input, baseOf(base), {commit: now.commit, changed: changedPaths(before, after), before: at(then), after: at(now)}, 'salt')!
    expect(got).toBeDefined()
    const sortIds = (ids: string[]) => [...ids].sort()
    expect(new Map(got.process.map((d) => [d.id, d.hash]))).toEqual(new Map(want.process.map((d) => [d.id, d.hash])))
    expect(got.process.every((d) => d.inputs.length > 0)).toBe(true)
    expect(sortIds(got.redo)).toEqual(sortIds(want.redo))
    expect(sortIds(got.removed)).toEqual(sortIds(want.removed))
    expect([got.skipped, got.total]).toEqual([want.skipped, want.total])
  })

  it.each([
    ['a glob with ** (no fixed depth)', pfs('data', '/**')],
    ['a capture group', pfs('data', '/(*)')],
    ['a join key', pfs('data', '/*', {join_on: 'x'})],
    ['the root glob', pfs('data', '/')],
    ['a cross of two inputs', {cross: [pfs('data', '/*'), pfs('other', '/*')]} as Input],
  ])('does not qualify: %s', (_name, input) => {
    const files = {'/a': '1'}
    const l = listing(files)
    const base = new Map([['x', {hash: 'h', state: 'SUCCESS'}]])
    expect(planFromChanges(input, base, {commit: 'c', changed: ['/a'], before: at(l), after: at(l)}, 'salt')).toBeUndefined()
  })

})
