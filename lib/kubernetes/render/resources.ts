/**
 * Containerised resources (postgres, postgis, mysql, mariadb, redis, memcached): a StatefulSet
 * with its data on a persistent volume, a ClusterIP Service, and a Secret with the credentials
 * the runtime generated once. Also what a linked service's `<NAME>_URL` and friends are.
 *
 * Where we differ from Convox, on purpose:
 * - StatefulSets with volumeClaimTemplates instead of Deployments with a separate PVC: a volume
 *   per replica is what a database needs, and a rollout cannot start a second pod on the same
 *   ReadWriteOnce volume. Note that volumeClaimTemplates cannot change once created: a new
 *   `storage` option applies to new volumes only.
 * - The credentials are the runtime's, per resource, instead of one password per rack; mysql and
 *   mariadb get a user of their own unless the credentials name `root`.
 * - Names keep their digits (Convox's k8sname drops them, so `db2` and `db` collide).
 * - ClusterIP Services instead of NodePort ones: nothing outside the cluster needs them.
 */
import type { Resource, ResourceEnvLink } from '../../manifest';
import { resourceEnvPrefix } from '../../manifest';
import type { KubernetesObject, ResourceCredentials } from '../objects';
import { resourceSecretName } from '../objects';
import type { AppContext } from './common';
import { RenderError, selectorLabels, slipwayLabels, sortedRecord } from './common';

type Connection = Record<ResourceEnvLink['configMapKey'], string>;

interface Engine {
  readonly image: (version: string) => string;
  readonly defaultVersion: string;
  readonly port: number;
  /** Where the data lives in the container; none for engines that keep nothing (memcached). */
  readonly data?: { readonly mountPath: string; readonly subPath?: string };
  /** Whether the engine has users and databases (the SQL engines). */
  readonly sql: boolean;
  readonly url: (host: string, credentials: ResourceCredentials | undefined) => string;
}

const enc = encodeURIComponent;

const postgres = (image: string, defaultVersion: string): Engine => ({
  image: (v) => `${image}:${v}`,
  defaultVersion,
  port: 5432,
  // A fresh volume holds lost+found, which initdb refuses; PGDATA goes one level down.
  data: { mountPath: '/var/lib/postgresql/data' },
  sql: true,
  url: (host, c) => `postgres://${enc(c?.user ?? '')}:${enc(c?.password ?? '')}@${host}:5432/${enc(c?.database ?? '')}?sslmode=disable`,
});

const mysql = (image: string, defaultVersion: string): Engine => ({
  image: (v) => `${image}:${v}`,
  defaultVersion,
  port: 3306,
  data: { mountPath: '/var/lib/mysql', subPath: 'mysql' },
  sql: true,
  url: (host, c) => `mysql://${enc(c?.user ?? '')}:${enc(c?.password ?? '')}@${host}:3306/${enc(c?.database ?? '')}`,
});

/** Convox's default image versions, so that an app moved from Convox gets the servers it had. */
const ENGINES: Readonly<Record<string, Engine>> = {
  postgres: postgres('postgres', '10.5'),
  postgis: postgres('postgis/postgis', '10-3.2'),
  mysql: mysql('mysql', '5.7.23'),
  mariadb: mysql('mariadb', '10.6.0'),
  redis: { image: (v) => `redis:${v}`, defaultVersion: '4.0.10', port: 6379, data: { mountPath: '/data' }, sql: false, url: (host) => `redis://${host}:6379` },
  memcached: { image: (v) => `memcached:${v}`, defaultVersion: '1.4.34', port: 11211, sql: false, url: (host) => `memcached://${host}:11211` },
};

/** Types AWS provisions (RDS, ElastiCache): another part of the rack creates them, the renderer does not. */
export function isProvisionedOnAws(type: string): boolean {
  return type.startsWith('rds-') || type.startsWith('elasticache-');
}

export function isContainerised(type: string): boolean {
  return Object.hasOwn(ENGINES, type);
}

