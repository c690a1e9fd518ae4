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
  const cols = b.length + 1;
  // Three rolling rows (the one before the previous is needed for transpositions).
  let before = new Uint32Array(cols);
  let prev = new Uint32Array(cols);
  let row = new Uint32Array(cols);
  for (let j = 0; j < cols; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, (before[j - 2] as number) + 1);
      row[j] = best;
    }
    [before, prev, row] = [prev, row, before];
  }
  return prev[cols - 1] as number;
}

/** The known key the user most likely meant, or undefined when nothing is close enough. */
export function closestKey(key: string, known: Iterable<string>): string | undefined {
  const wanted = normalise(key);
  if (wanted === '') return undefined;
  // Allow roughly one edit per four characters, at least one, at most three.
  const allowed = Math.min(3, Math.max(1, Math.floor(wanted.length / 4)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const c = normalise(candidate);
    if (c === wanted) return candidate;
    // The distance is at least the difference in length: a candidate that cannot be close enough
    // is not measured (a key thousands of characters long would take seconds per candidate).
    if (Math.abs(c.length - wanted.length) > allowed) continue;
    const distance = editDistance(wanted, c);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return bestDistance <= allowed ? best : undefined;
}
