/**
 * The rack's ports for this function instance: built on the first invocation from the
 * environment the stack set, then kept (clients, the cluster endpoint and its token are reused).
 * A failure to build them is not kept: the next invocation tries again.
 *
 * Contexts are kept per cluster option. On AWS a function instance runs one step, so it only ever
 * holds one; a test that calls every step's handler in one process then gets the split AWS has:
 * the steps with the `cluster` capability share a context with the cluster, the others one
 * without, so a step that reaches for a cluster it has no access to fails there as it would on AWS.
 */
import { awsRackContext, rackSettingsFromEnv } from '../../lib/aws/rack-context';
import type { RackContextOptions } from '../../lib/aws/rack-context';
import type { DeployContext } from '../../lib/pipeline/steps/deploy';

const contexts = new Map<RackContextOptions['cluster'], Promise<DeployContext>>();
let overrides: RackContextOptions = {};

/**
 * Replace parts of how the context is built (tests give a cluster double instead of EKS). The
 * cluster given replaces only the cluster of the steps that have one. Drops the contexts already built.
 */
export function overrideRackContext(next: RackContextOptions): void {
  overrides = next;
  contexts.clear();
}

export function rackContext(options: RackContextOptions): Promise<DeployContext> {
  const key = options.cluster;
  const kept = contexts.get(key);
  if (kept) return kept;
  const { cluster: clusterOverride, ...rest } = overrides;
  const cluster = options.cluster ? (clusterOverride ?? options.cluster) : undefined;
  const building = Promise.resolve().then(() => awsRackContext(rackSettingsFromEnv(process.env), { ...options, ...rest, ...(cluster ? { cluster } : {}) }));
  building.catch(() => {
    if (contexts.get(key) === building) contexts.delete(key);
  });
  contexts.set(key, building);
  return building;
}
