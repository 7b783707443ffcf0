/**
 * E2E: the pfs verbs as pachctl has them — `diff file` (a unified diff of each changed file
 * through `diff -u` or --diff-command, --name-only, --shallow; --json keeps the changed
 * pairs), `find commit` (the commits that changed a path), `list file --history` /
 * `inspect file --history` (the versions of a path), `subscribe commit` (commits as they
 * finish, until SIGINT/SIGTERM: run as a child process that the test kills), and what
 * `wait commit` / `wait job` print.
 */
import {execa, type ResultPromise} from 'execa'
import {chmodSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it, vi} from 'vitest'
import {BIN, tmpProject, type Project} from '../helpers/cli.js'
import {expectJsonError, expectUserError, ID_RE, putText} from './_util.js'
import {pipeline, project, runnerIt, writeSpec, type Job} from './pipelines-util.js'

vi.setConfig({testTimeout: 240_000})

/** A repo `r` with four commits: c1 adds /dir/a.txt and /del.txt; c2 changes a.txt; c3 adds /dir/sub/n.txt; c4 deletes /del.txt. */
async function history(p: Project): Promise<{c1: string; c2: string; c3: string; c4: string}> {
  await p.ok(['create', 'repo', 'r'])
  await p.ok(['start', 'commit', 'r@master'])
  await putText(p, 'r@master:/dir/a.txt', 'a\nb\nc\n')
  const c1 = await putText(p, 'r@master:/del.txt', 'x\n')
  await p.ok(['finish', 'commit', 'r@master'])
  const c2 = await putText(p, 'r@master:/dir/a.txt', 'a\nB\nc\n')
  const c3 = await putText(p, 'r@master:/dir/sub/n.txt', 'new\n')
  const c4 = (await p.json(['delete', 'file', 'r@master:/del.txt'])).commit.id as string
  return {c1, c2, c3, c4}
}

describe('diff file', () => {
  it('a unified diff per changed file (diff -u, /dev/null for a missing side); --name-only; --shallow; --json unchanged', async () => {
    const p = await tmpProject()
    const {c1, c3, c4} = await history(p)
    const content = await p.ok(['diff', 'file', 'r@master', 'r@master^3'])
    expect(content).toBe(
      [
        `--- r@${c1}:/del.txt`,
        '+++ /dev/null',
        '@@ -1 +0,0 @@',
        '-x',
        `--- r@${c1}:/dir/a.txt`,
        `+++ r@${c4}:/dir/a.txt`,
        '@@ -1,3 +1,3 @@',
        ' a',
        '-b',
        '+B',
        ' c',
        '--- /dev/null',
        `+++ r@${c4}:/dir/sub/n.txt`,
        '@@ -0,0 +1 @@',
        '+new',
        '',
      ].join('\n'),
    )
    // default old side: the parent (c4 deleted /del.txt); each side is named by the commit it was read from
    expect(await p.ok(['diff', 'file', 'r@master'])).toBe(`--- r@${c3}:/del.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n`)
    // a path narrows the diff; identical trees print nothing
    expect(await p.ok(['diff', 'file', 'r@master:/dir/sub', 'r@master^3:/dir/sub'])).toContain('+++ r@')
    expect(await p.ok(['diff', 'file', 'r@master:/dir', 'r@master^:/dir'])).toBe('')

    expect(await p.ok(['diff', 'file', 'r@master', 'r@master^3', '--name-only'])).toBe(
      ['OP   SIZE   NAME', '-    2B     /del.txt', '+    6B     /dir/a.txt', '-    6B     /dir/a.txt', '+    4B     /dir/sub/n.txt', ''].join('\n'),
    )
    // --shallow: the changed directory is one entry (sizes: the whole directory)
    expect(await p.ok(['diff', 'file', 'r@master', 'r@master^3', '--shallow', '--name-only'])).toBe(
      ['OP   SIZE   NAME', '-    2B     /del.txt', '+    10B    /dir/', '-    6B     /dir/', ''].join('\n'),
    )
    expect(await p.ok(['diff', 'file', 'r@master', 'r@master^3', '-s'])).toBe(
      `--- r@${c1}:/del.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\nDirectories r@${c1}:/dir/ and r@${c4}:/dir/ differ\n`,
    )
    const shallow = await p.json(['diff', 'file', 'r@master', 'r@master^3', '--shallow'])
    expect(shallow.map((d: any) => [d.new_file?.file.path ?? null, d.new_file?.file_type ?? null, d.old_file?.file.path ?? null])).toEqual([
      [null, null, '/del.txt'],
      ['/dir/', 'DIR', '/dir/'],
    ])

    // --json: the changed pairs, as before
    const pairs = await p.json(['diff', 'file', 'r@master', 'r@master^3'])
    expect(pairs.map((d: any) => [d.new_file?.file.path ?? null, d.old_file?.file.path ?? null])).toEqual([
      [null, '/del.txt'],
      ['/dir/a.txt', '/dir/a.txt'],
      ['/dir/sub/n.txt', null],
    ])
    expect(pairs[1].new_file.file.commit.id).toBe(c4)
    expect(pairs[1].old_file.file.commit.id).toBe(c1)
  })

  it('--diff-command runs another program as `<program> <old> <new>`; a failing or missing one is one line, exit 1', async () => {
    const p = await tmpProject()
    await history(p)
    const tool = join(p.dir, 'show.sh')
    // prints where each side was put and both contents
    writeFileSync(tool, '#!/bin/sh\necho "old=${1##*/old} new=${2##*/new}"\ncat "$1" "$2"\nexit 1\n')
    chmodSync(tool, 0o755)
    expect(await p.ok(['diff', 'file', 'r@master^2', '--diff-command', `sh ${tool}`])).toBe('old=/dir/a.txt new=/dir/a.txt\na\nb\nc\na\nB\nc\n')
    expect(await p.ok(['diff', 'file', 'r@master', '--diff-command', `sh ${tool}`])).toBe('old=/del.txt new=/dev/null\nx\n')

    const failing = join(p.dir, 'fail.sh')
    writeFileSync(failing, '#!/bin/sh\nexit 2\n')
    expectUserError(await p.run(['diff', 'file', 'r@master', '--diff-command', `sh ${failing}`]), 1, /^pach: sh .*fail\.sh failed on \/del\.txt \(exit 2\)/)
    expectUserError(await p.run(['diff', 'file', 'r@master', '--diff-command', 'no-such-diff-program']), 1, /^pach: diff program "no-such-diff-program" was not found/)
    expectUserError(await p.run(['diff', 'file', 'r@master', '--diff-command', ' ']), 2, /--diff-command is empty/)
  })
})

