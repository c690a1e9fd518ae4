/**
 * How a release's rollout is going, read from the cluster: each service's workload (Deployment,
 * or DaemonSet for agents) as `kubectl rollout status` judges it — the controller has seen the
 * latest spec, every replica is updated and available, no old one is left — and a missed progress
 * deadline fails it. Pods of the release are read too, so a crash loop, an image that cannot be
 * pulled or a container that cannot be configured fail the rollout at once, naming the pod,
 * the container and the reason, instead of waiting out the deadline.
 *
 * The health gate's probe GETs a service's health path through the API server's Service proxy.
 */
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainerStatus } from 'kubernetes-models/v1/ContainerStatus';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IService } from 'kubernetes-models/v1/Service';
import type { ReleaseId } from '../pipeline/domain/ids';
import type { RolloutState, ServiceRollout } from '../pipeline/ports/runtime';
import type { KubernetesApi } from './api/kubernetes-api';
import type { KubernetesObject } from './objects';
import { SLIPWAY_LABELS } from './objects';

/** Waiting reasons no amount of waiting cures: the rollout fails as soon as one shows. */
export const FAIL_FAST_REASONS: ReadonlySet<string> = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError']);

const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

interface Workload {
  readonly service: string;
  readonly object: KubernetesObject;
  readonly release?: string;
  readonly pod?: IPod['spec'];
}

/** The app's service workloads (Deployments and DaemonSets; a resource's StatefulSet is the provisioner's). */
async function serviceWorkloads(api: KubernetesApi, namespace: string, app: string, service?: string): Promise<Workload[]> {
  const selector = [`${SLIPWAY_LABELS.managedBy}=slipway`, `${SLIPWAY_LABELS.app}=${app}`, `!${SLIPWAY_LABELS.resource}`, ...(service ? [`${SLIPWAY_LABELS.service}=${service}`] : [])].join(',');
  const found = [...(await api.list('apps/v1', 'Deployment', namespace, selector)), ...(await api.list('apps/v1', 'DaemonSet', namespace, selector))];
  return found
    .map((object) => {
      const template = (object as unknown as IDeployment).spec?.template;
      const release = template?.metadata?.labels?.[SLIPWAY_LABELS.release] ?? object.metadata.labels?.[SLIPWAY_LABELS.release];
      return { service: object.metadata.labels?.[SLIPWAY_LABELS.service] ?? object.metadata.name, object, ...(release ? { release } : {}), ...(template?.spec ? { pod: template.spec } : {}) };
    })
    .sort((a, b) => a.service.localeCompare(b.service));
}

export async function rolloutStatus(api: KubernetesApi, namespace: string, app: string, release: ReleaseId): Promise<RolloutState> {
  const workloads = await serviceWorkloads(api, namespace, app);
  const other = workloads.find((w) => w.release !== release);
  if (other) {
    return { state: 'failed', reason: `release ${release} is not the one applied to ${app}: service ${other.service} runs ${other.release ?? 'no Slipway release'}`, service: other.service, services: [] };
  }
  const pods = (await api.list('v1', 'Pod', namespace, `${SLIPWAY_LABELS.app}=${app},${SLIPWAY_LABELS.release}=${release},${SLIPWAY_LABELS.type}!=job`))
    .map((p) => p as unknown as IPod & KubernetesObject)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const services: ServiceRollout[] = [];
  let failure: { service: string; reason: string } | undefined;
  let complete = true;
  for (const workload of workloads) {
    const mine = pods.filter((p) => p.metadata.labels?.[SLIPWAY_LABELS.service] === workload.service && !p.metadata.deletionTimestamp);
    const progress = workload.object.kind === 'DaemonSet' ? daemonSetProgress(workload.object) : deploymentProgress(workload.object);
    const restarts = mine.reduce((n, p) => n + containerStatuses(p).reduce((m, c) => m + (c.restartCount ?? 0), 0), 0);
    const waitingOn = progress.done ? undefined : (podWaiting(mine) ?? progress.waitingOn);
    services.push({ name: workload.service, desired: progress.desired, ready: progress.ready, restarts, ...(waitingOn ? { waitingOn } : {}) });
    if (!progress.done) complete = false;
    const reason = podFailure(mine) ?? progress.failure;
    if (reason && !failure) failure = { service: workload.service, reason };
  }
  if (failure) return { state: 'failed', reason: failure.reason, service: failure.service, services };
  return { state: complete ? 'complete' : 'progressing', services };
}

interface Progress {
  readonly desired: number;
  readonly ready: number;
  readonly done: boolean;
  readonly waitingOn?: string;
  readonly failure?: string;
}

function deploymentProgress(object: KubernetesObject): Progress {
  const deployment = object as unknown as IDeployment & KubernetesObject;
  const desired = deployment.spec?.replicas ?? 1;
  const status = deployment.status ?? {};
  const observed = (status.observedGeneration ?? 0) >= (deployment.metadata.generation ?? 0);
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const total = status.replicas ?? 0;
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  const failure = progressing?.reason === 'ProgressDeadlineExceeded' ? `ProgressDeadlineExceeded: ${progressing.message ?? `deployment ${deployment.metadata.name} did not progress within its deadline`}` : undefined;
  const ready = observed ? Math.min(updated, available) : 0;
  if (!observed) return { desired, ready, done: false, waitingOn: 'the deployment controller has not seen the new spec yet', ...(failure ? { failure } : {}) };
  const done = updated >= desired && total <= updated && available >= desired;
  const waitingOn = total > updated ? `${total - updated} old replica(s) still terminating` : `${updated} of ${desired} updated, ${available} available`;
  return { desired, ready, done, ...(done ? {} : { waitingOn }), ...(failure ? { failure } : {}) };
}

