/**
 * A service's own objects: its ServiceAccount, its workload (a Deployment, or a DaemonSet for an
 * `agent`), and the ClusterIP Service other services reach it by when it has a port.
 */
import type { Service } from '../../manifest';
import type { KubernetesObject } from '../objects';
import type { AppContext } from './common';
import { selectorLabels, slipwayLabels, sortedRecord } from './common';
import { hasHorizontalAutoscaler } from './autoscale';
import { podSpec } from './pod';

export function annotationsOf(service: Pick<Service, 'annotations'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of service.annotations ?? []) out[a.key] = a.value;
  return sortedRecord(out);
}

function withAnnotations(annotations: Record<string, string>): { annotations?: Record<string, string> } {
  return Object.keys(annotations).length > 0 ? { annotations } : {};
}

/** The service's `annotations` go on its account too, where IRSA's role-arn annotation belongs. */
export function serviceAccount(ctx: AppContext, service: Service, release: string): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: service.name, namespace: ctx.namespace, labels: slipwayLabels({ app: ctx.app, service: service.name, release }), ...withAnnotations(annotationsOf(service)) },
  };
}

/**
 * Rolling update bounds from `deployment`: minimum 50 / maximum 200 allow 50% of the processes
 * down and 100% more up during a rollout. Kubernetes refuses 0 for both; a service that allows
 * neither (minimum 100, maximum 100) may lose one process at a time instead.
 */
function rollingUpdate(service: Service): Record<string, unknown> {
  const maxSurge = Math.max(0, service.deployment.maximum - 100);
  const maxUnavailable = Math.max(0, 100 - service.deployment.minimum);
  return { maxSurge: `${maxSurge}%`, maxUnavailable: maxSurge === 0 && maxUnavailable === 0 ? 1 : `${maxUnavailable}%` };
}

export interface WorkloadOptions {
  readonly image: string;
  readonly release: string;
  /** Container env entries that reference values kept elsewhere. */
  readonly env: readonly Record<string, unknown>[];
}

export function workload(ctx: AppContext, service: Service, options: WorkloadOptions): KubernetesObject {
  const scope = { app: ctx.app, service: service.name, type: 'service' as const };
  // The release label changes the pod template on every release, so each release rolls the pods.
  const template = {
    metadata: { labels: slipwayLabels({ ...scope, release: options.release }, service.labels ?? {}), ...withAnnotations(annotationsOf(service)) },
    spec: podSpec({ service, image: options.image, env: options.env, role: 'service', command: service.command }),
  };
  const metadata = { name: service.name, namespace: ctx.namespace, labels: slipwayLabels({ ...scope, release: options.release }, service.labels ?? {}) };
  const selector = { matchLabels: selectorLabels(scope) };
  if (service.agent.enabled) {
    return { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata, spec: { selector, minReadySeconds: 1, revisionHistoryLimit: 1, template } };
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      // When an HPA governs the count, replicas is left out: the applier keeps the live count on a
      // redeploy instead of resetting what the autoscaler (or `slipway scale`) chose.
      ...(hasHorizontalAutoscaler(service) ? {} : { replicas: service.scale.count.min }),
      selector,
      strategy: { type: 'RollingUpdate', rollingUpdate: rollingUpdate(service) },
      minReadySeconds: 1,
      revisionHistoryLimit: 1,
      template,
    },
  };
}

/** The ClusterIP Service of a service with a port: `main` for `port`, `port-<N>` for each of `ports`. */
export function clusterService(ctx: AppContext, service: Service, release: string): KubernetesObject | undefined {
  if (!service.port && service.ports.length === 0) return undefined;
  const ports: Record<string, unknown>[] = [];
  if (service.port) ports.push({ name: 'main', port: service.port.port, protocol: 'TCP', targetPort: 'main' });
  for (const p of service.ports) ports.push({ name: `port-${p.port}`, port: p.port, protocol: (p.protocol || 'tcp').toUpperCase(), targetPort: p.port });
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: service.name, namespace: ctx.namespace, labels: slipwayLabels({ app: ctx.app, service: service.name, release }) },
    spec: { type: 'ClusterIP', selector: selectorLabels({ app: ctx.app, service: service.name, type: 'service' }), ports },
  };
}
