/**
 * The normalised manifest as JSON, in the shape `slipway manifest show --json` prints: the shape
 * of Convox's own conformance results (camelCase keys, named sections as ordered lists).
 * Service core fields are always present; other fields appear when set.
 */
import type { Manifest } from './types';

const SERVICE_CORE = new Set([
  'name',
  'agent',
  'build',
  'command',
  'deployment',
  'domain',
  'drain',
  'environment',
  'health',
  'image',
  'init',
  'internal',
  'internalRouter',
  'port',
  'ports',
  'resources',
  'scale',
  'singleton',
  'sticky',
  'termination',
  'timeout',
  'tls',
]);

function isEmpty(v: unknown): boolean {
  if (v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (v !== null && typeof v === 'object') return Object.values(v).every(isEmpty);
  return false;
}

/** Drop absent and empty optional values, keep everything Convox always prints. */
function prune(value: Record<string, unknown>, keep: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (!keep.has(k) && isEmpty(v) && !(k === 'autoscale' || k === 'min' || k === 'max')) continue;
    out[k] = v;
  }
  return out;
}

export function manifestToJson(manifest: Manifest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const top = prune({ ...manifest }, new Set());
  for (const [k, v] of Object.entries(top)) {
    if (k === 'services') out.services = manifest.services.map((s) => prune({ ...s, scale: prune({ ...s.scale }, new Set(['count', 'cpu', 'memory'])) }, SERVICE_CORE));
    else if (k === 'resources' || k === 'timers' || k === 'balancers') out[k] = (v as Record<string, unknown>[]).map((x) => prune(x, new Set(['name'])));
    else out[k] = v;
  }
  return out;
}
