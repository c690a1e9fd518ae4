/**
 * Codecs: one per Go type of Convox's manifest structs. Each knows how yaml.v2 decodes a YAML
 * value into that type (what it accepts, what fails, what it silently drops) and what JSON
 * Schema describes the type. The field tables built from them (see fields/) are the single
 * definition behind the decoder, the TypeScript types and schema/convox.schema.json.
 */
import { closestKey } from '../suggest';
import type { GoMap, GoValue } from '../yaml/go-value';
import { expandedEntries, genericView, isMergeable, isScalar, keyText, scalarText } from '../yaml/go-value';
import { DecodeAbort, describe } from './session';
import type { DecodeSession } from './session';

export type JsonSchema = { [key: string]: unknown };

/** Collects named schema definitions while a schema is generated. */
export class SchemaRegistry {
  readonly defs: Record<string, JsonSchema> = {};
  ref(name: string, build: () => JsonSchema): JsonSchema {
    if (!(name in this.defs)) {
      this.defs[name] = {};
      this.defs[name] = build();
    }
    return { $ref: `#/definitions/${name}` };
  }
}

export interface DecodeContext {
  readonly session: DecodeSession;
  /** Dotted path of the value, e.g. `services.web.scale`. */
  readonly path: string;
}

export function childContext(ctx: DecodeContext, key: string | number): DecodeContext {
  const segment = String(key);
  return { session: ctx.session, path: ctx.path === '' ? segment : typeof key === 'number' ? `${ctx.path}[${segment}]` : `${ctx.path}.${segment}` };
}

export interface Codec<T> {
  /** The Go type name Convox's error messages use, e.g. `int` or `manifest.ServiceTLS`. */
  readonly goType: string;
  /**
   * Decode a non-null value. `previous` is what the field held already: yaml.v2 decodes into the
   * existing value, so a repeated key (or a merge) overlays structs and appends to some lists.
   */
  decode(value: GoValue, ctx: DecodeContext, previous: T | undefined): T;
  /** What a null value (or nothing) leaves in the field. */
  zero(): T | undefined;
  schema(registry: SchemaRegistry): JsonSchema;
}

/** Decode a field's value, giving null its Go meaning (the zero value). */
export function decodeValue<T>(codec: Codec<T>, value: GoValue, ctx: DecodeContext, previous: T | undefined): T | undefined {
  if (value.kind === 'null') return codec.zero();
  return codec.decode(value, ctx, previous);
}

const INTERPOLATION: JsonSchema = { type: 'string', pattern: '^\\$\\{[^}]*\\}$', description: 'An ${VAR} reference, replaced from the app environment before parsing.' };

function withInterpolation(registry: SchemaRegistry, name: string, base: JsonSchema): JsonSchema {
  return registry.ref(name, () => ({ anyOf: [base, registry.ref('interpolation', () => INTERPOLATION)] }));
}

function quotedHint(value: GoValue, what: string): string | undefined {
  if (value.kind === 'string' && value.value.trim() !== '') {
    return `write ${what} without quotes: a quoted value is a string in YAML`;
  }
  return undefined;
}

/** YAML 1.1 spellings of booleans that people mean as words (`command: yes`, `version: on`). */
const WORDY_BOOLEANS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'No', 'NO', 'on', 'On', 'ON', 'off', 'Off', 'OFF']);

export const goString: Codec<string> = {
  goType: 'string',
  decode(value, ctx, previous) {
    if (value.kind === 'bool' && WORDY_BOOLEANS.has(value.text)) {
      ctx.session.warn('suspicious', value.pos, ctx.path, `${ctx.path}: YAML 1.1 reads ${value.text} as a boolean, so the value becomes "${String(value.value)}"`, `quote it if you mean the word: "${value.text}"`);
    }
    if (isScalar(value)) return scalarText(value);
    ctx.session.typeError(value, ctx.path, 'string', 'a string', value.kind === 'seq' ? 'write a single string, not a list' : undefined);
    return previous ?? '';
  },
  zero: () => '',
  // Any scalar is accepted: Convox keeps its text (`tcpSocketPort: 8080` is "8080").
  schema: () => ({ type: ['string', 'number', 'boolean'] }),
};

function integer(goType: string): Codec<number> {
  return {
    goType,
    decode(value, ctx, previous) {
      if (value.kind === 'int') return value.value;
      if (value.kind === 'float' && Number.isFinite(value.value)) {
        const truncated = Math.trunc(value.value);
        if (truncated !== value.value) {
          ctx.session.warn('suspicious', value.pos, ctx.path, `${ctx.path}: ${value.text} is not a whole number; Convox truncates it to ${truncated}`);
        }
        return truncated;
      }
      ctx.session.typeError(value, ctx.path, goType, 'an integer', quotedHint(value, 'the number'));
      return previous ?? 0;
    },
    zero: () => 0,
    schema: (registry) => withInterpolation(registry, 'integer', { type: 'integer' }),
  };
}

