/**
 * The CLI's connection to an AWS rack: rack `<name>` is the CloudFormation stack `Slipway-<name>`
 * in one region, and everything here goes through that stack's outputs with the caller's own AWS
 * credentials (the SDK's default chain: environment, profile, SSO, instance role).
 *
 * Every change to what runs goes through the bundle bucket (an upload starts the Deploy machine)
 * or a state machine (Rollback for promotions, rollbacks, scaling and cancels; Timer for timers and
 * one-off runs; Cleanup, the rack's maintenance machine, for app deletion), so IAM on those is the
 * access control and the executions are the audit trail. Reads come from the table, S3, Step
 * Functions, CloudWatch Logs and CloudFormation. The CLI never talks to the cluster: the processes
 * are asked of the Cleanup machine (a read-only query its step answers from the cluster), and
 * what is left that only the cluster knows (how many replicas run) is reported as unknown.
 *
 * Two writes go to the table directly, not through a machine:
 * - createApp: an app record changes nothing that runs (no namespace, no deploy); the first
 *   upload's Deploy creates what the app needs.
 * - env changes: values must never enter a state machine's input or execution history, so the
 *   CLI seals them with the rack's KMS key itself (changeEnvironment, KmsEnvStore); the release
 *   it makes is rolled out by a promotion, through the Rollback machine.
 * unpin also writes the app record directly (as the pipeline's unpinApp does): it only lets
 * waiting uploads proceed.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, FilterLogEventsCommand, ResourceNotFoundException, StartLiveTailCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { FilteredLogEvent, LiveTailSessionLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, CodeBuildClient, ListBuildsForProjectCommand } from '@aws-sdk/client-codebuild';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ExecutionDoesNotExist, ListExecutionsCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { ExecutionListItem } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { Upload } from '@aws-sdk/lib-storage';
import { SlipwayError } from '../../errors';
import { DynamoRecordTable } from '../../aws/adapters/dynamo-record-table';
import { EventBridgeEventSink } from '../../aws/adapters/eventbridge-event-sink';
import { KmsEnvStore } from '../../aws/adapters/kms-env-store';
import { NULL_VERSION } from '../../aws/adapters/s3-bundle-store';
import { BUILD_ENV } from '../../aws/build/buildspec';
import { StepFunctionsStarter } from '../../aws/adapters/step-functions-starter';
import { namespaceOf } from '../../kubernetes/objects';
import { loadManifest } from '../../manifest';
import type { Manifest } from '../../manifest';
import { bundleKey, deployExecutionName } from '../../pipeline/bundle/key';
import type { BuildId, ReleaseId } from '../../pipeline/domain/ids';
import type { App, Build, Release } from '../../pipeline/domain/model';
import { APP_NAME } from '../../pipeline/domain/model';
import { EventPublisher } from '../../pipeline/events';
import type { SlipwayEvent } from '../../pipeline/events';
import { changeEnvironment } from '../../pipeline/steps/env-change';
import { NotFoundError, ReleaseStore, systemClock } from '../../pipeline/stores/release-store';
import type { Clock } from '../../pipeline/stores/release-store';
import type {
  EnvChange,
  ExecutionRef,
  ExecutionStatus,
  LogEntry,
  LogQuery,
  ProcessInfo,
  RackConnection,
  RackInfo,
  RackMachine,
  RunRequest,
  ScaleChange,
  ServiceEndpoint,
  ServiceScale,
  TimerInfo,
  UploadOptions,
} from './rack-connection';
import { applicationLogGroup, appLogPattern, eventLogPattern, logGroupArn, matchesText, parseContainerRecord, parseEventRecord } from './aws/cloudwatch-records';
import type { ExecutionKind } from './aws/executions';
import type { RuntimeProcess } from '../../pipeline/ports/runtime';
import { executionArn, executionName, executionStatus } from './aws/executions';
import type { RackOutputs, RackStackInfo } from './aws/rack-stack-outputs';
import { describeRackStack, envKeyId, listRackStacks, rackOutputs } from './aws/rack-stack-outputs';

export { RackNotFoundError, RackStackIncompleteError } from './aws/rack-stack-outputs';

/** The name every bundle the CLI uploads gets (the local rack uses the same). */
export const BUNDLE_NAME = 'app.tgz';

/**
 * `ServiceScale.running` on an AWS rack: how many replicas run is known only inside the cluster,
 * which the CLI does not reach. (Proposed: make `running` optional in RackConnection.)
 */

