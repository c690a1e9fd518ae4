/**
 * The Kubernetes rack's Runtime and Provisioner. A release is rendered into objects (the render
 * functions are given, so this file knows nothing of how Convox's manifest maps to objects),
 * applied with server-side apply in dependency order, and what the release dropped is pruned.
 * Rollouts are read back from the workloads and their pods; one-off jobs and timer runs are Jobs.
 *
 * Nothing is kept in memory between calls: the AWS rack calls these from short-lived Lambdas,
 * so every answer comes from the cluster. A containerised resource's credentials, too, are read
 * back from their Secret on every deploy; only a resource that has none yet gets new ones.
 */
import { randomBytes } from 'node:crypto';
import { SlipwayError } from '../errors';
import type { Resource } from '../manifest';
import { loadManifest, resourceEnvPrefix } from '../manifest';
import type { ReleaseId } from '../pipeline/domain/ids';
import type { ApplyRequest, JobRequest, JobState, Provisioner, RolloutState, Runtime, RuntimeProcess } from '../pipeline/ports/runtime';
import type { Clock } from '../pipeline/stores/release-store';
import type { KubernetesApi } from './api/kubernetes-api';
import type { AppScope } from './apply';
import { KubernetesApplier } from './apply';
import type { JobRenderInput, KubernetesObject, KubernetesRackSettings, RenderInput, ResourceCredentials } from './objects';
import { namespaceOf, resourceSecretName, SLIPWAY_LABELS } from './objects';
import { FAIL_FAST_REASONS, probeService, rolloutStatus } from './rollout';

/** What the provisioner renders: the app's resources alone, before any release of it runs. */
export type ResourcesRenderInput = Pick<RenderInput, 'rack' | 'app' | 'env' | 'resourceCredentials'> & { readonly resources: readonly Resource[] };

export interface KubernetesRenderFunctions {
  readonly release: (input: RenderInput) => KubernetesObject[];
  readonly resources: (input: ResourcesRenderInput) => KubernetesObject[];
  readonly job: (input: JobRenderInput) => KubernetesObject;
}

export interface KubernetesRuntimeOptions {
  readonly api: KubernetesApi;
  readonly rack: KubernetesRackSettings;
  readonly render: KubernetesRenderFunctions;
  /**
   * The convox.yml of a release. A job runs with its service's settings from the release's
   * manifest, and a job request names only the release (the pipeline's stores hold the text).
   */
  readonly releaseManifest?: (app: string, release: ReleaseId) => Promise<string>;
  readonly clock?: Clock;
  /** Random bytes for passwords and job names (crypto's by default). */
  readonly random?: (size: number) => Buffer;
  /** Take back fields changed outside Slipway instead of failing the apply (default false). */
  readonly forceConflicts?: boolean;
}

/** The resource types that run in the cluster (the renderer's containerised engines). */
const CONTAINERISED_TYPES = new Set(['postgres', 'postgis', 'mysql', 'mariadb', 'redis', 'memcached']);

/** The label the Job controller puts on a Job's pods. */
const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
/**
 * Job names stay short enough that the Job controller's pod names (`<job>-<index>-<suffix>`)
 * and its job-name label (63 characters at most) fit.
 */
const JOB_NAME_PREFIX_MAX = 40;
const PASSWORD_BYTES = 24;

export class KubernetesRuntimeError extends SlipwayError {
  constructor(message: string, code: string, context: Record<string, unknown> = {}) {
    super(message, code, context);
  }
}

/** Reads each containerised resource's credentials back from the cluster; makes new ones only for a resource that has none. */
async function resourceCredentials(
  api: KubernetesApi,
  namespace: string,
  resources: readonly Resource[],
  env: Readonly<Record<string, string>>,
  random: (size: number) => Buffer,
): Promise<Record<string, ResourceCredentials>> {
  const out: Record<string, ResourceCredentials> = {};
  for (const resource of resources) {
    if (!CONTAINERISED_TYPES.has(resource.type) || Object.hasOwn(env, `${resourceEnvPrefix(resource.name)}_URL`)) continue;
    const secret = await api.get({ apiVersion: 'v1', kind: 'Secret', namespace, name: resourceSecretName(resource.name) });
    const kept = secret ? secretValues(secret) : {};
    out[resource.name] = {
      user: kept.user ?? 'app',
      password: kept.password ?? random(PASSWORD_BYTES).toString('base64url'),
      database: kept.database ?? 'app',
    };
  }
  return out;
}

function secretValues(secret: KubernetesObject): Partial<Record<string, string>> {
  const data = (secret.data ?? {}) as Record<string, string>;
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) values[key] = Buffer.from(value, 'base64').toString('utf8');
  return { ...values, ...((secret.stringData ?? {}) as Record<string, string>) };
}

