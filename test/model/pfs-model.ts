/**
 * An in-memory model of PFS for model-based tests: repos, branches, commits and their files,
 * with Pachyderm's semantics (reference §1.2, §4.2, §4.6; `server_commit_set.go` deleteCommit,
 * `UnorderedWriter.Copy`) and pach's documented refusals. It is naive on purpose — a commit's
 * content is a plain map path → bytes, copied on every write — so that it is obviously right
 * and the engine (Merkle trees, packs, SQLite) can be checked against it.
 *
 * Semantics:
 * - writes (put, append, delete, copy) addressed to a branch go into its head when the head is
 *   open, else into a one-off commit (parent = head, finished at once, origin USER) that also
 *   creates a missing branch. Addressed to a commit id, the commit must be open.
 * - a path is a file or a directory, never both: a write that would make it both is refused
 *   (PATH_COLLISION) and changes nothing. (pach refuses up front where Pachyderm would error
 *   the commit at finish; documented in src/core/store/tree-store.ts.)
 * - copy without --append overwrites file by file: a directory copied onto a directory merges
 *   into it. Copy --append takes one file (NOT_A_FILE otherwise). A source path that does not
 *   exist is refused (FILE_NOT_FOUND; Pachyderm would copy nothing).
 * - start commit: the parent (branch head, or -p) must be finished.
 * - squash C: refused without children (NO_CHILDREN) or with an open child
 *   (CHILD_NOT_FINISHED); the children are re-parented to C's parent. Drop C: refused with
 *   children (HAS_CHILDREN). Either way, branches whose head was C move to C's parent or, when
 *   C has none, all to one new empty finished AUTO commit.
 * - create branch --head points a new or existing branch at a commit (no new commit); without
 *   --head a new branch gets an empty finished AUTO head and an existing one is left alone.
 *   delete branch leaves its commits in place.
 * - ancestry: `^`, `^^`, `~`, `^N`, `~N` walk N parents; `.N` is the N-th commit from the root
 *   (`.0`, like `^0`, is the commit itself).
 * - listings are in Pachyderm path order: a directory sorts as its path plus "/".
 */

/** A refusal the model predicts; `code` is the PachError code pach must return. */
export class Refusal extends Error {
  constructor(readonly code: string) {
    super(code)
  }
}

const refuse = (code: string): never => {
  throw new Refusal(code)
}

/** A commit's files: path → content. Directories exist only as prefixes of file paths. */
export type Tree = ReadonlyMap<string, Buffer>

export const EMPTY: Tree = new Map()

export interface MCommit {
  readonly id: string
  /** creation order: `list commit <repo>` is newest first */
  readonly seq: number
  readonly branch: string
  parent: string | null
  finished: boolean
  readonly origin: 'USER' | 'AUTO'
  tree: Tree
}

export interface MRepo {
  readonly name: string
  readonly commits: Map<string, MCommit>
  /** branch → head commit id */
  readonly branches: Map<string, string>
}

/** A branch head (with an ancestry suffix as typed: "^", "~2", ".1") or a commit id. */
export type Addr = {branch: string; anc?: string} | {id: string}

/** One row of `list file` / `glob file`. */
export interface Row {
  path: string
  type: 'FILE' | 'DIR'
  size: number
}

// ------------------------------------------------------------------ trees (pure)

const prefixes = (p: string): string[] => {
  const parts = p.split('/').filter(Boolean)
  return parts.slice(0, -1).map((_, i) => '/' + parts.slice(0, i + 1).join('/'))
}

export function isDir(t: Tree, p: string): boolean {
  if (p === '/') return t.size > 0
  for (const k of t.keys()) if (k.startsWith(p + '/')) return true
  return false
}

/** Files at or under `p`, as [path relative to p ("" for p itself), content]. */
export function subtree(t: Tree, p: string): [string, Buffer][] {
  const out: [string, Buffer][] = []
  const under = p === '/' ? '/' : p + '/'
  for (const [k, v] of t) {
    if (k === p) out.push(['', v])
    else if (k.startsWith(under)) out.push([k.slice(under.length - 1), v])
  }
  return out
}

export function sizeOf(t: Tree, p = '/'): number {
  return subtree(t, p).reduce((n, [, v]) => n + v.length, 0)
}

/** Every directory path, "/" included. */
export function dirs(t: Tree): string[] {
  const out = new Set<string>(['/'])
  for (const k of t.keys()) for (const d of prefixes(k)) out.add(d)
  return [...out]
}

const orderKey = (r: Row): string => (r.type === 'DIR' && r.path !== '/' ? r.path + '/' : r.path)
const inPathOrder = (rows: Row[]): Row[] => rows.sort((a, b) => (orderKey(a) < orderKey(b) ? -1 : orderKey(a) > orderKey(b) ? 1 : 0))

