/**
 * `pach serve` tunes V8's heap for the buffers that stream through it (src/cli/serve-heap.ts):
 * a large ModifyFile must not set off a full collection every few MiB. Counted with node's
 * `--trace-gc`, which the serving child inherits from its parent's command line.
 */
import {execa} from 'execa'
import {randomBytes} from 'node:crypto'
import {describe, expect, it, onTestFinished} from 'vitest'
import {PachdClient} from '../../src/client/pachd-client.js'
import {BIN, tmpProject} from '../helpers/cli.js'

const repo = {name: 'big', type: 'user', project: {name: 'default'}}
const onMaster = {repo, id: '', branch: {repo, name: 'master'}}
const MIB = 512

describe("pach serve's heap", () => {
  it(`a ${MIB} MiB ModifyFile sets off a few full collections, not one every few MiB`, {timeout: 120_000}, async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'big'])
    const proc = execa('node', ['--trace-gc', BIN, 'serve', '--address', 'localhost:0', '--no-s3', '--json'], {cwd: p.dir, reject: false, buffer: false, env: {PACH_DETACH: ''}})
    onTestFinished(async () => {
      proc.kill('SIGTERM')
      await proc
    })
    let out = ''
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    const line = await new Promise<string>((resolve, reject) => {
      const t = setInterval(() => {
        const l = out.split('\n').find((x) => x.startsWith('{"address"'))
        if (l) resolve(l), clearInterval(t)
      }, 20)
      proc.then((r) => reject(new Error(`pach serve exited ${r.exitCode}: ${out}`)))
    })
    const c = new PachdClient(`grpc://${(JSON.parse(line) as {address: string}).address}`)
    onTestFinished(() => c.close())
    const fullGcs = () => out.split('\n').filter((l) => l.includes('Mark-Compact')).length
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
    expect(await p.ok(['list', 'file', 'big@master:/'])).toContain('/big')
  })
})