function daemonSetProgress(object: KubernetesObject): Progress {
  const daemonSet = object as unknown as IDaemonSet & KubernetesObject;
  const status = daemonSet.status;
  const desired = status?.desiredNumberScheduled ?? 0;
  const observed = (status?.observedGeneration ?? 0) >= (daemonSet.metadata.generation ?? 0);
  const updated = status?.updatedNumberScheduled ?? 0;
  const available = status?.numberAvailable ?? 0;
  if (!status || !observed) return { desired, ready: 0, done: false, waitingOn: 'the daemon set controller has not seen the new spec yet' };
  const done = updated >= desired && available >= desired;
  return { desired, ready: Math.min(updated, available), done, ...(done ? {} : { waitingOn: `${updated} of ${desired} nodes updated, ${available} available` }) };
}

function containerStatuses(pod: IPod): IContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

/** The first container of the release's pods that is stuck for good, as `Reason: pod P container C: detail`. */
function podFailure(pods: readonly (IPod & KubernetesObject)[]): string | undefined {
  for (const pod of pods) {
    for (const container of containerStatuses(pod)) {
      const waiting = container.state?.waiting;
      if (!waiting?.reason || !FAIL_FAST_REASONS.has(waiting.reason)) continue;
      const last = container.lastState?.terminated;
      const exit = last ? `; last exit code ${last.exitCode}${last.reason ? ` (${last.reason})` : ''}, restarted ${container.restartCount} time(s)` : '';
      return `${waiting.reason}: pod ${pod.metadata.name} container ${container.name}${waiting.message ? `: ${waiting.message}` : ''}${exit}`;
    }
  }
  return undefined;
}

/** Why a pod of the release is not ready yet, when it says. */
function podWaiting(pods: readonly (IPod & KubernetesObject)[]): string | undefined {
  for (const pod of pods) {
    for (const container of containerStatuses(pod)) {
      const waiting = container.state?.waiting;
      if (waiting?.reason) return `pod ${pod.metadata.name} container ${container.name}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
    }
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready && ready.status !== 'True') return `pod ${pod.metadata.name} not ready${ready.message ? `: ${ready.message}` : ''}`;
    if (pod.status?.phase === 'Pending') {
      const scheduled = pod.status.conditions?.find((c) => c.type === 'PodScheduled' && c.status !== 'True');
      return `pod ${pod.metadata.name} pending${scheduled?.message ? `: ${scheduled.message}` : ''}`;
    }
  }
  return undefined;
}

/**
 * One health check of a service of the release, through the API server's proxy to its Service:
 * the readiness probe's path (the manifest's `health.path`, `/` without one) answers 2xx or 3xx.
 */
export async function probeService(api: KubernetesApi, namespace: string, app: string, release: ReleaseId, service: string): Promise<{ ok: boolean; detail: string }> {
  const workload = (await serviceWorkloads(api, namespace, app, service))[0];
  if (!workload) return { ok: false, detail: `app ${app} runs no service ${service}` };
  if (workload.release !== release) return { ok: false, detail: `service ${service} runs release ${workload.release ?? '(none)'}, not ${release}` };
  const selector = `${SLIPWAY_LABELS.managedBy}=slipway,${SLIPWAY_LABELS.app}=${app},${SLIPWAY_LABELS.service}=${service},!${SLIPWAY_LABELS.resource}`;
  const endpoints = (await api.list('v1', 'Service', namespace, selector)).map((s) => s as unknown as IService & KubernetesObject);
  const target = endpoints.find((s) => s.metadata.name === service) ?? endpoints[0];
  const port = target?.spec?.ports?.find((p) => p.name === 'main') ?? target?.spec?.ports?.[0];
  if (!target || !port) return { ok: false, detail: `service ${service} has no port to check` };
  const readiness = workload.pod?.containers.find((c) => c.readinessProbe?.httpGet)?.readinessProbe;
  const path = readiness?.httpGet?.path ?? '/';
  const scheme = readiness?.httpGet?.scheme === 'HTTPS' ? 'https:' : '';
  const timeoutMs = readiness?.timeoutSeconds ? readiness.timeoutSeconds * 1000 : DEFAULT_PROBE_TIMEOUT_MS;
  try {
    const answer = await api.proxyGet(namespace, `${scheme}${target.metadata.name}:${port.port}`, path, { timeoutMs });
    const ok = answer.status >= 200 && answer.status < 400;
    return { ok, detail: `${path} answered HTTP ${answer.status}${ok ? '' : apiServerMessage(answer.body)}` };
  } catch (e) {
    return { ok: false, detail: `${path}: ${(e as Error).message}` };
  }
}

/** The API server's own refusal (no endpoints, service unavailable) comes as a Status; a backend's body is not quoted. */
function apiServerMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { kind?: string; message?: string };
    return status.kind === 'Status' && status.message ? ` (${status.message})` : '';
  } catch {
    return '';
  }
}
