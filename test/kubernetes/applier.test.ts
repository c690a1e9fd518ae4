/**
 * The applier, through each adapter of the Kubernetes API port against the Kubernetes API test
 * double: dependency order, prune, replica counts that outlive a redeploy, conflicts.
 */
import { KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApplyConflictError, KubernetesNotFoundError } from '../../lib/kubernetes/api/kubernetes-api';
import { KubernetesApplier, REPLICAS_HANDOVER_MANAGER } from '../../lib/kubernetes/apply';
import type { KubernetesObject } from '../../lib/kubernetes/objects';
import { SLIPWAY_LABELS } from '../../lib/kubernetes/objects';
import { KubeApiTestDouble } from '../support/kube-api-double';
import { KUBERNETES_API_ADAPTERS } from './kubernetes-api.contract';

const NS = 'rack-shop';
const scope = { app: 'shop', namespace: NS };

function labels(extra: Record<string, string> = {}, app = 'shop'): Record<string, string> {
  return { [SLIPWAY_LABELS.managedBy]: 'slipway', [SLIPWAY_LABELS.app]: app, ...extra };
}

const namespace: KubernetesObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: labels() } };

function deployment(name: string, options: { image?: string; replicas?: number; release?: string } = {}): KubernetesObject {
  const podLabels = labels({ [SLIPWAY_LABELS.service]: name, [SLIPWAY_LABELS.release]: options.release ?? 'RAAAAAAAAAA' });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, labels: labels({ [SLIPWAY_LABELS.service]: name }) },
    spec: {
      ...(options.replicas !== undefined ? { replicas: options.replicas } : {}),
      selector: { matchLabels: { [SLIPWAY_LABELS.app]: 'shop', [SLIPWAY_LABELS.service]: name } },
      template: { metadata: { labels: podLabels }, spec: { containers: [{ name: 'shop', image: options.image ?? `registry/shop:${name}.B1` }] } },
    },
  };
}

function service(name: string): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS, labels: labels({ [SLIPWAY_LABELS.service]: name }) }, spec: { ports: [{ name: 'main', port: 3000, targetPort: 'main' }] } };
}

function envSecret(name: string): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: `env-${name}`, namespace: NS, labels: labels({ [SLIPWAY_LABELS.service]: name }) }, stringData: { PORT: '3000' } };
}

function autoscaler(name: string): KubernetesObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace: NS, labels: labels({ [SLIPWAY_LABELS.service]: name }) },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, minReplicas: 2, maxReplicas: 6 },
  };
}

