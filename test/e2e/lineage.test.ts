/**
 * E2E: `pach lineage` (issue 16 §4) from the built CLI over real jobs (local runner).
 *
 *   images ─┬─ cross(images /*, labels /) ─▶ edges ─┬─ join(edges, images by name) ─▶ joined
 *   labels ─┘   (each datum also writes /all/<name>: │─ group(images, edges by name) ─▶ grouped
 *                a directory two datums wrote)      └─ union(edges /*.png, extra /*) ─▶ mixed
 *   cron t ─▶ ticker
 *
 * A second commit changes images:/a.png only, so edges skips b's datum (its row is the first
 * job's) — the lineage must still give the commit the second job read. Upstream and
 * downstream both ways, the merged directory, the union, the group, the cron tick, `^`
 * addresses, --depth, the --json shape and the one-line errors.
 */
import {describe, expect, it} from 'vitest'
import type {LineageRow as Row} from '../../src/core/pps/lineage.js'
import {expectJsonError, expectUserError} from './_util.js'
import {localTree, pipeline, project, writeSpec, type RP} from './pipelines-util.js'


const lineage = (rp: RP, args: string[]): Promise<Row[]> => rp.json(['lineage', ...args])
const brief = (rows: Row[]) => rows.map((r) => `${r.depth} ${r.repo}:${r.path}${r.pipeline ? ` <${r.pipeline}>` : ''}${r.repeated ? ' (repeated)' : ''}`)
const hashOf = async (rp: RP, ref: string) => ((await rp.json(['inspect', 'file', ref])) as {hash: string}).hash

/** The --json contract: rows in tree order, each naming an earlier parent one level up, datum fields on every edge. */
function checkShape(rows: Row[]): void {
  const base = ['index', 'parent', 'depth', 'project', 'repo', 'commit', 'path', 'hash']
  rows.forEach((r, i) => {
    expect(r.index).toBe(i)
    const extra = Object.keys(r).filter((k) => !base.includes(k))
    if (i === 0) {
      expect(r.parent).toBeNull()
      expect(r.depth).toBe(0)
      expect(extra.filter((k) => k !== 'note')).toEqual([])
    } else {
      expect(r.parent).toBeLessThan(i)
      expect(r.depth).toBe(rows[r.parent!]!.depth + 1)
      expect(extra.filter((k) => k !== 'repeated' && k !== 'note').sort()).toEqual(['datum', 'job', 'pipeline', 'pipeline_project'])
      expect(r.datum).toMatch(/^[0-9a-f]{64}$/)
    }
    expect(r.commit).toMatch(/^[0-9a-f]{32}$/)
    expect(r.hash).toMatch(/^[0-9a-f]{64}$/)
  })
}

