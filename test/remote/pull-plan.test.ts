/**
 * The pure pull planner (src/core/remote/pull-plan.ts): up to date, fast-forward, diverged,
 * rewritten, and open commits at the head.
 */
import {describe, expect, it} from 'vitest'
import {planPull} from '../../src/core/remote/pull-plan.js'
import type {RemoteCommit} from '../../src/core/remote/source.js'

const c = (id: string, parent: string | null, isFinished = true): RemoteCommit => ({id, parent, description: id, origin: 'USER', isFinished})

describe('planPull', () => {
  it('pulls new commits oldest first when the local branch has nothing of its own', () => {
    expect(planPull({base: 'a', ahead: []}, [c('c', 'b'), c('b', 'a')], false)).toEqual({kind: 'pull', commits: [c('b', 'a'), c('c', 'b')]})
    expect(planPull({ahead: []}, [c('b', 'a'), c('a', null)], false)).toEqual({kind: 'pull', commits: [c('a', null), c('b', 'a')]})
  })

  it('is up to date when the remote has nothing new, whatever the local branch has', () => {
    expect(planPull({base: 'a', ahead: []}, [], false)).toEqual({kind: 'up-to-date', ahead: 0})
    expect(planPull({base: 'a', ahead: ['x', 'y']}, [], false)).toEqual({kind: 'up-to-date', ahead: 2})
  })

  it('refuses local commits above the shared one when the remote has new ones (diverged)', () => {
    expect(planPull({base: 'a', ahead: ['x']}, [c('c', 'b'), c('b', 'a')], false)).toEqual({kind: 'diverged', ahead: 1, behind: 2})
    expect(planPull({ahead: ['x']}, [c('a', null)], false)).toEqual({kind: 'diverged', ahead: 1, behind: 1})
  })

  it('sees a rewritten remote branch: the listing does not end on the shared commit', () => {
    expect(planPull({base: 'gone', ahead: []}, [c('c', 'b'), c('b', null)], false)).toEqual({kind: 'rewritten', base: 'gone'})
    // cut by --depth/--since: the oldest listed need not sit on the base
    expect(planPull({base: 'a', ahead: []}, [c('c', 'b')], true)).toEqual({kind: 'pull', commits: [c('c', 'b')]})
  })

  it('never pulls open commits: it stops below the open head, and above an open commit further down', () => {
    expect(planPull({base: 'a', ahead: []}, [c('c', 'b', false), c('b', 'a')], false)).toEqual({kind: 'pull', commits: [c('b', 'a')]})
    expect(planPull({base: 'a', ahead: []}, [c('b', 'a', false)], false)).toEqual({kind: 'up-to-date', ahead: 0})
    expect(planPull({ahead: []}, [c('c', 'b'), c('b', 'a', false), c('a', null)], false)).toEqual({kind: 'pull', commits: [c('c', 'b')]})
  })
})