export const goInt = integer('int');
export const goInt64 = integer('int64');
export const goInt32 = integer('int32');

export const goFloat: Codec<number> = {
  goType: 'float64',
  decode(value, ctx, previous) {
    if (value.kind === 'int' || value.kind === 'float') return value.value;
    ctx.session.typeError(value, ctx.path, 'float64', 'a number', quotedHint(value, 'the number'));
    return previous ?? 0;
  },
  zero: () => 0,
  schema: (registry) => withInterpolation(registry, 'number', { type: 'number' }),
};

export const goBool: Codec<boolean> = {
  goType: 'bool',
  decode(value, ctx, previous) {
    if (value.kind === 'bool') return value.value;
    ctx.session.typeError(value, ctx.path, 'bool', 'true or false', quotedHint(value, 'true or false'));
    return previous ?? false;
  },
  zero: () => false,
  schema: (registry) => withInterpolation(registry, 'boolean', { type: 'boolean' }),
};

/** `[]T` decoded by yaml.v2: a list replaces the previous one; anything else is a type error. */
export function list<T>(item: Codec<T>, goType = `[]${item.goType}`, itemSchema?: (r: SchemaRegistry) => JsonSchema): Codec<T[]> {
  return {
    goType,
    decode(value, ctx, previous) {
      if (value.kind !== 'seq') {
        ctx.session.typeError(value, ctx.path, goType, 'a list', value.kind === 'string' ? `write it as a list: [${value.value}] or one "- item" per line` : undefined);
        return previous ?? [];
      }
      const out: T[] = [];
      value.items.forEach((v, i) => {
        ctx.session.mark(childContext(ctx, i).path, v.pos);
        const decoded = decodeValue(item, v, childContext(ctx, i), undefined);
        out.push(decoded ?? (item.zero() as T));
      });
      return out;
    },
    zero: () => undefined,
    schema: (registry) => ({ type: 'array', items: itemSchema ? itemSchema(registry) : item.schema(registry) }),
  };
}

export const stringList = list(goString, '[]string');

/** `map[string]string` decoded by yaml.v2: keys and scalar values become text; it adds to the previous map. */
export function stringMap(goType = 'map[string]string'): Codec<Record<string, string>> {
  return {
    goType,
    decode(value, ctx, previous) {
      if (value.kind !== 'map') {
        ctx.session.typeError(value, ctx.path, goType, 'a map of names to values');
        return previous ?? {};
      }
      const out: Record<string, string> = { ...(previous ?? {}) };
      for (const entry of entriesOf(value, ctx)) {
        const key = keyText(entry.key);
        const v = entry.value;
        if (v.kind === 'null') out[key] = '';
        else if (isScalar(v)) out[key] = scalarText(v);
        else ctx.session.typeError(v, childContext(ctx, key).path, 'string', 'a string', 'quote the value or flatten it to a single string');
      }
      return out;
    },
    zero: () => undefined,
    schema: (registry) => ({ type: 'object', additionalProperties: withInterpolation(registry, 'scalar', { type: ['string', 'number', 'boolean', 'null'] }) }),
  };
}

/** A pointer field: absent or null leaves nil (omitted); anything else allocates. */
export function pointer<T>(codec: Codec<T>): Codec<T> {
  return { goType: `*${codec.goType}`, decode: (v, ctx, prev) => codec.decode(v, ctx, prev), zero: () => undefined, schema: (r) => codec.schema(r) };
}

/** Entries of a map in decode order with merge keys applied; a merge of a non-map fails as in yaml.v2. */
export function entriesOf(map: GoMap, ctx: DecodeContext): ReturnType<typeof expandedEntries> {
  for (const entry of map.entries) {
    if (entry.merge && !isMergeable(entry.value)) {
      throw new DecodeAbort('yaml: map merge requires map or sequence of maps as the value', entry.value.pos, ctx.path, 'point "<<" at an anchored map, e.g. <<: *defaults');
    }
  }
  return expandedEntries(map);
}

export interface FieldDef<T> {
  readonly codec: Codec<T>;
  /** One or two sentences for editors and docs. */
  readonly doc: string;
  /** The default Convox fills in, shown in the schema. */
  readonly default?: unknown;
}

export function field<T>(codec: Codec<T>, doc: string, extra: { default?: unknown } = {}): FieldDef<T> {
  return { codec, doc, ...extra };
}

/** The field table of a struct: exactly one definition per property of T, so types and table cannot drift. */
export type Fields<T> = { readonly [K in keyof T]-?: FieldDef<Exclude<T[K], undefined>> };

/**
 * A Go struct decoded by yaml.v2: known keys fill fields (case-sensitive), unknown keys are
 * ignored (we warn, suggesting the closest key), and a value that is not a map is a type error.
 */
