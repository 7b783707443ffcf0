/**
 * The single executable's SQLite addon (better-sqlite3's `better_sqlite3.node`), which it
 * carries inside itself as a SEA asset. The dynamic loader only maps files, so the addon is
 * written out once and loaded from disk by process.dlopen on every later start:
 *
 *   $XDG_CACHE_HOME/pach/<version>-<first 16 hex of the addon's sha256>/better_sqlite3.node
 *   (XDG_CACHE_HOME defaults to ~/.cache)
 *
 * Writing it: the asset's sha256 is checked against the one recorded at build time (a damaged
 * binary stops here), then it is written to a temp name in the same directory, fsynced and
 * renamed, so the final name only ever holds a whole, verified addon; concurrent first starts
 * each write their own temp file and the renames replace like with like. The directories
 * pach creates are 0700, the file 0500.
 *
 * Loading it without re-hashing (the issue: "never from a path a user could swap underneath
 * it"): a start loads the cached file only if nobody but this user (or root) can replace it
 * — the file is a regular file owned by this user, not group/other-writable, of the expected
 * size, and every directory from it up to `/` (symlinks resolved) is owned by this user or
 * root and is not group/other-writable unless sticky (the rule OpenSSH's StrictModes applies
 * to ~/.ssh). Whoever passes that can already replace the binary itself, so hashing 2 MB on
 * every start (~15 ms with loading node:crypto, a tenth of the cold start budget) would
 * protect against nobody. A path that fails the check (a group-writable home, a cache
 * elsewhere) is not trusted: the addon is then written, verified, into a fresh private
 * directory (mkdtemp, 0700) in the OS temp dir for this run only and removed after loading
 * (Linux keeps the mapping), which costs a 2 MB write per start but is always safe.
 */
import {closeSync, fsyncSync, lstatSync, mkdirSync, mkdtempSync, openSync, realpathSync, renameSync, rmSync, unlinkSync, writeSync, type Stats} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import {dirname, isAbsolute, join} from 'node:path'
import {nodeCrypto} from '../core/builtins.js'

/** What the build recorded about the embedded addon (scripts/build-binary.mjs). */
export interface EmbeddedAddon {
  /** the SEA asset key */
  asset: string
  /** file name to write it under */
  name: string
  sha256: string
  size: number
  /** pach's version, which names the cache directory with the hash */
  version: string
}

/** Loads the embedded addon (see the header) and returns its exports for better-sqlite3. */
export function loadEmbeddedAddon(addon: EmbeddedAddon, getAsset: (key: string) => ArrayBuffer): object {
  let file: string | undefined
  try {
    file = cachedAddon(addon, getAsset)
  } catch {
    // no usable cache directory (no HOME, read-only, not private): a private one for this run
  }
  if (file) return dlopen(file)
  const dir = mkdtempSync(join(tmpdir(), 'pach-addon-'))
  try {
    return dlopen(writeAddon(dir, addon, getAsset))
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

function dlopen(file: string): object {
  const m = {exports: {}}
  process.dlopen(m, file)
  return m.exports
}

/** The cached addon's path, written first if missing or not trusted; throws when the cache cannot be made trustworthy. */
function cachedAddon(addon: EmbeddedAddon, getAsset: (key: string) => ArrayBuffer): string {
  const xdg = process.env.XDG_CACHE_HOME
  const home = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache')
  const dir = join(home, 'pach', `${addon.version}-${addon.sha256.slice(0, 16)}`)
  const cached = trusted(dir, addon)
  if (cached) return cached
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const real = realpathSync(dir)
  if (!securePath(real)) throw new Error(`${dir} can be changed by other users`)
  return writeAddon(real, addon, getAsset)
}

/** The real path of `<dir>/<name>` when it can be loaded without re-hashing (see the header). */
function trusted(dir: string, addon: EmbeddedAddon): string | undefined {
  let real: string
  try {
    real = realpathSync(dir)
  } catch {
    return undefined
  }
  const file = join(real, addon.name)
  let st: Stats
  try {
    st = lstatSync(file)
  } catch {
    return undefined
  }
  if (!st.isFile() || !ours(st) || (st.mode & 0o022) !== 0 || st.size !== addon.size) return undefined
  return securePath(real) ? file : undefined
}

const uid = () => process.getuid?.() ?? 0

function ours(st: Stats): boolean {
  return st.uid === uid() || st.uid === 0
}

/** Every directory from `real` (no symlinks in it) up to `/`: owned by us or root, not writable by others unless sticky. */
function securePath(real: string): boolean {
  for (let d = real; ; d = dirname(d)) {
    const st = lstatSync(d)
    if (!st.isDirectory() || !ours(st)) return false
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) return false
    if (dirname(d) === d) return true
  }
}

/** Writes the verified asset into `dir` by temp name + fsync + rename; returns its path. */
function writeAddon(dir: string, addon: EmbeddedAddon, getAsset: (key: string) => ArrayBuffer): string {
  const bytes = new Uint8Array(getAsset(addon.asset))
  const sha256 = nodeCrypto().createHash('sha256').update(bytes).digest('hex')
  if (sha256 !== addon.sha256 || bytes.length !== addon.size) {
    throw new Error(`the SQLite addon inside this pach binary is damaged (sha256 ${sha256}, expected ${addon.sha256}): download the binary again`)
  }
  const file = join(dir, addon.name)
  const tmp = `${file}.${process.pid}.${nodeCrypto().randomBytes(6).toString('hex')}.tmp`
  const fd = openSync(tmp, 'wx', 0o500)
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off)
    fsyncSync(fd)
  } catch (e) {
    closeSync(fd)
    unlinkSync(tmp)
    throw e
  }
  closeSync(fd)
  renameSync(tmp, file)
  return file
}
