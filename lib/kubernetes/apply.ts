/**
 * The applier: sends a release's objects to the cluster with server-side apply, in the order
 * their dependencies need (a namespace before what lives in it, Secrets before the pods that read
 * them, workloads before the Services and Ingresses in front of them, the autoscaler last), then
 * prunes the app's objects the release no longer has, as Convox's `kubectl apply --prune` does.
 *
 * Every object is applied by the field manager `slipway`. Without force, a field someone else
 * changed (kubectl edit, another controller) fails the apply with an ApplyConflictError naming
 * the manager and the field, instead of being silently overwritten; the rack can be set to force.
 */
import type { ApplyOptions, KubernetesApi, ObjectRef } from './api/kubernetes-api';
import { ApplyConflictError, refOf, SLIPWAY_FIELD_MANAGER } from './api/kubernetes-api';
import type { KubernetesObject } from './objects';
import { resourceSecretName, SLIPWAY_LABELS } from './objects';

/**
 * The field manager that holds a Deployment's replica count for the moment between Slipway
 * giving it up and the autoscaler or `scale` first writing it (see `keepLiveReplicas`).
 */
export const REPLICAS_HANDOVER_MANAGER = 'slipway-replicas-handover';

/** Apply order by kind; kinds not named here go last, in the order the renderer gave them. */
const APPLY_RANK: Readonly<Record<string, number>> = {
  Namespace: 0,
  Secret: 1,
  ConfigMap: 1,
  ServiceAccount: 2,
  PersistentVolumeClaim: 3,
  StatefulSet: 3,
  Deployment: 4,
  DaemonSet: 4,
  Service: 5,
  Ingress: 6,
  HorizontalPodAutoscaler: 7,
};
const UNRANKED = 8;

/** The kinds Slipway renders into an app's namespace: where a prune looks for what a release dropped. */
export const APP_KINDS: readonly { readonly apiVersion: string; readonly kind: string }[] = [
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
];

/**
 * Never pruned: the namespace holds everything else; volume claims hold data a release must not
 * lose by dropping a resource or a volume by mistake; Jobs are pruned once finished (pruneJobs).
 */
const NEVER_PRUNED = new Set(['Namespace', 'PersistentVolumeClaim', 'Job']);

export interface AppScope {
  readonly app: string;
  readonly namespace: string;
}

export interface ApplyResult {
  readonly applied: readonly ObjectRef[];
  readonly pruned: readonly ObjectRef[];
}

export interface KubernetesApplierOptions {
  /** Apply with force: take back fields changed outside Slipway instead of failing (default false). */
  readonly force?: boolean;
}

export class KubernetesApplier {
  constructor(
    private readonly api: KubernetesApi,
    private readonly options: KubernetesApplierOptions = {},
  ) {}

  /** Apply a release's objects, then delete the app's objects it no longer has. */
  async apply(objects: readonly KubernetesObject[], scope: AppScope): Promise<ApplyResult> {
    const applied = await this.applyObjects(objects);
    const pruned = await this.prune(objects, scope);
    return { applied, pruned };
  }

