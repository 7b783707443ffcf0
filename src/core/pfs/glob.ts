/**
 * Pachyderm glob patterns (the `glob` of a pfs input, `pach glob file`, `join_on` / `group_by`).
 *
 * Concept: a glob is cleaned like a PFS path (`pfsfile.CleanPath` = Go `path.Clean`, so "//",
 * "." and ".." segments are resolved, then a leading "/" and no trailing "/"), parsed, and compiled into
 * one anchored regular expression with "/" as the separator, exactly as
 * `pachyderm/ohmyglob` does (it compiles to a regexp2 regex; we compile to a JS RegExp with the
 * `u` flag so that `?` and classes consume whole code points). A match yields the capture
 * groups used by `join_on` / `group_by` templates (`$1`, `${2}`, ...; see expandTemplate).
 *
 * Syntax (term -> regex):
 * - text            literal, regex metacharacters escaped; `\c` escapes any character c
 * - `*`             `[^/]*`            (never crosses "/")
 * - `**`            `.*`               (crosses "/"; but `**(a)` is `*` followed by `*(a)`)
 * - `?`             `[^/]`
 * - `[abc]` `[a-c]` `[!abc]` `[^abc]` `[[:alpha:]]`   character class. As in ohmyglob's
 *                   lexer, the first unescaped `!` or `^` *anywhere* in the class negates it
 *                   (`[a!]` = `[!a]`); escape it (`[a\!]`) to mean the character. Ranges and
 *                   single characters mix freely (`[a-cx_]`). A negated class matches "/" too
 *                   (as in ohmyglob). POSIX classes use their ASCII meaning (RE2's table).
 *                   `]` as a member must be escaped (`\]`); `[]` is an error; lo > hi is an error.
 * - `{a,b,...}`     non-capturing alternatives; each alternative is a full glob.
 * - `(a|b)` = `@(a|b)`   capture: exactly one of the alternatives
 * - `*(a|b)`        capture: zero or more      `((?:a|b)*)`
 * - `+(a|b)`        capture: one or more       `((?:a|b)+)`
 * - `?(a|b)`        capture: zero or one       `((?:a|b)?)`
 * - `!(a|b)`        capture: anything except   `((?:(?!(?:a$|b$))[^/]*))` (see below)
 *   Groups are numbered by opening parenthesis, left to right, nesting allowed; `!(...)` is
 *   a group too. `+`, `@`, `!`, `^` not followed by `(` are literal characters; `^(` is an
 *   error (ohmyglob lexes it as a capture its compiler does not implement).
 * - `,` separates alternatives only directly inside `{}` and `|` only directly inside `()`;
 *   elsewhere they (and `)`, `}` with no matching opener, and `]`) are literal.
 *
 * Negation (ohmyglob's algorithm, reproduced): `!(A|B)` compiles to
 * `((?:(?!(?:A<END>|B<END>))[^/]*))`. Then, globally: if any literal text, `*` or `**` comes
 * after the end of the first negation to close, every `<END>` is dropped (the lookahead then
 * rejects any position where an alternative matches a *prefix* of the rest); otherwise every
 * `<END>` becomes `$` (the lookahead rejects only when an alternative matches the whole rest of
 * the path). So `!(**)` matches nothing, `/!(*.txt)` matches every top-level entry not ending
 * in ".txt", and `/dir/!(*.txt)` likewise one level down.
 * Limits (shared with ohmyglob, and unlike bash): with text after a negation, the negation is
 * prefix-based (`/!(foo)*` rejects "/foobar"; `/!(*.txt)/x` rejects "/a.txt2/x"), a negation
 * consumes only non-"/" characters, and captures *inside* a negation are always "".
 *
 * Other differences from ohmyglob (deliberate; all concern malformed or exotic input):
 * - unclosed `[`, `{`, `(`, a dangling `\`, a `}`/`)` closing the wrong kind of group, or an
 *   unknown POSIX class throw GlobSyntaxError (ohmyglob silently accepts some of these);
 * - JS resets captures inside a repeated group on each iteration, .NET keeps the last
 *   successful one: `*(a|(b))` on "ba" captures "" for group 2 here, "b" in Pachyderm.
 * - `.` (from `**`) does not match "\n", as in regexp2; `$` is strict end of input.
 * - ohmyglob's lexer decides `,` / `|` / `}` / `)` by nesting *counters* (so e.g. `|` splits a
 *   brace group nested in parentheses, and `+`/`@`/`!` not followed by `(` swallow following
 *   text up to the next `?*[{(`); we use the innermost group instead.
 *
 * Paths: match() takes a PFS path with a leading "/" and no trailing "/" (callers strip the
 * trailing "/" of directories). The root "/" matches only the glob "/" (special case), and the
 * glob "/" matches only the root.
 */

