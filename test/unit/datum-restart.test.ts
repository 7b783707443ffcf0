// Which datum `pach restart datum FILTER,…` names (core/pps/datum-restart.ts): pachd's MatchDatum
// (every filter equals an input's path or its hash in hex or base64) plus the datum id and a
// directory's path without its "/"; and pachctl's filter list (split on ",", empties dropped).
import {describe, expect, it} from 'vitest'
import {matchDatum, parseDatumFilter} from '../../src/core/pps/datum-restart.js'
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
