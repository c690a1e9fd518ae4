/**
 * The manifest as Convox's Go decoder (gopkg.in/yaml.v2) sees it: YAML 1.1 scalars resolved to
 * Go's types, maps as ordered entries, and each value remembering where it came from.
 *
 * Convox decodes convox.yml in several passes with different rules (a struct decode of the
 * document, an ordered "MapSlice" decode of the named sections, and a re-encode/re-decode of every
 * section entry). Keeping one tree of these values and a few views over it (`genericView`,
 * `sliceView`, `remarshal`) lets the decoders reproduce those rules without re-parsing text.
 */

import { resolvePlain } from './resolve';

export interface GoSource {
  /** Offset of the value in the interpolated text. */
  readonly pos: number;
}

export interface GoNull extends GoSource {
  readonly kind: 'null';
}
export interface GoBool extends GoSource {
  readonly kind: 'bool';
  readonly value: boolean;
  /** The scalar as written (`yes`, `On`, ...), which Go's decoder copies into string fields. */
  readonly text: string;
}
export interface GoInt extends GoSource {
  readonly kind: 'int';
  readonly value: number;
  readonly text: string;
}
export interface GoFloat extends GoSource {
  readonly kind: 'float';
  readonly value: number;
  readonly text: string;
}
export interface GoString extends GoSource {
  readonly kind: 'string';
  readonly value: string;
  readonly text: string;
  /** A plain scalar that YAML 1.1 reads as a timestamp; Go keeps it a string in untyped decodes. */
  readonly timestamp?: boolean;
}
export interface GoEntry {
  readonly key: GoValue;
  readonly value: GoValue;
  /** A `<<` merge key: its value (a map or a list of maps) is merged in at this position. */
  readonly merge: boolean;
}
export interface GoMap extends GoSource {
  readonly kind: 'map';
  readonly entries: readonly GoEntry[];
}
export interface GoSeq extends GoSource {
  readonly kind: 'seq';
  readonly items: readonly GoValue[];
}

export type GoScalar = GoNull | GoBool | GoInt | GoFloat | GoString;
export type GoValue = GoScalar | GoMap | GoSeq;

export const MERGE_KEY = '<<';

export function isScalar(v: GoValue): v is GoScalar {
  return v.kind !== 'map' && v.kind !== 'seq';
}

/** The text Go's decoder stores when a scalar lands in a string field. */
export function scalarText(v: GoScalar): string {
  return v.kind === 'null' ? '' : v.text;
}

/** YAML short tag of a value, as yaml.v2 prints it in "cannot unmarshal" errors. */
export function shortTag(v: GoValue): string {
  switch (v.kind) {
    case 'null':
      return '!!null';
    case 'bool':
      return '!!bool';
    case 'int':
      return '!!int';
    case 'float':
      return '!!float';
    case 'string':
      return v.timestamp ? '!!timestamp' : '!!str';
    case 'map':
      return '!!map';
    case 'seq':
      return '!!seq';
  }
}

/** The value of `key` in a map (the last one, as a Go map keeps), or undefined. */
export function lookupKey(map: GoMap, key: string): GoValue | undefined {
  let found: GoValue | undefined;
  for (const e of map.entries) if (keyText(e.key) === key) found = e.value;
  return found;
}

/** The text a mapping key matches struct fields with (yaml.v2 decodes keys into a string). */
export function keyText(key: GoValue): string {
  return isScalar(key) ? scalarText(key) : '';
}

/**
 * Entries of a map in decode order, with merge keys expanded where they stand. Later entries
 * overwrite earlier ones when applied in order, which is how yaml.v2 fills structs and maps.
 * Within a merge list, earlier maps take precedence, so they are applied last.
 */
export function expandedEntries(map: GoMap, depth = 0): GoEntry[] {
  if (depth > 64) return [];
  const out: GoEntry[] = [];
  for (const entry of map.entries) {
    if (!entry.merge) {
      out.push(entry);
      continue;
    }
    const source = entry.value;
    if (source.kind === 'map') out.push(...expandedEntries(source, depth + 1));
    else if (source.kind === 'seq') {
      for (let i = source.items.length - 1; i >= 0; i--) {
        const item = source.items[i];
        if (item?.kind === 'map') out.push(...expandedEntries(item, depth + 1));
      }
    }
  }
  return out;
}

