/**
 * `draw pipeline`'s picture: the pipeline DAG drawn in layers, every node once (pachctl's
 * pretty.Draw draws the same layered graph with ASCII boxes; this one uses box-drawing
 * characters and routes edges in channels). Pure: nodes in, text out.
 *
 * Layout (Sugiyama-style, kept small):
 *   layers   a node's layer is its longest path from a root (repos with no inputs are roots);
 *   dummies  an edge spanning several layers becomes a chain of one-column dummy nodes, drawn
 *            as a vertical line through the layers it crosses;
 *   order    the roots by name, each later layer by the mean position of its parents;
 *   columns  boxes left to right, each as close as it can get under its parents' mean; a box
 *            is never centred under a node of the layer above that is not its parent.
 * Routing between two layers: every node with children gets its own horizontal track (its
 * stem drops from its box to the track, the track runs to its children, each child's drop
 * runs down to an arrow "▼" on its box). Drawn lines of one edge set (a node's stem, track
 * and drops) join with tees and corners; a track that crosses another set's vertical line is
 * drawn under it ("─│─"), so a junction always means a real connection.
 */

export interface DagNode {
  name: string
  kind: 'repo' | 'pipeline'
  /** the names of the nodes it reads (its parents) */
  inputs: string[]
}

export interface DagOptions {
  /** the narrowest box, in characters (default 0: as wide as its label needs) */
  boxWidth?: number
  /** the fewest rows between two layers (default 2) */
  edgeHeight?: number
}

interface Vertex {
  id: string
  label: string
  dummy: boolean
  parents: Vertex[]
  children: Vertex[]
  layer: number
  /** leftmost column and width; centre = x + floor(w / 2) */
  x: number
  w: number
}

const center = (v: Vertex) => v.x + Math.floor(v.w / 2)

const UP = 1
const DOWN = 2
const LEFT = 4
const RIGHT = 8
const LINE: Record<number, string> = {
  [UP]: '│',
  [DOWN]: '│',
  [UP | DOWN]: '│',
  [LEFT]: '─',
  [RIGHT]: '─',
  [LEFT | RIGHT]: '─',
  [UP | RIGHT]: '└',
  [UP | LEFT]: '┘',
  [DOWN | RIGHT]: '┌',
  [DOWN | LEFT]: '┐',
  [UP | DOWN | RIGHT]: '├',
  [UP | DOWN | LEFT]: '┤',
  [LEFT | RIGHT | DOWN]: '┬',
  [LEFT | RIGHT | UP]: '┴',
  [UP | DOWN | LEFT | RIGHT]: '┼',
}

/** The DAG as text (no trailing newline); '' for no nodes. */
export function drawDag(nodes: readonly DagNode[], opts: DagOptions = {}): string {
  if (!nodes.length) return ''
  const layers = layout(nodes, opts.boxWidth ?? 0)
  const out: string[] = []
  layers.forEach((layer, i) => {
    out.push(...drawBoxes(layer))
    if (i < layers.length - 1) out.push(...drawGap(layer, layers[i + 1]!, opts.edgeHeight ?? 2))
  })
  return out.map((l) => l.replace(/\s+$/, '')).join('\n')
}

/**
 * The layout's layers without the drawing (`pach top` lists the DAG as rows): each node with
 * its layer, in the picture's order — top to bottom, then left to right.
 */
export function dagLayers(nodes: readonly DagNode[]): (DagNode & {layer: number})[] {
  if (!nodes.length) return []
  const byName = new Map(nodes.map((n) => [n.name, n]))
  return layout(nodes, 0).flatMap((layer) => layer.filter((v) => !v.dummy).map((v) => ({...byName.get(v.id)!, layer: v.layer})))
}

