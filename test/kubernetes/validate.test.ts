/** The validator finds what the API server would refuse, and names the object and field. */
import { describe, expect, it } from 'vitest';
import type { KubernetesObject } from '../../lib/kubernetes/objects';
import { assertValidObjects, formatProblem, InvalidObjectsError, validateObjects } from '../../lib/kubernetes/validate';
import { find, render } from './fixtures';

function deployment(): KubernetesObject {
  const web = find(render('services:\n  web:\n    port: 3000\n'), 'Deployment', 'web');
  if (!web) throw new Error('no Deployment rendered');
  return structuredClone(web);
}

describe('validateObjects', () => {
  it('accepts what the renderer makes', () => {
    expect(validateObjects(render('services:\n  web:\n    port: 3000\n    scale: 1-3\n    resources: [db]\nresources:\n  db:\n    type: mysql\n'))).toEqual([]);
  });

  it('reports schema violations with the field path', () => {
    const d = deployment();
    (d.spec as Record<string, unknown>).replicas = 'two';
    delete (d.spec as Record<string, unknown>).selector;
    expect(validateObjects([d])).toEqual([
      { kind: 'Deployment', namespace: 'prod-shop', name: 'web', path: 'spec.selector', message: 'is required' },
      { kind: 'Deployment', namespace: 'prod-shop', name: 'web', path: 'spec.replicas', message: 'must be integer' },
    ]);
  });

  it('reports fields the kind does not have, which the schema lets through', () => {
    const d = deployment();
    ((d.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0] ?? {}).imagePullPolicyy = 'Always';
    d.replicaCount = 2;
    expect(validateObjects([d]).map(formatProblem)).toEqual([
      'Deployment prod-shop/web spec.template.spec.containers[0].imagePullPolicyy: is not a field of Container',
      'Deployment prod-shop/web replicaCount: is not a field of Deployment',
    ]);
  });

  it('names an object whose name is too long', () => {
    const objects = render(`services:\n  ${'w'.repeat(70)}:\n    port: 3000\n`);
    const problems = validateObjects(objects);
    expect(problems).toContainEqual({ kind: 'Service', namespace: 'prod-shop', name: 'w'.repeat(70), path: 'metadata.name', message: `"${'w'.repeat(70)}" is 70 characters long; at most 63 are allowed (DNS-1035 label)` });
    // The label values carrying the name are too long as well.
    expect(problems.some((p) => p.kind === 'Deployment' && p.path === `spec.template.metadata.labels.slipway.dev/service`)).toBe(true);
    expect(validateObjects(render('services:\n  web:\n    port: 3000\n', { app: 'a'.repeat(60) })).filter((p) => p.kind === 'Namespace')).toEqual([
      { kind: 'Namespace', name: `prod-${'a'.repeat(60)}`, path: 'metadata.name', message: `"prod-${'a'.repeat(60)}" is 65 characters long; at most 63 are allowed (DNS-1123 label)` },
    ]);
  });

  it('checks label keys and values, annotation keys, Secret keys and port names', () => {
    const d = deployment();
    d.metadata.labels = { 'bad key!': 'x', ok: 'not ok!' };
    d.metadata.annotations = { '/empty-prefix': 'x' };
    const secret: KubernetesObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'env-web', namespace: 'prod-shop' }, stringData: { 'MY VAR': 'x' } };
    const service: KubernetesObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'prod-shop' }, spec: { ports: [{ name: 'Main', port: 80 }] } };
    expect(validateObjects([d, secret, service]).map((p) => `${p.kind} ${p.path}`)).toEqual([
      'Deployment metadata.labels.bad key!',
      'Deployment metadata.labels.ok',
      'Deployment metadata.annotations./empty-prefix',
      'Secret stringData.MY VAR',
      'Service spec.ports[0].name',
    ]);
  });

  it('reports duplicate objects and kinds it does not know', () => {
    const d = deployment();
    const unknown: KubernetesObject = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'web', namespace: 'prod-shop' } };
    const problems = validateObjects([d, structuredClone(d), unknown]);
    expect(problems.map((p) => `${p.kind} ${p.path}`)).toEqual(['Deployment metadata.name', 'ScaledObject ']);
    expect(problems[0]?.message).toBe('another object of this kind has the same name');
    expect(problems[1]?.message).toMatch(/^keda\.sh\/v1alpha1 ScaledObject is not a kind the validator knows/);
  });
});

describe('assertValidObjects', () => {
  it('throws a typed error listing every problem', () => {
    const d = deployment();
    d.metadata.name = 'Web';
    let error: unknown;
    try {
      assertValidObjects([d]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidObjectsError);
    expect((error as InvalidObjectsError).code).toBe('KUBERNETES_OBJECTS_INVALID');
    expect((error as InvalidObjectsError).problems).toHaveLength(1);
    expect((error as Error).message).toContain('Deployment prod-shop/Web metadata.name: "Web" must be lower-case letters');
  });
});