export class KubernetesRuntime implements Runtime {
  private readonly applier: KubernetesApplier;
  private readonly clock: Clock;
  private readonly random: (size: number) => Buffer;

  constructor(private readonly options: KubernetesRuntimeOptions) {
    this.applier = new KubernetesApplier(options.api, { force: options.forceConflicts ?? false });
    this.clock = options.clock ?? { now: () => Date.now() };
    this.random = options.random ?? randomBytes;
  }

  private scope(app: string): AppScope {
    return { app, namespace: namespaceOf(this.options.rack.name, app) };
  }

  async apply(request: ApplyRequest): Promise<void> {
    const scope = this.scope(request.app);
    const { manifest } = loadManifest(request.manifest, { env: request.env });
    const credentials = await resourceCredentials(this.options.api, scope.namespace, manifest.resources, request.env, this.random);
    const objects = this.options.render.release({
      rack: this.options.rack,
      app: request.app,
      release: request.release,
      manifest,
      images: request.images,
      env: request.env,
      resourceCredentials: credentials,
      ...(request.scale ? { scale: request.scale } : {}),
    });
    await this.applier.apply(objects, scope);
  }

  rolloutStatus(app: string, release: ReleaseId): Promise<RolloutState> {
    return rolloutStatus(this.options.api, this.scope(app).namespace, app, release);
  }

  probe(app: string, release: ReleaseId, service: string): Promise<{ readonly ok: boolean; readonly detail: string }> {
    return probeService(this.options.api, this.scope(app).namespace, app, release, service);
  }

  /**
   * Deletes the app's services: workloads, their Services, Ingresses, autoscalers, env Secrets
   * and accounts. The namespace, the resources and every volume claim stay: a failed first
   * deploy must not cost a database its data, and the next deploy finds them as they were.
   */
  async remove(app: string): Promise<void> {
    await this.applier.prune([], this.scope(app), (object) => object.metadata.labels?.[SLIPWAY_LABELS.resource] !== undefined);
  }

  async runJob(request: JobRequest): Promise<{ readonly job: string }> {
    if (!this.options.releaseManifest) {
      throw new KubernetesRuntimeError('this runtime was made without a way to read a release manifest, so it cannot run jobs', 'KUBERNETES_JOBS_UNAVAILABLE', { app: request.app });
    }
    const { manifest } = loadManifest(await this.options.releaseManifest(request.app, request.release), { env: request.env });
    const name = this.jobName(request);
    const job = this.options.render.job({ rack: this.options.rack, request, manifest, name });
    await this.options.api.apply(job);
    return { job: `${request.app}/${name}` };
  }

  async jobStatus(job: string): Promise<JobState> {
    const ref = this.jobRef(job);
    if (!ref) return { state: 'failed', reason: `${job} is not a job id of this rack` };
    const live = await this.options.api.get({ apiVersion: 'batch/v1', kind: 'Job', ...ref });
    if (!live) return { state: 'failed', reason: `job ${job} no longer exists: it was stopped or pruned` };
    const finished = jobFinish(live);
    if (!finished) return { state: 'running' };
    if (finished.succeeded) return { state: 'succeeded' };
    const exit = await this.failedContainer(ref.namespace, ref.name);
    const why = `${finished.reason ?? 'Failed'}${finished.message ? `: ${finished.message}` : ''}`;
    return {
      state: 'failed',
      reason: exit ? `pod ${exit.pod} container ${exit.container} exited with code ${exit.exitCode}${exit.reason ? ` (${exit.reason})` : ''}; ${why}` : why,
      ...(exit ? { exitCode: exit.exitCode } : {}),
    };
  }

  async runningJobs(app: string, timer: string): Promise<readonly string[]> {
    const jobs = await this.appJobs(app, timer);
    return jobs.filter((j) => !jobFinish(j)).map((j) => `${app}/${j.metadata.name}`);
  }

  async stopJob(job: string): Promise<void> {
    const ref = this.jobRef(job);
    // Background: the garbage collector then stops the Job's pods; the API's default for Jobs would orphan them.
    if (ref) await this.options.api.delete({ apiVersion: 'batch/v1', kind: 'Job', ...ref }, { propagationPolicy: 'Background' });
  }

  async pruneJobs(app: string, finishedBefore: number): Promise<number> {
    let pruned = 0;
    for (const job of await this.appJobs(app)) {
      const finished = jobFinish(job);
      if (!finished || finished.at === undefined || finished.at > finishedBefore) continue;
      if (await this.options.api.delete({ apiVersion: 'batch/v1', kind: 'Job', namespace: this.scope(app).namespace, name: job.metadata.name }, { propagationPolicy: 'Background' })) pruned++;
    }
    return pruned;
  }

