import {Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {drawDag, type DagNode} from '../../cli/format/dag.js'
import {walkPfs} from '../../core/pps/input.js'
import type {PipelineSpec} from '../../core/pps/spec/index.js'

type R = {nodes: DagNode[]}

export default class DrawPipeline extends PachCommand<typeof DrawPipeline, R> {
  static override summary = "Draw the project's pipeline DAG in the terminal: every repo and pipeline once, in layers, with an edge from each input to its pipeline."
  static override examples = ['<%= config.bin %> draw pipeline', '<%= config.bin %> draw pipeline --box-width 20 --edge-height 4']
  static override flags = {
    'box-width': Flags.integer({description: 'the narrowest box, in characters (boxes widen to fit their name)', min: 0}),
    'edge-height': Flags.integer({description: 'the fewest rows between two layers', min: 2}),
  }

  async exec(): Promise<R> {
    const nodes = new Map<string, DagNode>()
    for (const p of this.pach.pipelines.list(this.project)) {
      const inputs = [...new Set(walkPfs((p.details as unknown as PipelineSpec).input).map((i) => i.repo))]
      nodes.set(p.pipeline.name, {name: p.pipeline.name, kind: 'pipeline', inputs})
      for (const i of inputs) if (!nodes.has(i)) nodes.set(i, {name: i, kind: 'repo', inputs: []})
    }
    return {nodes: [...nodes.values()]}
  }

  human(r: R) {
    const picture = drawDag(r.nodes, {boxWidth: this.flags['box-width'], edgeHeight: this.flags['edge-height']})
    return picture ? `${picture}\n\n▣ repo   ⚙ pipeline` : 'no pipelines'
  }
}
