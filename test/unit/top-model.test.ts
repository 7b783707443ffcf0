// pach top's view model (src/cli/top-model.ts): rates and ETAs from successive snapshots, the
// DAG rows in draw pipeline's layer order, the selection, and the snapshot's text and JSON.
import {describe, expect, it} from 'vitest'
import {dagLayers} from '../../src/cli/format/dag.js'
import {addSamples, etaOf, formatEta, formatRate, keepSelection, moveSelection, progressBar, rateOf, topView, viewJson, viewText, type RateHistory, type TopJob, type TopSnapshot} from '../../src/cli/top-model.js'

const T0 = Date.parse('2030-01-01T00:00:00Z')
const iso = (ms: number) => new Date(T0 + ms).toISOString()

function job(over: Partial<TopJob> = {}): TopJob {
  return {id: 'a'.repeat(32), state: 'JOB_RUNNING', reason: '', total: 100, processed: 0, skipped: 0, failed: 0, recovered: 0, created: iso(0), started: iso(0), finished: null, ...over}
}

function snap(atMs: number, j: TopJob | null, more: TopSnapshot['nodes'] = []): TopSnapshot {
  return {
    project: 'default',
    at: iso(atMs),
    nodes: [
      {name: 'images', kind: 'repo', layer: 0, inputs: []},
      {name: 'edges', kind: 'pipeline', layer: 1, inputs: ['images'], state: j?.state === 'JOB_RUNNING' ? 'PIPELINE_RUNNING' : 'PIPELINE_STANDBY', reason: '', job: j},
      ...more,
    ],
  }
}

describe('rates and ETA', () => {
  it('one snapshot: the average since the job started; ETA from what is left (skipped datums are not left)', () => {
    const j = job({processed: 20, skipped: 40, failed: 5, started: iso(0)})
    const h = addSamples(new Map(), snap(10_000, j))
    const r = rateOf('edges', j, h, iso(10_000))
    expect(r).toBeCloseTo(2.5) // 25 run in 10 s
    expect(etaOf(j, r)).toBeCloseTo(35 / 2.5) // 100 - 40 skipped - 25 run
  })

  it('successive snapshots: the rate over the samples of the last 10 s, per job', () => {
    let h: RateHistory = new Map()
    // slow at first (1/s for 20 s), then 10/s: the window forgets the slow part
    for (let s = 0; s <= 20; s++) h = addSamples(h, snap(s * 1000, job({processed: s})))
    for (let s = 1; s <= 12; s++) h = addSamples(h, snap(20_000 + s * 1000, job({processed: 20 + 10 * s})))
    const j = job({processed: 140, total: 200})
    expect(rateOf('edges', j, h, iso(32_000))).toBeCloseTo(10)
    expect(etaOf(j, 10)).toBeCloseTo(6) // 60 left at 10/s
    expect(etaOf(job({processed: 140}), 10)).toBe(0) // more run than the total says: nothing left
    // a new job starts afresh: one sample, so the average since its start
    const k = job({id: 'b'.repeat(32), processed: 3, started: iso(31_000)})
    const h2 = addSamples(h, snap(33_000, k))
    expect([...h2.keys()]).toEqual([`edges@${'b'.repeat(32)}`])
    expect(rateOf('edges', k, h2, iso(33_000))).toBeCloseTo(1.5)
  })

  it('nothing run yet: rate 0 and no ETA; a job not yet running has neither; a finished one its average, no ETA', () => {
    const j = job({started: iso(0)})
    const h = addSamples(new Map(), snap(5000, j))
    expect(rateOf('edges', j, h, iso(5000))).toBe(0)
    expect(etaOf(j, 0)).toBeUndefined()
    const created = job({state: 'JOB_CREATED', started: null})
    expect(rateOf('edges', created, new Map(), iso(5000))).toBeUndefined()
    expect(etaOf(created, 3)).toBeUndefined()
    const done = job({state: 'JOB_SUCCESS', processed: 10, started: iso(0), finished: iso(4000)})
    expect(rateOf('edges', done, new Map(), iso(9000))).toBeCloseTo(2.5)
    expect(etaOf(done, 2.5)).toBeUndefined()
  })

  it('formats', () => {
    expect([formatRate(undefined), formatRate(0), formatRate(0.5), formatRate(2.345), formatRate(123.4)]).toEqual(['-', '0/s', '30/min', '2.3/s', '123/s'])
    expect([formatEta(undefined), formatEta(0), formatEta(4.2), formatEta(65), formatEta(3 * 3600 + 5 * 60)]).toEqual(['-', '0s', '5s', '1m05s', '3h05m'])
    expect(progressBar(job({processed: 3, skipped: 2, total: 10}), 10)).toBe('█████░░░░░')
    expect(progressBar(job({state: 'JOB_SUCCESS', total: 0}), 4)).toBe('████')
  })
})

