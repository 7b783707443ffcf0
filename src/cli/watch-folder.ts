/**
 * The local folder of `pach watch`: the core's `Folder` (core/pfs/folder-sync.ts) over the
 * file system, and the change feed that says which paths to sync (chokidar).
 *
 * - Paths are repo paths: "/" + the path relative to the folder, "/"-separated.
 * - Ignored (pachignore.ts): the built-in rules and the folder's `.pachignore`, read again
 *   whenever it changes (then everything is synced, since what is ignored changed).
 * - Only regular files count. A symlink to a file inside the folder is that file's content;
 *   other symlinks (to directories, or leaving the folder) are not followed, as `put file -r`.
 * - Events are batched: every event names a path; a batch is handed over once no event has
 *   come for `debounceMs` (a burst of saves, a `git checkout`, a copy of many files is one
 *   batch, so one commit). Events are not held back per file (chokidar's awaitWriteFinish
 *   would spread a burst over many batches): a file still being written is the core's to
 *   refuse (FolderSync: modified less than `settle` ago → deferred; changed while read → the
 *   write is dropped), and the caller syncs it again later.
 */
import {createReadStream, lstatSync, readdirSync, readFileSync, realpathSync, statSync, type Stats} from 'node:fs'
import {join, relative, sep} from 'node:path'
import type {FSWatcher} from 'chokidar'
import type {Folder, FolderFile} from '../core/pfs/folder-sync.js'
import {parseIgnore, type IgnoreRules} from './pachignore.js'

const toRepoPath = (rel: string) => '/' + rel.split(sep).join('/')

export class LocalFolder implements Folder {
  private rules: IgnoreRules
  private readonly real: string

  constructor(readonly root: string) {
    this.real = realpathSync(root)
    this.rules = this.loadRules()
  }

  /** Read `.pachignore` again; true when the rules changed. */
  reloadRules(): boolean {
    const before = this.ignoreText
    this.rules = this.loadRules()
    return before !== this.ignoreText
  }

  private ignoreText = ''

  private loadRules(): IgnoreRules {
    try {
      this.ignoreText = readFileSync(join(this.root, '.pachignore'), 'utf8')
    } catch {
      this.ignoreText = ''
    }
    return parseIgnore(this.ignoreText)
  }

  /** Whether an absolute path under the folder is ignored (chokidar's `ignored`; a missing stat means "maybe a file"). */
  ignoresAbsolute(abs: string, isDir: boolean | undefined): boolean {
    const rel = relative(this.root, abs)
    if (rel === '' || rel.startsWith('..')) return false
    return this.rules.ignores(rel.split(sep).join('/'), isDir ?? false)
  }

  repoPath(abs: string): string | undefined {
    const rel = relative(this.root, abs)
    if (rel === '' || rel.startsWith('..')) return rel === '' ? '/' : undefined
    return toRepoPath(rel)
  }

  private abs(path: string): string {
    return join(this.root, ...path.split('/').filter(Boolean))
  }

  /** A regular file (through a link inside the folder), else undefined. */
  private fileStat(abs: string, st: Stats): Stats | undefined {
    if (st.isFile()) return st
    if (!st.isSymbolicLink()) return undefined
    try {
      const target = realpathSync(abs)
      if (!(target === this.real || target.startsWith(this.real + sep))) return undefined
      const t = statSync(target)
      return t.isFile() ? t : undefined
    } catch {
      return undefined
    }
  }

  *scan(under = '/'): Iterable<FolderFile> {
    const walk = function* (this: LocalFolder, dir: string, rel: string): Generator<FolderFile> {
      let ents
      try {
        ents = readdirSync(dir, {withFileTypes: true})
      } catch {
        return
      }
      for (const e of ents) {
        const r = rel ? `${rel}/${e.name}` : e.name
        const abs = join(dir, e.name)
        if (e.isDirectory()) {
          if (!this.rules.ignores(r, true)) yield* walk.call(this, abs, r)
          continue
        }
        if (this.rules.ignores(r, false)) continue
        let st
        try {
          st = this.fileStat(abs, lstatSync(abs))
        } catch {
          continue
        }
        if (st) yield {path: '/' + r, size: st.size, mtimeMs: st.mtimeMs}
      }
    }
    const rel = under.split('/').filter(Boolean).join('/')
    // a directory ignored (or under one) holds nothing to sync
    if (rel !== '' && this.rules.ignores(rel, true)) return
    yield* walk.call(this, rel === '' ? this.root : this.abs(under), rel)
  }

  stat(path: string): FolderFile | undefined {
    const rel = path.replace(/^\/+/, '')
    if (rel === '' || this.rules.ignores(rel, false)) return undefined
    const abs = this.abs(path)
    try {
      const st = this.fileStat(abs, lstatSync(abs))
      return st && {path, size: st.size, mtimeMs: st.mtimeMs}
    } catch {
      return undefined
    }
  }

  open(path: string): AsyncIterable<Uint8Array> {
    return createReadStream(this.abs(path), {highWaterMark: 1 << 20})
  }

  readSmall(path: string, limit: number): Buffer | undefined {
    const st = this.stat(path)
    if (!st || st.size > limit) return undefined
    return readFileSync(this.abs(path))
  }
}

/**
 * Watch the folder; `onBatch` gets each settled batch of repo paths ("/.pachignore" among them
 * when the rules changed: the caller then syncs everything). Resolves when watching has begun.
 */
export async function watchFolder(folder: LocalFolder, opts: {debounceMs: number; onBatch: (paths: Set<string>) => void; onError: (e: Error) => void}): Promise<FSWatcher> {
  const {watch} = await import('chokidar')
  let pending = new Set<string>()
  let timer: NodeJS.Timeout | undefined
  const note = (abs: string) => {
    const p = folder.repoPath(abs)
    if (!p || p === '/') return
    pending.add(p)
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      const batch = pending
      pending = new Set()
      opts.onBatch(batch)
    }, opts.debounceMs)
  }
  const w = watch(folder.root, {
    ignoreInitial: true,
    followSymlinks: false,
    // .pachignore is watched although the rules ignore it, so that its changes are seen
    ignored: (abs, st) => !abs.endsWith(`${sep}.pachignore`) && folder.ignoresAbsolute(abs, st ? st.isDirectory() : undefined),
  })
  for (const ev of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) w.on(ev, note)
  w.on('error', (e) => opts.onError(e as Error))
  await new Promise<void>((res) => w.once('ready', () => res()))
  return w
}
