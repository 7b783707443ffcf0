// Per-file lineage's pure part (core/pps/lineage.ts): the walk over hand-made datum rows
// (upstream and downstream, several pipelines, a path written by two datums, a shared input
// met twice, a note where a job is unknown, the depth bound) and the path rules the reader
// uses to find the datums that read a file (inputTouches, inputKeys).
import {describe, expect, it} from 'vitest'
import {drawLineage} from '../../src/cli/format/lineage.js'
import {barePath, inputKeys, inputTouches, nodePath, traceLineage, type DatumFacts, type LineageFile, type LineageSource} from '../../src/core/pps/lineage.js'

const f = (repo: string, commit: string, path: string, hash = `h:${repo}${path}`): LineageFile => ({project: 'default', repo, commit, path, hash})
const datum = (pipeline: string, job: string, id: string, inputs: LineageFile[], outputs: LineageFile[]): DatumFacts => ({project: 'default', pipeline, job, datum: id, inputs, outputs})

/**
 * images (user) ─┐
 *                ├─ cross ─▶ edges: datum e1 (a.png × /cfg) writes /a.png and /all/a; e2 (b.png × /cfg) writes /b.png and /all/b
 * config (user) ─┘
 * edges ─▶ montage: datum m1 (a join of /a.png and /b.png) writes /m.png
 * The source answers by matching rows as the database reader does (same path, a directory holding it, or under it).
 */
const C = 'c'.repeat(32)
const rowsOf = (): DatumFacts[] => [
  datum('edges', C, 'e1', [f('images', C, '/a.png'), f('config', C, '/')], [f('edges', C, '/a.png'), f('edges', C, '/all/a')]),
  datum('edges', C, 'e2', [f('images', C, '/b.png'), f('config', C, '/')], [f('edges', C, '/b.png'), f('edges', C, '/all/b')]),
  datum('montage', C, 'm1', [f('edges', C, '/a.png'), f('edges', C, '/b.png')], [f('montage', C, '/m.png')]),
]

function source(rows: DatumFacts[], opts: {unknownJobs?: Set<string>} = {}): LineageSource {
  const pipelines = new Set(rows.map((r) => r.pipeline))
  const bare = (p: string) => barePath(p)
  return {
    writers(x) {
      if (!pipelines.has(x.repo)) return undefined
      if (opts.unknownJobs?.has(x.repo)) return {datums: [], note: `no job of pipeline ${x.repo} made commit ${x.commit}`}
      const t = bare(x.path)
      const dir = x.path.endsWith('/')
      return {datums: rows.filter((r) => r.pipeline === x.repo && r.job === x.commit && r.outputs.some((o) => o.path === t || (dir && (t === '/' || o.path.startsWith(t + '/')))))}
    },
    readers(x) {
      const t = bare(x.path)
      return {datums: rows.filter((r) => r.inputs.some((i) => i.repo === x.repo && i.commit === x.commit && inputTouches(i.path, t, x.path.endsWith('/'))))}
    },
  }
}

const brief = (rows: ReturnType<typeof traceLineage>) => rows.map((r) => `${'  '.repeat(r.depth)}${r.repo}:${r.path}${r.datum ? ` <${r.datum}>` : ''}${r.repeated ? ' (repeated)' : ''}${r.note ? ` !${r.note}` : ''}`)

describe('traceLineage', () => {
  it('upstream: each writer datum, each of its inputs, back to repos no pipeline writes', () => {
    const rows = traceLineage(source(rowsOf()), f('montage', C, '/m.png'), 'upstream')
    expect(brief(rows)).toEqual([
      'montage:/m.png',
      '  edges:/a.png <m1>',
      '    config:/ <e1>',
      '    images:/a.png <e1>',
      '  edges:/b.png <m1>',
      '    config:/ <e2> (repeated)',
      '    images:/b.png <e2>',
    ])
    expect(rows.map((r) => r.parent)).toEqual([null, 0, 1, 1, 0, 4, 4])
    expect(rows[1]).toMatchObject({index: 1, depth: 1, pipeline: 'montage', job: C, datum: 'm1', project: 'default', pipeline_project: 'default', hash: 'h:edges/a.png'})
    expect(rows[0]).not.toHaveProperty('datum')
  })

  it('a directory written by two datums lists both (a merged output)', () => {
    const rows = traceLineage(source(rowsOf()), f('edges', C, '/all/'), 'upstream')
    expect(brief(rows)).toEqual(['edges:/all/', '  config:/ <e1>', '  images:/a.png <e1>', '  config:/ <e2> (repeated)', '  images:/b.png <e2>'])
  })

  it('downstream: every file each reading datum wrote, then what those fed', () => {
    expect(brief(traceLineage(source(rowsOf()), f('images', C, '/a.png'), 'downstream'))).toEqual([
      'images:/a.png',
      '  edges:/a.png <e1>',
      '    montage:/m.png <m1>',
      '  edges:/all/a <e1>',
    ])
    // an input read whole by every datum fed everything, and the shared montage output once
    expect(brief(traceLineage(source(rowsOf()), f('config', C, '/cfg.json'), 'downstream'))).toEqual([
      'config:/cfg.json',
      '  edges:/a.png <e1>',
      '    montage:/m.png <m1>',
      '  edges:/all/a <e1>',
      '  edges:/all/b <e2>',
      '  edges:/b.png <e2>',
      '    montage:/m.png <m1> (repeated)',
    ])
  })

  it('a user repo has no upstream, an unread file no downstream: the asked file alone', () => {
    expect(traceLineage(source(rowsOf()), f('images', C, '/a.png'), 'upstream')).toEqual([{index: 0, parent: null, depth: 0, ...f('images', C, '/a.png')}])
    expect(brief(traceLineage(source(rowsOf()), f('montage', C, '/m.png'), 'downstream'))).toEqual(['montage:/m.png'])
  })

  it('a node whose job is not recorded carries a note and nothing is guessed', () => {
    const rows = traceLineage(source(rowsOf(), {unknownJobs: new Set(['edges'])}), f('montage', C, '/m.png'), 'upstream')
    expect(brief(rows)).toEqual(['montage:/m.png', `  edges:/a.png <m1> !no job of pipeline edges made commit ${C}`, `  edges:/b.png <m1> !no job of pipeline edges made commit ${C}`])
  })

  it('maxDepth lists the rows at that depth without expanding them; order is stable whatever the source order', () => {
    expect(brief(traceLineage(source(rowsOf()), f('montage', C, '/m.png'), 'upstream', {maxDepth: 1}))).toEqual(['montage:/m.png', '  edges:/a.png <m1>', '  edges:/b.png <m1>'])
    const a = traceLineage(source(rowsOf()), f('config', C, '/'), 'downstream')
    const b = traceLineage(source(rowsOf().reverse()), f('config', C, '/'), 'downstream')
    expect(b).toEqual(a)
  })
})

