/**
 * Edit distance for "did you mean" hints: the unknown-command hint of the CLI (cli/main.ts)
 * and the unknown-field hint of pipeline specs (pps/spec/schema.ts).
 *
 * Levenshtein distance over UTF-16 code units: the fewest single-unit insertions, deletions
 * and substitutions that turn one string into the other. O(|a|·|b|) time, O(|b|) memory;
 * both callers compare short names. Pure.
 */

/** Levenshtein distance between `a` and `b`, e.g. editDistance('cmdd', 'cmd') === 1. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]!
}
