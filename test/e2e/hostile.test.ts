/**
 * E2E: hostile and bad input (issue 4). Every case is refused with one clear `pach:` line, the
 * mapped exit code and no stack, and leaves the repo exactly as it was (same commits, same
 * files); what is allowed (non-ASCII names, links inside a tree) round-trips.
 *
 * - spec files: the corpus in fixtures/hostile/specs (see its README) through
 *   `create pipeline -f`, plus a generated 5,000-deep input;
 * - paths: "..", control characters, escape sequences, 256-byte components, > 4,095-byte
 *   paths, glob characters, for put / get / list / inspect / delete / copy file;
 * - messages: refs, commands and paths carrying newlines or terminal escapes print as one
 *   escaped line;
 * - `put file --untar`: "..", absolute and pax-renamed entries, symbolic and hard links,
 *   devices, damaged archives, and decompression bombs (one entry declaring 1 TiB; one
 *   honest 256 MiB entry in a 300 KB gzip; many entries crossing the bound);
 * - `put file -r`: links inside the tree and leading out of it (the outside bytes are never
 *   stored), FIFOs, hostile file names;
 * - a `.pach` whose database another program holds (bounded wait, exit 11) or that a newer
 *   pach wrote (exit 2, not a byte changed).
 * NUL cannot travel in argv; it is covered through tar entries and spec files.
 */
import Database from 'better-sqlite3'
import {createHash} from 'node:crypto'
import {execFileSync} from 'node:child_process'
import {mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {pack, type Header} from 'tar-stream'
import {afterAll, describe, expect, it, vi} from 'vitest'
import {SCHEMA_VERSION} from '../../src/core/db/migrations.js'
import {tmpProject, type Project} from '../helpers/cli.js'
import {commitIds, expectJsonError, expectUserError, putText} from './_util.js'

// up to ~30 CLI calls per test; give a loaded machine room (no assertion depends on speed)
vi.setConfig({testTimeout: 240_000})

const SPECS = join(import.meta.dirname, '../../fixtures/hostile/specs')
const MiB = 1024 * 1024

/** Bad inputs tried through the CLI (printed when the file is done). */
let tried = 0

async function refused(p: Project, args: string[], exitCode: number, re?: RegExp, opts?: {env?: Record<string, string>; input?: string | Buffer}): Promise<string> {
  tried++
  return expectUserError(await p.run(args, opts), exitCode, re)
}

/** What a repo holds: its commits and every file path with its content hash. */
async function state(p: Project, repo: string): Promise<{commits: string[]; files: string[]}> {
  const commits = await commitIds(p, repo)
  const files = commits.length === 0 ? [] : ((await p.json(['glob', 'file', `${repo}@master:/**`])) as any[]).map((f) => `${f.file.path} ${f.hash}`)
  return {commits, files}
}

async function tarOf(entries: (Partial<Header> & {name: string; content?: string | Buffer})[]): Promise<Buffer> {
  const p = pack()
  for (const {content, ...h} of entries) {
    if (h.type === undefined || h.type === 'file') p.entry(h, content ?? '')
    else p.entry(h)
  }
  p.finalize()
  const chunks: Buffer[] = []
  for await (const c of p) chunks.push(Buffer.from(c as Uint8Array))
  return Buffer.concat(chunks)
}

/** A ustar header for a regular file `name` declaring `size` bytes (base-256 beyond 8 GiB), without its body. */
async function tarHeader(name: string, size: bigint): Promise<Buffer> {
  const h = Buffer.from((await tarOf([{name}])).subarray(0, 512))
  const field = Buffer.alloc(12)
  if (size < 8n ** 11n) field.write(size.toString(8).padStart(11, '0'))
  else {
    field[0] = 0x80
    for (let i = 11, v = size; i > 0; i--, v >>= 8n) field[i] = Number(v & 0xffn)
  }
  field.copy(h, 124)
  h.fill(' ', 148, 156)
  const sum = h.reduce((a, b) => a + b, 0)
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1')
  return h
}

/** Snapshot of every file under .pach: path, size, mtime, sha256. */
function pachFiles(p: Project): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name)
      const st = statSync(full)
      if (st.isDirectory()) walk(full)
      else out.push(`${full.slice(p.dir.length)} ${st.size} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`)
    }
  }
  walk(join(p.dir, '.pach'))
  return out
}