describe('find commit', () => {
  it('lists the commits that changed a path, newest first, and where the search stopped', async () => {
    const p = await tmpProject()
    const {c1, c2, c3, c4} = await history(p)
    expect(await p.ok(['find', 'commit', 'r@master:/dir/a.txt'])).toBe(`FOUND IN COMMITS\n${c2}\n${c1}\n\nLAST SEARCHED COMMIT\n${c1}\n`)
    // a directory changes with anything under it; a deleted file is found by its delete
    expect(await p.ok(['find', 'commit', 'r@master:/dir'])).toBe(`FOUND IN COMMITS\n${c3}\n${c2}\n${c1}\n\nLAST SEARCHED COMMIT\n${c1}\n`)
    expect(await p.ok(['find', 'commit', 'r@master:del.txt'])).toBe(`FOUND IN COMMITS\n${c4}\n${c1}\n\nLAST SEARCHED COMMIT\n${c1}\n`)
    // --limit stops at the n-th found commit; a start commit further back
    expect(await p.ok(['find', 'commit', 'r@master:/dir', '--limit', '1'])).toBe(`FOUND IN COMMITS\n${c3}\n\nLAST SEARCHED COMMIT\n${c3}\n`)
    expect(await p.ok(['find', 'commit', `r@${c2}:/dir/sub`])).toBe(`FOUND IN COMMITS\nno commits found.\n\nLAST SEARCHED COMMIT\n${c1}\n`)
    const j = await p.json(['find', 'commit', 'r@master:/dir/a.txt', '--timeout', '30s'])
    expect(j.found_commits.map((c: any) => c.id)).toEqual([c2, c1])
    expect(j.found_commits[0]).toMatchObject({repo: {name: 'r', type: 'user', project: {name: 'default'}}, branch: {name: 'master'}})
    expect(j.last_searched_commit.id).toBe(c1)
    expect(j.commits_searched).toBe(4)

    // an open commit has no settled change
    await p.ok(['start', 'commit', 'r@master'])
    expectUserError(await p.run(['find', 'commit', 'r@master:/dir']), 5, /^pach: commit r@[0-9a-f]{32} is not finished; find commit searches finished commits/)
    expect((await p.json(['find', 'commit', 'r@master^:/dir'])).found_commits).toHaveLength(3)
    expectJsonError(await p.run(['find', 'commit', 'r@master^:/dir', '--timeout', 'soon', '--json']), 2, 'INVALID_DURATION')
    expectJsonError(await p.run(['find', 'commit', 'nope@master:/dir', '--json']), 4, 'REPO_NOT_FOUND')
  })
})