/** Something only the cluster can answer, or that has no path that avoids the cluster yet. */
export class NotOnAwsRackError extends SlipwayError {
  constructor(what: string, instead: string, context: Record<string, unknown> = {}) {
    super(`${what} is not available through an AWS rack (the CLI does not reach the cluster): ${instead}`, 'NOT_ON_AWS_RACK', context);
  }
}

export class AppNameError extends SlipwayError {
  constructor(name: string) {
    super(`${JSON.stringify(name)} is not a valid app name: use lower-case letters, digits and dashes, starting with a letter (at most 63)`, 'APP_NAME_INVALID', { app: name });
  }
}

/** The app has no release yet, so nothing it runs can be described. */
export class NoReleaseError extends SlipwayError {
  constructor(app: string, what: string) {
    super(`app ${app} has no release yet, so it has no ${what}: deploy it first (\`slipway deploy -a ${app}\`)`, 'NO_RELEASE', { app });
  }
}

export class UnknownServiceError extends SlipwayError {
  constructor(app: string, service: string, known: readonly string[]) {
    super(`app ${app} has no service ${service} in its current release (services: ${known.join(', ') || 'none'})`, 'SERVICE_NOT_FOUND', { app, service, known });
  }
}

export class NothingToCancelError extends SlipwayError {
  constructor(app: string) {
    super(`app ${app} has no running deploy to cancel`, 'NOTHING_TO_CANCEL', { app });
  }
}

export class CloudWatchLogsMissingError extends SlipwayError {
  constructor(group: string, what: string, cause?: unknown) {
    super(`log group ${group} does not exist, so there are no ${what} to read: ${what === 'app logs' ? 'the CloudWatch Observability add-on writes it once a container logs (an imported cluster needs the add-on installed; see docs/aws-rack.md)' : 'update the rack with `npx cdk deploy`'}`, 'LOG_GROUP_MISSING', { group }, { cause });
  }
}

export class LiveTailError extends SlipwayError {
  constructor(group: string, reason: string) {
    super(`following ${group} stopped: ${reason}`, 'LIVE_TAIL_FAILED', { group });
  }
}

/** A query answered through a state machine (`ps`) failed, timed out, or answered nonsense. */
export class ProcessQueryError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown>, cause?: unknown) {
    super(message, 'RACK_QUERY_FAILED', context, cause === undefined ? undefined : { cause });
  }
}

export interface AwsRackClients {
  readonly cloudformation: CloudFormationClient;
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly kms: KMSClient;
  readonly sfn: SFNClient;
  readonly logs: CloudWatchLogsClient;
  readonly eventbridge: EventBridgeClient;
  /** For `by` (who started an execution); without it executions say `cli`. */
  readonly sts?: STSClient;
  /** For build logs. */
  readonly codebuild?: CodeBuildClient;
}

export interface AwsRackConnectionOptions {
  /**
   * `required` (what the rack's bucket has): an upload answered without a version id is an error,
   * since the deploy is named after the version. `off`: only for S3 emulators without versioning
   * (tests on s3rver); the version is then "null".
   */
  readonly versioning?: 'required' | 'off';
  /** The KMS key env values are sealed with; looked up in the stack's resources when not given. */
  readonly envKeyId?: string;
  readonly clock?: Clock;
  /** Who starts executions; from STS GetCallerIdentity when not given. */
  readonly by?: string;
  /** Bytes per part of a multipart upload (lib-storage's minimum is 5 MiB). */
  readonly partSize?: number;
  /** How far back `events()` looks when no `since` is given (default a day). */
  readonly eventsWindowMs?: number;
  /** How long `processes()` waits for the Cleanup machine's answer (default a minute). */
  readonly queryTimeoutMs?: number;
}

export function clientsFor(region: string): AwsRackClients {
  // No credentials here: each client resolves them through the SDK's default provider chain.
  return {
    cloudformation: new CloudFormationClient({ region }),
    s3: new S3Client({ region }),
    dynamodb: new DynamoDBClient({ region }),
    kms: new KMSClient({ region }),
    sfn: new SFNClient({ region }),
    logs: new CloudWatchLogsClient({ region }),
    eventbridge: new EventBridgeClient({ region }),
    sts: new STSClient({ region }),
    codebuild: new CodeBuildClient({ region }),
  };
}

