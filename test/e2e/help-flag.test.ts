/**
 * E2E: `-h` is `--help` on every command (pachctl's cobra gives every command `-h`), for
 * every command and alias in the shipped manifest, so a command added later is covered too.
 */
import {readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {describe, expect, it, vi} from 'vitest'
import {tmpProject} from '../helpers/cli.js'

vi.setConfig({testTimeout: 240_000})

const manifest = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, {aliases?: string[]}>
}
const ids = Object.entries(manifest.commands).flatMap(([id, c]) => [id, ...(c.aliases ?? [])])

describe('-h', () => {
  it(`prints the same help as --help, exit 0, for all ${ids.length} commands and aliases`, async () => {
    const p = await tmpProject(false)
    expect(ids.length).toBeGreaterThan(60)
    const failures: string[] = []
    // four at a time: each call is a short node start
    for (let i = 0; i < ids.length; i += 4) {
      await Promise.all(
        ids.slice(i, i + 4).map(async (id) => {
          const words = id.split(':')
          const [short, long] = await Promise.all([p.run([...words, '-h']), p.run([...words, '--help'])])
          if (short.exitCode !== 0 || !short.stdout.includes('USAGE') || short.stdout !== long.stdout || short.stderr !== '') {
            failures.push(`${words.join(' ')} -h: exit ${short.exitCode}, stderr ${JSON.stringify(short.stderr)}`)
          }
        }),
      )
    }
    expect(failures).toEqual([])
  })

  it('the root and topics take -h too', async () => {
    const p = await tmpProject(false)
    for (const args of [['-h'], ['list', '-h'], ['put', '-h']]) {
      const r = await p.run(args)
      expect(r.exitCode, args.join(' ')).toBe(0)
      expect(r.stdout).toBe((await p.run([...args.slice(0, -1), '--help'])).stdout)
      expect(r.stdout).toMatch(/USAGE|COMMANDS/)
    }
  })
})
