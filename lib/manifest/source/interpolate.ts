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

export function interpolate(source: string, env: Readonly<Record<string, string>>): Interpolated {
  const substitutions: Substitution[] = [];
  let out = '';
  let last = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    const originalStart = match.index;
    out += source.slice(last, originalStart);
    const defined = Object.prototype.hasOwnProperty.call(env, name);
    const value = defined ? (env[name] ?? '') : '';
    const start = out.length;
    out += value;
    substitutions.push({ name, originalStart, originalEnd: originalStart + match[0].length, start, end: out.length, defined });
    last = originalStart + match[0].length;
  }
  out += source.slice(last);

  const toOriginal = (offset: number): number => {
    // Walk substitutions (they are sorted); offsets inside a substituted value map to its `${`.
    let delta = 0;
    for (const s of substitutions) {
      if (offset < s.start) break;
      // Inside a substituted value (or at an empty one): point at the `${` that produced it.
      if (offset < s.end || offset === s.start) return s.originalStart;
      delta = s.originalEnd - s.end;
    }
    return offset + delta;
  };

  return { text: out, substitutions, toOriginal };
}