  /** Apply objects in dependency order, without pruning anything (resources are applied this way). */
  async applyObjects(objects: readonly KubernetesObject[]): Promise<ObjectRef[]> {
    const autoscaled = new Set(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').flatMap((hpa) => autoscaledDeployment(hpa)));
    const options: ApplyOptions = { fieldManager: SLIPWAY_FIELD_MANAGER, force: this.options.force ?? false };
    const applied: ObjectRef[] = [];
    for (const object of inApplyOrder(objects)) {
      const body = object.kind === 'Deployment' ? await this.keepLiveReplicas(object, autoscaled.has(objectKey(object))) : object;
      await this.api.apply(body, options);
      applied.push(refOf(object));
    }
    return applied;
  }

  /**
   * Delete the app's objects (found by its app and managed-by labels) that are not in `keep`,
   * dependants first. `spare` keeps more (e.g. a resource's objects when removing an app's processes).
   */
  async prune(keep: readonly KubernetesObject[], scope: AppScope, spare: (object: KubernetesObject) => boolean = () => false): Promise<ObjectRef[]> {
    const wanted = new Set(keep.map(objectKey));
    const kinds = new Map(APP_KINDS.map((k) => [kindKey(k.apiVersion, k.kind), k]));
    for (const o of keep) if (!NEVER_PRUNED.has(o.kind) && !kinds.has(kindKey(o.apiVersion, o.kind))) kinds.set(kindKey(o.apiVersion, o.kind), { apiVersion: o.apiVersion, kind: o.kind });
    const selector = `${SLIPWAY_LABELS.managedBy}=slipway,${SLIPWAY_LABELS.app}=${scope.app}`;
    const stale: KubernetesObject[] = [];
    for (const { apiVersion, kind } of kinds.values()) {
      for (const live of await this.api.list(apiVersion, kind, scope.namespace, selector)) {
        if (wanted.has(objectKey(live)) || NEVER_PRUNED.has(live.kind) || isResourceCredentials(live) || spare(live)) continue;
        stale.push(live);
      }
    }
    const pruned: ObjectRef[] = [];
    for (const object of inApplyOrder(stale).reverse()) {
      // Background: the garbage collector removes what the object owns (a Deployment's ReplicaSets and pods).
      if (await this.api.delete(refOf(object), { propagationPolicy: 'Background' })) pruned.push(refOf(object));
    }
    return pruned;
  }

  /**
   * A redeploy must not reset a replica count set by `scale` or by an autoscaler. With
   * server-side apply a field is kept as long as some field manager owns it: when Slipway omits
   * `spec.replicas`, it gives up its own claim, and the count stays what it is if the
   * autoscaler or `scale` (other managers, which took the field when they last wrote it) owns it.
   *
   * There is one gap: an autoscaler that has not written the count yet does not own it, and
   * Slipway dropping a field only it owns would reset it to the default of 1. So, before
   * omitting it, Slipway hands the field to a second manager of its own by applying the live
   * count under that name (the transfer Kubernetes' server-side apply documentation describes);
   * the first write of the autoscaler or `scale` then takes the field from that manager.
   */
  private async keepLiveReplicas(deployment: KubernetesObject, autoscaled: boolean): Promise<KubernetesObject> {
    const live = await this.api.get(refOf(deployment));
    if (!live) return deployment;
    const owners = replicaOwners(live);
    const setElsewhere = owners.some((m) => m !== SLIPWAY_FIELD_MANAGER);
    if (!autoscaled && !setElsewhere) return deployment;
    if (!setElsewhere) {
      const { name, namespace } = deployment.metadata;
      try {
        await this.api.apply(
          { apiVersion: deployment.apiVersion, kind: deployment.kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec: { replicas: liveReplicas(live) } },
          { fieldManager: REPLICAS_HANDOVER_MANAGER },
        );
      } catch (e) {
        // A conflict means the autoscaler wrote the count in the meantime: it owns it, as wanted.
        if (!(e instanceof ApplyConflictError)) throw e;
      }
    }
    const { replicas: _dropped, ...spec } = (deployment.spec ?? {}) as Record<string, unknown>;
    return { ...deployment, spec };
  }
}

/** Objects sorted by apply rank, keeping the renderer's order within a rank. */
export function inApplyOrder(objects: readonly KubernetesObject[]): KubernetesObject[] {
  return objects
    .map((object, index) => ({ object, index, rank: APPLY_RANK[object.kind] ?? UNRANKED }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.object);
}

/** Identity of an object across API versions of its kind (autoscaling/v1 and v2 name the same HPA). */
export function objectKey(object: Pick<KubernetesObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  return `${kindKey(object.apiVersion, object.kind)}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

function kindKey(apiVersion: string, kind: string): string {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return `${group}/${kind}`;
}

function autoscaledDeployment(hpa: KubernetesObject): string[] {
  const target = (hpa.spec as { scaleTargetRef?: { kind?: string; name?: string; apiVersion?: string } } | undefined)?.scaleTargetRef;
  if (target?.kind !== 'Deployment' || !target.name) return [];
  return [objectKey({ apiVersion: target.apiVersion ?? 'apps/v1', kind: 'Deployment', metadata: { name: target.name, ...(hpa.metadata.namespace ? { namespace: hpa.metadata.namespace } : {}) } })];
}

interface ManagedFieldsEntry {
  readonly manager?: string;
  readonly fieldsV1?: Record<string, unknown>;
}

/** The field managers that own `spec.replicas` of a live object, from its managedFields. */
export function replicaOwners(live: KubernetesObject): string[] {
  const entries = (live.metadata.managedFields ?? []) as readonly ManagedFieldsEntry[];
  return entries.filter((e) => (e.fieldsV1?.['f:spec'] as Record<string, unknown> | undefined)?.['f:replicas'] !== undefined).map((e) => e.manager ?? '');
}

function liveReplicas(live: KubernetesObject): number {
  return (live.spec as { replicas?: number } | undefined)?.replicas ?? 1;
}

/**
 * A containerised resource's credentials Secret outlives the resource, as its volume claim does:
 * the data in a kept volume only opens with the password it was created with.
 */
function isResourceCredentials(object: KubernetesObject): boolean {
  const resource = object.metadata.labels?.[SLIPWAY_LABELS.resource];
  return object.kind === 'Secret' && resource !== undefined && object.metadata.name === resourceSecretName(resource);
}
