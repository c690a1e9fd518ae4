/**
 * The ports a deploy drives besides the stores: the builder that makes images, the provisioner
 * that makes resources, the runtime that runs releases, and the app environment. The AWS rack
 * implements them with CodeBuild, CloudFormation and EKS; the local rack on this machine.
 */
import type { Resource } from '../../manifest';
import type { BuildId, ReleaseId } from '../domain/ids';
import type { BundleObject, Release, ScaleOverride, ServiceImage } from '../domain/model';
import type { BuildUnit } from '../steps/plan-builds';

export interface BuildRequest {
  readonly app: string;
  readonly build: BuildId;
  readonly unit: BuildUnit;
  readonly bundle: BundleObject;
  /** The extracted bundle, where the builder can read it (the local rack); AWS builders fetch the bundle themselves. */
  readonly bundleDir?: string;
}

export type BuildState = { readonly state: 'running' } | { readonly state: 'succeeded'; readonly image: string } | { readonly state: 'failed'; readonly reason: string };

export interface Builder {
  /** Start building one unit; builds take minutes, so the pipeline polls `status`. */
  start(request: BuildRequest): Promise<{ readonly ref: string }>;
  status(ref: string): Promise<BuildState>;
  /** Delete images no release refers to any more (cleanup); images it does not know are ignored. */
  deleteImages(app: string, images: readonly string[]): Promise<void>;
}

export interface Provisioner {
  /**
   * Create or update the app's resources; idempotent. `ready: false` means: ask again after a wait.
   * `env` is the release's environment: a resource whose `<NAME>_URL` it sets is external, as in
   * Convox, and is not created.
   */
  ensure(app: string, resources: readonly Resource[], env: Readonly<Record<string, string>>): Promise<{ readonly ready: boolean; readonly waitingOn: readonly string[] }>;
}

export interface ServiceRollout {
  readonly name: string;
  readonly desired: number;
  readonly ready: number;
  readonly restarts: number;
  /** Why processes are not ready, when the runtime knows (e.g. the last health check's answer). */
  readonly waitingOn?: string;
}

export type RolloutState =
  | { readonly state: 'progressing'; readonly services: readonly ServiceRollout[] }
  | { readonly state: 'complete'; readonly services: readonly ServiceRollout[] }
  /** Failed fast: a crash loop, an image that cannot be pulled, a missed progress deadline. */
  | { readonly state: 'failed'; readonly reason: string; readonly service?: string; readonly services: readonly ServiceRollout[] };

export interface ApplyRequest {
  readonly app: string;
  readonly release: Release;
  /** The release's convox.yml. */
  readonly manifest: string;
  readonly images: readonly ServiceImage[];
  /** The release's environment values (never logged). */
  readonly env: Readonly<Record<string, string>>;
  /** The app's `slipway scale` sizes, by service; they win over the manifest's `scale`. */
  readonly scale?: Readonly<Record<string, ScaleOverride>>;
}

export interface JobRequest {
  readonly app: string;
  readonly release: ReleaseId;
  readonly service: string;
  /** The command, shell-split by the runtime. */
  readonly command: string;
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  /** The timer this job runs for, if any (for concurrency checks and labels). */
  readonly timer?: string;
  /** Copies to run at once, each with TIMER_INDEX set (timers' parallelCount). */
  readonly parallelism: number;
}

export type JobState = { readonly state: 'running' } | { readonly state: 'succeeded' } | { readonly state: 'failed'; readonly reason: string; readonly exitCode?: number };

/** One process of an app as the runtime sees it now (`slipway ps`): a pod on a cluster, a host process on the local rack. */
export interface RuntimeProcess {
  /** The process's name: the pod's, or `<service>.<release>.<index>` on the local rack. */
  readonly id: string;
  readonly service: string;
  readonly release: string;
  /** `running`, `starting`, `pending`, `crashloop`, `failed`, `succeeded`, `terminating`...: what `ps` shows. */
  readonly status: string;
  /** ISO time it started, when the runtime knows. */
  readonly startedAt?: string;
  /** The command it runs, when its service sets one (otherwise the image's). */
  readonly command?: string;
}

export interface Runtime {
  /** Roll the release out (a rolling update of every service); returns at once. */
  apply(request: ApplyRequest): Promise<void>;
  rolloutStatus(app: string, release: ReleaseId): Promise<RolloutState>;
  /** One health check of a service of the release: its health path answers 2xx or 3xx. */
  probe(app: string, release: ReleaseId, service: string): Promise<{ readonly ok: boolean; readonly detail: string }>;
  /** Take an app's processes away entirely (a first deploy that failed has nothing to roll back to). */
  remove(app: string): Promise<void>;
  /** Run a one-off job (a timer's run, `slipway run`) in a service's image. */
  runJob(request: JobRequest): Promise<{ readonly job: string }>;
  jobStatus(job: string): Promise<JobState>;
  /** Jobs of a timer still running (for `concurrency: forbid` and `replace`). */
  runningJobs(app: string, timer: string): Promise<readonly string[]>;
  stopJob(job: string): Promise<void>;
  /** Delete finished jobs older than the given time (epoch ms); returns how many. */
  pruneJobs(app: string, finishedBefore: number): Promise<number>;
  /** The app's processes now: its services' and its running jobs'; none for an app that runs nothing. */
  listProcesses(app: string): Promise<readonly RuntimeProcess[]>;
}

/** Runs each app's timers on schedule: EventBridge Scheduler on AWS, a cron loop on the local rack. */
export interface Scheduler {
  /**
   * What is wrong with the timers' schedules on this rack (EventBridge cannot express every cron
   * expression); empty when all can run. Checked before a build, so a schedule the rack cannot
   * run rejects the bundle instead of failing the deploy after its rollout.
   */
  problems(timers: readonly { readonly name: string; readonly schedule: string }[]): readonly string[];
  /** Make the app's schedules match its timers exactly: create, update and delete to fit. */
  reconcile(app: string, timers: readonly { readonly name: string; readonly schedule: string }[]): Promise<{ readonly created: number; readonly updated: number; readonly deleted: number }>;
}

/** Alarms a health gate can require to stay OK: CloudWatch on AWS; the local rack has none. */
export interface AlarmMonitor {
  /** The names among `names` that are in ALARM now. */
  firing(names: readonly string[]): Promise<readonly string[]>;
}

export interface EnvStore {
  /** The app's current environment and its version (version 0 is the empty environment). */
  current(app: string): Promise<{ readonly version: number; readonly values: Readonly<Record<string, string>> }>;
  get(app: string, version: number): Promise<Readonly<Record<string, string>>>;
  /** Delete every version of an app's environment (the app is deleted); returns how many versions went. */
  deleteApp(app: string): Promise<number>;
}
