// The push planner (pure): what is sent, refused, resumed and moved, from hand-built inputs.
import {describe, expect, it} from 'vitest'
import {planPush, type LocalBranch, type LocalCommit, type LocalHistory, type PushMapping, type RemoteFacts} from '../../src/core/remote/push-plan.js'
import type {RemoteBranchState, RemoteRepoState} from '../../src/core/remote/target.js'

let seq = 0
const commit = (id: string, parent: string | null, o: Partial<LocalCommit> = {}): LocalCommit => ({id, parent, seq: ++seq, branch: 'master', description: '', error: '', size: 10, ...o})
const branch = (repoId: number, name: string, chain: LocalCommit[], o: Partial<LocalBranch> = {}): LocalBranch => ({repoId, name, computed: false, chain, openHead: false, explicit: true, ...o})
const repos = [
  {id: 1, project: 'default', name: 'images', description: 'pics', pipeline: undefined},
  {id: 2, project: 'default', name: 'labels', description: '', pipeline: undefined},
]
const remoteRepo = (branches: Record<string, Partial<RemoteBranchState> & {head: string}> = {}, o: Partial<RemoteRepoState> = {}): RemoteRepoState => ({
  exists: true,
  isOutput: false,
  branches: new Map(Object.entries(branches).map(([k, v]) => [k, {headSize: 10, headHasParent: true, hasProvenance: false, ...v}])),
  ...o,
})
const facts = (r: Record<number, RemoteRepoState> = {}, started: RemoteFacts['started'] = new Map()): RemoteFacts => ({repos: new Map(Object.entries(r).map(([k, v]) => [Number(k), v])), started})
const mapping = (rows: Record<number, Record<string, [string, 'started' | 'finished']>>): PushMapping =>
  new Map(Object.entries(rows).map(([k, v]) => [Number(k), new Map(Object.entries(v).map(([id, [remoteCommit, state]]) => [id, {remoteCommit, state}]))]))
const opts = {remoteProject: 'default'}

