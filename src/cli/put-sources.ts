/**
 * Turning `put file` arguments into PutSources (the CLI's edge: local files, directories,
 * stdin, URLs, input lists, tar archives). Destinations follow pachctl's putFileHelper (in
 * src/server/pfs/cmds/cmds.go); test/e2e/put-file-dest.test.ts pins every case. A source's
 * NAME is its base name, or with --full-path the path as given (for a URL: the base name of
 * its path, or with --full-path its path; the query is not part of it).
 * - no ":path": the source goes to /NAME (a directory: /NAME/<relative path>);
 * - one source and a path P:
 *   - a directory (-r): its files go to P/<relative path>, with or without a trailing "/"
 *     (with --full-path: P/NAME/<relative path>);
 *   - a file or URL: P, or P/NAME when P ends in "/" (or with -r and --full-path);
 * - several sources (-f repeated, -i) and a path: P is a prefix, each source goes to P/NAME;
 * - stdin (-f -, the default) has no name: it needs a file path of its own, so it cannot go
 *   to a directory ("P/"), be one of several sources, or be read with -r;
 * - --untar: a source named .tar, .tar.gz or .tgz, and stdin, is unpacked: each regular entry
 *   goes to P/<entry name> (no path: /<entry name>); a tar met under -r is unpacked into the
 *   directory it would have been put in. Other sources are put as files (with a warning).
 *   Links, devices, FIFOs, absolute and ".." names are refused (see untarSource).
 * - -a applies to every file written, tar entries included.
 * Where this differs from pachctl on purpose: -f and -i together put both (pachctl ignores -f),
 * P/ for a single file under -r still means the directory (pachctl writes the file at P),
 * archives unpack under P (pachctl ignores P) and stdin can be unpacked (pachctl cannot),
 * stdin with "P/" or among several sources is refused (pachctl writes a file named "-").
 * Symlinks under -r: a link to a file inside the tree is stored as that file's content;
 * links that leave the tree, and links to directories, are skipped with a warning (never
 * silently read).
 */
import {closeSync, createReadStream, lstatSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync, type Stats} from 'node:fs'
import {basename, join, posix, relative, resolve, sep} from 'node:path'
import {Readable} from 'node:stream'
import {nodeZlib} from '../core/builtins.js'
import {InvalidArgumentError, isPachError, NotFoundError, translateSystemError} from '../core/errors.js'
import type {PutSource} from '../core/pfs/file-service.js'
import type {Reporter} from '../core/reporter.js'

export interface PutArgs {
  /** destination path from the address, or undefined when no ":path" was given */
  path: string | undefined
  files: string[]
  inputFile?: string
  recursive: boolean
  fullPath: boolean
  untar: boolean
  reporter: Reporter
  /** max bytes an archive may expand to (decompression-bomb bound) */
  untarLimit?: number
}

const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s)

/** The archive names --untar unpacks (pachctl's). */
const isTarName = (s: string) => /\.(tar|tar\.gz|tgz)$/i.test(isUrl(s) ? new URL(s).pathname : s)

/** Go's path.Join semantics for the parts pach cares about: "." components vanish. */
function joinPaths(prefix: string, p: string): string {
  const parts = `${prefix}/${p}`.split('/').filter((x) => x !== '' && x !== '.')
  return '/' + parts.join('/')
}

/** A source's NAME (see the header). */
function nameOf(source: string, fullPath: boolean): string {
  if (isUrl(source)) {
    const p = new URL(source).pathname
    return fullPath ? p : basename(p) || 'index'
  }
  return fullPath ? source : basename(source.replace(/\/+$/, '')) || source
}

/**
 * Where a named source goes: the file's path, or for a directory the path its relative paths
 * are joined to. `count` is the number of sources; stdin is checked by checkSources.
 */
