/**
 * Human formatting of values, as pachctl prints them: sizes with go-units BytesSize
 * ("1.5KiB"), times as go-units HumanDuration + " ago" (or RFC 3339 with --full-timestamps).
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB']

export function bytesSize(n: number): string {
  let i = 0
  let v = n
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024
    i++
  }
  return `${Number(v.toPrecision(4))}${UNITS[i]}`
}

/** go-units HumanDuration */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 1) return 'Less than a second'
  if (s === 1) return '1 second'
  if (s < 60) return `${s} seconds`
  const m = Math.round(ms / 60000)
  if (m === 1) return 'About a minute'
  if (m < 60) return `${m} minutes`
  const h = Math.round(ms / 3600000)
  if (h === 1) return 'About an hour'
  if (h < 48) return `${h} hours`
  if (h < 24 * 7 * 2) return `${Math.round(h / 24)} days`
  if (h < 24 * 30 * 2) return `${Math.round(h / 24 / 7)} weeks`
  if (h < 24 * 365 * 2) return `${Math.round(h / 24 / 30)} months`
  return `${Math.round(h / 24 / 365)} years`
}

export function ago(iso: string | null | undefined, full = false, now = Date.now()): string {
  if (!iso) return '-'
  if (full) return iso
  return `${humanDuration(Math.max(0, now - Date.parse(iso)))} ago`
}

export function duration(startIso: string | null | undefined, endIso: string | null | undefined, now = Date.now()): string {
  if (!startIso) return '-'
  const end = endIso ? Date.parse(endIso) : now
  return humanDuration(end - Date.parse(startIso))
}

/** Render rows as a tab-aligned table (Go tabwriter style: padding 3). */
export function table(headers: string[], rows: string[][]): string {
  let out = ''
  writeTable(headers, () => rows, (s) => (out += s))
  return out
}

/** One table line: every cell but the last padded to its column's width plus 3 spaces. */
function paddedLine(widths: readonly number[], cells: string[]): string {
  return (
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3)))
      .join('')
      .trimEnd() + '\n'
  )
}

/**
 * `table`, written line by line: one pass over `rows()` for the column widths, a second to
 * write (so `rows` must give the same rows twice); memory holds one row, not the table.
 */
export function writeTable(headers: string[], rows: () => Iterable<string[]>, write: (s: string) => void): void {
  const widths = headers.map((h) => h.length)
  for (const r of rows()) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (r[i] ?? '').length)
  const line = (cells: string[]) => paddedLine(widths, cells)
  write(line(headers))
  for (const r of rows()) write(line(r))
}

/**
 * A table of rows read once, as a stream, for listings that can be too long to read twice
 * (`list file` of a 1,000,000-entry directory). Rows are taken `block` at a time: each block's
 * lines are written once the block is read, with every column as wide as the widest cell seen
 * so far (the header and all rows up to the end of this block). A table of at most `block` rows
 * is byte for byte `table`; in a longer one the columns can only widen, at a block boundary,
 * when a later row is wider than every row before it. Memory holds one block.
 */
export function writeTableStream(headers: string[], rows: Iterable<string[]>, write: (s: string) => void, block = 1000): void {
  const widths = headers.map((h) => h.length)
  const line = (cells: string[]) => paddedLine(widths, cells)
  let pending: string[][] = []
  let header = true
  const flush = () => {
    for (const r of pending) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (r[i] ?? '').length)
    if (header) write(line(headers))
    header = false
    for (const r of pending) write(line(r))
    pending = []
  }
  for (const r of rows) {
    pending.push(r)
    if (pending.length >= block) flush()
  }
  if (header || pending.length) flush()
}

/**
 * A table written one row at a time as rows arrive (a subscription that never ends): the
 * header comes with the first row, sized to it, then each row is padded to the widest cell
 * seen so far in its column, so columns only widen. Rows as wide as the first line up exactly
 * as `table` would print them.
 */
export function tableRows(headers: string[]): (cells: string[]) => string {
  const widths = headers.map((h) => h.length)
  const line = (cells: string[]) => paddedLine(widths, cells)
  let first = true
  return (cells) => {
    for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (cells[i] ?? '').length)
    const head = first ? line(headers) : ''
    first = false
    return head + line(cells)
  }
}
