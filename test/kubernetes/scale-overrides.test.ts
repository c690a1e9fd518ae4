/**
 * `slipway scale` sizes in the Kubernetes render: replicas, requests and limits from the app's
 * overrides instead of convox.yml's `scale`, and how an override count meets an autoscaled range.
 * The last test applies real renders through KubernetesRuntime to the Kubernetes API test double.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesRuntime } from '../../lib/kubernetes/kubernetes-runtime';
import { namespaceOf } from '../../lib/kubernetes/objects';
import type { KubernetesObject } from '../../lib/kubernetes/objects';
import { renderJob, renderRelease, renderResources } from '../../lib/kubernetes/render';
import type { Release, ScaleOverride } from '../../lib/pipeline/domain/model';
import { KubeApiTestDouble } from '../support/kube-api-double';
import { at, find, renderInput } from './fixtures';
import { KUBERNETES_API_ADAPTERS } from './kubernetes-api.contract';

const container = (o: KubernetesObject | undefined): Record<string, unknown> => at(o, 'spec.template.spec.containers[0]') as Record<string, unknown>;
const renderScaled = (text: string, scale: Record<string, ScaleOverride>): KubernetesObject[] => renderRelease({ ...renderInput(text), scale });

describe('scale overrides in the Kubernetes render', () => {
  it('sets replicas and container requests from the override; memory keeps its limit at the request', () => {
    const objects = renderScaled('services:\n  web:\n    port: 3000\n    scale: {count: 2, cpu: 250, memory: 512}\n  worker:\n    scale: 1\n', { web: { count: 5, cpu: 1000, memory: 2048 } });
    const web = find(objects, 'Deployment', 'web');
    expect(at(web, 'spec.replicas')).toBe(5);
    expect(container(web).resources).toEqual({ requests: { cpu: '1000m', memory: '2048Mi' }, limits: { memory: '2048Mi' } });
    // A service without an override renders from convox.yml.
    expect(at(find(objects, 'Deployment', 'worker'), 'spec.replicas')).toBe(1);
  });

  it('keeps what the override leaves out from convox.yml', () => {
    const web = find(renderScaled('services:\n  web:\n    scale: {count: 2, cpu: 250, memory: 512}\n', { web: { memory: 1024 } }), 'Deployment', 'web');
    expect(at(web, 'spec.replicas')).toBe(2);
    expect(container(web).resources).toEqual({ requests: { cpu: '250m', memory: '1024Mi' }, limits: { memory: '1024Mi' } });
  });

  it('raises a manifest limit below the new request (Kubernetes refuses a limit under its request), and leaves a higher one', () => {
    const text = 'services:\n  web:\n    scale: {cpu: 250, memory: 512, limit: {cpu: 500, memory: 4096}}\n';
    expect(container(find(renderScaled(text, { web: { cpu: 750, memory: 1024 } }), 'Deployment', 'web')).resources).toEqual({ requests: { cpu: '750m', memory: '1024Mi' }, limits: { cpu: '750m', memory: '4096Mi' } });
  });

  it('an override count on an autoscaled range fixes it: min = max = count, no HPA, replicas set', () => {
    const text = 'services:\n  web:\n    port: 3000\n    scale:\n      count: 2-10\n      targets:\n        cpu: 70\n';
    const plain = renderRelease(renderInput(text));
    expect(find(plain, 'HorizontalPodAutoscaler', 'web')).toBeDefined();
    expect(at(find(plain, 'Deployment', 'web'), 'spec.replicas')).toBeUndefined();
    const fixed = renderScaled(text, { web: { count: 4 } });
    expect(find(fixed, 'HorizontalPodAutoscaler', 'web')).toBeUndefined();
    expect(at(find(fixed, 'Deployment', 'web'), 'spec.replicas')).toBe(4);
    // Sizes alone leave the autoscaler in charge of the count.
    const sized = renderScaled(text, { web: { cpu: 500 } });
    expect(find(sized, 'HorizontalPodAutoscaler', 'web')?.spec).toMatchObject({ minReplicas: 2, maxReplicas: 10 });
    expect(at(find(sized, 'Deployment', 'web'), 'spec.replicas')).toBeUndefined();
  });

  it('a count of 0 stops the service; an agent keeps one process per node whatever the count', () => {
    expect(at(find(renderScaled('services:\n  web:\n    scale: 3\n', { web: { count: 0 } }), 'Deployment', 'web'), 'spec.replicas')).toBe(0);
    const agent = renderScaled('services:\n  agent:\n    agent: true\n', { agent: { count: 7, memory: 256 } });
    expect(find(agent, 'DaemonSet', 'agent')).toBeDefined();
    expect(at(find(agent, 'DaemonSet', 'agent'), 'spec.replicas')).toBeUndefined();
    expect(container(find(agent, 'DaemonSet', 'agent')).resources).toMatchObject({ requests: { memory: '256Mi' } });
  });
});

describe.each(KUBERNETES_API_ADAPTERS)('KubernetesRuntime.apply with scale overrides through $adapter (real render, Kubernetes API test double)', ({ connect }) => {
  let double: KubeApiTestDouble;
  let runtime: KubernetesRuntime;
  beforeEach(async () => {
    double = await KubeApiTestDouble.start();
    runtime = new KubernetesRuntime({ api: connect(double), rack: { name: 'rack' }, render: { release: renderRelease, resources: renderResources, job: renderJob } });
  });
  afterEach(() => double.close());

  it('renders the override into the live Deployment, and prunes the HPA an override count replaces', async () => {
    const manifest = 'services:\n  web:\n    port: 3000\n    scale:\n      count: 1-5\n';
    const release: Release = { id: 'RAAAAAAAAAA', app: 'shop', build: 'BAAAAAAAAAA', envVersion: 1, description: 'build BAAAAAAAAAA', createdAt: '2025-03-01T12:00:00Z' };
    const images = [{ service: 'web', image: 'registry/shop:web.BAAAAAAAAAA', contextHash: 'c', buildHash: 'b', reused: false }];
    const ns = namespaceOf('rack', 'shop');
    await runtime.apply({ app: 'shop', release, manifest, images, env: {} });
    expect(double.find({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', namespace: ns, name: 'web' })).toBeDefined();
    await runtime.apply({ app: 'shop', release, manifest, images, env: {}, scale: { web: { count: 3, cpu: 300 } } });
    const live = double.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' });
    expect(at(live, 'spec.replicas')).toBe(3);
    expect(at(live, 'spec.template.spec.containers[0].resources.requests.cpu')).toBe('300m');
    expect(double.find({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', namespace: ns, name: 'web' })).toBeUndefined();
  });
});