/** The region a rack is looked for in: `--region`, then AWS_REGION, AWS_DEFAULT_REGION, then the profile's (resolved by the SDK). */
export async function resolveRegion(explicit?: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const given = explicit ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (given) return given;
  // The SDK reads the profile's region (~/.aws/config) when a client is made without one.
  const probe = new STSClient({});
  try {
    return await probe.config.region();
  } catch (e) {
    throw new SlipwayError('no AWS region: pass --region, set AWS_REGION, or give your profile a region', 'AWS_REGION_MISSING', {}, { cause: e });
  } finally {
    probe.destroy();
  }
}

/** The racks in a region, for `slipway racks`. */
export async function findAwsRacks(region?: string, clients?: Pick<AwsRackClients, 'cloudformation'>): Promise<{ name: string; status: string; region: string }[]> {
  const r = await resolveRegion(region);
  const cloudformation = clients?.cloudformation ?? new CloudFormationClient({ region: r });
  try {
    return await listRackStacks(cloudformation, r);
  } finally {
    if (!clients) cloudformation.destroy();
  }
}

/** Connect to rack `name` (stack `Slipway-<name>`) in `region`. */
export async function openAwsRack(name: string, region?: string, options: AwsRackConnectionOptions & { clients?: AwsRackClients } = {}): Promise<AwsRackConnection> {
  const r = await resolveRegion(region);
  const clients = options.clients ?? clientsFor(r);
  const info = await describeRackStack(clients.cloudformation, name, r);
  return new AwsRackConnection(info, rackOutputs(info), clients, options);
}

export class AwsRackConnection implements RackConnection {
  readonly kind = 'aws' as const;
  readonly name: string;
  readonly store: ReleaseStore;
  private readonly starter: StepFunctionsStarter;
  private readonly clock: Clock;
  private envStore?: Promise<KmsEnvStore>;
  private caller?: Promise<string>;

  constructor(
    private readonly stack: RackStackInfo,
    readonly outputs: RackOutputs,
    private readonly clients: AwsRackClients,
    private readonly options: AwsRackConnectionOptions = {},
  ) {
    this.name = stack.name;
    this.clock = options.clock ?? systemClock;
    this.store = new ReleaseStore(new DynamoRecordTable(clients.dynamodb, outputs.table), this.clock);
    this.starter = new StepFunctionsStarter(clients.sfn);
  }

  async info(): Promise<RackInfo> {
    const fresh = await describeRackStack(this.clients.cloudformation, this.name, this.stack.region);
    // CDK's BootstrapVersion parameter says nothing about the rack.
    const { BootstrapVersion: _bootstrap, ...parameters } = fresh.parameters;
    return { name: this.name, kind: 'aws', status: fresh.status, location: fresh.region, parameters: { ...parameters, ...fresh.outputs } };
  }

  // Apps

  apps(): Promise<App[]> {
    return this.store.listApps();
  }

  app(name: string): Promise<App> {
    return this.store.requireApp(name);
  }

  /** Written to the table directly: an app record changes nothing that runs (see the file comment). */
  async createApp(name: string): Promise<App> {
    if (!APP_NAME.test(name)) throw new AppNameError(name);
    return this.store.createApp(name);
  }

  /**
   * Through the Cleanup machine (`{ deleteApp: { app, by } }`): deleting an app removes its
   * processes from the cluster, its schedules and images, which the CLI does not reach. The
   * returned execution ends in AppDeleted, or fails with the step's error (AppBusy while a deploy
   * holds the app).
   */
  async deleteApp(name: string): Promise<ExecutionRef | undefined> {
    await this.store.requireApp(name);
    return this.startMaintenance('delete', name, { deleteApp: { app: name, by: await this.by() } });
  }

  /**
   * Stop the app's running deploy and put back what served before it. The deploy holding the
   * app's lock is the one at work; without one (every running deploy still queued), the newest.
   * The Rollback machine, told what it cancels, restores the previous release.
   */
  async cancel(app: string): Promise<ExecutionRef> {
    await this.store.requireApp(app);
    const running = await this.runningDeploys(app);
    if (running.length === 0) throw new NothingToCancelError(app);
    const owner = (await this.store.lockOf(app))?.owner;
    const target = running.find((e) => e.name === owner) ?? running.sort((a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0))[0];
    const by = await this.by();
    if (!target?.executionArn || !target.name) throw new NothingToCancelError(app);
    await this.clients.sfn.send(new StopExecutionCommand({ executionArn: target.executionArn, error: 'DeploymentCancelled', cause: `cancelled by ${by}` }));
    return this.start('Rollback', 'cancel', app, { app, cancels: target.name, by });
  }