describe('planPush', () => {
  const a = commit('a', null)
  const s1 = commit('s', 'a', {description: 'both'})
  const l1 = {...commit('s', null, {description: 'both'}), seq: s1.seq}
  const c = commit('c', 's')
  const hist: LocalHistory = {repos, branches: [branch(1, 'master', [a, s1, c]), branch(2, 'master', [l1])]}

  it('sends every commit to an empty remote, parents first, one set per local commit set, and creates the repos', () => {
    const plan = planPush(hist, new Map(), facts(), opts)
    expect(plan.refusals).toEqual([])
    expect(plan.sets.map((s) => [s.localId, s.commits.map((x) => `${x.remote.name}:${x.parent}`)])).toEqual([
      ['a', ['images:null']],
      ['s', ['images:a', 'labels:null']],
      ['c', ['images:s']],
    ])
    expect(plan.repos.map((r) => [r.remote.name, r.description, r.exists])).toEqual([['images', 'pics', false], ['labels', '', false]])
    expect(plan.branches).toEqual([
      {repo: 'images', branch: 'master', commits: 3, status: 'push'},
      {repo: 'labels', branch: 'master', commits: 1, status: 'push'},
    ])
    expect(plan.moves).toEqual([])
  })

  it('sends nothing when everything is finished on the remote at the same heads', () => {
    const m = mapping({1: {a: ['A', 'finished'], s: ['S', 'finished'], c: ['C', 'finished']}, 2: {s: ['S', 'finished']}})
    const plan = planPush(hist, m, facts({1: remoteRepo({master: {head: 'C'}}), 2: remoteRepo({master: {head: 'S'}})}), opts)
    expect(plan.sets).toEqual([])
    expect(plan.moves).toEqual([])
    expect(plan.repos).toEqual([])
    expect(plan.branches.map((b) => b.status)).toEqual(['up-to-date', 'up-to-date'])
  })

  it('fast-forward: a remote head at a pushed ancestor is fine; an unknown one is refused unless forced', () => {
    const m = mapping({1: {a: ['A', 'finished']}})
    const ok = planPush({repos, branches: [branch(1, 'master', [a, s1])]}, m, facts({1: remoteRepo({master: {head: 'A'}})}), opts)
    expect(ok.refusals).toEqual([])
    expect(ok.sets.map((s) => s.localId)).toEqual(['s'])

    const theirs = facts({1: remoteRepo({master: {head: 'X'}})})
    const refused = planPush({repos, branches: [branch(1, 'master', [a, s1])]}, m, theirs, opts)
    expect(refused.refusals.map((r) => [r.code, r.repo, r.branch])).toEqual([['NON_FAST_FORWARD', 'images', 'master']])
    const forced = planPush({repos, branches: [branch(1, 'master', [a, s1])]}, m, theirs, {...opts, force: true})
    expect(forced.refusals).toEqual([])
    expect(forced.sets[0]!.commits[0]).toMatchObject({parent: 'a', clearInherited: false})
  })

  it('an unknown empty parentless head (a created branch) is built on; a forced root commit over foreign content empties it first', () => {
    const empty = planPush({repos, branches: [branch(1, 'master', [a])]}, new Map(), facts({1: remoteRepo({master: {head: 'E', headSize: 0, headHasParent: false}})}), opts)
    expect(empty.refusals).toEqual([])
    expect(empty.sets[0]!.commits[0]!.clearInherited).toBe(false)
    const forced = planPush({repos, branches: [branch(1, 'master', [a])]}, new Map(), facts({1: remoteRepo({master: {head: 'X'}})}), {...opts, force: true})
    expect(forced.sets[0]!.commits[0]!.clearInherited).toBe(true)
  })

  it('refuses remote outputs even with --force; local outputs are refused when named and skipped otherwise', () => {
    const out = planPush({repos, branches: [branch(1, 'master', [a])]}, new Map(), facts({1: remoteRepo({}, {isOutput: true})}), {...opts, force: true})
    expect(out.refusals.map((r) => r.code)).toEqual(['OUTPUT_BRANCH'])
    const prov = planPush({repos, branches: [branch(1, 'master', [a])]}, new Map(), facts({1: remoteRepo({master: {head: 'X', hasProvenance: true}})}), {...opts, force: true})
    expect(prov.refusals.map((r) => r.code)).toEqual(['OUTPUT_BRANCH'])

    const mine = [{...repos[0]!, pipeline: 'edges'}]
    const named = planPush({repos: mine, branches: [branch(1, 'master', [a])]}, new Map(), facts(), opts)
    expect(named.refusals.map((r) => r.code)).toEqual(['REPO_OWNED_BY_PIPELINE'])
    const all = planPush({repos: mine, branches: [branch(1, 'master', [a], {explicit: false})]}, new Map(), facts(), opts)
    expect(all.refusals).toEqual([])
    expect(all.branches[0]!.status).toBe('skipped')
    expect(all.sets).toEqual([])
  })

  it('--outputs sends local outputs and computed branches as plain data, but never onto a remote output', () => {
    const mine = [{...repos[0]!, pipeline: 'edges'}]
    const named = planPush({repos: mine, branches: [branch(1, 'master', [a], {computed: true})]}, new Map(), facts(), {...opts, outputs: true})
    expect(named.refusals).toEqual([])
    expect(named.sets.map((x) => x.commits.map((c) => c.local.id))).toEqual([['a']])
    const onto = planPush({repos: mine, branches: [branch(1, 'master', [a])]}, new Map(), facts({1: remoteRepo({}, {isOutput: true})}), {...opts, outputs: true})
    expect(onto.refusals.map((r) => r.code)).toEqual(['OUTPUT_BRANCH'])
  })

  it('resume: a started commit the remote finished at its head with the local size is adopted; an open one is dropped and sent again', () => {
    const m = mapping({1: {a: ['A', 'finished'], s: ['S', 'started']}})
    const done = facts({1: remoteRepo({master: {head: 'S'}})}, new Map([['1:s', {state: 'finished' as const, size: 10, error: '', branch: 'master'}]]))
    const adopted = planPush({repos, branches: [branch(1, 'master', [a, s1])]}, m, done, opts)
    expect(adopted.adopt).toEqual([{repoId: 1, local: 's', remote: 'S'}])
    expect(adopted.sets).toEqual([])
    expect(adopted.drops).toEqual([])

    const open = facts({1: remoteRepo({master: {head: 'S'}})}, new Map([['1:s', {state: 'open' as const, size: 4, error: '', branch: 'master'}]]))
    const redo = planPush({repos, branches: [branch(1, 'master', [a, s1])]}, m, open, opts)
    expect(redo.drops).toEqual(['S'])
    expect(redo.adopt).toEqual([])
    expect(redo.refusals).toEqual([])
    expect(redo.sets.map((s) => s.localId)).toEqual(['s'])

    const short = facts({1: remoteRepo({master: {head: 'S'}})}, new Map([['1:s', {state: 'finished' as const, size: 4, error: '', branch: 'master'}]]))
    expect(planPush({repos, branches: [branch(1, 'master', [a, s1])]}, m, short, opts).drops).toEqual(['S'])
    const gone = facts({1: remoteRepo({master: {head: 'A'}})}, new Map([['1:s', {state: 'missing' as const, size: 0, error: '', branch: ''}]]))
    const again = planPush({repos, branches: [branch(1, 'master', [a, s1])]}, m, gone, opts)
    expect(again.drops).toEqual([])
    expect(again.sets.map((s) => s.localId)).toEqual(['s'])
  })

  it('a remote repo that was deleted is sent again from its first commit', () => {
    const m = mapping({1: {a: ['A', 'finished'], s: ['S', 'finished']}})
    const plan = planPush({repos, branches: [branch(1, 'master', [a, s1])]}, m, facts({1: {exists: false, isOutput: false, branches: new Map()}}), opts)
    expect(plan.sets.map((s) => s.localId)).toEqual(['a', 's'])
    expect(plan.repos.map((r) => r.exists)).toEqual([false])
  })

  it('a commit reached from two branches is sent once, on its own branch; the other branch is moved to it', () => {
    const d = commit('d', 'a', {branch: 'dev'})
    const two: LocalHistory = {repos, branches: [branch(1, 'dev', [a, d]), branch(1, 'master', [a])]}
    const plan = planPush(two, new Map(), facts(), opts)
    expect(plan.sets.map((s) => s.commits.map((x) => `${x.local.id}@${x.branch}`))).toEqual([['a@master'], ['d@dev']])
    expect(plan.moves).toEqual([])

    const m = mapping({1: {a: ['A', 'finished']}})
    const moved = planPush({repos, branches: [branch(1, 'dev', [a])]}, m, facts({1: remoteRepo({master: {head: 'A'}})}), opts)
    expect(moved.sets).toEqual([])
    expect(moved.moves).toEqual([{repoId: 1, remote: {project: 'default', name: 'images'}, branch: 'dev', head: 'a'}])
    expect(moved.branches[0]!.status).toBe('move')
  })
})
