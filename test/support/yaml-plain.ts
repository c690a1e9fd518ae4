/** A convox.yml as plain JSON data, with YAML 1.1 types as Convox reads them (for schema checks). */
import { interpolate } from '../../lib/manifest/source/interpolate';
import { composeYaml } from '../../lib/manifest/yaml/compose';
import type { GoValue } from '../../lib/manifest/yaml/go-value';
import { genericView, keyText, remarshal } from '../../lib/manifest/yaml/go-value';

function plain(v: GoValue): unknown {
  switch (v.kind) {
    case 'null':
      return null;
    case 'seq':
      return v.items.map(plain);
    case 'map':
      return Object.fromEntries(v.entries.map((e) => [keyText(e.key), plain(e.value)]));
    default:
      return v.value;
  }
}

export function yamlToPlain(text: string, env: Record<string, string> = {}): unknown {
  const { value, errors } = composeYaml(interpolate(text, env).text);
  if (errors.length > 0) throw new Error(errors[0]?.message);
  // Convox writes each entry of the named sections back to YAML before decoding it, which turns
  // a quoted "<<" into a merge; elsewhere the document is read as is.
  const top = genericView(value);
  if (top.kind !== 'map') return plain(top);
  const sections = new Set(['services', 'resources', 'timers', 'balancers']);
  return Object.fromEntries(
    top.entries.map((e) => {
      const key = keyText(e.key);
      if (!sections.has(key) || e.value.kind !== 'map') return [key, plain(e.value)];
      return [key, Object.fromEntries(e.value.entries.map((x) => [keyText(x.key), plain(genericView(remarshal(x.value)))]))];
    }),
  );
}
