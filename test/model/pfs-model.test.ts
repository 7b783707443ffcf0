/**
 * Model-based test of PFS (issue 4): random sequences of put / append / delete / copy /
 * start / finish / squash / drop / create-branch / ancestry reads / gc, applied to pach and to
 * an in-memory model (pfs-model.ts), which must agree after every step: error codes, commits
 * (order, parents, children, origin, size), branch heads, branch histories, every directory
 * listing, every file's bytes, glob results and content-hash consistency (pfs-harness.ts);
 * after gc every commit is read back, and each sequence ends with a clean fsck.
 *
 * Reproducing a failure: fast-check prints the seed, the path and the shrunk ops. Either
 *   PACH_MODEL_SEED=<seed> PACH_MODEL_PATH=<path> npx vitest run test/model/pfs-model.test.ts
 * or paste the ops into REGRESSIONS (each bug found keeps its case there).
 * PACH_MODEL_RUNS, PACH_MODEL_OPS (sequence length) and PACH_MODEL_CLI_RUNS raise the counts
 * for a longer hunt.
 */
import {join} from 'node:path'
import fc from 'fast-check'
import {afterAll, describe, it} from 'vitest'
import {tmpProject} from '../helpers/cli.js'
import {cliPfs, libraryPfs, modelProject, opArb, Sequence, stats, useSmallChunks, type Op} from './pfs-harness.js'

const SEED = Number(process.env.PACH_MODEL_SEED ?? 42024)
const PATH = process.env.PACH_MODEL_PATH
const RUNS = Number(process.env.PACH_MODEL_RUNS ?? 100)
const OPS = Number(process.env.PACH_MODEL_OPS ?? 25)
const CLI_RUNS = Number(process.env.PACH_MODEL_CLI_RUNS ?? 2)

async function inProcess(ops: readonly Op[]): Promise<void> {
  const project = modelProject()
  const pfs = libraryPfs(project.pachDir)
  try {
    await new Sequence(pfs, () => pfs).run(ops)
  } finally {
    pfs.close()
    project.dispose()
  }
}

/**
 * Ops go through the CLI; each step is checked through a fresh library handle (every commit at
 * the end), then the branch heads once more through the CLI's own --json listings and get file.
 */
async function throughCli(ops: readonly Op[]): Promise<void> {
  const p = await tmpProject()
  const pachDir = join(p.dir, '.pach')
  useSmallChunks(pachDir)
  let lib: ReturnType<typeof libraryPfs> | undefined
  const observe = () => {
    lib?.close()
    lib = libraryPfs(pachDir)
    return lib
  }
  const seq = new Sequence(cliPfs(p), observe)
  try {
    await seq.run(ops)
    await seq.check(cliPfs(p), 'heads', ['/**'])
    await seq.fsck(cliPfs(p))
  } finally {
    lib?.close()
  }
}

/** Sequences that once disagreed, kept as explicit examples. */
const REGRESSIONS: {name: string; ops: Op[]}[] = [
  {
    name: 'dropping a root commit that heads two branches gives both one new empty head (was one each)',
    ops: [
      {op: 'put', repo: 'b', to: {branch: 'master'}, path: '/x', data: ''},
      {op: 'branch', repo: 'b', branch: 'dev', head: {pick: 0}},
      {op: 'drop', repo: 'b', at: {branch: 'master'}},
    ],
  },
  {
    name: 'squashing a root commit moves a branch at it to a new empty head (was: to its first child)',
    ops: [
      {op: 'put', repo: 'a', to: {branch: 'master'}, path: '/x', data: ''},
      {op: 'branch', repo: 'a', branch: 'dev', head: {branch: 'master'}},
      {op: 'put', repo: 'a', to: {branch: 'master'}, path: '/x', data: ''},
      {op: 'squash', repo: 'a', at: {branch: 'master', anc: '^'}},
    ],
  },
  {
    name: 'copying a file onto a directory is a path collision (was: the directory was replaced)',
    ops: [
      {op: 'put', repo: 'a', to: {branch: 'master'}, path: '/a/x', data: ''},
      {op: 'copy', from: {repo: 'a', at: {branch: 'master'}, path: '/a/x'}, repo: 'a', to: {branch: 'master'}, path: '/a'},
    ],
  },
  {
    name: 'copying a directory onto a directory merges file by file (was: the directory was replaced)',
    ops: [
      {op: 'put', repo: 'a', to: {branch: 'master'}, path: '/a/x', data: 'ax'},
      {op: 'put', repo: 'b', to: {branch: 'master'}, path: '/b/a/x', data: 'bax'},
      {op: 'put', repo: 'b', to: {branch: 'master'}, path: '/b/x', data: 'bx'},
      {op: 'copy', from: {repo: 'a', at: {branch: 'master'}, path: '/a'}, repo: 'b', to: {branch: 'master'}, path: '/b'},
    ],
  },
  {
    name: 'master.0 is the head itself, as master^0 (was: commit not found)',
    ops: [
      {op: 'put', repo: 'a', to: {branch: 'dev'}, path: '/x', data: ''},
      {op: 'read', repo: 'a', at: {branch: 'dev', anc: '.0'}},
      {op: 'copy', from: {repo: 'a', at: {branch: 'dev', anc: '.0'}, path: '/x'}, repo: 'a', to: {branch: 'dev'}, path: '/y'},
    ],
  },
]

