/**
 * Live progress on stderr for people at a terminal: a block of lines redrawn in place with
 * ANSI escapes (cursor up, erase line), plus permanent lines printed above it. The Reporter's
 * byte/file counters (cli/reporter.ts) and the job view (cli/jobs.ts) both draw through it,
 * so there is one way to draw progress. Callers use it only when stderr is a TTY (never with
 * --json); elsewhere they print plain lines.
 */

/** A bar of `width` cells, `frac` (0..1) of them filled. */
export function bar(frac: number, width: number): string {
  const filled = Math.max(0, Math.min(width, Math.round(frac * width)))
  return '█'.repeat(filled) + '░'.repeat(width - filled)
}

export class LiveRegion {
  /** lines currently drawn below the permanent output */
  private shown = 0

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  /** Replace the live lines with `lines` (each cut to the terminal width, so none wraps). */
  draw(lines: readonly string[]): void {
    const width = Math.max(20, (this.out.columns || 80) - 1)
    this.out.write(this.erase() + lines.map((l) => (l.length > width ? l.slice(0, width - 1) + '…' : l) + '\n').join(''))
    this.shown = lines.length
  }

  /** Print a permanent line; the live lines are drawn again below it by the next `draw`. */
  print(line: string): void {
    this.out.write(this.erase() + line + '\n')
    this.shown = 0
  }

  /** Remove the live lines. */
  clear(): void {
    if (this.shown) this.out.write(this.erase())
    this.shown = 0
  }

  private erase(): string {
    return '\x1b[1A\x1b[2K'.repeat(this.shown)
  }
}
