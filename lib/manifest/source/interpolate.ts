/**
 * `${NAME}` interpolation, done on the raw text before YAML parsing, exactly as Convox does:
 * the name between the braces is used verbatim (no trimming, no `:-default` syntax, no escape),
 * an unknown name becomes the empty string, and `$NAME` without braces is left alone.
 *
 * Because the substitution changes offsets, we keep a map from positions in the interpolated text
 * back to the original file, so that every diagnostic points at what the user actually wrote.
 */

const PLACEHOLDER = /\$\{([^}]*?)\}/g;

export interface Substitution {
  /** Variable name as written between the braces. */
  readonly name: string;
  /** Offset of `${` in the original text. */
  readonly originalStart: number;
  readonly originalEnd: number;
  /** Offset of the substituted value in the interpolated text. */
  readonly start: number;
  readonly end: number;
  /** Whether the variable existed in the environment (unset variables become ""). */
  readonly defined: boolean;
}

export interface Interpolated {
  readonly text: string;
  readonly substitutions: readonly Substitution[];
  /** Maps an offset in `text` to the offset in the original source it came from. */
  toOriginal(offset: number): number;
}

/** The text would grow past the limit: substituting `variable` at `originalStart` takes it over. */
export class InterpolationTooLarge extends Error {
  constructor(
    readonly variable: string,
    readonly originalStart: number,
    readonly limit: number,
  ) {
    super(`interpolating \${${variable}} makes the text longer than ${limit} characters`);
  }
}

/**
 * `maxLength` bounds the result: a short file that repeats a long value could otherwise grow
 * beyond what a string can hold (and beyond any manifest worth parsing).
 */
export function interpolate(source: string, env: Readonly<Record<string, string>>, maxLength = Infinity): Interpolated {
  const substitutions: Substitution[] = [];
  let out = '';
  let last = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    const originalStart = match.index;
    const defined = Object.prototype.hasOwnProperty.call(env, name);
    const value = defined ? (env[name] ?? '') : '';
    if (out.length + (originalStart - last) + value.length > maxLength) throw new InterpolationTooLarge(name, originalStart, maxLength);
    out += source.slice(last, originalStart);
    const start = out.length;
    out += value;
    substitutions.push({ name, originalStart, originalEnd: originalStart + match[0].length, start, end: out.length, defined });
    last = originalStart + match[0].length;
  }
  if (out.length + (source.length - last) > maxLength) {
    const blamed = substitutions.at(-1);
    throw new InterpolationTooLarge(blamed?.name ?? '', blamed?.originalStart ?? 0, maxLength);
  }
  out += source.slice(last);

  const toOriginal = (offset: number): number => {
    // The first substitution that ends after the offset or starts at or after it (a binary
    // search: diagnostics of a file with many substitutions each ask for an offset).
    let lo = 0;
    let hi = substitutions.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const s = substitutions[mid] as Substitution;
      if (s.end > offset || s.start >= offset) hi = mid;
      else lo = mid + 1;
    }
    const at = substitutions[lo];
    // Inside a substituted value (or at an empty one): point at the `${` that produced it.
    if (at && at.start <= offset) return at.originalStart;
    const before = substitutions[lo - 1];
    return before ? offset + before.originalEnd - before.end : offset;
  };

  return { text: out, substitutions, toOriginal };
}
