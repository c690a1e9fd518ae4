/**
 * The AWS rack's ports, as the step Lambdas use them: each port's AWS adapter, configured from
 * the environment the stack gives every step function (`RACK_ENV` names the variables, and the
 * stack sets them from the same table, so the two cannot drift apart). No variable holds a
 * secret: they name the rack's resources.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { SlipwayError } from '../errors';
import { EventPublisher } from '../pipeline/events';
import type { Provisioner, Runtime } from '../pipeline/ports/runtime';
import type { DeployContext } from '../pipeline/steps/deploy';
import { ReleaseStore, systemClock } from '../pipeline/stores/release-store';
import { CloudWatchAlarmMonitor } from './adapters/cloudwatch-alarm-monitor';
import { CodeBuildBuilder } from './adapters/codebuild-builder';
import { DynamoRecordTable } from './adapters/dynamo-record-table';
import { EventBridgeEventSink } from './adapters/eventbridge-event-sink';
import { EventBridgeTimerScheduler } from './adapters/eventbridge-scheduler';
import { KmsEnvStore } from './adapters/kms-env-store';
import { MetricsEventSink } from './adapters/metrics-event-sink';
import { S3BundleStore } from './adapters/s3-bundle-store';

/** The environment variables of the step functions, by setting. */
export const RACK_ENV = {
  rackName: 'SLIPWAY_RACK',
  table: 'SLIPWAY_TABLE',
  keyArn: 'SLIPWAY_KEY_ARN',
  bundleBucket: 'SLIPWAY_BUNDLE_BUCKET',
  eventBus: 'SLIPWAY_EVENT_BUS',
  buildProject: 'SLIPWAY_BUILD_PROJECT',
  /** `<account>.dkr.ecr.<region>.<suffix>`: app repositories are `<registry>/<repositoryPrefix><app>`. */
  registry: 'SLIPWAY_REGISTRY',
  repositoryPrefix: 'SLIPWAY_REPOSITORY_PREFIX',
  scheduleGroup: 'SLIPWAY_SCHEDULE_GROUP',
  timerMachineArn: 'SLIPWAY_TIMER_MACHINE_ARN',
  schedulerRoleArn: 'SLIPWAY_SCHEDULER_ROLE_ARN',
  cluster: 'SLIPWAY_CLUSTER',
  /** The role CloudFormation builds the apps' managed resources with. */
  resourceRole: 'SLIPWAY_RESOURCE_ROLE_ARN',
  ingressClass: 'SLIPWAY_INGRESS_CLASS',
  /** Where steps extract bundles (the Lambda's /tmp). */
  workDir: 'SLIPWAY_WORK_DIR',
} as const;

export type RackSettings = { readonly [K in keyof typeof RACK_ENV]: string };

export class RackSettingsError extends SlipwayError {
  constructor(missing: readonly string[]) {
    super(`the step function's environment lacks ${missing.join(', ')}: the stack sets these, so the function was deployed outside it or the stack is out of date`, 'LAMBDA_MISCONFIGURED', { missing });
  }
}

export function rackSettingsFromEnv(env: NodeJS.ProcessEnv): RackSettings {
  const entries = Object.entries(RACK_ENV).map(([setting, variable]) => [setting, env[variable]] as const);
  const missing = entries.filter(([, value]) => !value).map(([setting]) => RACK_ENV[setting as keyof typeof RACK_ENV]);
  if (missing.length > 0) throw new RackSettingsError(missing);
  return Object.fromEntries(entries) as RackSettings;
}

/** The environment the stack gives the step functions: the inverse of `rackSettingsFromEnv`. */
export function rackEnvironment(settings: RackSettings): Record<string, string> {
  return Object.fromEntries(Object.entries(RACK_ENV).map(([setting, variable]) => [variable, settings[setting as keyof RackSettings]]));
}

export function repositoryName(settings: Pick<RackSettings, 'repositoryPrefix'>, app: string): string {
  return `${settings.repositoryPrefix}${app}`;
}

/** The parts of the rack that live in the cluster (the Kubernetes runtime), built by the caller. */
export interface ClusterPorts {
  readonly runtime: Runtime;
  readonly provisioner: Provisioner;
}

export class NoClusterAccessError extends SlipwayError {
  constructor() {
    super('this step has no access to the cluster (its capabilities do not include `cluster`, see lib/aws/step-capabilities.ts)', 'STEP_CAPABILITY_MISSING', { capability: 'cluster' });
  }
}

/**
 * The cluster ports of a step without the `cluster` capability: it has no access entry, and its
 * bundle leaves the Kubernetes client out. Any call is a wiring mistake, reported as such.
 */
export function noClusterPorts(): ClusterPorts {
  const refuse = (): never => {
    throw new NoClusterAccessError();
  };
  const port = new Proxy({}, { get: () => refuse });
  return { runtime: port as Runtime, provisioner: port as Provisioner };
}

export interface RackContextOptions {
  /** The cluster's ports (`eksClusterPorts` for the steps that drive the runtime; none by default). */
  readonly cluster?: (settings: RackSettings, store: ReleaseStore) => ClusterPorts;
  /** Powertools metrics; events become metrics through it. */
  readonly metrics?: Pick<Metrics, 'singleMetric'>;
}

export function awsRackContext(settings: RackSettings, options: RackContextOptions = {}): DeployContext {
  const dynamo = new DynamoDBClient({});
  const table = new DynamoRecordTable(dynamo, settings.table);
  const eventSink = new EventBridgeEventSink(new EventBridgeClient({}), settings.eventBus);
  const events = new EventPublisher(options.metrics ? new MetricsEventSink(eventSink, options.metrics, settings.rackName) : eventSink);
  const store = new ReleaseStore(table);
  const cluster = (options.cluster ?? noClusterPorts)(settings, store);
  return {
    store,
    bundles: new S3BundleStore(new S3Client({}), settings.bundleBucket),
    builder: new CodeBuildBuilder(
      { codebuild: new CodeBuildClient({}), ecr: new ECRClient({}) },
      {
        projectName: settings.buildProject,
        bundleBucket: settings.bundleBucket,
        repositoryUri: (app) => `${settings.registry}/${repositoryName(settings, app)}`,
        repositoryName: (app) => repositoryName(settings, app),
      },
    ),
    provisioner: cluster.provisioner,
    runtime: cluster.runtime,
    env: new KmsEnvStore(table, new KMSClient({}), settings.keyArn),
    scheduler: new EventBridgeTimerScheduler(new SchedulerClient({}), { groupName: settings.scheduleGroup, targetArn: settings.timerMachineArn, roleArn: settings.schedulerRoleArn }),
    alarms: new CloudWatchAlarmMonitor(new CloudWatchClient({})),
    events,
    clock: systemClock,
    workDir: settings.workDir,
  };
}
