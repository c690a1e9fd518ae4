/** A problem found by validation, in Convox's words, with where to point and what to do. */
export interface Finding {
  /** Convox's message line (what `convox` prints under "validation errors:"). */
  readonly message: string;
  /** Dotted path of the offending key, used to find its line. */
  readonly path: string;
  readonly hint?: string;
}

export const NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Names for a hint (`web, api, worker`), at most `max` of them: a hint repeated for each of
 * thousands of bad references must not list thousands of names each time.
 */
export function nameList(names: readonly string[], max = 10): string {
  if (names.length === 0) return '(none)';
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}
export const NAME_RULE = 'must contain only lowercase alphanumeric and dashes';

/** Suggest a valid name close to an invalid one (`serviceF` → `service-f`, `timer_1` → `timer-1`). */
export function suggestName(name: string): string {
  const fixed = name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '');
  return fixed === '' ? 'a name starting with a letter, e.g. web' : `"${fixed}"`;
}