/** Whether a merge entry holds something yaml.v2 can merge (a map, or a list of maps). */
export function isMergeable(v: GoValue): boolean {
  return v.kind === 'map' || (v.kind === 'seq' && v.items.every((i) => i.kind === 'map'));
}

/**
 * What Go sees when it decodes a value into `interface{}`: maps with merges applied and one
 * value per key (the last written wins, at the position the key first appeared).
 */
export function genericView(v: GoValue): GoValue {
  if (v.kind === 'seq') return { ...v, items: v.items.map(genericView) };
  if (v.kind !== 'map') return v;
  const byKey = new Map<string, GoEntry>();
  const unkeyed: GoEntry[] = [];
  for (const entry of expandedEntries(v)) {
    const value = genericView(entry.value);
    const id = isScalar(entry.key) ? `${entry.key.kind}:${scalarText(entry.key)}` : undefined;
    const next: GoEntry = { key: entry.key, value, merge: false };
    if (id === undefined) unkeyed.push(next);
    else byKey.set(id, byKey.has(id) ? { ...next, key: byKey.get(id)?.key ?? entry.key } : next);
  }
  return { ...v, entries: [...byKey.values(), ...unkeyed] };
}

/**
 * What Go sees when it decodes a named section into an ordered `yaml.MapSlice`: every entry in
 * file order (duplicates included) and, because of a yaml.v2 quirk, `<<` merge keys dropped at
 * every depth.
 */
export function sliceView(v: GoValue): GoValue {
  if (v.kind === 'seq') return { ...v, items: v.items.map(sliceView) };
  if (v.kind !== 'map') return v;
  return { ...v, entries: v.entries.filter((e) => !e.merge).map((e) => ({ ...e, value: sliceView(e.value) })) };
}

/**
 * Convox decodes each section entry generically, writes it back to YAML and decodes that text
 * into its struct. The round trip loses scalar spelling (`yes` becomes `true`, `10.10` becomes
 * `10.1`, `0x1F` becomes `31`), and a quoted `"<<"` key comes back as a real merge key.
 */
export function remarshal(v: GoValue): GoValue {
  switch (v.kind) {
    case 'null':
      return v;
    case 'bool':
      return { ...v, text: v.value ? 'true' : 'false' };
    case 'int':
      return { ...v, text: String(v.value) };
    case 'float': {
      // Written back with Go's shortest format and read again, a whole float becomes an int.
      const text = formatGoFloat(v.value);
      const reread = resolvePlain(text);
      return reread.kind === 'int' ? { kind: 'int', value: reread.value, text, pos: v.pos } : { ...v, text };
    }
    case 'string':
      return v.timestamp ? { kind: 'string', value: v.value, text: v.text, pos: v.pos } : v;
    case 'seq':
      return { ...v, items: v.items.map(remarshal) };
    case 'map':
      return {
        ...v,
        entries: v.entries.map((e) => ({
          key: remarshal(e.key),
          value: remarshal(e.value),
          merge: e.merge || (e.key.kind === 'string' && e.key.value === MERGE_KEY),
        })),
      };
  }
}

/** `strconv.FormatFloat(f, 'g', -1, 64)` as yaml.v2 writes floats, with YAML's infinities. */
export function formatGoFloat(f: number): string {
  if (Number.isNaN(f)) return '.nan';
  if (f === Infinity) return '.inf';
  if (f === -Infinity) return '-.inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  // Shortest round-trip digits, as both Go and JavaScript compute them.
  const [mantissa = '0', exponent = '0'] = f.toExponential().split('e');
  const exp = Number(exponent);
  // Go's shortest 'g' format switches to exponent notation below 1e-4 and from 1e6 upwards,
  // and always writes at least two exponent digits.
  if (exp < -4 || exp >= 6) {
    const digits = String(Math.abs(exp)).padStart(2, '0');
    return `${mantissa}e${exp < 0 ? '-' : '+'}${digits}`;
  }
  const negative = mantissa.startsWith('-');
  const plain = mantissa.replace('-', '').replace('.', '');
  const point = exp + 1;
  let text: string;
  if (point <= 0) text = `0.${'0'.repeat(-point)}${plain}`;
  else if (point >= plain.length) text = plain + '0'.repeat(point - plain.length);
  else text = `${plain.slice(0, point)}.${plain.slice(point)}`;
  return negative ? `-${text}` : text;
}