function targetFor(args: PutArgs, source: string, isDir: boolean, count: number): string {
  const P = args.path
  if (source === '-') return P!
  const name = nameOf(source, args.fullPath)
  if (P === undefined || count > 1) return joinPaths(P ?? '', name)
  if (isDir) return args.fullPath ? joinPaths(P, name) : joinPaths(P, '')
  return P.endsWith('/') || (args.recursive && args.fullPath) ? joinPaths(P, name) : P
}

/** Read the -i list: a local file, stdin (-) or an http(s)/file URL. */
async function readInputList(inputFile: string): Promise<string> {
  if (isUrl(inputFile)) {
    const chunks: Buffer[] = []
    for await (const c of fetchUrl(inputFile)) chunks.push(Buffer.from(c))
    return Buffer.concat(chunks).toString('utf8')
  }
  try {
    return inputFile === '-' ? readFileSync(0, 'utf8') : readFileSync(inputFile, 'utf8')
  } catch {
    throw new NotFoundError('LOCAL_FILE_NOT_FOUND', `input list ${inputFile} does not exist or cannot be read`)
  }
}

/** Check every source before any byte is read, so bad input fails fast and whole. */
export async function checkSources(args: PutArgs): Promise<string[]> {
  const sources = args.files.length ? [...args.files] : ['-']
  if (args.inputFile) {
    const listed = (await readInputList(args.inputFile)).split('\n').map((l) => l.trim()).filter(Boolean)
    if (!args.files.length) sources.length = 0
    sources.push(...listed)
    if (args.inputFile === '-' && sources.includes('-')) {
      throw new InvalidArgumentError('USAGE', 'stdin cannot be both the input list (-i -) and a source (-)', {hint: 'write the data to a file and list that'})
    }
  }
  for (const s of sources) {
    if (s === '-') {
      checkStdin(args, sources.length)
      continue
    }
    if (isUrl(s)) continue
    let st: Stats
    try {
      st = statSync(s)
    } catch {
      throw new NotFoundError('LOCAL_FILE_NOT_FOUND', `local file ${s} does not exist`, {hint: 'check the path given to -f'})
    }
    if (st.isDirectory() && !args.recursive) {
      throw new InvalidArgumentError('IS_A_DIRECTORY', `${s} is a directory`, {hint: 'pass -r to put it recursively'})
    }
  }
  return sources
}

/** stdin has no name: it needs a file path of its own (an archive unpacks anywhere). */
function checkStdin(args: PutArgs, count: number): void {
  if (args.untar) return
  const example = 'e.g. `pach put file repo@master:/data.csv -f -`'
  if (args.recursive) throw new InvalidArgumentError('USAGE', 'cannot read stdin recursively', {hint: 'give the directory with -f DIR, or a list of sources with -i'})
  if (args.path === undefined) throw new InvalidArgumentError('MISSING_PATH', 'must specify a file path when reading data from stdin', {hint: `use ${example}`})
  if (count > 1) throw new InvalidArgumentError('MISSING_PATH', `stdin cannot be one of several sources: it has no name to put under ${args.path}`, {hint: `put it on its own, ${example}`})
  // ("/" itself is no file path at all: the core refuses it, INVALID_PATH, for every source)
  if (args.path.endsWith('/') && args.path !== '/') throw new InvalidArgumentError('MISSING_PATH', `stdin has no name to put under the directory ${args.path}`, {hint: `name the file, ${example}`})
}

export async function* buildSources(args: PutArgs, sources: string[]): AsyncGenerator<PutSource> {
  for (const source of sources) {
    const st = source === '-' || isUrl(source) ? undefined : statSync(source)
    const isDir = st?.isDirectory() ?? false
    if (args.untar && !isDir) {
      if (source === '-' || isTarName(source)) {
        yield* untarSource(openSource(source), source, args.path ?? '/', args)
        continue
      }
      args.reporter.warn(`${source} is not named .tar, .tar.gz or .tgz: put as a file, not unpacked`)
    }
    const target = targetFor(args, source, isDir, sources.length)
    if (source === '-' || isUrl(source)) {
      yield {path: target, open: () => openSource(source)}
    } else if (isDir) {
      for (const x of walkDir(resolve(source), target, args.reporter, args.untar)) {
        if ('tar' in x) yield* untarSource(openSource(x.tar), x.tar, x.into, args)
        else yield x
      }
    } else {
      yield localFile(target, source, st!.size)
    }
  }
}

