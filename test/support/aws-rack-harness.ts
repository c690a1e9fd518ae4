/**
 * The AWS rack's step Lambdas in one test process: the rack synthesized as `cdk deploy` ships it,
 * its state machines' ASL read back from the template, and every Task answered by the real
 * handler of lambdas/steps/ over the real AWS adapters. What cannot run here is a stand-in, and
 * says so: DynamoDB is dynalite (a server speaking DynamoDB's API); S3, KMS, EventBridge,
 * CodeBuild, ECR, EventBridge Scheduler and CloudWatch are aws-sdk-client-mock stubs on the client
 * classes (so the clients the handlers make are caught); the cluster is the Kubernetes API test
 * double, whose controllers `KubeControllers` plays.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { App } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { BatchGetBuildsCommand, CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import type { BatchGetBuildsCommandInput, StartBuildCommandInput } from '@aws-sdk/client-codebuild';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import type { DescribeRepositoriesCommandInput } from '@aws-sdk/client-ecr';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { DecryptCommand, GenerateDataKeyCommand, InvalidCiphertextException, KMSClient } from '@aws-sdk/client-kms';
import type { DecryptCommandInput, GenerateDataKeyCommandInput } from '@aws-sdk/client-kms';
import { GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, NotFound, S3Client } from '@aws-sdk/client-s3';
import type { GetObjectCommandInput, HeadObjectCommandInput, ListObjectVersionsCommandInput } from '@aws-sdk/client-s3';
import { CreateScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import type { CreateScheduleCommandInput } from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { BUILD_ENV, IMAGE_VARIABLE } from '../../lib/aws/build/buildspec';
import { rackConfig } from '../../lib/aws/rack-config';
import type { ClusterPorts, RackSettings } from '../../lib/aws/rack-context';
import { RACK_ENV, rackEnvironment } from '../../lib/aws/rack-context';
import { RackStack } from '../../lib/aws/rack-stack';
import { clusterPortsOver } from '../../lib/aws/eks-cluster-ports';
import { stepEntryFile } from '../../lib/aws/rack-pipeline';
import type { KubeApiTestDouble } from './kube-api-double';
import { HttpsKubernetesApi } from '../../lib/kubernetes/api/https-api';
import type { StepDispatcher } from '../../lib/local/asl-runner';
import { bundleKey } from '../../lib/pipeline/bundle/key';
import type { MachineName } from '../../lib/pipeline/machines/pipeline-machines';
import { MACHINE_NAMES } from '../../lib/pipeline/machines/pipeline-machines';
import type { AslDefinition } from '../../lib/pipeline/machines/template';
import { machinesFromTemplate, statesOfType } from '../../lib/pipeline/machines/template';
import type { StoredBundle } from '../../lib/pipeline/ports/bundle-store';
import type { CleanupConfig } from '../../lib/pipeline/steps/cleanup';
import type { DeployConfig } from '../../lib/pipeline/steps/deploy';
import type { ReleaseStore } from '../../lib/pipeline/stores/release-store';

type Json = Record<string, unknown>;

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Json;
}

export interface RackTemplate {
  readonly Resources: Record<string, TemplateResource>;
  readonly [section: string]: unknown;
}

/**
 * The rack's context as cdk.json holds it, with Lambda bundling skipped (synthesis would run
 * esbuild for every function) and no bake period, so that a deploy's health gate passes on its
 * first look instead of polling for a minute of real time.
 */
export const RACK_CONTEXT = {
  'slipway:rackName': 'test',
  'slipway:clusterName': 'apps',
  'slipway:deploy': { bakeSeconds: 0 },
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  'aws:cdk:bundling-stacks': [],
};

export interface SynthesizedRack {
  readonly stack: RackStack;
  readonly template: RackTemplate;
  readonly machines: Readonly<Record<MachineName, AslDefinition>>;
  /** The deploy settings synthesized into the bundle trigger: what every upload's deploy runs with. */
  readonly deployConfig: DeployConfig;
  readonly cleanupConfig: CleanupConfig;
}

