/**
 * What the Kubernetes side of Slipway passes around: plain Kubernetes objects, the rack settings
 * that shape them, and the input of the renderer. The renderer (`render/`) turns a release into
 * objects with pure functions; the applier and the rollout watcher (`api/`) send them to a cluster.
 */
import type { Manifest } from '../manifest';
import type { Release, ScaleOverride, ServiceImage } from '../pipeline/domain/model';
import type { JobRequest } from '../pipeline/ports/runtime';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** Any Kubernetes object, as the API server's JSON has it. */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** The rack-wide settings that shape rendered objects. */
export interface KubernetesRackSettings {
  /** The rack's name: namespaces are `<rack>-<app>`, as in Convox. */
  readonly name: string;
  /** Ingress class of external services (default `alb`, the AWS Load Balancer Controller's). */
  readonly ingressClass?: string;
  /** Ingress class of `internalRouter` services, if the rack has an internal one. */
  readonly internalIngressClass?: string;
  /** The rack's router domain: a service's default host is `<service>.<app>.<domain>`. */
  readonly domain?: string;
  /** Storage class of containerised resources' volumes (default: the cluster's default class). */
  readonly storageClass?: string;
}

/** Credentials of one containerised resource: generated once, then read back from the cluster on every deploy. */
export interface ResourceCredentials {
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

export interface RenderInput {
  readonly rack: KubernetesRackSettings;
  readonly app: string;
  readonly release: Release;
  /** The release's manifest, loaded with the release's environment. */
  readonly manifest: Manifest;
  readonly images: readonly ServiceImage[];
  /** The release's environment values (they go into Secrets, never into object fields in clear). */
  readonly env: Readonly<Record<string, string>>;
  /** Credentials of each containerised resource by resource name; every such resource of the manifest has an entry. */
  readonly resourceCredentials: Readonly<Record<string, ResourceCredentials>>;
  /** The app's `slipway scale` sizes by service: they win over the manifest's `scale` (render/scale-overrides.ts). */
  readonly scale?: Readonly<Record<string, ScaleOverride>>;
}

/** A one-off job: a timer's run or `slipway run`. */
export interface JobRenderInput {
  readonly rack: KubernetesRackSettings;
  readonly request: JobRequest;
  /** The service as the release's manifest defines it (for its env, volumes, scale and account). */
  readonly manifest: Manifest;
  /** The Job's name (unique per run). */
  readonly name: string;
}

/** Labels every object Slipway renders carries; the applier prunes by them. */
export const SLIPWAY_LABELS = {
  /** Always `slipway`. */
  managedBy: 'app.kubernetes.io/managed-by',
  app: 'slipway.dev/app',
  service: 'slipway.dev/service',
  release: 'slipway.dev/release',
  resource: 'slipway.dev/resource',
  timer: 'slipway.dev/timer',
  /** `service`, `job` or `resource`: a timer's Job pods carry their service's label, and must not count as its processes. */
  type: 'slipway.dev/type',
} as const;

export function namespaceOf(rack: string, app: string): string {
  return `${rack}-${app}`;
}

/**
 * The Secret that keeps a containerised resource's credentials (keys `user`, `password`,
 * `database`): the runtime reads it back before every render, so a redeploy never changes a
 * password; only a resource that has none yet gets new ones.
 */
export function resourceSecretName(resource: string): string {
  return `resource-${resource}-credentials`;
}
