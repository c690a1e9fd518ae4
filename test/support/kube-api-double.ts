/**
 * A Kubernetes API server test double: an in-process HTTP server on 127.0.0.1 that follows the
 * API conventions for the kinds Slipway uses, so tests drive the real @kubernetes/client-node
 * client against it. It is not a cluster: no controller runs. A test plays the controllers'
 * part through the methods below (set a Deployment's status, create a crash-looping pod, mark a
 * Job complete, provide a Service's backend).
 *
 * What it implements, over HTTP:
 * - discovery (`/api/v1`, `/apis/<group>/<version>`), which the client uses to find resource paths;
 * - get; list with a label selector (equality, `!=`, `in`, `notin`, exists, `!key`);
 * - server-side apply (PATCH `application/apply-patch+yaml` with `fieldManager`, `force`):
 *   managedFields per manager, a 409 Status with FieldManagerConflict causes when another
 *   manager owns a field the apply would change, fields an applier drops removed unless another
 *   manager owns them (then defaults apply again: a Deployment's replicas fall back to 1);
 * - merge patch (PATCH `application/merge-patch+json`) as an Update, which takes ownership of
 *   the fields it changes (what `kubectl scale` or `kubectl edit` do);
 * - delete with `propagationPolicy` (objects naming the deleted one in ownerReferences go too,
 *   unless Orphan; a Job's default is Orphan, as batch/v1 has it); deleting a namespace empties it;
 * - pod logs (`pods/<name>/log`, `container`, `tailLines`), and the Service proxy
 *   (`services/<name>[:<port>]/proxy/<path>`) forwarded to a handler the test gives;
 * - uid, resourceVersion, generation (bumped when anything but metadata and status changes),
 *   creationTimestamp; Secrets' stringData folded into data; bearer-token authentication.
 *
 * Simplifications, on purpose: every list is atomic for field ownership (a real server merges
 * lists of containers, ports and env by key), and only the defaults the tests rely on are set.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';

type Json = Record<string, unknown>;

interface KindInfo {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const KINDS: readonly KindInfo[] = [
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  { group: '', version: 'v1', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'DaemonSet', plural: 'daemonsets', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', namespaced: true },
  { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress', plural: 'ingresses', namespaced: true },
  { group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', namespaced: true },
  { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true },
];

/** Metadata the server sets; an applier neither owns nor sends it. */
const SERVER_METADATA = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'managedFields']);

interface ManagerEntry {
  readonly manager: string;
  readonly operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  /** Owned leaf paths, each a JSON array of keys. */
  fields: Set<string>;
}

interface Stored {
  readonly info: KindInfo;
  object: Json;
  managers: ManagerEntry[];
}

export interface ObjectKey {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly contentType?: string;
}

export interface ProxyRequest {
  readonly namespace: string;
  readonly service: string;
  readonly port?: string;
  readonly scheme?: string;
  /** The path the backend is asked for, with its query string. */
  readonly path: string;
}

export type ProxyHandler = (request: ProxyRequest) => { status: number; body?: string } | Promise<{ status: number; body?: string }>;

class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Json,
  ) {
    super(message);
  }
}

