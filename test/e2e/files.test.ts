/**
 * E2E: files — put (targets, stdin, append, open commits, validation), get, list, glob,
 * inspect, delete, copy, diff, --untar.
 */
import {mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {gzipSync} from 'node:zlib'
import {pack} from 'tar-stream'
import {describe, expect, it, vi} from 'vitest'
import {tmpProject, type Project} from '../helpers/cli.js'
import {commitIds, expectUserError, ID_RE, pseudoRandom, putText, runBytes, sha256} from './_util.js'

// each test makes ~10-20 CLI calls; give a loaded machine room (no test depends on timing)
vi.setConfig({testTimeout: 240_000})

/** Write local fixture files under p.dir/local; returns that directory. */
function local(p: Project, files: Record<string, string | Buffer>): string {
  const root = join(p.dir, 'local')
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), {recursive: true})
    writeFileSync(join(root, rel), content)
  }
  return root
}

/** Paths (without a trailing "/") of a list/glob JSON result. */
const paths = (list: any[]) => list.map((f) => String(f.file.path).replace(/(.)\/$/, '$1'))
const filePaths = (list: any[]) => paths(list.filter((f) => f.file_type === 'FILE'))

async function allFiles(p: Project, ref: string): Promise<string[]> {
  return filePaths(await p.json(['glob', 'file', `${ref}:/**`])).sort()
}

/** Every regular file under a local dir, as relative path -> content. */
function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name)
      if (statSync(full).isDirectory()) walk(full)
      else out[relative(dir, full)] = readFileSync(full, 'utf8')
    }
  }
  walk(dir)
  return out
}

async function tarOf(entries: {name: string; content?: string; type?: 'file' | 'directory'}[]): Promise<Buffer> {
  const p = pack()
  for (const e of entries) {
    if (e.type === 'directory') p.entry({name: e.name, type: 'directory'})
    else p.entry({name: e.name}, e.content ?? '')
  }
  p.finalize()
  const chunks: Buffer[] = []
  for await (const c of p) chunks.push(Buffer.from(c as Uint8Array))
  return Buffer.concat(chunks)
}

