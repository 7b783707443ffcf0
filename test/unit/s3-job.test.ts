/**
 * s3-job.ts: which pipelines need an S3 sidecar, a job's buckets, the env user code gets, and
 * the one server its worker must reach (parsed from the sidecar's endpoint).
 */
import {describe, expect, it} from 'vitest'
import {RunnerError} from '../../src/core/errors.js'
import type {Datum, DatumInput} from '../../src/core/pps/datum.js'
import {hasS3Input, jobBuckets, s3Env, usesS3, workerEndpoint} from '../../src/core/pps/s3-job.js'
import type {S3SidecarHandle} from '../../src/core/pps/s3-sidecar.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'

const spec = (obj: object) => parseSpecs(JSON.stringify({pipeline: {name: 'p'}, transform: {cmd: ['sh']}, ...obj}), 't.json').specs[0]!
const handle = (endpoint: string, extraHosts?: string[]): S3SidecarHandle => ({endpoint, extraHosts, accessKey: 'k', secretKey: 'k', close: async () => {}})
const input = (name: string, repo: string, s3: boolean): DatumInput =>
  ({name, repo, repo_type: 'user', project: 'default', branch: 'master', commit: `c-${repo}`, path: '/', isDir: true, hash: 'h', size: 1, join_on: '', outer_join: false, group_by: '', reference: false, lazy: false, empty_files: false, s3}) as DatumInput

describe('s3-job', () => {
  it('needs a sidecar for an s3 input anywhere in a cross, or for s3_out', () => {
    const plain = spec({input: {pfs: {repo: 'a', glob: '/*'}}})
    expect(usesS3(plain)).toBe(false)
    expect(usesS3(spec({input: {cross: [{pfs: {repo: 'a', glob: '/*'}}, {pfs: {repo: 'b', glob: '/', s3: true}}]}}))).toBe(true)
    expect(usesS3(spec({input: {pfs: {repo: 'a', glob: '/*'}}, s3_out: true}))).toBe(true)
    expect(hasS3Input(undefined)).toBe(false)
  })

  it('buckets: one per s3 input, named after it and pinned to its commit, plus out with s3_out', () => {
    const d: Datum = {id: 'd', hash: 'h', inputs: [input('items', 'items', false), input('conf', 'cfg', true)]}
    const out = {project: 'default', repo: 'p', commit: 'job1'}
    expect(jobBuckets(spec({input: {pfs: {repo: 'a', glob: '/*'}}, s3_out: true}), d, out)).toEqual({inputs: [{bucket: 'conf', commit: {project: 'default', repo: 'cfg', commit: 'c-cfg'}}], out})
    expect(jobBuckets(spec({input: {pfs: {repo: 'a', glob: '/*'}}}), d, out)).toEqual({inputs: [{bucket: 'conf', commit: {project: 'default', repo: 'cfg', commit: 'c-cfg'}}]})
  })

  it('env: Pachyderm variables, and the metadata probe off unless the spec says otherwise', () => {
    const h = handle('http://10.0.0.1:99')
    expect(s3Env(h)).toEqual({AWS_EC2_METADATA_DISABLED: 'true', S3_ENDPOINT: 'http://10.0.0.1:99', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 'k'})
    expect(s3Env(h, {AWS_EC2_METADATA_DISABLED: 'false'})).not.toHaveProperty('AWS_EC2_METADATA_DISABLED')
  })

  it('the worker endpoint: an address as is, a name through extraHosts, localhost as loopback; anything else is a runner error', () => {
    expect(workerEndpoint(handle('http://172.18.0.1:41000'))).toEqual({host: '172.18.0.1', address: '172.18.0.1', port: 41000})
    expect(workerEndpoint(handle('http://s3-abc:30600', ['s3-abc:172.18.0.1']))).toEqual({host: 's3-abc', address: '172.18.0.1', port: 30600})
    expect(workerEndpoint(handle('http://localhost'))).toEqual({host: 'localhost', address: '127.0.0.1', port: 80})
    expect(workerEndpoint(handle('http://[::1]:9000'))).toEqual({host: '::1', address: '::1', port: 9000})
    expect(() => workerEndpoint(handle('http://s3-abc:1'))).toThrow(RunnerError)
    expect(() => workerEndpoint(handle('not a url'))).toThrow(/not a URL/)
  })
})
