/* "Did you mean …?": the closest known name to a mistyped flag or config key. A leaf, like the rest of config. */

/**
 * Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions, each
 * substring edited once), case-insensitive: `timeoutms` is 0 from `timeoutMs`, `primry` 1 from `primary`.
 */
export function editDistance (a: string, b: string): number {
  a = a.toLowerCase()
  b = b.toLowerCase()
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[] = new Array(rows * cols).fill(0)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[(i - 1) * cols + j] + 1, d[i * cols + j - 1] + 1, d[(i - 1) * cols + j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2] + 1)
      d[i * cols + j] = v
    }
  }
  return d[rows * cols - 1]
}

/**
 * The known name closest to `given`, when it is close enough to be a typo: at most 2 edits, and
 * fewer edits than half the name's length (so that `ab` does not suggest `cd`). Ties go to the
 * first in `known`. Null when nothing is that close.
 */
export function closest (given: string, known: Iterable<string>): string | null {
  let best: string | null = null
  let bestDistance = Infinity
  for (const name of known) {
    if (name === given) continue
    const d = editDistance(given, name)
    if (d < bestDistance && d <= 2 && d < Math.max(given.length, name.length) / 2) {
      best = name
      bestDistance = d
    }
  }
  return best
}
