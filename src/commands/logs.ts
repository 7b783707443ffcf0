import {Flags} from '@oclif/core'
import {PachCommand, writeOut} from '../cli/base-command.js'
import {InvalidArgumentError} from '../core/errors.js'

type Line = {job: string; datum: string; ts: string; stream: string; message: string}

export default class Logs extends PachCommand<typeof Logs, Line[]> {
  static override summary = "Print the output (stdout and stderr) of a pipeline's user code, per job and datum."
  static override examples = ['<%= config.bin %> logs -p edges', '<%= config.bin %> logs -p edges --job <id> --datum <datum-id>', '<%= config.bin %> logs -p edges -f']
  static override flags = {
    pipeline: Flags.string({char: 'p', description: 'pipeline', required: true}),
    job: Flags.string({char: 'j', description: 'only this job id'}),
    datum: Flags.string({description: 'only this datum id'}),
    follow: Flags.boolean({char: 'f', description: 'keep printing new log lines as jobs run'}),
    tail: Flags.integer({char: 't', description: 'only the last N lines'}),
  }

  async exec(): Promise<Line[]> {
    if (this.flags.job && !/^[0-9a-f]{32}$/.test(this.flags.job)) throw new InvalidArgumentError('INVALID_ADDRESS', `invalid job id ${this.flags.job}`)
    const get = () => this.pach.jobs.logs(this.project, this.flags.pipeline, {job: this.flags.job, datum: this.flags.datum})
    let lines = get()
    if (this.flags.tail) lines = lines.slice(-this.flags.tail)
    if (!this.flags.follow) return lines
    const key = (l: Line) => `${l.job}\0${l.datum}\0${l.ts}\0${l.stream}\0${l.message}`
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
