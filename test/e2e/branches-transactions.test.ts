/**
 * E2E: branches (head moves, provenance and propagation, deletion) and transactions.
 */
import {describe, expect, it, vi} from 'vitest'
import {tmpProject} from '../helpers/cli.js'
import {commitIds, expectUserError, ID_RE, putText} from './_util.js'

// each test makes ~10-20 CLI calls; give a loaded machine room (no test depends on timing)
vi.setConfig({testTimeout: 240_000})

describe('branches', () => {
  it('create branch --head moves a head without creating a commit; list branch shows branches', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'a'])
    const c1 = await putText(p, 'a@master:/f.txt', 'v1')
    const c2 = await putText(p, 'a@master:/f.txt', 'v2')
    const c3 = await putText(p, 'a@master:/f.txt', 'v3')

    await p.ok(['create', 'branch', 'a@master', '--head', 'master^'])
    expect((await p.json(['inspect', 'commit', 'a@master'])).commit.id).toBe(c2)
    expect(await p.ok(['get', 'file', 'a@master:/f.txt'])).toBe('v2')
    expect(await commitIds(p, 'a')).toHaveLength(3)

    await p.ok(['create', 'branch', 'a@old', '--head', `a@${c1}`])
    await p.ok(['create', 'branch', 'a@latest', '--head', c3])
    const branches = await p.json(['list', 'branch', 'a'])
    const byName = Object.fromEntries(branches.map((b: any) => [b.branch.name, b.head.id]))
    expect(byName).toEqual({latest: c3, master: c2, old: c1})
    expect(branches[0].branch.repo).toEqual({name: 'a', type: 'user', project: {name: 'default'}})
    expect(await commitIds(p, 'a')).toHaveLength(3)
    const info = await p.json(['inspect', 'branch', 'a@old'])
    expect(info.head.id).toBe(c1)
    expect(info.provenance).toEqual([])

    // a new commit on master now builds on c2
    const c4 = await putText(p, 'a@master:/g.txt', 'g')
    expect((await p.json(['inspect', 'commit', `a@${c4}`])).parent_commit.id).toBe(c2)
    expectUserError(await p.run(['create', 'branch', 'a@bad name']), 2)
    expectUserError(await p.run(['create', 'branch', 'a@x', '--head', 'f'.repeat(32)]), 4)
  })

  it('provenance: a new upstream commit propagates an AUTO commit with the same id; output branches refuse USER commits', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'A'])
    await p.ok(['create', 'repo', 'B'])
    await putText(p, 'A@master:/x', '1')
    await p.ok(['create', 'branch', 'B@master', '--provenance', 'A@master'])
    const bBranch = await p.json(['inspect', 'branch', 'B@master'])
    expect(bBranch.direct_provenance.map((b: any) => `${b.repo.name}@${b.name}`)).toEqual(['A@master'])
    const aBranch = await p.json(['inspect', 'branch', 'A@master'])
    expect(aBranch.subvenance.map((b: any) => `${b.repo.name}@${b.name}`)).toEqual(['B@master'])

    const id = await putText(p, 'A@master:/y', '2')
    const set = await p.json(['list', 'commit', id])
    const byRepo = Object.fromEntries(set.map((c: any) => [c.commit.repo.name, c]))
    expect(Object.keys(byRepo).sort()).toEqual(['A', 'B'])
    expect(byRepo.A.commit.id).toBe(id)
    expect(byRepo.B.commit.id).toBe(id)
    expect(byRepo.A.origin.kind).toBe('USER')
    expect(byRepo.B.origin.kind).toBe('AUTO')
    const b = await p.json(['inspect', 'commit', 'B@master'])
    expect(b.commit.id).toBe(id)
    expect(b.direct_provenance.map((c: any) => `${c.repo.name}@${c.id}`)).toEqual([`A@${id}`])

    expectUserError(await p.run(['start', 'commit', 'B@master']), 5, /output branch/)
  })

  it('delete branch keeps its commits readable by id; deleting a repo that is provenance needs --force', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'A'])
    await p.ok(['create', 'repo', 'B'])
    const c = await putText(p, 'A@dev:/f.txt', 'on dev')
    await p.ok(['delete', 'branch', 'A@dev'])
    expectUserError(await p.run(['inspect', 'branch', 'A@dev']), 4)
    expect(await p.json(['list', 'branch', 'A'])).toEqual([])
    expect((await p.json(['inspect', 'commit', `A@${c}`])).commit.id).toBe(c)
    expect(await p.ok(['get', 'file', `A@${c}:/f.txt`])).toBe('on dev')
    expectUserError(await p.run(['delete', 'branch', 'A@dev']), 4)

    await putText(p, 'A@master:/m', 'm')
    await p.ok(['create', 'branch', 'B@master', '--provenance', 'A@master'])
    expectUserError(await p.run(['delete', 'repo', 'A']), 5, /B/)
    expect((await p.json(['inspect', 'repo', 'A'])).repo.name).toBe('A')
    await p.ok(['delete', 'repo', 'A', '--force'])
    expectUserError(await p.run(['inspect', 'repo', 'A']), 4)
    // B survives, with its provenance cut
    const b = await p.json(['inspect', 'branch', 'B@master'])
    expect(b.provenance).toEqual([])
  })
})