// ---------------------------------------------------------------------------------------------

describe('hostile spec files (fixtures/hostile/specs) through create pipeline -f', () => {
  // file -> what the one line must say (the field, or why the file is not a spec)
  const CASES: Record<string, RegExp> = {
    'array-of-scalars.json': /element 1 of document 1 is not a pipeline spec/,
    'billion-laughs.yaml': /invalid YAML: Excessive alias count/,
    'binary-garbage.json': /document 1 is not a pipeline spec .*\\u0000/,
    'cmd-is-a-string.json': /transform\.cmd must be a list of strings/,
    'empty.json': /no pipeline spec found/,
    'env-value-object.json': /transform\.env\.A must be a string/,
    'glob-unclosed.json': /input\.pfs\.glob .* is invalid/,
    'input-name-nul.json': /input\.pfs\.name "a\\u0000b" is not a valid input name/,
    'invalid-json-multiline.json': /invalid JSON: Unexpected token '\}' \(in the value starting at line 1, column 1\)/,
    'key-with-control-chars.json': /unknown field transform\."bad\\nkey\\u001b\[31m"/,
    'name-path-traversal.json': /pipeline\.name "\.\.\/evil" is invalid/,
    'null.json': /no pipeline spec found/,
    'number-overflow.json': /datum_tries must be an integer, got number Infinity/,
    'proto-key.json': /unknown field __proto__/,
    'repo-path-traversal.json': /input\.pfs\.repo "\.\.\/\.\.\/etc" is not a valid repo name/,
    'stream-second-bad.json': /pipeline "bad one": transform is required/,
    'utf16-bom.json': /document 1 is not a pipeline spec/,
    'yaml-binary-tag.yaml': /pipeline\.name must be a string/,
    'yaml-duplicate-key.yaml': /invalid YAML: Map keys must be unique/,
  }

  it('every file in the corpus is listed here; each is refused (exit 2) naming the file and the field; nothing is created', async () => {
    expect(readdirSync(SPECS).filter((f) => f !== 'README.md').sort()).toEqual(Object.keys(CASES).sort())
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'a'])
    for (const [file, re] of Object.entries(CASES)) {
      // a spec file reports every problem it has, one line each (the first is the case's)
      tried++
      const r = await p.run(['create', 'pipeline', '-f', join(SPECS, file)])
      const ctx = `${file}\nexit ${r.exitCode}\nstderr: ${r.stderr}`
      expect(r.exitCode, ctx).toBe(2)
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '')
      expect(lines[0], ctx).toMatch(re)
      for (const line of lines) {
        expect(line, ctx).toMatch(/^pach: /)
        expect(line, ctx).toContain(`${join(SPECS, file)}: `)
      }
      expect(r.stderr + r.stdout, ctx).not.toContain('    at ')
    }
    // 5,000 nested crosses: refused at 32 levels, not a stack overflow
    const deep = `{"pipeline":{"name":"p"},"transform":{"cmd":["sh"]},"input":${'{"cross":['.repeat(5000)}{"pfs":{"repo":"a","glob":"/*"}}${']}'.repeat(5000)}}`
    writeFileSync(join(p.dir, 'deep.json'), deep)
    await refused(p, ['create', 'pipeline', '-f', join(p.dir, 'deep.json')], 2, /input(\.cross\[0\])+\.cross: inputs are nested more than 32 levels deep/)
    expectJsonError(await p.run(['create', 'pipeline', '-f', join(SPECS, 'key-with-control-chars.json'), '--json']), 2, 'INVALID_SPEC')
    expect(await p.json(['list', 'pipeline'])).toEqual([])
    expect((await p.json(['list', 'repo'])).map((r: any) => r.repo.name)).toEqual(['a'])
  })
})

