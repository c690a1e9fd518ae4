/**
 * `KubernetesApi` over @kubernetes/client-node 1.x: KubernetesObjectApi for apply, get, list and
 * delete of any kind (it finds each kind's resource path by API discovery), CoreV1Api for pod
 * logs, and a plain HTTP(S) request, authenticated by the same KubeConfig, for the Service proxy.
 *
 * The KubeConfig can be a function: EKS tokens expire, so the EKS access hands out a new
 * KubeConfig when it renews the token, and the clients are made again for it.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiException, CoreV1Api, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import type { KubernetesObject } from '../objects';
import type { ApplyOptions, KubernetesApi, ObjectRef, PropagationPolicy, ProxyResponse } from './kubernetes-api';
import { DEFAULT_PROXY_TIMEOUT_MS, KubernetesApiError, PROXY_BODY_LIMIT, serviceProxyPath, SLIPWAY_FIELD_MANAGER } from './kubernetes-api';
import { statusError, transportError } from './status';

export type KubeConfigSource = KubeConfig | (() => Promise<KubeConfig>);

interface Clients {
  readonly config: KubeConfig;
  readonly objects: KubernetesObjectApi;
  readonly core: CoreV1Api;
}

export class ClientNodeKubernetesApi implements KubernetesApi {
  private readonly clients = new WeakMap<KubeConfig, Clients>();

  constructor(private readonly source: KubeConfigSource) {}

  async apply(object: KubernetesObject, options: ApplyOptions = {}): Promise<KubernetesObject> {
    const { objects } = await this.connect();
    const ref = refOfObject(object);
    // An apply body must not carry managedFields; the server owns them.
    const { managedFields: _managed, resourceVersion: _version, ...metadata } = object.metadata;
    try {
      const live = await objects.patch({ ...object, metadata }, undefined, undefined, options.fieldManager ?? SLIPWAY_FIELD_MANAGER, options.force ?? false, PatchStrategy.ServerSideApply);
      return plain(live, object.apiVersion, object.kind);
    } catch (e) {
      throw apiError(e, ref, 'apply');
    }
  }

  async get(ref: ObjectRef): Promise<KubernetesObject | undefined> {
    const { objects } = await this.connect();
    try {
      const live = await objects.read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } });
      return plain(live, ref.apiVersion, ref.kind);
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return undefined;
      throw apiError(e, ref, 'read');
    }
  }

  async list(apiVersion: string, kind: string, namespace: string, labelSelector?: string): Promise<KubernetesObject[]> {
    const { objects } = await this.connect();
    try {
      const list = await objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector);
      return list.items.map((item) => plain(item, apiVersion, kind));
    } catch (e) {
      throw apiError(e, { apiVersion, kind, namespace, name: `(list${labelSelector ? ` ${labelSelector}` : ''})` }, 'list');
    }
  }

  async delete(ref: ObjectRef, options: { readonly propagationPolicy?: PropagationPolicy } = {}): Promise<boolean> {
    const { objects } = await this.connect();
    try {
      await objects.delete({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } }, undefined, undefined, undefined, undefined, options.propagationPolicy);
      return true;
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return false;
      throw apiError(e, ref, 'delete');
    }
  }

  async podLogs(namespace: string, pod: string, options: { readonly container?: string; readonly tailLines?: number } = {}): Promise<string> {
    const { core } = await this.connect();
    try {
      return await core.readNamespacedPodLog({ name: pod, namespace, ...(options.container ? { container: options.container } : {}), ...(options.tailLines !== undefined ? { tailLines: options.tailLines } : {}) });
    } catch (e) {
      throw apiError(e, { apiVersion: 'v1', kind: 'Pod', namespace, name: pod }, 'read the log of');
    }
  }

  /**
   * Not CoreV1Api's connectGetNamespacedServiceProxyWithPath: it percent-encodes the whole path
   * (`/health` becomes `%2Fhealth`) and follows redirects, so the backend would see another path
   * and a 3xx could not be told apart. The request goes out with the KubeConfig's TLS and token.
   */
  async proxyGet(namespace: string, service: string, path: string, options: { readonly timeoutMs?: number } = {}): Promise<ProxyResponse> {
    const { config } = await this.connect();
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new KubernetesApiError('the KubeConfig names no current cluster', 0);
    const url = new URL(`${cluster.server.replace(/\/+$/, '')}${serviceProxyPath(namespace, service, path)}`);
    const request: https.RequestOptions = { method: 'GET', headers: { Accept: '*/*' } };
    await config.applyToHTTPSOptions(request);
    const timeoutMs = options.timeoutMs ?? DEFAULT_PROXY_TIMEOUT_MS;
    return new Promise<ProxyResponse>((resolve, reject) => {
      const send = url.protocol === 'https:' ? https.request : http.request;
      const req = send(url, request, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < PROXY_BODY_LIMIT) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, PROXY_BODY_LIMIT) }));
        response.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new KubernetesApiError(`no answer from service ${service} in ${namespace} within ${timeoutMs} ms`, 0, { namespace, service })));
      req.on('error', (e) => reject(e instanceof KubernetesApiError ? e : new KubernetesApiError(`cannot reach the Kubernetes API at ${cluster.server}: ${e.message}`, 0, { namespace, service }, { cause: e })));
      req.end();
    });
  }

  private async connect(): Promise<Clients> {
    const config = typeof this.source === 'function' ? await this.source() : this.source;
    let clients = this.clients.get(config);
    if (!clients) {
      clients = { config, objects: KubernetesObjectApi.makeApiClient(config), core: config.makeApiClient(CoreV1Api) };
      this.clients.set(config, clients);
    }
    return clients;
  }
}

function refOfObject(object: KubernetesObject): ObjectRef {
  const { namespace } = object.metadata;
  return { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, ...(namespace ? { namespace } : {}) };
}

/**
 * The client deserialises answers into its model classes (timestamps become Dates); the rest of
 * Slipway reads objects as the API's JSON has them. List items come without apiVersion and kind.
 */
function plain(value: unknown, apiVersion: string, kind: string): KubernetesObject {
  const object = JSON.parse(JSON.stringify(value)) as KubernetesObject;
  object.apiVersion ??= apiVersion;
  object.kind ??= kind;
  return object;
}

/** Turns a failure of the client into Slipway's typed errors, naming the object it concerned. */
export function apiError(error: unknown, ref: ObjectRef, verb: string): Error {
  if (error instanceof ApiException) return statusError(error.code, error.body, ref, verb, error);
  return transportError(error, ref, verb);
}