describe('transactions', () => {
  it('start commit in two repos inside a transaction: both get the transaction id when it finishes', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'A'])
    await p.ok(['create', 'repo', 'B'])
    const txn = await p.json(['start', 'transaction'])
    const tid = txn.transaction.id
    expect(tid).toMatch(ID_RE)

    expect((await p.ok(['start', 'commit', 'A@master'])).trim()).toBe(tid)
    expect((await p.ok(['start', 'commit', 'B@master'])).trim()).toBe(tid)
    // nothing applied yet
    expect(await commitIds(p, 'A')).toEqual([])

    const list = await p.json(['list', 'transaction'])
    expect(list).toHaveLength(1)
    expect(list[0].transaction.id).toBe(tid)
    expect(list[0].requests).toHaveLength(2)
    expect((await p.json(['inspect', 'transaction'])).requests).toHaveLength(2)

    expectUserError(await p.run(['start', 'transaction']), 5)

    await p.ok(['finish', 'transaction'])
    const set = await p.json(['list', 'commit', tid])
    expect(set.map((c: any) => c.commit.repo.name).sort()).toEqual(['A', 'B'])
    for (const c of set) expect(c.commit.id).toBe(tid)
    expect(await p.json(['list', 'transaction'])).toEqual([])

    // after the transaction, commands apply at once again
    await p.ok(['finish', 'commit', `A@${tid}`])
    expect((await p.json(['inspect', 'commit', 'A@master'])).finished).not.toBeNull()
  })

  it('delete transaction drops its queued requests; stop/resume set a transaction aside', async () => {
    const p = await tmpProject()
    await p.json(['start', 'transaction'])
    const q = await p.run(['create', 'repo', 'queued'])
    expect(q.exitCode).toBe(0)
    expectUserError(await p.run(['inspect', 'repo', 'queued']), 4)
    await p.ok(['delete', 'transaction'])
    expect(await p.json(['list', 'transaction'])).toEqual([])
    expectUserError(await p.run(['inspect', 'repo', 'queued']), 4)
    // no transaction is active any more: create applies at once
    await p.ok(['create', 'repo', 'now'])
    expect((await p.json(['inspect', 'repo', 'now'])).repo.name).toBe('now')

    // stop: the transaction stays listed but is inactive; resume makes it active again
    const t2 = (await p.json(['start', 'transaction'])).transaction.id
    await p.ok(['stop', 'transaction'])
    await p.ok(['create', 'repo', 'direct'])
    expect((await p.json(['inspect', 'repo', 'direct'])).repo.name).toBe('direct')
    await p.ok(['resume', 'transaction', t2])
    await p.ok(['create', 'repo', 'later'])
    expectUserError(await p.run(['inspect', 'repo', 'later']), 4)
    await p.ok(['finish', 'transaction'])
    expect((await p.json(['inspect', 'repo', 'later'])).repo.name).toBe('later')
    expectUserError(await p.run(['delete', 'transaction']), 4)
  })
})
