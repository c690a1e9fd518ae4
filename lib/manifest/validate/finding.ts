/** A problem found by validation, in Convox's words, with where to point and what to do. */
export interface Finding {
  /** Convox's message line (what `convox` prints under "validation errors:"). */
  readonly message: string;
  /** Dotted path of the offending key, used to find its line. */
  readonly path: string;
  readonly hint?: string;
}

export const NAME = /^[a-z][a-z0-9-]*$/;
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
