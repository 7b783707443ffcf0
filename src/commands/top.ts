import {Flags} from '@oclif/core'
import {PachCommand, writeOut} from '../cli/base-command.js'
import {TopLive} from '../cli/top-live.js'
import {topView, viewJson, viewText, type TopView} from '../cli/top-model.js'
import {readTopSnapshot, TopLogs} from '../cli/top-snapshot.js'

/**
 * `pach top`: the live view (the screen: src/ui/top.ts, loaded only here; its data:
 * cli/top-live.ts over the core). In a terminal (stdin and stdout TTYs, no --json) it
 * follows the project until q or Ctrl-C; anywhere else it prints one snapshot — the same
 * rows as text, or with --json their data (`{project, at, dag, selected, logs}`) — and exits 0.
 */
export default class Top extends PachCommand<typeof Top, TopView | undefined> {
  static override summary = "A live view of the pipelines: the DAG with each pipeline's state, the running job's progress (datums, rate, ETA) and the newest log lines of the selected pipeline."
  static override description =
    'It follows changes made by any process on the project (other pach commands, `pach serve`, jobs as they run). Keys: ↑/↓ or j/k select a pipeline, q or Ctrl-C quit. When stdout or stdin is not a terminal (a pipe, a file, CI), or with --json, it prints one snapshot instead and exits: the same table as text, or its data as one JSON document.'
  static override examples = ['<%= config.bin %> top', '<%= config.bin %> top -p edges', '<%= config.bin %> top --json | jq .dag']
  static override flags = {
    pipeline: Flags.string({char: 'p', description: 'the pipeline selected at start, whose log lines are shown (default: the first in the DAG)'}),
    lines: Flags.integer({char: 'n', description: 'log lines in a snapshot', default: 10, min: 0}),
  }

  async exec(): Promise<TopView | undefined> {
    const {pipeline, lines} = this.flags
    this.pach.projects.inspect(this.project)
    if (pipeline !== undefined) this.pach.pipelines.inspect(this.project, pipeline)
    const live = this.format === 'human' && process.stdout.isTTY && process.stdin.isTTY
    if (!live) {
      const snap = readTopSnapshot(this.pach, this.project)
      const view = topView(snap, new Map(), pipeline)
      const job = snap.nodes.find((n) => n.name === view.selected)?.job
      return {...view, logs: view.selected === undefined ? [] : new TopLogs(this.pach, this.project).newest(view.selected, job, lines)}
    }
    // a person at a terminal: ink 3 in CI mode (any CI variable set) draws nothing until it
    // exits, so it is told this is no CI run before it loads (it reads the variable once)
    const ci = process.env.CI
    process.env.CI = 'false'
    const {runTop} = await import('../ui/top.js')
    if (ci === undefined) delete process.env.CI
    else process.env.CI = ci
    await runTop(new TopLive(this.pach, this.project, {selected: pipeline}), this.signal)
    return undefined
  }

  protected override print(v: TopView | undefined): void {
    if (!v) return
    if (this.format === 'human') writeOut(viewText(v) + '\n')
    else super.print(viewJson(v) as never)
  }

  human(v: TopView | undefined) {
    return v ? viewText(v) : ''
  }
}
