/**
 * Core integration: commit listings (CommitService.history / list / sets). A listing is one
 * statement read as it is consumed, with `-n` as a LIMIT; these tests pin that it lists what
 * the per-commit builder (`inspect`) says, in the order the old walk gave, and that a limit
 * returns exactly the newest N of the full list.
 */
import {join} from 'node:path'
import Database from 'better-sqlite3'
import {describe, expect, it} from 'vitest'
import {openPach, type Pach} from '../../src/core/pach.js'
import {parseCommit, parseRepo} from '../../src/core/pfs/refs.js'
import type {ListCommitOptions} from '../../src/core/pfs/commit-service.js'
import type {CommitInfo} from '../../src/core/types.js'
import {SCHEMA_VERSION} from '../../src/core/db/migrations.js'
import {tempPach, text} from '../helpers/project.js'

const project = (opts: {now?: () => string} = {}) => tempPach('pach-list-', opts)
const put = (pach: Pach, ref: string, path: string, s: string) => pach.files.put('default', parseCommit(ref), [{path, open: text(s)}])
const ids = (l: {commit: {id: string}}[]) => l.map((c) => c.commit.id)

/**
 * in@master feeds out@master (branch provenance: every in commit makes an AUTO out commit
 * with commit provenance); in@dev forks from in@master; in@master is then moved back two
 * commits, so two commits made on master have left its history (what --all adds).
 */
async function history(pach: Pach) {
  pach.repos.create('default', 'in')
  pach.repos.create('default', 'out')
  await put(pach, 'in@master', '/a', '0')
  pach.branches.create('default', parseRepo('out'), 'master', {provenance: ['in@master']})
  for (let i = 1; i <= 6; i++) await put(pach, 'in@master', `/f${i % 3}`, String(i))
  const master = pach.commits.list('default', parseCommit('in@master'))
  pach.branches.create('default', parseRepo('in'), 'dev', {head: `in@${master[2]!.commit.id}`})
  for (let i = 0; i < 3; i++) await put(pach, 'in@dev', `/d${i}`, String(i))
  pach.branches.create('default', parseRepo('in'), 'master', {head: `in@${master[2]!.commit.id}`})
  await put(pach, 'in@master', '/after', 'x')
  return {master}
}

/** The listing the old code made: walk parents from the resolved commit, then filter and cut; each commit through `inspect`. */
function reference(pach: Pach, ref: string, opts: ListCommitOptions = {}): CommitInfo[] {
  const r = parseCommit(ref)
  const all = pach.commits.list('default', {repo: r.repo}) // every commit of the repo, by seq (checked below against inspect)
  let list: CommitInfo[]
  if (r.branch || r.id) {
    list = []
    let c: CommitInfo | undefined = pach.commits.inspect('default', r)
    while (c) {
      list.push(c)
      if (opts.from && c.commit.id === opts.from) break
      c = c.parent_commit ? pach.commits.inspect('default', parseCommit(`${r.repo.name}@${c.parent_commit.id}`)) : undefined
    }
    if (opts.all && r.branch) {
      const seen = new Set(ids(list))
      for (const x of all) if (x.commit.branch?.name === r.branch && !seen.has(x.commit.id)) list.push(pach.commits.inspect('default', parseCommit(`${r.repo.name}@${x.commit.id}`)))
      const order = ids(all)
      list.sort((a, b) => order.indexOf(a.commit.id) - order.indexOf(b.commit.id))
    }
  } else list = all
  if (opts.origin) list = list.filter((c) => c.origin.kind === opts.origin)
  if (opts.number && opts.number > 0) list = list.slice(0, opts.number)
  return list
}

