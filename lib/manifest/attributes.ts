/**
 * Which keys a convox.yml writes. Several of Convox's defaults depend on whether a key was
 * written, not on its value (`init: false` is honoured, `drain: 0` is not), so Load records every
 * dotted key path present in the document, e.g. `services.web.deployment.maximum`.
 *
 * Convox builds the set from a plain decode of the whole document (merge keys applied, the last
 * duplicate winning), writing each value back to YAML before looking inside it.
 */
import type { DecodeContext } from './decode/codec';
import { DecodeAbort } from './decode/session';
import type { GoEntry, GoMap, GoValue } from './yaml/go-value';
import { isMergeable, MERGE_KEY, remarshal } from './yaml/go-value';

export class Attributes {
  /** Sorted, so that the paths sharing a prefix form one contiguous range. */
  private readonly sorted: readonly string[];

  constructor(private readonly paths: ReadonlySet<string>) {
    this.sorted = [...paths].sort();
  }

  has(path: string): boolean {
    return this.paths.has(path);
  }

  /** Paths starting with `prefix` (a plain string prefix, as Convox tests it). */
  countWithPrefix(prefix: string): number {
    let n = 0;
    for (let i = this.lowerBound(prefix); i < this.sorted.length && (this.sorted[i] ?? '').startsWith(prefix); i++) n++;
    return n;
  }

  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.sorted[mid] ?? '') < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export function scanAttributes(document: GoValue, ctx: DecodeContext): Attributes {
  const paths = new Set<string>();
  /**
   * Convox decodes the document into plain maps (merges applied, the last duplicate winning) and
   * writes each value back to YAML before scanning it, which makes a quoted "<<" below the top
   * level a merge key too. Only keys matter here, so the rewrite is done in place of a copy.
   */
  const isMerge = (e: GoEntry, nested: boolean): boolean => e.merge || (nested && e.key.kind === 'string' && e.key.value === MERGE_KEY);
  const collect = (map: GoMap, nested: boolean, into: Map<string, GoValue>, depth: number): void => {
    for (const e of map.entries) {
      if (isMerge(e, nested)) {
        if (!isMergeable(e.value)) throw new DecodeAbort('yaml: map merge requires map or sequence of maps as the value', e.value.pos, ctx.path, 'point "<<" at an anchored map, e.g. <<: *defaults');
        if (depth > 64) continue;
        const sources = e.value.kind === 'map' ? [e.value] : e.value.kind === 'seq' ? [...e.value.items].reverse() : [];
        for (const source of sources) if (source.kind === 'map') collect(source, nested, into, depth + 1);
        continue;
      }
      const name = attributeName(e.key, nested);
      if (name !== undefined) into.set(name, e.value);
    }
  };
  const visit = (value: GoValue, prefix: string, nested: boolean): void => {
    if (value.kind !== 'map') return;
    const keys = new Map<string, GoValue>();
    collect(value, nested, keys, 0);
    for (const [name, child] of keys) {
      const path = prefix === '' ? name : `${prefix}.${name}`;
      paths.add(path);
      visit(child, path, true);
    }
  };
  visit(document, '', false);
  return new Attributes(paths);
}

/** A key as the scan names it: strings and integers (below the top level, whole floats read back as integers). */
function attributeName(key: GoValue, nested: boolean): string | undefined {
  if (key.kind === 'string') return key.value;
  if (key.kind === 'int') return String(key.value);
  if (nested && key.kind === 'float') {
    const reread = remarshal(key);
    if (reread.kind === 'int') return String(reread.value);
  }
  return undefined;
}
