/**
 * What a service's processes find in their environment, and where each value is kept: values go
 * into the service's Secret (`env-<service>`, read with envFrom); the values of resources AWS
 * provisions are referenced from the provisioner's Secret, never copied.
 */
import type { Manifest, Service } from '../../manifest';
import { environmentDefaults, resourceLinks } from '../../manifest';
import type { Release } from '../../pipeline/domain/model';
import type { KubernetesObject, ResourceCredentials } from '../objects';
import type { AppContext } from './common';
import { envSecretName, slipwayLabels, sortedRecord } from './common';
import { isExternal, isProvisionedOnAws, provisionedResourceSecretName, resourceConnection } from './resources';

export interface ServiceEnvironment {
  /** Values for the service's Secret. */
  readonly values: Record<string, string>;
  /** Container `env` entries that reference values kept elsewhere. */
  readonly references: Record<string, unknown>[];
}

/**
 * Convox's order, later wins: rack variables, the manifest's `KEY=default`s, the whole release
 * environment (Convox gives every service all of it, not only what it declares, and so does the
 * local rack), then the linked resources' variables.
 */
export function serviceEnvironment(
  ctx: AppContext,
  manifest: Manifest,
  service: Service,
  release: Pick<Release, 'id' | 'build'>,
  env: Readonly<Record<string, string>>,
  credentials: Readonly<Record<string, ResourceCredentials>>,
): ServiceEnvironment {
  const values: Record<string, string> = {
    RACK: ctx.rack.name,
    APP: ctx.app,
    RELEASE: release.id,
    BUILD: release.build,
    SERVICE: service.name,
    ...(service.port ? { PORT: String(service.port.port) } : {}),
    ...environmentDefaults(service.environment),
    ...env,
  };
  for (const link of resourceLinks(service)) {
    const resource = manifest.resources.find((r) => r.name === link.resource);
    // Validate rejects links to resources that do not exist; a manifest that skipped it links nothing.
    if (!resource) continue;
    const connection = resourceConnection(ctx, resource, env, credentials[resource.name]);
    if (connection) values[link.env] = connection[link.configMapKey];
    else delete values[link.env];
  }
  rewriteServiceNames(ctx, manifest, values);
  const references = resourceReferences(manifest, service, env);
  return { values: sortedRecord(values), references };
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Convox's names of an app's services, `<service>.<app>.<rack>.local` (and `.convox.local`, the
 * local rack's), resolve through Convox's rack resolver, which this rack does not have: in values
 * they become the service's cluster name, `<service>.<namespace>.svc.cluster.local`. The local
 * rack rewrites them the same way, to its loopback proxies.
 */
function rewriteServiceNames(ctx: AppContext, manifest: Manifest, values: Record<string, string>): void {
  for (const other of manifest.services) {
    if (!other.port && other.ports.length === 0) continue;
    const name = new RegExp(`\\b${escapeRegExp(other.name)}\\.${escapeRegExp(ctx.app)}\\.(?:convox|${escapeRegExp(ctx.rack.name)})\\.local\\b`, 'g');
    const cluster = `${other.name}.${ctx.namespace}.svc.cluster.local`;
    for (const [k, v] of Object.entries(values)) values[k] = v.replace(name, cluster);
  }
}

export function envSecret(ctx: AppContext, service: Service, release: string, values: Readonly<Record<string, string>>): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: envSecretName(service.name), namespace: ctx.namespace, labels: slipwayLabels({ app: ctx.app, service: service.name, release }) },
    type: 'Opaque',
    stringData: sortedRecord(values),
  };
}

/** Container `env` entries for the linked resources AWS provisions: references to the provisioner's Secret. */
export function resourceReferences(manifest: Manifest, service: Service, env: Readonly<Record<string, string>>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const link of resourceLinks(service)) {
    const resource = manifest.resources.find((r) => r.name === link.resource);
    if (!resource || !isProvisionedOnAws(resource.type) || isExternal(resource.name, env)) continue;
    out.push({ name: link.env, valueFrom: { secretKeyRef: { name: provisionedResourceSecretName(resource.name), key: link.configMapKey } } });
  }
  return out;
}
