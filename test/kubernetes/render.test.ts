/** The Convox rules the renderer keeps, one by one. */
import { describe, expect, it } from 'vitest';
import type { KubernetesObject } from '../../lib/kubernetes/objects';
import { resourceSecretName, SLIPWAY_LABELS } from '../../lib/kubernetes/objects';
import { renderJob, renderRelease, renderResources, RenderError } from '../../lib/kubernetes/render';
import { loadManifest } from '../../lib/manifest';
import { at, find, render, renderInput, toYaml } from './fixtures';

const container = (o: KubernetesObject | undefined): Record<string, unknown> => at(o, 'spec.template.spec.containers[0]') as Record<string, unknown>;

describe('renderRelease', () => {
  it('puts the app in its own namespace, <rack>-<app>, and labels every object', () => {
    const objects = render('services:\n  web:\n    port: 3000\n');
    expect(objects[0]).toMatchObject({ kind: 'Namespace', metadata: { name: 'prod-shop' } });
    for (const o of objects) {
      expect(o.metadata.labels?.[SLIPWAY_LABELS.managedBy]).toBe('slipway');
      expect(o.metadata.labels?.[SLIPWAY_LABELS.app]).toBe('shop');
      if (o.kind !== 'Namespace') expect(o.metadata.namespace).toBe('prod-shop');
    }
  });

  it('orders objects by dependency: namespace, secrets, accounts, resources, workloads, services, ingresses, autoscalers', () => {
    const objects = render('services:\n  web:\n    port: 3000\n    resources: [db]\n    scale: 1-3\nresources:\n  db:\n    type: postgres\n');
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Namespace/prod-shop',
      'Secret/resource-db-credentials',
      'Secret/env-web',
      'ServiceAccount/web',
      'StatefulSet/resource-db',
      'Service/resource-db',
      'Deployment/web',
      'Service/web',
      'Ingress/web',
      'HorizontalPodAutoscaler/web',
    ]);
  });

  it('is deterministic: the same input renders the same objects, byte for byte', () => {
    const text = 'environment:\n  - Z=1\n  - A=2\nservices:\n  web:\n    port: 3000\n    domain: [b.example.org, a.example.org]\n    labels: {zeta: z, alpha: a}\n    resources: [db]\nresources:\n  db:\n    type: mysql\n';
    expect(toYaml(render(text))).toBe(toYaml(render(text)));
    expect(Object.keys(find(render(text), 'Secret', 'env-web')?.stringData as object)).toEqual([...Object.keys(find(render(text), 'Secret', 'env-web')?.stringData as object)].sort());
  });

  it('keeps env values in Secrets only', () => {
    const objects = render('services:\n  web:\n    port: 3000\n    environment: [TOKEN]\n', { env: { TOKEN: 'very-secret-token' } });
    expect(find(objects, 'Secret', 'env-web')?.stringData).toMatchObject({ TOKEN: 'very-secret-token', APP: 'shop', RACK: 'prod', SERVICE: 'web', PORT: '3000', RELEASE: 'RGOLDENAAAA' });
    for (const o of objects.filter((x) => x.kind !== 'Secret')) expect(JSON.stringify(o)).not.toContain('very-secret-token');
    expect(container(find(objects, 'Deployment', 'web')).envFrom).toEqual([{ secretRef: { name: 'env-web' } }]);
  });

  it('puts the release in the pod template\u2019s labels (so each release rolls the pods) but not in the selector', () => {
    const web = find(render('services:\n  web:\n    port: 3000\n'), 'Deployment', 'web');
    expect(at(web, 'spec.template.metadata.labels')).toMatchObject({ [SLIPWAY_LABELS.release]: 'RGOLDENAAAA', [SLIPWAY_LABELS.service]: 'web' });
    expect(Object.keys(at(web, 'spec.selector.matchLabels') as object)).not.toContain(SLIPWAY_LABELS.release);
  });

  it('renders the rolling update from deployment minimum and maximum', () => {
    const web = find(render('services:\n  web:\n    deployment: {minimum: 25, maximum: 110}\n'), 'Deployment', 'web');
    expect(at(web, 'spec.strategy')).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '10%', maxUnavailable: '75%' } });
    const single = find(render('services:\n  web:\n    singleton: true\n'), 'Deployment', 'web');
    expect(at(single, 'spec.strategy.rollingUpdate')).toEqual({ maxSurge: '0%', maxUnavailable: '100%' });
  });

  it('renders requests and limits from scale: memory is limited to its request unless limit.memory says more; GPUs in both', () => {
    const web = find(render('services:\n  web:\n    scale: {cpu: 500, memory: 1024, limit: {cpu: 1000}}\n  ml:\n    scale: {gpu: {count: 2, vendor: amd}}\n'), 'Deployment', 'web');
    expect(container(web).resources).toEqual({ limits: { cpu: '1000m', memory: '1024Mi' }, requests: { cpu: '500m', memory: '1024Mi' } });
    const ml = find(render('services:\n  ml:\n    port: 8000\n    scale: {gpu: {count: 2, vendor: amd}}\n'), 'Deployment', 'ml');
    expect(container(ml).resources).toEqual({ limits: { 'amd.com/gpu': '2' }, requests: { 'amd.com/gpu': '2' } });
    expect(at(ml, 'spec.template.spec.tolerations')).toEqual([{ key: 'amd.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    // A GPU service with a port gets Convox's automatic TCP startup probe.
    expect(container(ml).startupProbe).toMatchObject({ tcpSocket: { port: 8000 }, initialDelaySeconds: 300, failureThreshold: 180 });
  });

  it('shell-splits the command into args and the lifecycle hooks into exec commands', () => {
    const web = find(render('services:\n  web:\n    command: bin/web --name "a b"\n    lifecycle: {preStop: "sleep 5"}\n'), 'Deployment', 'web');
    expect(container(web).args).toEqual(['bin/web', '--name', 'a b']);
    expect(container(web).lifecycle).toEqual({ preStop: { exec: { command: ['sleep', '5'] } } });
  });
});

describe('probes', () => {
  it('are rendered only for a service with a port', () => {
    const objects = render('services:\n  web:\n    port: 3000\n    health: /health\n  worker:\n    command: work\n    health: /health\n    liveness: {path: /live}\n');
    expect(container(find(objects, 'Deployment', 'web')).readinessProbe).toMatchObject({ httpGet: { path: '/health', port: 3000, scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 4 });
    const worker = container(find(objects, 'Deployment', 'worker'));
    expect(worker.readinessProbe).toBeUndefined();
    expect(worker.livenessProbe).toBeUndefined();
    expect(worker.startupProbe).toBeUndefined();
  });

  it('health.disable removes only the readiness probe; liveness and startup come from their blocks', () => {
    const web = container(find(render('services:\n  web:\n    port: https:3000\n    health: {disable: true}\n    liveness: {path: /live, port: 3002}\n    startupProbe: {path: /ready}\n'), 'Deployment', 'web'));
    expect(web.readinessProbe).toBeUndefined();
    expect(web.livenessProbe).toEqual({ httpGet: { path: '/live', port: 3002 }, initialDelaySeconds: 10, periodSeconds: 5, timeoutSeconds: 5, successThreshold: 1, failureThreshold: 3 });
    expect(web.startupProbe).toMatchObject({ httpGet: { path: '/ready', port: 3000 } });
  });

  it('gives a gRPC port gRPC probes only with grpcHealthEnabled', () => {
    expect(container(find(render('services:\n  api:\n    port: grpc:50051\n'), 'Deployment', 'api')).readinessProbe).toBeUndefined();
    const api = container(find(render('services:\n  api:\n    port: grpc:50051\n    grpcHealthEnabled: true\n'), 'Deployment', 'api'));
    expect(api.readinessProbe).toMatchObject({ grpc: { port: 50051 }, failureThreshold: 5 });
    expect(api.livenessProbe).toMatchObject({ grpc: { port: 50051 } });
  });
});

describe('autoscaling', () => {
  it('a count range gets an HPA with the cpu, memory and external targets, and the Deployment leaves replicas to it', () => {
    const text = 'services:\n  web:\n    port: 3000\n    scale:\n      count: 2-10\n      targets:\n        cpu: 70\n        memory: 90\n        external:\n          - name: queue-depth\n            averageValue: 100\n            matchLabels: {queue: jobs}\n';
    const objects = render(text);
    expect(at(find(objects, 'Deployment', 'web'), 'spec.replicas')).toBeUndefined();
    expect(find(objects, 'HorizontalPodAutoscaler', 'web')?.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 90 } } },
        { type: 'External', external: { metric: { name: 'queue-depth', selector: { matchLabels: { queue: 'jobs' } } }, target: { type: 'AverageValue', averageValue: '100' } } },
      ],
    });
  });

  it('a range with no targets still gets an HPA (Kubernetes scales on CPU by default)', () => {
    expect(find(render('services:\n  web:\n    scale: 1-5\n'), 'HorizontalPodAutoscaler', 'web')?.spec).toMatchObject({ minReplicas: 1, maxReplicas: 5 });
  });

  it('a fixed count, an agent, or KEDA autoscaling gets no HPA, and the Deployment its count', () => {
    const fixed = render('services:\n  web:\n    scale: 3\n');
    expect(fixed.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);
    expect(at(find(fixed, 'Deployment', 'web'), 'spec.replicas')).toBe(3);
    const keda = render('services:\n  web:\n    scale:\n      min: 2\n      max: 6\n      autoscale:\n        cpu: {threshold: 70}\n');
    expect(keda.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);
    expect(at(find(keda, 'Deployment', 'web'), 'spec.replicas')).toBe(2);
    expect(render('services:\n  agent:\n    agent: true\n    scale: 1-3\n').some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);
  });
});

