/**
 * KubernetesRuntime and KubernetesProvisioner through each adapter of the Kubernetes API port
 * against the Kubernetes API test double. The render functions are small hand-written ones (the
 * real renderer has its own tests): these tests are about what the runtime does with objects.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubernetesRenderFunctions, ResourcesRenderInput } from '../../lib/kubernetes/kubernetes-runtime';
import { KubernetesProvisioner, KubernetesRuntime } from '../../lib/kubernetes/kubernetes-runtime';
import type { JobRenderInput, KubernetesObject, RenderInput, ResourceCredentials } from '../../lib/kubernetes/objects';
import { namespaceOf, resourceSecretName, SLIPWAY_LABELS } from '../../lib/kubernetes/objects';
import { loadManifest } from '../../lib/manifest';
import type { ReleaseId } from '../../lib/pipeline/domain/ids';
import type { Release } from '../../lib/pipeline/domain/model';
import { KubeApiTestDouble } from '../support/kube-api-double';
import { KUBERNETES_API_ADAPTERS } from './kubernetes-api.contract';

const RACK = { name: 'rack' };
const NS = namespaceOf(RACK.name, 'shop');
const R1: ReleaseId = 'RAAAAAAAAAA';
const R2: ReleaseId = 'RBBBBBBBBBB';
const NOW = Date.parse('2025-03-01T12:00:00Z');

const MANIFEST = `
resources:
  database:
    type: postgres
  cache:
    type: redis
services:
  web:
    build: .
    port: 3000
    health: /health
    resources:
      - database
  worker:
    build: .
    command: bin/worker
timers:
  cleanup:
    schedule: "0 3 * * ?"
    command: bin/cleanup
    service: worker
`;

const WEB_ONLY = `
resources:
  database:
    type: postgres
services:
  web:
    build: .
    port: 3000
    health: /health
    resources:
      - database
`;

const labels = (extra: Record<string, string> = {}): Record<string, string> => ({ [SLIPWAY_LABELS.managedBy]: 'slipway', [SLIPWAY_LABELS.app]: 'shop', ...extra });

function resourceObjects(input: Pick<RenderInput, 'resourceCredentials'>): KubernetesObject[] {
  return Object.entries(input.resourceCredentials).flatMap(([name, c]: [string, ResourceCredentials]) => [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: resourceSecretName(name), namespace: NS, labels: labels({ [SLIPWAY_LABELS.resource]: name }) }, stringData: { user: c.user, password: c.password, database: c.database } },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: `resource-${name}`, namespace: NS, labels: labels({ [SLIPWAY_LABELS.resource]: name }) }, spec: { replicas: 1, serviceName: `resource-${name}` } },
  ]);
}

const namespaceObject: KubernetesObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: labels() } };

/** A hand-written stand-in for the renderer: the objects a release needs, no more. */
const render: KubernetesRenderFunctions = {
  release: (input: RenderInput) => [
    namespaceObject,
    ...resourceObjects(input),
    ...input.manifest.services.flatMap((s): KubernetesObject[] => {
      const service = { [SLIPWAY_LABELS.service]: s.name };
      const release = { [SLIPWAY_LABELS.release]: input.release.id };
      return [
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: `env-${s.name}`, namespace: NS, labels: labels(service) }, stringData: { ...input.env } },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: s.name, namespace: NS, labels: labels({ ...service, ...release }) },
          spec: {
            replicas: s.scale.count.min,
            selector: { matchLabels: labels(service) },
            template: {
              metadata: { labels: labels({ ...service, ...release }) },
              spec: { containers: [{ name: 'shop', image: input.images.find((i) => i.service === s.name)?.image ?? '', ...(s.port ? { readinessProbe: { httpGet: { path: s.health.path, port: s.port.port } } } : {}) }] },
            },
          },
        },
        ...(s.port ? [{ apiVersion: 'v1', kind: 'Service', metadata: { name: s.name, namespace: NS, labels: labels(service) }, spec: { ports: [{ name: 'main', port: s.port.port }] } }] : []),
      ];
    }),
  ],
  resources: (input: ResourcesRenderInput) => [namespaceObject, ...resourceObjects(input)],
  job: (input: JobRenderInput) => {
    const { request } = input;
    const jobLabels = labels({ [SLIPWAY_LABELS.service]: request.service, [SLIPWAY_LABELS.release]: request.release, ...(request.timer ? { [SLIPWAY_LABELS.timer]: request.timer } : {}) });
    const parallel = request.parallelism > 1;
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: input.name, namespace: NS, labels: jobLabels },
      spec: {
        backoffLimit: 0,
        ...(parallel ? { completionMode: 'Indexed', completions: request.parallelism, parallelism: request.parallelism } : {}),
        template: { metadata: { labels: jobLabels }, spec: { restartPolicy: 'Never', containers: [{ name: 'shop', image: request.image, args: request.command.split(' ') }] } },
      },
    };
  },
};

