/**
 * E2E: commits — start/finish, list/inspect, ancestry addressing, commit sets, squash, drop.
 */
import {describe, expect, it, vi} from 'vitest'
import {tmpProject, type Project} from '../helpers/cli.js'
import {commitIds, expectUserError, ID_RE, putText} from './_util.js'

// each test makes ~10-20 CLI calls; give a loaded machine room (no test depends on timing)
vi.setConfig({testTimeout: 240_000})

/** A repo `a` with three finished commits on master, each adding /c<i>.txt; returns their ids (oldest first). */
async function threeCommits(p: Project): Promise<[string, string, string]> {
  await p.ok(['create', 'repo', 'a'])
  const c1 = await putText(p, 'a@master:/c1.txt', 'one\n')
  const c2 = await putText(p, 'a@master:/c2.txt', 'two\n')
  const c3 = await putText(p, 'a@master:/c3.txt', 'three\n')
  return [c1, c2, c3]
}

const idOf = async (p: Project, ref: string): Promise<string> => (await p.json(['inspect', 'commit', ref])).commit.id

describe('start / finish commit', () => {
  it('start prints a 32-hex id; a second start on the branch is refused while the head is open; finish twice is refused', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'a'])
    const out = await p.ok(['start', 'commit', 'a@master'])
    expect(out).toMatch(/^[0-9a-f]{32}\n$/)
    const id = out.trim()

    expectUserError(await p.run(['start', 'commit', 'a@master']), 5, /not been finished|open/)
    const open = await p.json(['inspect', 'commit', 'a@master'])
    expect(open.commit.id).toBe(id)
    expect(open.finished).toBeNull()

    await p.ok(['finish', 'commit', 'a@master'])
    const done = await p.json(['inspect', 'commit', `a@${id}`])
    expect(done.finished).not.toBeNull()
    expectUserError(await p.run(['finish', 'commit', `a@${id}`]), 5, /finished/)

    // now a new commit can start, with the finished one as parent
    const next = (await p.ok(['start', 'commit', 'a@master'])).trim()
    expect(next).toMatch(ID_RE)
    expect(next).not.toBe(id)
    expect((await p.json(['inspect', 'commit', `a@${next}`])).parent_commit.id).toBe(id)
  })

  it('start commit -m sets the description; -p chooses the parent; finish -m replaces it; unknown repo exits 4', async () => {
    const p = await tmpProject()
    const [c1] = await threeCommits(p)
    const id = (await p.ok(['start', 'commit', 'a@dev', '-p', c1, '-m', 'branch off first'])).trim()
    const info = await p.json(['inspect', 'commit', 'a@dev'])
    expect(info.commit.id).toBe(id)
    expect(info.commit.branch.name).toBe('dev')
    expect(info.description).toBe('branch off first')
    expect(info.parent_commit.id).toBe(c1)
    // the new commit sees its parent's content, not master's head
    expect((await p.json(['list', 'file', 'a@dev'])).map((f: any) => f.file.path)).toEqual(['/c1.txt'])
    await p.ok(['finish', 'commit', 'a@dev', '-m', 'replaced'])
    expect((await p.json(['inspect', 'commit', `a@${id}`])).description).toBe('replaced')

    expectUserError(await p.run(['start', 'commit', 'nope@master']), 4)
  })
})

