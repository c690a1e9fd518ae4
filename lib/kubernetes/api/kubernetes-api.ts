/**
 * The few Kubernetes API calls Slipway makes, behind one small interface: server-side apply,
 * get, list by label selector, delete, pod logs, and a GET through a Service's API-server proxy.
 * `ClientNodeKubernetesApi` implements it over @kubernetes/client-node (for kubeconfig users),
 * `HttpsKubernetesApi` over node:https alone (for the step Lambdas, which must stay small); the
 * applier, the rollout watcher and the runtime only see this interface.
 */
import { SlipwayError } from '../../errors';
import type { KubernetesObject } from '../objects';

/** The field manager Slipway applies as: the owner of every field it renders. */
export const SLIPWAY_FIELD_MANAGER = 'slipway';

/** Names one object; `namespace` is absent for cluster-scoped kinds. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

export interface ApplyOptions {
  /** Field manager of the apply (default `slipway`). */
  readonly fieldManager?: string;
  /** Take fields other managers own (server-side apply's `force`); conflicts fail the apply otherwise. */
  readonly force?: boolean;
}

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface ProxyResponse {
  readonly status: number;
  readonly body: string;
}

export interface KubernetesApi {
  /** Server-side apply: creates the object or merges it with the live one; returns the live object. */
  apply(object: KubernetesObject, options?: ApplyOptions): Promise<KubernetesObject>;
  /** The live object, or `undefined` when there is none (404). */
  get(ref: ObjectRef): Promise<KubernetesObject | undefined>;
  /** Objects of a kind in a namespace whose labels match the selector (e.g. `a=b,c=d`); each carries apiVersion and kind. */
  list(apiVersion: string, kind: string, namespace: string, labelSelector?: string): Promise<KubernetesObject[]>;
  /** Deletes the object; `false` when it was already gone. */
  delete(ref: ObjectRef, options?: { readonly propagationPolicy?: PropagationPolicy }): Promise<boolean>;
  /** A container's log (the pod's only container when `container` is not given). */
  podLogs(namespace: string, pod: string, options?: { readonly container?: string; readonly tailLines?: number }): Promise<string>;
  /**
   * One GET through the API server's proxy to a Service: `service` is `<name>:<port>` or
   * `https:<name>:<port>`. Any HTTP answer of the backend is a response (a 500 is not an error);
   * only a failure to get an answer at all throws.
   */
  proxyGet(namespace: string, service: string, path: string, options?: { readonly timeoutMs?: number }): Promise<ProxyResponse>;
}

/** A health answer's body is only read this far: the gate needs its status, not its content. */
export const PROXY_BODY_LIMIT = 64 * 1024;
export const DEFAULT_PROXY_TIMEOUT_MS = 10_000;

/**
 * The API server's path for a GET of `path` (with its query) through the proxy of `service`
 * (`<name>:<port>` or `https:<name>:<port>`). The backend path is kept as it is, not
 * percent-encoded as one segment, so the backend sees the path the probe names.
 */
export function serviceProxyPath(namespace: string, service: string, path: string): string {
  const target = new URL(path.startsWith('/') ? path : `/${path}`, 'http://backend');
  return `/api/v1/namespaces/${pathSegment(namespace)}/services/${pathSegment(service)}/proxy${target.pathname}${target.search}`;
}

function pathSegment(value: string): string {
  // `name:port` and `https:name:port` keep their colons, which are valid in a path segment.
  return encodeURIComponent(value).replaceAll('%3A', ':');
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

export function refOf(object: KubernetesObject): ObjectRef {
  const { namespace } = object.metadata;
  return { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, ...(namespace ? { namespace } : {}) };
}

/** An answer of the API server that is not a success; `status` is its HTTP status. */
export class KubernetesApiError extends SlipwayError {
  constructor(
    message: string,
    readonly status: number,
    context: Record<string, unknown> = {},
    options?: { cause?: unknown },
    code = 'KUBERNETES_API',
  ) {
    super(message, code, { status, ...context }, options);
  }
}

export class KubernetesNotFoundError extends KubernetesApiError {
  constructor(what: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(`${what} does not exist in the cluster`, 404, context, options, 'KUBERNETES_NOT_FOUND');
  }
}

/** One field another manager owns with a different value than the apply sets. */
export interface FieldConflict {
  readonly manager: string;
  readonly field: string;
}

/**
 * A server-side apply refused because other field managers own fields it would change: someone
 * changed the live object outside Slipway (kubectl edit, another controller).
 */
export class ApplyConflictError extends KubernetesApiError {
  constructor(
    readonly object: ObjectRef,
    readonly conflicts: readonly FieldConflict[],
    options?: { cause?: unknown },
  ) {
    const managers = [...new Set(conflicts.map((c) => c.manager))].map((m) => `"${m}"`).join(', ');
    const fields = conflicts.map((c) => c.field).join(', ');
    super(
      `applying ${describeRef(object)} conflicts with field manager ${managers || '(unknown)'} on ${fields || '(unknown fields)'}: ` +
        'the object was changed outside Slipway; undo that change, or apply with force to take the fields back',
      409,
      { object: describeRef(object), conflicts },
      options,
      'KUBERNETES_APPLY_CONFLICT',
    );
  }
}
