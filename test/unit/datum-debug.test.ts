// The pure half of `pach debug datum` (core/pps/datum-debug.ts): which datum the filters name
// (id, id prefix, input paths; none or several is one clear error), and what user code sees
// (the job's environment built by the same functions a worker uses, secrets last).
import {describe, expect, it} from 'vitest'
import {planDatumDebug, selectDatum} from '../../src/core/pps/datum-debug.js'
import type {Datum, DatumInput} from '../../src/core/pps/datum.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'

const inp = (name: string, path: string, extra: Partial<DatumInput> = {}) =>
  ({name, repo: name, repo_type: 'user', project: 'default', branch: 'master', commit: `${name}-commit`, path, isDir: path.endsWith('/'), hash: 'ab'.repeat(32), size: 1, join_on: '', outer_join: false, group_by: '', reference: false, lazy: false, empty_files: false, s3: false, ...extra}) as DatumInput
const datum = (id: string, ...inputs: DatumInput[]): Datum => ({id: id.repeat(64 / id.length), hash: 'h', inputs})

// a cross of in (/a, /b) and cfg (/c1, /c2)
const cross = [datum('1', inp('in', '/a'), inp('cfg', '/c1')), datum('2', inp('in', '/a'), inp('cfg', '/c2')), datum('3', inp('in', '/b'), inp('cfg', '/c1')), datum('4', inp('in', '/b'), inp('cfg', '/c2'))]

describe('selectDatum', () => {
  const pick = (...f: string[]) => selectDatum(cross, f, 'job x@j', 'pach list datum x@j')
  it('names one datum by its id, a prefix of it, or paths that all belong to it', () => {
    expect(pick('2'.repeat(64)).id).toBe('2'.repeat(64))
    expect(pick('33333333').id).toBe('3'.repeat(64))
    expect(pick('/a', '/c2').id).toBe('2'.repeat(64))
    expect(pick('/b', '/c1').id).toBe('3'.repeat(64))
  })
  it('none, several or no filter: one error each', () => {
    expect(() => pick('/a')).toThrow(expect.objectContaining({code: 'AMBIGUOUS_DATUM', message: '2 datums of job x@j match /a (111111111111, 222222222222)', exitCode: 2}))
    expect(() => pick('/z')).toThrow(expect.objectContaining({code: 'DATUM_NOT_FOUND', exitCode: 4}))
    expect(() => pick('/a', '/b')).toThrow(expect.objectContaining({code: 'DATUM_NOT_FOUND'}))
    expect(() => pick('1234')).toThrow(expect.objectContaining({code: 'DATUM_NOT_FOUND'}))
    expect(() => pick()).toThrow(expect.objectContaining({code: 'MISSING_ARGUMENT'}))
  })
})

describe('planDatumDebug', () => {
  const spec = parseSpecs(
    JSON.stringify({
      pipeline: {name: 'x'},
      transform: {image: 'img:1', cmd: ['sh'], stdin: ['echo a', 'echo b'], env: {MODE: 'prod', PACH_JOB_ID: 'overridden'}, user: 'nobody', working_dir: '/w', accept_return_code: [4]},
      input: {cross: [{pfs: {repo: 'in', glob: '/*'}}, {pfs: {repo: 'cfg', glob: '/*', join_on: '$1'}}]},
      resource_limits: {cpu: 0.5, memory: '64Mi'},
    }),
    'x.json',
    'default',
  ).specs[0]!
  const d = datum('2', inp('in', '/a'), inp('cfg', '/dir/', {join_on: 'k'}))

  it("a job's datum: the worker's environment (inputs, transform.env, the job's variables, the datum id, secrets last) and sandbox", () => {
    const p = planDatumDebug(spec, d, {project: 'default', pipeline: 'x', id: 'J'}, 'S', {MODE: 'from-secret'})
    expect(p.env).toEqual({
      in: '/pfs/in/a',
      in_COMMIT: 'in-commit',
      cfg: '/pfs/cfg/dir',
      cfg_COMMIT: 'cfg-commit',
      PACH_DATUM_cfg_JOIN_ON: 'k',
      MODE: 'from-secret',
      PACH_JOB_ID: 'J',
      PACH_OUTPUT_COMMIT_ID: 'J',
      PPS_PIPELINE_NAME: 'x',
      PPS_PROJECT_NAME: 'default',
      PPS_SPEC_COMMIT: 'S',
      PACH_DATUM_ID: '2'.repeat(64),
    })
    expect(p).toMatchObject({image: 'img:1', cmd: ['sh'], stdin: 'echo a\necho b\n', network: false, cpu: 0.5, memoryBytes: 64 * 1024 * 1024, user: 'nobody', workingDir: '/w', accept: [4]})
  })

  it('a spec not created: the job variables are empty', () => {
    const p = planDatumDebug(spec, d, undefined, '', {})
    expect(p.env).toMatchObject({PACH_JOB_ID: '', PACH_OUTPUT_COMMIT_ID: '', PPS_SPEC_COMMIT: '', PPS_PIPELINE_NAME: 'x', MODE: 'prod'})
  })
})
