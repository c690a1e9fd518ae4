/**
 * Parse YAML text into the Go-typed value tree (see go-value.ts), collecting syntax errors with
 * their offsets. The YAML grammar is handled by the `yaml` package; scalar typing follows
 * gopkg.in/yaml.v2 so that values mean what they mean to Convox.
 */
import { Composer, isAlias, isMap, isNode, isScalar as isYamlScalar, isSeq, Parser, visit } from 'yaml';
import type { Alias, CST, Document, Node as YamlNode } from 'yaml';
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

/** Upper bound on values, aliases expanded, so that a "billion laughs" document fails fast. */
const MAX_EXPANDED_NODES = 200_000;
/**
 * Upper bound on collections nested in each other. Real manifests nest fewer than 10; the `yaml`
 * package composes recursively, so a document nested thousands deep would exhaust the stack.
 */
const MAX_NESTING = 100;
/** Upper bound on alias hops and nesting together while composing (an alias can lead deeper). */
const MAX_COMPOSE_DEPTH = 200;

/** `limits.maxValues` lowers the bound on values (for tests: a document at the real bound is large). */
export function composeYaml(text: string, limits: { readonly maxValues?: number } = {}): ComposeResult {
  const maxValues = limits.maxValues ?? MAX_EXPANDED_NODES;
  const errors: YamlProblem[] = [];
  const warnings: YamlProblem[] = [];
  // Tokens first (the parser is iterative), so that nesting is bounded before anything recurses.
  const tokens = Array.from(new Parser().parse(text));
  const tooDeep = nestingBeyond(tokens, MAX_NESTING);
  if (tooDeep !== undefined) {
    errors.push({ pos: tooDeep, code: 'NESTING_TOO_DEEP', message: `the document nests lists and maps more than ${MAX_NESTING} levels deep` });
    return { value: { kind: 'null', pos: 0 }, errors, warnings };
  }
  const docs = Array.from(
    new Composer({
      schema: 'failsafe',
      version: '1.1',
      uniqueKeys: false,
      merge: false,
      prettyErrors: false,
      strict: true,
    }).compose(tokens),
  );
  const documents: Document.Parsed[] = docs;
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

  const targets = aliasTargets(doc);
  let expanded = 0;
  let aliases = 0;
  const compose = (node: YamlNode | null | undefined, fallbackPos: number, depth: number): GoValue => {
    if (++expanded > maxValues) throw new ExpansionLimit(fallbackPos, aliases > 0 ? 'aliases' : 'values');
    if (depth > MAX_COMPOSE_DEPTH) throw new ExpansionLimit(fallbackPos, 'depth');
    if (node === null || node === undefined) return { kind: 'null', pos: fallbackPos };
    const pos = node.range?.[0] ?? fallbackPos;
    if (isAlias(node)) {
      aliases++;
      const target = targets.get(node);
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
      const message = {
        aliases: `the document expands to more than ${maxValues} values through anchors and aliases`,
        values: `the document has more than ${maxValues} values`,
        depth: `the document nests more than ${MAX_COMPOSE_DEPTH} levels deep through anchors and aliases`,
      }[e.reason];
      errors.push({ pos: e.pos, code: e.reason === 'values' ? 'TOO_MANY_VALUES' : 'ALIAS_EXPANSION', message });
      return { value: { kind: 'null', pos: 0 }, errors, warnings };
    }
    throw e;
  }
}

class ExpansionLimit extends Error {
  constructor(
    readonly pos: number,
    readonly reason: 'aliases' | 'values' | 'depth',
  ) {
    super('expansion limit');
  }
}

/**
 * The node each alias refers to: the last node anchored with its name before it, as
 * `Alias.resolve` finds it. Resolved in one walk: `resolve` walks the whole document on every
 * call, which made an alias bomb take seconds to refuse.
 */
function aliasTargets(doc: Document.Parsed): Map<Alias, YamlNode | undefined> {
  const anchors = new Map<string, YamlNode>();
  const targets = new Map<Alias, YamlNode | undefined>();
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) targets.set(node, anchors.get(node.source));
      else if (isNode(node) && node.anchor) anchors.set(node.anchor, node);
    },
  });
  return targets;
}

/**
 * The offset of a collection nested deeper than `limit` in the parser's tokens, if there is one.
 * Walked with an explicit stack: the tokens of a hostile document nest as deep as it does.
 */
function nestingBeyond(tokens: readonly CST.Token[], limit: number): number | undefined {
  const stack: { token: CST.Token; depth: number }[] = tokens.map((token) => ({ token, depth: 0 }));
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { token, depth } = top;
    if (token.type === 'document') {
      if (token.value) stack.push({ token: token.value, depth });
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth >= limit) return token.offset;
      for (const item of token.items) {
        if (item.key) stack.push({ token: item.key, depth: depth + 1 });
        if (item.value) stack.push({ token: item.value, depth: depth + 1 });
      }
    }
  }
  return undefined;
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
