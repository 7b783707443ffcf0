import {PachCommand} from '../../cli/base-command.js'
import {walkPfs} from '../../core/pps/input.js'
import type {PipelineSpec} from '../../core/pps/spec/index.js'

type R = {nodes: {name: string; kind: 'repo' | 'pipeline'; inputs: string[]}[]}

export default class DrawPipeline extends PachCommand<typeof DrawPipeline, R> {
  static override summary = 'Draw the pipeline DAG in the terminal.'
  static override examples = ['<%= config.bin %> draw pipeline']

  async exec(): Promise<R> {
    const pipes = this.pach.pipelines.list(this.project)
    const nodes = new Map<string, {name: string; kind: 'repo' | 'pipeline'; inputs: string[]}>()
    for (const p of pipes) {
      const inputs = [...new Set(walkPfs((p.details as unknown as PipelineSpec).input).map((i) => i.repo))]
      nodes.set(p.pipeline.name, {name: p.pipeline.name, kind: 'pipeline', inputs})
      for (const i of inputs) if (!nodes.has(i)) nodes.set(i, {name: i, kind: 'repo', inputs: []})
    }
    return {nodes: [...nodes.values()]}
  }

  human(r: R) {
    const children = new Map<string, string[]>()
    for (const n of r.nodes) for (const i of n.inputs) children.set(i, [...(children.get(i) ?? []), n.name])
    const byName = new Map(r.nodes.map((n) => [n.name, n]))
    const lines: string[] = []
    const draw = (name: string, prefix: string, last: boolean, from?: string) => {
      const n = byName.get(name)!
      const others = from ? n.inputs.filter((i) => i !== from) : []
      const label = `${n.kind === 'pipeline' ? '⚙ ' : '▣ '}${name}${others.length ? `  (also reads ${others.join(', ')})` : ''}`
      lines.push(from === undefined ? label : `${prefix}${last ? '└─▶ ' : '├─▶ '}${label}`)
      const kids = children.get(name) ?? []
      kids.forEach((k, i) => draw(k, from === undefined ? '' : prefix + (last ? '    ' : '│   '), i === kids.length - 1, name))
    }
    const roots = r.nodes.filter((n) => n.inputs.length === 0)
    for (const root of roots) draw(root.name, '', true)
    return lines.length ? lines.join('\n') + '\n\n▣ repo   ⚙ pipeline' : 'no pipelines'
  }
}
