/**
 * Environment semantics of convox.yml. Each service declares what it needs: `KEY` (required),
 * `KEY=default`, or `*` (everything in the app environment). The top-level `environment` is
 * prepended to every service's list, and later entries win.
 */
import type { Service } from './types';

export type Env = Readonly<Record<string, string>>;

export interface ResolvedEnvironment {
  readonly values: Record<string, string>;
  /** Required keys the app environment lacks, sorted (a key can appear twice, as in Convox). */
  readonly missing: string[];
}

function has(env: Env, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(env, key);
}

/** Split an entry at its first `=`: `A=a=b` is key A with default `a=b`. */
export function parseEntry(entry: string): { key: string; defaultValue?: string } {
  const at = entry.indexOf('=');
  return at < 0 ? { key: entry } : { key: entry.slice(0, at), defaultValue: entry.slice(at + 1) };
}

/** The values one service gets from the app environment `env` (Convox's ServiceEnvironment). */
export function resolveServiceEnvironment(entries: readonly string[], env: Env): ResolvedEnvironment {
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const entry of entries) {
    if (entry === '*') {
      Object.assign(values, env);
      continue;
    }
    const { key, defaultValue } = parseEntry(entry);
    if (defaultValue !== undefined) values[key] = has(env, key) ? (env[key] ?? '') : defaultValue;
    else if (has(env, key)) values[key] = env[key] ?? '';
    else missing.push(key);
  }
  missing.sort();
  return { values, missing };
}

/** Defaults declared by `KEY=value` entries (the last one wins). */
export function environmentDefaults(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const { key, defaultValue } = parseEntry(entry);
    if (defaultValue !== undefined) out[key] = defaultValue;
  }
  return out;
}

/** Every key a service declares (required, defaulted or `*`), sorted and joined with commas. */
export function environmentKeys(entries: readonly string[]): string {
  const keys = new Set(entries.map((e) => parseEntry(e).key));
  return [...keys].sort().join(',');
}

export interface CombinedEnvironment {
  /** The app environment filtered to the keys some service uses. */
  readonly env: Record<string, string>;
  /** The first service missing required keys, with them. */
  readonly missing?: { readonly service: string; readonly keys: string[] };
}

/**
 * Prepend the global environment to each service, then check every service's required keys
 * against `env`. Keys no service uses are dropped from the returned env.
 */
export function combineEnvironment(services: Service[], global: readonly string[], env: Env): CombinedEnvironment {
  for (const s of services) s.environment = [...global, ...s.environment];
  const used = new Set<string>();
  let missing: CombinedEnvironment['missing'];
  for (const s of services) {
    const resolved = resolveServiceEnvironment(s.environment, env);
    if (resolved.missing.length > 0 && !missing) missing = { service: s.name, keys: resolved.missing };
    for (const k of Object.keys(resolved.values)) used.add(k);
  }
  const filtered: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (used.has(k)) filtered[k] = v;
  return { env: filtered, ...(missing ? { missing } : {}) };
}