  async unpin(app: string): Promise<App> {
    const before = await this.store.requireApp(app);
    if (!before.pin) return before;
    const after = await this.store.unpin(app);
    const by = await this.by();
    // As the pipeline's unpinApp: the event tells alerts and `slipway events` who let uploads through again.
    await new EventPublisher(new EventBridgeEventSink(this.clients.eventbridge, this.outputs.eventBus)).emit('App Unpinned', { app, release: before.pin.release, reason: `unpinned by ${by}` });
    return after;
  }

  // Bundles, builds and releases

  async upload(app: string, bundle: Buffer, options: UploadOptions): Promise<ExecutionRef & { readonly key: string; readonly version: string }> {
    await this.store.requireApp(app);
    const key = bundleKey(app, BUNDLE_NAME);
    const metadata: Record<string, string> = {};
    if (!options.promote) metadata.promote = 'false';
    if (!options.autoRollback) metadata['auto-rollback'] = 'false';
    // S3 metadata travels in HTTP headers: ASCII only.
    if (options.description) metadata.description = encodeURIComponent(options.description);
    const upload = new Upload({
      client: this.clients.s3,
      params: { Bucket: this.outputs.bundleBucket, Key: key, Body: bundle, ContentLength: bundle.length, Metadata: metadata },
      ...(this.options.partSize ? { partSize: this.options.partSize } : {}),
    });
    const total = bundle.length;
    options.onProgress?.(0, total);
    upload.on('httpUploadProgress', (p) => options.onProgress?.(p.loaded ?? 0, p.total ?? total));
    let out: { VersionId?: string };
    try {
      out = await upload.done();
    } catch (e) {
      throw new SlipwayError(`uploading the bundle of app ${app} to s3://${this.outputs.bundleBucket}/${key} failed: ${(e as Error).name}: ${(e as Error).message}`, 'BUNDLE_UPLOAD_FAILED', { app, bucket: this.outputs.bundleBucket, key }, { cause: e });
    }
    const version = out.VersionId ?? (this.options.versioning === 'off' ? NULL_VERSION : undefined);
    if (version === undefined) {
      throw new SlipwayError(`s3://${this.outputs.bundleBucket} answered the upload of ${key} without a version id: the bundle bucket must be versioned, and no deploy was started`, 'BUNDLE_BUCKET_UNVERSIONED', { bucket: this.outputs.bundleBucket, key });
    }
    options.onProgress?.(total, total);
    // The name the rack's bundle trigger gives the deploy of exactly this object version.
    return { machine: 'Deploy', name: deployExecutionName(this.outputs.bundleBucket, key, version), key, version };
  }

  async builds(app: string): Promise<Omit<Build, 'manifest'>[]> {
    await this.store.requireApp(app);
    return (await this.store.listBuilds(app)).map(({ manifest: _manifest, ...build }) => build);
  }

  /**
   * The CodeBuild logs of a build's units. Build records do not keep CodeBuild's build ids, so the
   * project's recent builds are searched for those whose image tag ends with the build id
   * (`<service>.<build>`, BUILD_ENV.imageTag) and whose bundle is the app's.
   */
  async buildLogs(app: string, build: string): Promise<string> {
    const record = await this.store.getBuild(app, build as BuildId);
    if (!record) throw new NotFoundError('build', build, app);
    const codebuild = this.clients.codebuild;
    if (!codebuild) throw new NotOnAwsRackError(`the logs of build ${build}`, 'open the build in the CodeBuild console', { app, build });
    const project = `slipway-${this.name}-builds`;
    const since = Date.parse(record.createdAt) - 60_000;
    const found: { service: string; group: string; stream: string }[] = [];
    let token: string | undefined;
    let older = false;
    // Newest first; stop at builds started before this build's record was made.
    for (let page = 0; page < 20 && !older; page++) {
      const list = await codebuild.send(new ListBuildsForProjectCommand({ projectName: project, sortOrder: 'DESCENDING', ...(token ? { nextToken: token } : {}) }));
      const ids = list.ids ?? [];
      if (ids.length > 0) {
        const builds = (await codebuild.send(new BatchGetBuildsCommand({ ids }))).builds ?? [];
        for (const b of builds) {
          if ((b.startTime?.getTime() ?? 0) < since) older = true;
          const vars = new Map((b.environment?.environmentVariables ?? []).map((v) => [v.name, v.value]));
          const tag = vars.get(BUILD_ENV.imageTag) ?? '';
          if (!tag.endsWith(`.${build}`) || !(vars.get(BUILD_ENV.bundleKey) ?? '').startsWith(`apps/${app}/`)) continue;
          if (b.logs?.groupName && b.logs.streamName) found.push({ service: tag.slice(0, -build.length - 1), group: b.logs.groupName, stream: b.logs.streamName });
        }
      }
      token = list.nextToken;
      if (!token) break;
    }
    if (found.length === 0) return record.images.length > 0 && record.images.every((i) => i.reused) ? `build ${build} reused existing images; nothing was built\n` : `no CodeBuild logs found for build ${build} of app ${app} in project ${project}\n`;
    const parts: string[] = [];
    for (const f of found.reverse()) {
      const lines: string[] = [];
      let next: string | undefined;
      do {
        const out = await this.clients.logs.send(new FilterLogEventsCommand({ logGroupName: f.group, logStreamNames: [f.stream], ...(next ? { nextToken: next } : {}) }));
        for (const e of out.events ?? []) lines.push((e.message ?? '').replace(/\n$/, ''));
        next = out.nextToken;
      } while (next);
      parts.push(`==> ${f.service} <==\n${lines.join('\n')}\n`);
    }
    return parts.join('\n');
  }

