/**
 * `KubernetesApi` over node:https alone, for the step Lambdas: @kubernetes/client-node bundles to
 * about 1 MB (its KubeConfig brings every auth provider, its models every kind), more than a
 * step function may weigh, while Slipway makes a handful of plain REST calls. It behaves as
 * `ClientNodeKubernetesApi` does (the same requests, answers and typed errors), with two
 * differences on purpose: resource paths come from a fixed table of the kinds Slipway renders
 * instead of API discovery, and objects come back as the server's JSON, untouched.
 *
 * This module must not import @kubernetes/client-node, not even through another module.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubernetesObject } from '../objects';
import type { ApplyOptions, KubernetesApi, ObjectRef, PropagationPolicy, ProxyResponse } from './kubernetes-api';
import { DEFAULT_PROXY_TIMEOUT_MS, describeRef, KubernetesApiError, PROXY_BODY_LIMIT, refOf, serviceProxyPath, SLIPWAY_FIELD_MANAGER } from './kubernetes-api';
import { statusError, transportError } from './status';

/** Where the API server is and how to trust and authenticate to it. */
export interface KubernetesConnection {
  /** The API server's URL: `https://…` for a cluster (`http://` serves a local test server). */
  readonly server: string;
  /** The cluster's CA certificate, base64 PEM (a kubeconfig's certificate-authority-data); the system's CAs when absent. */
  readonly caData?: string;
  readonly token: string;
}

/** Asked before every request, so a renewed token is used as soon as there is one; the source caches. */
export type KubernetesConnectionSource = () => Promise<KubernetesConnection>;

