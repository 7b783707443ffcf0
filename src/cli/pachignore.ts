/**
 * Ignore rules for `pach watch`: a `.pachignore` at the top of the watched folder, in
 * gitignore's grammar, on top of built-in rules for editors' temp files and VCS folders.
 *
 * Grammar (gitignore's, matched with minimatch):
 * - blank lines and lines starting with `#` are skipped (`\#` is a literal `#`); trailing
 *   spaces are dropped unless escaped;
 * - `!pattern` re-includes what an earlier rule ignored; the last rule that matches decides;
 * - a pattern ending in `/` matches directories only;
 * - a pattern with a `/` at its start or in its middle is anchored at the folder's top;
 *   otherwise it matches a name at any depth;
 * - `*`, `?`, `[…]` do not cross `/`; `**` does.
 * - what is under an ignored directory is ignored, whatever later rules say (git cannot
 *   re-include a file whose parent directory is excluded either).
 *
 * Built in (before the file's rules, so a `!` line can take one back): `.pach/`, `.git/`,
 * `.hg/`, `.svn/`, the `.pachignore` file itself, and editors' and downloaders' temp files
 * (`*.swp`, `*.swo`, `*.swx`, `*~`, `.#*`, `#*#`, vim's `4913`, `*.tmp`, `.~lock.*#`, `~$*`,
 * `*.part`, `*.crdownload`, `.DS_Store`, `Thumbs.db`).
 */
import {Minimatch} from 'minimatch'

export const BUILTIN_IGNORES = [
  '.pach/',
  '.git/',
  '.hg/',
  '.svn/',
  '/.pachignore',
  '*.swp',
  '*.swo',
  '*.swx',
  '*~',
  '.#*',
  '\\#*#',
  '4913',
  '*.tmp',
  '.~lock.*#',
  '~$*',
  '*.part',
  '*.crdownload',
  '.DS_Store',
  'Thumbs.db',
]

interface Rule {
  /** compiled once: a scan asks every rule about every path */
  matcher: Minimatch
  negate: boolean
  dirOnly: boolean
  anchored: boolean
}

function parseLine(raw: string): Rule | undefined {
  let line = raw.replace(/\r$/, '')
  // trailing spaces go unless escaped
  line = line.replace(/(?<!\\)\s+$/, '').replace(/\\(\s)$/, '$1')
  if (line === '' || line.startsWith('#')) return undefined
  let negate = false
  if (line.startsWith('!')) {
    negate = true
    line = line.slice(1)
  } else if (line.startsWith('\\!') || line.startsWith('\\#')) line = line.slice(1)
  let dirOnly = false
  if (line.endsWith('/')) {
    dirOnly = true
    line = line.replace(/\/+$/, '')
  }
  if (line === '') return undefined
  const anchored = line.includes('/')
  return {matcher: new Minimatch(line.replace(/^\/+/, ''), {dot: true, nonegate: true, nocomment: true}), negate, dirOnly, anchored}
}

/** Parse rules (one per line); the built-in ones come first. */
export function parseIgnore(text: string, opts: {builtins?: boolean} = {}): IgnoreRules {
  const lines = [...(opts.builtins === false ? [] : BUILTIN_IGNORES), ...text.split('\n')]
  return new IgnoreRules(lines.map(parseLine).filter((r): r is Rule => r !== undefined))
}

export class IgnoreRules {
  constructor(private readonly rules: readonly Rule[]) {}

  /** Whether `rel` (a path relative to the folder's top, "/"-separated, no leading "/") is ignored. */
  ignores(rel: string, isDir: boolean): boolean {
    const parts = rel.split('/')
    for (let i = 1; i < parts.length; i++) if (this.decide(parts.slice(0, i).join('/'), true)) return true
    return this.decide(rel, isDir)
  }

  /** The last matching rule's verdict for this one path (its parents aside). */
  private decide(rel: string, isDir: boolean): boolean {
    let ignored = false
    const base = rel.slice(rel.lastIndexOf('/') + 1)
    for (const r of this.rules) {
      if (r.dirOnly && !isDir) continue
      if (r.matcher.match(r.anchored ? rel : base)) ignored = !r.negate
    }
    return ignored
  }
}
