/**
 * `pach lineage`'s tree view: the flat rows of core/pps/lineage.ts drawn as `tree` draws a
 * directory — each row under its parent, with the datum on the edge that links them. Pure:
 * rows in, text out. Hashes are shortened to 12 hex digits (--json has them whole).
 */
import type {LineageDirection, LineageRow} from '../../core/pps/lineage.js'

const short = (h: string) => h.slice(0, 12)

function label(r: LineageRow): string {
  const at = `${r.repo}@${r.commit}:${r.path}`
  const hash = r.hash ? `  ${short(r.hash)}` : ''
  const via = r.datum ? `  via ${r.pipeline} datum ${short(r.datum)}` : ''
  return `${at}${hash}${via}${r.repeated ? '  (lineage above)' : ''}`
}

export function drawLineage(rows: readonly LineageRow[], direction: LineageDirection): string {
  if (!rows.length) return ''
  const children = new Map<number, LineageRow[]>()
  for (const r of rows) {
    if (r.parent === null) continue
    const list = children.get(r.parent)
    if (list) list.push(r)
    else children.set(r.parent, [r])
  }
  const lines: string[] = []
  const draw = (r: LineageRow, lead: string, branch: string, rest: string) => {
    lines.push(lead + branch + label(r))
    const kids = children.get(r.index) ?? []
    const inner = lead + rest
    if (r.note) lines.push(`${inner}${kids.length ? '│   ' : '    '}! ${r.note}`)
    kids.forEach((k, i) => {
      const last = i === kids.length - 1
      draw(k, inner, last ? '└── ' : '├── ', last ? '    ' : '│   ')
    })
  }
  draw(rows[0]!, '', '', '')
  if (rows.length === 1 && !rows[0]!.note) lines.push(direction === 'upstream' ? '(no pipeline wrote it: it is an input)' : '(no datum read it)')
  return lines.join('\n')
}
