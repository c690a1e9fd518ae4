/**
 * Go's formatting of decoded YAML values, for the parts of Convox's error messages that print a
 * value (`unknown type for service build: int`, `invalid scale: map[max:3 min:1.5]`).
 */
import type { GoValue } from './go-value';
import { keyText } from './go-value';
import { formatGoFloat } from './go-value';

/** `%T` of a value decoded into interface{}. */
export function goTypeName(v: GoValue): string {
  switch (v.kind) {
    case 'null':
      return '<nil>';
    case 'bool':
      return 'bool';
    case 'int':
      return Number.isSafeInteger(v.value) && Math.abs(v.value) <= 2 ** 63 ? 'int' : 'uint64';
    case 'float':
      return 'float64';
    case 'string':
      return 'string';
    case 'map':
      return 'map[interface {}]interface {}';
    case 'seq':
      return '[]interface {}';
  }
}

function scalarV(v: GoValue): string {
  switch (v.kind) {
    case 'null':
      return '<nil>';
    case 'bool':
      return String(v.value);
    case 'int':
      return String(v.value);
    case 'float':
      return formatGoFloat(v.value).replace(/^\.nan$/, 'NaN').replace(/^-\.inf$/, '-Inf').replace(/^\.inf$/, '+Inf');
    case 'string':
      return v.value;
    default:
      return '';
  }
}

/** `%v` (and `%+v`): maps print as `map[k:v ...]` with sorted keys, lists as `[a b]`. */
export function goSprintV(v: GoValue): string {
  if (v.kind === 'map') {
    const parts = v.entries.map((e) => [keyText(e.key), goSprintV(e.value)] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${parts.map(([k, val]) => `${k}:${val}`).join(' ')}]`;
  }
  if (v.kind === 'seq') return `[${v.items.map(goSprintV).join(' ')}]`;
  return scalarV(v);
}

/** `%s`: strings as they are, anything else as `%!s(type=value)`, recursively. */
export function goSprintS(v: GoValue): string {
  if (v.kind === 'string') return v.value;
  if (v.kind === 'map') {
    const parts = v.entries.map((e) => [keyText(e.key), goSprintS(e.value)] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${parts.map(([k, val]) => `${k}:${val}`).join(' ')}]`;
  }
  if (v.kind === 'seq') return `[${v.items.map(goSprintS).join(' ')}]`;
  if (v.kind === 'null') return '%!s(<nil>)';
  return `%!s(${goTypeName(v)}=${scalarV(v)})`;
}

/** Go's `strconv.Atoi`: an optional sign and decimal digits, within 64 bits. */
export function goAtoi(s: string): { value: number } | { error: string } {
  if (!/^[+-]?[0-9]+$/.test(s)) return { error: `strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax` };
  const n = BigInt(s);
  if (n > 2n ** 63n - 1n || n < -(2n ** 63n)) return { error: `strconv.Atoi: parsing ${JSON.stringify(s)}: value out of range` };
  return { value: Number(n) };
}
