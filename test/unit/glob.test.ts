import {describe, expect, it} from 'vitest'

import {cleanGlob, compileGlob, expandTemplate, GlobSyntaxError, hasGlobChars} from '../../src/core/pfs/glob.js'

/** Paths matched by `glob` among `candidates`, in candidate order. */
function matches(glob: string, candidates: readonly string[]): string[] {
  const g = compileGlob(glob)
  return candidates.filter((p) => g.test(p))
}

/** Replace(path, template) as Pachyderm computes a join/group key (null if no match). */
function key(glob: string, path: string, template: string): string | null {
  const m = compileGlob(glob).match(path)
  return m === null ? null : expandTemplate(m, template)
}

/** Every file plus every directory implied by them (no trailing slash), sorted. */
function withDirs(files: readonly string[]): string[] {
  const all = new Set<string>()
  for (const f of files) {
    all.add(f)
    const parts = f.split('/').filter(Boolean)
    for (let i = 1; i < parts.length; i++) all.add('/' + parts.slice(0, i).join('/'))
  }
  return [...all].sort()
}

const FOO = Array.from({length: 50}, (_, i) => `/foo${i}`)
const bin4 = (i: number): string => i.toString(2).padStart(4, ' ')

describe('cleanGlob', () => {
  it.each([
    ['', '/'],
    ['/', '/'],
    ['abc', '/abc'],
    ['/abc', '/abc'],
    ['abc/', '/abc'],
    ['/abc/', '/abc'],
    ['*', '/*'],
    ['*/*', '/*/*'],
    ['//a//b//', '/a/b'],
    ['./a/./b', '/a/b'],
    ['/(*)/', '/(*)'],
    ['.', '/'],
  ])('%j -> %j', (input, want) => {
    expect(cleanGlob(input)).toBe(want)
  })

  it('compileGlob exposes the cleaned source', () => {
    expect(compileGlob('a/*/').source).toBe('/a/*')
    expect(compileGlob('').source).toBe('/')
  })
})

describe('basic wildcards', () => {
  it('* stays within a path segment', () => {
    const g = compileGlob('/*')
    expect(g.test('/a')).toBe(true)
    expect(g.test('/abc.txt')).toBe(true)
    expect(g.test('/a/b')).toBe(false)
    expect(compileGlob('/*.csv').test('/x.csv')).toBe(true)
    expect(compileGlob('/*.csv').test('/d/x.csv')).toBe(false)
    expect(compileGlob('/a*').test('/a')).toBe(true)
  })

  it('**( is * followed by *( (ohmyglob lexer)', () => {
    const g = compileGlob('/ab**(e|f)')
    expect(g.groupCount).toBe(1)
    expect(g.test('/ab')).toBe(true)
    expect(g.test('/abab')).toBe(true)
    expect(g.test('/ab/ef')).toBe(false)
    expect(compileGlob('/ab**(e|f)g').test('/abcfefg')).toBe(true)
    expect(compileGlob('/ab**(e|f)g').test('/abef')).toBe(false)
  })

  it('** crosses "/"', () => {
    const g = compileGlob('/**')
    expect(g.test('/a')).toBe(true)
    expect(g.test('/a/b/c')).toBe(true)
    expect(compileGlob('/**.csv').test('/d/e/x.csv')).toBe(true)
    expect(compileGlob('/**.csv').test('/d/e/x.txt')).toBe(false)
    expect(compileGlob('/a/**').test('/a/b/c')).toBe(true)
    expect(compileGlob('/a/**').test('/b/c')).toBe(false)
  })

  it('? matches exactly one non-"/" character (code point)', () => {
    const g = compileGlob('/a?c')
    expect(g.test('/abc')).toBe(true)
    expect(g.test('/ac')).toBe(false)
    expect(g.test('/abbc')).toBe(false)
    expect(g.test('/a/c')).toBe(false)
    expect(g.test('/a😀c')).toBe(true)
  })

  it('literal regex metacharacters are escaped', () => {
    expect(compileGlob('/a.b').test('/a.b')).toBe(true)
    expect(compileGlob('/a.b').test('/axb')).toBe(false)
    expect(compileGlob('/a$b^c|d').test('/a$b^c|d')).toBe(true)
    expect(compileGlob('/x)y}z]').test('/x)y}z]')).toBe(true)
    expect(compileGlob('/a,b').test('/a,b')).toBe(true)
    expect(compileGlob('/a+b@c!d').test('/a+b@c!d')).toBe(true)
  })

  it('backslash escapes the next character', () => {
    expect(compileGlob('/a\\*b').test('/a*b')).toBe(true)
    expect(compileGlob('/a\\*b').test('/axb')).toBe(false)
    expect(compileGlob('/a\\(*b').test('/a((b')).toBe(true)
    expect(compileGlob('/a\\(*b').test('/ab')).toBe(false)
    expect(compileGlob('/\\{a,b\\}').test('/{a,b}')).toBe(true)
    expect(compileGlob('/\\[x\\]').test('/[x]')).toBe(true)
  })
})