export class KubeApiTestDouble {
  readonly token = 'kube-api-test-double-token';
  readonly requests: RecordedRequest[] = [];
  /** Deletions as asked, in order. */
  readonly deletions: { readonly kind: string; readonly namespace?: string; readonly name: string; readonly propagationPolicy?: string }[] = [];
  /** The time creationTimestamp and managedFields get. */
  now: () => Date = () => new Date();
  private readonly objects = new Map<string, Stored>();
  private readonly logs = new Map<string, string>();
  private proxyHandler?: ProxyHandler;
  private resourceVersion = 100;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<KubeApiTestDouble> {
    const holder: { double?: KubeApiTestDouble } = {};
    const server = createServer((req, res) => void holder.double?.handle(req, res));
    const double = new KubeApiTestDouble(server);
    holder.double = double;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    return double;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A KubeConfig for the double: plain HTTP on loopback (the client needs skipTLSVerify for http) and its token. */
  kubeConfig(token = this.token): KubeConfig {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'kube-api-test-double', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'test', token }],
      contexts: [{ name: 'kube-api-test-double', cluster: 'kube-api-test-double', user: 'test' }],
      currentContext: 'kube-api-test-double',
    });
    return config;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- What a test does in the controllers' place ----

  /** The Service proxy's backend: every proxied GET is answered by this handler. */
  onServiceProxy(handler: ProxyHandler): void {
    this.proxyHandler = handler;
  }

  setPodLog(namespace: string, pod: string, container: string, text: string): void {
    this.logs.set(`${namespace}/${pod}/${container}`, text);
  }

  /** Create an object as a controller would (an Update by `manager`); its namespace must exist. */
  create(object: Json, manager = 'test-double-controller'): Json {
    const info = this.kindOf(String(object.apiVersion), String(object.kind));
    const metadata = object.metadata as Json;
    const namespace = info.namespaced ? ((metadata.namespace as string | undefined) ?? 'default') : undefined;
    this.requireNamespace(info, namespace);
    const key = storeKey(info, namespace, String(metadata.name));
    if (this.objects.has(key)) throw new Error(`test double: ${key} already exists`);
    const stored = this.newObject(info, namespace, String(metadata.name), withSecretData(clone(object)));
    stored.managers = [{ manager, operation: 'Update', apiVersion: String(object.apiVersion), time: this.timestamp(), fields: new Set(leafPaths(stored.object).map(pathKey)) }];
    this.objects.set(key, stored);
    return this.present(stored);
  }

  /** Change an object as `manager` does with an update (kubectl edit, scale): that manager takes the fields it changes. */
  update(ref: ObjectKey, change: (object: Json) => void, manager: string): Json {
    const stored = this.stored(ref);
    const next = clone(stored.object);
    change(next);
    this.writeUpdate(stored, next, manager);
    return this.present(stored);
  }

  /** Replace the status of an object (what its controller reports); a status change bumps only the resourceVersion. */
  setStatus(ref: ObjectKey, status: Json): void {
    const stored = this.stored(ref);
    stored.object.status = clone(status);
    (stored.object.metadata as Json).resourceVersion = this.nextVersion();
  }

  /** The live object, as a GET would return it. */
  find(ref: ObjectKey): Json | undefined {
    const stored = this.objects.get(storeKey(this.kindOf(ref.apiVersion, ref.kind), ref.namespace, ref.name));
    return stored ? this.present(stored) : undefined;
  }

  /** Every live object of a kind, sorted by namespace and name. */
  all(kind: string): Json[] {
    return [...this.objects.values()]
      .filter((s) => s.info.kind === kind)
      .map((s) => this.present(s))
      .sort((a, b) => objectSortKey(a).localeCompare(objectSortKey(b)));
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const query = Object.fromEntries(url.searchParams);
    const contentType = req.headers['content-type']?.split(';')[0];
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query, ...(contentType ? { contentType } : {}) });
    try {
      if (req.headers.authorization !== `Bearer ${this.token}`) throw new StatusError(401, 'Unauthorized', 'Unauthorized');
      const body = await readBody(req);
      const answer = await this.route(req.method ?? 'GET', url, contentType, body);
      if ('text' in answer) {
        res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/plain' });
        res.end(answer.text);
      } else {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.json));
      }
    } catch (e) {
      const error = e instanceof StatusError ? e : new StatusError(500, 'InternalError', (e as Error).message);
      res.writeHead(error.code, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: error.message, reason: error.reason, ...(error.details ? { details: error.details } : {}), code: error.code }));
    }
  }

  private async route(method: string, url: URL, contentType: string | undefined, body: string): Promise<{ status: number; json: unknown } | { status: number; text: string; contentType?: string }> {
    const parts = url.pathname.split('/').filter(Boolean);
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1]) [group, version, rest] = ['', parts[1], parts.slice(2)];
    else if (parts[0] === 'apis' && parts[1] && parts[2]) [group, version, rest] = [parts[1], parts[2], parts.slice(3)];
    else throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const served = KINDS.filter((k) => k.group === group && k.version === version);
    if (served.length === 0) throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (rest.length === 0 && method === 'GET') {
      return {
        status: 200,
        json: {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: group ? `${group}/${version}` : version,
          resources: served.map((k) => ({ name: k.plural, singularName: k.kind.toLowerCase(), namespaced: k.namespaced, kind: k.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update'] })),
        },
      };
    }
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) [namespace, rest] = [decodeURIComponent(rest[1] ?? ''), rest.slice(2)];
    const [plural, rawName, sub, ...more] = rest;
    const info = served.find((k) => k.plural === plural);
    if (!info) throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (info.namespaced !== (namespace !== undefined) && rawName !== undefined) throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const name = rawName === undefined ? undefined : decodeURIComponent(rawName);

    if (name === undefined) {
      if (method !== 'GET') throw new StatusError(405, 'MethodNotAllowed', `${method} on a collection is not served by the test double`);
      return { status: 200, json: this.list(info, namespace, url.searchParams.get('labelSelector') ?? '') };
    }
    if (sub === 'log' && info.kind === 'Pod' && method === 'GET') return this.podLog(namespace ?? '', name, url.searchParams);
    if (sub === 'proxy' && info.kind === 'Service' && method === 'GET') {
      const backendPath = `/${more.map(decodeURIComponent).join('/')}${url.pathname.endsWith('/') && more.length > 0 ? '/' : ''}${url.search}`;
      return this.proxy(namespace ?? '', name, backendPath);
    }
    if (sub !== undefined) throw new StatusError(404, 'NotFound', `subresource ${sub} of ${info.plural} is not served by the test double`);

    if (method === 'GET') return { status: 200, json: this.present(this.storedOrThrow(info, namespace, name)) };
    if (method === 'DELETE') return { status: 200, json: this.delete(info, namespace, name, url.searchParams.get('propagationPolicy') ?? undefined) };
    if (method === 'PATCH' && contentType === 'application/apply-patch+yaml') {
      const fieldManager = url.searchParams.get('fieldManager');
      if (!fieldManager) throw new StatusError(400, 'BadRequest', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
      const force = url.searchParams.get('force') === 'true';
      return this.apply(info, namespace, name, parseYaml(body) as Json, fieldManager, force);
    }
    if (method === 'PATCH' && contentType === 'application/merge-patch+json') {
      const stored = this.storedOrThrow(info, namespace, name);
      const next = mergePatch(clone(stored.object), JSON.parse(body) as Json);
      this.writeUpdate(stored, next, url.searchParams.get('fieldManager') ?? 'unknown');
      return { status: 200, json: this.present(stored) };
    }
    throw new StatusError(415, 'UnsupportedMediaType', `${method} with ${contentType ?? 'no content type'} is not served by the test double`);
  }

  private list(info: KindInfo, namespace: string | undefined, selector: string): Json {
    const matches = labelMatcher(selector);
    const items = [...this.objects.values()]
      .filter((s) => s.info === info && (namespace === undefined || (s.object.metadata as Json).namespace === namespace))
      .filter((s) => matches(((s.object.metadata as Json).labels ?? {}) as Record<string, string>))
      .map((s) => {
        // List items come without apiVersion and kind, as from a real server.
        const { apiVersion: _a, kind: _k, ...item } = this.present(s);
        return item;
      })
      .sort((a, b) => objectSortKey(a).localeCompare(objectSortKey(b)));
    return { kind: `${info.kind}List`, apiVersion: info.group ? `${info.group}/${info.version}` : info.version, metadata: { resourceVersion: String(this.resourceVersion) }, items };
  }

  private apply(info: KindInfo, namespace: string | undefined, name: string, body: Json, manager: string, force: boolean): { status: number; json: unknown } {
    const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    const metadata = (body.metadata ?? {}) as Json;
    if (body.kind !== info.kind || body.apiVersion !== apiVersion) throw new StatusError(400, 'BadRequest', `the body is a ${String(body.apiVersion)} ${String(body.kind)}, the URL names ${apiVersion} ${info.kind}`);
    if (metadata.name !== name) throw new StatusError(400, 'BadRequest', `the name of the object (${String(metadata.name)}) does not match the name in the URL (${name})`);
    if (metadata.managedFields !== undefined) throw new StatusError(400, 'BadRequest', 'metadata.managedFields must be nil');
    this.requireNamespace(info, namespace);
    const applied = withSecretData(withoutServerFields(body));
    const fields = new Set(leafPaths(applied).map(pathKey));
    const key = storeKey(info, namespace, name);
    const existing = this.objects.get(key);
    if (!existing) {
      const stored = this.newObject(info, namespace, name, applied);
      stored.managers = [{ manager, operation: 'Apply', apiVersion, time: this.timestamp(), fields }];
      this.objects.set(key, stored);
      return { status: 201, json: this.present(stored) };
    }
    const live = existing.object;
    const conflicts: { manager: string; path: string[] }[] = [];
    for (const entry of existing.managers) {
      if (entry.manager === manager && entry.operation === 'Apply') continue;
      for (const owned of entry.fields) {
        for (const wanted of fields) {
          const at = overlap(JSON.parse(owned) as string[], JSON.parse(wanted) as string[]);
          if (at && !sameJson(valueAt(live, at), valueAt(applied, at))) conflicts.push({ manager: entry.manager, path: at });
        }
      }
    }
    if (conflicts.length > 0 && !force) {
      const unique = [...new Map(conflicts.map((c) => [`${c.manager} ${pathKey(c.path)}`, c])).values()];
      const causes = unique.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${apiVersion}`, field: `.${c.path.join('.')}` }));
      const summary = unique.map((c) => `conflict with "${c.manager}" using ${apiVersion}: .${c.path.join('.')}`).join('\n');
      throw new StatusError(409, 'Conflict', `Apply failed with ${unique.length} conflict${unique.length === 1 ? '' : 's'}: ${summary}`, { name, group: info.group, kind: info.plural, causes });
    }
    for (const c of conflicts) {
      for (const entry of existing.managers) if (entry.manager === c.manager) for (const owned of [...entry.fields]) if (overlap(JSON.parse(owned) as string[], c.path)) entry.fields.delete(owned);
    }
    const next = clone(live);
    let mine = existing.managers.find((e) => e.manager === manager && e.operation === 'Apply');
    for (const owned of mine?.fields ?? []) {
      if (fields.has(owned)) continue;
      const others = existing.managers.some((e) => e !== mine && [...e.fields].some((f) => overlap(JSON.parse(f) as string[], JSON.parse(owned) as string[])));
      if (!others) deleteAt(next, JSON.parse(owned) as string[]);
    }
    for (const wanted of fields) {
      const path = JSON.parse(wanted) as string[];
      setAt(next, path, clone(valueAt(applied, path)));
    }
    if (!mine) {
      mine = { manager, operation: 'Apply', apiVersion, time: '', fields };
      existing.managers.push(mine);
    }
    mine.fields = fields;
    mine.time = this.timestamp();
    existing.managers = existing.managers.filter((e) => e.fields.size > 0);
    this.commit(existing, next);
    return { status: 200, json: this.present(existing) };
  }

  private writeUpdate(stored: Stored, next: Json, manager: string): void {
    const normalised = withSecretData(next);
    const before = new Map(leafPaths(stored.object).map((p) => [pathKey(p), p]));
    const after = new Map(leafPaths(normalised).map((p) => [pathKey(p), p]));
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => {
      const path = JSON.parse(k) as string[];
      return !sameJson(valueAt(stored.object, path), valueAt(normalised, path));
    });
    let entry = stored.managers.find((e) => e.manager === manager && e.operation === 'Update');
    for (const k of changed) {
      for (const other of stored.managers) {
        if (other === entry) continue;
        for (const owned of [...other.fields]) if (overlap(JSON.parse(owned) as string[], JSON.parse(k) as string[])) other.fields.delete(owned);
      }
    }
    if (!entry) {
      entry = { manager, operation: 'Update', apiVersion: apiVersionOf(stored.info), time: '', fields: new Set() };
      stored.managers.push(entry);
    }
    for (const k of changed) if (after.has(k)) entry.fields.add(k);
    entry.time = this.timestamp();
    stored.managers = stored.managers.filter((e) => e.fields.size > 0);
    this.commit(stored, normalised);
  }

  /** Store a new state: defaults, generation bumped if the spec changed, a new resourceVersion if anything did. */
  private commit(stored: Stored, next: Json): void {
    applyDefaults(stored.info, next);
    const metadata = next.metadata as Json;
    const specChanged = !sameJson(withoutMetadataAndStatus(stored.object), withoutMetadataAndStatus(next));
    if (specChanged && metadata.generation !== undefined) metadata.generation = Number(metadata.generation) + 1;
    if (!sameJson(stored.object, next)) metadata.resourceVersion = this.nextVersion();
    stored.object = next;
  }

  private newObject(info: KindInfo, namespace: string | undefined, name: string, body: Json): Stored {
    const object = clone(body);
    object.apiVersion = apiVersionOf(info);
    object.kind = info.kind;
    const given = (object.metadata ?? {}) as Json;
    object.metadata = {
      ...given,
      name,
      ...(namespace !== undefined ? { namespace } : {}),
      uid: randomUUID(),
      resourceVersion: this.nextVersion(),
      ...(object.spec !== undefined ? { generation: 1 } : {}),
      creationTimestamp: this.timestamp(),
    };
    applyDefaults(info, object);
    return { info, object, managers: [] };
  }

  private delete(info: KindInfo, namespace: string | undefined, name: string, propagationPolicy: string | undefined): Json {
    const stored = this.storedOrThrow(info, namespace, name);
    this.deletions.push({ kind: info.kind, ...(namespace !== undefined ? { namespace } : {}), name, ...(propagationPolicy ? { propagationPolicy } : {}) });
    // batch/v1 Jobs orphan their pods unless told otherwise; other kinds collect dependants in the background.
    const policy = propagationPolicy ?? (info.kind === 'Job' ? 'Orphan' : 'Background');
    this.remove(stored, policy !== 'Orphan');
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: info.plural, uid: (stored.object.metadata as Json).uid } };
  }

  private remove(stored: Stored, cascade: boolean): void {
    const metadata = stored.object.metadata as Json;
    this.objects.delete(storeKey(stored.info, metadata.namespace as string | undefined, String(metadata.name)));
    for (const other of [...this.objects.values()]) {
      const otherMeta = other.object.metadata as Json;
      const inNamespace = stored.info.kind === 'Namespace' && otherMeta.namespace === metadata.name;
      const owned = cascade && ((otherMeta.ownerReferences ?? []) as Json[]).some((o) => o.uid === metadata.uid);
      if (inNamespace || owned) this.remove(other, cascade);
    }
  }

  private podLog(namespace: string, name: string, params: URLSearchParams): { status: number; text: string } {
    const pod = this.storedOrThrow(this.kindOf('v1', 'Pod'), namespace, name);
    const containers = (((pod.object.spec as Json | undefined)?.containers ?? []) as Json[]).map((c) => String(c.name));
    const container = params.get('container') ?? (containers.length === 1 ? containers[0] : undefined);
    if (!container) throw new StatusError(400, 'BadRequest', `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
    if (!containers.includes(container)) throw new StatusError(400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
    const lines = (this.logs.get(`${namespace}/${name}/${container}`) ?? '').split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
    const tail = params.get('tailLines');
    const shown = tail === null ? lines : lines.slice(-Number(tail));
    return { status: 200, text: shown.map((l) => `${l}\n`).join('') };
  }

  private async proxy(namespace: string, target: string, path: string): Promise<{ status: number; text: string; contentType?: string }> {
    const parts = target.split(':');
    const [scheme, service, port] = parts.length === 3 ? parts : [undefined, parts[0], parts[1]];
    const stored = this.storedOrThrow(this.kindOf('v1', 'Service'), namespace, service ?? '');
    const ports = (((stored.object.spec as Json | undefined)?.ports ?? []) as Json[]).map((p) => ({ port: String(p.port), name: p.name as string | undefined }));
    if ((port !== undefined && !ports.some((p) => p.port === port || p.name === port)) || !this.proxyHandler) {
      throw new StatusError(503, 'ServiceUnavailable', `no endpoints available for service "${target}"`);
    }
    const answer = await this.proxyHandler({ namespace, service: service ?? '', path, ...(port !== undefined ? { port } : {}), ...(scheme ? { scheme } : {}) });
    return { status: answer.status, text: answer.body ?? '' };
  }

  // ---- helpers ----

  private kindOf(apiVersion: string, kind: string): KindInfo {
    const info = KINDS.find((k) => apiVersionOf(k) === apiVersion && k.kind === kind);
    if (!info) throw new Error(`test double: ${apiVersion} ${kind} is not served`);
    return info;
  }

  private stored(ref: ObjectKey): Stored {
    return this.storedOrThrow(this.kindOf(ref.apiVersion, ref.kind), ref.namespace, ref.name);
  }

  private storedOrThrow(info: KindInfo, namespace: string | undefined, name: string): Stored {
    const stored = this.objects.get(storeKey(info, namespace, name));
    if (!stored) throw new StatusError(404, 'NotFound', `${info.plural}${info.group ? `.${info.group}` : ''} "${name}" not found`, { name, group: info.group, kind: info.plural });
    return stored;
  }

  private requireNamespace(info: KindInfo, namespace: string | undefined): void {
    if (info.namespaced && !this.objects.has(storeKey(this.kindOf('v1', 'Namespace'), undefined, namespace ?? ''))) {
      throw new StatusError(404, 'NotFound', `namespaces "${namespace ?? ''}" not found`, { name: namespace, kind: 'namespaces' });
    }
  }

  private present(stored: Stored): Json {
    const object = clone(stored.object);
    (object.metadata as Json).managedFields = stored.managers.map((e) => ({ manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, time: e.time, fieldsType: 'FieldsV1', fieldsV1: fieldsV1(e.fields) }));
    return object;
  }

  private nextVersion(): string {
    return String(++this.resourceVersion);
  }

  private timestamp(): string {
    return this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

function apiVersionOf(info: KindInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

function storeKey(info: KindInfo, namespace: string | undefined, name: string): string {
  return `${info.group}/${info.kind}/${namespace ?? ''}/${name}`;
}

function objectSortKey(object: Json): string {
  const metadata = object.metadata as Json;
  return `${(metadata.namespace as string | undefined) ?? ''}/${metadata.name as string}`;
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (isMap(value)) return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]));
  return value;
}

function isMap(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pathKey(path: readonly string[]): string {
  return JSON.stringify(path);
}

/** Leaf paths of an object's fields, without apiVersion, kind, status and server metadata; lists and empty maps are leaves. */
function leafPaths(object: Json): string[][] {
  const out: string[][] = [];
  const walk = (value: unknown, path: string[]): void => {
    if (isMap(value) && Object.keys(value).length > 0) {
      for (const [k, v] of Object.entries(value)) {
        if (path.length === 0 && (k === 'apiVersion' || k === 'kind' || k === 'status')) continue;
        if (path.length === 1 && path[0] === 'metadata' && SERVER_METADATA.has(k)) continue;
        walk(v, [...path, k]);
      }
    } else if (path.length > 0) out.push(path);
  };
  walk(object, []);
  return out;
}

/** Where two paths overlap (one is a prefix of the other), the shorter one; undefined when they do not. */
function overlap(a: readonly string[], b: readonly string[]): string[] | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return undefined;
  return [...(a.length <= b.length ? a : b)];
}

function valueAt(object: unknown, path: readonly string[]): unknown {
  let value = object;
  for (const key of path) value = isMap(value) ? value[key] : undefined;
  return value;
}

function setAt(object: Json, path: readonly string[], value: unknown): void {
  let at = object;
  for (const key of path.slice(0, -1)) {
    if (!isMap(at[key])) at[key] = {};
    at = at[key] as Json;
  }
  at[path[path.length - 1] ?? ''] = value;
}

/** Removes a field, and the maps it leaves empty. */
function deleteAt(object: Json, path: readonly string[]): void {
  const [head, ...rest] = path;
  if (head === undefined || !(head in object)) return;
  if (rest.length === 0) {
    delete object[head];
    return;
  }
  const child = object[head];
  if (!isMap(child)) return;
  deleteAt(child, rest);
  if (Object.keys(child).length === 0) delete object[head];
}

function withoutServerFields(body: Json): Json {
  const { status: _status, ...rest } = clone(body);
  const metadata = { ...((rest.metadata ?? {}) as Json) };
  for (const key of SERVER_METADATA) if (key !== 'name' && key !== 'namespace') delete metadata[key];
  return { ...rest, metadata };
}

function withoutMetadataAndStatus(object: Json): Json {
  const { metadata: _m, status: _s, ...rest } = object;
  return rest;
}

/** A Secret's stringData is write-only: the server folds it into data, base64-encoded. */
function withSecretData(object: Json): Json {
  if (object.kind !== 'Secret' || !isMap(object.stringData)) return object;
  const data = { ...((object.data ?? {}) as Json) };
  for (const [k, v] of Object.entries(object.stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  const { stringData: _s, ...rest } = object;
  return { ...rest, data };
}

function applyDefaults(info: KindInfo, object: Json): void {
  if ((info.kind === 'Deployment' || info.kind === 'StatefulSet') && isMap(object.spec) && object.spec.replicas === undefined) object.spec.replicas = 1;
  if (info.kind === 'Namespace') object.status = { phase: 'Active' };
}

/** RFC 7386 merge patch. */
function mergePatch(target: Json, patch: Json): Json {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (isMap(v)) target[k] = mergePatch(isMap(target[k]) ? target[k] : {}, v);
    else target[k] = v;
  }
  return target;
}

function fieldsV1(fields: ReadonlySet<string>): Json {
  const root: Json = {};
  for (const field of fields) {
    let at = root;
    for (const key of JSON.parse(field) as string[]) {
      const k = `f:${key}`;
      if (!isMap(at[k])) at[k] = {};
      at = at[k] as Json;
    }
  }
  return root;
}

/** A label selector as the API reads it: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, joined by commas. */
function labelMatcher(selector: string): (labels: Readonly<Record<string, string>>) => boolean {
  const terms = selector.match(/[^,(]+(\([^)]*\))?/g)?.map((t) => t.trim()).filter(Boolean) ?? [];
  const tests = terms.map((term): ((labels: Readonly<Record<string, string>>) => boolean) => {
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) {
      const [, key = '', op, list = ''] = m;
      const values = list.split(',').map((v) => v.trim());
      return op === 'in' ? (l) => l[key] !== undefined && values.includes(l[key]) : (l) => l[key] === undefined || !values.includes(l[key]);
    }
    if ((m = /^([^!=\s]+)\s*!=\s*(\S*)$/.exec(term))) {
      const [, key = '', value] = m;
      return (l) => l[key] !== value;
    }
    if ((m = /^([^!=\s]+)\s*==?\s*(\S*)$/.exec(term))) {
      const [, key = '', value] = m;
      return (l) => l[key] === value;
    }
    if ((m = /^!\s*(\S+)$/.exec(term))) {
      const [, key = ''] = m;
      return (l) => l[key] === undefined;
    }
    if (/^\S+$/.test(term)) return (l) => l[term] !== undefined;
    throw new StatusError(400, 'BadRequest', `unable to parse requirement: ${term}`);
  });
  return (labels) => tests.every((t) => t(labels));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