describe('list file --history, inspect file --history', () => {
  it('the versions of each path back through history, newest first, each with the commit that introduced it', async () => {
    const p = await tmpProject()
    const {c1, c2, c3} = await history(p)
    const rows = (out: string) => out.trimEnd().split('\n').map((l) => l.split(/\s{3,}/))
    const dirList = rows(await p.ok(['list', 'file', 'r@master:/dir', '--history', 'all']))
    expect(dirList[0]).toEqual(['COMMIT', 'NAME', 'TYPE', 'COMMITTED', 'SIZE'])
    expect(dirList.slice(1).map((r) => [r[0], r[1], r[2], r[4]])).toEqual([
      [c2, '/dir/a.txt', 'file', '6B'],
      [c1, '/dir/a.txt', 'file', '6B'],
      [c3, '/dir/sub/', 'dir', '4B'],
    ])
    expect(dirList[1]![3]).toMatch(/ ago$/)
    // -1 is all; N keeps the newest N per path
    expect(await p.json(['list', 'file', 'r@master:/dir', '--history', '-1'])).toEqual(await p.json(['list', 'file', 'r@master:/dir', '--history', 'all']))
    expect((await p.json(['list', 'file', 'r@master:/dir', '--history', '1'])).map((f: any) => f.file.commit.id)).toEqual([c2, c3])
    const one = await p.json(['list', 'file', 'r@master', '--history', '1'])
    expect(one.map((f: any) => [f.file.path, f.file.commit.id])).toEqual([['/dir/', c3]])

    // inspect file: the versions of the path itself (--json: an array of FileInfo)
    const versions = await p.json(['inspect', 'file', 'r@master:/dir/a.txt', '--history', '-1'])
    expect(versions.map((f: any) => [f.file.commit.id, f.size_bytes])).toEqual([
      [c2, 6],
      [c1, 6],
    ])
    expect(versions[0].hash).not.toBe(versions[1].hash)
    expect(Object.keys(versions[0]).sort()).toEqual(['committed', 'file', 'file_type', 'hash', 'size_bytes'])
    expect((await p.json(['inspect', 'file', 'r@master:/dir', '--history', '2'])).map((f: any) => f.file.commit.id)).toEqual([c3, c2])
    expect(rows(await p.ok(['inspect', 'file', 'r@master:/dir/a.txt', '--history', '1']))[1]![0]).toBe(c2)
    // without --history (or --history none): the plain output
    expect(await p.ok(['inspect', 'file', 'r@master:/dir/a.txt', '--history', 'none'])).toBe(await p.ok(['inspect', 'file', 'r@master:/dir/a.txt']))

    // a path deleted and written again: its history starts at the new write
    const again = await putText(p, 'r@master:/del.txt', 'again\n')
    expect((await p.json(['inspect', 'file', 'r@master:/del.txt', '--history', 'all'])).map((f: any) => f.file.commit.id)).toEqual([again])
    expect((await p.json(['inspect', 'file', 'r@master^2:/del.txt', '--history', 'all'])).map((f: any) => f.file.commit.id)).toEqual([c1])

    expectUserError(await p.run(['list', 'file', 'r@master', '--history', 'some']), 2, /--history takes a number of versions, -1 or "all"/)
    expectUserError(await p.run(['inspect', 'file', 'r@master:/dir/a.txt', '--history', '-2']), 2)
    expectJsonError(await p.run(['inspect', 'file', 'r@master:/none', '--history', '1', '--json']), 4, 'FILE_NOT_FOUND')
  })
})

