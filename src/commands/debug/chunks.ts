import {Args} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {table} from '../../cli/format/values.js'
import type {ChunkListing} from '../../core/pfs/debug-service.js'
import {parseFile} from '../../core/pfs/refs.js'

export default class DebugChunks extends PachCommand<typeof DebugChunks, ChunkListing> {
  static override summary = "Plumbing: show a stored file's chunk list and where each chunk lives."
  static override hidden = true
  static override examples = ['<%= config.bin %> debug chunks images@master:/cat.png']
  static override args = {file: Args.string({description: '<repo>@<ref>:<path>', required: true})}

  async exec(): Promise<ChunkListing> {
    return this.pach.debug.chunks(this.project, parseFile(this.args.file, 'master'))
  }

  human(r: ChunkListing) {
    return table(['CHUNK', 'SIZE', 'PACK', 'OFFSET'], r.chunks.map((c) => [c.id, String(c.size), c.pack ?? 'MISSING', String(c.offset ?? '-')]))
  }
}
