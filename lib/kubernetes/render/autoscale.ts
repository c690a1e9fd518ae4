/**
 * Autoscaling, Convox's way on Kubernetes: a HorizontalPodAutoscaler (autoscaling/v2) when the
 * count is a range (`scale: 1-5`, even without targets: Kubernetes then scales on 80% CPU), the
 * service is not an agent, and no KEDA autoscaling is configured.
 *
 * `scale.autoscale` and `scale.keda` ask for KEDA ScaledObjects, which this rack does not run:
 * such a service gets neither an HPA nor a ScaledObject, and runs `count.min` processes, as a
 * Convox rack without KEDA does. `scale.vpa` (VerticalPodAutoscaler) is not rendered either, and
 * `targets.requests` and `targets.custom` are ignored, as on Convox's Kubernetes racks.
 */
import type { Service } from '../../manifest';
import { autoscaleEnabled } from '../../manifest';
import type { KubernetesObject } from '../objects';
import type { AppContext } from './common';
import { slipwayLabels } from './common';

export function hasHorizontalAutoscaler(service: Service): boolean {
  const { count, keda, autoscale } = service.scale;
  return count.min !== count.max && (keda?.triggers?.length ?? 0) === 0 && !autoscaleEnabled(autoscale) && !service.agent.enabled;
}

function metrics(service: Service): Record<string, unknown>[] {
  const targets = service.scale.targets;
  const out: Record<string, unknown>[] = [];
  for (const name of ['cpu', 'memory'] as const) {
    const utilization = targets?.[name] ?? 0;
    if (utilization > 0) out.push({ type: 'Resource', resource: { name, target: { type: 'Utilization', averageUtilization: utilization } } });
  }
  for (const external of targets?.external ?? []) {
    if (!external.name) continue;
    const target = external.averageValue !== undefined ? { type: 'AverageValue', averageValue: String(external.averageValue) } : { type: 'Value', value: String(external.value ?? 0) };
    out.push({
      type: 'External',
      external: { metric: { name: external.name, ...(external.matchLabels ? { selector: { matchLabels: external.matchLabels } } : {}) }, target },
    });
  }
  return out;
}

export function renderHorizontalAutoscaler(ctx: AppContext, service: Service, release: string): KubernetesObject {
  const { min, max } = service.scale.count;
  const m = metrics(service);
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: service.name, namespace: ctx.namespace, labels: slipwayLabels({ app: ctx.app, service: service.name, release }) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: service.name },
      // Kubernetes needs at least one replica here (scale to zero is an alpha gate); a 0-N range starts at 1.
      minReplicas: Math.max(1, min),
      maxReplicas: Math.max(1, max),
      ...(m.length > 0 ? { metrics: m } : {}),
    },
  };
}