/** Thrown by compileGlob for a malformed glob. */
export class GlobSyntaxError extends Error {
  readonly glob: string
  readonly reason: string

  constructor(glob: string, reason: string) {
    super(`invalid glob ${JSON.stringify(glob)}: ${reason}`)
    this.name = 'GlobSyntaxError'
    this.glob = glob
    this.reason = reason
  }
}

/** Go's path.Clean (lexical: collapses "//", drops ".", resolves ".."). */
function goPathClean(p: string): string {
  if (p === '') return '.'
  const rooted = p.startsWith('/')
  const out: string[] = []
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!rooted) out.push('..')
      continue
    }
    out.push(part)
  }
  const joined = out.join('/')
  if (rooted) return '/' + joined
  return joined === '' ? '.' : joined
}

/** pfsfile.CleanPath semantics for globs: "" -> "/", "abc" -> "/abc", "abc/" -> "/abc", "/" stays "/". */
export function cleanGlob(glob: string): string {
  const c = goPathClean(glob)
  if (c === '.') return '/'
  return '/' + c.replace(/^\/+|\/+$/g, '')
}

export interface CompiledGlob {
  /** The cleaned glob. */
  readonly source: string
  /** Number of capture groups. */
  readonly groupCount: number
  /**
   * Match a PFS path (leading "/", no trailing "/"; the root is "/"). Returns null on no match,
   * else captures where [0] is the whole path and [i] the i-th group ("" for a group that did
   * not participate).
   */
  match(path: string): string[] | null
  test(path: string): boolean
}

// ---------------------------------------------------------------------------------------------
// Parsing

type Quantifier = '@' | '*' | '+' | '?' | '!'

type Node =
  | {readonly k: 'text'; readonly s: string}
  | {readonly k: 'any'}
  | {readonly k: 'super'}
  | {readonly k: 'single'}
  | {readonly k: 'class'; readonly re: string}
  | {readonly k: 'anyof'; readonly alts: Node[][]}
  | {readonly k: 'capture'; readonly q: Quantifier; readonly alts: Node[][]}

/** ASCII POSIX classes (RE2's table), as JS class contents usable with the `u` flag. */
const POSIX: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
}

/** Escape a literal for use outside a class (valid under the `u` flag). */
function escapeLiteral(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')
}

/** Escape one code point for use inside a class (valid under the `u` flag). */
function escapeClassChar(c: string): string {
  return /[\\\]\[^\-/]/.test(c) ? '\\' + c : c
}

class Parser {
  private readonly cs: string[]
  private pos = 0

  constructor(private readonly glob: string) {
    this.cs = Array.from(glob)
  }

  private fail(reason: string): never {
    throw new GlobSyntaxError(this.glob, reason)
  }

  parse(): Node[] {
    const seq = this.parseAlternatives('top')
    return seq[0] ?? []
  }

  /**
   * Parse alternatives until the closer of `ctx` (consumed). At top level there is a single
   * alternative and the input must end.
   */
  private parseAlternatives(ctx: 'top' | 'brace' | 'paren', stack: ReadonlyArray<'brace' | 'paren'> = []): Node[][] {
    const alts: Node[][] = []
    let cur: Node[] = []
    let text = ''
    const flush = (): void => {
      if (text !== '') {
        cur.push({k: 'text', s: text})
        text = ''
      }
    }
    const push = (n: Node): void => {
      flush()
      cur.push(n)
    }
    const inner = ctx === 'top' ? stack : [...stack, ctx]
    const cs = this.cs
    for (;;) {
      if (this.pos >= cs.length) {
        if (ctx === 'brace') this.fail('unclosed "{"')
        if (ctx === 'paren') this.fail('unclosed "("')
        flush()
        alts.push(cur)
        return alts
      }
      const c = cs[this.pos]!
      const next = cs[this.pos + 1]
      switch (c) {
        case '\\': {
          if (next === undefined) this.fail('dangling "\\" at end of glob')
          text += next
          this.pos += 2
          continue
        }
        case '*': {
          if (next === '*' && cs[this.pos + 2] !== '(') {
            push({k: 'super'})
            this.pos += 2
          } else if (next === '(') {
            this.pos += 2
            push(this.parseCapture('*', inner))
          } else {
            push({k: 'any'})
            this.pos += 1
          }
          continue
        }
        case '?': {
          if (next === '(') {
            this.pos += 2
            push(this.parseCapture('?', inner))
          } else {
            push({k: 'single'})
            this.pos += 1
          }
          continue
        }
        case '+':
        case '@':
        case '!':
        case '^': {
          if (next === '(' && c === '^') this.fail('"^(...)" is not a supported extglob (use "!(...)")')
          if (next === '(') {
            this.pos += 2
            push(this.parseCapture(c as Quantifier, inner))
          } else {
            text += c
            this.pos += 1
          }
          continue
        }
        case '(': {
          this.pos += 1
          push(this.parseCapture('@', inner))
          continue
        }
        case '[': {
          this.pos += 1
          push(this.parseClass())
          continue
        }
        case '{': {
          this.pos += 1
          push({k: 'anyof', alts: this.parseAlternatives('brace', inner)})
          continue
        }
        case '}':
        case ')': {
          const want = c === '}' ? 'brace' : 'paren'
          if (ctx === want) {
            this.pos += 1
            flush()
            alts.push(cur)
            return alts
          }
          if (inner.includes(want)) this.fail(`"${c}" closes the wrong group at offset ${this.pos}`)
          text += c
          this.pos += 1
          continue
        }
        case ',':
        case '|': {
          if ((c === ',' && ctx === 'brace') || (c === '|' && ctx === 'paren')) {
            flush()
            alts.push(cur)
            cur = []
          } else {
            text += c
          }
          this.pos += 1
          continue
        }
        default:
          text += c
          this.pos += 1
      }
    }
  }

