/**
 * Codecs for the two blocks Convox decodes through JSON (`sigs.k8s.io/yaml`): `scale.keda` and
 * `scale.autoscale`. JSON decoding differs from yaml.v2 in ways users notice: keys match
 * case-insensitively (`CPU` works, `gpu_utilization` does not), a YAML number or boolean becomes
 * text where a string is expected, and any type mismatch fails the whole load.
 */
import { closestKey } from '../suggest';
import type { GoValue } from '../yaml/go-value';
import { isScalar, keyText, scalarText } from '../yaml/go-value';
import type { Codec, DecodeContext, JsonSchema, SchemaRegistry } from './codec';
import { childContext, entriesOf, fieldSchema } from './codec';
import type { FieldDef, Fields } from './codec';
import { DecodeAbort, describe } from './session';

function jsonKind(v: GoValue): string {
  switch (v.kind) {
    case 'null':
      return 'null';
    case 'bool':
      return 'bool';
    case 'int':
    case 'float':
      return 'number';
    case 'string':
      return 'string';
    case 'map':
      return 'object';
    case 'seq':
      return 'array';
  }
}

function mismatch(v: GoValue, ctx: DecodeContext, goType: string, expected: string): DecodeAbort {
  return new DecodeAbort(
    `error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKind(v)} into Go value of type ${goType}`,
    v.pos,
    ctx.path,
    v.kind === 'string' ? 'write the value without quotes' : undefined,
    'wrong-type',
    `expected ${expected}, got ${describe(v)}`,
  );
}

function checkFinite(v: GoValue, ctx: DecodeContext): void {
  if (v.kind === 'float' && !Number.isFinite(v.value)) {
    throw new DecodeAbort(`error converting YAML to JSON: json: unsupported value: ${v.text}`, v.pos, ctx.path, 'use a finite number');
  }
}

export const jsonFloat: Codec<number> = {
  goType: 'float64',
  decode(v, ctx) {
    checkFinite(v, ctx);
    if (v.kind === 'int' || v.kind === 'float') return v.value;
    throw mismatch(v, ctx, 'float64', 'a number');
  },
  zero: () => 0,
  schema: () => ({ type: 'number' }),
};

export const jsonInt32: Codec<number> = {
  goType: 'int32',
  decode(v, ctx) {
    checkFinite(v, ctx);
    if ((v.kind === 'int' || v.kind === 'float') && Number.isInteger(v.value) && v.value >= -(2 ** 31) && v.value < 2 ** 31) return v.value;
    if (v.kind === 'int' || v.kind === 'float') {
      throw new DecodeAbort(
        `error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number ${v.text} into Go value of type int32`,
        v.pos,
        ctx.path,
        'use a whole number of seconds',
        'wrong-type',
      );
    }
    throw mismatch(v, ctx, 'int32', 'a whole number');
  },
  zero: () => 0,
  schema: () => ({ type: 'integer' }),
};

/** A string field: JSON conversion turns YAML numbers and booleans into their text. */
export const jsonString: Codec<string> = {
  goType: 'string',
  decode(v, ctx) {
    checkFinite(v, ctx);
    if (isScalar(v)) return scalarText(v);
    throw mismatch(v, ctx, 'string', 'a string');
  },
  zero: () => '',
  schema: () => ({ type: ['string', 'number', 'boolean'] }),
};

export const jsonBool: Codec<boolean> = {
  goType: 'bool',
  decode(v, ctx) {
    if (v.kind === 'bool') return v.value;
    throw mismatch(v, ctx, 'bool', 'true or false');
  },
  zero: () => false,
  schema: () => ({ type: 'boolean' }),
};

export const jsonStringMap: Codec<Record<string, string>> = {
  goType: 'map[string]string',
  decode(v, ctx) {
    if (v.kind !== 'map') throw mismatch(v, ctx, 'map[string]string', 'a map of names to values');
    const out: Record<string, string> = {};
    for (const e of entriesOf(v, ctx)) {
      const key = keyText(e.key);
      const value = e.value;
      checkFinite(value, childContext(ctx, key));
      if (value.kind === 'null') continue;
      if (!isScalar(value)) throw mismatch(value, childContext(ctx, key), 'string', 'a string');
      out[key] = scalarText(value);
    }
    return out;
  },
  zero: () => undefined,
  schema: () => ({ type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } }),
};