function release(id: ReleaseId): Release {
  return { id, app: 'shop', build: 'BAAAAAAAAAA', envVersion: 1, description: 'build BAAAAAAAAAA', createdAt: '2025-03-01T12:00:00Z' };
}

const images = ['web', 'worker'].map((service) => ({ service, image: `registry/shop:${service}.BAAAAAAAAAA`, contextHash: 'c', buildHash: 'b', reused: false }));

/** Deterministic "random" bytes: each call a new run of counting bytes, so a regenerated password would differ. */
function counter(): (size: number) => Buffer {
  let next = 0;
  return (size) => Buffer.from(Array.from({ length: size }, () => next++ % 256));
}

describe.each(KUBERNETES_API_ADAPTERS)('KubernetesRuntime through $adapter against the Kubernetes API test double', ({ connect }) => {
  let double: KubeApiTestDouble;
  let runtime: KubernetesRuntime;
  let provisioner: KubernetesProvisioner;
  const manifests = new Map<ReleaseId, string>([[R1, MANIFEST]]);

  beforeEach(async () => {
    double = await KubeApiTestDouble.start();
    const api = connect(double);
    const clock = { now: () => NOW };
    runtime = new KubernetesRuntime({ api, rack: RACK, render, clock, random: counter(), releaseManifest: (_app, id) => Promise.resolve(manifests.get(id) ?? '') });
    provisioner = new KubernetesProvisioner({ api, rack: RACK, render, random: counter() });
  });
  afterEach(() => double.close());

  const secret = (name: string): Record<string, string> => {
    const data = (double.find({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name })?.data ?? {}) as Record<string, string>;
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  };
  const names = (kind: string): string[] => double.all(kind).map((o) => (o.metadata as { name: string }).name);

  it('applies a release with credentials generated once and read back on every later deploy', async () => {
    await runtime.apply({ app: 'shop', release: release(R1), manifest: MANIFEST, images, env: { GREETING: 'hello' } });
    const first = secret(resourceSecretName('database'));
    const cache = secret(resourceSecretName('cache'));
    expect(first.user).toBe('app');
    expect(first.database).toBe('app');
    expect(first.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(names('Deployment')).toEqual(['web', 'worker']);

    // A second runtime (a new Lambda) with other random bytes: the password stays the one in the cluster.
    const again = new KubernetesRuntime({ api: connect(double), rack: RACK, render, random: () => Buffer.alloc(24, 7) });
    await again.apply({ app: 'shop', release: release(R2), manifest: MANIFEST, images, env: { GREETING: 'hello' } });
    expect(secret(resourceSecretName('database'))).toEqual(first);
    expect(secret(resourceSecretName('cache'))).toEqual(cache);
    expect(cache.password).not.toBe(first.password);
    const credentialReads = double.requests.filter((r) => r.method === 'GET' && r.path === `/api/v1/namespaces/${NS}/secrets/${resourceSecretName('database')}`);
    expect(credentialReads).toHaveLength(2);
  });

  it('gives no credentials to a resource the environment points elsewhere (<NAME>_URL)', async () => {
    const seen: string[][] = [];
    const watching = new KubernetesRuntime({ api: connect(double), rack: RACK, render: { ...render, release: (input) => (seen.push(Object.keys(input.resourceCredentials)), render.release(input)) } });
    await watching.apply({ app: 'shop', release: release(R1), manifest: MANIFEST, images, env: { DATABASE_URL: 'postgres://u:p@db.example.org/shop' } });
    expect(seen).toEqual([['cache']]);
  });

  it('prunes the services a later release dropped, and rolls out and probes through the cluster', async () => {
    await runtime.apply({ app: 'shop', release: release(R1), manifest: MANIFEST, images, env: {} });
    await runtime.apply({ app: 'shop', release: release(R2), manifest: WEB_ONLY, images, env: {} });
    expect(names('Deployment')).toEqual(['web']);
    expect(names('StatefulSet')).toEqual(['resource-database']);
    expect(names('Secret')).toEqual(['env-web', resourceSecretName('cache'), resourceSecretName('database')]);

    expect((await runtime.rolloutStatus('shop', R2)).state).toBe('progressing');
    double.setStatus({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' }, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 });
    expect(await runtime.rolloutStatus('shop', R2)).toEqual({ state: 'complete', services: [{ name: 'web', desired: 1, ready: 1, restarts: 0 }] });

    double.onServiceProxy(({ path }) => ({ status: path === '/health' ? 200 : 404 }));
    expect(await runtime.probe('shop', R2, 'web')).toEqual({ ok: true, detail: '/health answered HTTP 200' });
    double.onServiceProxy(() => ({ status: 500 }));
    expect(await runtime.probe('shop', R2, 'web')).toEqual({ ok: false, detail: '/health answered HTTP 500' });
  });

  it('removes the app\'s services but keeps the namespace, its resources, their credentials and every volume claim', async () => {
    await runtime.apply({ app: 'shop', release: release(R1), manifest: MANIFEST, images, env: {} });
    double.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data-resource-database-0', namespace: NS, labels: labels({ [SLIPWAY_LABELS.resource]: 'database' }) }, spec: {} });
    await runtime.remove('shop');
    expect(names('Deployment')).toEqual([]);
    expect(names('Service')).toEqual([]);
    expect(names('Secret')).toEqual([resourceSecretName('cache'), resourceSecretName('database')]);
    expect(names('StatefulSet')).toEqual(['resource-cache', 'resource-database']);
    expect(names('PersistentVolumeClaim')).toEqual(['data-resource-database-0']);
    expect(names('Namespace')).toEqual([NS]);
  });

  it('provisions resources and reports them ready when their StatefulSets are; the release then uses the same credentials', async () => {
    const { manifest } = loadManifest(MANIFEST);
    const first = await provisioner.ensure('shop', manifest.resources, {});
    expect(first).toEqual({ ready: false, waitingOn: ['cache', 'database'] });
    expect(names('Deployment')).toEqual([]);

    double.setStatus({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: NS, name: 'resource-database' }, { observedGeneration: 1, replicas: 1, readyReplicas: 1, updatedReplicas: 1 });
    expect(await provisioner.ensure('shop', manifest.resources, {})).toEqual({ ready: false, waitingOn: ['cache'] });
    double.setStatus({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: NS, name: 'resource-cache' }, { observedGeneration: 1, replicas: 1, readyReplicas: 1, updatedReplicas: 1 });
    expect(await provisioner.ensure('shop', manifest.resources, {})).toEqual({ ready: true, waitingOn: [] });

    const password = secret(resourceSecretName('database')).password;
    await runtime.apply({ app: 'shop', release: release(R1), manifest: MANIFEST, images, env: {} });
    expect(secret(resourceSecretName('database')).password).toBe(password);
  });

  describe('jobs', () => {
    beforeEach(() => runtime.apply({ app: 'shop', release: release(R1), manifest: MANIFEST, images, env: {} }));

    const jobRef = (name: string) => ({ apiVersion: 'batch/v1', kind: 'Job', namespace: NS, name });
    const finished = (name: string, type: 'Complete' | 'Failed', at: string, extra: Record<string, string> = {}): void =>
      double.setStatus(jobRef(name), { ...(type === 'Complete' ? { completionTime: at, succeeded: 1 } : { failed: 1 }), conditions: [{ type, status: 'True', lastTransitionTime: at, ...extra }] });

    it('runs a timer as an Indexed Job with its parallelism, and follows it to success', async () => {
      const { job } = await runtime.runJob({ app: 'shop', release: R1, service: 'worker', command: 'bin/cleanup --all', image: 'registry/shop:worker.BAAAAAAAAAA', env: {}, timer: 'cleanup', parallelism: 3 });
      expect(job).toMatch(/^shop\/timer-cleanup-[a-z0-9]+$/);
      const name = job.slice('shop/'.length);
      const live = double.find(jobRef(name));
      expect(live?.spec).toMatchObject({ completionMode: 'Indexed', completions: 3, parallelism: 3, backoffLimit: 0 });
      expect((live?.metadata as { labels: Record<string, string> }).labels).toMatchObject({ [SLIPWAY_LABELS.timer]: 'cleanup', [SLIPWAY_LABELS.app]: 'shop' });

      expect(await runtime.jobStatus(job)).toEqual({ state: 'running' });
      expect(await runtime.runningJobs('shop', 'cleanup')).toEqual([job]);
      expect(await runtime.runningJobs('shop', 'other')).toEqual([]);

      finished(name, 'Complete', '2025-03-01T12:05:00Z');
      expect(await runtime.jobStatus(job)).toEqual({ state: 'succeeded' });
      expect(await runtime.runningJobs('shop', 'cleanup')).toEqual([]);
    });

    it('reports a failed job with its condition\'s reason and the exit code of its failed container, and reads its logs', async () => {
      const { job } = await runtime.runJob({ app: 'shop', release: R1, service: 'worker', command: 'bin/migrate', image: 'registry/shop:worker.BAAAAAAAAAA', env: {}, parallelism: 1 });
      const name = job.slice('shop/'.length);
      expect(name).toMatch(/^run-worker-/);
      const uid = (double.find(jobRef(name))?.metadata as { uid: string }).uid;
      double.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${name}-x7k2q`, namespace: NS, labels: { 'batch.kubernetes.io/job-name': name }, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid }] },
        spec: { containers: [{ name: 'shop', image: 'registry/shop:worker.BAAAAAAAAAA' }] },
        status: { phase: 'Failed', containerStatuses: [{ name: 'shop', state: { terminated: { exitCode: 2, reason: 'Error' } } }] },
      });
      double.setPodLog(NS, `${name}-x7k2q`, 'shop', 'migrating\nrelation "orders" already exists\n');
      finished(name, 'Failed', '2025-03-01T12:01:00Z', { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });

      expect(await runtime.jobStatus(job)).toEqual({
        state: 'failed',
        exitCode: 2,
        reason: `pod ${name}-x7k2q container shop exited with code 2 (Error); BackoffLimitExceeded: Job has reached the specified backoff limit`,
      });
      expect(await runtime.jobLogs(job)).toEqual([{ pod: `${name}-x7k2q`, container: 'shop', log: 'migrating\nrelation "orders" already exists\n' }]);
      expect(await runtime.jobLogs(job, { tailLines: 1 })).toEqual([{ pod: `${name}-x7k2q`, container: 'shop', log: 'relation "orders" already exists\n' }]);
    });

    it('prunes finished jobs older than the time given, with background propagation, and stops a running one', async () => {
      const run = async (timer: string): Promise<string> => (await runtime.runJob({ app: 'shop', release: R1, service: 'worker', command: 'bin/cleanup', image: 'registry/shop:worker.BAAAAAAAAAA', env: {}, timer, parallelism: 1 })).job;
      const [old, recent, failed, running] = [await run('a'), await run('b'), await run('c'), await run('d')];
      const nameOf = (job: string): string => job.slice('shop/'.length);
      finished(nameOf(old), 'Complete', '2025-02-20T00:00:00Z');
      finished(nameOf(recent), 'Complete', '2025-03-01T11:00:00Z');
      finished(nameOf(failed), 'Failed', '2025-02-21T00:00:00Z', { reason: 'BackoffLimitExceeded' });
      const uid = (double.find(jobRef(nameOf(old)))?.metadata as { uid: string }).uid;
      double.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${nameOf(old)}-p`, namespace: NS, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: nameOf(old), uid }] }, spec: { containers: [{ name: 'shop' }] } });

      expect(await runtime.pruneJobs('shop', Date.parse('2025-03-01T00:00:00Z'))).toBe(2);
      expect(names('Job').sort()).toEqual([nameOf(recent), nameOf(running)].sort());
      expect(double.deletions.filter((d) => d.kind === 'Job').map((d) => d.propagationPolicy)).toEqual(['Background', 'Background']);
      // Background propagation took the pruned Job's pod with it.
      expect(names('Pod')).toEqual([]);

      await runtime.stopJob(running);
      expect(names('Job')).toEqual([nameOf(recent)]);
      expect(await runtime.jobStatus(running)).toEqual({ state: 'failed', reason: `job ${running} no longer exists: it was stopped or pruned` });
    });
  });
});
