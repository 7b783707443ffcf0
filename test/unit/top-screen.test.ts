// pach top's ink screen (src/ui/top.ts) rendered with ink-testing-library over a fake
// controller: the rows, the selected pipeline's job line and logs, and the keys (j/k, arrows,
// q) — the same component the live command mounts.
import {render} from 'ink-testing-library'
import React from 'react'
import {afterEach, describe, expect, it, vi} from 'vitest'
import type {TopController} from '../../src/cli/top-live.js'
import {addSamples, moveSelection, topView, type TopSnapshot, type TopView} from '../../src/cli/top-model.js'
import {TopApp, TopScreen} from '../../src/ui/top.js'

// ink 3 draws only its last frame when CI is set (as in CI runs); `pach top` tells it
// CI=false before loading it (src/commands/top.ts), and so does this test
vi.hoisted(() => {
  process.env.CI = 'false'
})

const strip = (s: string | undefined) => (s ?? '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
const tick = () => new Promise((r) => setTimeout(r, 20))

const SNAP: TopSnapshot = {
  project: 'default',
  at: '2030-01-01T00:00:10.000Z',
  nodes: [
    {name: 'images', kind: 'repo', layer: 0, inputs: []},
    {
      name: 'edges',
      kind: 'pipeline',
      layer: 1,
      inputs: ['images'],
      state: 'PIPELINE_RUNNING',
      reason: '',
      job: {id: 'e'.repeat(32), state: 'JOB_RUNNING', reason: '', total: 20, processed: 5, skipped: 5, failed: 0, recovered: 0, created: '2030-01-01T00:00:00.000Z', started: '2030-01-01T00:00:00.000Z', finished: null},
    },
    {name: 'montage', kind: 'pipeline', layer: 2, inputs: ['edges', 'images'], state: 'PIPELINE_STANDBY', reason: '', job: null},
  ],
}

/** A controller over fixed snapshots: select() moves as the live one does; push() is a change. */
class FakeController implements TopController {
  private selected: string | undefined
  private listeners = new Set<(v: TopView) => void>()
  selections: number[] = []
  constructor(private snap: TopSnapshot) {}
  view(): TopView {
    const v = topView(this.snap, addSamples(new Map(), this.snap), this.selected)
    return {...v, logs: v.selected === 'edges' ? [{job: 'e'.repeat(32), datum: '1'.repeat(64), ts: '2030-01-01T00:00:09.000Z', stream: 'stdout', message: 'edge detected'}] : []}
  }
  subscribe(l: (v: TopView) => void) {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }
  select(delta: number) {
    this.selections.push(delta)
    this.selected = moveSelection(this.snap, this.view().selected, delta)
    for (const l of this.listeners) l(this.view())
  }
  get listenerCount() {
    return this.listeners.size
  }
  push(snap: TopSnapshot) {
    this.snap = snap
    for (const l of this.listeners) l(this.view())
  }
}

let unmount: (() => void) | undefined
afterEach(() => unmount?.())

describe('pach top screen', () => {
  it('draws the DAG rows, the selected job with its progress, rate and ETA, and its newest logs', () => {
    const c = new FakeController(SNAP)
    const r = render(React.createElement(TopScreen, {view: c.view(), rows: 30, width: 140}))
    unmount = r.unmount
    const f = strip(r.lastFrame())
    expect(f).toContain('pach top · project default · 00:00:10')
    expect(f).toMatch(/▣ images/)
    expect(f).toMatch(/› {3}⚙ edges\s+running\s+eeeeeeee running\s+10\/20 \(5 processed, 5 skipped, 0 failed\)\s+0\.5\/s|› {3}⚙ edges\s+running\s+eeeeeeee running\s+10\/20 \(5 processed, 5 skipped, 0 failed\)\s+30\/min/)
    expect(f).toMatch(/⚙ montage\s+standby\s+-/)
    expect(f).toContain(`edges@${'e'.repeat(32)}  ██████████░░░░░░░░░░ 10/20 (5 processed, 5 skipped, 0 failed) · 30/min · ETA 20s`)
    expect(f).toContain('logs of edges@eeeeeeee')
    expect(f).toContain('00:00:09 11111111 edge detected')
  })

  it('j/k and the arrows move the selection; q leaves (the app exits)', async () => {
    const c = new FakeController(SNAP)
    const r = render(React.createElement(TopApp, {controller: c}))
    unmount = r.unmount
    await tick() // the key listener is attached by an effect
    expect(strip(r.lastFrame())).toMatch(/› {3}⚙ edges/)
    r.stdin.write('j')
    await tick()
    expect(strip(r.lastFrame())).toMatch(/› {5}⚙ montage/)
    expect(strip(r.lastFrame())).toContain('montage: no job yet')
    expect(strip(r.lastFrame())).toContain('logs of montage: none')
    r.stdin.write('k')
    await tick()
    expect(strip(r.lastFrame())).toMatch(/› {3}⚙ edges/)
    r.stdin.write('\u001B[B') // ↓
    await tick()
    r.stdin.write('\u001B[A') // ↑
    await tick()
    expect(c.selections).toEqual([1, -1, 1, -1])
    // a change from the project shows at once
    c.push({...SNAP, nodes: SNAP.nodes.map((n) => (n.name === 'edges' ? {...n, job: {...n.job!, processed: 15}} : n))})
    await tick()
    expect(strip(r.lastFrame())).toContain('20/20 (15 processed, 5 skipped, 0 failed)')
    r.stdin.write('q')
    await tick()
    // the app unmounted: it let go of the controller, and a later change draws nothing
    expect(c.listenerCount).toBe(0)
    c.push(SNAP)
    await tick()
    expect(strip(r.lastFrame())).toContain('20/20')
  })

  it('no pipelines: says how to make one', () => {
    const r = render(React.createElement(TopScreen, {view: topView({project: 'p', at: '2030-01-01T00:00:00.000Z', nodes: []}, new Map(), undefined)}))
    unmount = r.unmount
    expect(strip(r.lastFrame())).toContain('no pipelines yet (create one with `pach create pipeline -f SPEC`)')
  })
})
