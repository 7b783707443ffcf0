/**
 * E2E: hostile and bad input (issue 4). Every case is refused with one clear `pach:` line, the
 * mapped exit code and no stack, and leaves the repo exactly as it was (same commits, same
 * files); what is allowed (non-ASCII names, links inside a tree) round-trips.
 *
 * - paths: "..", control characters, escape sequences, 256-byte components, > 4,095-byte
 *   paths, glob characters, for put / get / list / inspect / delete / copy file;
 * - messages: refs, commands and paths carrying newlines or terminal escapes print as one
 *   escaped line.
 * NUL cannot travel in argv; test/unit/paths.test.ts covers it.
 */
import {join} from 'node:path'
import {describe, expect, it, vi} from 'vitest'
import {tmpProject, type Project} from '../helpers/cli.js'
import {commitIds, expectUserError, putText} from './_util.js'

// up to ~30 CLI calls per test; give a loaded machine room (no assertion depends on speed)
vi.setConfig({testTimeout: 240_000})

async function refused(p: Project, args: string[], exitCode: number, re?: RegExp, opts?: {env?: Record<string, string>; input?: string | Buffer}): Promise<string> {
  return expectUserError(await p.run(args, opts), exitCode, re)
}

/** What a repo holds: its commits and every file path with its content hash. */
async function state(p: Project, repo: string): Promise<{commits: string[]; files: string[]}> {
  const commits = await commitIds(p, repo)
  const files = commits.length === 0 ? [] : ((await p.json(['glob', 'file', `${repo}@master:/**`])) as any[]).map((f) => `${f.file.path} ${f.hash}`)
  return {commits, files}
}

// ---------------------------------------------------------------------------------------------

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