  async releases(app: string): Promise<Release[]> {
    await this.store.requireApp(app);
    return this.store.listReleases(app);
  }

  async release(app: string, id: string): Promise<Release & { readonly manifest?: string }> {
    const release = await this.store.getRelease(app, id as ReleaseId);
    if (!release) throw new NotFoundError('release', id, app);
    const build = await this.store.getBuild(app, release.build);
    return build ? { ...release, manifest: build.manifest } : release;
  }

  async promote(app: string, release?: string): Promise<ExecutionRef> {
    await this.store.requireApp(app);
    return this.start('Rollback', 'promote', app, { app, mode: 'promote', ...(release ? { release } : {}), by: await this.by() });
  }

  async rollback(app: string, request: { readonly release?: string; readonly skipGates?: boolean; readonly reason?: string }): Promise<ExecutionRef> {
    await this.store.requireApp(app);
    return this.start('Rollback', 'rollback', app, {
      app,
      ...(request.release ? { release: request.release } : {}),
      ...(request.skipGates !== undefined ? { skipGates: request.skipGates } : {}),
      ...(request.reason ? { reason: request.reason } : {}),
      by: await this.by(),
    });
  }

  // Environment: sealed and written here, never through a machine (see the file comment).

  async env(app: string, release?: string): Promise<{ readonly version: number; readonly values: Readonly<Record<string, string>> }> {
    await this.store.requireApp(app);
    const env = await this.env$();
    if (release === undefined) return env.current(app);
    const r = await this.store.getRelease(app, release as ReleaseId);
    if (!r) throw new NotFoundError('release', release, app);
    return { version: r.envVersion, values: await env.get(app, r.envVersion) };
  }

  async changeEnv(app: string, change: EnvChange): Promise<{ readonly envVersion: number; readonly release?: string }> {
    return changeEnvironment({ store: this.store, env: await this.env$(), clock: this.clock }, app, change);
  }

  // What runs

  /** Desired sizes from the current release's convox.yml and `slipway scale` overrides; `running` is left out: only the cluster knows it. */
  async scale(app: string): Promise<ServiceScale[]> {
    const { record, manifest } = await this.currentManifest(app, 'services');
    return manifest.services.map((s) => {
      const o = record.scale?.[s.name] ?? {};
      return { service: s.name, desired: o.count ?? s.scale.count.min, cpu: o.cpu ?? s.scale.cpu, memory: o.memory ?? s.scale.memory };
    });
  }

  async setScale(app: string, service: string, change: ScaleChange): Promise<ExecutionRef | undefined> {
    const { manifest } = await this.currentManifest(app, 'services');
    if (!manifest.services.some((s) => s.name === service)) throw new UnknownServiceError(app, service, manifest.services.map((s) => s.name));
    const scale = { service, ...(change.count !== undefined ? { count: change.count } : {}), ...(change.cpu !== undefined ? { cpu: change.cpu } : {}), ...(change.memory !== undefined ? { memory: change.memory } : {}) };
    return this.start('Rollback', 'scale', app, { app, scale, by: await this.by() });
  }

