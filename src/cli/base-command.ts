/**
 * PachCommand: what every command shares. A command declares flags/args and implements
 * `exec(pach)` (one core call, returning a typed result) and `human(result)` (text for a
 * terminal). The base opens the project, renders the result, closes the project in
 * `finally`, and turns errors into one line on stderr (plus a JSON error envelope on stdout
 * with --json) and the mapped exit code. Unknown errors are bugs: they print a stack and exit 20.
 *
 * Output forms (one place for every command; the objects are pachctl's message shapes):
 * - text for humans (the default);
 * - `--json`, pach's scripting form: exactly one JSON document on stdout, an array for lists;
 * - `--raw [-o json|yaml]`, pachctl's form: one object per item (see writeJsonStream and
 *   yamlStream), nothing for an empty list, nothing on stdout on failure. `-o` alone implies
 *   `--raw`; `--json` with `--raw`/`-o` is a usage error.
 */
import {Command, Flags, Interfaces} from '@oclif/core'
import {CancelledError, EXIT_CODES, InternalError, InvalidArgumentError, isPachError, PachError, printable, translateSystemError} from '../core/errors.js'
import {openPach, type Pach} from '../core/pach.js'
import {bufferedWriter, Listing, rawItems, writeJsonArray, writeJsonStream, yamlStream} from './listing.js'
import {cliReporter} from './reporter.js'

export type PachFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof PachCommand)['baseFlags'] & T['flags']>
export type PachArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** `-o/--output json|yaml` for list/inspect commands (pachctl's raw output format). */
export const formatFlags = {
  output: Flags.string({char: 'o', description: 'output format with --raw: json or yaml (implies --raw)', options: ['json', 'yaml']}),
  'full-timestamps': Flags.boolean({description: 'print absolute timestamps'}),
}

export abstract class PachCommand<T extends typeof Command, R = unknown> extends Command {
  static override baseFlags = {
    json: Flags.boolean({description: 'print the result as one JSON document (an array for lists) on stdout', helpGroup: 'GLOBAL'}),
    raw: Flags.boolean({description: "print pachctl's raw form: one JSON (or -o yaml) object per item", helpGroup: 'GLOBAL'}),
    'pach-dir': Flags.string({description: 'the .pach directory to use (default: nearest .pach upward)', env: 'PACH_DIR', helpGroup: 'GLOBAL'}),
    project: Flags.string({description: 'project to act in', env: 'PACH_PROJECT', default: 'default', helpGroup: 'GLOBAL'}),
  }

  /** 'none' commands do not open a project (init, version). */
  static needsRepo = true
  /** commands that can finish commits run the jobs they triggered (see cli/jobs.ts) */
  static triggersJobs = false

  protected flags!: PachFlags<T>
  protected args!: PachArgs<T>
  protected pach!: Pach
  protected readonly abort = new AbortController()
  /** while true, Ctrl-C belongs to a child on the terminal (an interactive shell): pach ignores it */
  protected passSigint = false

  protected get signal(): AbortSignal {
    return this.abort.signal
  }

  /** Output form chosen by flags (see the header). */
  protected get format(): 'human' | 'json' | 'raw-json' | 'raw-yaml' {
    const f = this.flags as {json?: boolean; raw?: boolean}
    if (f.json) return 'json'
    const output = this.outputFlag
    if (output === 'yaml') return 'raw-yaml'
    if (f.raw || output === 'json') return 'raw-json'
    return 'human'
  }

  /** `-o json|yaml` where the command has formatFlags (elsewhere -o is the command's own, e.g. get file's path). */
  private get outputFlag(): string | undefined {
    const own = (this.ctor as typeof Command).flags?.output
    return own === formatFlags.output ? (this.flags as {output?: string}).output : undefined
  }

  protected get fullTimestamps(): boolean {
    return Boolean((this.flags as {'full-timestamps'?: boolean})['full-timestamps'])
  }

  override async init(): Promise<void> {
    await super.init()
    const ctor = this.ctor as typeof PachCommand & typeof Command
    const {args, flags} = await this.parse({
      flags: ctor.flags,
      baseFlags: (super.ctor as typeof PachCommand).baseFlags,
      enableJsonFlag: false,
      args: ctor.args,
      strict: ctor.strict,
    })
    this.flags = flags as PachFlags<T>
    this.args = args as PachArgs<T>
    if (flags.json && (flags.raw || this.outputFlag)) {
      throw new InvalidArgumentError('USAGE', `--json and ${flags.raw ? '--raw' : '-o'} are two output forms; use one`, {
        hint: '--json prints one document (an array for lists), --raw [-o json|yaml] one object per item',
      })
    }
  }

  abstract exec(): Promise<R>

  /** Text for humans; return '' for nothing. */
  abstract human(result: R): string

  protected openPach(): Pach {
    return openPach({
      pachDir: this.flags['pach-dir'],
      busyTimeoutMs: envInt('PACH_BUSY_TIMEOUT_MS'),
      now: envClock(),
      reporter: cliReporter({progress: this.format === 'human'}),
    })
  }

  protected get project(): string {
    return this.flags.project
  }

  async run(): Promise<R> {
    const onSigint = () => {
      if (this.passSigint) return
      if (this.abort.signal.aborted) process.exit(EXIT_CODES.cancelled)
      this.abort.abort(new CancelledError('interrupted'))
    }
    process.on('SIGINT', onSigint)
    process.on('SIGTERM', onSigint)
    try {
      if ((this.ctor as typeof PachCommand).needsRepo) this.pach = this.openPach()
      const result = await this.exec()
      await this.printAsync(result)
      if ((this.ctor as typeof PachCommand).triggersJobs && this.pach) {
        const f = this.flags as {detach?: boolean; runner?: string}
        const {runTriggered} = await import('./jobs.js')
        await runTriggered(this.pach, {detach: f.detach, runner: f.runner, signal: this.signal, quiet: this.format !== 'human'})
      }
      return result
    } finally {
      process.off('SIGINT', onSigint)
      process.off('SIGTERM', onSigint)
      this.pach?.close()
    }
  }

  protected async printAsync(result: R): Promise<void> {
    if (this.format === 'raw-yaml') {
      const YAML = (await import('yaml')).default
      const out = bufferedWriter(writeOut)
      // no anchors/aliases: pachctl's encoder writes every repeated object out in full
      yamlStream((x) => YAML.stringify(x, {aliasDuplicateObjects: false}), rawItems(result), out.write)
      out.flush()
    } else this.print(result)
  }

  /**
   * Write the result in the chosen form; a Listing is written as it is read (see
   * cli/listing.ts). YAML is written by printAsync (the yaml module loads lazily), so only a
   * subclass's own print reaches here with raw-yaml: it gets the JSON stream.
   */
  protected print(result: R): void {
    const fmt = this.format
    const out = bufferedWriter(writeOut)
    if (fmt === 'raw-json' || fmt === 'raw-yaml') writeJsonStream(rawItems(result), out.write)
    else if (fmt === 'json') {
      if (result instanceof Listing) writeJsonArray(result.items, out.write)
      else out.write(JSON.stringify(result ?? null, null, 2))
      out.write('\n')
    } else if (result instanceof Listing) result.human(out.write)
    else {
      const s = this.human(result)
      if (s) out.write(s.endsWith('\n') ? s : s + '\n')
    }
    out.flush()
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's parse/usage errors: one line too, exit 2 (its ExitError is a normal exit)
    if (!isPachError(err) && err.oclif !== undefined) {
      if (err.name === 'ExitError' || (err as {code?: string}).code === 'EEXIT') return super.catch(err)
      // parsing was attempted (and failed): keep oclif from warning that it never happened
      ;(this as unknown as {parsed: boolean}).parsed = true
      const msg = err.message.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('See more help')).join(' ').replace(/\s+/g, ' ')
      err = new InvalidArgumentError('USAGE', msg, {hint: `see \`pach ${this.id?.replace(/:/g, ' ') ?? ''} --help\``}) as never
    }
    if (this.abort.signal.aborted && !isPachError(err)) err = new CancelledError('interrupted') as never
    const e = translateSystemError(err)
    const pe: PachError = isPachError(e)
      ? e
      : (e as Error)?.name === 'AbortError'
        ? new CancelledError('interrupted')
        : new InternalError(`unexpected error: ${(e as Error)?.message ?? String(e)}`, {cause: e})
    // the envelope is --json's contract; pachctl's --raw prints nothing on failure
    const json = this.flags ? this.format === 'json' : process.argv.includes('--json')
    if (json) {
      writeOut(JSON.stringify({error: {code: pe.code, message: pe.message, hint: pe.hint ?? null, data: pe.data}}, null, 2) + '\n')
    }
    if (pe instanceof InternalError) {
      process.stderr.write(`pach: internal error (this is a bug, please report it): ${printable(pe.message)}\n`)
      const cause = (pe as {cause?: unknown}).cause
      if (cause instanceof Error && cause.stack) process.stderr.write(cause.stack + '\n')
    } else {
      // an error that lists several problems (a spec with several mistakes) prints each on its own line
      const each = problemLines(pe) ?? [{message: pe.message, hint: pe.hint}]
      for (const p of each) process.stderr.write(`pach: ${printable(p.message)}${p.hint ? ` (${printable(p.hint)})` : ''}\n`)
    }
    process.exitCode = pe.exitCode
    return undefined
  }
}

