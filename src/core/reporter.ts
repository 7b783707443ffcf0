/**
 * The core never prints; it reports. Services take a Reporter and call it for warnings,
 * notices and progress; the CLI decides where that goes (stderr, a TTY bar, nowhere).
 */
export interface Progress {
  /** add to the done count */
  add(n: number): void
  /** set the total when it becomes known */
  total(n: number): void
  /** what is being done now, shown beside the count (`commit 3/10`) */
  stage(text: string): void
  done(): void
}

export interface Reporter {
  warn(message: string): void
  info(message: string): void
  progress(label: string, unit: 'bytes' | 'files' | 'datums', total?: number): Progress
}

const noopProgress: Progress = {add() {}, total() {}, stage() {}, done() {}}

export const noopReporter: Reporter = {
  warn() {},
  info() {},
  progress: () => noopProgress,
}