describe('hostile paths', () => {
  const long = 'a'.repeat(4096)
  // a 4,095-byte path of 255-byte components: the longest a Linux filesystem (and pach) takes
  const longest = ('/' + 'b'.repeat(254)).repeat(16) + '/' + 'c'.repeat(14)

  it('put / delete / copy file refuse "..", control characters, escapes, over-long names and glob characters (exit 2); nothing is written', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/a.txt', 'alpha')
    const before = await state(p, 'r')
    const bad: [string, RegExp][] = [
      ['/../x', /contains a "\.\." component/],
      ['../x', /contains a "\.\." component/],
      ['/d/../../x', /contains a "\.\." component/],
      ['/d/./x', /contains a "\." component/],
      ['/a\tb', /"\/a\\tb" contains a control character/],
      ['/a\nb', /"\/a\\nb" contains a control character/],
      ['/a\x1b]0;pwned\x07b', /contains a control character/],
      ['/a\u0085b', /contains a control character/],
      ['/a\x7fb', /contains a control character/],
      [`/${long}`, /has a component longer than 255 bytes/],
      [`/${'é'.repeat(128)}`, /has a component longer than 255 bytes/],
      [`${longest}x`, /is longer than 4095 bytes/],
      // every glob character is covered by test/unit/paths.test.ts; three reach the CLI here
      ...[...'*[{'].map((c): [string, RegExp] => [`/a${c}b`, /contains a glob character/]),
    ]
    for (const [path, re] of bad) {
      await refused(p, ['put', 'file', `r@master:${path}`, '-f', '-'], 2, re)
    }
    // delete and copy share the validation: one case of each kind
    for (const [path, re] of [bad[2]!, bad[6]!, bad[9]!, bad[11]!, bad[12]!]) {
      await refused(p, ['delete', 'file', `r@master:${path}`], 2, re)
      await refused(p, ['copy', 'file', 'r@master:/a.txt', `r@master:${path}`], 2, re)
    }
    await refused(p, ['copy', 'file', 'r@master:/../a.txt', 'r@master:/b.txt'], 2, /"\.\." component/)
    expect(await state(p, 'r')).toEqual(before)
  })

  it('reads of impossible paths are "not found" (4) in one escaped line, never an escape outside the repo', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/a.txt', 'alpha')
    for (const verb of ['get', 'list', 'inspect']) {
      await refused(p, [verb, 'file', 'r@master:/../a.txt'], 4, /file \/\.\.\/a\.txt not found/)
      await refused(p, [verb, 'file', 'r@master:/a\nb'], 4, /file \/a\\nb not found/)
      await refused(p, [verb, 'file', 'r@master:/a\x1b[2Jb'], 4, /file \/a\\u001b\[2Jb not found/)
      await refused(p, [verb, 'file', `r@master:/${long}`], 4, /not found/)
      await refused(p, [verb, 'file', 'r@master:/a*'], 4, /not found/)
    }
    await refused(p, ['get', 'file', 'r@master:/../../../etc/passwd'], 4, /not found/)
  })

  it('non-ASCII names (NFC and NFD), 255-byte components and a 4,095-byte path round-trip through put, list, get, copy and delete', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    const names = ['/日本語/ファイル.txt', '/caf\u00e9.txt', '/cafe\u0301.txt', '/🐘 space & quote\'s.txt', '/Ω/ß/ı/א', `/${'é'.repeat(127)}`, longest]
    for (const [i, name] of names.entries()) await putText(p, `r@master:${name}`, `content ${i}`)
    const listed = ((await p.json(['glob', 'file', 'r@master:/**'])) as any[]).filter((f) => f.file_type === 'FILE').map((f) => f.file.path)
    expect(listed.sort()).toEqual([...names].sort())
    for (const [i, name] of names.entries()) expect(await p.ok(['get', 'file', `r@master:${name}`])).toBe(`content ${i}`)
    await p.ok(['copy', 'file', 'r@master:/日本語/ファイル.txt', 'r@master:/コピー.txt'])
    expect(await p.ok(['get', 'file', 'r@master:/コピー.txt'])).toBe('content 0')
    await p.ok(['delete', 'file', 'r@master:/cafe\u0301.txt'])
    expect(await p.ok(['get', 'file', 'r@master:/caf\u00e9.txt'])).toBe('content 1')
    await refused(p, ['get', 'file', 'r@master:/cafe\u0301.txt'], 4, /not found/)
  })

  it('refs, commands and file names with newlines or terminal escapes print as one escaped line', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/a.txt', 'alpha')
    await refused(p, ['list', 'commit', 'r@\x1b]0;pwned\x07'], 4, /commit \\u001b\]0;pwned\\u0007 not found/)
    await refused(p, ['put', 'file', 'r@mas\nter:/x', '-f', '-'], 4, /mas\\nter/)
    await refused(p, ['create', 'branch', 'r@b\nx'], 2, /b\\nx/)
    await refused(p, ['list\nrepo'], 2, /unknown command "list\\nrepo"/)
    await refused(p, ['create', 'pipeline', '-f', join(p.dir, 'no\nsuch.json')], 4, /no\\nsuch\.json/)
  })
})

