import {Args} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {jobFlags} from '../../cli/jobs.js'
import {NotFoundError} from '../../core/errors.js'
import {walkCron} from '../../core/pps/input.js'
import type {PipelineSpec} from '../../core/pps/spec/index.js'
import {parseCommit} from '../../core/pfs/refs.js'
import type {CommitInfo} from '../../core/types.js'

export default class RunCron extends PachCommand<typeof RunCron, CommitInfo[]> {
  static override summary = 'Tick every cron input of a pipeline now (then run the jobs that triggered).'
  static override description = 'pach has no background ticker: `pach run` writes the ticks that are due; this writes one now, whatever the schedule.'
  static override examples = ['<%= config.bin %> run cron nightly-report']
  static override args = {pipeline: Args.string({description: 'pipeline name', required: true})}
  static override triggersJobs = true
  static override flags = {...jobFlags}

  async exec() {
    const p = this.pach.pipelines.must(this.project, this.args.pipeline)
    const spec = JSON.parse(p.spec) as PipelineSpec
    if (walkCron(spec.input).length === 0) throw new NotFoundError('NO_CRON_INPUT', `pipeline "${p.name}" has no cron input`)
    const ticks = this.pach.pipelines.cronTicks(new Date(this.pach.now()), {project: this.project, name: p.name, force: true})
    return ticks.map((t) => this.pach.commits.inspect(t.project, parseCommit(`${t.repo}@${t.id}`)))
  }

  human(r: CommitInfo[]) {
    return r.map((c) => `${c.commit.repo.name}@${c.commit.id}`).join('\n')
  }
}