describe('character classes', () => {
  it('lists, ranges, negation', () => {
    expect(matches('/[abc]', ['/a', '/b', '/d', '/ab'])).toEqual(['/a', '/b'])
    expect(matches('/[a-c]', ['/a', '/c', '/d'])).toEqual(['/a', '/c'])
    expect(matches('/[!abc]', ['/a', '/d', '/z'])).toEqual(['/d', '/z'])
    expect(matches('/[^abc]', ['/a', '/d', '/z'])).toEqual(['/d', '/z'])
    expect(matches('/[!a-c]', ['/b', '/x'])).toEqual(['/x'])
    expect(matches('/file[0-9]', ['/file1', '/file10', '/filex'])).toEqual(['/file1'])
    expect(matches('/[a-cx]', ['/b', '/x', '/y'])).toEqual(['/b', '/x'])
  })

  it('the first unescaped ! or ^ anywhere in a class negates it (ohmyglob lexer)', () => {
    expect(matches('/[a!]', ['/a', '/!', '/b'])).toEqual(['/!', '/b']) // = [^a]
    expect(matches('/[a\\!]', ['/a', '/!', '/b'])).toEqual(['/a', '/!'])
    expect(matches('/[!!]', ['/!', '/b'])).toEqual(['/b'])
  })

  it('a negated class also matches "/" (as in ohmyglob)', () => {
    expect(compileGlob('/a[!x]b').test('/a/b')).toBe(true)
  })

  it('special characters inside classes are literal', () => {
    expect(matches('/[a*\\(]*z', ['/abcz', '/abcx', '/bbc', '/(z', '/*z'])).toEqual(['/abcz', '/(z', '/*z'])
    expect(matches('/[.\\^-]', ['/.', '/^', '/-', '/x'])).toEqual(['/.', '/^', '/-'])
    expect(matches('/[-a]', ['/-', '/a', '/b'])).toEqual(['/-', '/a'])
    expect(matches('/[\\]]', ['/]', '/x'])).toEqual(['/]'])
  })

  it('POSIX classes', () => {
    expect(matches('/[[:alpha:]]', ['/a', '/Z', '/1', '/_'])).toEqual(['/a', '/Z'])
    expect(matches('/[[:digit:]][[:digit:]]', ['/12', '/1a'])).toEqual(['/12'])
    expect(matches('/[![:digit:]]', ['/1', '/a'])).toEqual(['/a'])
    expect(matches('/[[:upper:][:digit:]]', ['/A', '/1', '/a'])).toEqual(['/A', '/1'])
    expect(matches('/[[:punct:]]', ['/!', '/[', '/a'])).toEqual(['/!', '/['])
  })
})