export interface HttpsKubernetesApiOptions {
  /** How long one API call may take, answer included (default 30 s); the Service proxy has its own. */
  readonly requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

interface Resource {
  readonly plural: string;
  readonly namespaced: boolean;
}

/** The REST resources of the kinds Slipway renders, reads or deletes, by `<apiVersion> <kind>`. */
const RESOURCES: ReadonlyMap<string, Resource> = new Map(
  (
    [
      ['v1', 'Namespace', 'namespaces', false],
      ['v1', 'Secret', 'secrets', true],
      ['v1', 'ConfigMap', 'configmaps', true],
      ['v1', 'ServiceAccount', 'serviceaccounts', true],
      ['v1', 'Service', 'services', true],
      ['v1', 'Pod', 'pods', true],
      ['v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true],
      ['apps/v1', 'Deployment', 'deployments', true],
      ['apps/v1', 'DaemonSet', 'daemonsets', true],
      ['apps/v1', 'StatefulSet', 'statefulsets', true],
      ['batch/v1', 'Job', 'jobs', true],
      ['networking.k8s.io/v1', 'Ingress', 'ingresses', true],
      ['autoscaling/v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true],
      ['policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true],
    ] as const
  ).map(([apiVersion, kind, plural, namespaced]) => [resourceKey(apiVersion, kind), { plural, namespaced }]),
);

/** A kind this adapter has no REST path for: add it to the table above when Slipway starts rendering it. */
export class KubernetesUnknownKindError extends KubernetesApiError {
  constructor(apiVersion: string, kind: string) {
    super(
      `Slipway does not know the API path of ${apiVersion} ${kind}: the Kubernetes client of the step functions serves only the kinds Slipway renders (${[...RESOURCES.keys()].join(', ')})`,
      0,
      { apiVersion, kind },
      undefined,
      'KUBERNETES_UNKNOWN_KIND',
    );
  }
}

/** No complete answer within the time allowed. */
class NoAnswerError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

interface ApiRequest {
  readonly method: 'GET' | 'PATCH' | 'DELETE';
  /** Path and query, from the server's root. */
  readonly path: string;
  readonly accept: string;
  readonly body?: { readonly contentType: string; readonly text: string };
  readonly timeoutMs: number;
  /** Read the answer's body this far and no further. */
  readonly bodyLimit?: number;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

export class HttpsKubernetesApi implements KubernetesApi {
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly connection: KubernetesConnectionSource,
    options: HttpsKubernetesApiOptions = {},
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  async apply(object: KubernetesObject, options: ApplyOptions = {}): Promise<KubernetesObject> {
    const ref = refOf(object);
    // An apply body must not carry managedFields; the server owns them. JSON is YAML, so the apply-patch+yaml body is JSON.
    const { managedFields: _managed, resourceVersion: _version, ...metadata } = object.metadata;
    const query = new URLSearchParams({ fieldManager: options.fieldManager ?? SLIPWAY_FIELD_MANAGER, force: String(options.force ?? false) });
    const live = await this.call(ref, 'apply', {
      method: 'PATCH',
      path: `${objectPath(ref)}?${query.toString()}`,
      accept: 'application/json',
      body: { contentType: 'application/apply-patch+yaml', text: JSON.stringify({ ...object, metadata }) },
    });
    return asObject(live.body, ref, 'apply');
  }

  async get(ref: ObjectRef): Promise<KubernetesObject | undefined> {
    const live = await this.call(ref, 'read', { method: 'GET', path: objectPath(ref), accept: 'application/json' }, { absentIfNotFound: true });
    return live === undefined ? undefined : asObject(live.body, ref, 'read');
  }

  async list(apiVersion: string, kind: string, namespace: string, labelSelector?: string): Promise<KubernetesObject[]> {
    const ref = { apiVersion, kind, namespace, name: `(list${labelSelector ? ` ${labelSelector}` : ''})` };
    const query = labelSelector ? `?${new URLSearchParams({ labelSelector }).toString()}` : '';
    const answer = await this.call(ref, 'list', { method: 'GET', path: `${collectionPath(apiVersion, kind, namespace)}${query}`, accept: 'application/json' });
    const items = (parseJson(answer.body, ref, 'list') as { items?: unknown[] }).items ?? [];
    return items.map((item) => withType(item, apiVersion, kind));
  }

  async delete(ref: ObjectRef, options: { readonly propagationPolicy?: PropagationPolicy } = {}): Promise<boolean> {
    const query = options.propagationPolicy ? `?${new URLSearchParams({ propagationPolicy: options.propagationPolicy }).toString()}` : '';
    const answer = await this.call(ref, 'delete', { method: 'DELETE', path: `${objectPath(ref)}${query}`, accept: 'application/json' }, { absentIfNotFound: true });
    return answer !== undefined;
  }

  async podLogs(namespace: string, pod: string, options: { readonly container?: string; readonly tailLines?: number } = {}): Promise<string> {
    const ref = { apiVersion: 'v1', kind: 'Pod', namespace, name: pod };
    const query = new URLSearchParams({ ...(options.container ? { container: options.container } : {}), ...(options.tailLines !== undefined ? { tailLines: String(options.tailLines) } : {}) }).toString();
    const answer = await this.call(ref, 'read the log of', { method: 'GET', path: `${objectPath(ref)}/log${query ? `?${query}` : ''}`, accept: 'text/plain, */*' });
    return answer.body;
  }

  async proxyGet(namespace: string, service: string, path: string, options: { readonly timeoutMs?: number } = {}): Promise<ProxyResponse> {
    const connection = await this.connection();
    const timeoutMs = options.timeoutMs ?? DEFAULT_PROXY_TIMEOUT_MS;
    try {
      return await send(connection, { method: 'GET', path: serviceProxyPath(namespace, service, path), accept: '*/*', timeoutMs, bodyLimit: PROXY_BODY_LIMIT });
    } catch (e) {
      if (e instanceof NoAnswerError) throw new KubernetesApiError(`no answer from service ${service} in ${namespace} within ${timeoutMs} ms`, 0, { namespace, service });
      throw new KubernetesApiError(`cannot reach the Kubernetes API at ${connection.server}: ${(e as Error).message}`, 0, { namespace, service }, { cause: e });
    }
  }

  /** One API call about `ref`: a 2xx answer, or `undefined` for a 404 when the caller takes absence as an answer. */
  private async call(ref: ObjectRef, verb: string, request: Omit<ApiRequest, 'timeoutMs'>, options: { absentIfNotFound: true }): Promise<Answer | undefined>;
  private async call(ref: ObjectRef, verb: string, request: Omit<ApiRequest, 'timeoutMs'>): Promise<Answer>;
  private async call(ref: ObjectRef, verb: string, request: Omit<ApiRequest, 'timeoutMs'>, options: { absentIfNotFound?: boolean } = {}): Promise<Answer | undefined> {
    const connection = await this.connection();
    let answer: Answer;
    try {
      answer = await send(connection, { ...request, timeoutMs: this.requestTimeoutMs });
    } catch (e) {
      throw transportError(e, ref, verb);
    }
    if (answer.status >= 200 && answer.status <= 299) return answer;
    if (answer.status === 404 && options.absentIfNotFound) return undefined;
    throw statusError(answer.status, answer.body, ref, verb);
  }
}

function resourceKey(apiVersion: string, kind: string): string {
  return `${apiVersion} ${kind}`;
}

function resourceOf(apiVersion: string, kind: string): Resource {
  const resource = RESOURCES.get(resourceKey(apiVersion, kind));
  if (!resource) throw new KubernetesUnknownKindError(apiVersion, kind);
  return resource;
}

/**
 * `/api/v1[/namespaces/<ns>]/<plural>` or `/apis/<group>/<version>[…]`. A namespaced kind
 * without a namespace lists across namespaces, and names the `default` namespace otherwise,
 * as client-node does; a cluster-scoped kind ignores the namespace.
 */
function collectionPath(apiVersion: string, kind: string, namespace: string | undefined): string {
  const resource = resourceOf(apiVersion, kind);
  const root = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const scope = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${root}${scope}/${resource.plural}`;
}

function objectPath(ref: ObjectRef): string {
  const namespaced = resourceOf(ref.apiVersion, ref.kind).namespaced;
  return `${collectionPath(ref.apiVersion, ref.kind, namespaced ? (ref.namespace ?? 'default') : undefined)}/${encodeURIComponent(ref.name)}`;
}

function parseJson(body: string, ref: ObjectRef, verb: string): unknown {
  try {
    return JSON.parse(body);
  } catch (e) {
    throw new KubernetesApiError(`could not ${verb} ${describeRef(ref)}: the Kubernetes API answered with a body that is not JSON (is the server URL the API server's?)`, 0, { object: describeRef(ref) }, { cause: e });
  }
}

function asObject(body: string, ref: ObjectRef, verb: string): KubernetesObject {
  return withType(parseJson(body, ref, verb), ref.apiVersion, ref.kind);
}

/** List items come without apiVersion and kind. */
function withType(value: unknown, apiVersion: string, kind: string): KubernetesObject {
  const object = value as KubernetesObject;
  object.apiVersion ??= apiVersion;
  object.kind ??= kind;
  return object;
}

/** TLS failures that mean the server's certificate does not chain to the CA given, or names another host. */
const UNTRUSTED_CERTIFICATE = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Sends one request with the connection's token, trusting only its CA; any HTTP status is an answer. */
function send(connection: KubernetesConnection, request: ApiRequest): Promise<Answer> {
  const url = new URL(`${connection.server.replace(/\/+$/, '')}${request.path}`);
  const headers: http.OutgoingHttpHeaders = { Accept: request.accept, Authorization: `Bearer ${connection.token}` };
  if (request.body) {
    headers['Content-Type'] = request.body.contentType;
    headers['Content-Length'] = Buffer.byteLength(request.body.text);
  }
  const secure = url.protocol === 'https:';
  const options: https.RequestOptions = { method: request.method, headers, ...(secure && connection.caData ? { ca: Buffer.from(connection.caData, 'base64').toString('utf8') } : {}) };
  return new Promise<Answer>((resolve, reject) => {
    const req = (secure ? https.request : http.request)(url, options, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        if (request.bodyLimit === undefined || size < request.bodyLimit) chunks.push(chunk);
        size += chunk.length;
      });
      response.on('end', () => {
        clearTimeout(deadline);
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, body: request.bodyLimit === undefined ? body : body.slice(0, request.bodyLimit) });
      });
      response.on('error', (e) => fail(e));
    });
    // One deadline for the whole exchange: a server that accepts and then trickles (or never ends) its answer fails too.
    const deadline = setTimeout(() => {
      fail(new NoAnswerError(request.timeoutMs));
      req.destroy();
    }, request.timeoutMs);
    const fail = (e: Error): void => {
      clearTimeout(deadline);
      reject(e);
    };
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code && UNTRUSTED_CERTIFICATE.has(e.code)) {
        fail(new Error(`the API server at ${url.host} presented a certificate the cluster's CA does not verify (${e.code}: ${e.message}): check the cluster's CA data and endpoint`, { cause: e }));
      } else fail(e);
    });
    req.end(request.body?.text);
  });
}