describe('rows and selection', () => {
  it("rows follow draw pipeline's layers; repos are shown but not selectable", () => {
    const nodes = dagLayers([
      {name: 'montage', kind: 'pipeline', inputs: ['edges', 'images']},
      {name: 'edges', kind: 'pipeline', inputs: ['images']},
      {name: 'images', kind: 'repo', inputs: []},
    ])
    expect(nodes.map((n) => [n.name, n.layer])).toEqual([
      ['images', 0],
      ['edges', 1],
      ['montage', 2],
    ])
    const s = snap(1000, job({processed: 10, skipped: 5}), [{name: 'montage', kind: 'pipeline', layer: 2, inputs: ['edges', 'images'], state: 'PIPELINE_FAILURE', reason: 'datum x failed', job: null}])
    const v = topView(s, addSamples(new Map(), s), undefined)
    expect(v.rows.map((r) => [r.node.name, r.selectable, r.selected])).toEqual([
      ['images', false, false],
      ['edges', true, true],
      ['montage', true, false],
    ])
    expect(v.header).toMatch(/^DAG\s+STATE\s+JOB\s+PROGRESS\s+RATE\s+ETA\s+INPUTS$/)
    expect(v.rows[1]!.text).toMatch(/^ {2}⚙ edges\s+running\s+aaaaaaaa running\s+15\/100 \(10 processed, 5 skipped, 0 failed\)\s+10\/s\s+9s\s+images$/)
    expect(v.rows[2]!.text).toMatch(/^ {4}⚙ montage\s+failure\s+-\s+-\s+-\s+-\s+edges, images$/)
    const text = viewText({...v, logs: [{job: 'a'.repeat(32), datum: 'd'.repeat(64), ts: '2030-01-01T00:00:01.000Z', stream: 'stdout', message: 'hello'}]})
    expect(text.split('\n')).toEqual([`project default at ${iso(1000)}`, '', v.header, ...v.rows.map((r) => r.text), 'montage: datum x failed', '', 'logs of edges', '00:00:01 dddddddd hello'])
    const json = viewJson(v)
    expect(json.selected).toBe('edges')
    expect(json.dag[0]).toEqual({name: 'images', kind: 'repo', layer: 0, inputs: []})
    expect(json.dag[1]).toMatchObject({name: 'edges', state: 'PIPELINE_RUNNING', job: {processed: 10, skipped: 5, total: 100, rate: 10, eta_seconds: 8.5}})
    expect(json.dag[2]).toMatchObject({name: 'montage', job: null, reason: 'datum x failed'})
    expect(JSON.parse(JSON.stringify(json))).toEqual(json)
  })

  it('↑/↓ move over pipelines only, clamped; a selection that went away falls back to the first', () => {
    const s = snap(0, null, [
      {name: 'b', kind: 'pipeline', layer: 2, inputs: ['edges'], state: 'PIPELINE_STANDBY', job: null},
      {name: 'c', kind: 'pipeline', layer: 2, inputs: ['edges'], state: 'PIPELINE_STANDBY', job: null},
    ])
    expect(keepSelection(s, undefined)).toBe('edges')
    expect(moveSelection(s, 'edges', 1)).toBe('b')
    expect(moveSelection(s, 'b', 1)).toBe('c')
    expect(moveSelection(s, 'c', 1)).toBe('c')
    expect(moveSelection(s, 'edges', -1)).toBe('edges')
    expect(moveSelection(s, 'gone', 1)).toBe('edges')
    expect(keepSelection(s, 'gone')).toBe('edges')
    expect(topView(s, new Map(), 'c').selected).toBe('c')
    const empty: TopSnapshot = {project: 'default', at: iso(0), nodes: []}
    expect(moveSelection(empty, undefined, 1)).toBeUndefined()
    expect(viewText(topView(empty, new Map(), undefined))).toBe(`project default at ${iso(0)}: no pipelines`)
  })
})
