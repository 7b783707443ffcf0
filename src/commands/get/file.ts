import {Args, Flags} from '@oclif/core'
import {createWriteStream, existsSync, renameSync, rmSync, statSync} from 'node:fs'
import {pipeline} from 'node:stream/promises'
import {PachCommand} from '../../cli/base-command.js'
import {InvalidArgumentError} from '../../core/errors.js'
import {parseFile} from '../../core/pfs/refs.js'

type R = {files: number; bytes: number; output: string | null}

export default class GetFile extends PachCommand<typeof GetFile, R> {
  static override summary = 'Get a file (to stdout or -o), or a directory with -r -o <dir>.'
  static override examples = [
    '<%= config.bin %> get file images@master:/cat.png -o cat.png',
    '<%= config.bin %> get file logs@master^2:/today.log | tail',
    '<%= config.bin %> get file images@master:/raw -r -o ./raw',
  ]
  static override args = {file: Args.string({description: '<repo>@<ref>:<path>', required: true})}
  static override flags = {
    output: Flags.string({char: 'o', description: 'write to this local path instead of stdout'}),
    recursive: Flags.boolean({char: 'r', description: 'download a directory (requires -o)'}),
    offset: Flags.integer({description: 'start reading at this byte offset', default: 0, min: 0}),
  }
  static override aliases = ['get:files']

  async exec(): Promise<R> {
    const ref = parseFile(this.args.file, 'master')
    const out = this.flags.output
    if (this.flags.recursive) {
      if (!out) throw new InvalidArgumentError('MISSING_OUTPUT', 'get file -r needs -o <local dir>')
      if (existsSync(out) && !statSync(out).isDirectory()) throw new InvalidArgumentError('OUTPUT_EXISTS', `${out} exists and is not a directory`)
      const res = this.pach.files.materialize(this.project, ref, out)
      return {...res, output: out}
    }
    const {info, stream} = this.pach.files.read(this.project, ref, this.flags.offset)
    if (!out) {
      await pipeline(stream, process.stdout, {end: false}).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPIPE') throw e
      })
      return {files: 1, bytes: info.size_bytes, output: null}
    }
    const tmp = `${out}.pach-tmp-${process.pid}`
    try {
      await pipeline(stream, createWriteStream(tmp), {signal: this.signal})
      renameSync(tmp, out)
    } catch (e) {
      rmSync(tmp, {force: true})
      throw e
    }
    return {files: 1, bytes: info.size_bytes, output: out}
  }

  protected override print(r: R): void {
    if (this.format !== 'human' && r.output) super.print(r)
  }

  human() {
    return ''
  }
}