describe('path rules', () => {
  it('inputTouches: the same path, a directory input holding it, or (for a directory) an input under it', () => {
    expect(inputTouches('/a/b.txt', '/a/b.txt', false)).toBe(true)
    expect(inputTouches('/a/', '/a/b.txt', false)).toBe(true)
    expect(inputTouches('/', '/a/b.txt', false)).toBe(true)
    expect(inputTouches('/a/', '/a', true)).toBe(true)
    expect(inputTouches('/a/b.txt', '/a', true)).toBe(true)
    expect(inputTouches('/a/b.txt', '/', true)).toBe(true)
    expect(inputTouches('/ab.txt', '/a', true)).toBe(false)
    expect(inputTouches('/a/c.txt', '/a/b.txt', false)).toBe(false)
    expect(inputTouches('/ab/', '/a/b.txt', false)).toBe(false)
    expect(inputTouches('/a', '/a/b.txt', false)).toBe(false) // a file /a cannot hold /a/b.txt
  })

  it('inputKeys: every recorded path that can touch the target, and the range under a directory', () => {
    expect(inputKeys('/a/b.txt', false)).toEqual({paths: ['/', '/a/', '/a/b.txt/', '/a/b.txt']})
    expect(inputKeys('/a', true)).toEqual({paths: ['/', '/a/', '/a'], range: {from: '/a/', to: '/a0'}})
    expect(inputKeys('/', true)).toEqual({paths: ['/'], range: {from: '/', to: '0'}})
    for (const p of ['/a/x', '/a/x/y/', '/a/~']) expect(p >= '/a/' && p < '/a0').toBe(true)
    expect('/a0' >= '/a/' && '/a0' < '/a0').toBe(false)
  })

  it('barePath and nodePath', () => {
    expect(barePath('a/b/')).toBe('/a/b')
    expect(barePath('/')).toBe('/')
    expect(nodePath('/a', true)).toBe('/a/')
    expect(nodePath('/a/', false)).toBe('/a')
    expect(nodePath('/', true)).toBe('/')
  })
})

describe('drawLineage (the tree view)', () => {
  it('draws rows under their parents with the datum on each edge, repeated rows and notes', () => {
    const rows = traceLineage(source(rowsOf(), {unknownJobs: new Set(['nothing'])}), f('montage', C, '/m.png'), 'upstream')
    expect(drawLineage(rows, 'upstream').split('\n')).toEqual([
      `montage@${C}:/m.png  h:montage/m.`,
      `├── edges@${C}:/a.png  h:edges/a.pn  via montage datum m1`,
      `│   ├── config@${C}:/  h:config/  via edges datum e1`,
      `│   └── images@${C}:/a.png  h:images/a.p  via edges datum e1`,
      `└── edges@${C}:/b.png  h:edges/b.pn  via montage datum m1`,
      `    ├── config@${C}:/  h:config/  via edges datum e2  (lineage above)`,
      `    └── images@${C}:/b.png  h:images/b.p  via edges datum e2`,
    ])
    const noted = traceLineage(source(rowsOf(), {unknownJobs: new Set(['edges'])}), f('montage', C, '/m.png'), 'upstream')
    expect(drawLineage(noted, 'upstream').split('\n').slice(1)).toEqual([
      `├── edges@${C}:/a.png  h:edges/a.pn  via montage datum m1`,
      `│       ! no job of pipeline edges made commit ${C}`,
      `└── edges@${C}:/b.png  h:edges/b.pn  via montage datum m1`,
      `        ! no job of pipeline edges made commit ${C}`,
    ])
    expect(drawLineage(traceLineage(source(rowsOf()), f('images', C, '/a.png'), 'upstream'), 'upstream')).toBe(`images@${C}:/a.png  h:images/a.p\n(no pipeline wrote it: it is an input)`)
    expect(drawLineage(traceLineage(source(rowsOf()), f('montage', C, '/m.png'), 'downstream'), 'downstream')).toBe(`montage@${C}:/m.png  h:montage/m.\n(no datum read it)`)
  })
})
