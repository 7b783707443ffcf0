/**
 * E2E: `list commit` is written as it is read (cli/listing.ts). Every form prints what the
 * collected rendering of the same list prints: --json is exactly JSON.stringify(list, null, 2),
 * --raw/-o json each element so, -o yaml reads back as that list, the table is the one table
 * (one header, columns sized over every row); -n prints the first N of the full list.
 */
import YAML from 'yaml'
import {describe, expect, it, vi} from 'vitest'
import {commitSetTable, commitTable} from '../../src/cli/format/tables.js'
import {tmpProject} from '../helpers/cli.js'
import {putText} from './_util.js'

vi.setConfig({testTimeout: 240_000})

describe('list commit output', () => {
  it('streamed JSON, YAML and table equal the collected renderings; -n is a prefix; commit sets too', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'a'])
    await p.ok(['create', 'repo', 'b'])
    await p.ok(['create', 'branch', 'b@master', '--provenance', 'a@master'])
    for (let i = 0; i < 4; i++) await putText(p, `a@master:/f${i}`, `${i}\n`)
    await p.ok(['create', 'branch', 'a@dev', '--head', 'master^1'])
    await putText(p, 'a@dev:/dev', 'dev\n')

    for (const target of ['a@master', 'b@master', 'a@dev', 'a']) {
      const out = await p.ok(['list', 'commit', target, '--json'])
      const list = JSON.parse(out)
      expect(list.length).toBeGreaterThan(1)
      expect(out).toBe(JSON.stringify(list, null, 2) + '\n')
      // --raw: pachctl's stream, one indented object per item; -o yaml one document per item
      const raw = list.map((x: unknown) => JSON.stringify(x, null, 2) + '\n').join('')
      expect(await p.ok(['list', 'commit', target, '--raw'])).toBe(raw)
      expect(await p.ok(['list', 'commit', target, '--raw', '-o', 'json'])).toBe(raw)
      expect(YAML.parseAllDocuments(await p.ok(['list', 'commit', target, '--raw', '-o', 'yaml'])).map((d) => d.toJS())).toEqual(list)
      expect(await p.ok(['list', 'commit', target, '--full-timestamps'])).toBe(commitTable(list, true))
      for (let n = 1; n <= list.length; n++) {
        expect(JSON.parse(await p.ok(['list', 'commit', target, '--json', '-n', String(n)]))).toEqual(list.slice(0, n))
      }
      const head = (await p.ok(['list', 'commit', target, '--full-timestamps', '-n', '1'])).split('\n')
      expect(head[1]).toContain(list[0].commit.id)
    }
    // b's commits name their provenance; the streamed JSON carries it
    const b = JSON.parse(await p.ok(['list', 'commit', 'b@master', '--json']))
    expect(b[0].direct_provenance.map((x: any) => x.repo.name)).toEqual(['a'])
    // an empty result is still `[]`
    expect(await p.ok(['list', 'commit', 'b@master', '--origin', 'FSCK', '--json'])).toBe('[]\n')

    const sets = await p.ok(['list', 'commit', '--json'])
    const setList = JSON.parse(sets)
    expect(sets).toBe(JSON.stringify(setList, null, 2) + '\n')
    expect(await p.ok(['list', 'commit', '--full-timestamps'])).toBe(commitSetTable(setList, true))
    expect(JSON.parse(await p.ok(['list', 'commit', '--json', '-n', '2']))).toEqual(setList.slice(0, 2))
  })
})