/** A JSON object kept as plain data (KEDA's `advanced` and `fallback` blocks, passed through to KEDA). */
export function jsonObject(goType: string): Codec<unknown> {
  return {
    goType,
    decode(v, ctx) {
      if (v.kind !== 'map') throw mismatch(v, ctx, goType, 'a map');
      return toPlain(v, ctx);
    },
    zero: () => undefined,
    schema: () => ({ type: 'object' }),
  };
}

function toPlain(v: GoValue, ctx: DecodeContext): unknown {
  checkFinite(v, ctx);
  switch (v.kind) {
    case 'null':
      return null;
    case 'bool':
    case 'int':
    case 'float':
      return v.value;
    case 'string':
      return v.value;
    case 'seq':
      return v.items.map((item, i) => toPlain(item, childContext(ctx, i)));
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const e of entriesOf(v, ctx)) out[keyText(e.key)] = toPlain(e.value, childContext(ctx, keyText(e.key)));
      return out;
    }
  }
}

export function jsonList<T>(item: Codec<T>): Codec<T[]> {
  return {
    goType: `[]${item.goType}`,
    decode(v, ctx) {
      if (v.kind !== 'seq') throw mismatch(v, ctx, `[]${item.goType}`, 'a list');
      return v.items.map((x, i) => (x.kind === 'null' ? (item.zero() as T) : item.decode(x, childContext(ctx, i), undefined)));
    },
    zero: () => undefined,
    schema: (r) => ({ type: 'array', items: item.schema(r) }),
  };
}

/**
 * A struct decoded by encoding/json: an exact key match wins, otherwise a case-insensitive one;
 * unknown keys are ignored (we warn); null leaves a field at its zero value.
 */
export function jsonStruct<T extends object>(goType: string, fields: Fields<T>, options: { defName: string; doc?: string }): Codec<T> {
  const known = Object.keys(fields);
  const byFold = new Map(known.map((k) => [k.toLowerCase(), k]));
  return {
    goType,
    decode(v, ctx) {
      if (v.kind !== 'map') throw mismatch(v, ctx, goType, 'a map');
      const out: Record<string, unknown> = {};
      for (const e of entriesOf(v, ctx)) {
        const written = keyText(e.key);
        const key = Object.prototype.hasOwnProperty.call(fields, written) ? written : byFold.get(written.toLowerCase());
        const sub = childContext(ctx, written);
        if (key === undefined) {
          const suggestion = closestKey(written, known);
          ctx.session.warn(
            'unknown-key',
            e.key.pos,
            sub.path,
            `unknown key "${written}" in ${ctx.path} is ignored (Convox ignores it too)${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
            suggestion ? `rename "${written}" to "${suggestion}" (keys here are camelCase)` : `known keys here: ${known.join(', ')}`,
          );
          continue;
        }
        if (key !== written) {
          ctx.session.warn('key-case', e.key.pos, sub.path, `${sub.path}: "${written}" is read as "${key}" (this block ignores case), but the key is "${key}"`, `write "${key}"`);
        }
        const def = (fields as Record<string, FieldDef<unknown>>)[key] as FieldDef<unknown>;
        if (e.value.kind === 'null') {
          delete out[key];
          continue;
        }
        out[key] = def.codec.decode(e.value, sub, undefined);
      }
      return out as T;
    },
    zero: () => ({}) as T,
    schema: (registry: SchemaRegistry): JsonSchema =>
      registry.ref(options.defName, () => ({
        type: 'object',
        ...(options.doc ? { description: options.doc } : {}),
        properties: Object.fromEntries(Object.entries(fields as Record<string, FieldDef<unknown>>).map(([k, f]) => [k, fieldSchema(f, registry)])),
        additionalProperties: false,
      })),
  };
}
