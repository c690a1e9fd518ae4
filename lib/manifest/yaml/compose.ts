/**
 * Parse YAML text into the Go-typed value tree (see go-value.ts), collecting syntax errors with
 * their offsets. The YAML grammar is handled by the `yaml` package; scalar typing follows
 * gopkg.in/yaml.v2 so that values mean what they mean to Convox.
 */
import { isAlias, isMap, isScalar as isYamlScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import type { GoEntry, GoValue } from './go-value';
import { resolvePlain, resolveTagged } from './resolve';

export interface YamlProblem {
  /** Offset in the parsed text. */
  readonly pos: number;
  readonly message: string;
  /** Stable identifier of the problem kind, e.g. `BAD_INDENT` or `TAG_MISMATCH`. */
  readonly code: string;
}

export interface ComposeResult {
  readonly value: GoValue;
  readonly errors: readonly YamlProblem[];
  readonly warnings: readonly YamlProblem[];
}

/** Upper bound on values after alias expansion, so a "billion laughs" document fails fast. */
const MAX_EXPANDED_NODES = 200_000;

export function composeYaml(text: string): ComposeResult {
  const errors: YamlProblem[] = [];
  const warnings: YamlProblem[] = [];
  const docs = parseAllDocuments(text, {
    schema: 'failsafe',
    version: '1.1',
    uniqueKeys: false,
    merge: false,
    prettyErrors: false,
    strict: true,
  });
  const documents: Document.Parsed[] = Array.isArray(docs) ? docs : [];
  const doc = documents[0];
  if (!doc) return { value: { kind: 'null', pos: 0 }, errors, warnings };
  if (documents.length > 1) {
    warnings.push({
      pos: documents[1]?.range[0] ?? 0,
      code: 'MULTIPLE_DOCUMENTS',
      message: 'only the first YAML document is read; everything after the "---" separator is ignored',
    });
  }
  for (const e of doc.errors) errors.push({ pos: e.pos[0], message: cleanMessage(e.message), code: e.code });
  for (const w of doc.warnings) {
    // Tags are resolved below, the Go way; the yaml package only knows the failsafe schema here.
    if (w.code === 'TAG_RESOLVE_FAILED') continue;
    warnings.push({ pos: w.pos[0], message: cleanMessage(w.message), code: w.code });
  }
  if (errors.length > 0) return { value: { kind: 'null', pos: 0 }, errors, warnings };

  let expanded = 0;
  const compose = (node: YamlNode | null | undefined, fallbackPos: number, depth: number): GoValue => {
    if (++expanded > MAX_EXPANDED_NODES) throw new ExpansionLimit(fallbackPos);
    if (depth > 200) throw new ExpansionLimit(fallbackPos);
    if (node === null || node === undefined) return { kind: 'null', pos: fallbackPos };
    const pos = node.range?.[0] ?? fallbackPos;
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target) {
        errors.push({ pos, code: 'BAD_ALIAS', message: `unknown anchor '${node.source}' referenced` });
        return { kind: 'null', pos };
      }
      return compose(target, pos, depth + 1);
    }
    if (isYamlScalar(node)) {
      const text = typeof node.value === 'string' ? node.value : String(node.value);
      const plain = node.type === 'PLAIN';
      let resolved;
      if (node.tag) {
        const tagged = resolveTagged(text, node.tag);
        if ('error' in tagged) {
          errors.push({ pos, code: 'TAG_MISMATCH', message: tagged.error });
          return { kind: 'null', pos };
        }
        resolved = tagged;
      } else resolved = plain ? resolvePlain(text) : ({ kind: 'string', value: text } as const);
      switch (resolved.kind) {
        case 'null':
          return { kind: 'null', pos };
        case 'merge':
          return { kind: 'string', value: '<<', text: '<<', pos };
        case 'string':
          return resolved.timestamp
            ? { kind: 'string', value: resolved.value, text, pos, timestamp: true }
            : { kind: 'string', value: resolved.value, text, pos };
        default:
          return { ...resolved, text, pos };
      }
    }
    if (isMap(node)) {
      const entries: GoEntry[] = [];
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        const keyPos = keyNode?.range?.[0] ?? pos;
        const key = compose(keyNode, keyPos, depth + 1);
        const valueNode = pair.value as YamlNode | null;
        const value = compose(valueNode, valueNode?.range?.[0] ?? keyPos, depth + 1);
        entries.push({ key, value, merge: isMergeKey(keyNode) });
      }
      return { kind: 'map', entries, pos };
    }
    if (isSeq(node)) {
      const items = node.items.map((item) => compose(item as YamlNode | null, pos, depth + 1));
      return { kind: 'seq', items, pos };
    }
    return { kind: 'null', pos };
  };

  try {
    const value = compose(doc.contents, 0, 0);
    return { value, errors, warnings };
  } catch (e) {
    if (e instanceof ExpansionLimit) {
      errors.push({
        pos: e.pos,
        code: 'ALIAS_EXPANSION',
        message: `the document expands to more than ${MAX_EXPANDED_NODES} values through anchors and aliases`,
      });
      return { value: { kind: 'null', pos: 0 }, errors, warnings };
    }
    throw e;
  }
}

class ExpansionLimit extends Error {
  constructor(readonly pos: number) {
    super('alias expansion limit');
  }
}

/** yaml.v2 treats an untagged plain `<<` (or one tagged `!!merge`) as a merge key; a quoted one is text. */
function isMergeKey(node: YamlNode | null): boolean {
  if (!node || !isYamlScalar(node) || node.value !== '<<') return false;
  if (node.tag) return node.tag === 'tag:yaml.org,2002:merge';
  return node.type === 'PLAIN';
}

/** The yaml package appends "at line N, column M" and a code frame; we print our own. */
function cleanMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+:[\s\S]*$/, '').trim();
}
