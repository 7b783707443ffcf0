/**
 * Levenshtein distance (src/core/text/edit-distance.ts), shared by the CLI's unknown-command
 * hint and the spec parser's unknown-field hint.
 */
import {describe, expect, it} from 'vitest'
import {editDistance} from '../../src/core/text/edit-distance.js'

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['cmd', 'cmd', 0],
    ['cmdd', 'cmd', 1],
    ['glbo', 'glob', 2],
    ['kitten', 'sitting', 3],
    ['list repos', 'list repo', 1],
    ['joinOn', 'join_on', 2],
  ])('%j -> %j = %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d)
    expect(editDistance(b, a)).toBe(d)
  })
})
