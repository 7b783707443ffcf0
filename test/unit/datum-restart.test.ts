// Which datum `pach restart datum FILTER,…` names (core/pps/datum-restart.ts): pachd's MatchDatum
// (every filter equals an input's path or its hash in hex or base64) plus the datum id and a
// directory's path without its "/"; and pachctl's filter list (split on ",", empties dropped).
// The request channel between two processes' sides: an answer outlives the job's end.
import {mkdtempSync, rmSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import type {CoreContext} from '../../src/core/context.js'
import type {JobRow} from '../../src/core/db/jobs.js'
import {DatumRestarts, matchDatum, parseDatumFilter, restartDatums} from '../../src/core/pps/datum-restart.js'
import {jobWorkDir} from '../../src/core/pps/job-logs.js'
import type {Datum, DatumInput} from '../../src/core/pps/datum.js'

const input = (path: string, hash: string, isDir = false) => ({path, hash, isDir}) as DatumInput
const H1 = 'ab'.repeat(32)
const H2 = '01'.repeat(32)
const d: Datum = {id: 'd'.repeat(64), hash: 'x', inputs: [input('/logs/a.txt', H1), input('/dir/', H2, true)]}

describe('restart datum filters', () => {
  it('every filter must name one of the datum\'s inputs (path, hex or base64 hash) or the datum', () => {
    expect(matchDatum(['/logs/a.txt'], d)).toBe(true)
    expect(matchDatum(['/logs/a.txt', '/dir/'], d)).toBe(true)
    expect(matchDatum([H1], d)).toBe(true)
    expect(matchDatum([Buffer.from(H2, 'hex').toString('base64')], d)).toBe(true)
    expect(matchDatum([d.id], d)).toBe(true)
    expect(matchDatum(['/dir'], d)).toBe(true)
    expect(matchDatum(['/logs/a.txt', '/logs/b.txt'], d)).toBe(false)
    expect(matchDatum(['/logs'], d)).toBe(false)
    expect(matchDatum(['a.txt'], d)).toBe(false)
    expect(matchDatum([H1.toUpperCase()], d)).toBe(false)
  })

  it('parses pachctl\'s list: split on ",", empty pieces dropped', () => {
    expect(parseDatumFilter('/a,,/b,')).toEqual(['/a', '/b'])
    expect(parseDatumFilter(',')).toEqual([])
  })
})

describe('restart datum requests', () => {
  const running = {project: 'default', pipeline: 'p', id: 'a'.repeat(32), state: 'JOB_RUNNING', lease_pid: process.pid, lease_host: hostname()} as JobRow

  /** A holder answering for `running` in a fresh pach directory (removed after `fn`). */
  async function withHolder(fn: (h: {pachDir: string; workRoot: string; holder: DatumRestarts}) => Promise<void>): Promise<void> {
    const pachDir = mkdtempSync(join(tmpdir(), 'pach-restart-'))
    try {
      const workRoot = jobWorkDir(pachDir, running)
      const holder = new DatumRestarts(workRoot)
      holder.open()
      await fn({pachDir, workRoot, holder})
    } finally {
      rmSync(pachDir, {recursive: true, force: true})
    }
  }

  it('a datum that reruns at once and ends its job: the job\'s end waits for the answer to be read, so the requester gets it', async () => {
    await withHolder(async ({pachDir, workRoot, holder}) => {
      const attempt = holder.attempt(d, 1, new AbortController().signal)
      const ended = new Promise<void>((resolve) =>
        attempt.signal.addEventListener('abort', () => {
          // the job ends as fast as it can: the attempt ends, the holder closes, the scratch space goes
          attempt.end()
          void holder.close().then(() => {
            rmSync(workRoot, {recursive: true, force: true})
            resolve()
          })
        }),
      )
      const t0 = Date.now()
      const r = await restartDatums({pachDir} as CoreContext, () => running, ['/logs/a.txt'])
      expect(r).toEqual({job: {pipeline: {name: 'p', project: {name: 'default'}}, id: running.id}, restarted: [{datum: d.id, attempt: 1}]})
      expect(Date.now() - t0).toBeLessThan(1000) // the answer, not the 3 s timeout
      await ended
    })
  })

  it('a request waiting when the datums end is answered: nothing runs', async () => {
    await withHolder(async ({pachDir, workRoot, holder}) => {
      const asked = restartDatums({pachDir} as CoreContext, () => running, ['/logs/a.txt']).catch((e: unknown) => e)
      await holder.close()
      rmSync(workRoot, {recursive: true, force: true})
      const e = (await asked) as {code: string; message: string; hint: string}
      expect(e).toMatchObject({code: 'DATUM_NOT_FOUND', message: `datum matching filter [/logs/a.txt] could not be found for job ID ${running.id}`})
      expect(e.hint).toMatch(/^no datum of it is running now;/)
    })
  })
})