describe('put file', () => {
  it('target paths: basename, :path, trailing "/", several -f with a prefix, -r nested directories', async () => {
    const p = await tmpProject()
    const dir = local(p, {'one.txt': 'one\n', 'two.txt': 'two\n', 'tree/a.txt': 'A', 'tree/sub/deep/b.txt': 'B'})
    await p.ok(['create', 'repo', 'r'])
    await p.ok(['put', 'file', 'r@master', '-f', join(dir, 'one.txt')])
    await p.ok(['put', 'file', 'r@master:/renamed.txt', '-f', join(dir, 'one.txt')])
    await p.ok(['put', 'file', 'r@master:/dir/', '-f', join(dir, 'one.txt')])
    await p.ok(['put', 'file', 'r@master:/pre', '-f', join(dir, 'one.txt'), '-f', join(dir, 'two.txt')])
    await p.ok(['put', 'file', 'r@master:/t', '-r', '-f', join(dir, 'tree')])
    const res = await p.json(['put', 'file', 'r@master', '-r', '-f', join(dir, 'tree')])
    expect(res).toMatchObject({files: 2, bytes: 2})
    expect(res.commit.id).toMatch(ID_RE)
    expect(await allFiles(p, 'r@master')).toEqual([
      '/dir/one.txt',
      '/one.txt',
      '/pre/one.txt',
      '/pre/two.txt',
      '/renamed.txt',
      '/t/a.txt',
      '/t/sub/deep/b.txt',
      '/tree/a.txt',
      '/tree/sub/deep/b.txt',
    ])
    expect(await p.ok(['get', 'file', 'r@master:/t/sub/deep/b.txt'])).toBe('B')
    expect(await p.ok(['get', 'file', 'r@master:/pre/two.txt'])).toBe('two\n')
    // each put without an open commit made exactly one commit
    expect(await commitIds(p, 'r')).toHaveLength(6)
  })

  it('-r -f . puts the current directory at the root (pachctl idiom), with or without ":/"', async () => {
    const p = await tmpProject()
    const dir = local(p, {'x.txt': 'x', 'sub/y.txt': 'y'})
    await p.ok(['create', 'repo', 'r'])
    const r = await p.run(['put', 'file', 'r@master', '-r', '-f', '.'], {cwd: dir})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(await allFiles(p, 'r@master')).toEqual(['/sub/y.txt', '/x.txt'])
    const r2 = await p.run(['put', 'file', 'r@master:/', '-r', '-f', '.'], {cwd: join(dir, 'sub')})
    expect(r2.exitCode, r2.stderr).toBe(0)
    expect(await allFiles(p, 'r@master')).toEqual(['/sub/y.txt', '/x.txt', '/y.txt'])
  })

  it('stdin needs an explicit path; --append concatenates (also across commits); a plain put overwrites', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/s.txt', 'abc')
    expect(await p.ok(['get', 'file', 'r@master:/s.txt'])).toBe('abc')

    expectUserError(await p.run(['put', 'file', 'r@master', '-f', '-'], {input: 'x'}), 2, /path/)
    expect(await commitIds(p, 'r')).toHaveLength(1)

    await putText(p, 'r@master:/s.txt', 'def', ['--append'])
    expect(await p.ok(['get', 'file', 'r@master:/s.txt'])).toBe('abcdef')

    await putText(p, 'r@master:/s.txt', 'X')
    expect(await p.ok(['get', 'file', 'r@master:/s.txt'])).toBe('X')

    // appends inside one open commit
    await p.ok(['start', 'commit', 'r@master'])
    await putText(p, 'r@master:/o.txt', '1')
    await putText(p, 'r@master:/o.txt', '2', ['--append'])
    await p.ok(['finish', 'commit', 'r@master'])
    expect(await p.ok(['get', 'file', 'r@master:/o.txt'])).toBe('12')
  })

  it('writes go into the open commit (no new commits until finish); a finished commit id is refused', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/base.txt', 'base')
    const id = (await p.ok(['start', 'commit', 'r@master'])).trim()
    expect(await putText(p, 'r@master:/a.txt', 'a')).toBe(id)
    expect(await putText(p, 'r@master:/b.txt', 'b')).toBe(id)
    expect(await commitIds(p, 'r')).toHaveLength(2)
    expect((await p.json(['inspect', 'commit', `r@${id}`])).finished).toBeNull()
    await p.ok(['finish', 'commit', `r@${id}`])
    expect(await allFiles(p, `r@${id}`)).toEqual(['/a.txt', '/b.txt', '/base.txt'])

    expectUserError(await p.run(['put', 'file', `r@${id}:/late.txt`, '-f', '-'], {input: 'late'}), 5, /finished/)
    expect(await commitIds(p, 'r')).toHaveLength(2)
    expectUserError(await p.run(['get', 'file', `r@${id}:/late.txt`]), 4)

    // an open commit can be written by id
    const id2 = (await p.ok(['start', 'commit', 'r@master'])).trim()
    expect(await putText(p, `r@${id2}:/by-id.txt`, 'x')).toBe(id2)
    await p.ok(['finish', 'commit', 'r@master'])
    expect(await p.ok(['get', 'file', 'r@master:/by-id.txt'])).toBe('x')
  })

  it('bad input: missing local file (4), directory without -r (2), invalid paths (2, nothing written), file/dir collisions (5)', async () => {
    const p = await tmpProject()
    const dir = local(p, {'d/x.txt': 'x'})
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/a', 'file a')
    await putText(p, 'r@master:/d/f', 'file in d')

    expectUserError(await p.run(['put', 'file', 'r@master', '-f', join(dir, 'missing.txt')]), 4, /missing\.txt/)
    expectUserError(await p.run(['put', 'file', 'r@master', '-f', join(dir, 'd')]), 2, /-r/)
    for (const bad of ['/a*b', '/x/../y', '/bad\x01name']) {
      expectUserError(await p.run(['put', 'file', `r@master:${bad}`, '-f', '-'], {input: 'data'}), 2)
    }
    expect(await commitIds(p, 'r')).toHaveLength(2)
    expect(await allFiles(p, 'r@master')).toEqual(['/a', '/d/f'])

    // a file where a directory is, and a directory where a file is
    expectUserError(await p.run(['put', 'file', 'r@master:/a/b', '-f', '-'], {input: 'x'}), 5)
    expectUserError(await p.run(['put', 'file', 'r@master:/d', '-f', '-'], {input: 'x'}), 5)
    expect(await commitIds(p, 'r')).toHaveLength(2)
  })
})