describe('pach lineage', () => {
  it('upstream and downstream across cross, join, group, union and cron inputs, through a skipped datum', {timeout: 120_000}, async (ctx) => {
    const rp = await project(ctx, 'local')
    const p = rp.p
    for (const r of ['images', 'labels', 'extra']) await rp.ok(['create', 'repo', r])
    const dir = localTree(p, 'local', {'a.png': 'A1', 'b.png': 'B1', 'l.txt': 'L', 'e.txt': 'E', 'a2.png': 'A2'})
    const c1 = (await rp.json(['put', 'file', 'images@master:/a.png', '-f', `${dir}/a.png`])).commit.id as string
    await rp.ok(['put', 'file', 'images@master:/b.png', '-f', `${dir}/b.png`])
    await rp.ok(['put', 'file', 'labels@master:/l.txt', '-f', `${dir}/l.txt`])
    await rp.ok(['put', 'file', 'extra@master:/e.txt', '-f', `${dir}/e.txt`])
    const specs = [
      pipeline('edges', 'n=$(ls /pfs/images); cat /pfs/images/$n /pfs/labels/l.txt > /pfs/out/$n; mkdir -p /pfs/out/all; cp /pfs/images/$n /pfs/out/all/$n', {
        cross: [{pfs: {repo: 'images', glob: '/*'}}, {pfs: {repo: 'labels', glob: '/'}}],
      }),
      pipeline('joined', 'n=$(ls /pfs/edges); cat /pfs/edges/$n /pfs/images/$n > /pfs/out/j-$n', {
        join: [{pfs: {repo: 'edges', glob: '/(*).png', join_on: '$1'}}, {pfs: {repo: 'images', glob: '/(*).png', join_on: '$1'}}],
      }),
      pipeline('grouped', 'n=$(ls /pfs/images); cat /pfs/images/$n /pfs/edges/$n > /pfs/out/g-$n', {
        group: [{pfs: {repo: 'images', glob: '/(*).png', group_by: '$1'}}, {pfs: {repo: 'edges', glob: '/(*).png', group_by: '$1'}}],
      }),
      pipeline('mixed', 'for f in /pfs/edges/* /pfs/extra/*; do [ -f "$f" ] && cp "$f" /pfs/out/u-$(basename "$f"); done; true', {
        union: [{pfs: {repo: 'edges', glob: '/*.png'}}, {pfs: {repo: 'extra', glob: '/*'}}],
      }),
      pipeline('ticker', 'n=$(ls /pfs/t); echo tick > /pfs/out/$n', {cron: {name: 't', spec: '@every 1h'}}),
    ]
    await rp.ok(['create', 'pipeline', ...specs.flatMap((s, i) => ['-f', writeSpec(p, `s${i}`, s)])])
    // the second commit: only a.png changes, so edges skips b's datum
    const c2 = (await rp.json(['put', 'file', 'images@master:/a.png', '-f', `${dir}/a2.png`])).commit.id as string
    expect(c2).not.toBe(c1)
    const edgesJob = (await rp.json(['inspect', 'job', `edges@${c2}`])) as {data_processed: number; data_skipped: number; state: string}
    expect(edgesJob).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1, data_skipped: 1})
    const labelsHead = ((await rp.json(['inspect', 'commit', 'labels@master'])) as {commit: {id: string}}).commit.id

    // ---- upstream through a join, and a datum edges skipped: b's inputs at the commit job c2 read
    const up = await lineage(rp, ['joined@master:/j-b.png'])
    checkShape(up)
    expect(brief(up)).toEqual(['0 joined:/j-b.png', '1 edges:/b.png <joined>', '2 images:/b.png <edges>', '2 labels:/ <edges>', '1 images:/b.png <joined> (repeated)'])
    expect(up.map((r) => r.commit)).toEqual([c2, c2, c2, labelsHead, c2])
    expect(up[2]!.hash).toBe(await hashOf(rp, 'images@master:/b.png'))
    expect(up[1]!.hash).toBe(await hashOf(rp, 'edges@master:/b.png'))
    expect(up[0]!.hash).toBe(await hashOf(rp, 'joined@master:/j-b.png'))
    expect(up[1]).toMatchObject({pipeline: 'joined', job: c2, pipeline_project: 'default'})
    expect(up[4]!.datum).toBe(up[1]!.datum) // one join datum read both
    expect(up[2]!.datum).toBe(up[3]!.datum) // one cross datum read both
    // the tree view says the same
    const tree = await rp.ok(['lineage', 'joined@master:/j-b.png'])
    expect(tree.split('\n')[0]).toBe(`joined@${c2}:/j-b.png  ${up[0]!.hash.slice(0, 12)}`)
    expect(tree).toContain(`├── edges@${c2}:/b.png  ${up[1]!.hash.slice(0, 12)}  via joined datum ${up[1]!.datum!.slice(0, 12)}`)
    expect(tree).toContain(`│   ├── images@${c2}:/b.png`)
    expect(tree).toContain(`└── images@${c2}:/b.png  ${up[4]!.hash.slice(0, 12)}  via joined datum ${up[4]!.datum!.slice(0, 12)}  (lineage above)`)

    // a directory two datums wrote: both, with their inputs
    const all = await lineage(rp, ['edges@master:/all'])
    // (datums in id order: which of a and b comes first depends on their ids)
    expect(brief(all)[0]).toBe('0 edges:/all/')
    expect(brief(all.slice(1).map((r) => ({...r, repeated: undefined}))).sort()).toEqual(['1 images:/a.png <edges>', '1 images:/b.png <edges>', '1 labels:/ <edges>', '1 labels:/ <edges>'])
    expect(all.filter((r) => r.repeated).map((r) => r.repo)).toEqual(['labels'])
    expect(new Set(all.slice(1).map((r) => r.datum)).size).toBe(2)
    for (const r of all.slice(1)) expect(all.filter((o) => o.datum === r.datum).map((o) => o.repo).sort()).toEqual(['images', 'labels'])

    // union and group
    expect(brief(await lineage(rp, ['mixed@master:/u-e.txt']))).toEqual(['0 mixed:/u-e.txt', '1 extra:/e.txt <mixed>'])
    expect(brief(await lineage(rp, ['mixed@master:/u-a.png']))).toEqual(['0 mixed:/u-a.png', '1 edges:/a.png <mixed>', '2 images:/a.png <edges>', '2 labels:/ <edges>'])
    const g = await lineage(rp, ['grouped@master:/g-a.png', '--depth', '1'])
    expect(brief(g)).toEqual(['0 grouped:/g-a.png', '1 edges:/a.png <grouped>', '1 images:/a.png <grouped>'])
    expect(g[1]!.datum).toBe(g[2]!.datum)

    // ---- downstream: what images:/a.png (now) fed, directly and through edges
    const down = await lineage(rp, ['images@master:/a.png', '--downstream'])
    checkShape(down)
    expect(brief(down)).toEqual([
      '0 images:/a.png',
      '1 edges:/a.png <edges>',
      '2 grouped:/g-a.png <grouped>',
      '2 joined:/j-a.png <joined>',
      '2 mixed:/u-a.png <mixed>',
      '1 edges:/all/a.png <edges>',
      '1 grouped:/g-a.png <grouped> (repeated)',
      '1 joined:/j-a.png <joined> (repeated)',
    ])
    expect(new Set(down.slice(1).map((r) => r.commit))).toEqual(new Set([c2]))
    // the first version of a.png (master^ of images) fed the first jobs, whose outputs were replaced
    const first = await lineage(rp, ['images@master^:/a.png', '--downstream', '--depth', '1'])
    expect(first[0]!.commit).not.toBe(c2)
    expect(brief(first)).toEqual(['0 images:/a.png', '1 edges:/a.png <edges>', '1 edges:/all/a.png <edges>', '1 grouped:/g-a.png <grouped>', '1 joined:/j-a.png <joined>'])
    expect(first.slice(1).every((r) => r.commit !== c2)).toBe(true)
    // labels were read whole (glob "/") by every edges datum, b's from the job that skipped it
    const lab = await lineage(rp, ['labels@master:/l.txt', '--downstream', '--depth', '1'])
    // labels' head was read by two edges jobs (the pipeline's first, and c2's): both jobs'
    // outputs, b's in c2 through the datum c2 skipped (its row is the first job's)
    const byJob = new Map<string, string[]>()
    for (const r of lab.slice(1)) byJob.set(r.commit, [...(byJob.get(r.commit) ?? []), r.path].sort())
    expect([...byJob.keys()]).toHaveLength(2)
    expect(byJob.get(c2)).toEqual(['/a.png', '/all/a.png', '/all/b.png', '/b.png'])
    for (const paths of byJob.values()) expect(paths).toEqual(['/a.png', '/all/a.png', '/all/b.png', '/b.png'])
    const bDatums = lab.filter((r) => r.path === '/b.png').map((r) => r.datum)
    expect(bDatums[0]).toBe(bDatums[1])

    // ---- cron: a tick file fed the ticker's output, and the output traces back to it
    const tick = ((await rp.json(['run', 'cron', 'ticker'])) as {commit: {id: string}}[])[0]!.commit.id
    const out = ((await rp.json(['list', 'file', 'ticker@master:/'])) as {file: {path: string}}[]).map((f) => f.file.path)
    expect(out).toHaveLength(1)
    const cronUp = await lineage(rp, [`ticker@master:${out[0]}`])
    expect(brief(cronUp)).toEqual([`0 ticker:${out[0]}`, `1 ticker_t:${out[0]} <ticker>`])
    expect(cronUp[1]!.commit).toBe(tick)
    expect(brief(await lineage(rp, [`ticker_t@${tick}:${out[0]}`, '--downstream']))).toEqual([`0 ticker_t:${out[0]}`, `1 ticker:${out[0]} <ticker>`])

    // ---- a user repo has no upstream: itself, exit 0; an unread file: itself
    const self = await lineage(rp, ['labels@master:/l.txt'])
    expect(self).toEqual([{index: 0, parent: null, depth: 0, project: 'default', repo: 'labels', commit: labelsHead, path: '/l.txt', hash: await hashOf(rp, 'labels@master:/l.txt')}])
    const selfText = await rp.ok(['lineage', 'labels@master:/l.txt'])
    expect(selfText.trim().split('\n')).toEqual([`labels@${labelsHead}:/l.txt  ${self[0]!.hash.slice(0, 12)}`, '(no pipeline wrote it: it is an input)'])
    expect(brief(await lineage(rp, ['joined@master:/j-a.png', '--downstream']))).toEqual(['0 joined:/j-a.png'])

    // ---- a job whose record is gone: its file says so in one line, and nothing is guessed
    const mixedJob = ((await rp.json(['inspect', 'commit', 'mixed@master'])) as {commit: {id: string}}).commit.id
    await rp.ok(['delete', 'job', `mixed@${mixedJob}`])
    const gone = await lineage(rp, ['mixed@master:/u-e.txt'])
    expect(gone).toHaveLength(1)
    expect(gone[0]!.note).toBe(`no job of pipeline mixed is recorded for commit ${mixedJob} (its record deleted by \`pach delete job\`, or the commit brought by \`pach pull\`): which inputs made it is not known`)
    expect((await rp.ok(['lineage', 'mixed@master:/u-e.txt'])).trim().split('\n')).toEqual([`mixed@${mixedJob}:/u-e.txt  ${gone[0]!.hash.slice(0, 12)}`, `    ! ${gone[0]!.note}`])

    // ---- errors: one line, not-found exit code
    expectUserError(await rp.run(['lineage', 'images@master:/nope.png']), 4, /file \/nope\.png not found in repo images at commit/)
    expectJsonError(await rp.run(['lineage', 'images@master:/nope.png', '--json']), 4, 'FILE_NOT_FOUND')
    expectJsonError(await rp.run(['lineage', 'imagez@master:/a.png', '--json']), 4, 'REPO_NOT_FOUND')
    expectUserError(await rp.run(['lineage', 'images@nobranch:/a.png']), 4, /branch nobranch not found/)
    expectUserError(await rp.run(['lineage', 'images@master^^^^:/a.png']), 4, /not found: the history is not that long/)
    expectUserError(await rp.run(['lineage', 'edges.meta@master:/']), 2, /lineage is kept for files of data repos/)
  })
})
