/**
 * KubernetesRuntime.listProcesses (`slipway ps` on a cluster) through each adapter of the
 * Kubernetes API port against the Kubernetes API test double: the app's pods are made as the
 * Deployment and Job controllers would make them, with the statuses the kubelet reports.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubernetesRenderFunctions } from '../../lib/kubernetes/kubernetes-runtime';
import { KubernetesRuntime } from '../../lib/kubernetes/kubernetes-runtime';
import { namespaceOf, SLIPWAY_LABELS } from '../../lib/kubernetes/objects';
import { KubeApiTestDouble } from '../support/kube-api-double';
import { KUBERNETES_API_ADAPTERS } from './kubernetes-api.contract';

const RACK = { name: 'rack' };
const NS = namespaceOf(RACK.name, 'shop');
const R1 = 'RAAAAAAAAAA';
const R2 = 'RBBBBBBBBBB';

const unused = (): never => {
  throw new Error('listProcesses renders nothing');
};
const render: KubernetesRenderFunctions = { release: unused, resources: unused, job: unused };

const labels = (extra: Record<string, string>, app = 'shop'): Record<string, string> => ({ [SLIPWAY_LABELS.managedBy]: 'slipway', [SLIPWAY_LABELS.app]: app, ...extra });
const service = (name: string, release: string): Record<string, string> => labels({ [SLIPWAY_LABELS.service]: name, [SLIPWAY_LABELS.release]: release, [SLIPWAY_LABELS.type]: 'service' });

interface PodSpec {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly namespace?: string;
  readonly container?: { name: string; command?: string[]; args?: string[] };
  readonly status?: Record<string, unknown>;
  readonly deleting?: boolean;
}

function pod(double: KubeApiTestDouble, spec: PodSpec): void {
  double.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: spec.name, namespace: spec.namespace ?? NS, labels: spec.labels, ...(spec.deleting ? { deletionTimestamp: '2026-11-28T10:09:00Z' } : {}) },
    spec: { containers: [{ image: 'registry/shop:x', ...(spec.container ?? { name: spec.labels[SLIPWAY_LABELS.service] ?? 'main' }) }] },
    ...(spec.status ? { status: spec.status } : {}),
  });
}

const running = (startTime: string, ready = true) => ({ phase: 'Running', startTime, containerStatuses: [{ name: 'c', ready, restartCount: 0, state: { running: { startedAt: startTime } } }] });

describe.each(KUBERNETES_API_ADAPTERS)('KubernetesRuntime.listProcesses through $adapter against the Kubernetes API test double', ({ connect }) => {
  let double: KubeApiTestDouble;
  let runtime: KubernetesRuntime;

  beforeEach(async () => {
    double = await KubeApiTestDouble.start();
    runtime = new KubernetesRuntime({ api: connect(double), rack: RACK, render });
    for (const name of [NS, namespaceOf(RACK.name, 'other')]) double.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  });
  afterEach(() => double.close());

  it('lists the app\u2019s service and running job pods with service, release, status, start time and command', async () => {
    pod(double, { name: 'web-7d9f-abcde', labels: service('web', R2), status: running('2026-11-28T10:00:00Z') });
    pod(double, { name: 'web-7d9f-fghij', labels: service('web', R2), status: running('2026-11-28T10:01:00Z', false) });
    pod(double, { name: 'web-5c4b-old01', labels: service('web', R1), status: running('2026-11-27T09:00:00Z'), deleting: true });
    pod(double, {
      name: 'worker-6f8a-klmno',
      labels: service('worker', R2),
      container: { name: 'worker', command: ['bin/worker'], args: ['--queue', 'high priority'] },
      status: { phase: 'Running', startTime: '2026-11-28T10:02:00Z', containerStatuses: [{ name: 'worker', ready: false, restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s' } } }] },
    });
    pod(double, { name: 'worker-6f8a-pqrst', labels: service('worker', R2), status: { phase: 'Pending', containerStatuses: [{ name: 'worker', ready: false, state: { waiting: { reason: 'ImagePullBackOff' } } }] } });
    pod(double, { name: 'worker-6f8a-uvwxy', labels: service('worker', R2), status: { phase: 'Pending' } });
    const job = labels({ [SLIPWAY_LABELS.service]: 'worker', [SLIPWAY_LABELS.release]: R2, [SLIPWAY_LABELS.type]: 'job', [SLIPWAY_LABELS.timer]: 'nightly' });
    pod(double, { name: 'timer-nightly-abc-0-zz', labels: job, container: { name: 'worker', args: ['bin/report'] }, status: running('2026-11-28T03:00:00Z') });
    pod(double, { name: 'timer-nightly-old-0-yy', labels: job, container: { name: 'worker', args: ['bin/report'] }, status: { phase: 'Succeeded', startTime: '2026-11-27T03:00:00Z' } });
    // Not processes of the app: a resource's pod, another app's, and a pod not made by Slipway.
    pod(double, { name: 'resource-database-0', labels: labels({ [SLIPWAY_LABELS.resource]: 'database', [SLIPWAY_LABELS.type]: 'resource' }), status: running('2026-11-01T00:00:00Z') });
    pod(double, { name: 'web-other', namespace: namespaceOf(RACK.name, 'other'), labels: { ...service('web', R1), [SLIPWAY_LABELS.app]: 'other' }, status: running('2026-11-28T10:00:00Z') });
    pod(double, { name: 'debug-shell', labels: { run: 'debug' }, status: running('2026-11-28T10:00:00Z') });

    expect(await runtime.listProcesses('shop')).toEqual([
      { id: 'web-5c4b-old01', service: 'web', release: R1, status: 'terminating', startedAt: '2026-11-27T09:00:00.000Z' },
      { id: 'web-7d9f-abcde', service: 'web', release: R2, status: 'running', startedAt: '2026-11-28T10:00:00.000Z' },
      { id: 'web-7d9f-fghij', service: 'web', release: R2, status: 'starting', startedAt: '2026-11-28T10:01:00.000Z' },
      { id: 'timer-nightly-abc-0-zz', service: 'worker', release: R2, status: 'running', startedAt: '2026-11-28T03:00:00.000Z', command: 'bin/report' },
      { id: 'worker-6f8a-klmno', service: 'worker', release: R2, status: 'crashloop', startedAt: '2026-11-28T10:02:00.000Z', command: "bin/worker --queue 'high priority'" },
      { id: 'worker-6f8a-pqrst', service: 'worker', release: R2, status: 'ImagePullBackOff' },
      { id: 'worker-6f8a-uvwxy', service: 'worker', release: R2, status: 'pending' },
    ]);
  });

  it('answers an empty list for an app that runs nothing, or whose namespace is gone', async () => {
    expect(await runtime.listProcesses('other')).toEqual([]);
    expect(await runtime.listProcesses('never-deployed')).toEqual([]);
  });
});
