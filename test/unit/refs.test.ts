import {describe, expect, it} from 'vitest'
import {formatCommit, parseAncestry, parseBranch, parseCommit, parseFile, parseJob, parseRepo} from '../../src/core/pfs/refs.js'

const ID = '0123456789abcdef0123456789abcdef'

describe('parseRepo', () => {
  it('parses user and system repos', () => {
    expect(parseRepo('images')).toEqual({name: 'images', type: 'user'})
    expect(parseRepo('edges.meta')).toEqual({name: 'edges', type: 'meta'})
    expect(parseRepo('edges.spec')).toEqual({name: 'edges', type: 'spec'})
  })
  it('rejects bad names and types', () => {
    expect(() => parseRepo('bad name')).toThrow(/invalid/)
    expect(() => parseRepo('x.y')).toThrow(/repo type/)
    expect(() => parseRepo('')).toThrow(/empty/)
  })
})

describe('parseCommit', () => {
  it('distinguishes branches from commit ids', () => {
    expect(parseCommit('images@master')).toEqual({repo: {name: 'images', type: 'user'}, branch: 'master', ancestry: undefined})
    expect(parseCommit(`images@${ID}`)).toMatchObject({id: ID})
    expect(parseCommit(`images@master=${ID}`)).toMatchObject({branch: 'master', id: ID})
  })
  it('treats a token that is not a valid branch name as a commit id', () => {
    expect(parseCommit('images@not.a.branch')).toMatchObject({id: 'not.a.branch'})
  })
  it('parses ancestry', () => {
    expect(parseCommit('r@master^').ancestry).toEqual({kind: 'parent', n: 1})
    expect(parseCommit('r@master^^^').ancestry).toEqual({kind: 'parent', n: 3})
    expect(parseCommit('r@master~').ancestry).toEqual({kind: 'parent', n: 1})
    expect(parseCommit('r@master~4').ancestry).toEqual({kind: 'parent', n: 4})
    expect(parseCommit('r@master^2').ancestry).toEqual({kind: 'parent', n: 2})
    expect(parseCommit('r@master.1')).toMatchObject({branch: 'master', ancestry: {kind: 'fromRoot', n: 1}})
    expect(parseCommit(`r@${ID}^`)).toMatchObject({id: ID, ancestry: {kind: 'parent', n: 1}})
  })
  it('applies a default branch only when asked', () => {
    expect(parseCommit('r', 'master')).toMatchObject({branch: 'master'})
    expect(parseCommit('r').branch).toBeUndefined()
  })
  it('refuses a file address', () => {
    expect(() => parseCommit('r@master:/x')).toThrow(/names a file/)
  })
  it('round-trips through formatCommit', () => {
    for (const s of ['r@master', `r@${ID}`, `r@master=${ID}`, 'r@master^2', 'r@master.3', 'r.meta@master']) expect(formatCommit(parseCommit(s))).toBe(s)
  })
})

describe('parseFile', () => {
  it('splits the path at the first colon after @', () => {
    expect(parseFile('r@master:/a/b.txt')).toMatchObject({commit: {branch: 'master'}, path: '/a/b.txt', hasPath: true})
    expect(parseFile('r@master:a:b')).toMatchObject({path: 'a:b'})
    expect(parseFile('r@master')).toMatchObject({path: '/', hasPath: false})
    expect(parseFile('r@master:')).toMatchObject({path: '/', hasPath: false})
  })
  it('needs a ref before a path', () => {
    expect(() => parseFile('r:/x')).toThrow(/no branch or commit/)
  })
})

describe('parseBranch and parseJob', () => {
  it('parses branches', () => {
    expect(parseBranch('a@dev')).toEqual({repo: {name: 'a', type: 'user'}, branch: 'dev'})
    expect(() => parseBranch(`a@${ID}`)).toThrow(/not a branch/)
  })
  it('parses jobs', () => {
    expect(parseJob(`edges@${ID}`)).toEqual({pipeline: 'edges', id: ID})
    expect(() => parseJob('edges')).toThrow(/not a job/)
    expect(() => parseJob('edges@123')).toThrow(/invalid job id/)
  })
  it('parseAncestry leaves plain tokens alone', () => {
    expect(parseAncestry('master')).toEqual({base: 'master'})
  })
})

describe('ancestry mixing', () => {
  it('refuses mixed ^ and ~ and counted runs', () => {
    expect(() => parseCommit('r@master^~')).toThrow(/cannot mix/)
    expect(() => parseCommit('r@master~^')).toThrow(/cannot mix/)
    expect(() => parseCommit('r@master^^2')).toThrow(/invalid ancestry/)
  })
})