/** CLI-layer disagreements, kept as explicit examples for the CLI run. */
const CLI_REGRESSIONS: {name: string; ops: Op[]}[] = [
  {
    name: 'put file <repo>@<branch>:/ -f - is refused like "/" in the library (was: a file named "/-")',
    ops: [
      {op: 'put', repo: 'b', to: {branch: 'master'}, path: '/', data: 'accc'},
      {op: 'put', repo: 'b', to: {branch: 'master'}, path: '/x', data: 'a'},
    ],
  },
]

/** One pass over every verb and refusal, for the CLI run. */
const TOUR: Op[] = [
  {op: 'put', repo: 'a', to: {branch: 'master'}, path: '/a/x', data: 'one'},
  {op: 'put', repo: 'a', to: {branch: 'master'}, path: '/a.txt', data: {len: 700, seed: 7}},
  {op: 'put', repo: 'a', to: {branch: 'master'}, path: '/a.txt', data: 'more', append: true},
  {op: 'put', repo: 'a', to: {branch: 'master'}, path: '/a', data: 'collides'},
  {op: 'start', repo: 'a', branch: 'master'},
  {op: 'start', repo: 'a', branch: 'master'},
  {op: 'put', repo: 'a', to: {pick: 0}, path: '/c', data: 'by id'},
  {op: 'delete', repo: 'a', to: {pick: 1}, path: '/c'},
  {op: 'copy', from: {repo: 'a', at: {branch: 'master', anc: '^'}, path: '/a'}, repo: 'a', to: {branch: 'master'}, path: '/b'},
  {op: 'delete', repo: 'a', to: {branch: 'master'}, path: '/a'},
  {op: 'squash', repo: 'a', at: {branch: 'master', anc: '^'}},
  {op: 'finish', repo: 'a', at: {branch: 'master'}},
  {op: 'finish', repo: 'a', at: {branch: 'master'}},
  {op: 'copy', from: {repo: 'a', at: {branch: 'master'}, path: '/b/x'}, repo: 'b', to: {branch: 'dev'}, path: '/x'},
  {op: 'copy', from: {repo: 'a', at: {branch: 'master', anc: '.1'}, path: '/a/x'}, repo: 'b', to: {branch: 'dev'}, path: '/x', append: true},
  {op: 'branch', repo: 'a', branch: 'dev', head: {branch: 'master', anc: '~2'}},
  {op: 'read', repo: 'a', at: {branch: 'dev', anc: '^^'}},
  {op: 'squash', repo: 'a', at: {branch: 'master', anc: '.2'}},
  {op: 'drop', repo: 'a', at: {branch: 'master'}},
  {op: 'gc'},
  {op: 'drop', repo: 'a', at: {branch: 'dev'}},
  {op: 'branch', repo: 'b', branch: 'x'},
  {op: 'start', repo: 'b', branch: 'x', parent: {pick: 1}},
  {op: 'finish', repo: 'b', at: {pick: 0}},
  {op: 'squash', repo: 'b', at: {pick: 1}},
]

describe('PFS agrees with an in-memory model', () => {
  afterAll(() => {
    if (process.env.PACH_MODEL_STATS) console.log(JSON.stringify(stats, Object.keys(stats).concat(Object.keys(stats.outcomes).sort()), 1))
  })

  it.each(REGRESSIONS)('regression: $name', async ({ops}) => inProcess(ops))

  it(`${RUNS} random sequences of up to ${OPS} ops, in-process (seed ${SEED})`, {timeout: 300_000}, async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, {minLength: 1, maxLength: OPS, size: 'max'}), inProcess), {seed: SEED, path: PATH, numRuns: RUNS})
  })

  it(`the tour, ${CLI_RUNS} random sequences and the CLI-layer cases through the built CLI`, {timeout: 900_000}, async () => {
    const random = fc.sample(fc.array(opArb, {minLength: 10, maxLength: 10}), {seed: SEED, numRuns: CLI_RUNS})
    const sequences = [TOUR, ...random, ...CLI_REGRESSIONS.map((r) => r.ops)]
    // independent projects, two at a time (the CLI's start-up dominates; the machine has 2 cores)
    const queue = [...sequences]
    const lane = async () => {
      for (let ops = queue.shift(); ops; ops = queue.shift()) await throughCli(ops)
    }
    await Promise.all([lane(), lane()])
  })
})