describe('agents', () => {
  it('run as a DaemonSet, with their ports as host ports', () => {
    const objects = render('services:\n  agent:\n    agent: true\n    ports: [8125/udp]\n');
    expect(find(objects, 'Deployment', 'agent')).toBeUndefined();
    const agent = find(objects, 'DaemonSet', 'agent');
    expect(at(agent, 'spec.replicas')).toBeUndefined();
    expect(container(agent).ports).toEqual([{ name: 'port-8125', containerPort: 8125, protocol: 'UDP', hostPort: 8125 }]);
  });
});

describe('ingress', () => {
  it('routes the default host and each domain, with TLS for them all on ALB', () => {
    const ingress = find(render('services:\n  web:\n    port: 3000\n    domain: [shop.example.org, www.example.org]\n    timeout: 120\n    whitelist: 10.0.0.0/8, 192.168.0.0/16\n    sticky: true\n'), 'Ingress', 'web');
    expect(at(ingress, 'spec.ingressClassName')).toBe('alb');
    expect((at(ingress, 'spec.rules') as { host: string }[]).map((r) => r.host)).toEqual(['web.shop.example.com', 'shop.example.org', 'www.example.org']);
    expect(at(ingress, 'spec.rules[1].http.paths[0].backend')).toEqual({ service: { name: 'web', port: { number: 3000 } } });
    expect(at(ingress, 'spec.tls')).toEqual([{ hosts: ['web.shop.example.com', 'shop.example.org', 'www.example.org'] }]);
    expect(ingress?.metadata.annotations).toMatchObject({
      'alb.ingress.kubernetes.io/scheme': 'internet-facing',
      'alb.ingress.kubernetes.io/load-balancer-attributes': 'idle_timeout.timeout_seconds=120',
      'alb.ingress.kubernetes.io/inbound-cidrs': '10.0.0.0/8,192.168.0.0/16',
      'alb.ingress.kubernetes.io/ssl-redirect': '443',
      'alb.ingress.kubernetes.io/target-group-attributes': 'stickiness.enabled=true,stickiness.type=lb_cookie',
      'alb.ingress.kubernetes.io/healthcheck-path': '/',
    });
  });

  it('names the TLS secrets per host group with another class, as Convox does', () => {
    const ingress = find(render('services:\n  web:\n    port: 3000\n    domain: shop.example.org\n', { rack: { name: 'prod', domain: 'example.com', ingressClass: 'nginx' } }), 'Ingress', 'web');
    expect(at(ingress, 'spec.tls')).toEqual([
      { hosts: ['web.shop.example.com'], secretName: 'cert-web' },
      { hosts: ['shop.example.org'], secretName: 'cert-web-domains' },
    ]);
    expect(ingress?.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe('60');
  });

  it('gives internal services none, and internalRouter ones <svc>-internal with the internal class', () => {
    const objects = render('services:\n  api:\n    port: 3000\n    internal: true\n  admin:\n    port: 4000\n    internalRouter: true\n');
    expect(find(objects, 'Ingress', 'api')).toBeUndefined();
    expect(find(objects, 'Service', 'api')).toBeDefined();
    expect(find(objects, 'Ingress', 'admin-internal')?.metadata.annotations?.['alb.ingress.kubernetes.io/scheme']).toBe('internal');
    expect(() => render('services:\n  admin:\n    port: 4000\n    internalRouter: true\n', { rack: { name: 'prod' } })).toThrow(RenderError);
  });
});

describe('resources', () => {
  const text = 'services:\n  web:\n    port: 3000\n    resources: [db, "cache:REDIS_URL"]\nresources:\n  db:\n    type: postgres\n    options: {storage: "20", version: "16"}\n  cache:\n    type: redis\n';

  it('run as StatefulSets with a persistent volume in the rack\u2019s storage class', () => {
    const db = find(render(text), 'StatefulSet', 'resource-db');
    expect(container(db).image).toBe('postgres:16');
    expect(at(db, 'spec.volumeClaimTemplates[0].spec')).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'gp3', resources: { requests: { storage: '20Gi' } } });
  });

  it('keep the credentials they are given in their Secret, and the database reads them from it', () => {
    const objects = render(text);
    expect(find(objects, 'Secret', resourceSecretName('db'))?.stringData).toEqual({ database: 'app', password: 'password-of-db', user: 'app' });
    expect(container(find(objects, 'StatefulSet', 'resource-db')).env).toContainEqual({ name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'resource-db-credentials', key: 'password' } } });
    expect(find(objects, 'Secret', 'env-web')?.stringData).toMatchObject({
      DB_URL: 'postgres://app:password-of-db@resource-db.prod-shop.svc.cluster.local:5432/app?sslmode=disable',
      DB_HOST: 'resource-db.prod-shop.svc.cluster.local',
      DB_PASS: 'password-of-db',
      REDIS_URL: 'redis://resource-cache.prod-shop.svc.cluster.local:6379',
    });
  });

  it('whose <NAME>_URL the env sets are external: not run, and linked services get the URL\u2019s parts', () => {
    const objects = render(text, { env: { DB_URL: 'postgres://u:p%40ss@db.example.com:6543/prod' } });
    expect(find(objects, 'StatefulSet', 'resource-db')).toBeUndefined();
    expect(find(objects, 'Secret', resourceSecretName('db'))).toBeUndefined();
    expect(find(objects, 'StatefulSet', 'resource-cache')).toBeDefined();
    expect(find(objects, 'Secret', 'env-web')?.stringData).toMatchObject({ DB_URL: 'postgres://u:p%40ss@db.example.com:6543/prod', DB_USER: 'u', DB_PASS: 'p@ss', DB_HOST: 'db.example.com', DB_PORT: '6543', DB_NAME: 'prod' });
  });

  it('that AWS provisions are not rendered; linked services read them from the provisioner\u2019s Secret', () => {
    const objects = render('services:\n  web:\n    resources: [db]\nresources:\n  db:\n    type: rds-postgres\n');
    expect(objects.some((o) => o.kind === 'StatefulSet')).toBe(false);
    expect(find(objects, 'Secret', 'env-web')?.stringData).not.toHaveProperty('DB_URL');
    expect(container(find(objects, 'Deployment', 'web')).env).toContainEqual({ name: 'DB_URL', valueFrom: { secretKeyRef: { name: 'resource-db-connection', key: 'URL' } } });
  });

  it('renderResources gives the namespace and exactly the resource objects renderRelease has', () => {
    const input = renderInput(text);
    const resources = renderResources({ rack: input.rack, app: input.app, env: input.env, resourceCredentials: input.resourceCredentials, resources: input.manifest.resources });
    expect(resources.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Namespace/prod-shop', 'Secret/resource-db-credentials', 'Secret/resource-cache-credentials', 'StatefulSet/resource-db', 'Service/resource-db', 'StatefulSet/resource-cache', 'Service/resource-cache']);
    const release = renderRelease(input);
    for (const o of resources) expect(release).toContainEqual(o);
  });

  it('fail clearly when a SQL resource has no credentials', () => {
    const input = renderInput(text);
    expect(() => renderRelease({ ...input, resourceCredentials: {} })).toThrow(/resource db \(postgres\) has no credentials/);
  });
});

