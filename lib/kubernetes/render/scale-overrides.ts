/**
 * `slipway scale` sizes over convox.yml's `scale`, as a Convox rack applies them: the rendered
 * objects come from the service with the override in place of the manifest's values.
 *
 * - count: the Deployment's replicas. On a service with a count range (an HPA), an override
 *   count fixes it: min = max = count, so no HPA is rendered (the applier prunes the old one) and
 *   the Deployment gets `replicas: count`, as `convox scale --count` does. Scaling again with a
 *   count is the way to change it; the range comes back only when the override is removed.
 *   Agents (DaemonSets) run one process per node whatever the count.
 * - cpu / memory: the container's requests. A limit the manifest sets below the new request is
 *   raised to it, since Kubernetes refuses a limit under its request; memory's default limit is
 *   its request, as for the manifest's own value.
 */
import type { Manifest, Service } from '../../manifest';
import type { ScaleOverride } from '../../pipeline/domain/model';

export type ScaleOverrides = Readonly<Record<string, ScaleOverride>>;

export function withScaleOverride(service: Service, override: ScaleOverride | undefined): Service {
  if (!override) return service;
  const scale = { ...service.scale };
  if (override.count !== undefined && !service.agent.enabled) scale.count = { min: override.count, max: override.count };
  if (override.cpu !== undefined) scale.cpu = override.cpu;
  if (override.memory !== undefined) scale.memory = override.memory;
  if (scale.limit) {
    const limit = { ...scale.limit };
    if (override.cpu !== undefined && (limit.cpu ?? 0) > 0 && (limit.cpu ?? 0) < override.cpu) limit.cpu = override.cpu;
    if (override.memory !== undefined && (limit.memory ?? 0) > 0 && (limit.memory ?? 0) < override.memory) limit.memory = override.memory;
    scale.limit = limit;
  }
  return { ...service, scale };
}

/** The manifest with each service's override applied (services without one unchanged). */
export function withScaleOverrides(manifest: Manifest, overrides: ScaleOverrides | undefined): Manifest {
  if (!overrides || Object.keys(overrides).length === 0) return manifest;
  return { ...manifest, services: manifest.services.map((s) => withScaleOverride(s, overrides[s.name])) };
}
