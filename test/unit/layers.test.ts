// Import boundaries (STYLE §1, §11, §12): commands → core services → (db | store), runners
// implement the interface the core declares, and package.json's dependencies are exactly the
// packages src/ imports. The rules are read from every import in src/ (static, type-only,
// re-exports and dynamic import()).
import {readdirSync, readFileSync} from 'node:fs'
import {builtinModules} from 'node:module'
import {dirname, join, relative, resolve, sep} from 'node:path'
import {describe, expect, it} from 'vitest'

const ROOT = join(import.meta.dirname, '../..')
const SRC = join(ROOT, 'src')

interface Import {
  /** importing file, relative to the repo root with / separators (src/core/x.ts) */
  from: string
  /** the specifier as written */
  spec: string
  /** for relative specifiers: the imported file, relative to the repo root (src/cli/y.ts) */
  target?: string
}

function files(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return files(p)
    return /\.tsx?$/.test(e.name) ? [p] : []
  })
}

const posix = (p: string) => p.split(sep).join('/')

function imports(): Import[] {
  return files(SRC).flatMap((file) => {
    const text = readFileSync(file, 'utf8')
    const specs = [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?\sfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)].map((m) => (m[1] ?? m[2] ?? m[3])!)
    const from = posix(relative(ROOT, file))
    return specs.map((spec) => ({
      from,
      spec,
      target: spec.startsWith('.') ? posix(relative(ROOT, resolve(dirname(file), spec))).replace(/\.js$/, '.ts') : undefined,
    }))
  })
}

const ALL = imports()
const show = (i: Import) => `${i.from} imports ${i.spec}`
const under = (path: string | undefined, ...dirs: string[]) => path !== undefined && dirs.some((d) => path.startsWith(d + '/'))

describe('import boundaries', () => {
  it('reads the imports of every source file', () => {
    expect(ALL.length).toBeGreaterThan(300)
    expect(ALL.some((i) => i.from === 'src/commands/run.ts' && i.target === 'src/cli/jobs.ts')).toBe(true)
  })

  it('src/core imports nothing from src/cli, src/ui, src/commands or src/runner, and no oclif, ink or react', () => {
    const bad = ALL.filter(
      (i) => under(i.from, 'src/core') && (under(i.target, 'src/cli', 'src/ui', 'src/commands', 'src/runner') || /^(@oclif\/|ink$|react$|react\/)/.test(i.spec)),
    )
    expect(bad.map(show)).toEqual([])
  })

  it('ink and react are imported only under src/ui, and src/ui only by a dynamic import() (other commands never load them)', () => {
    expect(ALL.filter((i) => /^(ink|react)(\/|$)/.test(i.spec) && !under(i.from, 'src/ui')).map(show)).toEqual([])
    const staticUi = files(SRC).flatMap((file) => {
      const from = posix(relative(ROOT, file))
      if (under(from, 'src/ui')) return []
      const text = readFileSync(file, 'utf8')
      return [...text.matchAll(/^\s*(?:import|export)\s(?!type\s)[^'"]*?\sfrom\s+['"]([^'"]+)['"]/gm)]
        .map((m) => m[1]!)
        .filter((spec) => spec.startsWith('.') && under(posix(relative(ROOT, resolve(dirname(file), spec))), 'src/ui'))
        .map((spec) => `${from} imports ${spec}`)
    })
    expect(staticUi).toEqual([])
    expect(ALL.some((i) => i.from === 'src/commands/top.ts' && i.target === 'src/ui/top.ts')).toBe(true)
  })

  it('src/core/db and src/core/store import nothing from src/core/pfs or src/core/pps', () => {
    const bad = ALL.filter((i) => under(i.from, 'src/core/db', 'src/core/store') && under(i.target, 'src/core/pfs', 'src/core/pps'))
    expect(bad.map(show)).toEqual([])
  })

  it('src/runner uses only the runner and image-publisher interfaces, types, errors and process helpers of src/core', () => {
    const allowed = new Set(['src/core/pps/runner.ts', 'src/core/types.ts', 'src/core/errors.ts', 'src/core/error-codes.ts', 'src/core/process.ts', 'src/core/remote/images.ts'])
    const bad = ALL.filter((i) => under(i.from, 'src/runner') && under(i.target, 'src/core') && !allowed.has(i.target!))
    expect(bad.map(show)).toEqual([])
  })
})

describe('SQL lives in the db layer (STYLE §1: services hold no SQL)', () => {
  it('outside src/core/db no file prepares, executes or tunes SQL on a database handle', () => {
    const bad = files(SRC)
      .filter((f) => !posix(relative(ROOT, f)).startsWith('src/core/db/'))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({line, at: `${posix(relative(ROOT, f))}:${i + 1}`}))
          .filter(({line}) => /\bdb\s*\.\s*(prepare|exec|pragma|transaction)\s*\(/.test(line))
          .map(({line, at}) => `${at}: ${line.trim()}`),
      )
    expect(bad).toEqual([])
  })
})

describe('package dependencies', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {dependencies: Record<string, string>}
  const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!)
  const bare = ALL.filter((i) => !i.spec.startsWith('.') && !i.spec.startsWith('node:') && !builtinModules.includes(i.spec))

  it('every package src/ imports is a dependency (not a devDependency)', () => {
    expect(bare.filter((i) => !(packageOf(i.spec) in pkg.dependencies)).map(show)).toEqual([])
  })

  it('every dependency is imported by src/ (types come with the package or from @types in devDependencies)', () => {
    const used = new Set(bare.map((i) => packageOf(i.spec)))
    expect(Object.keys(pkg.dependencies).filter((d) => !used.has(d))).toEqual([])
  })
})