describe('braces', () => {
  it('non-capturing alternatives', () => {
    const g = compileGlob('/{a,bc}')
    expect(g.groupCount).toBe(0)
    expect(matches('/{a,bc}', ['/a', '/bc', '/b', '/abc'])).toEqual(['/a', '/bc'])
    expect(g.match('/bc')).toEqual(['/bc'])
  })

  it('alternatives may contain globs, slashes and nested braces', () => {
    expect(matches('/{*.csv,*.json}', ['/a.csv', '/b.json', '/c.txt'])).toEqual(['/a.csv', '/b.json'])
    expect(matches('/{a/*,b}', ['/a/x', '/b', '/a'])).toEqual(['/a/x', '/b'])
    expect(matches('/{x,{y,z}1}', ['/x', '/y1', '/z1', '/y'])).toEqual(['/x', '/y1', '/z1'])
    expect(matches('/{,a}b', ['/b', '/ab'])).toEqual(['/b', '/ab'])
  })

  it('"|" is literal inside braces and "," is literal inside parentheses', () => {
    expect(compileGlob('/{a|b}').test('/a|b')).toBe(true)
    expect(compileGlob('/{a|b}').test('/a')).toBe(false)
    expect(compileGlob('/(a,b)').match('/a,b')).toEqual(['/a,b', 'a,b'])
  })
})

describe('extglobs and capture groups', () => {
  it('(a|b) and @(a|b) capture exactly one alternative', () => {
    expect(compileGlob('/test/(a|b)/x.go').match('/test/a/x.go')).toEqual(['/test/a/x.go', 'a'])
    expect(compileGlob('/test/@(a|b)/x.go').match('/test/b/x.go')).toEqual(['/test/b/x.go', 'b'])
    expect(compileGlob('/test/(a|b)/x.go').match('/test/ab/x.go')).toBeNull()
    expect(compileGlob('/test/(a|b)').match('/hi/123')).toBeNull()
  })

  it('*(...) zero or more, +(...) one or more, ?(...) zero or one', () => {
    const star = compileGlob('/test/a*(a|b)/x.go')
    expect(star.match('/test/a/x.go')).toEqual(['/test/a/x.go', ''])
    expect(star.match('/test/aba/x.go')?.[1]).toBe('ba')
    const plus = compileGlob('/test/+(a|b)/x.go')
    expect(plus.match('/test/aba/x.go')?.[1]).toBe('aba')
    expect(plus.test('/test//x.go')).toBe(false)
    const opt = compileGlob('/test/a?(a|b)/x.go')
    expect(opt.match('/test/a/x.go')?.[1]).toBe('')
    expect(opt.match('/test/ab/x.go')?.[1]).toBe('b')
    expect(opt.test('/test/abb/x.go')).toBe(false)
  })

  it('multiple and nested captures are numbered by opening parenthesis', () => {
    expect(compileGlob('/test/+(a|b)/(*).go').match('/test/ab/x.go')).toEqual(['/test/ab/x.go', 'ab', 'x'])
    expect(compileGlob('/test/a*(a|b)/*(*).go').match('/test/aaaa/x.go')).toEqual(['/test/aaaa/x.go', 'aaa', 'x'])
    const nested = compileGlob('/test*(/?(+(a|b)/*.go))')
    expect(nested.groupCount).toBe(3)
    expect(nested.match('/test/a/x.go')).toEqual(['/test/a/x.go', '/a/x.go', 'a/x.go', 'a'])
  })

  it('a plain "(" is a capture group: /foo(?)(?) has two single-character groups', () => {
    const g = compileGlob('/foo(?)(?)')
    expect(g.groupCount).toBe(2)
    expect(g.match('/foo12')).toEqual(['/foo12', '1', '2'])
    expect(g.match('/foo1')).toBeNull()
    expect(g.match('/foo123')).toBeNull()
  })

  it('groups that do not participate capture ""', () => {
    const g = compileGlob('/{(a)x,(b)y}')
    expect(g.groupCount).toBe(2)
    expect(g.match('/by')).toEqual(['/by', '', 'b'])
  })

  it('extglob match table (ohmyglob extglob_test)', () => {
    const cases: Array<[boolean, string, string]> = [
      [true, '*.(a|b)', 'a.a.a'],
      [false, '*.(a|b)', 'a.bb'],
      [true, '*.(a|b)*', 'a.bb'],
      [true, '@(b+(c)d|e*(f)g?|?(h)i@(j|k))', 'effgz'],
      [false, '@(b+(c)d|e+(f)g?|?(h)i@(j|k))', 'egz'],
      [true, '@(foo|f|fo)*(f|of+(o))', 'foofoofo'],
      [true, '*(*(of*(o)x)o)', 'ofoooxoofxoofoooxoofxo'],
      [false, '*(*(of*(o)x)o)', 'ofoooxoofxoofoooxoofxofo'],
      [true, '*(0|1|3|5|7|9)', '137577991'],
      [false, '*(0|1|3|5|7|9)', '2468'],
      [false, '*(f*(o))', 'xfoooofof'],
      [true, '*(f*(o))', 'fooofoofofooo'],
      [true, 'para*([0-9])', 'para'],
      [false, 'para+([0-9])', 'para'],
      [true, 'para?([345]|99)1', 'para991'],
      [false, 'para?([345]|99)1', 'para381'],
      [true, 'ab**(e|f)g', 'abcfefg'],
      [false, 'ab**(e|f)g', 'abef'],
      [true, '+(*)c', 'abc'],
      [false, '+()c', 'abc'],
      [true, 'a[b*(foo|bar)]d', 'abd'],
    ]
    for (const [want, pattern, input] of cases) {
      expect(compileGlob(pattern).test('/' + input), `${pattern} vs ${input}`).toBe(want)
    }
  })
})

