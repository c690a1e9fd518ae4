/**
 * What the CLI needs of a rack, whichever kind it is. The local rack answers over its loopback
 * API; an AWS rack is reached through its CloudFormation outputs: the bundle bucket (uploads),
 * the state machines (every change to what runs), the table (records) and CloudWatch Logs.
 * The CLI never talks to a cluster: IAM on the bucket and the machines is the access control,
 * and the machines' execution history is the audit trail.
 *
 * Every change that rolls something out returns the execution that does it, so the CLI can
 * follow it with `execution()` and `events()` the same way on both racks.
 */
import type { App, Build, Release } from '../../pipeline/domain/model';
import type { SlipwayEvent } from '../../pipeline/events';

/** A state machine of the rack. */
export type RackMachine = 'Deploy' | 'Rollback' | 'Timer' | 'Cleanup';

/** A started state machine execution. */
export interface ExecutionRef {
  readonly machine: RackMachine;
  /** The execution's name (unique per machine). */
  readonly name: string;
}

export interface ExecutionStatus extends ExecutionRef {
  readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  readonly startedAt?: string;
  readonly stoppedAt?: string;
  /** The Fail state's error name (e.g. `DeploymentRolledBack`, `BundleRejected`). */
  readonly error?: string;
  readonly cause?: string;
}

export interface RackInfo {
  readonly name: string;
  readonly kind: 'local' | 'aws';
  /** `running`, or the CloudFormation stack status (`UPDATE_COMPLETE`, ...). */
  readonly status: string;
  /** Where it is: the state folder, or the region. */
  readonly location: string;
  /** The rack's parameters, as `rack params` lists them. */
  readonly parameters: Readonly<Record<string, string>>;
}

export interface ServiceEndpoint {
  readonly service: string;
  /** The public URL; empty for internal services. */
  readonly url: string;
  readonly internal: boolean;
  /** How other services of the app reach it: `<service>.<app>.<rack domain>:<port>`. */
  readonly internalName?: string;
  /** Where to look for what the rack cannot tell (an AWS service without a domain: its load balancer is the cluster's). */
  readonly note?: string;
}

export interface ProcessInfo {
  readonly id: string;
  readonly service: string;
  readonly status: string;
  readonly release: string;
  readonly started?: string;
  readonly command?: string;
}

export interface ServiceScale {
  readonly service: string;
  readonly desired: number;
  /** Undefined where the rack cannot see the processes (an AWS rack: only the cluster knows). */
  readonly running?: number;
  readonly cpu?: number;
  readonly memory?: number;
}

export interface TimerInfo {
  readonly name: string;
  readonly schedule: string;
  readonly service: string;
  readonly command: string;
}

export interface LogEntry {
  readonly time: string;
  readonly service: string;
  /** The process (pod) that wrote it. */
  readonly process: string;
  readonly release?: string;
  readonly text: string;
}

export interface LogQuery {
  readonly service?: string;
  /** Epoch ms: lines from then on. */
  readonly since: number;
  /** Only lines containing this text (CloudWatch Logs filter pattern on AWS). */
  readonly filter?: string;
  /** Keep yielding new lines until the caller stops iterating. */
  readonly follow: boolean;
  /** Stop following (Ctrl-C, the end of a deploy). */
  readonly signal?: AbortSignal;
}

export interface UploadOptions {
  /** False: a build only (`slipway build`): the release is created and not promoted. */
  readonly promote: boolean;
  /** False: a failed deploy keeps its release applied instead of rolling back. */
  readonly autoRollback: boolean;
  readonly description?: string;
  /** Bytes sent so far, of the total. */
  readonly onProgress?: (sent: number, total: number) => void;
}

export interface EnvChange {
  readonly set?: Readonly<Record<string, string>>;
  readonly unset?: readonly string[];
  /** Replace the whole environment with `set` (`env edit`). */
  readonly replace?: boolean;
}

export interface ScaleChange {
  readonly count?: number;
  readonly cpu?: number;
  readonly memory?: number;
}

export interface RunRequest {
  readonly service: string;
  readonly command: string;
  /** The release whose image and environment the job runs with; the current one by default. */
  readonly release?: string;
}

export interface RackConnection {
  readonly name: string;
  readonly kind: 'local' | 'aws';
  info(): Promise<RackInfo>;

  apps(): Promise<App[]>;
  app(name: string): Promise<App>;
  createApp(name: string): Promise<App>;
  /** Delete an app with its processes, resources and records; through a state machine where the rack has one for it. */
  deleteApp(name: string): Promise<ExecutionRef | undefined>;
  /** Stop the app's running deploy and put back the release that served before it. */
  cancel(app: string): Promise<ExecutionRef>;
  unpin(app: string): Promise<App>;

  /** Store a bundle; its upload starts the Deploy machine. */
  upload(app: string, bundle: Buffer, options: UploadOptions): Promise<ExecutionRef & { readonly key: string; readonly version: string }>;
  builds(app: string): Promise<Omit<Build, 'manifest'>[]>;
  /** A build's log (the local rack keeps it in a file; on AWS, CodeBuild's log group). */
  buildLogs(app: string, build: string): Promise<string>;
  releases(app: string): Promise<Release[]>;
  release(app: string, id: string): Promise<Release & { readonly manifest?: string }>;
  /** Roll an existing release out as it is (`releases promote`); the newest when none is given. */
  promote(app: string, release?: string): Promise<ExecutionRef>;
  /** Roll back to a release (copying it forward, pinning the app), through the Rollback machine. */
  rollback(app: string, request: { readonly release?: string; readonly skipGates?: boolean; readonly reason?: string }): Promise<ExecutionRef>;

  /** The app's environment: the current version, or the one a release runs with. Values leave the rack only to here. */
  env(app: string, release?: string): Promise<{ readonly version: number; readonly values: Readonly<Record<string, string>> }>;
  /** A new env version, and a new release with it when the app has one to base it on. */
  changeEnv(app: string, change: EnvChange): Promise<{ readonly envVersion: number; readonly release?: string }>;

  scale(app: string): Promise<ServiceScale[]>;
  /** Change a service's count, cpu or memory; rolls out through the Rollback machine (a promotion of the current release). */
  setScale(app: string, service: string, change: ScaleChange): Promise<ExecutionRef | undefined>;
  processes(app: string): Promise<ProcessInfo[]>;
  services(app: string): Promise<ServiceEndpoint[]>;
  timers(app: string): Promise<TimerInfo[]>;
  runTimer(app: string, timer: string): Promise<ExecutionRef>;
  /** A one-off job through the Timer machine. */
  run(app: string, request: RunRequest): Promise<ExecutionRef>;

  logs(app: string, query: LogQuery): AsyncIterable<LogEntry>;
  /** Recent events, oldest first; of one app or one execution when given. */
  events(filter?: { readonly app?: string; readonly execution?: string; readonly since?: number }): Promise<SlipwayEvent[]>;
  execution(ref: ExecutionRef): Promise<ExecutionStatus>;
}
