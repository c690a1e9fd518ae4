/**
 * The named sections (services, resources, timers, balancers, and a balancer's ports): maps in
 * convox.yml, ordered lists after loading. Convox decodes each entry on its own, after writing it
 * back to YAML (see `remarshal`), and stops a section at its first failing entry.
 */
import type { Codec, DecodeContext, JsonSchema, SchemaRegistry } from '../decode/codec';
import { childContext, decodeValue } from '../decode/codec';
import { DecodeAbort } from '../decode/session';
import { goTypeName } from '../yaml/go-format';
import type { GoValue } from '../yaml/go-value';
import { keyText, remarshal, sliceView } from '../yaml/go-value';

export interface SectionOptions<TFields, TItem> {
  /** Go type of the section, for type errors (`yaml.MapSlice`). */
  readonly what: string;
  /** Decodes one entry; a null entry (`web:`) takes its zero value. */
  readonly item: { zero(): TFields } & Codec<TFields>;
  /** The entry's name from its key (Convox: strings as they are, integers in decimal). */
  readonly name?: (key: GoValue, ctx: DecodeContext) => string;
  readonly build: (name: string, fields: TFields) => TItem;
  readonly keySchema?: JsonSchema;
  readonly doc: string;
}

/** Convox names an entry by its key: a string, or an integer in decimal; other key types fail. */
export function entryName(key: GoValue, ctx: DecodeContext): string {
  if (key.kind === 'string') return key.value;
  if (key.kind === 'int') return String(key.value);
  throw new DecodeAbort(
    `unknown key type: ${goTypeName(key)}`,
    key.pos,
    ctx.path,
    key.kind === 'bool' ? `quote the name: YAML 1.1 reads ${'text' in key ? key.text : 'it'} as a boolean` : 'use a name made of lower-case letters, digits and dashes',
  );
}

/** Report `<<` merge keys that Convox's ordered decoding silently drops. */
function warnDroppedMerges(value: GoValue, ctx: DecodeContext): void {
  if (value.kind === 'seq') value.items.forEach((item, i) => warnDroppedMerges(item, childContext(ctx, i)));
  if (value.kind !== 'map') return;
  for (const e of value.entries) {
    if (e.merge) {
      ctx.session.warn(
        'suspicious',
        e.key.pos,
        ctx.path,
        `${ctx.path}: the merge key << is ignored here: Convox drops merge keys inside services, resources, timers and balancers, so none of the merged keys apply`,
        'write the keys out in full (a quoted "<<" key is merged by Convox, an unquoted one is not)',
      );
    } else warnDroppedMerges(e.value, childContext(ctx, keyText(e.key)));
  }
}

export function section<TFields, TItem>(options: SectionOptions<TFields, TItem>): Codec<TItem[]> {
  const nameOf = options.name ?? entryName;
  return {
    goType: options.what,
    decode(value, ctx, previous) {
      const out: TItem[] = [...(previous ?? [])];
      let pairs: { key: GoValue; value: GoValue }[];
      if (value.kind === 'map') {
        warnDroppedMerges(value, ctx);
        pairs = value.entries.filter((e) => !e.merge);
      } else if (value.kind === 'seq') {
        if (value.items.length > 0) {
          ctx.session.warn('suspicious', value.pos, ctx.path, `${ctx.path} is a list; it should be a map from each name to its settings`, `write it as\n    ${ctx.path}:\n      name:\n        key: value`);
        }
        pairs = [];
        for (const item of value.items) {
          if (item.kind !== 'map') {
            ctx.session.typeError(item, ctx.path, 'yaml.MapItem', `a map from each name to its settings`);
            return out;
          }
          const find = (k: string): GoValue => item.entries.find((e) => keyText(e.key) === k)?.value ?? { kind: 'null', pos: item.pos };
          pairs.push({ key: find('key'), value: find('value') });
        }
      } else {
        ctx.session.typeError(value, ctx.path, options.what, `a map from each name to its settings`);
        return previous ?? [];
      }

      let stopped = false;
      for (const pair of pairs) {
        const sub = childContext(ctx, keyText(pair.key));
        ctx.session.mark(sub.path, pair.key.pos);
        const before = ctx.session.convoxErrorCount;
        const decodeEntry = (): void => {
          try {
            const fields = decodeValue<TFields>(options.item, remarshal(sliceView(pair.value)), sub, undefined) ?? options.item.zero();
            out.push(options.build(nameOf(pair.key, sub), fields));
          } catch (e) {
            if (!(e instanceof DecodeAbort)) throw e;
            ctx.session.abort(e);
          }
        };
        if (stopped) ctx.session.shadow(decodeEntry);
        else decodeEntry();
        // Convox returns at the first entry that fails; later entries are ours to check alone.
        if (ctx.session.convoxErrorCount > before) stopped = true;
      }
      return out;
    },
    zero: () => undefined,
    schema: (registry: SchemaRegistry) => ({
      type: 'object',
      description: options.doc,
      ...(options.keySchema ? { propertyNames: options.keySchema } : {}),
      additionalProperties: { anyOf: [options.item.schema(registry), { type: 'null' }] },
    }),
  };
}
