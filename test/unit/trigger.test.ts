/**
 * Branch triggers and cron (pfs/trigger.ts, units/cron.ts, units/human-size.ts): Pachyderm's isTriggered truth table
 * (master_trigger.go), go-units human sizes, robfig cron activations.
 */
import {describe, expect, it} from 'vitest'
import {cronError, cronNext} from '../../src/core/units/cron.js'
import {checkTrigger, cronDue, isTriggered} from '../../src/core/pfs/trigger.js'
import {parseHumanSize} from '../../src/core/units/human-size.js'

const at = (iso: string) => new Date(iso)

describe('cronNext (UTC)', () => {
  it('follows fields, steps, ranges, names and descriptors', () => {
    expect(cronNext('*/15 * * * *', at('2026-01-01T10:07:30Z'))).toEqual(at('2026-01-01T10:15:00Z'))
    expect(cronNext('0 3 * * *', at('2026-01-01T03:00:00Z'))).toEqual(at('2026-01-02T03:00:00Z'))
    expect(cronNext('30 9 * * mon-fri', at('2026-01-02T10:00:00Z'))).toEqual(at('2026-01-05T09:30:00Z')) // Fri → Mon
    expect(cronNext('0 0 1 jan *', at('2026-03-01T00:00:00Z'))).toEqual(at('2027-01-01T00:00:00Z'))
    expect(cronNext('@hourly', at('2026-01-01T10:59:59Z'))).toEqual(at('2026-01-01T11:00:00Z'))
    expect(cronNext('@daily', at('2026-01-01T10:00:00Z'))).toEqual(at('2026-01-02T00:00:00Z'))
    expect(cronNext('@every 90s', at('2026-01-01T10:00:00.500Z'))).toEqual(at('2026-01-01T10:01:30Z'))
    expect(cronNext('@never', at('2026-01-01T10:00:00Z'))).toBeNull()
    expect(cronNext('5/20 * * * *', at('2026-01-01T10:26:00Z'))).toEqual(at('2026-01-01T10:45:00Z'))
    // day-of-month and day-of-week both restricted: either matches (robfig, Vixie cron)
    expect(cronNext('0 0 13 * fri', at('2026-02-01T00:00:00Z'))).toEqual(at('2026-02-06T00:00:00Z'))
    // February 30th never comes
    expect(cronNext('0 0 30 2 *', at('2026-01-01T00:00:00Z'))).toBeNull()
  })
  it('validates', () => {
    expect(cronError('*/5 * * * *')).toBeNull()
    expect(cronError('61 * * * *')).toMatch(/allowed 0-59/)
    expect(cronError('* * *')).toMatch(/expected 5 fields/)
    expect(cronError('@every soon')).toMatch(/not a duration/)
  })
})

describe('triggers', () => {
  const head = (size: number, finishing: string | null = '2026-01-01T10:00:00Z') => ({size, finishing})
  const count = (n: number) => (limit: number) => Math.min(n, limit)

  it('parses sizes as go-units FromHumanSize (decimal)', () => {
    expect(parseHumanSize('1K')).toBe(1000)
    expect(parseHumanSize('100M')).toBe(100e6)
    expect(parseHumanSize('1.5GB')).toBe(1.5e9)
    expect(parseHumanSize('10 kib')).toBe(10_000)
    expect(parseHumanSize('42')).toBe(42)
    expect(() => parseHumanSize('lots')).toThrow(/invalid trigger size/)
  })

  it('ORs the set conditions, or ANDs them with all; no condition fires only with all', () => {
    const t = {branch: 'master'}
    expect(isTriggered(t, head(0), head(10), count(1))).toBe(false)
    expect(isTriggered({...t, all: true}, head(0), head(10), count(1))).toBe(true)
    expect(isTriggered({...t, size: '1K'}, head(500), head(1499), count(1))).toBe(false)
    expect(isTriggered({...t, size: '1K'}, head(500), head(1500), count(1))).toBe(true)
    expect(isTriggered({...t, size: '1K'}, undefined, head(1000), count(1))).toBe(true)
    expect(isTriggered({...t, commits: 3}, head(0), head(1), count(2))).toBe(false)
    expect(isTriggered({...t, commits: 3}, head(0), head(1), count(3))).toBe(true)
    expect(isTriggered({...t, size: '1K', commits: 3}, head(0), head(10), count(3))).toBe(true)
    expect(isTriggered({...t, size: '1K', commits: 3, all: true}, head(0), head(10), count(3))).toBe(false)
    expect(isTriggered({...t, size: '1K', commits: 3, all: true}, head(0), head(1000), count(3))).toBe(true)
  })

  it('rate_limit_spec fires when a tick lies between the old and the new head', () => {
    const t = {branch: 'master', rate_limit_spec: '0 * * * *'}
    expect(isTriggered(t, head(0, '2026-01-01T10:05:00Z'), head(0, '2026-01-01T10:55:00Z'), count(1))).toBe(false)
    expect(isTriggered(t, head(0, '2026-01-01T10:05:00Z'), head(0, '2026-01-01T11:00:01Z'), count(1))).toBe(true)
  })

  it('cron triggers are due once a tick passed since the follower moved', () => {
    const t = {branch: 'master', cron_spec: '@every 1h'}
    expect(cronDue(t, '2026-01-01T10:00:00Z', at('2026-01-01T10:59:00Z'))).toBe(false)
    expect(cronDue(t, '2026-01-01T10:00:00Z', at('2026-01-01T11:00:00Z'))).toBe(true)
    expect(cronDue(t, null, at('2026-01-01T11:00:00Z'))).toBe(true)
  })

  it('checks triggers', () => {
    expect(checkTrigger({branch: 'master', size: '1M', all: false}, 'staging')).toEqual({branch: 'master', size: '1M'})
    expect(() => checkTrigger({branch: 'staging'}, 'staging')).toThrow(/cannot trigger on itself/)
    expect(() => checkTrigger({branch: 'master', cron_spec: 'every day'}, 's')).toThrow(/cron_spec .* is not a valid cron expression/)
    expect(() => checkTrigger({branch: 'master', cron_spec: '@daily', size: '1M'}, 's')).toThrow(/cannot be combined/)
    expect(() => checkTrigger({branch: 'master', commits: -1}, 's')).toThrow(/non-negative/)
  })
})