const row = (t: Tree, p: string): Row => (t.has(p) ? {path: p, type: 'FILE', size: t.get(p)!.length} : {path: p, type: 'DIR', size: sizeOf(t, p)})

/** Every file and directory path except "/". */
export function allPaths(t: Tree): string[] {
  return [...t.keys(), ...dirs(t).filter((d) => d !== '/')]
}

/** `list file` of a directory: its direct children, directories with a trailing "/". */
export function listDir(t: Tree, dir: string): Row[] {
  const base = dir === '/' ? '/' : dir + '/'
  const kids = allPaths(t).filter((p) => p.startsWith(base) && !p.slice(base.length).includes('/'))
  return inPathOrder(kids.map((p) => row(t, p))).map((r) => (r.type === 'DIR' ? {...r, path: r.path + '/'} : r))
}

/** The glob patterns the tests compare, as regular expressions over paths (`*` stays in one level). */
export const GLOBS: Record<string, RegExp> = {
  '/': /^\/$/,
  '/*': /^\/[^/]+$/,
  '/*/*': /^\/[^/]+\/[^/]+$/,
  '/a*': /^\/a[^/]*$/,
  '/*.txt': /^\/[^/]*\.txt$/,
  '/**': /^\/.+$/,
  '/a/**': /^\/a\/.+$/,
}

/** `glob file`: matching files and directories in path order (directories with a trailing "/"). */
export function glob(t: Tree, pattern: string): Row[] {
  const re = GLOBS[pattern]!
  const paths = pattern === '/' ? (t.size ? ['/'] : []) : allPaths(t).filter((p) => re.test(p))
  return inPathOrder(paths.map((p) => row(t, p))).map((r) => (r.type === 'DIR' && r.path !== '/' ? {...r, path: r.path + '/'} : r))
}

/** Put a file (replacing one), refusing a file/directory collision ("/" is a directory). */
export function putFile(t: Tree, path: string, content: Buffer): Tree {
  if (path === '/' || isDir(t, path)) refuse('PATH_COLLISION')
  for (const d of prefixes(path)) if (t.has(d)) refuse('PATH_COLLISION')
  return new Map(t).set(path, content)
}

export function appendFile(t: Tree, path: string, content: Buffer): Tree {
  return putFile(t, path, Buffer.concat([t.get(path) ?? Buffer.alloc(0), content]))
}

/** Delete a file or a directory subtree; a missing path is a no-op. */
export function deletePath(t: Tree, path: string): Tree {
  const out = new Map(t)
  for (const [rel] of subtree(t, path)) out.delete(path === '/' ? rel : path + rel)
  return out
}

// ------------------------------------------------------------------ the model

export class PfsModel {
  readonly repos = new Map<string, MRepo>()
  private seq = 0
  private nextId = 0

  createRepo(name: string): void {
    if (this.repos.has(name)) refuse('REPO_EXISTS')
    this.repos.set(name, {name, commits: new Map(), branches: new Map()})
  }

  repo(name: string): MRepo {
    return this.repos.get(name) ?? refuse('REPO_NOT_FOUND')
  }

  /** All commits of a repo, newest first. */
  commits(repo: MRepo): MCommit[] {
    return [...repo.commits.values()].sort((a, b) => b.seq - a.seq)
  }

  children(repo: MRepo, id: string): MCommit[] {
    return [...repo.commits.values()].filter((c) => c.parent === id).sort((a, b) => a.seq - b.seq)
  }

  /** A commit and its ancestors, newest first (`list commit <repo>@<branch>`). */
  chain(repo: MRepo, id: string): MCommit[] {
    const out: MCommit[] = []
    for (let c = repo.commits.get(id); c; c = c.parent ? repo.commits.get(c.parent) : undefined) out.push(c)
    return out
  }

  resolve(repo: MRepo, addr: Addr): MCommit {
    if ('id' in addr) return repo.commits.get(addr.id) ?? refuse('COMMIT_NOT_FOUND')
    const head = repo.branches.get(addr.branch) ?? refuse('BRANCH_NOT_FOUND')
    const chain = this.chain(repo, head)
    const anc = addr.anc ?? ''
    if (anc === '') return chain[0]!
    const fromRoot = /^\.(\d+)$/.exec(anc)
    // ".0" goes back 0 commits (ancestry.Parse gives -0): the head itself
    if (fromRoot) return chain[Number(fromRoot[1]) === 0 ? 0 : chain.length - Number(fromRoot[1])] ?? refuse('COMMIT_NOT_FOUND')
    const n = /^[\^~](\d+)$/.exec(anc) ? Number(anc.slice(1)) : anc.length
    return chain[n] ?? refuse('COMMIT_NOT_FOUND')
  }

  private add(repo: MRepo, c: Omit<MCommit, 'id' | 'seq'>): MCommit {
    const commit = {...c, id: `m${++this.nextId}`, seq: ++this.seq}
    repo.commits.set(commit.id, commit)
    return commit
  }