describe.each(KUBERNETES_API_ADAPTERS)('KubernetesApplier through $adapter against the Kubernetes API test double', ({ connect }) => {
  let double: KubeApiTestDouble;
  let applier: KubernetesApplier;

  beforeEach(async () => {
    double = await KubeApiTestDouble.start();
    applier = new KubernetesApplier(connect(double));
  });
  afterEach(() => double.close());

  const replicasOf = (name: string): unknown => (double.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name })?.spec as { replicas?: number }).replicas;
  const imageOf = (name: string): unknown => (double.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name }) as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]?.image;

  it('applies in dependency order with server-side apply as field manager slipway, without force', async () => {
    const objects: KubernetesObject[] = [
      autoscaler('web'),
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: NS, labels: labels() }, spec: { rules: [{ host: 'web.shop.example.org' }] } },
      service('web'),
      deployment('web', { replicas: 2 }),
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'resource-db', namespace: NS, labels: labels({ [SLIPWAY_LABELS.resource]: 'db' }) }, spec: { serviceName: 'resource-db', replicas: 1 } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace: NS, labels: labels() } },
      envSecret('web'),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: NS, labels: labels() }, data: { a: 'b' } },
      namespace,
    ];
    const result = await applier.apply(objects, scope);
    expect(result.applied.map((r) => `${r.kind}/${r.name}`)).toEqual([
      `Namespace/${NS}`,
      'Secret/env-web',
      'ConfigMap/settings',
      'ServiceAccount/web',
      'StatefulSet/resource-db',
      'Deployment/web',
      'Service/web',
      'Ingress/web',
      'HorizontalPodAutoscaler/web',
    ]);
    const applies = double.requests.filter((r) => r.method === 'PATCH');
    expect(applies.map((r) => r.path)).toEqual([
      `/api/v1/namespaces/${NS}`,
      `/api/v1/namespaces/${NS}/secrets/env-web`,
      `/api/v1/namespaces/${NS}/configmaps/settings`,
      `/api/v1/namespaces/${NS}/serviceaccounts/web`,
      `/apis/apps/v1/namespaces/${NS}/statefulsets/resource-db`,
      `/apis/apps/v1/namespaces/${NS}/deployments/web`,
      `/api/v1/namespaces/${NS}/services/web`,
      `/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses/web`,
      `/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers/web`,
    ]);
    for (const r of applies) expect(r).toMatchObject({ contentType: 'application/apply-patch+yaml', query: { fieldManager: 'slipway', force: 'false' } });
    expect(result.pruned).toEqual([]);
    // The Secret's stringData became data, as a real API server stores it.
    expect(double.find({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'env-web' })?.data).toEqual({ PORT: Buffer.from('3000').toString('base64') });
  });

  it('prunes what the release dropped, dependants first, and never the namespace, volume claims or credentials', async () => {
    const credentials: KubernetesObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'resource-db-credentials', namespace: NS, labels: labels({ [SLIPWAY_LABELS.resource]: 'db' }) }, stringData: { password: 'p' } };
    await applier.apply([namespace, envSecret('web'), envSecret('worker'), credentials, deployment('web'), deployment('worker'), service('web'), service('worker')], scope);
    double.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data-resource-db-0', namespace: NS, labels: labels({ [SLIPWAY_LABELS.resource]: 'db' }) }, spec: { accessModes: ['ReadWriteOnce'] } });
    double.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'other-app', namespace: NS, labels: labels({}, 'blog') }, spec: {} });
    double.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: NS }, data: {} });

    const result = await applier.apply([namespace, envSecret('web'), deployment('web'), service('web')], scope);

    expect(result.pruned.map((r) => `${r.kind}/${r.name}`)).toEqual(['Service/worker', 'Deployment/worker', 'Secret/env-worker']);
    expect(double.deletions.map((d) => `${d.kind}/${d.name} ${d.propagationPolicy}`)).toEqual(['Service/worker Background', 'Deployment/worker Background', 'Secret/env-worker Background']);
    expect(double.all('Deployment').map((d) => (d.metadata as { name: string }).name)).toEqual(['other-app', 'web']);
    expect(double.all('Secret').map((d) => (d.metadata as { name: string }).name)).toEqual(['env-web', 'resource-db-credentials']);
    expect(double.all('PersistentVolumeClaim')).toHaveLength(1);
    expect(double.all('Namespace')).toHaveLength(1);
    expect(double.all('ConfigMap')).toHaveLength(1);
  });

  it('keeps a replica count set by scale across a redeploy; without one, the manifest count applies', async () => {
    await applier.apply([namespace, deployment('web', { replicas: 2 }), deployment('worker', { replicas: 1 })], scope);
    // `scale`, as kubectl does it through client-node: a merge patch by another field manager, which takes spec.replicas.
    const objects = KubernetesObjectApi.makeApiClient(double.kubeConfig());
    await objects.patch({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: NS }, spec: { replicas: 5 } }, undefined, undefined, 'slipway-scale', undefined, PatchStrategy.MergePatch);

    await applier.apply([namespace, deployment('web', { replicas: 2, image: 'registry/shop:web.B2' }), deployment('worker', { replicas: 3, image: 'registry/shop:worker.B2' })], scope);

    expect(replicasOf('web')).toBe(5);
    expect(imageOf('web')).toBe('registry/shop:web.B2');
    expect(replicasOf('worker')).toBe(3);
  });

  it('keeps an autoscaled count across redeploys, before and after the autoscaler first writes it', async () => {
    await applier.apply([namespace, deployment('web', { replicas: 2 }), autoscaler('web')], scope);
    expect(replicasOf('web')).toBe(2);

    // The autoscaler has not written the count yet: Slipway hands the field over before dropping it.
    await applier.apply([namespace, deployment('web', { replicas: 2, image: 'registry/shop:web.B2' }), autoscaler('web')], scope);
    expect(replicasOf('web')).toBe(2);
    const owners = (double.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' })?.metadata as { managedFields: { manager: string; fieldsV1: { 'f:spec'?: Record<string, unknown> } }[] }).managedFields;
    expect(owners.filter((m) => m.fieldsV1['f:spec']?.['f:replicas']).map((m) => m.manager)).toEqual([REPLICAS_HANDOVER_MANAGER]);

    // The autoscaler writes 4 (an update by the controller manager, which takes the field).
    double.update({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' }, (d) => ((d.spec as { replicas: number }).replicas = 4), 'kube-controller-manager');
    await applier.apply([namespace, deployment('web', { replicas: 2, image: 'registry/shop:web.B3' }), autoscaler('web')], scope);
    expect(replicasOf('web')).toBe(4);
    expect(imageOf('web')).toBe('registry/shop:web.B3');

    // Why the handover matters: a field dropped by its only owner falls back to its default.
    await connect(double).apply(deployment('lonely', { replicas: 3 }));
    await connect(double).apply(deployment('lonely'));
    expect(replicasOf('lonely')).toBe(1);
  });

  it('surfaces a field changed outside Slipway as a typed conflict naming the object, the manager and the field; force takes it back', async () => {
    await applier.apply([namespace, deployment('web', { replicas: 2 })], scope);
    double.update({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' }, (d) => {
      ((d.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0] as { image: string }).image = 'registry/shop:hotfix';
    }, 'kubectl-edit');

    const error = await applier.apply([namespace, deployment('web', { replicas: 2, image: 'registry/shop:web.B2' })], scope).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplyConflictError);
    const conflict = error as ApplyConflictError;
    expect(conflict.code).toBe('KUBERNETES_APPLY_CONFLICT');
    expect(conflict.object).toMatchObject({ kind: 'Deployment', namespace: NS, name: 'web' });
    expect(conflict.conflicts).toEqual([{ manager: 'kubectl-edit', field: '.spec.template.spec.containers' }]);
    expect(conflict.message).toContain(`Deployment ${NS}/web`);
    expect(conflict.message).toContain('"kubectl-edit"');
    expect(imageOf('web')).toBe('registry/shop:hotfix');

    const forced = new KubernetesApplier(connect(double), { force: true });
    await forced.apply([namespace, deployment('web', { replicas: 2, image: 'registry/shop:web.B2' })], scope);
    expect(imageOf('web')).toBe('registry/shop:web.B2');
  });

  it('reports an object whose namespace is missing as not found', async () => {
    const error = await applier.applyObjects([deployment('web')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubernetesNotFoundError);
    expect((error as Error).message).toContain('namespaces "rack-shop" not found');
  });
});
