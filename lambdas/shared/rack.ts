/**
 * The rack's ports for this function instance: built on the first invocation from the
 * environment the stack set, then kept (clients, the cluster endpoint and its token are reused).
 * A failure to build them is not kept: the next invocation tries again.
 */
import { awsRackContext, rackSettingsFromEnv } from '../../lib/aws/rack-context';
import type { RackContextOptions } from '../../lib/aws/rack-context';
import type { DeployContext } from '../../lib/pipeline/steps/deploy';

let context: Promise<DeployContext> | undefined;
let overrides: RackContextOptions = {};

/**
 * Replace parts of how the context is built (tests give a cluster double instead of EKS).
 * Drops a context already built.
 */
export function overrideRackContext(next: RackContextOptions): void {
  overrides = next;
  context = undefined;
}

export function rackContext(options: RackContextOptions): Promise<DeployContext> {
  if (!context) {
    const building = Promise.resolve().then(() => awsRackContext(rackSettingsFromEnv(process.env), { ...options, ...overrides }));
    building.catch(() => {
      if (context === building) context = undefined;
    });
    context = building;
  }
  return context;
}