describe('get file', () => {
  it('binary content spanning several chunks is byte-exact on stdout, with -o, and with --offset', async () => {
    const p = await tmpProject()
    const data = pseudoRandom(3 * 1024 * 1024 + 12345, 12345)
    const dir = local(p, {'big.bin': data})
    await p.ok(['create', 'repo', 'r'])
    await p.ok(['put', 'file', 'r@master:/big.bin', '-f', join(dir, 'big.bin')])
    expect((await p.json(['inspect', 'file', 'r@master:/big.bin'])).size_bytes).toBe(data.length)

    const out = await runBytes(p, ['get', 'file', 'r@master:/big.bin'])
    expect(out.exitCode).toBe(0)
    expect(out.stdout.length).toBe(data.length)
    expect(sha256(out.stdout)).toBe(sha256(data))

    const dest = join(p.dir, 'copy.bin')
    await p.ok(['get', 'file', 'r@master:/big.bin', '-o', dest])
    expect(sha256(readFileSync(dest))).toBe(sha256(data))

    const off = 1_500_000
    const tail = await runBytes(p, ['get', 'file', 'r@master:/big.bin', '--offset', String(off)])
    expect(tail.exitCode).toBe(0)
    expect(sha256(tail.stdout)).toBe(sha256(data.subarray(off)))
  })

  it('-r -o restores a directory tree exactly; a directory without -r exits 2 with a hint; missing file exits 4', async () => {
    const p = await tmpProject()
    const tree = {'a.txt': 'A\n', 'sub/b.txt': 'BB\n', 'sub/deeper/c.txt': 'CCC\n', 'sub/empty.txt': ''}
    const dir = local(p, Object.fromEntries(Object.entries(tree).map(([k, v]) => [`src/${k}`, v])))
    await p.ok(['create', 'repo', 'r'])
    await p.ok(['put', 'file', 'r@master:/data', '-r', '-f', join(dir, 'src')])

    const out = join(p.dir, 'restored')
    await p.ok(['get', 'file', 'r@master:/data', '-r', '-o', out])
    expect(readTree(out)).toEqual(tree)
    const sub = join(p.dir, 'restored-sub')
    await p.ok(['get', 'file', 'r@master:/data/sub', '-r', '-o', sub])
    expect(readTree(sub)).toEqual({'b.txt': 'BB\n', 'deeper/c.txt': 'CCC\n', 'empty.txt': ''})

    const line = expectUserError(await p.run(['get', 'file', 'r@master:/data']), 2)
    expect(line).toContain('-r')
    expectUserError(await p.run(['get', 'file', 'r@master:/data/nope.txt']), 4)
    expect(await p.ok(['get', 'file', 'r@master:/data/sub/empty.txt'])).toBe('')
  })
})

describe('invalid read arguments', () => {
  it('glob file with a malformed pattern is a usage error (exit 2, one line), not an internal error', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/a.txt', 'a')
    expectUserError(await p.run(['glob', 'file', 'r@master:/[']), 2, /glob/)
    expectUserError(await p.run(['glob', 'file', 'r@master:/{a,b']), 2, /glob/)
  })

  it('get file --offset rejects a negative offset (exit 2)', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/a.txt', 'abcdef')
    expect(await p.ok(['get', 'file', 'r@master:/a.txt', '--offset', '2'])).toBe('cdef')
    const r = await p.run(['get', 'file', 'r@master:/a.txt', '--offset=-1'])
    expectUserError(r, 2)
    expect(r.stdout).toBe('')
  })
})