/** Convox's overlay: when the app env sets `<NAME>_URL`, the resource is external and is not run. */
export function isExternal(resource: string, env: Readonly<Record<string, string>>): boolean {
  return Object.hasOwn(env, `${resourceEnvPrefix(resource)}_URL`);
}

/**
 * The Secret the AWS provisioner writes for an RDS or ElastiCache resource, with the keys URL,
 * USER, PASS, HOST, PORT and NAME; linked services read it by reference.
 */
export function provisionedResourceSecretName(resource: string): string {
  return `resource-${resource}-connection`;
}

export function resourceServiceName(resource: string): string {
  return `resource-${resource}`;
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { postgres: '5432', postgresql: '5432', mysql: '3306', redis: '6379', rediss: '6379', memcached: '11211' };

/** The parts of an external resource's URL; a URL that does not parse is passed on as URL alone. */
export function parseConnection(url: string): Connection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { URL: url, USER: '', PASS: '', HOST: '', PORT: '', NAME: '' };
  }
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const scheme = parsed.protocol.replace(/:$/, '');
  return {
    URL: url,
    USER: decode(parsed.username),
    PASS: decode(parsed.password),
    HOST: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    PORT: parsed.port !== '' ? parsed.port : (DEFAULT_PORTS[scheme] ?? ''),
    NAME: decode(parsed.pathname.replace(/^\//, '')),
  };
}

/**
 * What a linked service gets for a resource: the parts of its connection, or `undefined` when the
 * resource is provisioned on AWS (its values are in the provisioner's Secret).
 */
export function resourceConnection(ctx: AppContext, resource: Resource, env: Readonly<Record<string, string>>, credentials: ResourceCredentials | undefined): Connection | undefined {
  if (isExternal(resource.name, env)) return parseConnection(env[`${resourceEnvPrefix(resource.name)}_URL`] ?? '');
  const engine = ENGINES[resource.type];
  if (!engine) return undefined;
  const c = engine.sql ? requireCredentials(resource, credentials) : undefined;
  const host = `${resourceServiceName(resource.name)}.${ctx.namespace}.svc.cluster.local`;
  return { URL: engine.url(host, c), USER: c?.user ?? '', PASS: c?.password ?? '', HOST: host, PORT: String(engine.port), NAME: c?.database ?? '' };
}

function requireCredentials(resource: Resource, credentials: ResourceCredentials | undefined): ResourceCredentials {
  if (!credentials) {
    throw new RenderError(`resource ${resource.name} (${resource.type}) has no credentials: the runtime must generate them before rendering`, 'CREDENTIALS_MISSING', { resource: resource.name });
  }
  return credentials;
}

/** Resource types the renderer can neither run nor leave to AWS fail here, as they fail a Convox promote. */
export function checkResourceType(resource: Resource): void {
  if (isContainerised(resource.type) || isProvisionedOnAws(resource.type)) return;
  throw new RenderError(`resource ${resource.name} has type "${resource.type}", which no rack runs; use one of ${Object.keys(ENGINES).join(', ')}, or an rds-* or elasticache-* type`, 'RESOURCE_TYPE_UNKNOWN', { resource: resource.name, type: resource.type });
}

export interface ResourceObjects {
  readonly secrets: KubernetesObject[];
  /** StatefulSets and their Services, resource by resource. */
  readonly objects: KubernetesObject[];
}

/** A positive whole number from an option string (`"500"`), or undefined. */
function positiveOption(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return n > 0 ? n : undefined;
}

function secretRef(resource: string, key: keyof ResourceCredentials): Record<string, unknown> {
  return { valueFrom: { secretKeyRef: { name: resourceSecretName(resource), key } } };
}

function engineEnv(resource: Resource, credentials: ResourceCredentials | undefined): Record<string, unknown>[] {
  const name = resource.name;
  switch (resource.type) {
    case 'postgres':
    case 'postgis':
      return [
        { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
        { name: 'POSTGRES_DB', ...secretRef(name, 'database') },
        { name: 'POSTGRES_PASSWORD', ...secretRef(name, 'password') },
        { name: 'POSTGRES_USER', ...secretRef(name, 'user') },
      ];
    case 'mysql':
    case 'mariadb':
      // The images refuse MYSQL_USER=root: root gets the password, any other user its own account.
      return credentials?.user === 'root'
        ? [
            { name: 'MYSQL_DATABASE', ...secretRef(name, 'database') },
            { name: 'MYSQL_ROOT_PASSWORD', ...secretRef(name, 'password') },
          ]
        : [
            { name: 'MYSQL_DATABASE', ...secretRef(name, 'database') },
            { name: 'MYSQL_PASSWORD', ...secretRef(name, 'password') },
            { name: 'MYSQL_RANDOM_ROOT_PASSWORD', value: 'yes' },
            { name: 'MYSQL_USER', ...secretRef(name, 'user') },
          ];
    default:
      // Redis and memcached run without authentication, as on Convox: only the app's pods reach them.
      return [];
  }
}

/**
 * The objects of the containerised resources of an app. External resources (overlay) and those
 * AWS provisions are not rendered here.
 */
export function renderResourceObjects(ctx: AppContext, resources: readonly Resource[], env: Readonly<Record<string, string>>, allCredentials: Readonly<Record<string, ResourceCredentials>>): ResourceObjects {
  const secrets: KubernetesObject[] = [];
  const objects: KubernetesObject[] = [];
  for (const resource of resources) {
    checkResourceType(resource);
    const engine = ENGINES[resource.type];
    // RDS and ElastiCache resources are created on AWS by the rack's provisioner, not in the cluster.
    if (!engine || isExternal(resource.name, env)) continue;
    const credentials = allCredentials[resource.name];
    if (engine.sql) requireCredentials(resource, credentials);
    const labels = slipwayLabels({ app: ctx.app, resource: resource.name, type: 'resource' });
    const selector = selectorLabels({ app: ctx.app, resource: resource.name, type: 'resource' });
    const name = resourceServiceName(resource.name);

    if (credentials) {
      secrets.push({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: resourceSecretName(resource.name), namespace: ctx.namespace, labels },
        type: 'Opaque',
        stringData: { database: credentials.database, password: credentials.password, user: credentials.user },
      });
    }

    const cpu = positiveOption(resource.options.cpu);
    const memory = positiveOption(resource.options.mem);
    const quantities = sortedRecord({ ...(cpu ? { cpu: `${cpu}m` } : {}), ...(memory ? { memory: `${memory}Mi` } : {}) });
    const image = resource.image !== undefined && resource.image !== '' ? resource.image : engine.image(resource.options.version ?? engine.defaultVersion);
    const storage = positiveOption(resource.options.storage) ?? 10;
    const containerEnv = engineEnv(resource, credentials);
    const container = {
      name: resource.type,
      image,
      ...(containerEnv.length > 0 ? { env: containerEnv } : {}),
      ports: [{ name: 'main', containerPort: engine.port, protocol: 'TCP' }],
      readinessProbe: { tcpSocket: { port: 'main' }, periodSeconds: 5, failureThreshold: 3 },
      ...(Object.keys(quantities).length > 0 ? { resources: { requests: quantities, limits: quantities } } : {}),
      ...(engine.data ? { volumeMounts: [{ name: 'data', mountPath: engine.data.mountPath, ...(engine.data.subPath ? { subPath: engine.data.subPath } : {}) }] } : {}),
    };

    objects.push({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, namespace: ctx.namespace, labels },
      spec: {
        serviceName: name,
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: { containers: [container], terminationGracePeriodSeconds: 30 },
        },
        ...(engine.data
          ? {
              volumeClaimTemplates: [
                {
                  metadata: { name: 'data', labels },
                  spec: {
                    accessModes: ['ReadWriteOnce'],
                    ...(ctx.rack.storageClass ? { storageClassName: ctx.rack.storageClass } : {}),
                    resources: { requests: { storage: `${storage}Gi` } },
                  },
                },
              ],
            }
          : {}),
      },
    });

    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ctx.namespace, labels },
      spec: { type: 'ClusterIP', selector, ports: [{ name: 'main', port: engine.port, protocol: 'TCP', targetPort: 'main' }] },
    });
  }
  return { secrets, objects };
}