describe('put file --untar with hostile archives', () => {
  it('"..", absolute and pax-renamed names, links, devices, FIFOs and damaged archives are refused in one line; nothing is written', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/keep.txt', 'keep')
    const ok = {name: 'ok.txt', content: 'fine'}
    const good = await tarOf([ok, {name: 'dir/b.txt', content: 'beta'}])
    const archives: [string, Buffer, RegExp][] = [
      ['dotdot.tar', await tarOf([ok, {name: 'a/../../evil', content: 'x'}]), /tar entry "a\/\.\.\/\.\.\/evil" escapes the target directory/],
      ['dotdot-dir.tar', await tarOf([ok, {name: '../', type: 'directory'}]), /tar entry "\.\.\/" escapes the target directory/],
      ['absolute.tar', await tarOf([ok, {name: '/etc/cron.d/evil', content: 'x'}]), /tar entry "\/etc\/cron\.d\/evil" has an absolute name/],
      ['pax-dotdot.tar', await tarOf([ok, {name: 'innocent', pax: {path: '../../pax-evil'}, content: 'x'}]), /tar entry "\.\.\/\.\.\/pax-evil" escapes/],
      ['pax-nul.tar', await tarOf([ok, {name: 'innocent', pax: {path: 'bad\u0000name'}, content: 'x'}]), /"\/t\/bad\\u0000name" contains a control character/],
      ['long-dotdot.tar', await tarOf([{name: 'a/'.repeat(60) + '../'.repeat(70) + 'evil', content: 'x'}]), /escapes the target directory/],
      ['symlink.tar', await tarOf([ok, {name: 'link', type: 'symlink', linkname: '/etc/passwd'}, {name: 'link/through', content: 'x'}]), /tar entry "link" is a symbolic link to "\/etc\/passwd"/],
      ['hardlink.tar', await tarOf([ok, {name: 'hl', type: 'link', linkname: '/etc/shadow'}]), /tar entry "hl" is a hard link to "\/etc\/shadow"/],
      ['device.tar', await tarOf([ok, {name: 'null', type: 'character-device', devmajor: 1, devminor: 3}]), /tar entry "null" is a character device/],
      ['fifo.tar', await tarOf([ok, {name: 'pipe', type: 'fifo'}]), /tar entry "pipe" is a FIFO/],
      ['control.tar', await tarOf([{name: 'bad\nname\x1b[31m', content: 'x'}]), /"\/t\/bad\\nname\\u001b\[31m" contains a control character/],
      ['glob.tar', await tarOf([{name: 'a*b', content: 'x'}]), /contains a glob character/],
      ['garbage.tar', Buffer.from('not a tar archive at all, '.repeat(40)), /garbage\.tar is not a readable tar archive: Invalid tar header/],
      ['garbage.tar.gz', gzipSync(Buffer.from('not a tar archive at all, '.repeat(40))), /garbage\.tar\.gz is not a readable tar archive/],
      ['truncated.tar', good.subarray(0, 700), /truncated\.tar is not a readable tar archive: Unexpected end of data/],
      ['truncated.tar.gz', gzipSync(good).subarray(0, 60), /truncated\.tar\.gz is not a readable tar archive: unexpected end of file/],
    ]
    mkdirSync(join(p.dir, 'tars'))
    const before = await state(p, 'r')
    for (const [name, bytes, re] of archives) {
      writeFileSync(join(p.dir, 'tars', name), bytes)
      await refused(p, ['put', 'file', 'r@master:/t', '--untar', '-f', join(p.dir, 'tars', name)], 2, re)
    }
    // the same from stdin
    await refused(p, ['put', 'file', 'r@master:/t', '--untar', '-f', '-'], 2, /stdin is not a readable tar archive/, {input: 'not a tar '.repeat(100)})
    expect(await state(p, 'r')).toEqual(before)

    // an open commit is not touched either
    const open = (await p.ok(['start', 'commit', 'r@master'])).trim()
    await putText(p, `r@${open}:/in-open.txt`, 'open')
    await refused(p, ['put', 'file', `r@${open}:/t`, '--untar', '-f', join(p.dir, 'tars', 'symlink.tar')], 2, /symbolic link/)
    await p.ok(['finish', 'commit', `r@${open}`])
    const files = (await state(p, 'r')).files.map((f) => f.split(' ')[0])
    expect(files).toEqual(['/in-open.txt', '/keep.txt'])
  })

  it('decompression bombs are refused at the bound, nothing written: 1 TiB declared; an honest 256 MiB entry; many entries', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/keep.txt', 'keep')
    const before = await state(p, 'r')
    const zeros = gzipSync(Buffer.alloc(MiB)) // ~1 KB per MiB: gzip members concatenate
    const end = gzipSync(Buffer.alloc(1024))

    // one entry declaring 1 TiB (base-256 size field): over the default 64 GiB bound at its header
    const tib = Buffer.concat([gzipSync(await tarHeader('huge.bin', 1n << 40n)), zeros, zeros])
    writeFileSync(join(p.dir, 'tib.tar.gz'), tib)
    await refused(p, ['put', 'file', 'r@master:/b', '--untar', '-f', join(p.dir, 'tib.tar.gz')], 2, /archive expands to more than 68719476736 bytes; refusing \(possible decompression bomb\)/)

    // an honest archive: 256 MiB of zeros behind a truthful header, ~300 KB compressed
    const honest = Buffer.concat([gzipSync(await tarHeader('zeros.bin', 256n * BigInt(MiB))), ...Array<Buffer>(256).fill(zeros), end])
    expect(honest.length).toBeLessThan(MiB)
    writeFileSync(join(p.dir, 'honest.tar.gz'), honest)
    const limit = {env: {PACH_UNTAR_MAX_BYTES: String(4 * MiB)}}
    await refused(p, ['put', 'file', 'r@master:/b', '--untar', '-f', join(p.dir, 'honest.tar.gz')], 2, /more than 4194304 bytes/, limit)

    // 64 entries of 256 KiB: the first ones are read and chunked, the one crossing 4 MiB stops it
    const many = gzipSync(await tarOf(Array.from({length: 64}, (_, i) => ({name: `f${i}`, content: Buffer.alloc(256 * 1024, i)}))))
    writeFileSync(join(p.dir, 'many.tar.gz'), many)
    await refused(p, ['put', 'file', 'r@master:/b', '--untar', '-f', join(p.dir, 'many.tar.gz')], 2, /more than 4194304 bytes/, limit)
    expect(await state(p, 'r')).toEqual(before)

    // under the bound the same archive goes in whole
    await p.ok(['put', 'file', 'r@master:/b', '--untar', '-f', join(p.dir, 'many.tar.gz')], {env: {PACH_UNTAR_MAX_BYTES: String(32 * MiB)}})
    expect((await state(p, 'r')).files.filter((f) => /^\/b\/f\d+ /.test(f))).toHaveLength(64)
    await refused(p, ['put', 'file', 'r@master:/b', '--untar', '-f', join(p.dir, 'many.tar.gz')], 2, /PACH_UNTAR_MAX_BYTES="4 MiB" is not a non-negative integer/, {env: {PACH_UNTAR_MAX_BYTES: '4 MiB'}})
  })
})