describe('list, glob, inspect', () => {
  it('list file shows direct children (dirs sum their sizes); glob matches files and directories', async () => {
    const p = await tmpProject()
    const dir = local(p, {'a.txt': 'aaaa', 'b.csv': 'bb', 'dir/c.txt': 'ccc', 'dir/sub/d.txt': 'ddddd'})
    await p.ok(['create', 'repo', 'r'])
    await p.ok(['start', 'commit', 'r@master'])
    await p.ok(['put', 'file', 'r@master:/', '-f', join(dir, 'a.txt'), '-f', join(dir, 'b.csv')])
    const id = (await p.json(['put', 'file', 'r@master:/dir', '-r', '-f', join(dir, 'dir')])).commit.id
    await p.ok(['finish', 'commit', 'r@master'])

    const root = await p.json(['list', 'file', 'r@master'])
    expect(paths(root)).toEqual(['/a.txt', '/b.csv', '/dir'])
    const a = root[0]
    expect(a.file).toMatchObject({path: '/a.txt', commit: {id, repo: {name: 'r', type: 'user', project: {name: 'default'}}}})
    expect(a.file_type).toBe('FILE')
    expect(a.size_bytes).toBe(4)
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(Number.isNaN(Date.parse(a.committed))).toBe(false)
    const d = root[2]
    expect(d.file_type).toBe('DIR')
    expect(d.size_bytes).toBe(3 + 5)
    expect(paths(await p.json(['list', 'files', 'r@master:/dir']))).toEqual(['/dir/c.txt', '/dir/sub'])
    expectUserError(await p.run(['list', 'file', 'r@master:/nope']), 4)

    const glob = async (pat: string) => paths(await p.json(['glob', 'file', `r@master:${pat}`]))
    expect(await glob('/*')).toEqual(['/a.txt', '/b.csv', '/dir'])
    expect(await glob('/**')).toEqual(['/a.txt', '/b.csv', '/dir', '/dir/c.txt', '/dir/sub', '/dir/sub/d.txt'])
    expect(await glob('/*.txt')).toEqual(['/a.txt'])
    expect(await glob('/dir/*')).toEqual(['/dir/c.txt', '/dir/sub'])
  })

  it('inspect file: identical content has the same hash; directories are DIR', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/x/one.txt', 'same bytes')
    await putText(p, 'r@master:/y/two.txt', 'same bytes')
    await putText(p, 'r@master:/y/other.txt', 'other bytes')
    const one = await p.json(['inspect', 'file', 'r@master:/x/one.txt'])
    const two = await p.json(['inspect', 'file', 'r@master:/y/two.txt'])
    const other = await p.json(['inspect', 'file', 'r@master:/y/other.txt'])
    expect(one.file_type).toBe('FILE')
    expect(one.size_bytes).toBe(10)
    expect(one.hash).toBe(two.hash)
    expect(other.hash).not.toBe(one.hash)
    const dir = await p.json(['inspect', 'file', 'r@master:/y'])
    expect(dir.file_type).toBe('DIR')
    expect(dir.size_bytes).toBe(21)
    expectUserError(await p.run(['inspect', 'file', 'r@master:/y/none']), 4)
  })
})