  /**
   * Asked of the Cleanup machine (`{ query: { processes: app } }`), whose step reads the app's
   * pods: the execution is followed until it ends (a few seconds; at most `queryTimeoutMs`) and
   * its output is the list.
   */
  async processes(app: string): Promise<ProcessInfo[]> {
    await this.store.requireApp(app);
    const ref = await this.startMaintenance('ps', app, { query: { processes: app } });
    const out = await this.awaitOutput(ref, `listing the processes of app ${app}`, { app });
    const list = (out as { processes?: unknown } | undefined)?.processes;
    if (!Array.isArray(list)) throw new ProcessQueryError(`listing the processes of app ${app}: execution ${ref.name} of the Cleanup machine answered without a process list; is the rack up to date (\`npx cdk deploy\`)?`, { app, execution: ref.name });
    return (list as RuntimeProcess[]).map((p) => ({
      id: p.id,
      service: p.service,
      status: p.status,
      release: p.release,
      ...(p.startedAt ? { started: p.startedAt } : {}),
      ...(p.command ? { command: p.command } : {}),
    }));
  }

  /**
   * Endpoints from the current release's convox.yml. A public service's URL is its first `domain`;
   * without one, its host is the load balancer's DNS name, which only the cluster's Ingress status
   * knows, so the URL is empty and `note` says where to find it. The internal name is the
   * Kubernetes Service's cluster DNS name (namespace `<rack>-<app>`).
   */
  async services(app: string): Promise<ServiceEndpoint[]> {
    const { manifest } = await this.currentManifest(app, 'services');
    const namespace = namespaceOf(this.name, app);
    return manifest.services.map((s) => {
      const port = s.port?.port;
      const internal = s.internal || s.internalRouter || port === undefined;
      const domain = s.domain[0];
      const url = !internal && domain ? `https://${domain}` : '';
      const note =
        !internal && !domain
          ? `served by a load balancer whose DNS name only the cluster knows: kubectl get ingress ${s.name} -n ${namespace}`
          : s.internalRouter
            ? `on the rack's internal load balancer: kubectl get ingress ${s.name}-internal -n ${namespace}`
            : undefined;
      return { service: s.name, url, internal, ...(port !== undefined ? { internalName: `${s.name}.${namespace}.svc.cluster.local:${port}` } : {}), ...(note ? { note } : {}) };
    });
  }

  async timers(app: string): Promise<TimerInfo[]> {
    const { manifest } = await this.currentManifest(app, 'timers');
    return manifest.timers.map((t) => ({ name: t.name, schedule: t.schedule, service: t.service, command: t.command }));
  }

  async runTimer(app: string, timer: string): Promise<ExecutionRef> {
    await this.store.requireApp(app);
    return this.start('Timer', 'timer', app, { app, timer });
  }

  async run(app: string, request: RunRequest): Promise<ExecutionRef> {
    await this.store.requireApp(app);
    return this.start('Timer', 'run', app, { app, run: { service: request.service, command: request.command, ...(request.release ? { release: request.release } : {}) } });
  }

  // Logs, events, executions

  /**
   * Container lines from CloudWatch Logs (the Observability add-on's group), then, when following,
   * a Live Tail session on the same filter until the signal aborts. Lines that arrive while the
   * session starts may be missed or shown twice (the two APIs share no cursor).
   */
  async *logs(app: string, query: LogQuery): AsyncGenerator<LogEntry> {
    const namespace = namespaceOf(this.name, app);
    const group = applicationLogGroup(this.outputs.cluster);
    const pattern = appLogPattern(this.name, app, query.service, query.filter);
    const keep = (entry: LogEntry | undefined): entry is LogEntry => entry !== undefined && (query.service === undefined || entry.service === query.service) && matchesText(entry, query.filter);
    const signal = query.signal;
    let token: string | undefined;
    do {
      if (signal?.aborted) return;
      let events: FilteredLogEvent[];
      try {
        const out = await this.clients.logs.send(new FilterLogEventsCommand({ logGroupName: group, startTime: query.since, filterPattern: pattern, ...(token ? { nextToken: token } : {}) }), signal ? { abortSignal: signal } : {});
        events = out.events ?? [];
        token = out.nextToken;
      } catch (e) {
        if (signal?.aborted) return;
        if (e instanceof ResourceNotFoundException) throw new CloudWatchLogsMissingError(group, 'app logs', e);
        throw e;
      }
      for (const e of events) {
        const entry = parseContainerRecord(e.message, e.timestamp, namespace);
        if (keep(entry)) yield entry;
      }
    } while (token);
    if (!query.follow) return;
    const arn = logGroupArn(this.stack.partition, this.stack.region, this.stack.account, group);
    // A Live Tail session ends after at most three hours (SessionTimeoutException): start another.
    while (!signal?.aborted) {
      let stream: AsyncIterable<{ sessionUpdate?: { sessionResults?: LiveTailSessionLogEvent[] }; SessionTimeoutException?: unknown; SessionStreamingException?: { message?: string } }> | undefined;
      try {
        stream = (await this.clients.logs.send(new StartLiveTailCommand({ logGroupIdentifiers: [arn], logEventFilterPattern: pattern }), signal ? { abortSignal: signal } : {})).responseStream;
        if (!stream) return;
        for await (const item of stream) {
          if (item.SessionStreamingException) throw new LiveTailError(group, item.SessionStreamingException.message ?? 'CloudWatch Logs ended the session');
          if (item.SessionTimeoutException) break;
          for (const e of item.sessionUpdate?.sessionResults ?? []) {
            const entry = parseContainerRecord(e.message, e.timestamp, namespace);
            if (keep(entry)) yield entry;
          }
          if (signal?.aborted) return;
        }
      } catch (e) {
        if (signal?.aborted) return;
        if (e instanceof ResourceNotFoundException) throw new CloudWatchLogsMissingError(group, 'app logs', e);
        throw e;
      }
    }
  }