describe('negation !(...)', () => {
  it('!(**) matches nothing', () => {
    const g = compileGlob('!(**)')
    expect(g.groupCount).toBe(1)
    expect(matches('!(**)', [...FOO, '/a/b', '/x'])).toEqual([])
    expect(g.test('/')).toBe(false)
  })

  it('!(*.txt) as a whole path segment', () => {
    const cands = ['/a.txt', '/b.csv', '/c', '/d.txt.gz', '/e/f.csv']
    expect(matches('/!(*.txt)', cands)).toEqual(['/b.csv', '/c', '/d.txt.gz'])
    expect(matches('/e/!(*.txt)', ['/e/f.csv', '/e/g.txt'])).toEqual(['/e/f.csv'])
    expect(compileGlob('/!(*.txt)').match('/b.csv')).toEqual(['/b.csv', 'b.csv'])
    expect(matches('/!(*.js|*.json)', ['/a.js', '/a.json', '/a.js.gz', '/a.gz'])).toEqual(['/a.js.gz', '/a.gz'])
  })

  it('negation match table (ohmyglob TestNegationGlob, separator "/")', () => {
    const cases: Array<[boolean, string, string]> = [
      [true, 'a*!(x)', 'a'],
      [true, 'a*!(x)', 'ax'],
      [false, 'a*!(x)', 'ba'],
      [true, 'a!(x)', 'ab'],
      [false, 'a!(x)', 'ax'],
      [true, '!(x)', 'foo'],
      [false, '!(x)', 'foo/bar'],
      [false, '!(foo)', 'foo'],
      [true, '!(foo)', 'foobar'],
      [false, '!(foo)*', 'foobar'],
      [true, '!(!(foo))', 'foo'],
      [false, '!(!(!(foo)))', 'foo'],
      [true, '!(!(!(!(foo))))', 'foo'],
      [false, '!(*.*).!(*.*)', 'moo.cow'],
      [true, '*(!(f))', 'fff'],
      [false, '*(!(f))', 'f'],
      [false, '+(!(f))', 'f'],
      [true, '@(!(z*)|*x)', 'zoox'],
      [false, '@(!(z*)|*x)', 'zoot'],
      [false, '*(!(foo))', 'foo'],
      [false, '!(foo)b*', 'foobb'],
      [true, '*.!(js|css)', 'bar.min.js'],
      [true, '*(*.json|!(*.js))', 'other.bar'],
      [false, '!(*(*.json|!(*.js)))*', 'other.bar'],
      [false, '*(*.json|!(*.js))', 'foojs.js'],
      [true, '*(*.json|!(*.js))*', 'foojs.js'],
      [false, '*.!(js)*.!(xy)', 'asd.js.xyz'],
      [true, '*.!(j)', 'a-integration-test.js'],
      [false, '*.!(js)', 'a-integration-test.js'],
      [true, '*-!(integration-)test.js', 'a-integration-test.js'],
      [false, '*-!(integration)-test.js', 'a-integration-test.js'],
      [true, '*!(-integration)-test.js', 'a-integration-test.js'],
      [false, '*-integr!(ation)-test.js', 'a-integration-test.js'],
      [true, '*te!(gration-te)st.js', 'a-integration-test.js'],
      [true, '*?!(integration)?test.js', 'a-integration-test.js'],
      [true, '!(*(.js.js))', 'foo.js.js'],
      [true, '*.!(js)', 'foo.js.js'],
      [false, '*.!(js)*', 'foo.js.js'],
      [true, '*/**(.*.*)', 'a/foo.js.js'],
      [true, 'a/!(+(.*))', 'a/foo.js.js'],
      [true, '!(*.a|*.b|*.c)', 'a.abcd'],
      [false, '!(*.a|*.b|*.c)*', 'a.abcd'],
      [false, '!(*.[a-b]*)', 'a.a'],
      [false, '!*.(a|b)', 'a.a'],
    ]
    for (const [want, pattern, input] of cases) {
      expect(compileGlob(pattern).test('/' + input), `${pattern} vs ${input}`).toBe(want)
    }
  })
})