describe('delete, copy, diff', () => {
  it('delete file removes a file or a whole directory; a missing path is a no-op', async () => {
    const p = await tmpProject()
    const dir = local(p, {'keep.txt': 'k', 'gone.txt': 'g', 'd/a.txt': 'a', 'd/e/b.txt': 'b'})
    await p.ok(['create', 'repo', 'r'])
    await p.ok(['start', 'commit', 'r@master'])
    await p.ok(['put', 'file', 'r@master:/', '-f', join(dir, 'keep.txt'), '-f', join(dir, 'gone.txt')])
    await p.ok(['put', 'file', 'r@master:/d', '-r', '-f', join(dir, 'd')])
    await p.ok(['finish', 'commit', 'r@master'])
    await p.ok(['delete', 'file', 'r@master:/gone.txt'])
    expect(await allFiles(p, 'r@master')).toEqual(['/d/a.txt', '/d/e/b.txt', '/keep.txt'])
    await p.ok(['delete', 'file', 'r@master:/d'])
    expect(await allFiles(p, 'r@master')).toEqual(['/keep.txt'])
    const r = await p.run(['delete', 'file', 'r@master:/never-existed'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(await allFiles(p, 'r@master')).toEqual(['/keep.txt'])
    // history still has the deleted files
    expect(await p.ok(['get', 'file', 'r@master^^:/d/e/b.txt'])).toBe('b')
  })

  it('copy file into another repo keeps the content hash (files and directories)', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'src'])
    await p.ok(['create', 'repo', 'dst'])
    await putText(p, 'src@master:/data/f.txt', 'payload')
    await putText(p, 'src@master:/data/g/h.txt', 'more')
    await p.ok(['copy', 'file', 'src@master:/data/f.txt', 'dst@master:/copied.txt'])
    await p.ok(['copy', 'file', 'src@master:/data', 'dst@master:/tree'])
    expect(await p.ok(['get', 'file', 'dst@master:/copied.txt'])).toBe('payload')
    const a = await p.json(['inspect', 'file', 'src@master:/data/f.txt'])
    const b = await p.json(['inspect', 'file', 'dst@master:/copied.txt'])
    expect(b.hash).toBe(a.hash)
    expect(b.file.commit.repo.name).toBe('dst')
    expect(await allFiles(p, 'dst@master')).toEqual(['/copied.txt', '/tree/f.txt', '/tree/g/h.txt'])
    expectUserError(await p.run(['copy', 'file', 'src@master:/nope', 'dst@master:/x']), 4)
  })

  it('diff file: added / modified / deleted vs the parent and between two explicit refs', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await p.ok(['start', 'commit', 'r@master'])
    await putText(p, 'r@master:/keep.txt', 'same')
    await putText(p, 'r@master:/mod.txt', 'v1')
    await putText(p, 'r@master:/del.txt', 'bye')
    await p.ok(['finish', 'commit', 'r@master'])
    await p.ok(['start', 'commit', 'r@master'])
    await putText(p, 'r@master:/mod.txt', 'v2')
    await p.ok(['delete', 'file', 'r@master:/del.txt'])
    await putText(p, 'r@master:/new.txt', 'hi')
    await p.ok(['finish', 'commit', 'r@master'])

    const summarize = (d: any[]) =>
      Object.fromEntries(
        d.map((e) => {
          const path = (e.new_file ?? e.old_file).file.path
          return [path, e.new_file && e.old_file ? 'M' : e.new_file ? 'A' : 'D']
        }),
      )
    const diff = await p.json(['diff', 'file', 'r@master'])
    expect(summarize(diff)).toEqual({'/del.txt': 'D', '/mod.txt': 'M', '/new.txt': 'A'})
    for (const e of diff) expect(Object.keys(e).sort()).toEqual(['new_file', 'old_file'])
    const mod = diff.find((e: any) => e.new_file && e.old_file)
    expect(mod.new_file.hash).not.toBe(mod.old_file.hash)
    expect(mod.new_file.size_bytes).toBe(2)

    // explicit refs, both directions
    expect(summarize(await p.json(['diff', 'file', 'r@master', 'r@master^']))).toEqual({'/del.txt': 'D', '/mod.txt': 'M', '/new.txt': 'A'})
    expect(summarize(await p.json(['diff', 'file', 'r@master^', 'r@master']))).toEqual({'/del.txt': 'A', '/mod.txt': 'M', '/new.txt': 'D'})
  })
})

describe('put file --untar', () => {
  it('extracts .tar and .tar.gz under the target path; an entry with ".." is refused and nothing is written', async () => {
    const p = await tmpProject()
    const good = await tarOf([
      {name: 'dir/', type: 'directory'},
      {name: 'a.txt', content: 'alpha'},
      {name: 'dir/b.txt', content: 'beta'},
    ])
    const dir = local(p, {
      'x.tar': good,
      'x.tar.gz': gzipSync(good),
      'evil.tar': await tarOf([
        {name: 'ok.txt', content: 'fine'},
        {name: '../evil.txt', content: 'escape'},
      ]),
    })
    await p.ok(['create', 'repo', 'r'])
    await p.ok(['put', 'file', 'r@master:/data', '--untar', '-f', join(dir, 'x.tar')])
    await p.ok(['put', 'file', 'r@master:/gz', '--untar', '-f', join(dir, 'x.tar.gz')])
    expect(await allFiles(p, 'r@master')).toEqual(['/data/a.txt', '/data/dir/b.txt', '/gz/a.txt', '/gz/dir/b.txt'])
    expect(await p.ok(['get', 'file', 'r@master:/gz/dir/b.txt'])).toBe('beta')

    const before = await commitIds(p, 'r')
    expectUserError(await p.run(['put', 'file', 'r@master:/bad', '--untar', '-f', join(dir, 'evil.tar')]), 2, /\.\./)
    expect(await commitIds(p, 'r')).toEqual(before)
    expect(await allFiles(p, 'r@master')).toEqual(['/data/a.txt', '/data/dir/b.txt', '/gz/a.txt', '/gz/dir/b.txt'])
  })
})