  // ---- writes: resolve the target, compute the new tree (may refuse), then commit it

  private target(repo: MRepo, addr: Addr): {commit?: MCommit; branch?: string; base: Tree} {
    if ('id' in addr) {
      const c = this.resolve(repo, addr)
      if (c.finished) refuse('COMMIT_FINISHED')
      return {commit: c, base: c.tree}
    }
    const head = repo.branches.get(addr.branch)
    const c = head ? repo.commits.get(head)! : undefined
    if (c && !c.finished) return {commit: c, base: c.tree}
    return {branch: addr.branch, base: c?.tree ?? EMPTY}
  }

  private write(repo: MRepo, t: {commit?: MCommit; branch?: string}, tree: Tree): void {
    if (t.commit) {
      t.commit.tree = tree
      return
    }
    const branch = t.branch!
    const c = this.add(repo, {branch, parent: repo.branches.get(branch) ?? null, finished: true, origin: 'USER', tree})
    repo.branches.set(branch, c.id)
  }

  put(repoName: string, addr: Addr, path: string, content: Buffer, append = false): void {
    const repo = this.repo(repoName)
    const t = this.target(repo, addr)
    if (path === '/') refuse('INVALID_PATH')
    this.write(repo, t, append ? appendFile(t.base, path, content) : putFile(t.base, path, content))
  }

  deleteFile(repoName: string, addr: Addr, path: string): void {
    const repo = this.repo(repoName)
    const t = this.target(repo, addr)
    this.write(repo, t, deletePath(t.base, path))
  }

  copy(src: {repo: string; addr: Addr; path: string}, repoName: string, addr: Addr, path: string, append = false): void {
    const s = this.resolve(this.repo(src.repo), src.addr)
    const files = subtree(s.tree, src.path)
    if (files.length === 0) refuse('FILE_NOT_FOUND')
    if (append && !s.tree.has(src.path)) refuse('NOT_A_FILE')
    const repo = this.repo(repoName)
    const t = this.target(repo, addr)
    if (append && path === '/') refuse('INVALID_PATH') // --append is a put: "/" is no file path
    let tree = t.base
    for (const [rel, content] of files) tree = append ? appendFile(tree, path, content) : putFile(tree, path === '/' ? rel || '/' : path + rel, content)
    this.write(repo, t, tree)
  }

  start(repoName: string, branch: string, parentId?: string): void {
    const repo = this.repo(repoName)
    const head = repo.branches.get(branch)
    const parent = parentId ? this.resolve(repo, {id: parentId}) : head ? repo.commits.get(head) : undefined
    if (parent && !parent.finished) refuse('PARENT_NOT_FINISHED')
    const c = this.add(repo, {branch, parent: parent?.id ?? null, finished: false, origin: 'USER', tree: parent?.tree ?? EMPTY})
    repo.branches.set(branch, c.id)
  }

  finish(repoName: string, addr: Addr): void {
    const c = this.resolve(this.repo(repoName), addr)
    if (c.finished) refuse('COMMIT_FINISHED')
    c.finished = true
  }

  squash(repoName: string, addr: Addr): void {
    const repo = this.repo(repoName)
    const c = this.resolve(repo, addr)
    const kids = this.children(repo, c.id)
    if (kids.length === 0) refuse('NO_CHILDREN')
    if (kids.some((k) => !k.finished)) refuse('CHILD_NOT_FINISHED')
    for (const k of kids) k.parent = c.parent
    this.remove(repo, c)
  }

  drop(repoName: string, addr: Addr): void {
    const repo = this.repo(repoName)
    const c = this.resolve(repo, addr)
    if (this.children(repo, c.id).length > 0) refuse('HAS_CHILDREN')
    this.remove(repo, c)
  }

  private remove(repo: MRepo, c: MCommit): void {
    repo.commits.delete(c.id)
    const headless = [...repo.branches].filter(([, h]) => h === c.id).map(([b]) => b).sort()
    if (headless.length === 0) return
    const to = c.parent ?? this.add(repo, {branch: headless[0]!, parent: null, finished: true, origin: 'AUTO', tree: EMPTY}).id
    for (const b of headless) repo.branches.set(b, to)
  }

  /** The branch goes; its commits stay, addressable by id. */
  deleteBranch(repoName: string, branch: string): void {
    const repo = this.repo(repoName)
    if (!repo.branches.delete(branch)) refuse('BRANCH_NOT_FOUND')
  }

  createBranch(repoName: string, branch: string, head?: Addr): void {
    const repo = this.repo(repoName)
    if (head) {
      repo.branches.set(branch, this.resolve(repo, head).id)
      return
    }
    if (repo.branches.has(branch)) return
    repo.branches.set(branch, this.add(repo, {branch, parent: null, finished: true, origin: 'AUTO', tree: EMPTY}).id)
  }
}