describe('root path', () => {
  it('"/" matches only the glob "/" (and "")', () => {
    expect(compileGlob('/').match('/')).toEqual(['/'])
    expect(compileGlob('').match('/')).toEqual(['/'])
    expect(compileGlob('/').groupCount).toBe(0)
    for (const g of ['/*', '/**', '*', '/(*)', '!(x)', '/?(a)', '/*(a)']) {
      expect(compileGlob(g).match('/'), g).toBeNull()
    }
  })

  it('the glob "/" matches nothing but the root', () => {
    expect(compileGlob('/').test('/a')).toBe(false)
    expect(compileGlob('/').test('/a/b')).toBe(false)
  })
})

describe('worked examples (iterator_test.go)', () => {
  it('/foo?1 over /foo0../foo49', () => {
    expect(matches('/foo?1', FOO)).toEqual(['/foo11', '/foo21', '/foo31', '/foo41'])
  })

  it('/foo*2 over /foo0../foo49', () => {
    expect(matches('/foo*2', FOO).sort()).toEqual(['/foo12', '/foo2', '/foo22', '/foo32', '/foo42'])
  })

  it('/foo(?)(?) join keys: A on $1$2, B on $2$1', () => {
    expect(key('/foo(?)(?)', '/foo12', '$1$2')).toBe('12')
    expect(key('/foo(?)(?)', '/foo12', '$2$1')).toBe('21')
    expect(key('/foo(?)(?)', '/foo3', '$1$2')).toBeNull()
    // the 16 join pairs: A file foo<ab> pairs with B file foo<ba>
    const two = FOO.filter((p) => compileGlob('/foo(?)(?)').test(p))
    expect(two).toHaveLength(40)
    const pairs: string[] = []
    for (const a of two) {
      for (const b of two) {
        if (key('/foo(?)(?)', a, '$1$2') === key('/foo(?)(?)', b, '$2$1')) pairs.push(`${a.slice(4)},${b.slice(4)}`)
      }
    }
    expect(pairs).toHaveLength(16)
    expect(pairs).toContain('12,21')
    expect(pairs).toContain('44,44')
    expect(pairs).toContain('24,42')
  })

  it('group /foo(?)(?) by $1 gives 4 groups of 10', () => {
    const groups = new Map<string, string[]>()
    for (const p of FOO) {
      const k = key('/foo(?)(?)', p, '$1')
      if (k !== null) groups.set(k, [...(groups.get(k) ?? []), p])
    }
    expect([...groups.keys()].sort()).toEqual(['1', '2', '3', '4'])
    for (const members of groups.values()) expect(members).toHaveLength(10)
  })
})

