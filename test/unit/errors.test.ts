// The error contract: the registry (src/core/error-codes.ts), the classes that throw its codes
// (src/core/errors.ts), every throw site in src/ and the README's exit-code table agree.
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {describe, expect, it} from 'vitest'
import {defaultConfig, readConfig} from '../../src/core/config.js'
import * as errors from '../../src/core/errors.js'
import {CLASS_EXIT_CODES, CODES_BY_CLASS, ERROR_CODES, exitCodeOf, type ErrorClassName, type ErrorCode} from '../../src/core/errors.js'

const ROOT = join(import.meta.dirname, '../..')

function sources(dir = join(ROOT, 'src')): {file: string; text: string}[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sources(p)
    return /\.tsx?$/.test(e.name) ? [{file: relative(ROOT, p), text: readFileSync(p, 'utf8')}] : []
  })
}

const lineOf = (text: string, index: number) => text.slice(0, index).split('\n').length

/** Every `new XxxError('CODE'` in src/ (the code may sit on the next line). */
function throwSites(): {cls: string; code: string; at: string}[] {
  return sources().flatMap(({file, text}) =>
    [...text.matchAll(/new\s+([A-Z]\w*Error)\s*\(\s*'([A-Z][A-Z0-9_]*)'/g)].map((m) => ({cls: m[1]!, code: m[2]!, at: `${file}:${lineOf(text, m.index)}`})),
  )
}

/** The README's exit-code table: exit code → the error codes listed in its row. */
function readmeTable(): Map<number, string[]> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.split(/^## Exit codes$/m)[1]!.split(/^## /m)[0]!
  const table = new Map<number, string[]>()
  for (const line of section.split('\n')) {
    const m = /^\|\s*(\d+)\s*\|([^|]*)\|([^|]*)\|([^|]*)\|\s*$/.exec(line)
    if (!m) continue
    expect(table.has(Number(m[1])), `exit ${m[1]} has one row`).toBe(false)
    table.set(Number(m[1]), [...m[4]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((c) => c[1]!))
  }
  return table
}

describe('error registry', () => {
  it('registers each code under exactly one class', () => {
    const all = Object.values(CODES_BY_CLASS).flat()
    expect(all.length).toBe(new Set(all).size)
    expect(ERROR_CODES.size).toBe(all.length)
    for (const code of all) expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/)
  })

  it('maps every class to an exported error class and one exit code', () => {
    for (const cls of Object.keys(CODES_BY_CLASS) as ErrorClassName[]) {
      expect(typeof (errors as Record<string, unknown>)[cls], cls).toBe('function')
      expect(CLASS_EXIT_CODES[cls], cls).toBeGreaterThan(0)
    }
  })

  it('throws each code with the class it is registered under, everywhere in src/', () => {
    const sites = throwSites()
    expect(sites.length).toBeGreaterThan(100)
    const wrong = sites.filter((s) => ERROR_CODES.get(s.code as ErrorCode) !== s.cls).map((s) => `${s.at}: ${s.cls}('${s.code}') but the registry says ${ERROR_CODES.get(s.code as ErrorCode) ?? 'nothing'}`)
    expect(wrong).toEqual([])
  })

  it('gives each fixed-code class its registered code and exit code', () => {
    const made: errors.PachError[] = [
      new errors.CommitFinishedError('r', 'c'),
      new errors.NotARepoError('/x'),
      new errors.LockedError('m'),
      new errors.CorruptObjectError('m'),
      new errors.RunnerError('m'),
      new errors.JobFailedError('m'),
      new errors.CancelledError(),
      new errors.InternalError('m'),
    ]
    for (const e of made) {
      expect(ERROR_CODES.get(e.code), e.name).toBe(e.name)
      expect(e.exitCode, e.name).toBe(CLASS_EXIT_CODES[e.name as ErrorClassName])
    }
    expect(new errors.NotFoundError('JOB_NOT_FOUND', 'm').exitCode).toBe(4)
  })

  it('uses every registered code and every error class somewhere in src/', () => {
    const text = sources()
      .filter((s) => !s.file.endsWith('error-codes.ts'))
      .map((s) => s.text)
      .join('\n')
    const unusedCodes = [...ERROR_CODES.keys()].filter((c) => !text.includes(`'${c}'`))
    expect(unusedCodes).toEqual([])
    const unusedClasses = Object.keys(CODES_BY_CLASS).filter((cls) => !new RegExp(`new ${cls}\\(`).test(text))
    expect(unusedClasses).toEqual([])
  })

  it('declares no error subclasses outside src/core/errors.ts (a local subclass hides its code from the registry)', () => {
    const local = sources()
      .filter((s) => s.file !== join('src', 'core', 'errors.ts'))
      .flatMap(({file, text}) => [...text.matchAll(/class\s+(\w+)\s+extends\s+(\w+Error)\b/g)].filter((m) => m[2]! in CLASS_EXIT_CODES).map((m) => `${file}: ${m[1]} extends ${m[2]}`))
    expect(local).toEqual([])
  })

  it("matches the README's exit-code table: every code, on its class's exit code", () => {
    const table = readmeTable()
    const want = new Map<number, string[]>([[0, []]])
    for (const [code] of ERROR_CODES) want.set(exitCodeOf(code), [...(want.get(exitCodeOf(code)) ?? []), code])
    expect(new Map([...table].map(([k, v]) => [k, [...v].sort()]))).toEqual(new Map([...want].map(([k, v]) => [k, [...v].sort()])))
    expect(new Set(table.keys())).toEqual(new Set([0, ...Object.values(CLASS_EXIT_CODES)]))
  })
})

describe('damaged data', () => {
  it('unusable chunker parameters in config.json are CORRUPT_OBJECT, naming the file', (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'pach-config-'))
    ctx.onTestFinished(() => rmSync(dir, {recursive: true, force: true}))
    const cfg = defaultConfig('2030-01-01T00:00:00Z')
    writeFileSync(join(dir, 'config.json'), JSON.stringify({...cfg, chunker: {...cfg.chunker, avgSize: 1000}}))
    expect(() => readConfig(dir)).toThrow(errors.CorruptObjectError)
    expect(() => readConfig(dir)).toThrow(/config\.json: chunker avgSize must be a power of two/)
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg))
    expect(readConfig(dir).chunker).toEqual(cfg.chunker)
  })

  it('EIO is IO_ERROR (exit 1), not a bug', () => {
    const e = errors.translateSystemError(Object.assign(new Error('short write to a pack file'), {code: 'EIO'})) as errors.PachError
    expect(e).toBeInstanceOf(errors.PachError)
    expect([e.code, e.exitCode]).toEqual(['IO_ERROR', 1])
  })
})
