import {Args} from '@oclif/core'
import {createReadStream} from 'node:fs'
import {PachCommand} from '../../cli/base-command.js'
import type {HashListing} from '../../core/pfs/debug-service.js'

type R = {file: string} & HashListing

export default class DebugHash extends PachCommand<typeof DebugHash, R> {
  static override summary = 'Plumbing: chunk and hash a local file exactly as put file would, without storing it.'
  static override hidden = true
  static override examples = ['<%= config.bin %> debug hash ./big.bin --json']
  static override args = {file: Args.string({description: 'local file', required: true})}

  async exec(): Promise<R> {
    const r = await this.pach.debug.hash(createReadStream(this.args.file, {highWaterMark: 1 << 20}))
    return {file: this.args.file, ...r}
  }

  human(r: R) {
    return `${r.hash}  ${r.file} (${r.size} bytes, ${r.chunks.length} chunks)`
  }
}
