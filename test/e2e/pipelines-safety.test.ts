/**
 * E2E (PPS): what user code may leave in /pfs/out (reference §3.3, §3.7) for each runner —
 * a symlink out of /pfs fails the datum and nothing of its target is stored, a symlink into
 * an input is stored as the file's content, hard links are stored as the files they name, a
 * FIFO fails the datum with a clear reason —
 * and, in Docker, the container has no network but loopback and read-only inputs.
 */
import {describe, expect} from 'vitest'
import {project, datumsByPath, lastJob, localTree, outputFiles, pipeline, RUNNERS, runnerIt, SCENARIO_TIMEOUT, writeSpec} from './pipelines-util.js'

describe.concurrent.each(RUNNERS)('output safety [%s runner]', (runner) => {
  const rit = runnerIt(runner)

  rit('symlinks out of /pfs and FIFOs fail their datum; links into inputs are stored as content; sandbox', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    const p = rp.p
    await rp.ok(['create', 'repo', 'in'])
    const dir = localTree(p, 'local', {passwd: 'p\n', fifo: 'f\n', link: 'LINK\n', probe: 'probe\n'})
    await rp.ok(['put', 'file', 'in@master:/', ...['passwd', 'fifo', 'link', 'probe'].flatMap((n) => ['-f', `${dir}/${n}`])])
    const cmd = [
      'case $(basename "$in") in',
      '  passwd) ln -s /etc/passwd /pfs/out/passwd;;',
      '  fifo) mkfifo /pfs/out/f;;',
      '  link) ln -s /pfs/in/link /pfs/out/x;;',
      '  probe) ls /sys/class/net > /pfs/out/net; if (echo w > /pfs/in/x) 2>/dev/null; then echo writable; else echo read-only; fi > /pfs/out/inputs; echo hl > /pfs/out/h1; ln /pfs/out/h1 /pfs/out/h2;;',
      'esac',
    ].join('\n')
    const bad = pipeline('bad', cmd, {pfs: {repo: 'in', glob: '/{passwd,fifo}'}}, {datum_tries: 1})
    const good = pipeline('good', cmd, {pfs: {repo: 'in', glob: '/{link,probe}'}}, {datum_tries: 1})
    const r = await rp.okr(['create', 'pipeline', '-f', writeSpec(p, 'bad', bad), '-f', writeSpec(p, 'good', good)])

    // bad: both datums FAILED with clear reasons; the job fails; nothing of /etc/passwd is stored
    const bj = await lastJob(rp, 'bad')
    const bd = await datumsByPath(rp, 'bad', bj.job.id)
    expect(Object.keys(bd).sort()).toEqual(['/fifo', '/passwd'])
    expect(bd['/passwd']!.state).toBe('FAILED')
    expect(bd['/passwd']!.reason).toMatch(/outside \/pfs/)
    expect(bd['/fifo']!.state).toBe('FAILED')
    expect(bd['/fifo']!.reason).toMatch(/fifo|not a regular file/i)
    expect(bj).toMatchObject({state: 'JOB_FAILURE', data_failed: 2, data_processed: 0})
    expect(bj.reason).toMatch(new RegExp(`^datum (${bd['/passwd']!.datum.id}|${bd['/fifo']!.datum.id}) failed$`))
    expect(r.stderr).toContain(`bad@${bj.job.id}`)
    const badOut = await outputFiles(rp, `bad@${bj.job.id}`)
    expect(Object.keys(badOut)).not.toContain('/passwd')
    for (const content of Object.values(badOut)) expect(content).not.toMatch(/root:x?:0:0/)

    // good: the link into the input is stored as that file's content
    const gj = await lastJob(rp, 'good')
    expect(gj).toMatchObject({state: 'JOB_SUCCESS', data_processed: 2, data_failed: 0})
    const out = await outputFiles(rp, 'good@master')
    expect(Object.keys(out).sort()).toEqual(['/h1', '/h2', '/inputs', '/net', '/x'])
    expect(out['/x']).toBe('LINK\n')
    // a hard link is a second name for a regular file: both are stored with its bytes
    expect([out['/h1'], out['/h2']]).toEqual(['hl\n', 'hl\n'])
    expect((await rp.json(['inspect', 'file', 'good@master:/x'])).file_type).toBe('FILE')
    if (runner === 'docker') {
      // no network interface but loopback; inputs are mounted read-only
      expect(out['/net']).toBe('lo\n')
      expect(out['/inputs']).toBe('read-only\n')
    }
  })

  rit('no network but loopback unless metadata.annotations["pach.io/network"] is "true"', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    const p = rp.p
    await rp.ok(['create', 'repo', 'in'])
    await rp.ok(['put', 'file', 'in@master:/a', '-f', '-'], {input: 'a\n'})
    // interfaces of the datum's network namespace (/proc/net is per namespace)
    const cmd = "sed 1,2d /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort > /pfs/out/net"
    const off = pipeline('off', cmd, {pfs: {repo: 'in', glob: '/'}})
    const on = pipeline('on', cmd, {pfs: {repo: 'in', glob: '/'}}, {metadata: {annotations: {'pach.io/network': 'true'}}})
    const r = await rp.okr(['create', 'pipeline', '-f', writeSpec(p, 'off', off), '-f', writeSpec(p, 'on', on)])
    // the annotation is pach's own: no "has no local effect" warning for it
    expect(r.stderr).not.toMatch(/metadata/)
    const offNet = (await outputFiles(rp, 'off@master'))['/net']
    const onNet = (await outputFiles(rp, 'on@master'))['/net']!
    // the local runner isolates the network only inside bubblewrap (which CI installs)
    if (runner === 'docker' || process.env.CI) expect(offNet).toBe('lo\n')
    expect(onNet.split('\n').filter((n) => n && n !== 'lo').length).toBeGreaterThan(0)
    const bad = pipeline('bad', cmd, {pfs: {repo: 'in', glob: '/'}}, {metadata: {annotations: {'pach.io/network': 'yes'}}})
    const e = await rp.run(['create', 'pipeline', '-f', writeSpec(p, 'bad', bad)])
    expect(e.exitCode).not.toBe(0)
    expect(e.stderr).toMatch(/metadata\.annotations\["pach\.io\/network"\] must be "true" or "false", got string "yes"/)
  })

  rit('lazy inputs are named pipes streamed on open (twice if read twice); links into lazy or empty_files inputs store the real file', {timeout: SCENARIO_TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    const p = rp.p
    await rp.ok(['create', 'repo', 'in'])
    await rp.ok(['put', 'file', 'in@master:/a', '-f', '-'], {input: 'AAA\n'})
    await rp.ok(['put', 'file', 'in@master:/d/b', '-f', '-'], {input: 'BBB\n'})
    await rp.ok(['put', 'file', 'in@master:/d/unread', '-f', '-'], {input: 'x'.repeat(5000)})
    const cmd = 'test -p /pfs/in/a && echo fifo > /pfs/out/kind; cat /pfs/in/a /pfs/in/a > /pfs/out/a2; ln -s /pfs/in/d/b /pfs/out/b; ln -s /pfs/in/d /pfs/out/dir'
    const lazy = pipeline('lazy', cmd, {pfs: {repo: 'in', glob: '/', lazy: true}})
    const empty = pipeline('empty', 'wc -c < /pfs/in/a | tr -d " " > /pfs/out/size; ln -s /pfs/in/d/b /pfs/out/b', {pfs: {repo: 'in', glob: '/', empty_files: true}})
    await rp.ok(['create', 'pipeline', '-f', writeSpec(p, 'lazy', lazy), '-f', writeSpec(p, 'empty', empty)])
    const lj = await lastJob(rp, 'lazy')
    expect(lj).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1})
    const out = await outputFiles(rp, 'lazy@master')
    expect(out).toEqual({'/kind': 'fifo\n', '/a2': 'AAA\nAAA\n', '/b': 'BBB\n', '/dir/b': 'BBB\n', '/dir/unread': 'x'.repeat(5000)})
    // only what user code read was streamed: /a twice; the linked files were stored by reference
    expect(lj.stats.download_bytes).toBe(8)
    const e = await outputFiles(rp, 'empty@master')
    expect(e).toEqual({'/size': '0\n', '/b': 'BBB\n'})
  })
})
