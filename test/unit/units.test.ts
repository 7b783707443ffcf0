/**
 * Value-syntax parsers (src/core/units): Go durations, Kubernetes quantities, go-units human
 * sizes. Each is parsed by hand, so each gets a table of accepted and rejected spellings.
 * (cron expressions are covered with triggers in trigger.test.ts.)
 */
import {describe, expect, it} from 'vitest'
import {InvalidArgumentError} from '../../src/core/errors.js'
import {parseDuration} from '../../src/core/units/duration.js'
import {parseHumanSize} from '../../src/core/units/human-size.js'
import {parseMemory} from '../../src/core/units/quantity.js'

describe('parseDuration', () => {
  it('parses Go durations into milliseconds', () => {
    expect(parseDuration('30s')).toBe(30_000)
    expect(parseDuration('1h30m')).toBe(5_400_000)
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('2m')).toBe(120_000)
    expect(parseDuration('1.5h')).toBe(5_400_000)
    expect(parseDuration('0')).toBe(0)
    expect(parseDuration('3600s')).toBe(3_600_000)
    expect(parseDuration('1m0.5s')).toBe(60_500)
    expect(parseDuration('1500us')).toBeCloseTo(1.5)
    expect(parseDuration('-2s')).toBe(-2000)
  })
  it('rejects anything else', () => {
    for (const bad of ['', '30', '1d', '5 minutes', 'h', '1h 30m', '.s', '1.2.3s', '-']) {
      expect(() => parseDuration(bad), bad).toThrow(InvalidArgumentError)
    }
  })
})

describe('parseMemory', () => {
  it('parses Kubernetes quantities into bytes', () => {
    expect(parseMemory('1Gi')).toBe(1024 ** 3)
    expect(parseMemory('512Mi')).toBe(512 * 1024 ** 2)
    expect(parseMemory('1G')).toBe(1e9)
    expect(parseMemory('100M')).toBe(1e8)
    expect(parseMemory('1024')).toBe(1024)
    expect(parseMemory('64k')).toBe(64_000)
    expect(parseMemory('1.5Gi')).toBe(1.5 * 1024 ** 3)
    expect(parseMemory('1e6')).toBe(1e6)
    expect(parseMemory('0')).toBe(0)
  })
  it('rejects anything else', () => {
    for (const bad of ['', '1GB', '1gi', '1 Gi', 'Gi', '-1Gi', 'lots', '1K']) {
      expect(() => parseMemory(bad), bad).toThrow(InvalidArgumentError)
    }
  })
})

describe('parseDuration: table', () => {
  it.each([
    ['+5s', 5000],
    ['.5s', 500],
    ['5.s', 5000],
    ['1h30m45.5s', 5_445_500],
    ['-0', 0],
    ['250µs', 0.25],
    ['250μs', 0.25],
    ['1000000ns', 1],
  ])('%s = %d ms', (s, ms) => {
    expect(parseDuration(s)).toBeCloseTo(ms, 9)
  })
  it.each(['+', '0s0', 's', '1ms1', '1.5', ' 1s', '1s ', '1S', '1hour'])('rejects %j', (bad) => {
    const e = (() => {
      try {
        parseDuration(bad)
      } catch (err) {
        return err
      }
      return undefined
    })()
    expect(e).toBeInstanceOf(InvalidArgumentError)
    expect((e as InvalidArgumentError).code).toBe('INVALID_DURATION')
  })
})

describe('parseMemory: table', () => {
  it.each([
    ['+1Ki', 1024],
    ['2Ti', 2 * 1024 ** 4],
    ['1.5e3', 1500],
    ['1E3', 1000],
    ['100m', 1],
    ['1500m', 2],
    ['.5Ki', 512],
    ['1.', 1],
    ['1e-3', 1],
  ])('%s = %d bytes', (s, bytes) => {
    expect(parseMemory(s)).toBe(bytes)
  })
  it.each(['1KiB', '1e', '1e1.5', '1Ki1', '.', '1,5Gi', 'e3'])('rejects %j', (bad) => {
    expect(() => parseMemory(bad)).toThrow(InvalidArgumentError)
  })
})

describe('parseHumanSize', () => {
  it.each([
    ['1K', 1000],
    ['1KiB', 1000],
    ['1kb', 1000],
    ['2.5 MB', 2.5e6],
    ['  3G  ', 3e9],
    ['1p', 1e15],
    ['0', 0],
    ['1.9', 1],
  ])('%j = %d bytes', (s, bytes) => {
    expect(parseHumanSize(s)).toBe(bytes)
  })
  it.each(['', 'K', '1.2.3', '1 2', '-1K', '1KBB', '1X', '1  K', '.5K'])('rejects %j', (bad) => {
    expect(() => parseHumanSize(bad)).toThrow(/invalid trigger size/)
  })
})