export function logicalIdOf(stack: RackStack, construct: { readonly node: { readonly defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/** Synthesize the rack and read its four machines' ASL from the template, each found by its construct's logical id. */
export function synthesizeRack(context: Json = RACK_CONTEXT): SynthesizedRack {
  const app = new App({ context });
  const config = rackConfig((key) => app.node.tryGetContext(key));
  const stack = new RackStack(app, 'Rack', { config });
  const template = Template.fromStack(stack).toJSON() as RackTemplate;
  const found = machinesFromTemplate(template);
  const machines = Object.fromEntries(
    MACHINE_NAMES.map((name) => {
      const logicalId = logicalIdOf(stack, stack.pipeline.machines.machines[name]);
      const machine = found.find((m) => m.logicalId === logicalId);
      if (!machine) throw new Error(`the synthesized template has no ${name} machine (logical id ${logicalId})`);
      return [name, machine.definition];
    }),
  ) as Record<MachineName, AslDefinition>;
  const trigger = template.Resources[logicalIdOf(stack, stack.pipeline.trigger)];
  const variables = (trigger?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
  if (typeof variables?.DEPLOY_CONFIG !== 'string') throw new Error('the bundle trigger has no DEPLOY_CONFIG in its environment');
  return { stack, template, machines, deployConfig: JSON.parse(variables.DEPLOY_CONFIG) as DeployConfig, cleanupConfig: config.cleanup };
}

/** What a Task state invokes: the step its Parameters name, and the logical id of the Lambda function it calls. */
export interface TaskInvocation {
  readonly state: string;
  readonly step: unknown;
  readonly functionLogicalId: string | undefined;
}

/** template.ts resolves `Fn::GetAtt [<LogicalId>, Arn]` of a function to this ARN. */
const LOCAL_FUNCTION_ARN = /^arn:aws:lambda:local:000000000000:function:([A-Za-z0-9]+)$/;

/**
 * Every Task of a definition, nested ones included. A task with `payloadResponseOnly` names the
 * function as its Resource and the payload as its Parameters; the `lambda:invoke` integration
 * names it in Parameters.FunctionName, with the payload in Parameters.Payload.
 */
export function taskInvocations(definition: AslDefinition): TaskInvocation[] {
  return statesOfType(definition, 'Task').map(({ name, state }) => {
    const resource = String(state.Resource);
    const parameters = (state.Parameters ?? {}) as Json;
    const integrated = resource.startsWith('arn:aws:states:::lambda:invoke');
    const arn = integrated ? String(parameters.FunctionName) : resource;
    const payload = (integrated ? parameters.Payload : parameters) as Json | undefined;
    return { state: name, step: payload?.step, functionLogicalId: LOCAL_FUNCTION_ARN.exec(arn)?.[1] };
  });
}

// ---- DynamoDB on dynalite ----

export type { Dynalite } from './dynalite';
export { createRecordTable, startDynalite } from './dynalite';

// ---- The step functions' environment ----

export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';

/** Settings as the stack would resolve them in an account (the template holds tokens for most). */
export function rackSettings(workDir: string): RackSettings {
  return {
    rackName: 'test',
    table: 'slipway-test-records',
    keyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
    bundleBucket: 'slipway-test-bundles',
    eventBus: 'slipway-test',
    buildProject: 'slipway-test-build',
    resourceRole: `arn:aws:iam::${ACCOUNT}:role/slipway-test-resources`,
    registry: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`,
    repositoryPrefix: 'slipway-test/',
    scheduleGroup: 'slipway-test',
    timerMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:slipway-test-Timer`,
    schedulerRoleArn: `arn:aws:iam::${ACCOUNT}:role/slipway-test-scheduler`,
    cluster: 'apps',
    ingressClass: 'alb',
    workDir,
  };
}

/**
 * Set what Lambda and the stack set for a step function (the rack's variables, the region, a
 * role's credentials) plus where DynamoDB is; returns how to put the environment back.
 */
export function setStepFunctionEnvironment(settings: RackSettings, dynamoEndpoint: string): () => void {
  const variables: Record<string, string> = {
    ...rackEnvironment(settings),
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key',
    // The JS SDK v3 reads service-specific endpoints (@smithy/core's getEndpointUrlConfig).
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    // Metrics are still computed (MetricsEventSink runs), but not printed into the test's output.
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  const before = Object.fromEntries(Object.keys(variables).map((k) => [k, process.env[k]]));
  Object.assign(process.env, variables);
  return () => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** The variables a step function's environment may hold: the rack's resource names and Powertools' settings. */
export const STEP_FUNCTION_VARIABLES: ReadonlySet<string> = new Set([...Object.values(RACK_ENV), 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'NODE_OPTIONS']);

// ---- The step handlers, as Lambda calls them ----

/** A step's handler module, as rack-pipeline.ts names its entry: lambdas/steps/<kebab-case step>.ts. */
export function handlerModule(step: string): string {
  return `../../lambdas/steps/${stepEntryFile(step)}`;
}

type Handler = (event: { step: string; input: unknown }) => Promise<unknown>;

/**
 * A dispatcher for the local runner that calls the step's real Lambda handler with the payload
 * Lambda would deliver (`{ step, input }`), both ways through JSON as Lambda's invoke is.
 */
export function lambdaDispatcher(steps: string[] = []): StepDispatcher {
  const handlers = new Map<string, Promise<Handler>>();
  return async (step, input) => {
    let handler = handlers.get(step);
    if (!handler) {
      handler = (import(handlerModule(step)) as Promise<{ handler: Handler }>).then((m) => m.handler);
      handlers.set(step, handler);
    }
    steps.push(step);
    const event = JSON.parse(JSON.stringify({ step, input })) as { step: string; input: unknown };
    const result = await (await handler)(event);
    return result === undefined ? null : (JSON.parse(JSON.stringify(result)) as unknown);
  };
}

// ---- AWS services through aws-sdk-client-mock ----

/** A data key the KMS stand-in hands out (a copy each call: the env store wipes the one it gets). */
const DATA_KEY = randomBytes(32);

export interface RecordedEvent {
  readonly detailType: string;
  readonly source: string;
  readonly bus: string;
  readonly detail: Json;
  /** The entry as PutEvents received it, to check no secret is in it. */
  readonly raw: string;
}

interface S3Version {
  readonly key: string;
  readonly version: string;
  readonly body: Buffer;
  readonly etag: string;
  readonly lastModified: Date;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * The AWS services the step functions call, other than DynamoDB, stubbed at their client classes.
 * Each answers the calls the adapters make as the service would for a healthy rack: the bundle
 * bucket serves the versions `putBundle` stored, KMS hands out data keys bound to their encryption
 * context, PutEvents accepts and records events, CodeBuild builds succeed with an image digest,
 * the app's repository exists, and the schedule group starts empty.
 */
export class AwsServiceMocks {
  readonly events: RecordedEvent[] = [];
  readonly builds: StartBuildCommandInput[] = [];
  readonly schedules: CreateScheduleCommandInput[] = [];
  private readonly versions: S3Version[] = [];
  private readonly images = new Map<string, string>();
  private readonly stubs: { restore(): void }[] = [];

  constructor(private readonly settings: RackSettings) {
    this.s3();
    this.kms();
    this.eventBridge();
    this.codeBuild();
    this.ecr();
    this.scheduler();
    this.stub(mockClient(CloudWatchClient)).on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
  }

  /** Store a bundle as an S3 PutObject into the versioned bucket would: a new version of the key. */
  putBundle(app: string, name: string, body: Buffer, metadata: Readonly<Record<string, string>> = {}): StoredBundle {
    const key = bundleKey(app, name);
    const version = `v${String(this.versions.length + 1).padStart(4, '0')}.${createHash('sha256').update(body).digest('hex').slice(0, 16)}`;
    const stored: S3Version = { key, version, body, etag: createHash('md5').update(body).digest('hex'), lastModified: new Date(), metadata };
    this.versions.push(stored);
    return { app, key, version, etag: stored.etag, size: body.length, lastModified: stored.lastModified.toISOString(), metadata: { ...metadata } };
  }

  restore(): void {
    for (const stub of this.stubs) stub.restore();
  }

  private stub<T extends { restore(): void }>(stub: T): T {
    this.stubs.push(stub);
    return stub;
  }

  private version(key: string | undefined, version: string | undefined): S3Version {
    const found = this.versions.find((v) => v.key === key && v.version === version);
    if (!found) throw new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } });
    return found;
  }

  private s3(): void {
    const s3 = this.stub(mockClient(S3Client));
    s3.on(HeadObjectCommand).callsFake((input: HeadObjectCommandInput) => {
      const v = this.version(input.Key, input.VersionId);
      return { VersionId: v.version, ETag: `"${v.etag}"`, ContentLength: v.body.length, LastModified: v.lastModified, Metadata: { ...v.metadata } };
    });
    // Node's SDK hands back the HTTP response, a Readable: that is all the adapter reads.
    s3.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => {
      const v = this.version(input.Key, input.VersionId);
      return { VersionId: v.version, ETag: `"${v.etag}"`, ContentLength: v.body.length, Body: Readable.from([v.body]) };
    });
    s3.on(ListObjectVersionsCommand).callsFake((input: ListObjectVersionsCommandInput) => ({
      IsTruncated: false,
      // S3 lists a key's versions newest first.
      Versions: this.versions
        .filter((v) => v.key.startsWith(input.Prefix ?? ''))
        .reverse()
        .map((v, i, all) => ({ Key: v.key, VersionId: v.version, LastModified: v.lastModified, Size: v.body.length, IsLatest: all.findIndex((w) => w.key === v.key) === i })),
    }));
  }

  private kms(): void {
    const kms = this.stub(mockClient(KMSClient));
    // A wrapped data key that says which key and encryption context may unwrap it, as KMS enforces.
    kms.on(GenerateDataKeyCommand).callsFake((input: GenerateDataKeyCommandInput) => ({
      KeyId: this.settings.keyArn,
      Plaintext: new Uint8Array(DATA_KEY),
      CiphertextBlob: Buffer.from(JSON.stringify({ key: input.KeyId, context: input.EncryptionContext ?? {}, nonce: randomBytes(8).toString('hex') })),
    }));
    kms.on(DecryptCommand).callsFake((input: DecryptCommandInput) => {
      const made = JSON.parse(Buffer.from(input.CiphertextBlob ?? []).toString('utf8')) as { key: string; context: Record<string, string> };
      if (made.key !== input.KeyId || JSON.stringify(made.context) !== JSON.stringify(input.EncryptionContext ?? {})) {
        throw new InvalidCiphertextException({ message: 'The ciphertext refers to a customer master key or context that does not match', $metadata: { httpStatusCode: 400 } });
      }
      return { KeyId: this.settings.keyArn, Plaintext: new Uint8Array(DATA_KEY) };
    });
  }

  private eventBridge(): void {
    const events = this.stub(mockClient(EventBridgeClient));
    events.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
      const entries = input.Entries ?? [];
      for (const e of entries) {
        this.events.push({ detailType: e.DetailType ?? '', source: e.Source ?? '', bus: e.EventBusName ?? '', detail: JSON.parse(e.Detail ?? '{}') as Json, raw: JSON.stringify(e) });
      }
      return { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomBytes(16).toString('hex') })) };
    });
  }

  private codeBuild(): void {
    const codebuild = this.stub(mockClient(CodeBuildClient));
    codebuild.on(StartBuildCommand).callsFake((input: StartBuildCommandInput) => {
      this.builds.push(input);
      const id = `${this.settings.buildProject}:${String(this.builds.length).padStart(8, '0')}`;
      const repository = input.environmentVariablesOverride?.find((v) => v.name === BUILD_ENV.repositoryUri)?.value;
      this.images.set(id, `${repository ?? ''}@sha256:${createHash('sha256').update(id).digest('hex')}`);
      return { build: { id, buildStatus: 'IN_PROGRESS' } };
    });
    codebuild.on(BatchGetBuildsCommand).callsFake((input: BatchGetBuildsCommandInput) => ({
      builds: (input.ids ?? []).map((id) => ({ id, buildStatus: 'SUCCEEDED', exportedEnvironmentVariables: [{ name: IMAGE_VARIABLE, value: this.images.get(id) ?? '' }] })),
    }));
  }

  private ecr(): void {
    const ecr = this.stub(mockClient(ECRClient));
    ecr.on(DescribeRepositoriesCommand).callsFake((input: DescribeRepositoriesCommandInput) => ({ repositories: (input.repositoryNames ?? []).map((repositoryName) => ({ repositoryName })) }));
  }

  private scheduler(): void {
    const scheduler = this.stub(mockClient(SchedulerClient));
    scheduler.on(ListSchedulesCommand).resolves({ Schedules: [] });
    scheduler.on(CreateScheduleCommand).callsFake((input: CreateScheduleCommandInput) => {
      this.schedules.push(input);
      return { ScheduleArn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/${input.GroupName ?? 'default'}/${input.Name ?? ''}` };
    });
  }
}

// ---- The cluster: the Kubernetes API test double ----

/**
 * The cluster ports the handlers of the `cluster` steps get in place of EKS: the real runtime and
 * provisioner with the real renderer, over the node:https client the step functions ship with,
 * against the test double. Release manifests are read from the store, as eksClusterPorts does.
 */
export function kubernetesClusterPorts(double: KubeApiTestDouble): (settings: RackSettings, store: ReleaseStore) => ClusterPorts {
  return (settings, store) => clusterPortsOver(new HttpsKubernetesApi(() => Promise.resolve({ server: double.url, token: double.token })), settings, store);
}

/**
 * The controllers the test double lacks, played on a short interval: every Deployment whose spec
 * the "deployment controller" has not seen rolls out at once (all replicas updated, ready and
 * available), and every Job the "job controller" finds unfinished completes.
 */
export class KubeControllers {
  private readonly interval: NodeJS.Timeout;

  constructor(
    private readonly double: KubeApiTestDouble,
    intervalMs = 10,
  ) {
    this.interval = setInterval(() => this.reconcile(), intervalMs);
  }

  stop(): void {
    clearInterval(this.interval);
  }

  private reconcile(): void {
    for (const deployment of this.double.all('Deployment')) {
      const metadata = deployment.metadata as Json;
      const status = (deployment.status ?? {}) as Json;
      if (status.observedGeneration === metadata.generation) continue;
      const replicas = Number((deployment.spec as Json).replicas ?? 1);
      this.double.setStatus(ref(deployment), {
        observedGeneration: metadata.generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        conditions: [
          { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
          { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
        ],
      });
    }
    for (const job of this.double.all('Job')) {
      if (job.status !== undefined) continue;
      const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      this.double.setStatus(ref(job), {
        succeeded: 1,
        startTime: now,
        completionTime: now,
        conditions: [
          { type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: now },
          { type: 'Complete', status: 'True', lastTransitionTime: now },
        ],
      });
    }
  }
}

function ref(object: Json): { apiVersion: string; kind: string; name: string; namespace?: string } {
  const metadata = object.metadata as { name: string; namespace?: string };
  return { apiVersion: String(object.apiVersion), kind: String(object.kind), name: metadata.name, ...(metadata.namespace ? { namespace: metadata.namespace } : {}) };
}