  private parseCapture(q: Quantifier, stack: ReadonlyArray<'brace' | 'paren'>): Node {
    return {k: 'capture', q, alts: this.parseAlternatives('paren', stack)}
  }

  /** After "[": parse a class up to and including "]". */
  private parseClass(): Node {
    const cs = this.cs
    const start = this.pos - 1
    // as in ohmyglob's lexer, the first unescaped "!" or "^" anywhere in the class negates it
    let negate = false
    let body = ''
    let items = 0
    const readChar = (): string => {
      const c = cs[this.pos]
      if (c === undefined) this.fail(`unclosed "[" at offset ${start}`)
      if (c === '\\') {
        const e = cs[this.pos + 1]
        if (e === undefined) this.fail(`unclosed "[" at offset ${start}`)
        this.pos += 2
        return e
      }
      this.pos += 1
      return c
    }
    for (;;) {
      const c = cs[this.pos]
      if (c === undefined) this.fail(`unclosed "[" at offset ${start}`)
      if (c === ']') {
        this.pos += 1
        break
      }
      if (!negate && (c === '!' || c === '^')) {
        negate = true
        this.pos += 1
        continue
      }
      if (c === '[' && cs[this.pos + 1] === ':') {
        const rest = cs.slice(this.pos + 2).join('')
        const m = /^([a-z]+):\]/.exec(rest)
        if (m) {
          const name = m[1]!
          const set = POSIX[name]
          if (set === undefined) this.fail(`unknown POSIX class "[:${name}:]"`)
          body += set
          items++
          this.pos += 2 + m[0].length
          continue
        }
      }
      const lo = readChar()
      if (cs[this.pos] === '-' && cs[this.pos + 1] !== undefined && cs[this.pos + 1] !== ']') {
        this.pos += 1
        const hi = readChar()
        if (hi.codePointAt(0)! < lo.codePointAt(0)!) {
          this.fail(`range "${lo}-${hi}" is out of order (hi must not be lower than lo)`)
        }
        body += escapeClassChar(lo) + '-' + escapeClassChar(hi)
      } else {
        body += escapeClassChar(lo)
      }
      items++
    }
    if (items === 0) this.fail(`empty character class at offset ${start}`)
    return {k: 'class', re: '[' + (negate ? '^' : '') + body + ']'}
  }
}

// ---------------------------------------------------------------------------------------------
// Compilation (ohmyglob's compiler; its two marker strings are symbols here)

const NEG = Symbol('closeNeg')
const BOUND = Symbol('boundary')
type Piece = string | typeof NEG | typeof BOUND

const DOT = '[^/]'

function compileAlts(alts: Node[][]): Piece[] {
  const out: Piece[] = []
  alts.forEach((alt, i) => {
    if (i > 0) out.push('|')
    out.push(...compileSeq(alt))
  })
  return out
}

/** A sequence (ohmyglob KindPattern): plain concatenation. */
function compileSeq(seq: Node[]): Piece[] {
  const out: Piece[] = []
  for (const n of seq) out.push(...compileNode(n))
  return out
}

function compileNode(n: Node): Piece[] {
  switch (n.k) {
    case 'text':
      return [escapeLiteral(n.s), BOUND]
    case 'any':
      return [DOT + '*', BOUND]
    case 'super':
      return ['.*', BOUND]
    case 'single':
      return [DOT]
    case 'class':
      return [n.re]
    case 'anyof':
      return ['(?:', ...compileAlts(n.alts), ')']
    case 'capture': {
      const inner = compileAlts(n.alts)
      switch (n.q) {
        case '@':
          return ['(', ...inner, ')']
        case '*':
          return ['((?:', ...inner, ')*)']
        case '+':
          return ['((?:', ...inner, ')+)']
        case '?':
          return ['((?:', ...inner, ')?)']
        case '!': {
          // every alternative of a negation ends with a marker (ohmyglob joins them with "<M>|")
          const marked: Piece[] = []
          n.alts.forEach((alt, i) => {
            if (i > 0) marked.push('|')
            marked.push(...compileSeq(alt), NEG)
          })
          return ['((?:(?!(?:', ...marked, '))', DOT + '*))']
        }
      }
    }
  }
}