describe('TestGlob (pfs server_test): files and directories are candidates', () => {
  const files: string[] = []
  for (let i = 0; i < 100; i++) files.push(`/file${i}`, `/dir1/file${i}`, `/dir2/dir3/file${i}`)
  const cands = withDirs(files)

  it('candidate set', () => {
    expect(cands).toHaveLength(300 + 3) // + /dir1, /dir2, /dir2/dir3
  })

  it.each([
    ['*', 102],
    ['/*', 102],
    ['file*', 100],
    ['dir1/*', 100],
    ['dir2/dir3/*', 100],
    ['*/*', 101],
    ['/*/*', 101],
    ['/**', 303],
    ['/', 0], // the root itself is not among these candidates
  ])('%s -> %i matches', (glob, n) => {
    expect(matches(glob, cands)).toHaveLength(n)
  })

  it('/ matches the root when the root is a candidate', () => {
    expect(matches('/', ['/', ...cands])).toEqual(['/'])
  })
})

describe('capture examples (docs, path /foo/bar-123/ABC.txt)', () => {
  it('/(*) with $1 -> foo (matches the directory /foo)', () => {
    expect(key('/(*)', '/foo', '$1')).toBe('foo')
    expect(compileGlob('/(*)').test('/foo/bar-123/ABC.txt')).toBe(false)
  })

  it('/*/bar-(*) with $1 -> 123', () => {
    expect(key('/*/bar-(*)', '/foo/bar-123', '$1')).toBe('123')
  })

  it('/(*)/*/(??)*.txt -> foo, AB', () => {
    const m = compileGlob('/(*)/*/(??)*.txt').match('/foo/bar-123/ABC.txt')
    expect(m).toEqual(['/foo/bar-123/ABC.txt', 'foo', 'AB'])
    expect(expandTemplate(m!, '$1-$2')).toBe('foo-AB')
  })

  it('/*/(bar-(123))/* -> bar-123, 123', () => {
    const m = compileGlob('/*/(bar-(123))/*').match('/foo/bar-123/ABC.txt')
    expect(m).toEqual(['/foo/bar-123/ABC.txt', 'bar-123', '123'])
  })

  it('/(*) and /(*)/ are equivalent (TestJoinTrailingSlash)', () => {
    const a = compileGlob('/(*)')
    const b = compileGlob('/(*)/')
    expect(b.source).toBe(a.source)
    for (const p of ['/foo', '/bar', '/foo/x']) expect(b.match(p)).toEqual(a.match(p))
  })
})

describe('expandTemplate', () => {
  const caps = ['/foo12', '1', '2']

  it.each([
    ['$1$2', '12'],
    ['$2$1', '21'],
    ['${1}', '1'],
    ['${1}${2}', '12'],
    ['$0', '/foo12'],
    ['$1_x', '1_x'],
    ['${1}_x', '1_x'],
    ['$1-$2', '1-2'],
    ['key:$2', 'key:2'],
    ['$$', '$'],
    ['$$1', '$1'],
    ['$9', ''],
    ['$3', ''],
    ['a$9b', 'ab'],
    ['$', '$'],
    ['a$', 'a$'],
    ['$x', '$x'],
    ['${', '${'],
    ['${x}', '${x}'],
    ['${1', '${1'],
    ['${}', '${}'],
    ['$12', ''],
    ['$01', ''],
    ['', ''],
    ['plain', 'plain'],
  ])('%j -> %j', (template, want) => {
    expect(expandTemplate(caps, template)).toBe(want)
  })

  it('reads all digits after $ (no name characters)', () => {
    const many = Array.from({length: 13}, (_, i) => `g${i}`)
    expect(expandTemplate(many, '$12')).toBe('g12')
    expect(expandTemplate(many, '$1a')).toBe('g1a')
  })
})

