/**
 * `pach serve` tunes V8's heap for the buffers that stream through it (src/cli/serve-heap.ts):
 * a large ModifyFile must not set off a full collection every few MiB. Counted with node's
 * `--trace-gc`, which the serving child inherits from its parent's command line.
 */
import {randomBytes} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {serve} from '../helpers/serve.js'

const repo = {name: 'big', type: 'user', project: {name: 'default'}}
const onMaster = {repo, id: '', branch: {repo, name: 'master'}}
const MIB = 512

describe("pach serve's heap", () => {
  it(`a ${MIB} MiB ModifyFile sets off a few full collections, not one every few MiB`, {timeout: 120_000}, async () => {
    const s = await serve({nodeArgs: ['--trace-gc'], args: ['--no-s3']})
    await s.project.ok(['create', 'repo', 'big'])
    const c = s.client
    const fullGcs = () => s.stdout().split('\n').filter((l) => l.includes('Mark-Compact')).length
    const before = fullGcs()
    async function* big() {
      yield {set_commit: onMaster}
      // fresh bytes for every message: nothing deduplicates, every chunk is written
      for (let i = 0; i < MIB / 2; i++) yield {add_file: {path: '/big', datum: '', raw: {value: randomBytes(2 << 20)}}}
    }
    await c.send(c.pfs, 'ModifyFile', big())
    const during = fullGcs() - before
    // measured for 512 MiB: untuned 14-16, tuned 3-4
    expect(during).toBeLessThanOrEqual(8)
    expect(await s.project.ok(['list', 'file', 'big@master:/'])).toContain('/big')
  })
})