describe('put file -r with links and special files', () => {
  it('links inside the tree are stored as content; links out of it, to directories, broken links and FIFOs are skipped with a warning; outside bytes never enter the repo', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    const secret = 'SECRET-OUTSIDE-THE-TREE-7f3a'
    const outside = join(p.dir, 'outside')
    const tree = join(p.dir, 'tree')
    mkdirSync(outside)
    mkdirSync(join(tree, 'sub'), {recursive: true})
    writeFileSync(join(outside, 'secret.txt'), secret)
    writeFileSync(join(tree, 'a.txt'), 'inside')
    symlinkSync('a.txt', join(tree, 'sub', 'alias.txt')) // broken relative to sub/: skipped
    symlinkSync('../a.txt', join(tree, 'sub', 'up.txt')) // inside: stored as a.txt's content
    symlinkSync('../outside/secret.txt', join(tree, 'leak-file'))
    symlinkSync(outside, join(tree, 'leak-dir'))
    symlinkSync(join(outside, 'secret.txt'), join(tree, 'abs-leak'))
    symlinkSync('/etc/passwd', join(tree, 'passwd'))
    symlinkSync('.', join(tree, 'loop'))
    execFileSync('mkfifo', [join(tree, 'fifo')])
    const r = await p.run(['put', 'file', 'r@master:/t/', '-r', '-f', tree])
    tried++
    expect(r.exitCode, r.stderr).toBe(0)
    const warnings = r.stderr.split('\n').filter(Boolean)
    expect(warnings.every((l) => l.startsWith('warning: ')), r.stderr).toBe(true)
    for (const re of [
      /skipping broken symlink .*sub\/alias\.txt/,
      /skipping symlink .*leak-file: it points outside the directory being put/,
      /skipping symlink .*leak-dir: it points to a directory/,
      /skipping symlink .*abs-leak: it points outside the directory being put/,
      /skipping symlink .*passwd: it points outside the directory being put \(\/etc\/passwd\)/,
      /skipping symlink .*loop: it points to a directory/,
      /skipping .*fifo: not a regular file/,
      /7 entries were skipped/,
    ]) {
      expect(warnings.some((l) => re.test(l)), `${re}\n${r.stderr}`).toBe(true)
    }
    const files = ((await p.json(['glob', 'file', 'r@master:/**'])) as any[]).filter((f) => f.file_type === 'FILE').map((f) => f.file.path)
    // one directory to :/t/ puts its files under /t (pachctl's putFileHelper)
    expect(files.sort()).toEqual(['/t/a.txt', '/t/sub/up.txt'])
    expect(await p.ok(['get', 'file', 'r@master:/t/sub/up.txt'])).toBe('inside')
    const out = join(p.dir, 'restored')
    await p.ok(['get', 'file', 'r@master:/', '-r', '-o', out])
    const all: string[] = []
    const walk = (d: string) => readdirSync(d, {withFileTypes: true}).forEach((e) => (e.isDirectory() ? walk(join(d, e.name)) : all.push(readFileSync(join(d, e.name), 'utf8'))))
    walk(out)
    expect(all.join('\n')).not.toContain(secret)
  })

  it('a tree holding a file name with a newline or a glob character is refused whole (exit 2), nothing written', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/keep.txt', 'keep')
    const before = await state(p, 'r')
    for (const [i, bad] of ['bad\nname', 'star*name', 'esc\x1b[0m'].entries()) {
      const tree = join(p.dir, `tree${i}`)
      mkdirSync(tree)
      writeFileSync(join(tree, 'a-fine.txt'), 'fine')
      writeFileSync(join(tree, bad), 'bad')
      await refused(p, ['put', 'file', 'r@master:/t/', '-r', '-f', tree], 2, /contains a (control|glob) character/)
    }
    expect(await state(p, 'r')).toEqual(before)
  })
})