describe('list / inspect commit', () => {
  it('list commit repo@branch is newest first and -n limits; inspect has the pachctl shape; wait commit; commit sets', async () => {
    const p = await tmpProject()
    const [c1, c2, c3] = await threeCommits(p)
    const list = await p.json(['list', 'commit', 'a@master'])
    expect(list.map((c: any) => c.commit.id)).toEqual([c3, c2, c1])
    expect((await p.json(['list', 'commits', 'a@master', '-n', '2'])).map((c: any) => c.commit.id)).toEqual([c3, c2])

    const info = await p.json(['inspect', 'commit', 'a@master'])
    expect(info.commit).toMatchObject({id: c3, repo: {name: 'a', type: 'user', project: {name: 'default'}}, branch: {name: 'master'}})
    expect(info.origin).toEqual({kind: 'USER'})
    expect(info.parent_commit.id).toBe(c2)
    expect(info.child_commits).toEqual([])
    expect(Number.isNaN(Date.parse(info.started))).toBe(false)
    expect(Number.isNaN(Date.parse(info.finished))).toBe(false)
    expect(info.error).toBe('')
    expect(info.description).toBe('')
    expect(info.details.size_bytes).toBe('one\ntwo\nthree\n'.length)

    const mid = await p.json(['inspect', 'commit', `a@${c2}`])
    expect(mid.child_commits.map((c: any) => c.id)).toEqual([c3])
    const first = await p.json(['inspect', 'commit', `a@${c1}`])
    expect(first.parent_commit).toBeNull()

    // human list has the pachctl header
    const human = await p.ok(['list', 'commit', 'a@master'])
    expect(human.split('\n')[0]).toMatch(/REPO\s+.*COMMIT\s+.*FINISHED\s+.*SIZE\s+.*ORIGIN/)

    // wait commit returns at once for a finished commit
    const w = await p.json(['wait', 'commit', `a@${c1}`])
    expect(w.commit.id).toBe(c1)
    expect(w.finished).not.toBeNull()

    // commit sets: `list commit <id>` lists one set, `list commit` all of them, newest first
    const set = await p.json(['list', 'commit', c3])
    expect(set).toHaveLength(1)
    expect(set[0].commit).toMatchObject({id: c3, repo: {name: 'a'}})
    const sets = await p.json(['list', 'commit'])
    expect(sets.length).toBeGreaterThanOrEqual(3)
    const ids = sets.map((s: any) => s.commit_set.id)
    expect(ids).toEqual(expect.arrayContaining([c1, c2, c3]))
    expect(ids[0]).toBe(c3)
    for (const s of sets) for (const c of s.commits) expect(c.commit.id).toBe(s.commit_set.id)
    expectUserError(await p.run(['list', 'commit', 'f'.repeat(32)]), 4)
  })

  it('ancestry refs: ^, ~N, ^N, .N, branch=<id>; beyond history exits 4', async () => {
    const p = await tmpProject()
    const [c1, c2, c3] = await threeCommits(p)
    expect(await idOf(p, 'a@master^')).toBe(c2)
    expect(await idOf(p, 'a@master~2')).toBe(c1)
    expect(await idOf(p, 'a@master^2')).toBe(c1)
    expect(await idOf(p, 'a@master.1')).toBe(c1)
    expect(await idOf(p, `a@master=${c2}`)).toBe(c2)
    expectUserError(await p.run(['inspect', 'commit', 'a@master^3']), 4)
    expectUserError(await p.run(['inspect', 'commit', 'a@master.4']), 4)
    // file reads through ancestry
    expect(await p.ok(['get', 'file', 'a@master^:/c2.txt'])).toBe('two\n')
    expectUserError(await p.run(['get', 'file', 'a@master^:/c3.txt']), 4)
  })

  it('mixing "^" and "~" in one ref is an invalid address (exit 2)', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'a'])
    await putText(p, 'a@master:/x', '1')
    await putText(p, 'a@master:/y', '2')
    await putText(p, 'a@master:/z', '3')
    // (with three commits, "two ancestors" would exist: the refusal must come from the syntax)
    expectUserError(await p.run(['inspect', 'commit', 'a@master^~']), 2)
  })
})

describe('squash and drop', () => {
  it('squash keeps the data in the child and re-parents it; squashing a head without children is refused', async () => {
    const p = await tmpProject()
    const [c1, c2, c3] = await threeCommits(p)
    await p.ok(['squash', 'commit', c2])
    expectUserError(await p.run(['inspect', 'commit', `a@${c2}`]), 4)
    expect((await p.json(['inspect', 'commit', `a@${c3}`])).parent_commit.id).toBe(c1)
    expect(await commitIds(p, 'a')).toEqual([c3, c1])
    // the file added by the squashed commit survives in the child
    expect(await p.ok(['get', 'file', 'a@master:/c2.txt'])).toBe('two\n')

    const line = expectUserError(await p.run(['squash', 'commit', c3]), 5)
    expect(line).toContain('use the drop operation')
    expect(await idOf(p, 'a@master')).toBe(c3)
  })

  it('drop (delete commit) on the head moves the head to the parent; refused when the commit has children', async () => {
    const p = await tmpProject()
    const [c1, c2, c3] = await threeCommits(p)
    expectUserError(await p.run(['delete', 'commit', c1]), 5, /children/)
    await p.ok(['delete', 'commit', c3])
    expect(await idOf(p, 'a@master')).toBe(c2)
    expectUserError(await p.run(['inspect', 'commit', `a@${c3}`]), 4)
    expectUserError(await p.run(['get', 'file', 'a@master:/c3.txt']), 4)
    expect(await commitIds(p, 'a')).toEqual([c2, c1])
    expect((await p.json(['inspect', 'commit', `a@${c2}`])).child_commits).toEqual([])
  })

  it('dropping an open commit abandons it and its files', async () => {
    const p = await tmpProject()
    const [, , c3] = await threeCommits(p)
    const open = (await p.ok(['start', 'commit', 'a@master'])).trim()
    await putText(p, 'a@master:/wip.txt', 'work in progress')
    expect(await p.ok(['get', 'file', `a@${open}:/wip.txt`])).toBe('work in progress')
    await p.ok(['delete', 'commit', open])
    expect(await idOf(p, 'a@master')).toBe(c3)
    expectUserError(await p.run(['get', 'file', 'a@master:/wip.txt']), 4)
    // the branch accepts a new commit again
    const next = (await p.ok(['start', 'commit', 'a@master'])).trim()
    expect((await p.json(['inspect', 'commit', `a@${next}`])).parent_commit.id).toBe(c3)
  })
})
