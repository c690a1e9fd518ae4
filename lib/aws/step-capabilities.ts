/**
 * What each step may touch, by port: every step Lambda gets a role of its own with the grants of
 * exactly these capabilities, and only steps with `cluster` get an EKS access entry. A test runs
 * the machines with each step's other ports made to throw, so a step that needs more than this
 * table gives it fails there, not in an account with AccessDenied.
 */
import type { DeployContext } from '../pipeline/steps/deploy';

export const CAPABILITIES = {
  /** The rack's table: apps, builds, releases, locks (`store`). */
  records: 'read and write the rack\u2019s table',
  /** App environments: read the table and decrypt with the rack's key (`env`). */
  env: 'read and decrypt app environments',
  /** PutEvents on the rack's bus (`events`). */
  events: 'put events on the rack\u2019s bus',
  /** Read bundle versions under apps/ (`bundles`). */
  bundles: 'read bundles',
  /** Delete old bundle versions (cleanup, `bundles`). */
  pruneBundles: 'delete old bundle versions',
  /** Start and follow CodeBuild builds, create app repositories (`builder.start`, `builder.status`). */
  builds: 'start and follow builds',
  /** Delete images from app repositories (cleanup, `builder.deleteImages`). */
  images: 'delete app images',
  /** Create, update, delete the app's timer schedules (`scheduler.reconcile`). */
  schedules: 'manage timer schedules',
  /** Read CloudWatch alarm states (`alarms`). */
  alarms: 'read alarm states',
  /** The EKS cluster's API, within the rack's namespaces (`runtime`, `provisioner`). */
  cluster: 'manage the rack\u2019s namespaces in the cluster',
  /** The apps' managed resource stacks through CloudFormation's service role, and their connection secrets (`provisioner`). */
  resources: 'create and update the apps\u2019 resource stacks',
} as const;

export type Capability = keyof typeof CAPABILITIES;

export const STEP_CAPABILITIES = {
  admit: ['records', 'env', 'events', 'bundles'],
  acquireLock: ['records', 'env', 'events'],
  prepareBuild: ['records', 'env', 'events', 'bundles'],
  startBuild: ['builds', 'events'],
  buildStatus: ['builds', 'env', 'events'],
  createRelease: ['records', 'env', 'events'],
  // A build-only upload's end: frees the app's lock and queue entry, nothing else.
  finishBuild: ['records'],
  provision: ['records', 'env', 'events', 'cluster', 'resources'],
  apply: ['records', 'env', 'events', 'cluster'],
  rolloutStatus: ['records', 'env', 'events', 'cluster'],
  healthGate: ['records', 'env', 'events', 'cluster', 'alarms'],
  promote: ['records', 'env', 'events', 'schedules'],
  // Puts back the previous release's timers: promote may have scheduled the failed release's before its commit failed.
  rollBack: ['records', 'env', 'events', 'cluster', 'schedules'],
  deployFailed: ['records', 'env', 'events'],
  acquireRollbackLock: ['records', 'env', 'events'],
  prepareRollback: ['records', 'env', 'events'],
  finishRollback: ['records', 'env', 'events', 'schedules'],
  rollbackFailed: ['records', 'env', 'events', 'cluster'],
  startTimerRun: ['records', 'env', 'events', 'cluster'],
  timerRunStatus: ['records', 'env', 'events', 'cluster'],
  listApps: ['records'],
  cleanupApp: ['records', 'env', 'events', 'bundles', 'pruneBundles', 'images', 'cluster'],
  // `slipway apps delete` on AWS: the app's processes (cluster), schedules, images, env versions and records.
  removeApp: ['records', 'env', 'events', 'cluster', 'images', 'schedules'],
  // `slipway ps` on AWS: read-only, the app record and its pods.
  queryProcesses: ['records', 'cluster'],
} as const satisfies Record<string, readonly Capability[]>;

export type StepName = keyof typeof STEP_CAPABILITIES;
export const STEP_NAMES = Object.keys(STEP_CAPABILITIES) as StepName[];

/** The capability each port of the context needs (per method where one port spans two). */
export const PORT_CAPABILITIES: { readonly [K in keyof DeployContext]?: Capability | Readonly<Record<string, Capability | null>> } = {
  store: 'records',
  env: 'env',
  events: 'events',
  bundles: { open: 'bundles', head: 'bundles', list: 'bundles', delete: 'pruneBundles' },
  builder: { start: 'builds', status: 'builds', deleteImages: 'images' },
  // `problems` checks expressions on the spot; no call leaves the function.
  scheduler: { reconcile: 'schedules', problems: null },
  alarms: 'alarms',
  runtime: 'cluster',
  // Containerised resources go to the cluster, managed ones through CloudFormation: the one step that provisions has both.
  provisioner: 'resources',
};

export class CapabilityError extends Error {
  constructor(step: string, port: string, method: string, capability: Capability | undefined) {
    super(
      capability
        ? `step ${step} called ${port}.${method}, which needs the ${capability} capability: add it to STEP_CAPABILITIES.${step} (its Lambda role would refuse the call)`
        : `step ${step} called ${port}.${method}, which no capability covers: add it to PORT_CAPABILITIES`,
    );
    this.name = 'CapabilityError';
  }
}

/**
 * The context a step would have on AWS: every port its capabilities do not cover throws at the
 * first call. The local machine tests run each step through this, so the table above is checked
 * by every path they take.
 */
export function guardContext(step: string, ctx: DeployContext): DeployContext {
  const granted = new Set<Capability>((STEP_CAPABILITIES as Record<string, readonly Capability[] | undefined>)[step] ?? []);
  const guarded: Record<string, unknown> = { ...ctx };
  for (const [port, rule] of Object.entries(PORT_CAPABILITIES) as [keyof DeployContext, Capability | Readonly<Record<string, Capability | null>>][]) {
    const target = ctx[port];
    if (target === undefined || target === null || typeof target !== 'object') continue;
    guarded[port] = new Proxy(target, {
      get(obj, method, receiver) {
        const value: unknown = Reflect.get(obj, method, receiver);
        if (typeof value !== 'function' || typeof method !== 'string') return value;
        const needed = typeof rule === 'string' ? rule : rule[method];
        if (needed === undefined || (needed !== null && !granted.has(needed))) {
          return () => {
            throw new CapabilityError(step, port, method, needed);
          };
        }
        // Bound to the port itself: its own helpers are not the step's calls.
        return (value as (...args: unknown[]) => unknown).bind(obj);
      },
    });
  }
  return guarded as unknown as DeployContext;
}