describe('a .pach held by another program, or written by a newer pach', () => {
  it('a database held by another program: writers wait PACH_BUSY_TIMEOUT_MS then fail with exit 11; readers go on; nothing is written', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/a.txt', 'alpha')
    const before = await state(p, 'r')
    const env = {PACH_BUSY_TIMEOUT_MS: '300'}
    const opts = {env}
    const other = new Database(join(p.dir, '.pach', 'pach.db'))
    try {
      other.exec('BEGIN EXCLUSIVE')
      const writes = [
        ['put', 'file', 'r@master:/b.txt', '-f', join(p.dir, '.pach', 'config.json')],
        ['delete', 'file', 'r@master:/a.txt'],
        ['create', 'repo', 'other'],
        ['start', 'commit', 'r@master'],
        ['create', 'branch', 'r@dev'],
        ['gc'],
      ]
      for (const args of writes) {
        const t0 = Date.now()
        await refused(p, args, 11, /the pach database is locked by another process/, opts)
        // waited for the lock, but not the 60 s a gc wait allows
        expect(Date.now() - t0).toBeGreaterThanOrEqual(300)
        expect(Date.now() - t0).toBeLessThan(20_000)
      }
      expect(await p.ok(['get', 'file', 'r@master:/a.txt'])).toBe('alpha')
      expectJsonError(await p.run(['create', 'repo', 'x', '--json'], {env}), 11, 'LOCKED')
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK')
      other.close()
    }
    expect(await state(p, 'r')).toEqual(before)
    expect((await p.json(['list', 'repo'])).map((r: any) => r.repo.name)).toEqual(['r'])
    await refused(p, ['list', 'repo'], 2, /PACH_BUSY_TIMEOUT_MS="soon\\n" is not a non-negative integer/, {env: {PACH_BUSY_TIMEOUT_MS: 'soon\n'}})
  })

  it('a lock released within the wait: the command waits and succeeds', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    const other = new Database(join(p.dir, '.pach', 'pach.db'))
    other.exec('BEGIN EXCLUSIVE')
    const release = setTimeout(() => {
      other.exec('ROLLBACK')
      other.close()
    }, 1000)
    try {
      const r = await p.run(['put', 'file', 'r@master:/late.txt', '-f', '-'], {input: 'late', env: {PACH_BUSY_TIMEOUT_MS: '30000'}})
      expect(r.exitCode, r.stderr).toBe(0)
    } finally {
      clearTimeout(release)
      if (other.open) other.close()
    }
    expect(await p.ok(['get', 'file', 'r@master:/late.txt'])).toBe('late')
  })

  it('a database in exclusive locking mode blocks readers too: exit 11 after the wait', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    const other = new Database(join(p.dir, '.pach', 'pach.db'))
    try {
      other.pragma('locking_mode = EXCLUSIVE')
      other.exec('BEGIN EXCLUSIVE; COMMIT')
      await refused(p, ['list', 'repo'], 11, /locked/, {env: {PACH_BUSY_TIMEOUT_MS: '300'}})
    } finally {
      other.close()
    }
    expect((await p.json(['list', 'repo'])).map((r: any) => r.repo.name)).toEqual(['r'])
  })

  it('a newer schema (PRAGMA user_version), also in rollback-journal mode, or a newer config: exit 2, not a byte of .pach changes', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r'])
    await putText(p, 'r@master:/a.txt', 'alpha')
    const db = join(p.dir, '.pach', 'pach.db')
    const setDb = (pragmas: string[]) => {
      const d = new Database(db)
      for (const s of pragmas) d.pragma(s)
      d.close()
    }
    const commands = [['list', 'repo'], ['get', 'file', 'r@master:/a.txt'], ['put', 'file', 'r@master:/b.txt', '-f', db], ['create', 'repo', 'x'], ['gc'], ['fsck']]
    for (const pragmas of [['user_version = 99'], ['journal_mode = DELETE', 'user_version = 99']]) {
      setDb(pragmas)
      const snap = pachFiles(p)
      await new Promise((r) => setTimeout(r, 20)) // a rewrite would show in the mtimes
      for (const args of commands) await refused(p, args, 2, new RegExp(`this \\.pach was written by a newer pach \\(schema 99, this pach knows ${SCHEMA_VERSION}\\)`))
      expect(pachFiles(p)).toEqual(snap)
      setDb([`user_version = ${SCHEMA_VERSION}`])
    }
    const cfg = join(p.dir, '.pach', 'config.json')
    writeFileSync(cfg, JSON.stringify({...JSON.parse(readFileSync(cfg, 'utf8')), format: 2}))
    const snap = pachFiles(p)
    for (const args of commands) await refused(p, args, 2, /this \.pach has format 2, newer than this pach understands/)
    expect(pachFiles(p)).toEqual(snap)
  })
})

afterAll(() => {
  console.log(`hostile e2e: ${tried} bad inputs tried through the CLI`)
})
