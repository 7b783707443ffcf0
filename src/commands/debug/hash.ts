import {Args} from '@oclif/core'
import {createReadStream} from 'node:fs'
import {PachCommand} from '../../cli/base-command.js'
import {chunkStream} from '../../core/store/chunker.js'
import {contentHash, sha256, toHex} from '../../core/store/hash.js'

type R = {file: string; size: number; hash: string; chunks: {id: string; size: number}[]}

export default class DebugHash extends PachCommand<typeof DebugHash, R> {
  static override summary = 'Plumbing: chunk and hash a local file exactly as put file would, without storing it.'
  static override hidden = true
  static override examples = ['<%= config.bin %> debug hash ./big.bin --json']
  static override args = {file: Args.string({description: 'local file', required: true})}

  async exec(): Promise<R> {
    const chunks: {id: string; size: number}[] = []
    const ids: Buffer[] = []
    let size = 0
    for await (const c of chunkStream(createReadStream(this.args.file, {highWaterMark: 1 << 20}), this.pach.ctx.config.chunker)) {
      const id = sha256(c)
      ids.push(id)
      chunks.push({id: toHex(id), size: c.length})
      size += c.length
    }
    return {file: this.args.file, size, hash: toHex(contentHash(ids)), chunks}
  }

  human(r: R) {
    return `${r.hash}  ${r.file} (${r.size} bytes, ${r.chunks.length} chunks)`
  }
}