describe('balancers', () => {
  it('become LoadBalancer Services selecting the service\u2019s pods', () => {
    const balancer = find(render('services:\n  web:\n    port: 3000\nbalancers:\n  main:\n    service: web\n    ports:\n      443: 3000\n    whitelist: [10.0.0.0/8]\n'), 'Service', 'balancer-main');
    expect(balancer?.spec).toMatchObject({ type: 'LoadBalancer', ports: [{ name: 'port-443', port: 443, protocol: 'TCP', targetPort: 3000 }], loadBalancerSourceRanges: ['10.0.0.0/8'] });
  });
});

describe('renderJob', () => {
  const { manifest } = loadManifest('services:\n  web:\n    port: 3000\n    volumes: [/data]\ntimers:\n  report:\n    schedule: "0 * * * *"\n    command: bin/report --all\n    service: web\n    parallelCount: 3\n');
  const request = { app: 'shop', release: 'RGOLDENAAAA' as const, service: 'web', command: 'bin/report --all', image: 'repo:web.B', env: { SECRET: 'value' }, timer: 'report', parallelism: 3 };

  it('runs the command once in the service\u2019s pod: Indexed for parallel timers, with TIMER_INDEX, no retries', () => {
    const job = renderJob({ rack: { name: 'prod' }, request, manifest, name: 'report-1' });
    expect(job.metadata).toMatchObject({ name: 'report-1', namespace: 'prod-shop', labels: { [SLIPWAY_LABELS.timer]: 'report', [SLIPWAY_LABELS.service]: 'web', 'slipway.dev/type': 'job' } });
    expect(job.spec).toMatchObject({ backoffLimit: 0, completionMode: 'Indexed', completions: 3, parallelism: 3, ttlSecondsAfterFinished: 86_400 });
    const c = container(job);
    expect(c.args).toEqual(['bin/report', '--all']);
    expect(c.envFrom).toEqual([{ secretRef: { name: 'env-web' } }]);
    expect(c.env).toContainEqual({ name: 'TIMER_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } });
    expect(c.readinessProbe).toBeUndefined();
    expect(at(job, 'spec.template.spec.restartPolicy')).toBe('Never');
    expect(at(job, 'spec.template.spec.serviceAccountName')).toBe('web');
    expect(JSON.stringify(job)).not.toContain('value"');
  });

  it('runs one copy as a plain Job, and refuses a service the manifest lacks', () => {
    const job = renderJob({ rack: { name: 'prod' }, request: { ...request, parallelism: 1, timer: undefined }, manifest, name: 'run-1' });
    expect(job.spec).not.toHaveProperty('completionMode');
    expect(() => renderJob({ rack: { name: 'prod' }, request: { ...request, service: 'nope' }, manifest, name: 'x' })).toThrow(RenderError);
  });
});
