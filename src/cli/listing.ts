/**
 * Listing: a command result that is rendered as it is read, for lists that grow with history
 * (`list commit`). `items` is re-iterable (each pass reads afresh); `human` writes the text
 * form through `write` (a table needs its column widths before its first line, so it may make
 * two passes). PachCommand renders it: --json as the very bytes `JSON.stringify(array, null, 2)`
 * gives, written element by element; --raw as pachctl's stream, one object per item
 * (writeJsonStream, yamlStream); text by `human`.
 */
export class Listing<T> {
  constructor(
    readonly items: Iterable<T>,
    readonly human: (write: (s: string) => void) => void,
  ) {}

  toJSON(): T[] {
    return [...this.items]
  }
}

/** Buffered writes of many small strings (one write per ~64 KiB); call `flush` at the end. */
export function bufferedWriter(out: (s: string) => void, size = 1 << 16): {write: (s: string) => void; flush: () => void} {
  let buf = ''
  return {
    write(s) {
      buf += s
      if (buf.length >= size) {
        out(buf)
        buf = ''
      }
    },
    flush() {
      if (buf) out(buf)
      buf = ''
    },
  }
}

/** Write `items` as `JSON.stringify([...items], null, 2)` would, one element at a time (no trailing newline). */
export function writeJsonArray(items: Iterable<unknown>, write: (s: string) => void): void {
  let first = true
  for (const x of items) {
    // the element as it sits inside the pretty array: "[\n" + indented element + "\n]"
    write((first ? '[\n' : ',\n') + JSON.stringify([x], null, 2).slice(2, -2))
    first = false
  }
  write(first ? '[]' : '\n]')
}

/** The items of a result as --raw streams them: a list's elements, one object, or none. */
export function rawItems(result: unknown): Iterable<unknown> {
  if (result instanceof Listing) return result.items
  if (Array.isArray(result)) return result
  return result === undefined || result === null ? [] : [result]
}

/**
 * pachctl's `--raw` JSON: each item as one indented JSON object (pachctl's encoder indents by
 * 2), one after the other, so `jq` and any JSON stream decoder read one value per item. pachctl
 * writes the objects back to back (`}{`); here each ends with a newline.
 */
export function writeJsonStream(items: Iterable<unknown>, write: (s: string) => void): void {
  for (const x of items) write(JSON.stringify(x, null, 2) + '\n')
}

/**
 * pachctl's `--raw -o yaml`: one YAML document per item, the second and later ones opened by
 * `---` (how Go's yaml encoder separates documents in one stream).
 */
export function yamlStream(stringify: (x: unknown) => string, items: Iterable<unknown>, write: (s: string) => void): void {
  let first = true
  for (const x of items) {
    write((first ? '' : '---\n') + stringify(x))
    first = false
  }
}
