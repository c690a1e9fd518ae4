/**
 * Facts derived from a loaded manifest that the rest of the pipeline uses: which environment
 * variables carry each linked resource, which services are agents, and the build hash that
 * decides when services can share one image build.
 */
import { createHash } from 'node:crypto';
import type { Manifest, Service } from './types';

/** The parts of a resource's connection that are exposed, in Convox's order. */
export const RESOURCE_ENV_SUFFIXES = ['URL', 'USER', 'PASS', 'HOST', 'PORT', 'NAME'] as const;
export type ResourceEnvKey = (typeof RESOURCE_ENV_SUFFIXES)[number];

export interface ResourceEnvLink {
  readonly resource: string;
  /** Variable set in the service. */
  readonly env: string;
  /** Which part of the resource's connection it carries. */
  readonly configMapKey: ResourceEnvKey;
}

/** The variable prefix of a resource: `main-db` → `MAIN_DB`. */
export function resourceEnvPrefix(resource: string): string {
  return resource.toUpperCase().replaceAll('-', '_');
}

/**
 * `resources: [db]` links DB_URL, DB_USER, DB_PASS, DB_HOST, DB_PORT and DB_NAME;
 * `resources: ["db:DATABASE_URL"]` links one variable, carrying the part its suffix names (URL otherwise).
 */
export function resourceLinks(service: Pick<Service, 'resources'>): ResourceEnvLink[] {
  const out: ResourceEnvLink[] = [];
  for (const entry of service.resources) {
    const colon = entry.indexOf(':');
    if (colon < 0) {
      const prefix = resourceEnvPrefix(entry);
      for (const suffix of RESOURCE_ENV_SUFFIXES) out.push({ resource: entry, env: `${prefix}_${suffix}`, configMapKey: suffix });
      continue;
    }
    const resource = entry.slice(0, colon);
    const env = entry.slice(colon + 1).trim();
    const last = env.split('_').pop() ?? '';
    const key = (RESOURCE_ENV_SUFFIXES as readonly string[]).includes(last) ? (last as ResourceEnvKey) : 'URL';
    out.push({ resource, env, configMapKey: key });
  }
  return out;
}

export function agents(manifest: Manifest): string[] {
  return manifest.services.filter((s) => s.agent.enabled).map((s) => s.name);
}

/** Go's `%q` for the strings we hash (ASCII escapes as Go writes them). */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => (c.charCodeAt(0) < 0xa0 ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c));
}

/**
 * Convox's BuildHash: services whose build path, Dockerfile, build args and image are the same
 * produce the same image, so one build serves them all.
 */
export function buildHash(service: Pick<Service, 'build' | 'image'>, key: string): string {
  const args = `[${(service.build.args ?? []).join(' ')}]`;
  const text = `key=${goQuote(key)} build[path=${goQuote(service.build.path)}, manifest=${goQuote(service.build.manifest)}, args=${args}] image=${goQuote(service.image)}`;
  return createHash('sha224').update(text).digest('hex');
}
