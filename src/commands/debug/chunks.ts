import {Args} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {table} from '../../cli/format/values.js'
import {InvalidArgumentError} from '../../core/errors.js'
import {parseFile} from '../../core/pfs/refs.js'
import {toHex} from '../../core/store/hash.js'

type R = {path: string; hash: string; size: number; chunks: {id: string; size: number; pack: string | null; offset: number | null}[]}

export default class DebugChunks extends PachCommand<typeof DebugChunks, R> {
  static override summary = "Plumbing: show a stored file's chunk list and where each chunk lives."
  static override hidden = true
  static override examples = ['<%= config.bin %> debug chunks images@master:/cat.png']
  static override args = {file: Args.string({description: '<repo>@<ref>:<path>', required: true})}

  async exec(): Promise<R> {
    const ref = parseFile(this.args.file, 'master')
    const {commit} = this.pach.engine.resolve.commit(ref.commit, this.project)
    const e = this.pach.files.entryAt(commit.tree, ref.path)
    if (!e || e.kind !== 'file') throw new InvalidArgumentError('NOT_A_FILE', `${ref.path} is not a file in that commit`)
    return {
      path: ref.path,
      hash: toHex(e.hash),
      size: e.size,
      chunks: e.chunks.map((c, i) => {
        const loc = this.pach.ctx.store.locate(c)
        return {id: toHex(c), size: e.sizes[i]!, pack: loc ? toHex(loc.pack) : null, offset: loc?.offset ?? null}
      }),
    }
  }

  human(r: R) {
    return table(['CHUNK', 'SIZE', 'PACK', 'OFFSET'], r.chunks.map((c) => [c.id, String(c.size), c.pack ?? 'MISSING', String(c.offset ?? '-')]))
  }
}
