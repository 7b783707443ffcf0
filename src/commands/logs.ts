import {Flags} from '@oclif/core'
import {PachCommand, writeOut} from '../cli/base-command.js'
import {InvalidArgumentError} from '../core/errors.js'
import {isCommitId, parseJob} from '../core/pfs/refs.js'
import {queryLogs, type PipelineLogLine} from '../core/pps/log-query.js'
import {parseDuration} from '../core/units/duration.js'

type Line = PipelineLogLine

/**
 * pachctl's `logs` (the query is core/pps/log-query.ts): one job (`-j PIPELINE@ID`), one
 * pipeline (`-p`) or every pipeline. pach keeps only user code's output:
 * there is no master or worker process whose logs `--master`/`--worker` could select.
 * Deliberate differences: `-p P -j ID` (a bare id) is accepted too, and `--tail` works
 * (pachctl 2.x removed it).
 */
export default class Logs extends PachCommand<typeof Logs, Line[]> {
  static override summary = "Print the output (stdout and stderr) of pipelines' user code, per job and datum."
  static override examples = [
    '<%= config.bin %> logs -j edges@<id>',
    '<%= config.bin %> logs -p edges',
    '<%= config.bin %> logs -j edges@<id> --datum <datum-id>',
    '<%= config.bin %> logs -p edges --inputs /images/cat.png',
    '<%= config.bin %> logs -p edges --since 10m -f',
  ]
  static override flags = {
    pipeline: Flags.string({char: 'p', description: 'only logs of this pipeline'}),
    job: Flags.string({char: 'j', description: 'only logs of this job: <pipeline>@<job-id> (or a job id with -p)'}),
    datum: Flags.string({description: 'only logs of this datum id'}),
    inputs: Flags.string({description: 'only logs of datums that read these files (comma-separated PFS paths or file hashes)'}),
    since: Flags.string({description: 'only lines newer than this duration ago (Go syntax: 30s, 10m, 24h)'}),
    master: Flags.boolean({description: 'pachctl: logs of the master process (pach has none; refused)'}),
    worker: Flags.boolean({description: 'pachctl: logs of the worker process (pach has none; refused)'}),
    follow: Flags.boolean({char: 'f', description: 'keep printing new log lines as jobs run'}),
    tail: Flags.integer({char: 't', description: 'only the last N lines'}),
  }

  async exec(): Promise<Line[]> {
    const f = this.flags
    if (f.master || f.worker) {
      throw new InvalidArgumentError('USAGE', `--${f.master ? 'master' : 'worker'}: pach runs no master or worker process; its logs are what user code printed`, {
        hint: 'drop the flag: `pach logs` prints user code output; a job\'s failure is in `pach inspect job`',
      })
    }
    let pipeline = f.pipeline
    let job: string | undefined
    if (f.job !== undefined) {
      if (f.job.includes('@')) {
        if (pipeline !== undefined) throw new InvalidArgumentError('USAGE', 'only one of --pipeline and --job should be specified', {hint: `use \`-j ${f.job}\` alone`})
        ;({pipeline, id: job} = parseJob(f.job))
      } else {
        if (pipeline === undefined || !isCommitId(f.job)) {
          throw new InvalidArgumentError('INVALID_ADDRESS', `invalid job ${JSON.stringify(f.job)}: expected <pipeline>@<job-id>`, {hint: 'e.g. `pach logs -j edges@<id>` (ids: `pach list job`)'})
        }
        job = f.job
      }
    }
    const q = {project: this.project, pipeline, job, datum: f.datum, inputs: f.inputs?.split(',').filter((s) => s !== ''), sinceMs: f.since === undefined ? undefined : parseDuration(f.since)}
    const get = () => queryLogs(this.pach.jobs, this.pach.pipelines, this.pach.ctx.now(), q)
    let lines = get()
    if (f.tail) lines = lines.slice(-f.tail)
    if (!f.follow) return lines
    const key = (l: Line) => `${l.pipeline}\0${l.job}\0${l.datum}\0${l.ts}\0${l.stream}\0${l.message}`
    const seen = new Set(lines.map(key))
    for (const l of lines) this.emit(l)
    for (;;) {
      if (this.signal.aborted) return []
      await new Promise((r) => setTimeout(r, 500))
      for (const l of get()) {
        const k = key(l)
        if (seen.has(k)) continue
        seen.add(k)
        this.emit(l)
      }
    }
  }

  private emit(l: Line): void {
    writeOut(this.format === 'human' ? `${l.message}\n` : JSON.stringify(l) + '\n')
  }

  protected override print(r: Line[]): void {
    if (this.flags.follow) return
    if (this.format === 'human') writeOut(r.map((l) => l.message + '\n').join(''))
    else super.print(r)
  }

  human() {
    return ''
  }
}