export interface StructOptions {
  readonly defName: string;
  readonly doc?: string;
  /**
   * Keys with this prefix are extension fields: ignored without a warning, and allowed by the
   * schema (`x-` at the top level holds YAML anchors, as in Compose files).
   */
  readonly extensionPrefix?: string;
}

export function struct<T extends object>(goType: string, fields: Fields<T>, options: StructOptions): { zero(): T; readonly fields: Fields<T> } & Codec<T> {
  const known = Object.keys(fields);
  return {
    goType,
    fields,
    decode(value, ctx, previous) {
      if (value.kind !== 'map') {
        ctx.session.typeError(value, ctx.path, goType, `a map with the keys ${known.slice(0, 6).join(', ')}${known.length > 6 ? ', ...' : ''}`);
        return previous ?? ({} as T);
      }
      const out = { ...(previous ?? {}) } as Record<string, unknown>;
      decodeFields(value, ctx, fields, out, known, options.extensionPrefix);
      return out as T;
    },
    zero: () => ({}) as T,
    schema: (registry) =>
      registry.ref(options.defName, () => ({
        type: 'object',
        ...(options.doc ? { description: options.doc } : {}),
        properties: Object.fromEntries(Object.entries(fields as Record<string, FieldDef<unknown>>).map(([k, f]) => [k, fieldSchema(f, registry)])),
        ...(options.extensionPrefix ? { patternProperties: { [`^${options.extensionPrefix}`]: { description: 'An extension field, ignored (a place for YAML anchors).' } } } : {}),
        additionalProperties: false,
      })),
  };
}

export function fieldSchema(f: FieldDef<unknown>, registry: SchemaRegistry): JsonSchema {
  const base = f.codec.schema(registry);
  const extra: JsonSchema = { description: f.doc };
  if (f.default !== undefined) extra.default = f.default;
  return '$ref' in base ? { allOf: [base], ...extra } : { ...base, ...extra };
}

/** Fill `out` from a map's entries using a field table; shared by structs and custom decoders. */
export function decodeFields(
  map: GoMap,
  ctx: DecodeContext,
  fields: Record<string, FieldDef<unknown>>,
  out: Record<string, unknown>,
  known: readonly string[],
  extensionPrefix?: string,
): void {
  for (const entry of entriesOf(map, ctx)) {
    const key = keyText(entry.key);
    const def = Object.prototype.hasOwnProperty.call(fields, key) ? fields[key] : undefined;
    const sub = childContext(ctx, key);
    ctx.session.mark(sub.path, entry.key.pos);
    if (!def) {
      if (extensionPrefix === undefined || !key.startsWith(extensionPrefix)) warnUnknownKey(ctx, entry.key.pos, key, known);
      continue;
    }
    if (entry.value.kind === 'null') warnEmpty(sub, entry.key.pos);
    try {
      out[key] = decodeValue(def.codec, entry.value, sub, out[key]);
    } catch (e) {
      if (!(e instanceof DecodeAbort)) throw e;
      // Convox stops at this error; we record it and go on to find more problems.
      ctx.session.abort(e);
    }
  }
}

export function warnUnknownKey(ctx: DecodeContext, pos: number, key: string, known: readonly string[]): void {
  const path = ctx.path === '' ? key : `${ctx.path}.${key}`;
  const suggestion = closestKey(key, known);
  const where = ctx.path === '' ? 'at the top level' : `in ${ctx.path}`;
  ctx.session.warn(
    'unknown-key',
    pos,
    path,
    `unknown key "${key}" ${where} is ignored (Convox ignores it too)${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
    suggestion ? `rename "${key}" to "${suggestion}"` : `known keys here: ${known.join(', ')}`,
  );
}

/**
 * A key written with nothing after it (often because its children were commented out). Convox
 * counts the key as written but takes a zero value, which matters most for `scale:`.
 */
export function warnEmpty(ctx: DecodeContext, pos: number): void {
  const last = ctx.path.split('.').pop() ?? '';
  const consequence =
    last === 'scale'
      ? 'so Convox runs 0 processes of this service'
      : last === 'count'
        ? 'so Convox sets the count to 0-0'
        : 'so Convox uses the zero value, which can differ from the default';
  ctx.session.warn('empty-value', pos, ctx.path, `${ctx.path} has no value, ${consequence}`, `give it a value or remove the key`);
}

/** Report a value Convox's custom decoder silently drops because of its YAML type. */
export function warnIgnored(ctx: DecodeContext, value: GoValue, expected: string, hint?: string): void {
  ctx.session.warn(
    'ignored-value',
    value.pos,
    ctx.path,
    `${ctx.path}: ${describe(value)} is ignored (Convox only takes ${expected} here and silently drops anything else)`,
    hint ?? quotedHint(value, 'the value'),
  );
}

/** The generic (interface{}) view a custom decoder works on, with merge errors surfaced. */
export function generic(value: GoValue, ctx: DecodeContext): GoValue {
  if (value.kind === 'map') entriesOf(value, ctx);
  return genericView(value);
}
