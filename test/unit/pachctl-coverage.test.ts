/**
 * pachctl's commands and pach's answer for each (src/cli/pachctl.ts): the README's coverage
 * table lists exactly that, and the unknown-command line (src/cli/main.ts) gives the pointer
 * for every pachctl command pach lacks.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {unknownCommand} from '../../src/cli/main.js'
import {PACHCTL_COMMANDS, pachctlCommand} from '../../src/cli/pachctl.js'

const ROOT = join(import.meta.dirname, '../..')

function readmeRows(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.split(/^## pachctl coverage$/m)[1]!.split(/^## /m)[0]!
  return section.split('\n').filter((l) => /^\| (pfs|pps|transaction|config) \|/.test(l))
}

describe('pachctl coverage', () => {
  it('the README table has one row per pachctl command of the four groups, saying what the list says', () => {
    const expected = PACHCTL_COMMANDS.filter((c) => c.group !== 'cluster').map(
      (c) => `| ${c.group} | \`pachctl ${c.pachctl}\` | ${c.pach ? `\`pach ${c.pach}\`${c.differs ? ` — ${c.differs}` : ''}` : `not supported: ${c.instead}`} |`,
    )
    expect(readmeRows()).toEqual(expected)
  })

  it('every entry is either supported or says what to use instead, each pachctl command once', () => {
    for (const c of PACHCTL_COMMANDS) expect(Boolean(c.pach) !== Boolean(c.instead), c.pachctl).toBe(true)
    const names = PACHCTL_COMMANDS.map((c) => c.pachctl)
    expect(new Set(names).size).toBe(names.length)
  })

  it('an unsupported pachctl command typed as a command gets its pointer; the longest match wins', () => {
    for (const c of PACHCTL_COMMANDS.filter((x) => x.instead)) {
      const line = unknownCommand([...c.pachctl.split(' '), 'arg@x:/y', '--flag'], [{id: 'list repo', canonical: 'list repo'}])
      expect(line).toBe(`pach: \`${c.pachctl}\` is a pachctl command pach does not have: ${c.instead}`)
    }
    expect(pachctlCommand(['config', 'get', 'metrics'])?.pachctl).toBe('config get metrics')
    expect(pachctlCommand(['config', 'whatever'])?.pachctl).toBe('config')
    expect(pachctlCommand(['lst', 'repo'])).toBeUndefined()
  })

  it('a pachctl command pach has under another name points at it, with the arguments as typed', () => {
    expect(unknownCommand(['validate', 'pipeline', '-f', 'my spec.json'], [])).toBe(
      "pach: unknown command \"validate pipeline\" (pachctl's `validate pipeline` is `pach create pipeline --dry-run` here: `pach create pipeline --dry-run -f 'my spec.json'`)",
    )
  })
})
