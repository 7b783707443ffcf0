import {describe, expect, it} from 'vitest'
import {baseName, cleanPath, joinPath, parentPath, validateName, validatePath} from '../../src/core/pfs/paths.js'

describe('paths', () => {
  it('normalises', () => {
    expect(cleanPath('')).toBe('/')
    expect(cleanPath('a//b/')).toBe('/a/b')
    expect(cleanPath('/a/b')).toBe('/a/b')
    expect(joinPath('/a', 'b/c')).toBe('/a/b/c')
    expect(baseName('/a/b.txt')).toBe('b.txt')
    expect(parentPath('/a/b.txt')).toBe('/a')
  })
  it('accepts printable names, spaces and UTF-8', () => {
    expect(validatePath('foo bar')).toBe('/foo bar')
    expect(validatePath('/données/été.csv')).toBe('/données/été.csv')
  })
  it('rejects control characters, glob characters and dot components (Pachyderm TestPutFileValidCharacters)', () => {
    for (const bad of ['foo\x7fbar', '\x1ffoobar', 'foobar*', 'a?b', '[x]', 'a{b}', 'a!b', 'a(b)', 'a@b', 'a+b', 'a^b', '/a/../b', '/./a', 'a\0b']) {
      expect(() => validatePath(bad), bad).toThrow()
    }
  })
  it('bounds component and path length', () => {
    expect(() => validatePath('/' + 'x'.repeat(256))).toThrow(/255 bytes/)
    expect(validatePath('/' + 'x'.repeat(255))).toHaveLength(256)
    expect(() => validatePath(('/' + 'y'.repeat(200)).repeat(21))).toThrow(/4095/)
  })
  it('validates names', () => {
    expect(() => validateName('repo', 'ok_name-1')).not.toThrow()
    expect(() => validateName('repo', 'no.dots')).toThrow()
    expect(() => validateName('pipeline', '_x')).toThrow(/start with/)
    expect(() => validateName('pipeline', 'p'.repeat(52))).toThrow(/too long/)
  })
})