describe('TestJoinInput keys (file-0.%4b)', () => {
  const repo0 = Array.from({length: 16}, (_, i) => `/file-0.${bin4(i)}`)
  const repo1 = Array.from({length: 16}, (_, i) => `/file-1.${bin4(i)}`)

  it('/file-?.(11*) matches names whose field starts with "11"', () => {
    const ms = matches('/file-?.(11*)', repo0)
    expect(ms).toEqual(['/file-0.1100', '/file-0.1101', '/file-0.1110', '/file-0.1111'])
    expect(ms.map((p) => key('/file-?.(11*)', p, '$1'))).toEqual(['1100', '1101', '1110', '1111'])
  })

  it('/file-?.(*0) matches names whose field ends in "0"', () => {
    const ms = matches('/file-?.(*0)', repo1)
    expect(ms).toEqual([0, 2, 4, 6, 8, 10, 12, 14].map((i) => `/file-1.${bin4(i)}`))
    expect(key('/file-?.(*0)', '/file-1.  10', '$1')).toBe('  10')
  })

  it('the inner join has exactly the keys 1100 and 1110', () => {
    const a = new Set(matches('/file-?.(11*)', repo0).map((p) => key('/file-?.(11*)', p, '$1')))
    const b = new Set(matches('/file-?.(*0)', repo1).map((p) => key('/file-?.(*0)', p, '$1')))
    expect([...a].filter((k) => b.has(k)).sort()).toEqual(['1100', '1110'])
  })

  it('directory join /dir-(?)(?) on $2 vs $1', () => {
    expect(key('/dir-(?)(?)', '/dir-01', '$2')).toBe('1')
    expect(key('/dir-(?)(?)', '/dir-10', '$1')).toBe('1')
  })
})

describe('TestGroupInput/Basic (file.%4b grouped by $3)', () => {
  it('gives 3 groups with the reference memberships', () => {
    const files = Array.from({length: 16}, (_, i) => `/file.${bin4(i)}`)
    const groups = new Map<string, string[]>()
    for (const p of files) {
      const k = key('/file.(?)(?)(?)(?)', p, '$3')
      expect(k).not.toBeNull()
      groups.set(k!, [...(groups.get(k!) ?? []), p.slice('/file.'.length)])
    }
    expect(groups.size).toBe(3)
    expect(groups.get(' ')).toEqual(['   0', '   1'])
    expect(groups.get('1')).toEqual(['  10', '  11', ' 110', ' 111', '1010', '1011', '1110', '1111'])
    expect(groups.get('0')).toEqual([' 100', ' 101', '1000', '1001', '1100', '1101'])
  })

  it('TestGroupInput/Symlink-style glob /*-PATID(*)-*.txt by $1', () => {
    expect(key('/*-PATID(*)-*.txt', '/T1-LIPID-PATID3-CLIA24D9.txt', '$1')).toBe('3')
  })
})

describe('malformed globs', () => {
  it.each([
    '/[abc',
    '/[',
    '/[!',
    '/[]',
    '/[!]',
    '/[z-a]',
    '/{a,b',
    '/{',
    '/(a|b',
    '/foo(?',
    '/*(a',
    '/!(x',
    '/a\\',
    '/{(a})',
    '/({a)',
    '/[[:nope:]]',
    '/^(a)',
  ])('%j throws GlobSyntaxError', (glob) => {
    let err: unknown
    try {
      compileGlob(glob)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(GlobSyntaxError)
    expect(err).toBeInstanceOf(Error)
    const ge = err as GlobSyntaxError
    expect(ge.glob).toBe(cleanGlob(glob))
    expect(ge.reason.length).toBeGreaterThan(0)
    expect(ge.name).toBe('GlobSyntaxError')
  })

  it('unmatched closers and lone extglob characters are literal', () => {
    expect(compileGlob('/a)').test('/a)')).toBe(true)
    expect(compileGlob('/a}').test('/a}')).toBe(true)
    expect(compileGlob('/a]').test('/a]')).toBe(true)
    expect(compileGlob('/a!b').test('/a!b')).toBe(true)
    expect(compileGlob('/a^b').test('/a^b')).toBe(true)
  })
})

describe('hasGlobChars', () => {
  it.each(['*', 'a?', '[x]', 'a]', '{a,b}', 'a}', 'pa!h', '(x)', 'a)', '@x', 'a+b', 'dir/^x', 'path/**/file'])(
    '%j has glob chars',
    (s) => {
      expect(hasGlobChars(s)).toBe(true)
    },
  )

  it.each(['', 'path', 'path/to/file1.txt', 'path/to_test-a/file.txt', 'a,b', 'a|b', 'a$b', 'a.b', 'a b', '\\'])(
    '%j has none',
    (s) => {
      expect(hasGlobChars(s)).toBe(false)
    },
  )
})