  /**
   * The app's pods (`slipway ps`): its services' and its jobs', not its resources'. A job's pod
   * that finished is left out (it is history until the Job is pruned), as is any pod not
   * Slipway's. Sorted by service, then name.
   */
  async listProcesses(app: string): Promise<readonly RuntimeProcess[]> {
    const selector = [`${SLIPWAY_LABELS.managedBy}=slipway`, `${SLIPWAY_LABELS.app}=${app}`, `!${SLIPWAY_LABELS.resource}`].join(',');
    const pods = (await this.options.api.list('v1', 'Pod', this.scope(app).namespace, selector)).map((p) => p as unknown as PodView);
    return pods
      .filter((pod) => !(pod.metadata.labels?.[SLIPWAY_LABELS.type] === 'job' && (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed')))
      .map((pod): RuntimeProcess => {
        const labels = pod.metadata.labels ?? {};
        const service = labels[SLIPWAY_LABELS.service] ?? '';
        const container = pod.spec?.containers?.find((c) => c.name === service) ?? pod.spec?.containers?.[0];
        const argv = [...(container?.command ?? []), ...(container?.args ?? [])];
        return {
          id: pod.metadata.name,
          service,
          release: labels[SLIPWAY_LABELS.release] ?? '',
          status: podStatus(pod),
          // ISO with milliseconds whichever adapter read it (client-node makes it a Date).
          ...(pod.status?.startTime ? { startedAt: new Date(pod.status.startTime).toISOString() } : {}),
          ...(argv.length > 0 ? { command: argv.map(shellQuote).join(' ') } : {}),
        };
      })
      .sort((a, b) => a.service.localeCompare(b.service) || a.id.localeCompare(b.id));
  }

  /** The output of each container of a job's pods, pods by name. */
  async jobLogs(job: string, options: { readonly tailLines?: number } = {}): Promise<readonly { readonly pod: string; readonly container: string; readonly log: string }[]> {
    const ref = this.jobRef(job);
    if (!ref) throw new KubernetesRuntimeError(`${job} is not a job id of this rack`, 'KUBERNETES_JOB_UNKNOWN', { job });
    const pods = (await this.options.api.list('v1', 'Pod', ref.namespace, `${JOB_NAME_LABEL}=${ref.name}`)).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const out: { pod: string; container: string; log: string }[] = [];
    for (const pod of pods) {
      const containers = ((pod.spec as { containers?: { name: string }[] } | undefined)?.containers ?? []).map((c) => c.name);
      for (const container of containers) {
        out.push({ pod: pod.metadata.name, container, log: await this.options.api.podLogs(ref.namespace, pod.metadata.name, { container, ...(options.tailLines !== undefined ? { tailLines: options.tailLines } : {}) }) });
      }
    }
    return out;
  }

  private async appJobs(app: string, timer?: string): Promise<KubernetesObject[]> {
    const selector = [`${SLIPWAY_LABELS.managedBy}=slipway`, `${SLIPWAY_LABELS.app}=${app}`, ...(timer ? [`${SLIPWAY_LABELS.timer}=${timer}`] : [])].join(',');
    const jobs = await this.options.api.list('batch/v1', 'Job', this.scope(app).namespace, selector);
    return jobs.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  /** `timer-<timer>-<time><random>` or `run-<service>-<time><random>`: unique per run, sortable by start within a prefix. */
  private jobName(request: JobRequest): string {
    const prefix = (request.timer ? `timer-${request.timer}` : `run-${request.service}`).toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, JOB_NAME_PREFIX_MAX).replace(/-+$/, '');
    const time = Math.floor(this.clock.now() / 1000).toString(36);
    const entropy = [...this.random(4)].map((b) => (b % 36).toString(36)).join('');
    return `${prefix}-${time}${entropy}`;
  }

  private jobRef(job: string): { namespace: string; name: string } | undefined {
    const slash = job.indexOf('/');
    if (slash <= 0 || slash === job.length - 1) return undefined;
    return { namespace: this.scope(job.slice(0, slash)).namespace, name: job.slice(slash + 1) };
  }

  private async failedContainer(namespace: string, job: string): Promise<{ pod: string; container: string; exitCode: number; reason?: string } | undefined> {
    const pods = (await this.options.api.list('v1', 'Pod', namespace, `${JOB_NAME_LABEL}=${job}`)).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    for (const pod of pods) {
      const statuses = ((pod.status ?? {}) as { containerStatuses?: { name: string; state?: { terminated?: { exitCode: number; reason?: string } } }[] }).containerStatuses ?? [];
      for (const status of statuses) {
        const terminated = status.state?.terminated;
        if (terminated && terminated.exitCode !== 0) return { pod: pod.metadata.name, container: status.name, exitCode: terminated.exitCode, ...(terminated.reason ? { reason: terminated.reason } : {}) };
      }
    }
    return undefined;
  }
}

/** The fields of a pod `listProcesses` reads. */
interface PodView {
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string>; readonly deletionTimestamp?: string };
  readonly spec?: { readonly containers?: readonly { readonly name: string; readonly command?: readonly string[]; readonly args?: readonly string[] }[] };
  readonly status?: {
    readonly phase?: string;
    readonly startTime?: string | Date;
    readonly containerStatuses?: readonly { readonly ready?: boolean; readonly state?: { readonly waiting?: { readonly reason?: string } } }[];
  };
}

/**
 * A pod's `ps` status: `terminating` once deleted; `crashloop` (or Kubernetes' own reason, e.g.
 * `ImagePullBackOff`) when a container is stuck for good; `starting` while running but not ready;
 * otherwise its phase in lower case (`running`, `pending`, `succeeded`, `failed`, `unknown`).
 */
function podStatus(pod: PodView): string {
  if (pod.metadata.deletionTimestamp) return 'terminating';
  const containers = pod.status?.containerStatuses ?? [];
  const stuck = containers.map((c) => c.state?.waiting?.reason).find((r): r is string => r !== undefined && FAIL_FAST_REASONS.has(r));
  if (stuck) return stuck === 'CrashLoopBackOff' ? 'crashloop' : stuck;
  const phase = (pod.status?.phase ?? 'Unknown').toLowerCase();
  if (phase === 'running' && !(containers.length > 0 && containers.every((c) => c.ready))) return 'starting';
  return phase;
}

/** An argument as a shell would need it written, so a listed command reads as it would be typed. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

interface JobCondition {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

/** A Job's outcome once it has one: its Complete or Failed condition, and when it finished. */
function jobFinish(job: KubernetesObject): { succeeded: boolean; reason?: string; message?: string; at?: number } | undefined {
  const status = (job.status ?? {}) as { conditions?: JobCondition[]; completionTime?: string };
  const terminal = status.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  if (!terminal) return undefined;
  const time = status.completionTime ?? terminal.lastTransitionTime;
  const at = time ? Date.parse(time) : undefined;
  return { succeeded: terminal.type === 'Complete', ...(terminal.reason ? { reason: terminal.reason } : {}), ...(terminal.message ? { message: terminal.message } : {}), ...(at !== undefined && !Number.isNaN(at) ? { at } : {}) };
}

/**
 * The Kubernetes rack's Provisioner for containerised resources (PostgreSQL, MySQL, Redis...):
 * applies their objects and reports them ready when their StatefulSets are.
 */
export class KubernetesProvisioner implements Provisioner {
  private readonly applier: KubernetesApplier;
  private readonly random: (size: number) => Buffer;

  constructor(private readonly options: Pick<KubernetesRuntimeOptions, 'api' | 'rack' | 'render' | 'random' | 'forceConflicts'>) {
    this.applier = new KubernetesApplier(options.api, { force: options.forceConflicts ?? false });
    this.random = options.random ?? randomBytes;
  }

  async ensure(app: string, resources: readonly Resource[], env: Readonly<Record<string, string>>): Promise<{ readonly ready: boolean; readonly waitingOn: readonly string[] }> {
    const namespace = namespaceOf(this.options.rack.name, app);
    const credentials = await resourceCredentials(this.options.api, namespace, resources, env, this.random);
    const objects = this.options.render.resources({ rack: this.options.rack, app, resources, env, resourceCredentials: credentials });
    await this.applier.applyObjects(objects);
    const waitingOn: string[] = [];
    for (const set of objects.filter((o) => o.kind === 'StatefulSet')) {
      const live = await this.options.api.get({ apiVersion: set.apiVersion, kind: set.kind, name: set.metadata.name, namespace: set.metadata.namespace ?? namespace });
      if (!live || !statefulSetReady(live)) waitingOn.push(set.metadata.labels?.[SLIPWAY_LABELS.resource] ?? set.metadata.name);
    }
    return { ready: waitingOn.length === 0, waitingOn: waitingOn.sort() };
  }
}

function statefulSetReady(set: KubernetesObject): boolean {
  const desired = (set.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  const status = (set.status ?? {}) as { observedGeneration?: number; readyReplicas?: number; updatedReplicas?: number };
  const observed = (status.observedGeneration ?? 0) >= ((set.metadata.generation as number | undefined) ?? 0);
  return observed && (status.readyReplicas ?? 0) >= desired && (status.updatedReplicas ?? 0) >= desired;
}
