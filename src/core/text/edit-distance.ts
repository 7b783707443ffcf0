/**
 * Edit distance for "did you mean" hints: the unknown-command hint of the CLI (cli/main.ts),
 * the unknown-field hint of pipeline specs (pps/spec/schema.ts) and the unknown-name hints
 * of repos, branches and pipelines (closest(), used where those NotFoundErrors are raised).
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

/**
 * The candidate nearest to `s` by edit distance, if it is near enough to be a typo: at most
 * max(2, ⌊|s|/4⌋) edits (ties go to the earlier candidate), and never `s` itself.
 * E.g. closest('imgaes', ['images', 'labels']) === 'images'.
 */
export function closest(s: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestD = Math.max(2, Math.floor(s.length / 4)) + 1
  for (const c of candidates) {
    if (c === s) continue
    const d = editDistance(s, c)
    if (d < bestD) [best, bestD] = [c, d]
  }
  return best
}

/**
 * A NotFoundError's hint for the unknown name `name`: "did you mean X?" when a candidate is
 * near enough (closest), followed by `otherwise` (the error's usual hint); `otherwise` alone
 * when none is. E.g. didYouMean('imgaes', ['images'], 'create it') === 'did you mean "images"? otherwise create it'.
 */
export function didYouMean(name: string, candidates: Iterable<string>, otherwise?: string): {hint?: string; suggestion?: string} {
  const suggestion = closest(name, candidates)
  if (!suggestion) return {hint: otherwise}
  return {hint: `did you mean ${JSON.stringify(suggestion)}?${otherwise ? ` otherwise ${otherwise}` : ''}`, suggestion}
}
