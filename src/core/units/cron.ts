/**
 * Cron expressions as Pachyderm reads them (robfig/cron ParseStandard, plus `@never`):
 * five fields (minute hour day-of-month month day-of-week) with ranges, lists, steps and
 * month/day names; descriptors `@yearly` … `@hourly`; `@every <go duration>`. Times are UTC.
 *
 * cronError validates (null when valid); cronNext gives the first activation strictly after
 * a time (robfig Schedule.Next), or null for `@never`. Pure functions.
 */
import {parseDuration} from './duration.js'

const CRON_FIELDS: {min: number; max: number; names?: string[]; question?: boolean}[] = [
  {min: 0, max: 59},
  {min: 0, max: 23},
  {min: 1, max: 31, question: true},
  {min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']},
  {min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], question: true},
]
const DESCRIPTOR_SPECS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
}
const CRON_DESCRIPTORS = [...Object.keys(DESCRIPTOR_SPECS), '@never']

/** The expression without a leading `CRON_TZ=`/`TZ=` zone (times are UTC here). */
function stripTz(expr: string): string {
  const s = expr.trim()
  const tz = /^(CRON_TZ|TZ)=\S+\s+/.exec(s)
  return tz ? s.slice(tz[0].length) : s
}

/** A field value: a number, or a month / day name; NaN otherwise. */
function fieldValue(v: string, f: (typeof CRON_FIELDS)[number]): number {
  const idx = f.names?.indexOf(v.toLowerCase()) ?? -1
  if (idx >= 0) return idx + (f.min === 1 ? 1 : 0)
  return /^\d+$/.test(v) ? Number(v) : NaN
}

/** robfig/cron ParseStandard (plus Pachyderm's @never): null if valid, else the reason. */
export function cronError(expr: string): string | null {
  const s = stripTz(expr)
  if (s.startsWith('@')) {
    if (CRON_DESCRIPTORS.includes(s)) return null
    if (s.startsWith('@every ')) {
      try {
        return parseDuration(s.slice('@every '.length).trim()) > 0 ? null : '@every needs a positive duration'
      } catch {
        return `"${s.slice(7).trim()}" is not a duration`
      }
    }
    return `unknown descriptor ${s.split(/\s/)[0]}`
  }
  const fields = s.split(/\s+/)
  if (fields.length !== 5) return `expected 5 fields (minute hour day-of-month month day-of-week), found ${fields.length}`
  for (let i = 0; i < 5; i++) {
    const f = CRON_FIELDS[i]!
    for (const part of fields[i]!.split(',')) {
      const [range = '', step, extra] = part.split('/')
      if (extra !== undefined || (step !== undefined && !/^\d+$/.test(step)) || step === '0') return `bad field "${fields[i]}"`
      if (range === '*' || (range === '?' && f.question)) continue
      const [lo = '', hi, more] = range.split('-')
      if (more !== undefined) return `bad field "${fields[i]}"`
      const a = fieldValue(lo, f)
      const b = hi === undefined ? a : fieldValue(hi, f)
      if (!(a >= f.min && b <= f.max && a <= b)) return `bad field "${fields[i]}" (allowed ${f.min}-${f.max})`
    }
  }
  return null
}


interface Fields {
  sets: Set<number>[]
  /** day-of-month / day-of-week given as "*" (or "?"): robfig ANDs the day fields then, else ORs them */
  domStar: boolean
  dowStar: boolean
}

function parseFields(spec: string): Fields {
  const fields = spec.trim().split(/\s+/)
  const sets = fields.map((field, i) => {
    const f = CRON_FIELDS[i]!
    const set = new Set<number>()
    for (const part of field.split(',')) {
      const [range = '', step] = part.split('/')
      const by = step === undefined ? 1 : Number(step)
      let lo: number
      let hi: number
      if (range === '*' || range === '?') {
        lo = f.min
        hi = f.max
      } else {
        const [a = '', b] = range.split('-')
        lo = fieldValue(a, f)
        hi = b === undefined ? (step === undefined ? lo : f.max) : fieldValue(b, f)
      }
      for (let v = lo; v <= hi; v += by) set.add(v)
    }
    return set
  })
  const star = (s: string) => s === '*' || s === '?' || s.startsWith('*/') || s.startsWith('?/')
  return {sets, domStar: star(fields[2]!), dowStar: star(fields[4]!)}
}

/** First activation strictly after `after`, or null (`@never`, or none within 5 years). */
export function cronNext(expr: string, after: Date): Date | null {
  const s = stripTz(expr)
  if (s === '@never') return null
  if (s.startsWith('@every ')) {
    // robfig ConstantDelaySchedule: whole seconds, at least one
    const ms = Math.max(1000, Math.floor(parseDuration(s.slice(7).trim()) / 1000) * 1000)
    return new Date(Math.floor(after.getTime() / 1000) * 1000 + ms)
  }
  const {sets, domStar, dowStar} = parseFields(DESCRIPTOR_SPECS[s] ?? s)
  const [minutes, hours, doms, months, dows] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>]
  const t = new Date(Math.floor(after.getTime() / 60_000) * 60_000 + 60_000)
  const limit = after.getTime() + 5 * 366 * 24 * 3600_000
  const dayOk = () => {
    const dom = doms.has(t.getUTCDate())
    const dow = dows.has(t.getUTCDay())
    return domStar || dowStar ? dom && dow : dom || dow
  }
  while (t.getTime() <= limit) {
    if (!months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1)
      t.setUTCHours(0, 0, 0, 0)
      continue
    }
    if (!dayOk()) {
      t.setUTCDate(t.getUTCDate() + 1)
      t.setUTCHours(0, 0, 0, 0)
      continue
    }
    if (!hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0)
      continue
    }
    if (!minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0)
      continue
    }
    return t
  }
  return null
}