function toRegexSource(seq: Node[]): string {
  const pieces = compileSeq(seq)
  // the end of the first negation to close: a marker directly followed by ")"
  const first = pieces.findIndex((p, i) => p === NEG && String(pieces[i + 1] ?? '').startsWith(')'))
  let negEnd = ''
  if (first >= 0 && !pieces.slice(first + 1).includes(BOUND)) negEnd = '$'
  let body = ''
  for (const p of pieces) {
    if (p === NEG) body += negEnd
    else if (p !== BOUND) body += p
  }
  return '^' + body + '$'
}

function countCaptures(seq: Node[]): number {
  let n = 0
  const walk = (s: Node[]): void => {
    for (const node of s) {
      if (node.k === 'capture') n++
      if (node.k === 'capture' || node.k === 'anyof') for (const a of node.alts) walk(a)
    }
  }
  walk(seq)
  return n
}

/** Throws GlobSyntaxError (exported class extending Error, with .glob and .reason) on malformed globs (unclosed [ or { or (, etc.). */
export function compileGlob(glob: string): CompiledGlob {
  const source = cleanGlob(glob)
  const ast = new Parser(source).parse()
  const groupCount = countCaptures(ast)
  let re: RegExp
  try {
    re = new RegExp(toRegexSource(ast), 'u')
  } catch (e) {
    throw new GlobSyntaxError(source, `does not compile: ${(e as Error).message}`)
  }
  const isRoot = source === '/'
  const match = (path: string): string[] | null => {
    if (path === '/') return isRoot ? ['/'] : null
    if (isRoot) return null
    const m = re.exec(path)
    if (m === null) return null
    const out: string[] = new Array<string>(groupCount + 1)
    for (let i = 0; i <= groupCount; i++) out[i] = m[i] ?? ''
    return out
  }
  return {
    source,
    groupCount,
    match,
    test: (path: string): boolean => match(path) !== null,
  }
}

// ---------------------------------------------------------------------------------------------
// Templates

const DIGIT = /^\p{Nd}$/u

/**
 * Parse "$N" / "${N}" at the start of `s` (ohmyglob `extract`). Returns the group number
 * (-1 for an unusable number: leading zero or too large) and the rest, or null if malformed.
 */
function extract(s: string): {num: number; rest: string} | null {
  if (s.length < 2 || s[0] !== '$') return null
  const brace = s[1] === '{'
  const str = s.slice(brace ? 2 : 1)
  const chars = Array.from(str)
  let i = 0
  while (i < chars.length && DIGIT.test(chars[i]!)) i++
  if (i === 0) return null
  const name = chars.slice(0, i).join('')
  let consumed = name.length
  if (brace) {
    if (str[consumed] !== '}') return null
    consumed++
  }
  let num = 0
  for (const ch of name) {
    if (ch < '0' || ch > '9' || num >= 1e8) {
      num = -1
      break
    }
    num = num * 10 + (ch.charCodeAt(0) - 48)
  }
  if (name.length > 1 && name[0] === '0') num = -1
  return {num, rest: str.slice(consumed)}
}

/** ohmyglob Replace: $N and ${N} -> capture N ($0 whole match), only digits are read after $, so "$1_x" = group1 + "_x"; "$$" -> "$"; a group number beyond the groups -> ""; a "$" not followed by a digit or "{" stays a literal "$". */
export function expandTemplate(captures: string[], template: string): string {
  let result = ''
  let t = template
  while (t.length > 0) {
    const i = t.indexOf('$')
    if (i < 0) break
    result += t.slice(0, i)
    t = t.slice(i)
    if (t.length > 1 && t[1] === '$') {
      result += '$'
      t = t.slice(2)
      continue
    }
    const ex = extract(t)
    if (ex === null) {
      // malformed: the "$" is literal text
      result += '$'
      t = t.slice(1)
      continue
    }
    t = ex.rest
    // ohmyglob indexes captures[num] (it would panic for -1); we substitute "" instead
    if (ex.num >= 0 && ex.num < captures.length) result += captures[ex.num] ?? ''
  }
  return result + t
}

const GLOB_CHARS = /[*?[\]{}!()@+^]/

/** True if the string contains any glob metacharacter: * ? [ ] { } ! ( ) @ + ^  (used by path validation). */
export function hasGlobChars(s: string): boolean {
  return GLOB_CHARS.test(s)
}
