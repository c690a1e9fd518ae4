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

/** Go's zero values, which Convox leaves out of its output. */
function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v).every(isZero);
  return false;
}

/**
 * Fields Convox holds as pointers: set means shown, even when the value is zero
 * (`runAsNonRoot: false`, `scale.min: 0`, an empty `autoscale: {}`).
 */
const POINTERS = new Set(['securityContext', 'min', 'max', 'autoscale', 'keda', 'vpa', 'initContainer', 'awsLogs']);

/** Drop zero values below a field, except inside pointer fields. */
function pruneDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneDeep);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    if (POINTERS.has(k)) out[k] = x;
    else if (!isZero(x)) out[k] = pruneDeep(x);
  }
  return out;
}

/** Keep the fields Convox always prints as they are; prune the others. */
function prune(value: object, keep: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (keep.has(k) || POINTERS.has(k)) out[k] = v;
    else if (!isZero(v)) out[k] = pruneDeep(v);
  }
  return out;
}

/** In `scale`, count, cpu and memory are always printed; min, max and autoscale whenever they were written. */
const SCALE_KEEP = new Set(['count', 'cpu', 'memory', 'min', 'max', 'autoscale']);
const TOP_KEEP = new Set(['services']);
const NAMED_KEEP = new Set(['name']);

export function manifestToJson(manifest: Manifest): Record<string, unknown> {
  const out = prune(manifest, TOP_KEEP);
  out.services = manifest.services.map((s) => prune({ ...s, scale: prune(s.scale, SCALE_KEEP) }, SERVICE_CORE));
  for (const section of ['resources', 'timers', 'balancers'] as const) {
    if (section in out) out[section] = manifest[section].map((x) => prune(x, NAMED_KEEP));
  }
  return out;
}
