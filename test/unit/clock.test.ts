// The ETA clock of the progress lines (src/cli/reporter.ts).
import {describe, expect, it} from 'vitest'
import {clock} from '../../src/cli/reporter.js'

describe('clock', () => {
  it('shows m:ss under an hour and h:mm:ss past it, rounding to the second', () => {
    expect(clock(0)).toBe('0:00')
    expect(clock(9.4)).toBe('0:09')
    expect(clock(59.6)).toBe('1:00')
    expect(clock(754)).toBe('12:34')
    expect(clock(3600)).toBe('1:00:00')
    expect(clock(3 * 3600 + 5 * 60 + 7)).toBe('3:05:07')
    expect(clock(-5)).toBe('0:00')
  })
})