/** A local file to put: read whole when small, else streamed. */
function localFile(path: string, file: string, size: number | undefined): PutSource {
  return {path, size, open: () => createReadStream(file, {highWaterMark: 1024 * 1024}), readSmall: (limit) => readSmallFile(file, limit)}
}

let scratch: Buffer | undefined

/**
 * The bytes of `file` if it has at most `limit` bytes, else undefined: open + read + close
 * (readFileSync adds an fstat). Reads into a shared scratch buffer and returns a copy sized to
 * the file, so a 1 KiB file costs 1 KiB.
 */
export function readSmallFile(file: string, limit: number): Buffer | undefined {
  if (!scratch || scratch.length < limit + 1) scratch = Buffer.allocUnsafe(limit + 1)
  const fd = openSync(file, 'r')
  try {
    let n = 0
    for (;;) {
      const r = readSync(fd, scratch, n, limit + 1 - n, null)
      if (r === 0) break
      n += r
      if (n > limit) return undefined
    }
    const out = Buffer.allocUnsafe(n)
    scratch.copy(out, 0, 0, n)
    return out
  } finally {
    closeSync(fd)
  }
}

function openSource(source: string): AsyncIterable<Uint8Array> {
  if (source === '-') return process.stdin
  if (isUrl(source)) return fetchUrl(source)
  return createReadStream(source, {highWaterMark: 1024 * 1024})
}

async function* fetchUrl(url: string): AsyncGenerator<Uint8Array> {
  const u = new URL(url)
  if (u.protocol === 'file:') {
    yield* createReadStream(u)
    return
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new InvalidArgumentError('UNSUPPORTED_URL', `cannot fetch ${url}: only http(s):// and file:// URLs are supported locally`)
  }
  let res: Response
  try {
    res = await fetch(url)
  } catch (e) {
    throw new InvalidArgumentError('FETCH_FAILED', `cannot fetch ${url}: ${(e as Error).message}`)
  }
  if (!res.ok || !res.body) throw new InvalidArgumentError('FETCH_FAILED', `cannot fetch ${url}: HTTP ${res.status}`)
  yield* Readable.fromWeb(res.body as never)
}

/** An archive met under -r with --untar, to unpack into `into`. */
type WalkedTar = {tar: string; into: string}

function* walkDir(root: string, target: string, reporter: Reporter, untar: boolean): Generator<PutSource | WalkedTar> {
  const realRoot = realpathSync(root)
  let skipped = 0
  const visit = function* (dir: string): Generator<PutSource | WalkedTar> {
    // entry types come from readdir (no lstat per file: 100,000 files, 100,000 syscalls saved)
    const entries = readdirSync(dir, {withFileTypes: true}).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const ent of entries) {
      const name = ent.name
      const full = join(dir, name)
      // some file systems report DT_UNKNOWN: ask lstat then
      const st: Pick<Stats, 'isSymbolicLink' | 'isDirectory' | 'isFile'> = ent.isFile() || ent.isDirectory() || ent.isSymbolicLink() ? ent : lstatSync(full)
      let file = full
      let size: number | undefined
      if (st.isSymbolicLink()) {
        let real: string
        let tst: Stats
        try {
          real = realpathSync(full)
          tst = statSync(real)
        } catch {
          reporter.warn(`skipping broken symlink ${full}`)
          skipped++
          continue
        }
        if (!(real === realRoot || real.startsWith(realRoot + sep)) || !tst.isFile()) {
          reporter.warn(`skipping symlink ${full}: it points ${tst.isFile() ? 'outside the directory being put' : 'to a directory'} (${real})`)
          skipped++
          continue
        }
        file = real
        size = tst.size
      } else if (st.isDirectory()) {
        yield* visit(full)
        continue
      } else if (!st.isFile()) {
        reporter.warn(`skipping ${full}: not a regular file`)
        skipped++
        continue
      }
      const rel = relative(root, full).split(sep).join('/')
      const dest = joinPaths(target, rel)
      if (untar && isTarName(name)) yield {tar: file, into: posix.dirname(dest)}
      else yield localFile(dest, file, size)
    }
  }
  yield* visit(root)
  if (skipped) reporter.warn(`${skipped} entr${skipped === 1 ? 'y was' : 'ies were'} skipped`)
}

