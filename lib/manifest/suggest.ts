/**
 * "Did you mean" for misspelled keys: the closest known key by Damerau-Levenshtein distance,
 * compared case-insensitively and ignoring `-`/`_` (so `health_check` finds nothing silly, while
 * `servicess`, `enviroment`, `heath` and `internal_router` find their keys).
 */

function normalise(s: string): string {
  return s.toLowerCase().replace(/[-_]/g, '');
}

/** Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      let best = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = best;
    }
  }
  return (d[rows - 1] as number[])[cols - 1] as number;
}

/** The known key the user most likely meant, or undefined when nothing is close enough. */
export function closestKey(key: string, known: Iterable<string>): string | undefined {
  const wanted = normalise(key);
  if (wanted === '') return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const c = normalise(candidate);
    if (c === wanted) return candidate;
    const distance = editDistance(wanted, c);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  // Allow roughly one edit per four characters, at least one, at most three.
  const allowed = Math.min(3, Math.max(1, Math.floor(wanted.length / 4)));
  return bestDistance <= allowed ? best : undefined;
}
