/**
 * E2E: `pach top` (issue 16 §6). Off a terminal it prints one snapshot (text, or --json data)
 * of a two-stage DAG after a job ran; in a pseudo-terminal (util-linux `script`) it follows
 * a job another process runs — the running job's datum counts move while it runs — selects
 * with j, drops a pipeline another process deletes, and quits on q or Ctrl-C with exit 0 and
 * the cursor shown again.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {BIN, tmpProject, type Project} from '../helpers/cli.js'
import {inPty} from '../helpers/pty.js'
import {expectUserError, ID_RE} from './_util.js'

const LOCAL = {PACH_RUNNER: 'local'}

/** d → count (one datum per file, one at a time, 0.3 s each, says hello) → total (count × d, one datum). */
async function twoStages(p: Project): Promise<string> {
  await p.ok(['create', 'repo', 'd'])
  const count = {pipeline: {name: 'count'}, parallelism_spec: {constant: 1}, input: {pfs: {repo: 'd', glob: '/*'}}, transform: {cmd: ['sh', '-c', 'echo "hello from $(ls /pfs/d)"; sleep 0.3; cp /pfs/d/* /pfs/out/']}}
  const total = {pipeline: {name: 'total'}, input: {cross: [{pfs: {repo: 'count', glob: '/'}}, {pfs: {repo: 'd', glob: '/'}}]}, transform: {cmd: ['sh', '-c', 'ls /pfs/count | wc -l > /pfs/out/n']}}
  await p.ok(['create', 'pipeline', '-f', '-'], {input: JSON.stringify(count), env: LOCAL})
  await p.ok(['create', 'pipeline', '-f', '-'], {input: JSON.stringify(total), env: LOCAL})
  const put = JSON.parse(await p.ok(['put', 'file', 'd@master:/f1', '-f', '-', '--json'], {input: 'one', env: LOCAL}))
  return put.commit.id as string
}

describe('pach top', () => {
  it('off a terminal: one snapshot of the DAG after a job ran, as text and as --json data; exit 0', async (ctx) => {
    const p = await tmpProject(true, ctx)
    const id = await twoStages(p)
    const text = await p.ok(['top'])
    const lines = text.split('\n')
    expect(lines[0]).toMatch(/^project default at \d{4}-\d\d-\d\dT/)
    expect(lines[2]).toMatch(/^DAG\s+STATE\s+JOB\s+PROGRESS\s+RATE\s+ETA\s+INPUTS$/)
    expect(lines[3]).toBe('▣ d')
    expect(lines[4]).toMatch(new RegExp(`^ {2}⚙ count\\s+standby\\s+${id.slice(0, 8)} success\\s+1/1 \\(1 processed, 0 skipped, 0 failed\\)\\s+\\S+/(s|min)\\s+-\\s+d$`))
    expect(lines[5]).toMatch(new RegExp(`^ {4}⚙ total\\s+standby\\s+${id.slice(0, 8)} success\\s+1/1 \\(1 processed, 0 skipped, 0 failed\\)\\s+\\S+\\s+-\\s+count, d$`))
    expect(lines.slice(6)).toEqual(['', 'logs of count', expect.stringMatching(/^\d\d:\d\d:\d\d [0-9a-f]{8} hello from f1$/), ''])

    const j = await p.json(['top', '-p', 'total'])
    expect(Object.keys(j)).toEqual(['project', 'at', 'dag', 'selected', 'logs'])
    expect(j.selected).toBe('total')
    expect(j.logs).toEqual([]) // total prints nothing
    expect(j.dag.map((n: {name: string; kind: string; layer: number; inputs: string[]}) => [n.name, n.kind, n.layer, n.inputs])).toEqual([
      ['d', 'repo', 0, []],
      ['count', 'pipeline', 1, ['d']],
      ['total', 'pipeline', 2, ['count', 'd']],
    ])
    expect(j.dag[1]).toMatchObject({state: 'PIPELINE_STANDBY', reason: '', job: {id, state: 'JOB_SUCCESS', total: 1, processed: 1, skipped: 0, failed: 0, eta_seconds: null}})
    expect(j.dag[1].job.rate).toBeGreaterThan(0)
    expect((await p.json(['top', '-n', '1'])).logs).toEqual([{job: id, datum: expect.stringMatching(/^[0-9a-f]{64}$/), ts: expect.any(String), stream: 'stdout', message: 'hello from f1'}])

    expectUserError(await p.run(['top', '-p', 'nope']), 4, /pipeline nope not found/)
    expectUserError(await p.run(['top', '--project', 'nope']), 4, /project nope not found/)
  })

  it('in a terminal: follows a job another process runs, j selects, a deleted pipeline goes, q and Ctrl-C quit with the terminal restored', async (ctx) => {
    const p = await tmpProject(true, ctx)
    await twoStages(p)
    const dir = join(p.dir, 'more')
    mkdirSync(dir)
    for (let i = 2; i <= 6; i++) writeFileSync(join(dir, `f${i}`), String(i))
    let put: Promise<string> | undefined
    const r = await inPty(['node', BIN, 'top'], {
      cwd: p.dir,
      steps: [
        // the first frame: both pipelines; then another process commits 5 files and runs the jobs
        {until: /⚙ count[^\n]*\n[^\n]*⚙ total/, send: '', then: () => (put = p.ok(['put', 'file', 'd@master:/', '-f', dir, '-r', '--json'], {env: LOCAL}))},
        // the job's counts while it runs: some of the 5 new datums done, not all (1 is skipped)
        {until: /⚙ count\s+running\s+[0-9a-f]{8} running\s+[2-5]\/6 \([1-4] processed, 1 skipped, 0 failed\)/, send: ''},
        {until: /⚙ total\s+\S+\s+[0-9a-f]{8} success\s+1\/1[\s\S]*count@[0-9a-f]{32}\s+█+ 6\/6 \(5 processed, 1 skipped, 0 failed\)/, send: 'j'},
        {until: /›\s+⚙ total/, send: 'q'},
      ],
    })
    expect(r.exitCode).toBe(0)
    expect(r.text).toMatch(/hello from f[2-6]/) // count's newest log lines, shown while it was selected
    expect(r.raw.endsWith('\x1b[?25h')).toBe(true) // the cursor shown again
    expect(JSON.parse(await put!).commit.id).toMatch(ID_RE)

    // another process deletes a pipeline: its row goes; then Ctrl-C
    let del: Promise<string> | undefined
    const c = await inPty(['node', BIN, 'top'], {
      cwd: p.dir,
      steps: [
        {until: /⚙ total/, send: '', then: () => (del = p.ok(['delete', 'pipeline', 'total']))},
        {until: /⚙ count[^\n]*\n\r?\n/, send: '\x03'},
      ],
    })
    await del
    expect(c.exitCode).toBe(0)
    expect(c.raw.endsWith('\x1b[?25h')).toBe(true)
  })
})
