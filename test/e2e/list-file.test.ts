/**
 * E2E: `list file` is written as it is read (cli/listing.ts). --json is exactly
 * JSON.stringify(list, null, 2) with the FileInfo shape of `inspect file`, --raw/-o json each
 * element so; -o yaml reads back as that list; the table is sized a block of 1,000 rows at a time (writeTableStream), so a
 * long listing's columns widen only where a later row is wider than every row before it.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import YAML from 'yaml'
import {describe, expect, it, vi} from 'vitest'
import {fileTable} from '../../src/cli/format/tables.js'
import {tmpProject} from '../helpers/cli.js'

vi.setConfig({testTimeout: 240_000})

const N = 2998
const name = (i: number) => `f${String(i).padStart(4, '0')}`
const LONG = 'zz-a-much-longer-file-name.txt'

describe('list file of a 3,000-entry directory', () => {
  it('table (widths per block of 1,000 rows), --json, --raw, -o yaml; the root and a file path too', async () => {
    const p = await tmpProject()
    const d = join(p.dir, 'local', 'd')
    mkdirSync(join(d, 'sub'), {recursive: true})
    for (let i = 0; i < N; i++) writeFileSync(join(d, name(i)), `${i}\n`)
    writeFileSync(join(d, 'sub', 'x'), 'xyz\n')
    writeFileSync(join(d, LONG), 'long\n')
    await p.ok(['create', 'repo', 'r'])
    await p.ok(['put', 'file', 'r@master:/d', '-r', '-f', d])

    // the table: rows in key order (f0000…f2997, sub/, the long name); blocks 1 and 2 are sized
    // by "/d/f0000", block 3 (rows 2001…3000) by the long name
    const size = (i: number) => `${String(i).length + 1}B`
    const lines = ['NAME'.padEnd(11) + 'TYPE'.padEnd(7) + 'SIZE']
    for (let i = 0; i < 2000; i++) lines.push(`/d/${name(i)}`.padEnd(11) + 'file'.padEnd(7) + size(i))
    const w = `/d/${LONG}`.length + 3
    for (let i = 2000; i < N; i++) lines.push(`/d/${name(i)}`.padEnd(w) + 'file'.padEnd(7) + size(i))
    lines.push('/d/sub/'.padEnd(w) + 'dir'.padEnd(7) + '4B')
    lines.push(`/d/${LONG}`.padEnd(w) + 'file'.padEnd(7) + '5B')
    const table = await p.ok(['list', 'file', 'r@master:/d'])
    expect(table).toBe(lines.join('\n') + '\n')

    // JSON: the very bytes of the collected array, each element the FileInfo `inspect file` gives
    const out = await p.ok(['list', 'file', 'r@master:/d', '--json'])
    const list = JSON.parse(out)
    expect(out).toBe(JSON.stringify(list, null, 2) + '\n')
    expect(list).toHaveLength(N + 2)
    for (const i of [0, 1500, N, N + 1]) {
      expect(Object.keys(list[i])).toEqual(['file', 'file_type', 'committed', 'size_bytes', 'hash'])
      expect(list[i]).toEqual(await p.json(['inspect', 'file', `r@master:${list[i].file.path}`]))
    }
    expect(list[N]).toMatchObject({file: {path: '/d/sub/'}, file_type: 'DIR', size_bytes: 4})
    // --raw: pachctl's stream, one indented object per item; -o yaml one document per item
    const raw = list.map((x: unknown) => JSON.stringify(x, null, 2) + '\n').join('')
    expect(await p.ok(['list', 'file', 'r@master:/d', '--raw'])).toBe(raw)
    expect(await p.ok(['list', 'file', 'r@master:/d', '--raw', '-o', 'json'])).toBe(raw)
    expect(YAML.parseAllDocuments(await p.ok(['list', 'file', 'r@master:/d', '--raw', '-o', 'yaml'])).map((d) => d.toJS())).toEqual(list)

    // a listing of at most one block is the collected table (one width over every row)
    const root = await p.json(['list', 'file', 'r@master'])
    expect(await p.ok(['list', 'file', 'r@master'])).toBe(fileTable(root))
    const sub = await p.json(['list', 'file', 'r@master:/d/sub'])
    expect(await p.ok(['list', 'file', 'r@master:/d/sub'])).toBe(fileTable(sub))
    // a file path lists the file itself
    const one = await p.ok(['list', 'file', `r@master:/d/${LONG}`, '--json'])
    expect(JSON.parse(one)).toEqual([list[N + 1]])
    expect(await p.ok(['list', 'file', `r@master:/d/${LONG}`])).toBe(fileTable([list[N + 1]]))
  })
})
