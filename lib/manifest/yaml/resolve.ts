/**
 * YAML 1.1 scalar resolution as gopkg.in/yaml.v2 does it (Convox's parser). This differs from
 * YAML 1.2 in ways users hit: `yes`/`no`/`on`/`off`/`y`/`n` are booleans, `010` is octal 8, `08`
 * is the float 8, `1_000` is 1000, and timestamp-looking values stay strings.
 */

export type Resolved =
  | { readonly kind: 'null' }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string; readonly timestamp?: boolean }
  | { readonly kind: 'merge' };

const RESOLVE_MAP = new Map<string, Resolved>();
for (const s of ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']) {
  RESOLVE_MAP.set(s, { kind: 'bool', value: true });
}
for (const s of ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']) {
  RESOLVE_MAP.set(s, { kind: 'bool', value: false });
}
for (const s of ['', '~', 'null', 'Null', 'NULL']) RESOLVE_MAP.set(s, { kind: 'null' });
for (const s of ['.nan', '.NaN', '.NAN']) RESOLVE_MAP.set(s, { kind: 'float', value: NaN });
for (const s of ['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF']) RESOLVE_MAP.set(s, { kind: 'float', value: Infinity });
for (const s of ['-.inf', '-.Inf', '-.INF']) RESOLVE_MAP.set(s, { kind: 'float', value: -Infinity });

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const TIMESTAMP =
  /^\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2}))|(?: \d{1,2}:\d{1,2}:\d{1,2}(?:\.\d{1,9})?))?$/;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** Go's `strconv.ParseInt(s, 0, 64)` / `ParseUint`: base from the prefix, range-checked. */
function parseGoInteger(s: string, signed: boolean): bigint | undefined {
  let rest = s;
  let negative = false;
  if (rest.startsWith('+') || rest.startsWith('-')) {
    if (!signed) return undefined;
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  let digits: RegExp;
  let prefix = '';
  if (/^0[xX]/.test(rest)) {
    prefix = '0x';
    rest = rest.slice(2);
    digits = /^[0-9a-fA-F]+$/;
  } else if (/^0[bB]/.test(rest)) {
    prefix = '0b';
    rest = rest.slice(2);
    digits = /^[01]+$/;
  } else if (/^0[oO]/.test(rest)) {
    prefix = '0o';
    rest = rest.slice(2);
    digits = /^[0-7]+$/;
  } else if (/^0[0-9]/.test(rest)) {
    prefix = '0o';
    rest = rest.slice(1);
    digits = /^[0-7]+$/;
  } else {
    digits = /^[0-9]+$/;
  }
  if (!digits.test(rest)) return undefined;
  let value = BigInt(prefix === '' ? rest : prefix + rest);
  if (negative) value = -value;
  if (signed ? value < INT64_MIN || value > INT64_MAX : value > UINT64_MAX) return undefined;
  return value;
}

function parseGoFloat(s: string): number | undefined {
  if (!YAML_STYLE_FLOAT.test(s) && !/^[-+]?\.[0-9]+$/.test(s)) return undefined;
  const n = Number(s.replace(/^\+/, ''));
  return Number.isNaN(n) ? undefined : n;
}

/** Resolve a plain (unquoted, untagged) scalar. */
export function resolvePlain(text: string): Resolved {
  const mapped = RESOLVE_MAP.get(text);
  if (mapped) return mapped;
  const first = text.charAt(0);
  if (first === '.') {
    const f = parseGoFloat(text);
    if (f !== undefined) return { kind: 'float', value: f };
    return { kind: 'string', value: text };
  }
  if (/[0-9+-]/.test(first)) {
    if (TIMESTAMP.test(text)) return { kind: 'string', value: text, timestamp: true };
    const plain = text.replaceAll('_', '');
    const asInt = parseGoInteger(plain, true);
    if (asInt !== undefined) return { kind: 'int', value: Number(asInt) };
    const asUint = parseGoInteger(plain, false);
    if (asUint !== undefined) return { kind: 'int', value: Number(asUint) };
    if (YAML_STYLE_FLOAT.test(plain)) {
      const f = Number(plain);
      if (!Number.isNaN(f)) return { kind: 'float', value: f };
    }
  }
  return { kind: 'string', value: text };
}

const YAML_TAG = 'tag:yaml.org,2002:';

/**
 * Resolve a scalar carrying an explicit tag (`!!str 10`, `!!int "3"`). Returns an error text
 * when the value does not fit the tag, as yaml.v2 fails the whole decode in that case.
 */
export function resolveTagged(text: string, tag: string): Resolved | { readonly error: string } {
  if (!tag.startsWith(YAML_TAG)) return { kind: 'string', value: text };
  const name = tag.slice(YAML_TAG.length);
  if (name === 'str' || name === 'binary') return { kind: 'string', value: text };
  if (name === 'merge') return { kind: 'merge' };
  if (!['int', 'float', 'bool', 'null', 'timestamp'].includes(name)) return { kind: 'string', value: text };
  const resolved = resolvePlain(text);
  if (name === 'float' && resolved.kind === 'int') return { kind: 'float', value: resolved.value };
  const got = resolved.kind === 'string' ? (resolved.timestamp ? 'timestamp' : 'str') : resolved.kind;
  if (got === name) return resolved;
  return { error: `cannot decode !!${got} \`${text}\` as a !!${name}` };
}