/** `pach subscribe commit …` as a child process, its stdout gathered as it comes. */
function subscribe(p: Project, args: string[]): {child: ResultPromise; out: () => string; lines: (n: number) => Promise<string[]>} {
  const child = execa('node', [BIN, 'subscribe', 'commit', ...args], {cwd: p.dir, reject: false, env: {PACH_DETACH: ''}})
  let out = ''
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()))
  const lines = async (n: number) => {
    const deadline = Date.now() + 60_000
    while (out.split('\n').length - 1 < n) {
      if (Date.now() > deadline) throw new Error(`waited for ${n} lines of subscribe output, got:\n${out}`)
      if (child.exitCode !== null) throw new Error(`subscribe exited ${child.exitCode}:\n${out}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    return out.split('\n').slice(0, -1)
  }
  return {child, out: () => out, lines}
}

describe('subscribe commit', () => {
  it('prints the finished commits, then each commit as it finishes, until SIGINT (exit 0)', async () => {
    const p = await tmpProject()
    const {c1, c2, c3, c4} = await history(p)
    await putText(p, 'r@other:/o.txt', 'elsewhere\n')
    const sub = subscribe(p, ['r@master'])
    const first = await sub.lines(5)
    expect(first[0]!.split(/\s{3,}/)).toEqual(['PROJECT', 'REPO', 'BRANCH', 'COMMIT', 'FINISHED', 'SIZE', 'ORIGIN', 'DESCRIPTION'])
    expect(first.slice(1).map((l) => l.split(/\s{3,}/)[3])).toEqual([c1, c2, c3, c4])
    expect(first[1]!.split(/\s{3,}/).slice(0, 3)).toEqual(['default', 'r', 'master'])

    // an open commit is printed when it finishes, not when it starts
    const open = (await p.json(['start', 'commit', 'r@master'])).commit.id as string
    await putText(p, 'r@master:/late.txt', 'late\n')
    await new Promise((r) => setTimeout(r, 600))
    expect(sub.out().split('\n')).toHaveLength(6)
    await putText(p, 'r@other:/o2.txt', 'other branch\n') // not on master: not printed
    await p.ok(['finish', 'commit', 'r@master'])
    const c6 = await putText(p, 'r@master:/after.txt', 'after\n')
    const all = await sub.lines(7)
    expect(all.slice(5).map((l) => l.split(/\s{3,}/)[3])).toEqual([open, c6])
    expect(all.slice(1).every((l) => l.split(/\s{3,}/)[2] === 'master')).toBe(true)

    sub.child.kill('SIGINT')
    const done = await sub.child
    expect(done.exitCode).toBe(0)
    expect(String(done.stderr)).toBe('')
    expect(sub.out().split('\n')).toHaveLength(8) // nothing more, and every line complete
    expect(String(done.stdout)).toBe(sub.out().trimEnd())
  })

  it('--new, --from, --origin, --json (NDJSON), a repo without a branch; SIGTERM ends it; bad addresses are one line', async () => {
    const p = await tmpProject()
    const {c2, c3, c4} = await history(p)
    // a commit open when the subscriptions start: it finishes later, so even --new prints it
    const c5 = (await p.json(['start', 'commit', 'r@master'])).commit.id as string
    const fresh = subscribe(p, ['r@master', '--new', '--json'])
    const from = subscribe(p, ['r@master', '--from', c2, '--json'])
    const everything = subscribe(p, ['r', '--json', '--all'])
    const auto = subscribe(p, ['r', '--json', '--origin', 'AUTO'])
    const fromLines = await from.lines(2)
    expect(fromLines.map((l) => JSON.parse(l).commit.id)).toEqual([c3, c4])
    await everything.lines(4)
    await new Promise((r) => setTimeout(r, 600))
    expect(fresh.out()).toBe('') // nothing has finished since it started
    await putText(p, 'r@master:/x.txt', 'x\n')
    await p.ok(['finish', 'commit', 'r@master'])
    const c6 = await putText(p, 'r@side:/y.txt', 'y\n')
    const got = (await fresh.lines(1)).map((l) => JSON.parse(l))
    expect(got.map((c) => c.commit.id)).toEqual([c5])
    expect(got[0]).toMatchObject({commit: {repo: {name: 'r'}, branch: {name: 'master'}}, origin: {kind: 'USER'}})
    expect(got[0].finished).not.toBeNull()
    expect((await from.lines(3)).map((l) => JSON.parse(l).commit.id)).toEqual([c3, c4, c5])
    expect((await everything.lines(6)).slice(4).map((l) => JSON.parse(l).commit.id)).toEqual([c5, c6])
    expect(auto.out()).toBe('') // every commit here is a USER commit

    for (const s of [fresh, from, everything, auto]) s.child.kill('SIGTERM')
    for (const s of [fresh, from, everything, auto]) {
      const r = await s.child
      expect(r.exitCode, String(r.stderr)).toBe(0)
      expect(String(r.stderr)).toBe('')
    }
    expect(fresh.out().trimEnd().split('\n')).toHaveLength(1)

    expectUserError(await p.run(['subscribe', 'commit', 'r@nope']), 4, /^pach: branch nope not found in repo r/)
    expectUserError(await p.run(['subscribe', 'commit', `r@${c2}`]), 2, /subscribe commit takes <repo>\[@<branch>\]/)
    expectUserError(await p.run(['subscribe', 'commit', 'r@master', '--from', 'f'.repeat(32)]), 4, /^pach: commit f{32} not found in repo r/)
    expectUserError(await p.run(['subscribe', 'commit', 'r@master', '--from', c2, '--new']), 2)
    expectUserError(await p.run(['subscribe', 'commit', 'r@master', '--all', '--origin', 'USER']), 2)
    expectUserError(await p.run(['subscribe', 'commit', 'gone@master']), 4, /^pach: repo gone not found/)
  })
})

describe('wait commit, wait job', () => {
  const rit = runnerIt('local')

  rit('wait commit prints the commit as inspect commit does; wait job prints the job table', {timeout: 300_000}, async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'in'])
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'cp', pipeline('cp', 'cp "$in" /pfs/out/', {pfs: {repo: 'in', glob: '/*'}})), '--detach'])
    // output commits are AUTO commits, printed by subscribe when their job finishes them
    const outputs = subscribe(rp.p, ['cp@master', '--json', '--origin', 'AUTO'])
    const id = (await rp.json(['put', 'file', 'in@master:/a', '-f', '-', '--detach'], {input: 'a\n'})).commit.id as string
    expect(id).toMatch(ID_RE)

    // wait job runs the pending job and lists it as `list job` does
    const waited = await rp.ok(['wait', 'job', `cp@${id}`])
    const table = waited.trimEnd().split('\n')
    expect(table[0]!.split(/\s{3,}/)).toEqual(['PIPELINE', 'ID', 'STARTED', 'DURATION', 'RESTART', 'PROGRESS', 'DL', 'UL', 'STATE'])
    expect(table).toHaveLength(2)
    expect(table[1]!.split(/\s{3,}/).slice(0, 2)).toEqual(['cp', id])
    expect(table[1]).toMatch(/\s1\/1\s.*\ssuccess$/)
    const jobs = (await rp.json(['wait', 'job', id])) as Job[]
    expect(jobs.map((j) => [j.job.pipeline.name, j.state])).toEqual([['cp', 'JOB_SUCCESS']])
    expect((await rp.ok(['wait', 'job', id])).split('\n')[0]!.split(/\s{3,}/)).toEqual(table[0]!.split(/\s{3,}/))

    // wait commit: the finished commit's details, the text of inspect commit
    const details = await rp.ok(['wait', 'commit', `cp@${id}`, '--full-timestamps'])
    expect(details).toBe(await rp.ok(['inspect', 'commit', `cp@${id}`, '--full-timestamps']))
    expect(details).toMatch(new RegExp(`^Commit: cp@${id}\n`))
    expect(details).toMatch(/\nFinished: \d{4}-\d\d-\d\dT[\d:.]+Z\n/)
    expect(await rp.ok(['wait', 'commit', `cp@${id}`])).toMatch(/\nFinished: .* ago\n/)
    expect((await rp.json(['wait', 'commit', `in@${id}`])).commit.id).toBe(id)

    const printed = (await outputs.lines(2)).map((l) => JSON.parse(l))
    expect(printed.map((c) => [c.commit.repo.name, c.origin.kind])).toEqual([
      ['cp', 'AUTO'],
      ['cp', 'AUTO'],
    ])
    expect(printed[1].commit.id).toBe(id) // after the first job's (the pipeline's empty input)
    outputs.child.kill('SIGINT')
    expect((await outputs.child).exitCode).toBe(0)
  })
})
