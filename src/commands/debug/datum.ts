import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {runnerChoice, runnerFactory} from '../../cli/jobs.js'
import {readSpecs} from '../../cli/specs.js'
import {CancelledError, InvalidArgumentError, JobFailedError, printable} from '../../core/errors.js'
import {parseJob} from '../../core/pfs/refs.js'
import type {DatumDebugResult, DebugTarget} from '../../core/pps/datum-debug.js'
import {parseDatumFilter} from '../../core/pps/datum-restart.js'

export default class DebugDatum extends PachCommand<typeof DebugDatum, DatumDebugResult> {
  static override summary = "Rerun one datum's transform as its job ran it, output live, or open a shell in its sandbox; nothing reaches a repo."
  static override description =
    "The datum's /pfs is materialised as its job saw it (inputs at the job's input commits, the spec's env and secrets, the same image or sandbox, working dir and user). " +
    'DATUM is its id (`list datum`) or its input paths (or content hashes) separated by ","; --input adds more. With -f, the datum is one of those a spec not created would have (`list datum -f`). ' +
    "A transform that exits non-zero (and not in accept_return_code) exits 3 (DATUM_FAILED) with its exit code in the message; --shell exits 0 whatever the shell's status. " +
    '/pfs/out is kept in a temp directory whose path is printed, or copied to --out.'
  static override examples = [
    '<%= config.bin %> debug datum edges@<job-id> <datum-id>',
    '<%= config.bin %> debug datum edges@<job-id> /images/cat.png --shell',
    "echo 'ls -R /pfs' | <%= config.bin %> debug datum edges@<job-id> /images/cat.png --shell",
    '<%= config.bin %> debug datum -f edges.json --input /images/cat.png --out ./debug-out',
  ]
  static override args = {
    job: Args.string({description: '<pipeline>@<job-id>'}),
    datum: Args.string({description: 'the datum id, or its input paths (or content hashes) separated by ","'}),
  }
  static override flags = {
    file: Flags.string({char: 'f', description: 'a spec not created: the datum is one of those it would have (as `list datum -f`)'}),
    input: Flags.string({char: 'i', description: 'input paths of the datum (or its id), separated by ","', multiple: true}),
    shell: Flags.boolean({description: "open an interactive shell in the datum's sandbox instead of running the transform"}),
    out: Flags.string({description: 'copy /pfs/out into this new or empty directory afterwards'}),
    runner: Flags.string({description: 'where the code runs', options: ['docker', 'local', 'auto'], env: 'PACH_RUNNER'}),
  }

  async exec(): Promise<DatumDebugResult> {
    const {file, input, shell, out, runner} = this.flags
    if (shell && this.format !== 'human') throw new InvalidArgumentError('USAGE', '--shell is interactive: it cannot print --json or --raw', {hint: 'drop --json, or drop --shell to rerun the transform'})
    let target: DebugTarget
    let datumArg = this.args.datum
    if (file) {
      // with -f the one positional argument, if any, names the datum
      if (datumArg !== undefined) throw new InvalidArgumentError('USAGE', 'with -f, name the datum with --input (no <pipeline>@<job-id>)')
      datumArg = this.args.job
      const [s] = await readSpecs([file], this.project, this.pach.reporter, (project) => this.pach.pipelines.defaultsFor(project))
      target = {spec: s!.spec}
    } else {
      if (!this.args.job) throw new InvalidArgumentError('MISSING_ARGUMENT', 'debug datum needs <pipeline>@<job-id> and a datum, or -f <spec> --input <paths>')
      target = {job: {project: this.project, ...parseJob(this.args.job)}}
    }
    const filters = [...(datumArg ? parseDatumFilter(datumArg) : []), ...(input ?? []).flatMap(parseDatumFilter)]
    // an interactive shell on a terminal gets the terminal's Ctrl-C (pach waits for it to exit)
    this.passSigint = shell && Boolean(process.stdin.isTTY)
    // stdout is data: with --json user code's stdout goes to stderr
    const terminal = {stdin: process.stdin, stdout: this.format === 'human' ? process.stdout : process.stderr, stderr: process.stderr}
    const r = await this.pach.jobs.debugDatum(target, {
      filters,
      shell,
      out,
      terminal,
      signal: this.signal,
      runner: runnerFactory(this.pach, runnerChoice(this.pach, runner), this.signal),
      onReady: (i) => {
        const files = i.inputs.map((x) => `/pfs/${x.name}${x.path === '/' ? '' : x.path.replace(/\/$/, '')} (${x.repo}@${x.commit.slice(0, 8)})`).join(', ')
        process.stderr.write(`datum ${i.datum.slice(0, 12)} on ${i.runner}: ${printable(files)}\n`)
        process.stderr.write(shell ? `shell in the datum's sandbox; the transform is: ${printable(quote(i.cmd))}\n` : `running: ${printable(quote(i.cmd))}\n`)
      },
    })
    this.passSigint = false
    const outs = r.out_dir === null ? '/pfs/out is empty' : `/pfs/out (${r.out_files} file${r.out_files === 1 ? '' : 's'}) is in ${r.out_dir}`
    if (this.signal.aborted) throw new CancelledError(`interrupted; ${outs}`, {data: {...r}})
    if (r.mode === 'run' && !r.succeeded) {
      const why = r.error || `user code exited with code ${r.exit_code}`
      throw new JobFailedError(`datum ${r.datum.id.slice(0, 12)}: ${why}; ${outs}`, {code: 'DATUM_FAILED', data: {...r}})
    }
    if (this.format === 'human') process.stderr.write(`${r.mode === 'shell' ? `shell exited with code ${r.exit_code}; ` : `user code exited with code ${r.exit_code}; `}${printable(outs)}\n`)
    return r
  }

  human() {
    return ''
  }
}

/** argv as a shell would take it back (for display). */
function quote(cmd: string[]): string {
  return cmd.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
}
