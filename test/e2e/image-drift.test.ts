/**
 * E2E: image drift (issue 16 §7) with the docker runner and real images. One tag of this test's
 * own names `pach-test/busybox:1`, a job runs, then the tag is moved to `pach-test/busybox:2`
 * (the same rootfs with /VERSION = "2", .ci/setup-docker.sh) — an image rebuilt under the same
 * tag. `list pipeline` shows the drift (a `*` and a line; `image_drift` in --json, not in
 * --raw), `update pipeline` says so and makes a version, `--reprocess` reruns every datum with
 * the new image, and every job that ran datums records the image id it ran with.
 */
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {describe, expect} from 'vitest'
import {outputFiles, project, runnerIt, writeSpec, type Job} from './pipelines-util.js'

const IMAGE2 = 'pach-test/busybox:2'
const docker = (...args: string[]) => execFileSync('docker', args, {encoding: 'utf8', timeout: 30_000}).trim()
const idOf = (image: string) => docker('image', 'inspect', '-f', '{{.Id}}', image)

interface Listed {
  pipeline: {name: string}
  version: number
  image_drift?: {image: string; used: string; job: string; now: string}
}

describe('image drift [docker runner]', () => {
  const rit = runnerIt('docker')

  rit('a moved tag: list pipeline shows it, update says so, --reprocess reruns with the new image', {timeout: 120_000}, async (ctx) => {
    try {
      idOf(IMAGE2)
    } catch {
      throw new Error(`image ${IMAGE2} is missing: run .ci/setup-docker.sh as root`)
    }
    const tag = `pach-test/drift-${randomBytes(4).toString('hex')}:v`
    docker('tag', 'pach-test/busybox:1', tag)
    ctx.onTestFinished(() => void docker('rmi', tag)) // the tag only: both images keep their own names
    const [id1, id2] = [idOf('pach-test/busybox:1'), idOf(IMAGE2)]
    expect(id1).not.toBe(id2)

    const rp = await project(ctx, 'docker')
    await rp.ok(['create', 'repo', 'in'])
    await rp.ok(['put', 'file', 'in@master:/x', '-f', '-'], {input: 'x'})
    await rp.ok(['put', 'file', 'in@master:/y', '-f', '-'], {input: 'y'})
    const spec = writeSpec(rp.p, 'ver', {
      pipeline: {name: 'ver'},
      transform: {image: tag, cmd: ['sh', '-c', 'for f in /pfs/in/*; do (cat /VERSION 2>/dev/null || echo 1) > /pfs/out/$(basename $f); done']},
      input: {pfs: {repo: 'in', glob: '/*'}},
    })
    await rp.ok(['create', 'pipeline', '-f', spec])
    const first = (await rp.json(['list', 'job', '-p', 'ver'])) as Job[]
    expect(first).toHaveLength(1)
    expect(first[0]!.details.image_id).toBe(id1)
    expect(await outputFiles(rp, 'ver@master')).toEqual({'/x': '1\n', '/y': '1\n'})
    const list = async () => ((await rp.json(['list', 'pipeline'])) as Listed[])[0]!
    expect(await list()).not.toHaveProperty('image_drift')
    expect(await rp.ok(['list', 'pipeline'])).not.toMatch(/ver \*/)

    // ---- the tag moves: list pipeline shows the drift
    docker('tag', IMAGE2, tag)
    const drift = {image: tag, used: id1, job: first[0]!.job.id, now: id2}
    expect((await list()).image_drift).toEqual(drift)
    const text = await rp.ok(['list', 'pipeline'])
    expect(text).toMatch(/^default +ver \* +1 /m)
    expect(text).toContain(`* pipeline ver: image ${tag} now names ${id2.slice(0, 19)}, not ${id1.slice(0, 19)} that job ${first[0]!.job.id} ran with`)
    // pachctl's --raw form is left as pachctl prints it; the local runner has no images to compare
    expect((await rp.ok(['list', 'pipeline', '--raw'])).includes('image_drift')).toBe(false)
    expect(JSON.parse((await rp.run(['list', 'pipeline', '--json'], {env: {PACH_RUNNER: 'local'}})).stdout)[0]).not.toHaveProperty('image_drift')

    // ---- update without --reprocess: a new version, said on stderr; unchanged datums keep their outputs
    const upd = await rp.okr(['update', 'pipeline', '-f', spec])
    expect(upd.stderr).toContain(`pipeline ver: image ${tag} now names ${id2.slice(0, 19)}, not ${id1.slice(0, 19)} that job ${first[0]!.job.id} ran with: updated to version 2; new and changed datums run with the new image`)
    expect(await outputFiles(rp, 'ver@master')).toEqual({'/x': '1\n', '/y': '1\n'})
    expect(await list()).toMatchObject({version: 2, image_drift: drift}) // no datum ran with the new image yet

    // ---- --reprocess: every datum reruns with the new image, the job records its id, the drift is gone
    const re = await rp.okr(['update', 'pipeline', '-f', spec, '--reprocess'])
    expect(re.stderr).toContain('updated to version 3; every datum reruns with the new image')
    expect(await outputFiles(rp, 'ver@master')).toEqual({'/x': '2\n', '/y': '2\n'})
    const jobs = (await rp.json(['list', 'job', '-p', 'ver'])) as Job[]
    expect(jobs.map((j) => [j.data_processed, j.details.image_id ?? null])).toEqual([
      [2, id2],
      [0, null], // version 2's job ran no datum: it used no image
      [2, id1],
    ])
    expect((await rp.json(['inspect', 'job', `ver@${jobs[0]!.job.id}`])).details.image_id).toBe(id2)
    const after = await list()
    expect(after.version).toBe(3)
    expect(after).not.toHaveProperty('image_drift')
    // ---- the tag moves under a version whose job ran datums: the next job says it mixes two images
    docker('tag', 'pach-test/busybox:1', tag)
    const put = await rp.okr(['put', 'file', 'in@master:/z', '-f', '-'], {input: 'z'})
    const mixed = ((await rp.json(['list', 'job', '-p', 'ver'])) as Job[])[0]!
    expect(mixed.details.image_id).toBe(id1)
    expect(put.stderr).toContain(
      `warning: pipeline ver: image ${tag} now names ${id1.slice(0, 19)}, not ${id2.slice(0, 19)} that job ${jobs[0]!.job.id} ran with: job ${mixed.job.id} runs its datums with the new image, next to outputs of the old one`,
    )
    expect(await outputFiles(rp, 'ver@master')).toEqual({'/x': '2\n', '/y': '2\n', '/z': '1\n'})
    // the newest job ran with what the tag names now: nothing to show, and an update says nothing about images
    expect(await list()).not.toHaveProperty('image_drift')
    expect((await rp.okr(['update', 'pipeline', '-f', spec])).stderr).not.toContain('now names')
  })
})