/** The problems an error lists in `data.errors` ({message, hint?} each), when it lists more than one. */
function problemLines(e: PachError): {message: string; hint?: string}[] | undefined {
  const list = e.data.errors
  if (!Array.isArray(list) || list.length < 2) return undefined
  if (!list.every((p) => typeof p === 'object' && p !== null && typeof (p as {message?: unknown}).message === 'string')) return undefined
  return list.map((p: {message: string; hint?: unknown}) => ({message: p.message, hint: typeof p.hint === 'string' ? p.hint : undefined}))
}

/** A non-negative integer setting from the environment (undefined when unset); a bad value is a usage error. */
export function envInt(name: string): number | undefined {
  const v = process.env[name]
  if (v === undefined || v === '') return undefined
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('INVALID_ENV', `${name}=${JSON.stringify(v)} is not a non-negative integer`)
  return Number(v)
}

const RFC3339 = /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/

/**
 * The project's clock from `PACH_NOW` (an RFC 3339 time; a test and scripting hook): time
 * starts at that instant when the command starts and runs on at wall-clock speed, so cron
 * ticks and triggers see the time a test chooses without sleeping. Undefined when unset (the
 * core then uses the wall clock); a bad value is a usage error.
 */
export function envClock(name = 'PACH_NOW'): (() => string) | undefined {
  const v = process.env[name]
  if (v === undefined || v === '') return undefined
  const at = Date.parse(v)
  if (!RFC3339.test(v) || Number.isNaN(at)) {
    throw new InvalidArgumentError('INVALID_ENV', `${name}=${JSON.stringify(v)} is not an RFC 3339 time`, {hint: 'write it like 2026-01-02T15:04:05Z'})
  }
  const offset = at - Date.now()
  return () => new Date(Date.now() + offset).toISOString()
}

/** Write to stdout, ignoring EPIPE (e.g. `pach get file … | head`). */
export function writeOut(s: string | Uint8Array): void {
  try {
    process.stdout.write(s)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e
  }
}

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0)
})