function layout(nodes: readonly DagNode[], boxWidth: number): Vertex[][] {
  const byName = new Map<string, Vertex>()
  for (const n of nodes) {
    const label = `${n.kind === 'pipeline' ? '⚙' : '▣'} ${n.name}`
    byName.set(n.name, {id: n.name, label, dummy: false, parents: [], children: [], layer: -1, x: 0, w: Math.max(label.length + 4, boxWidth)})
  }
  for (const n of nodes) {
    const v = byName.get(n.name)!
    for (const p of new Set(n.inputs)) {
      const pv = byName.get(p)
      if (!pv || pv === v) continue
      v.parents.push(pv)
      pv.children.push(v)
    }
  }
  // longest path from a root (pach refuses cycles; a visit in progress counts as a root)
  const visiting = new Set<Vertex>()
  const layerOf = (v: Vertex): number => {
    if (v.layer >= 0) return v.layer
    if (visiting.has(v)) return 0
    visiting.add(v)
    v.layer = v.parents.length ? 1 + Math.max(...v.parents.map(layerOf)) : 0
    visiting.delete(v)
    return v.layer
  }
  const real = [...byName.values()]
  real.forEach(layerOf)
  // dummies for long edges: p → d… → c, one per layer crossed
  const all = [...real]
  for (const c of real) {
    c.parents = c.parents.map((p) => {
      if (c.layer - p.layer <= 1) return p
      p.children = p.children.filter((k) => k !== c)
      let prev = p
      for (let l = p.layer + 1; l < c.layer; l++) {
        const d: Vertex = {id: `\0${all.length}`, label: '', dummy: true, parents: [prev], children: [], layer: l, x: 0, w: 1}
        prev.children.push(d)
        all.push(d)
        prev = d
      }
      prev.children.push(c)
      return prev
    })
  }
  const layers: Vertex[][] = []
  for (const v of all) (layers[v.layer] ??= []).push(v)
  // order: roots by name, then by the parents' mean position
  layers[0]!.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  for (let l = 1; l < layers.length; l++) {
    const pos = new Map(layers[l - 1]!.map((v, i) => [v, i]))
    const bary = (v: Vertex) => v.parents.reduce((s, p) => s + pos.get(p)!, 0) / v.parents.length
    layers[l]!.sort((a, b) => bary(a) - bary(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }
  // columns
  for (let l = 0; l < layers.length; l++) {
    const above = l > 0 ? layers[l - 1]! : []
    let next = 0
    for (const v of layers[l]!) {
      const want = v.parents.length ? Math.round(v.parents.reduce((s, p) => s + center(p), 0) / v.parents.length) - Math.floor(v.w / 2) : next
      v.x = Math.max(next, want)
      // never centred under a node above that is not a parent (its stem would seem to reach this box)
      while (above.some((a) => a.children.length && !v.parents.includes(a) && center(a) === center(v))) v.x++
      next = v.x + v.w + (v.dummy ? 2 : 3)
    }
  }
  return layers
}

function drawBoxes(layer: Vertex[]): string[] {
  const rows = [[], [], []] as string[][]
  const put = (row: number, x: number, s: string) => {
    const r = rows[row]!
    while (r.length < x) r.push(' ')
    for (let i = 0; i < [...s].length; i++) r[x + i] = [...s][i]!
  }
  for (const v of layer) {
    if (v.dummy) {
      for (let r = 0; r < 3; r++) put(r, v.x, '│')
      continue
    }
    const inner = v.w - 2
    const pad = inner - [...v.label].length
    const top = '─'.repeat(inner)
    const bottom = [...'─'.repeat(inner)]
    if (v.children.length) bottom[Math.floor(v.w / 2) - 1] = '┬'
    put(0, v.x, `┌${top}┐`)
    put(1, v.x, `│${' '.repeat(Math.floor(pad / 2))}${v.label}${' '.repeat(pad - Math.floor(pad / 2))}│`)
    put(2, v.x, `└${bottom.join('')}┘`)
  }
  return rows.map((r) => r.join(''))
}

function drawGap(upper: Vertex[], lower: Vertex[], minRows: number): string[] {
  const sources = upper.filter((v) => v.children.length)
  // a source whose only child sits right under it needs no track: one straight line
  const straight = (s: Vertex) => s.children.length === 1 && center(s.children[0]!) === center(s)
  const tracked = sources.filter((s) => !straight(s))
  const height = Math.max(tracked.length + 1, minRows)
  const width = Math.max(...[...upper, ...lower].map((v) => v.x + v.w)) + 1
  // per cell: the directions each edge set (by source index) draws there
  const cells: Map<number, number>[][] = Array.from({length: height}, () => Array.from({length: width}, () => new Map<number, number>()))
  const mark = (row: number, col: number, net: number, dirs: number) => {
    const c = cells[row]![col]!
    c.set(net, (c.get(net) ?? 0) | dirs)
  }
  // a vertical run of rows from..to; `up`: it continues into the box above, `down`: into the one below
  const vertical = (col: number, from: number, to: number, net: number, up: boolean, down: boolean) => {
    for (let r = from; r <= to; r++) mark(r, col, net, (r > from || up ? UP : 0) | (r < to || down ? DOWN : 0))
  }
  sources.forEach((s, net) => {
    const sx = center(s)
    if (straight(s)) return vertical(sx, 0, height - 1, net, true, true)
    const t = tracked.indexOf(s)
    vertical(sx, 0, t, net, true, false)
    const xs = s.children.map(center)
    const lo = Math.min(sx, ...xs)
    const hi = Math.max(sx, ...xs)
    for (let x = lo; x <= hi; x++) mark(t, x, net, (x > lo ? LEFT : 0) | (x < hi ? RIGHT : 0))
    for (const x of xs) vertical(x, t, height - 1, net, false, true)
  })
  const arrows = new Set(lower.filter((v) => !v.dummy && v.parents.length).map(center))
  return cells.map((row, r) =>
    row
      .map((c, x) => {
        if (!c.size) return ' '
        if (r === height - 1 && arrows.has(x)) return '▼'
        const sets = [...c.values()]
        const crossing = sets.some((d) => d === (LEFT | RIGHT)) && sets.some((d) => d === (UP | DOWN))
        if (crossing) return '│'
        return LINE[sets.reduce((a, d) => a | d, 0)] ?? '┼'
      })
      .join(''),
  )
}
