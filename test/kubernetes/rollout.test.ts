/**
 * Rollout status and the health gate's probe, through each adapter of the Kubernetes API port
 * against the Kubernetes API test double; the test plays the controllers (statuses, pods) and
 * the service's backend behind the API server's proxy.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubernetesApi } from '../../lib/kubernetes/api/kubernetes-api';
import { KubernetesApplier } from '../../lib/kubernetes/apply';
import type { KubernetesObject } from '../../lib/kubernetes/objects';
import { SLIPWAY_LABELS } from '../../lib/kubernetes/objects';
import { probeService, rolloutStatus } from '../../lib/kubernetes/rollout';
import type { ProxyRequest } from '../support/kube-api-double';
import { KubeApiTestDouble } from '../support/kube-api-double';
import { KUBERNETES_API_ADAPTERS } from './kubernetes-api.contract';

const NS = 'rack-shop';
const R1 = 'RAAAAAAAAAA';
const R2 = 'RBBBBBBBBBB';
const labels = (extra: Record<string, string> = {}): Record<string, string> => ({ [SLIPWAY_LABELS.managedBy]: 'slipway', [SLIPWAY_LABELS.app]: 'shop', ...extra });

function deployment(name: string, release: string, replicas: number, healthPath = '/health'): KubernetesObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, labels: labels({ [SLIPWAY_LABELS.service]: name, [SLIPWAY_LABELS.release]: release }) },
    spec: {
      replicas,
      selector: { matchLabels: { [SLIPWAY_LABELS.app]: 'shop', [SLIPWAY_LABELS.service]: name } },
      template: {
        metadata: { labels: labels({ [SLIPWAY_LABELS.service]: name, [SLIPWAY_LABELS.release]: release }) },
        spec: { containers: [{ name: 'shop', image: `registry/shop:${name}.B1`, readinessProbe: { httpGet: { path: healthPath, port: 3000, scheme: 'HTTP' }, timeoutSeconds: 2 } }] },
      },
    },
  };
}

const clusterService: KubernetesObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: NS, labels: labels({ [SLIPWAY_LABELS.service]: 'web' }) },
  spec: { ports: [{ name: 'main', port: 3000, targetPort: 'main' }] },
};

describe.each(KUBERNETES_API_ADAPTERS)('rollout status and probe through $adapter against the Kubernetes API test double', ({ connect }) => {
  let double: KubeApiTestDouble;
  let api: KubernetesApi;

  beforeEach(async () => {
    double = await KubeApiTestDouble.start();
    api = connect(double);
    await new KubernetesApplier(api).apply(
      [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: labels() } }, deployment('web', R1, 2), deployment('worker', R1, 1), clusterService],
      { app: 'shop', namespace: NS },
    );
  });
  afterEach(() => double.close());

  const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name });
  const available = (name: string, replicas: number, extra: Record<string, unknown> = {}): void =>
    double.setStatus(ref(name), { observedGeneration: 1, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas, conditions: [{ type: 'Available', status: 'True' }, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }], ...extra });

  function pod(name: string, service: string, containerStatus: Record<string, unknown>): void {
    double.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS, labels: labels({ [SLIPWAY_LABELS.service]: service, [SLIPWAY_LABELS.release]: R1 }) },
      spec: { containers: [{ name: 'shop', image: 'registry/shop:web.B1' }] },
      status: { phase: 'Running', containerStatuses: [{ name: 'shop', ready: false, restartCount: 0, image: 'registry/shop:web.B1', imageID: '', ...containerStatus }] },
    });
  }

  it('is progressing until every workload has seen its spec and has its replicas updated and available, then complete', async () => {
    const first = await rolloutStatus(api, NS, 'shop', R1);
    expect(first.state).toBe('progressing');
    expect(first.services.map((s) => [s.name, s.desired, s.ready, s.waitingOn])).toEqual([
      ['web', 2, 0, 'the deployment controller has not seen the new spec yet'],
      ['worker', 1, 0, 'the deployment controller has not seen the new spec yet'],
    ]);

    available('web', 2);
    double.setStatus(ref('worker'), { observedGeneration: 1, replicas: 2, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2 });
    const second = await rolloutStatus(api, NS, 'shop', R1);
    expect(second).toEqual({
      state: 'progressing',
      services: [
        { name: 'web', desired: 2, ready: 2, restarts: 0 },
        { name: 'worker', desired: 1, ready: 1, restarts: 0, waitingOn: '1 old replica(s) still terminating' },
      ],
    });

    available('worker', 1);
    expect(await rolloutStatus(api, NS, 'shop', R1)).toEqual({ state: 'complete', services: [{ name: 'web', desired: 2, ready: 2, restarts: 0 }, { name: 'worker', desired: 1, ready: 1, restarts: 0 }] });
  });

  it('fails fast on a crash-looping pod, naming the pod, the container, the reason and the last exit', async () => {
    available('worker', 1);
    pod('web-6d4b-x1', 'web', { restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=shop pod=web-6d4b-x1' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } });
    const state = await rolloutStatus(api, NS, 'shop', R1);
    expect(state.state).toBe('failed');
    expect(state).toMatchObject({ service: 'web', reason: 'CrashLoopBackOff: pod web-6d4b-x1 container shop: back-off 40s restarting failed container=shop pod=web-6d4b-x1; last exit code 1 (Error), restarted 4 time(s)' });
    expect(state.services.find((s) => s.name === 'web')).toMatchObject({ restarts: 4 });
  });

  it('fails fast on an image that cannot be pulled and on a container that cannot be configured', async () => {
    pod('worker-77-a', 'worker', { state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "registry/shop:worker.B1"' } } });
    expect(await rolloutStatus(api, NS, 'shop', R1)).toMatchObject({ state: 'failed', service: 'worker', reason: 'ImagePullBackOff: pod worker-77-a container shop: Back-off pulling image "registry/shop:worker.B1"' });

    pod('web-1-a', 'web', { state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "env-web" not found' } } });
    expect(await rolloutStatus(api, NS, 'shop', R1)).toMatchObject({ state: 'failed', service: 'web', reason: 'CreateContainerConfigError: pod web-1-a container shop: secret "env-web" not found' });
  });

  it('fails on ErrImagePull, the first failed pull', async () => {
    pod('web-1-b', 'web', { state: { waiting: { reason: 'ErrImagePull', message: 'manifest unknown' } } });
    expect(await rolloutStatus(api, NS, 'shop', R1)).toMatchObject({ state: 'failed', service: 'web', reason: 'ErrImagePull: pod web-1-b container shop: manifest unknown' });
  });

  it('fails when the deployment misses its progress deadline', async () => {
    available('web', 2);
    double.setStatus(ref('worker'), {
      observedGeneration: 1,
      replicas: 1,
      updatedReplicas: 1,
      availableReplicas: 0,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "worker-5f" has timed out progressing.' }],
    });
    expect(await rolloutStatus(api, NS, 'shop', R1)).toMatchObject({ state: 'failed', service: 'worker', reason: 'ProgressDeadlineExceeded: ReplicaSet "worker-5f" has timed out progressing.' });
  });

  it('says why a pod is not ready yet while progressing', async () => {
    available('worker', 1);
    pod('web-1-c', 'web', { state: { waiting: { reason: 'ContainerCreating' } } });
    double.setStatus(ref('web'), { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 0 });
    const state = await rolloutStatus(api, NS, 'shop', R1);
    expect(state.state).toBe('progressing');
    expect(state.services.find((s) => s.name === 'web')?.waitingOn).toBe('pod web-1-c container shop: ContainerCreating');
  });

  it('fails for a release that is not the one applied', async () => {
    expect(await rolloutStatus(api, NS, 'shop', R2)).toMatchObject({ state: 'failed', reason: `release ${R2} is not the one applied to shop: service web runs ${R1}` });
  });

  it('probes the health path through the API server\'s service proxy: 2xx and 3xx pass, 500 does not', async () => {
    const asked: ProxyRequest[] = [];
    let answer = 200;
    double.onServiceProxy((request) => {
      asked.push(request);
      return { status: answer, body: answer === 500 ? 'database password is hunter2' : 'ok' };
    });
    expect(await probeService(api, NS, 'shop', R1, 'web')).toEqual({ ok: true, detail: '/health answered HTTP 200' });
    expect(asked).toEqual([{ namespace: NS, service: 'web', port: '3000', path: '/health' }]);
    expect(double.requests.filter((r) => r.path.includes('/proxy/')).map((r) => r.path)).toEqual([`/api/v1/namespaces/${NS}/services/web:3000/proxy/health`]);

    answer = 302;
    expect(await probeService(api, NS, 'shop', R1, 'web')).toEqual({ ok: true, detail: '/health answered HTTP 302' });
    answer = 500;
    // The backend's body is not quoted: it is the app's, and may hold anything.
    expect(await probeService(api, NS, 'shop', R1, 'web')).toEqual({ ok: false, detail: '/health answered HTTP 500' });
  });

  it('keeps a nested health path and its query as they are', async () => {
    await api.apply(deployment('web', R1, 2, '/api/health?deep=1'));
    const asked: string[] = [];
    double.onServiceProxy((request) => {
      asked.push(request.path);
      return { status: 204 };
    });
    expect(await probeService(api, NS, 'shop', R1, 'web')).toMatchObject({ ok: true });
    expect(asked).toEqual(['/api/health?deep=1']);
  });

  it('does not pass a probe of another release, of a service without a Service, or without endpoints', async () => {
    expect(await probeService(api, NS, 'shop', R2, 'web')).toEqual({ ok: false, detail: `service web runs release ${R1}, not ${R2}` });
    expect(await probeService(api, NS, 'shop', R1, 'worker')).toEqual({ ok: false, detail: 'service worker has no port to check' });
    expect(await probeService(api, NS, 'shop', R1, 'web')).toEqual({ ok: false, detail: '/health answered HTTP 503 (no endpoints available for service "web:3000")' });
  });
});