describe('list commit (CommitService.history)', () => {
  it('lists what inspect says about each commit, in the old walk order, for every form of address and option', async () => {
    const {pach} = project()
    const {master} = await history(pach)
    // every commit of a repo, newest first, equal to inspect of each
    for (const repo of ['in', 'out']) {
      const all = pach.commits.list('default', parseCommit(repo))
      expect(all.length).toBeGreaterThan(5)
      expect(all).toEqual(all.map((c) => pach.commits.inspect('default', parseCommit(`${repo}@${c.commit.id}`))))
    }
    const cases: [string, ListCommitOptions][] = [
      ['in@master', {}],
      ['in@dev', {}],
      ['out@master', {}],
      ['in@master', {all: true}],
      ['in@dev^1', {}],
      [`in@${master[4]!.commit.id}`, {}],
      ['in@master', {from: master[3]!.commit.id}],
      ['in@master', {from: master[3]!.commit.id, all: true}],
      ['out@master', {origin: 'AUTO'}],
      ['out@master', {origin: 'USER'}],
      ['in', {origin: 'USER'}],
    ]
    for (const [ref, opts] of cases) expect(pach.commits.list('default', parseCommit(ref), opts), `${ref} ${JSON.stringify(opts)}`).toEqual(reference(pach, ref, opts))
    // the links are there: out's AUTO commits name an in@master commit, which names them back
    const out = pach.commits.list('default', parseCommit('out@master'), {origin: 'AUTO'})
    expect(out.length).toBeGreaterThan(5)
    for (const c of out) {
      expect(c.direct_provenance).toHaveLength(1)
      const p = c.direct_provenance[0]!
      expect([p.repo.name, p.branch?.name]).toEqual(['in', 'master'])
      const up = pach.commits.inspect('default', parseCommit(`in@${p.id}`))
      expect(up.direct_subvenance.map((s) => `${s.repo.name}@${s.id}`)).toContain(`out@${c.commit.id}`)
    }
    // --all adds the two commits master left behind
    expect(pach.commits.list('default', parseCommit('in@master'), {all: true}).length).toBe(pach.commits.list('default', parseCommit('in@master')).length + 2)
  })

  it('-n returns the newest N of the full list, in the same order, for every N and option', async () => {
    const {pach} = project()
    const {master} = await history(pach)
    const cases: [string, ListCommitOptions][] = [
      ['in@master', {}],
      ['in', {}],
      ['in@master', {all: true}],
      ['in@master', {from: master[3]!.commit.id}],
      ['out@master', {origin: 'AUTO'}],
    ]
    for (const [ref, opts] of cases) {
      const full = pach.commits.list('default', parseCommit(ref), opts)
      for (let n = 1; n <= full.length + 1; n++) {
        expect(pach.commits.list('default', parseCommit(ref), {...opts, number: n}), `${ref} -n ${n}`).toEqual(full.slice(0, n))
      }
      expect(pach.commits.list('default', parseCommit(ref), {...opts, number: 0})).toEqual(full)
    }
  })

  it('a listing is lazy, re-iterable, its summaries match, and stopping early frees the connection for writes', async () => {
    const {pach} = project()
    await history(pach)
    const listing = pach.commits.history('default', parseCommit('in@master'))
    const full = [...listing]
    expect([...listing]).toEqual(full) // a second pass reads afresh, the same
    // summaries: the same commits without their links
    expect([...listing.summaries()]).toEqual(
      full.map(({parent_commit: _p, child_commits: _c, direct_provenance: _dp, direct_subvenance: _ds, ...rest}) => rest),
    )
    expect(listing.snapshot(() => [ids([...listing.summaries()]), ids([...listing])])).toEqual([ids(full), ids(full)])
    // take two and stop: the statement is released, so a write goes through
    const it = listing[Symbol.iterator]()
    expect(ids([it.next().value!, it.next().value!])).toEqual(ids(full.slice(0, 2)))
    it.return?.()
    await put(pach, 'in@master', '/later', 'y')
    // the address was resolved when the listing was made: it lists from that head; a new listing sees the new one
    expect(ids([...listing])).toEqual(ids(full))
    expect([...listing][0]!.child_commits).toHaveLength(1) // rows and links are read afresh
    expect(ids([...pach.commits.history('default', parseCommit('in@master'))]).slice(1)).toEqual(ids(full))
    // address errors come from history() itself, before anything is read
    expect(() => pach.commits.history('default', parseCommit('in@nope'))).toThrow(/branch nope not found/)
    expect(() => pach.commits.history('default', parseCommit('nope@master'))).toThrow(/repo nope not found/)
  })

  it('commit sets: newest change first, ties in creation order; -n is the newest N', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z')
    const {pach} = project({now: () => new Date(clock).toISOString()})
    pach.repos.create('default', 'a')
    pach.repos.create('default', 'b')
    const made: string[] = []
    // four changes at one instant (ties), then three at later instants
    for (let i = 0; i < 4; i++) {
      await put(pach, 'a@master', `/t${i}`, String(i))
      made.push(pach.commits.inspect('default', parseCommit('a@master')).commit.id)
    }
    for (let i = 0; i < 3; i++) {
      clock += 60_000
      await put(pach, i % 2 ? 'a@master' : 'b@master', `/u${i}`, String(i))
      made.push(pach.commits.inspect('default', parseCommit(i % 2 ? 'a@master' : 'b@master')).commit.id)
    }
    const sets = pach.commits.listSets()
    expect(sets.map((s) => s.commit_set.id)).toEqual([...made.slice(4).reverse(), ...made.slice(0, 4)])
    for (const s of sets) expect(s).toEqual(pach.commits.listSet(s.commit_set.id))
    for (let n = 1; n <= sets.length + 1; n++) expect(pach.commits.listSets(n)).toEqual(sets.slice(0, n))
    expect([...pach.commits.sets(2)]).toEqual(sets.slice(0, 2))
  })

  it('migration 7 upgrades a schema-6 project: the listing indexes exist and listings are unchanged', async () => {
    const {pach, dir} = project()
    await history(pach)
    const before = pach.commits.list('default', parseCommit('in'))
    pach.close()
    // put the database back in schema 6's shape (and undo migrations 8, 10 to 15: no job or remote here)
    const db = new Database(join(dir, '.pach', 'pach.db'))
    db.exec(`DROP INDEX commits_by_parent; DROP INDEX commit_sets_by_modified; DROP INDEX commits_by_global_seq;
      CREATE INDEX commits_by_parent ON commits(repo_id, parent);
      DROP TABLE datum_inputs; DROP TABLE s3_etags; DROP TABLE job_datums; DROP TABLE datum_nodes; DROP TABLE remote_content; DROP TABLE remote_branches; DROP TABLE remote_commits; DROP TABLE remotes;
      CREATE TABLE job_datums(project TEXT NOT NULL, pipeline TEXT NOT NULL, job_id TEXT NOT NULL, list BLOB NOT NULL, PRIMARY KEY(project, pipeline, job_id));
      PRAGMA user_version = 6`)
    db.close()
    const again = openPach({pachDir: join(dir, '.pach')})
    try {
      const cols = (name: string) => (again.ctx.db.prepare(`PRAGMA index_info(${name})`).all() as {name: string}[]).map((c) => c.name)
      expect(cols('commits_by_parent')).toEqual(['repo_id', 'parent', 'seq'])
      expect(cols('commit_sets_by_modified')).toEqual(['modified', 'created'])
      expect(again.ctx.db.pragma('user_version', {simple: true})).toBe(SCHEMA_VERSION)
      expect(again.commits.list('default', parseCommit('in'))).toEqual(before)
    } finally {
      again.close()
    }
  })
})