  /**
   * Events from the rack's event log (EventBridge cannot be read back; lib/aws/rack-event-log.ts
   * copies them there), oldest first. Without `since`, the last day (`eventsWindowMs`); with an
   * execution and no `since`, the whole log (30 days), since an execution is found by name.
   */
  async events(filter: { readonly app?: string; readonly execution?: string; readonly since?: number } = {}): Promise<SlipwayEvent[]> {
    const group = this.outputs.eventLogGroup;
    if (!group) throw new CloudWatchLogsMissingError(`/slipway/${this.name}/events`, 'events');
    const since = filter.since ?? (filter.execution ? undefined : this.clock.now() - (this.options.eventsWindowMs ?? 24 * 3600 * 1000));
    const pattern = eventLogPattern(filter);
    const found: SlipwayEvent[] = [];
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.clients.logs.send(new FilterLogEventsCommand({ logGroupName: group, ...(since !== undefined ? { startTime: since } : {}), ...(pattern ? { filterPattern: pattern } : {}), ...(token ? { nextToken: token } : {}) }));
      } catch (e) {
        if (e instanceof ResourceNotFoundException) throw new CloudWatchLogsMissingError(group, 'events', e);
        throw e;
      }
      for (const m of out.events ?? []) {
        const e = parseEventRecord(m.message);
        if (!e) continue;
        if (filter.app !== undefined && e.detail.app !== filter.app) continue;
        if (filter.execution !== undefined && e.detail.execution !== filter.execution) continue;
        if (since !== undefined && Date.parse(e.time) < since - 1000) continue;
        found.push(e);
      }
      token = out.nextToken;
    } while (token);
    return found.sort((a, b) => a.time.localeCompare(b.time));
  }

  async execution(ref: ExecutionRef): Promise<ExecutionStatus> {
    try {
      const out = await this.clients.sfn.send(new DescribeExecutionCommand({ executionArn: executionArn(this.outputs.machines[ref.machine], ref.name) }));
      return executionStatus(ref.machine, ref.name, out);
    } catch (e) {
      // A deploy's execution appears a moment after its upload: the bundle trigger starts it.
      if (e instanceof ExecutionDoesNotExist) throw new SlipwayError(`no ${ref.machine} execution ${ref.name} on rack ${this.name} (yet: a deploy starts a few seconds after its upload)`, 'EXECUTION_NOT_FOUND', { ...ref }, { cause: e });
      throw e;
    }
  }

  /** Close the SDK clients' connections (the CLI calls this before it exits). */
  close(): void {
    for (const client of Object.values(this.clients) as ({ destroy(): void } | undefined)[]) client?.destroy();
  }

  // Helpers

  private async start(machine: RackMachine, kind: ExecutionKind, app: string, input: Record<string, unknown>): Promise<ExecutionRef> {
    const name = executionName(kind, app, new Date(this.clock.now()));
    await this.starter.start(this.outputs.machines[machine], name, input);
    return { machine, name };
  }

  /** A request to the Cleanup (maintenance) machine: `delete-<app>-...` or `ps-<app>-...`. */
  private startMaintenance(kind: 'delete' | 'ps', app: string, input: Record<string, unknown>): Promise<ExecutionRef> {
    return this.start('Cleanup', kind, app, input);
  }

  /** Follow an execution until it ends (polling DescribeExecution, 250 ms doubling to 2 s) and return its parsed output. */
  private async awaitOutput(ref: ExecutionRef, what: string, context: Record<string, unknown>): Promise<unknown> {
    const arn = executionArn(this.outputs.machines[ref.machine], ref.name);
    const timeout = this.options.queryTimeoutMs ?? 60_000;
    const started = Date.now();
    let delay = 250;
    for (;;) {
      let out;
      try {
        out = await this.clients.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      } catch (e) {
        // Step Functions may not list a just-started execution for a moment.
        if (!(e instanceof ExecutionDoesNotExist)) throw e;
      }
      if (out?.status === 'SUCCEEDED') {
        try {
          return JSON.parse(out.output ?? 'null') as unknown;
        } catch (e) {
          throw new ProcessQueryError(`${what}: execution ${ref.name} of the ${ref.machine} machine answered with output that is not JSON`, { ...context, execution: ref.name }, e);
        }
      }
      if (out?.status && out.status !== 'RUNNING' && out.status !== 'PENDING_REDRIVE') {
        const why = [out.error, out.cause].filter(Boolean).join(': ') || out.status;
        throw new ProcessQueryError(`${what} failed (execution ${ref.name} of the ${ref.machine} machine, ${out.status}): ${why}`, { ...context, execution: ref.name, status: out.status, ...(out.error ? { error: out.error } : {}) });
      }
      if (Date.now() - started + delay > timeout) {
        throw new ProcessQueryError(`${what}: execution ${ref.name} of the ${ref.machine} machine did not end within ${Math.round(timeout / 1000)} s; look at it in the Step Functions console`, { ...context, execution: ref.name });
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }

  /** Running Deploy executions of this app: their names are `deploy-<app, first 48>-<24 hex>` (deployExecutionName). */
  private async runningDeploys(app: string): Promise<ExecutionListItem[]> {
    const own = new RegExp(`^deploy-${app.slice(0, 48).replace(/[^a-z0-9-]/g, '')}-[0-9a-f]{24}$`);
    const found: ExecutionListItem[] = [];
    let token: string | undefined;
    do {
      const out = await this.clients.sfn.send(new ListExecutionsCommand({ stateMachineArn: this.outputs.machines.Deploy, statusFilter: 'RUNNING', ...(token ? { nextToken: token } : {}) }));
      found.push(...(out.executions ?? []).filter((e) => e.name !== undefined && own.test(e.name)));
      token = out.nextToken;
    } while (token);
    return found;
  }

  /** The caller as STS names them (an IAM ARN), for execution inputs and events; `cli` without STS. */
  private by(): Promise<string> {
    if (this.options.by) return Promise.resolve(this.options.by);
    const sts = this.clients.sts;
    if (!sts) return Promise.resolve('cli');
    this.caller ??= sts.send(new GetCallerIdentityCommand({})).then(
      (out) => out.Arn ?? 'cli',
      () => 'cli',
    );
    return this.caller;
  }

  private env$(): Promise<KmsEnvStore> {
    this.envStore ??= (this.options.envKeyId ? Promise.resolve(this.options.envKeyId) : envKeyId(this.clients.cloudformation, this.stack)).then(
      (keyId) => new KmsEnvStore(new DynamoRecordTable(this.clients.dynamodb, this.outputs.table), this.clients.kms, keyId),
    );
    // A failed lookup is not kept: the next call tries again.
    this.envStore.catch(() => (this.envStore = undefined));
    return this.envStore;
  }

  /** The current release's convox.yml, loaded with the release's environment (for `${VAR}`s); values stay in this process. */
  private async currentManifest(app: string, what: string): Promise<{ record: App; manifest: Manifest }> {
    const record = await this.store.requireApp(app);
    if (!record.release) throw new NoReleaseError(app, what);
    const release = await this.store.getRelease(app, record.release);
    if (!release) throw new NotFoundError('release', record.release, app);
    const build = await this.store.getBuild(app, release.build);
    if (!build) throw new NotFoundError('build', release.build, app);
    const env = await (await this.env$()).get(app, release.envVersion);
    return { record, manifest: loadManifest(build.manifest, { env: { ...env } }).manifest };
  }
}
