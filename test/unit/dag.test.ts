/**
 * The `draw pipeline` renderer (src/cli/format/dag.ts): every node once, in layers by longest
 * path, long edges as vertical lines through the layers they cross, crossings drawn under.
 */
import {describe, expect, it} from 'vitest'
import {drawDag, type DagNode} from '../../src/cli/format/dag.js'

const N = (name: string, inputs: string[] = []): DagNode => ({name, kind: inputs.length ? 'pipeline' : 'repo', inputs})
const lineOf = (pic: string, name: string) => pic.split('\n').findIndex((l) => l.includes(` ${name} `))

describe('drawDag', () => {
  it('a chain is a straight line', () => {
    expect(drawDag([N('a'), N('b', ['a'])])).toBe(['┌─────┐', '│ ▣ a │', '└──┬──┘', '   │', '   ▼', '┌─────┐', '│ ⚙ b │', '└─────┘'].join('\n'))
  })

  it('two parents and two children: one box each, tracks joined by tees', () => {
    const pic = drawDag([N('datas'), N('configs'), N('clean', ['datas', 'configs']), N('model', ['clean']), N('analysis', ['clean'])])
    expect(pic).toBe(
      [
        '┌───────────┐   ┌─────────┐',
        '│ ▣ configs │   │ ▣ datas │',
        '└─────┬─────┘   └────┬────┘',
        '      └───────┐      │',
        '              ├──────┘',
        '              ▼',
        '         ┌─────────┐',
        '         │ ⚙ clean │',
        '         └────┬────┘',
        '              ├──────────────┐',
        '              ▼              ▼',
        '       ┌────────────┐   ┌─────────┐',
        '       │ ⚙ analysis │   │ ⚙ model │',
        '       └────────────┘   └─────────┘',
      ].join('\n'),
    )
  })

  it('an edge that skips a layer runs through it as a line; layers follow the longest path', () => {
    const pic = drawDag([N('raw'), N('p1', ['raw']), N('p2', ['p1']), N('p3', ['p2', 'raw'])])
    for (const n of ['raw', 'p1', 'p2', 'p3']) expect(pic.split(` ${n} `).length - 1, pic).toBe(1)
    expect(lineOf(pic, 'raw')).toBeLessThan(lineOf(pic, 'p1'))
    expect(lineOf(pic, 'p1')).toBeLessThan(lineOf(pic, 'p2'))
    expect(lineOf(pic, 'p2')).toBeLessThan(lineOf(pic, 'p3'))
    // raw's line passes beside p1 and p2 (on their rows) down to p3
    const p1Row = pic.split('\n')[lineOf(pic, 'p1')]!
    expect(p1Row.indexOf('│')).toBeLessThan(p1Row.indexOf('p1'))
    expect(p1Row.trimStart().startsWith('│')).toBe(true)
  })

  it('a track that crosses another edge set\'s line is drawn under it, never as a junction', () => {
    const pic = drawDag([N('a'), N('b'), N('c'), N('x', ['a', 'c']), N('y', ['b']), N('z', ['a', 'b', 'c'])])
    const rows = pic.split('\n')
    // b's stem crosses a's track: "─│─", not "┼"
    expect(rows[3]).toMatch(/─│[─┬]/)
    expect(pic).not.toContain('┼')
    for (const n of ['a', 'b', 'c', 'x', 'y', 'z']) expect(pic.split(` ${n} `).length - 1, pic).toBe(1)
  })

  it('--box-width widens short boxes; --edge-height adds rows between layers; no nodes draws nothing', () => {
    expect(drawDag([N('a')], {boxWidth: 9}).split('\n')[1]).toBe('│  ▣ a  │')
    expect(drawDag([N('a'), N('b', ['a'])], {edgeHeight: 4}).split('\n').slice(3, 7)).toEqual(['   │', '   │', '   │', '   ▼'])
    expect(drawDag([])).toBe('')
  })
})
