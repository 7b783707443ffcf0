import {Args, Flags} from '@oclif/core'
import {formatFlags, PachCommand} from '../../cli/base-command.js'
import {datumTable} from '../../cli/format/pps.js'
import {readSpecs} from '../../cli/specs.js'
import {InvalidArgumentError} from '../../core/errors.js'
import {parseJob} from '../../core/pfs/refs.js'
import type {Input} from '../../core/pps/input.js'
import {pipelineKind, specInputRank} from '../../core/pps/spec/index.js'
import type {DatumInfo} from '../../core/types.js'

export default class ListDatum extends PachCommand<typeof ListDatum, DatumInfo[]> {
  static override summary = 'List the datums of a job, or preview the datums of a spec that is not created (-f).'
  static override description = 'With -f, the spec\'s inputs are planned against the current branch heads: the way to debug globs, joins and groups before creating a pipeline.'
  static override examples = ['<%= config.bin %> list datum edges@<id>', '<%= config.bin %> list datum -f join.json']
  static override args = {job: Args.string({description: '<pipeline>@<job-id>'})}
  static override flags = {...formatFlags, file: Flags.string({char: 'f', description: 'preview the datums of this spec file'})}
  static override aliases = ['list:datums']

  async exec(): Promise<DatumInfo[]> {
    if (this.flags.file) {
      const [s] = await readSpecs([this.flags.file], this.project, this.pach.reporter, (project) => this.pach.pipelines.defaultsFor(project))
      this.rank = specInputRank(s!.spec.input)
      if (pipelineKind(s!.spec) === 'spout') {
        throw new InvalidArgumentError('INVALID_INPUT', `${s!.file}: pipeline "${s!.spec.pipeline.name}": a spout has no input, so no datums to list`, {
          hint: 'a spout commits by itself while `pach serve` runs; list its output with `pach list commit`',
        })
      }
      return this.pach.jobs.previewDatumInfos(s!.spec)
    }
    if (!this.args.job) throw new InvalidArgumentError('MISSING_ARGUMENT', 'list datum needs <pipeline>@<job-id> or -f <spec>')
    const j = parseJob(this.args.job)
    const datums = this.pach.jobs.listDatums(this.project, j.pipeline, j.id)
    // the input as the job ran it; a job from before jobs recorded it: the pipeline's, if it still exists
    let input = (this.pach.jobs.inspect(this.project, j.pipeline, j.id).details as {input?: Input}).input
    if (!input && this.pach.pipelines.list(this.project).some((p) => p.pipeline.name === j.pipeline)) input = (this.pach.pipelines.inspect(this.project, j.pipeline).details as {input?: Input}).input
    if (input) this.rank = specInputRank(input)
    return datums
  }

  /** Where each input repo comes in the spec (the table lists a datum's files in spec order). */
  private rank?: ReturnType<typeof specInputRank>

  human(r: DatumInfo[]) {
    const rank = this.rank
    return datumTable(rank ? r.map((d) => ({...d, data: d.data.map((f, i) => ({f, i, r: rank(f.file.commit.repo)})).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.f)})) : r)
  }
}
