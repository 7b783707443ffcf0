import {Flags} from '@oclif/core'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {PachCommand} from '../cli/base-command.js'
import {runDemo, type DemoStep} from '../cli/demo.js'

type R = {project_dir: string; steps: DemoStep[]}

export default class Demo extends PachCommand<typeof Demo, R> {
  static override summary = 'Run a self-contained example end to end in a fresh project (no Docker needed).'
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --dir ./demo-project']
  static override flags = {dir: Flags.string({description: 'project directory to create (default: a new temp dir)'})}
  static override needsRepo = false

  async exec(): Promise<R> {
    const dir = this.flags.dir ? resolve(this.flags.dir) : mkdtempSync(join(tmpdir(), 'pach-demo-'))
    const steps = await runDemo(dir, (s) => {
      if (this.format === 'human') process.stdout.write(`$ ${s.command}\n${s.output}${s.output.endsWith('\n') || !s.output ? '' : '\n'}\n`)
    })
    return {project_dir: dir, steps}
  }

  human(r: R) {
    return `Demo project left in ${r.project_dir} — cd there and try \`pach list commit words\`.`
  }
}
