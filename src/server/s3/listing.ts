/**
 * The ListObjects pager (pure over a tree source): the keys of a bucket in S3 order (byte
 * order of the key), filtered by `prefix`, rolled up at `delimiter` into common prefixes, from
 * strictly after `after` (v1 marker, v2 continuation token or start-after), at most `max`.
 *
 * Why it is fast for 100,000 keys: a directory's entries are stored sorted by key (`name`, or
 * `name/` for a directory), so a depth-first walk yields full paths in S3 order, and each page
 * seeks (`children(dir, from)`, O(log n) nodes) straight to its first key instead of walking
 * from the start; a page reads about `max` entries plus one to learn whether it is truncated.
 *
 * Any delimiter works: "/" maps onto directories (a common prefix is a directory, never
 * entered); another delimiter is applied to the full keys as the walk yields them.
 */

export interface TreeChild<D> {
  name: string
  /** the subdirectory to descend into, for a directory */
  dir?: D
}

export interface TreeSource<D, C extends TreeChild<D>> {
  /** the root directory, undefined for an empty bucket */
  root: D | undefined
  /** a directory's children in key order (`name`, or `name/` for a directory), from the first whose key is >= `from` */
  children(dir: D, from: string): Iterable<C>
}

export interface ListOptions {
  prefix: string
  delimiter: string
  /** list keys (and prefixes) strictly after this one */
  after: string
  max: number
}

export type ListItem<C> = {key: string; child: C} | {prefix: string}

export interface ListPage<C> {
  items: ListItem<C>[]
  truncated: boolean
  /** the last key or prefix returned, when truncated */
  next?: string
}

/** One page of a listing. */
export function listPage<D, C extends TreeChild<D>>(src: TreeSource<D, C>, o: ListOptions): ListPage<C> {
  const items: ListItem<C>[] = []
  if (o.max <= 0) return {items, truncated: false}
  for (const it of walkKeys(src, o)) {
    if (items.length === o.max) {
      const last = items[items.length - 1]!
      return {items, truncated: true, next: 'key' in last ? last.key : last.prefix}
    }
    items.push(it)
  }
  return {items, truncated: false}
}

/** Every item of a listing in order (a generator: it reads only what is taken). */
export function* walkKeys<D, C extends TreeChild<D>>(src: TreeSource<D, C>, o: ListOptions): Generator<ListItem<C>> {
  if (src.root === undefined) return
  const {prefix, delimiter, after} = o
  const slash = delimiter === '/'
  let lastPrefix: string | undefined
  function* visit(dir: D, dp: string): Generator<ListItem<C>> {
    // the first child that can matter: the one holding the prefix's and `after`'s next segment
    const seg = (s: string) => {
      if (!s.startsWith(dp)) return s > dp ? '\uffff' : ''
      const rest = s.slice(dp.length)
      const i = rest.indexOf('/')
      return i < 0 ? rest : rest.slice(0, i + 1)
    }
    const fromP = prefix.length > dp.length ? seg(prefix) : ''
    const fromA = seg(after)
    const from = fromP > fromA ? fromP : fromA
    if (from === '\uffff') return
    for (const c of src.children(dir, from)) {
      const isDir = c.dir !== undefined
      const full = dp + c.name + (isDir ? '/' : '')
      if (isDir && prefix.startsWith(full)) {
        // the prefix goes into (or names exactly) this directory
        yield* visit(c.dir!, full)
        continue
      }
      if (!full.startsWith(prefix)) {
        if (full > prefix) return // sorted: nothing later matches the prefix
        continue
      }
      if (isDir) {
        if (slash) {
          if (full > after) yield {prefix: full}
          continue
        }
        if (full > after || after.startsWith(full)) yield* visit(c.dir!, full)
        continue
      }
      if (full <= after) continue
      if (delimiter && !slash) {
        const i = full.indexOf(delimiter, prefix.length)
        if (i >= 0) {
          const p = full.slice(0, i + delimiter.length)
          if (p !== lastPrefix && p > after && !after.startsWith(p)) {
            lastPrefix = p
            yield {prefix: p}
          }
          continue
        }
      }
      yield {key: full, child: c}
    }
  }
  yield* visit(src.root, '')
}

/** An opaque continuation token for a key, and back (undefined when it is not one of ours). */
export function encodeToken(key: string): string {
  return Buffer.from(`k:${key}`, 'utf8').toString('base64url')
}

export function decodeToken(token: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(token)) return undefined
  const s = Buffer.from(token, 'base64url').toString('utf8')
  return s.startsWith('k:') ? s.slice(2) : undefined
}
