import {Args, Flags} from '@oclif/core'
import {PachCommand} from '../cli/base-command.js'
import {drawLineage} from '../cli/format/lineage.js'
import {parseFile} from '../core/pfs/refs.js'
import type {LineageRow} from '../core/pps/lineage.js'

export default class Lineage extends PachCommand<typeof Lineage, LineageRow[]> {
  static override summary = 'Show which input files and datums made a file (or, with --downstream, which outputs it fed), across pipelines.'
  static override description = `Upstream (the default): the datums of the job that made the file's commit that wrote it, each with its input files (repo, commit, path, hash), then theirs, back to repos no pipeline writes. --downstream: every file, in every pipeline, written by a datum that read the file (or a directory holding it), then what those fed. A directory's lineage is that of every file under it.
--json: an array of rows in tree order, each {index, parent, depth, project, repo, commit, path, hash} and, below the first, the datum on the edge from its parent {pipeline_project, pipeline, job, datum}; "repeated": true on a file already expanded above; "note" where the records cannot tell (e.g. an output commit no job made).`
  static override examples = [
    '<%= config.bin %> lineage montage@master:/montage.png',
    '<%= config.bin %> lineage images@master^:/cat.png --downstream',
    '<%= config.bin %> lineage edges@0123456789abcdef0123456789abcdef:/ --json',
  ]
  static override args = {file: Args.string({description: '<repo>@<ref>:<path> (ref: a branch, branch^, or a commit id)', required: true})}
  static override flags = {
    downstream: Flags.boolean({description: 'list what the file fed instead of what made it'}),
    depth: Flags.integer({description: 'stop after this many pipelines', min: 1}),
  }

  async exec() {
    const ref = parseFile(this.args.file, 'master')
    return this.pach.lineage.trace(this.project, ref, {direction: this.flags.downstream ? 'downstream' : 'upstream', maxDepth: this.flags.depth})
  }

  human(rows: LineageRow[]) {
    return drawLineage(rows, this.flags.downstream ? 'downstream' : 'upstream')
  }
}