/**
 * Regular entries of a (possibly gzipped) tar, each put at prefix + entry name. Only regular
 * files and directories are accepted: an entry named outside the target ("..", an absolute
 * name) or that is a link, device or FIFO fails the whole put before its commit, so nothing
 * is written. The archive may expand to at most `untarLimit` bytes (headers included), which
 * bounds a decompression bomb; a damaged archive is a user error, not a crash.
 */
async function* untarSource(input: AsyncIterable<Uint8Array>, source: string, prefix: string, args: PutArgs): AsyncGenerator<PutSource> {
  const {extract} = await import('tar-stream')
  const ex = extract()
  const limit = args.untarLimit ?? 64 * 1024 ** 3
  const label = source === '-' ? 'stdin' : source
  const damaged = (e: unknown): unknown =>
    isPachError(e) || translateSystemError(e) !== e
      ? e
      : new InvalidArgumentError('INVALID_TAR', `${label} is not a readable tar archive: ${(e as Error)?.message ?? String(e)}`, {hint: 'nothing was written'})
  const refuse = (name: string, why: string) =>
    new InvalidArgumentError('UNSAFE_TAR_ENTRY', `tar entry ${JSON.stringify(name)} ${why}`, {hint: 'nothing was written; fix the archive'})
  let total = 0
  const bytes = Readable.from(input)
  // sniff gzip magic
  const first: Buffer[] = []
  const it = bytes[Symbol.asyncIterator]()
  const head = await it.next()
  if (!head.done) first.push(Buffer.from(head.value as Uint8Array))
  const rest = Readable.from(
    (async function* () {
      yield* first
      for (;;) {
        const n = await it.next()
        if (n.done) return
        yield n.value as Uint8Array
      }
    })(),
  )
  const gz = first[0] && first[0][0] === 0x1f && first[0][1] === 0x8b
  const src = gz ? rest.pipe(nodeZlib().createGunzip()) : rest
  src.on('error', (e) => ex.destroy(e))
  src.pipe(ex)
  try {
    for await (const entry of ex) {
      const h = entry.header
      total += 512 + (h.size ?? 0)
      if (total > limit) {
        throw new InvalidArgumentError('TAR_TOO_LARGE', `archive expands to more than ${limit} bytes; refusing (possible decompression bomb)`, {hint: 'nothing was written'})
      }
      if (h.name.startsWith('/')) throw refuse(h.name, 'has an absolute name')
      const name = h.name.replace(/^\.\/+/, '')
      if (name.split('/').includes('..')) throw refuse(h.name, 'escapes the target directory ("..")')
      if (h.type === 'directory') {
        entry.resume()
        continue
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        const kind = {symlink: 'symbolic link', link: 'hard link', fifo: 'FIFO'}[h.type as string] ?? (h.type ? h.type.replace('-', ' ') : 'special file')
        const to = h.linkname ? ` to ${JSON.stringify(h.linkname)}` : ''
        throw refuse(h.name, `is a ${kind}${to}; --untar stores only regular files and directories`)
      }
      let consumed = false
      yield {
        path: joinPaths(prefix, name),
        size: h.size,
        open: () => {
          consumed = true
          return (async function* () {
            try {
              yield* entry as unknown as AsyncIterable<Uint8Array>
            } catch (e) {
              throw damaged(e)
            }
          })()
        },
      }
      if (!consumed) entry.resume()
    }
  } catch (e) {
    throw damaged(e)
  }
}
