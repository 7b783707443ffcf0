/**
 * Crash torture, small count (CI): one SIGKILL per scenario, on the smaller data of `quick`,
 * with every check of test/torture/crash.ts (fsck/gc clean, finished commits byte-for-byte,
 * nothing half-visible, recovery by finish/delete commit and `pach run`). The large run is
 * `node bench/torture.mjs --kills 200 --seed 1` (docs/reliability.md).
 *
 * Seed: PACH_TORTURE_SEED (default 1). A failure prints the seed and the kill point, which
 * `node bench/torture.mjs --seed S --scenarios … --point N --quick` replays. The docker
 * scenario runs when `docker info` answers and the test image exists; with CI=true its
 * absence is a failure, not a skip.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'vitest'
import {BIN} from '../helpers/cli.js'
import {dockerProblem, SCENARIOS, summaryLine, torture} from './crash.js'

const seed = Number(process.env.PACH_TORTURE_SEED ?? 1)

const problem = dockerProblem()

// Two groups at once (one per core): most of the time goes to starting pach processes.
const groups = [
  ['put-large', 'put-many', 'squash-delete', 'gc', 'purge'],
  ['finish-commit', 'job-local', 'job-docker'],
]

describe.concurrent(`crash torture (seed ${seed})`, () => {
  for (const group of groups) {
    it(`one SIGKILL per scenario survives: ${group.join(', ')}`, {timeout: 600_000}, async ({expect, onTestFinished}) => {
      if (problem && group.includes('job-docker') && process.env.CI === 'true') throw new Error(`docker scenario cannot run in CI: ${problem}`)
      const scenarios = SCENARIOS.filter((s) => group.includes(s.name) && (!s.docker || !problem))
      const work = mkdtempSync(join(tmpdir(), 'pach-torture-'))
      onTestFinished(() => rmSync(work, {recursive: true, force: true}))
      const lines: string[] = []
      const report = await torture({seed, kills: scenarios.length, quick: true, bin: BIN, work, scenarios: scenarios.map((s) => s.name), docker: !problem, log: (l) => lines.push(l)})
      const summary = summaryLine(report)
      console.log(`${summary}${problem && group.includes('job-docker') ? ` (docker scenario skipped: ${problem})` : ''}`)
      const failures = report.points.filter((k) => k.problems.length).map((k) => `#${k.index} ${k.scenario} [${k.mode}] kill at ${k.delayMs} ms: ${k.problems.join(' / ')}`)
      expect(failures, `${summary}\n${lines.join('\n')}\nreplay: node bench/torture.mjs --seed ${seed} --scenarios ${group.join(',')} --quick --point N`).toEqual([])
      expect(report.lostBytes).toBe(0)
      expect(report.delivered).toBe(scenarios.length)
      for (const s of scenarios) expect(report.byScenario[s.name]?.delivered, `no kill hit ${s.name}`).toBe(1)
    })
  }
})
