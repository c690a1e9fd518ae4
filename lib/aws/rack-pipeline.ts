/**
 * The pipeline on AWS: one Lambda function per step (each with a role of its own, granted exactly
 * its capabilities, see step-capabilities.ts), the four state machines defined once in
 * `PipelineMachines` (the same definitions the local rack runs), and the trigger that turns a
 * bundle upload into a Deploy execution.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import { CfnAccessEntry } from 'aws-cdk-lib/aws-eks';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Architecture, Runtime as LambdaRuntime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { LogLevel } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BUNDLE_PREFIX } from '../pipeline/bundle/key';
import type { MachineName } from '../pipeline/machines/pipeline-machines';
import { PipelineMachines } from '../pipeline/machines/pipeline-machines';
import type { CleanupConfig } from '../pipeline/steps/cleanup';
import type { DeployConfig } from '../pipeline/steps/deploy';
import type { RackSettings } from './rack-context';
import { rackEnvironment } from './rack-context';
import { METRICS_NAMESPACE, METRICS_SERVICE } from './adapters/metrics-event-sink';
import { rackNamespacesGroup } from './rack-cluster';
import { acknowledgeWildcards, arnRef, nagArn as arn, XRAY_REASON } from './nag';
import type { RackStores } from './rack-stores';
import type { Capability, StepName } from './step-capabilities';
import { STEP_CAPABILITIES, STEP_NAMES } from './step-capabilities';

export const LAMBDAS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lambdas');

/** The state machines' names in the account: `slipway-<rack>-<Machine>`. */
export function machineName(rack: string, machine: MachineName): string {
  return `slipway-${rack}-${machine}`;
}

/**
 * A machine's ARN built from its name, not a reference: the step functions and the schedules need
 * the Timer and Cleanup machines' ARNs, and the machines' definitions refer to the functions.
 */
export function machineArn(scope: Construct, rack: string, machine: MachineName): string {
  return Stack.of(scope).formatArn({ service: 'states', resource: 'stateMachine', resourceName: machineName(rack, machine), arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

/** A step's handler file under lambdas/steps/: `acquireLock` → `acquire-lock.ts`. */
export function stepEntryFile(step: string): string {
  return `${step.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}.ts`;
}

export interface RackPipelineProps {
  readonly rackName: string;
  readonly stores: RackStores;
  readonly bundles: Bucket;
  readonly buildProjectName: string;
  readonly buildProjectArn: string;
  /** App repositories are `<repositoryPrefix><app>`. */
  readonly repositoryPrefix: string;
  readonly cluster: { readonly name: string; readonly arn: string };
  readonly ingressClass: string;
  readonly scheduleGroupName: string;
  /** The role EventBridge Scheduler runs timers with. */
  readonly schedulerRole: IRole;
  /** The role CloudFormation builds managed resources with (Provision passes it). */
  readonly resourceRole: IRole;
  readonly deploy: DeployConfig;
  readonly cleanup: CleanupConfig;
  /** Days the functions' and machines' logs are kept. */
  readonly logRetention: RetentionDays;
}

/** esbuild settings every function shares: small, readable stack traces, the runtime's own AWS SDK. */
export const LAMBDA_BUNDLING: BundlingOptions = {
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  target: 'node24',
  format: OutputFormat.CJS,
  externalModules: ['@aws-sdk/*'],
};

/** Steps that need more than the default room: extracting and hashing a bundle. */
const SIZED: Partial<Record<StepName, { memory: number; tmp: Size; timeout: Duration }>> = {
  prepareBuild: { memory: 1024, tmp: Size.gibibytes(4), timeout: Duration.minutes(5) },
};

export class RackPipeline extends Construct {
  readonly functions: Readonly<Record<StepName, NodejsFunction>>;
  readonly machines: PipelineMachines;
  readonly trigger: NodejsFunction;

  constructor(scope: Construct, id: string, props: RackPipelineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const settings: RackSettings = {
      rackName: props.rackName,
      table: props.stores.table.tableName,
      keyArn: props.stores.key.keyArn,
      bundleBucket: props.bundles.bucketName,
      eventBus: props.stores.bus.eventBusName,
      buildProject: props.buildProjectName,
      registry: `${stack.account}.dkr.ecr.${stack.region}.${stack.urlSuffix}`,
      repositoryPrefix: props.repositoryPrefix,
      scheduleGroup: props.scheduleGroupName,
      timerMachineArn: machineArn(this, props.rackName, 'Timer'),
      schedulerRoleArn: props.schedulerRole.roleArn,
      cluster: props.cluster.name,
      resourceRole: props.resourceRole.roleArn,
      ingressClass: props.ingressClass,
      workDir: '/tmp/slipway',
    };
    const environment = rackEnvironment(settings);

    const functions = {} as Record<StepName, NodejsFunction>;
    for (const step of STEP_NAMES) {
      const sized = SIZED[step];
      const role = new Role(this, `${pascal(step)}Role`, {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        description: `Slipway ${props.rackName}: the ${step} step`,
      });
      const fn = new NodejsFunction(this, pascal(step), {
        entry: join(LAMBDAS, 'steps', stepEntryFile(step)),
        handler: 'handler',
        runtime: LambdaRuntime.NODEJS_24_X,
        architecture: Architecture.ARM_64,
        memorySize: sized?.memory ?? 512,
        ephemeralStorageSize: sized?.tmp ?? Size.mebibytes(512),
        timeout: sized?.timeout ?? Duration.minutes(2),
        tracing: Tracing.ACTIVE,
        role,
        environment: { ...environment, POWERTOOLS_SERVICE_NAME: METRICS_SERVICE, POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE },
        logGroup: new LogGroup(this, `${pascal(step)}Logs`, { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY }),
        bundling: LAMBDA_BUNDLING,
        description: `Slipway ${props.rackName}: ${step}`,
      });
      grantLogs(role, fn);
      const capabilities = STEP_CAPABILITIES[step] as readonly Capability[];
      for (const capability of capabilities) grant(capability, role, props);
      acknowledgeStepWildcards(role, capabilities, props);
      functions[step] = fn;
    }
    this.functions = functions;

    const machineLogs = new LogGroup(this, 'MachineLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.machines = new PipelineMachines(this, 'Machines', {
      stepFunction: (step: string): IFunction => {
        const fn = functions[step as StepName];
        if (!fn) throw new Error(`the machines call a step with no function: ${step}`);
        return fn;
      },
      deployDefaults: props.deploy,
      cleanup: props.cleanup,
      machineName: (machine) => machineName(props.rackName, machine),
      machineProps: {
        tracingEnabled: true,
        logs: { destination: machineLogs, level: LogLevel.ALL, includeExecutionData: true },
      },
    });

    for (const [name, machine] of Object.entries(this.machines.machines)) {
      const invoked = [...new Set(Object.values(functions))].map((fn) => `Resource::${arnRef(fn)}:*`);
      acknowledgeWildcards(machine, invoked, `the ${name} machine invokes its steps’ functions; the \`:*\` is CDK’s LambdaInvoke grant for their versions and aliases, not other functions`);
      acknowledgeWildcards(machine, ['Resource::*'], `${XRAY_REASON}; Step Functions’ log delivery actions (logs:CreateLogDelivery and the like) have no resource-level permissions either`);
    }

    // Cluster access: only the steps that drive the runtime, and only within the rack's namespaces.
    const clusterSteps = STEP_NAMES.filter((s) => (STEP_CAPABILITIES[s] as readonly Capability[]).includes('cluster'));
    for (const step of clusterSteps) {
      const role = functions[step].role;
      if (!role) continue;
      new CfnAccessEntry(this, `${pascal(step)}ClusterAccess`, {
        clusterName: props.cluster.name,
        principalArn: role.roleArn,
        type: 'STANDARD',
        // Namespaces are cluster-wide objects: this group is bound to a ClusterRole that lets it create and read
        // namespaces only (rackRbacManifest, see docs/aws-rack.md); everything else is the Edit policy within `<rack>-*`.
        kubernetesGroups: [rackNamespacesGroup(props.rackName)],
        accessPolicies: [
          {
            policyArn: `arn:${stack.partition}:eks::aws:cluster-access-policy/AmazonEKSEditPolicy`,
            accessScope: { type: 'namespace', namespaces: [`${props.rackName}-*`] },
          },
        ],
      });
    }

    this.trigger = new NodejsFunction(this, 'BundleTrigger', {
      entry: join(LAMBDAS, 'bundle-trigger.ts'),
      handler: 'handler',
      runtime: LambdaRuntime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      role: new Role(this, 'BundleTriggerRole', { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: `Slipway ${props.rackName}: starts deploys from uploads` }),
      environment: { DEPLOY_MACHINE_ARN: this.machines.machines.Deploy.stateMachineArn, DEPLOY_CONFIG: JSON.stringify(props.deploy), POWERTOOLS_SERVICE_NAME: 'slipway-bundle-trigger' },
      logGroup: new LogGroup(this, 'BundleTriggerLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY }),
      bundling: LAMBDA_BUNDLING,
      description: `Slipway ${props.rackName}: starts a deploy for each bundle upload`,
    });
    if (this.trigger.role) {
      grantLogs(this.trigger.role, this.trigger);
      acknowledgeWildcards(this.trigger.role, ['Resource::*'], XRAY_REASON);
    }
    this.machines.machines.Deploy.grantStartExecution(this.trigger);
    // Only keys in the bundle layout reach the trigger; it checks the layout again and refuses the rest.
    new Rule(this, 'BundleUploaded', {
      description: `Slipway ${props.rackName}: a bundle was uploaded`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [props.bundles.bucketName] }, object: { key: [{ prefix: BUNDLE_PREFIX }] } },
      },
      targets: [new LambdaTarget(this.trigger, { retryAttempts: 4, maxEventAge: Duration.hours(2) })],
    });
  }
}

function grantLogs(role: IRole, fn: NodejsFunction): void {
  // The function's own log group only (CDK's managed policy would allow every group in the account).
  // The group's ARN attribute ends in `:*`, which covers the streams Lambda creates in it.
  role.addToPrincipalPolicy(new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [fn.logGroup.logGroupArn] }));
}

/** The wildcards a step's grants carry, each acknowledged with why it cannot be narrower. */
function acknowledgeStepWildcards(role: IRole, capabilities: readonly Capability[], props: RackPipelineProps): void {
  const has = (c: Capability): boolean => capabilities.includes(c);
  const unscoped = [has('schedules') ? 'scheduler:ListSchedules' : '', has('resources') ? 'cloudformation:ListStacks, ec2:DescribeRouteTables' : ''].filter((a) => a !== '');
  acknowledgeWildcards(role, ['Resource::*'], unscoped.length > 0 ? `${XRAY_REASON}; ${unscoped.join(' and ')} have no resource-level permissions (the adapters keep to the rack’s own)` : XRAY_REASON);
  if (has('records')) {
    acknowledgeWildcards(role, ['Action::kms:ReEncrypt*', 'Action::kms:GenerateDataKey*'], 'CDK’s DynamoDB table grant on the table’s own customer managed key (the rack key), which DynamoDB uses on the caller’s behalf');
  }
  if (has('bundles') || has('pruneBundles')) {
    acknowledgeWildcards(role, [`Resource::${arnRef(props.bundles)}/${BUNDLE_PREFIX}*`], 'bundles of any app: the step serves every app of the rack, and the key layout apps/<app>/bundles/ is checked again in code');
  }
  if (has('builds') || has('images')) {
    acknowledgeWildcards(role, [`Resource::${arn('ecr')}repository/${props.repositoryPrefix}*`], 'the rack’s app repositories only (one per app, created on its first build, so not known at deploy time)');
  }
  if (has('schedules')) {
    acknowledgeWildcards(role, [`Resource::${arn('scheduler')}schedule/${props.scheduleGroupName}/*`], 'schedules in the rack’s own group only; one per app timer, named at deploy time');
  }
  if (has('resources')) {
    acknowledgeWildcards(role, [`Resource::${arn('cloudformation')}stack/slipway-${props.rackName}-*/*`], 'the apps\u2019 resource stacks, one per resource, named slipway-<rack>-<app>-<resource> at deploy time');
    acknowledgeWildcards(role, [`Resource::${arn('secretsmanager')}secret:rds!*`], 'the master-password secrets RDS creates for the apps\u2019 databases are named rds!<id> by RDS');
    acknowledgeWildcards(role, [`Resource::${arn('rds')}db:*`], 'an adopted instance (options.import) is any instance the user names; DescribeDBInstances reads it only');
  }
  if (has('alarms')) {
    acknowledgeWildcards(role, [`Resource::${arn('cloudwatch')}alarm:*`], 'the health gate reads the alarms a deploy names in its settings, which are any of the account’s; DescribeAlarms reads state only');
  }
}

function grant(capability: Capability, role: IRole, props: RackPipelineProps): void {
  const stack = Stack.of(role);
  const repositories = stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: `${props.repositoryPrefix}*` });
  switch (capability) {
    case 'records':
      props.stores.table.grantReadWriteData(role);
      return;
    case 'env':
      props.stores.table.grantReadData(role);
      // Env values are sealed with data keys under the rack key; the encryption context names the app and version.
      role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [props.stores.key.keyArn],
          conditions: { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['app', 'version'] } },
        }),
      );
      return;
    case 'events':
      props.stores.bus.grantPutEventsTo(role);
      return;
    case 'bundles':
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [props.bundles.arnForObjects(`${BUNDLE_PREFIX}*`)] }));
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:ListBucket', 's3:ListBucketVersions'], resources: [props.bundles.bucketArn], conditions: { StringLike: { 's3:prefix': [`${BUNDLE_PREFIX}*`] } } }));
      return;
    case 'pruneBundles':
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'], resources: [props.bundles.arnForObjects(`${BUNDLE_PREFIX}*`)] }));
      return;
    case 'builds':
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['codebuild:StartBuild', 'codebuild:BatchGetBuilds'], resources: [props.buildProjectArn] }));
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['ecr:CreateRepository', 'ecr:DescribeRepositories', 'ecr:PutLifecyclePolicy', 'ecr:TagResource'], resources: [repositories] }));
      return;
    case 'images':
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['ecr:BatchDeleteImage', 'ecr:DescribeImages'], resources: [repositories] }));
      return;
    case 'schedules': {
      const schedules = stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${props.scheduleGroupName}/*` });
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule', 'scheduler:GetSchedule'], resources: [schedules] }));
      // ListSchedules has no resource-level permissions; the adapter filters by group itself.
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['scheduler:ListSchedules'], resources: ['*'] }));
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['iam:PassRole'], resources: [props.schedulerRole.roleArn], conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } } }));
      return;
    }
    case 'alarms':
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: [stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })] }));
      return;
    case 'cluster':
      role.addToPrincipalPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['eks:DescribeCluster'], resources: [props.cluster.arn] }));
      return;
    case 'resources': {
      const stacks = stack.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `slipway-${props.rackName}-*/*` });
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['cloudformation:DescribeStacks', 'cloudformation:CreateStack', 'cloudformation:UpdateStack', 'cloudformation:DescribeStackEvents', 'cloudformation:TagResource'], resources: [stacks] }));
      // ListStacks and DescribeRouteTables (which subnets are private) have no resource-level permissions.
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['cloudformation:ListStacks', 'ec2:DescribeRouteTables'], resources: ['*'] }));
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['iam:PassRole'], resources: [props.resourceRole.roleArn], conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } } }));
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [`arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:rds!*`] }));
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['rds:DescribeDBInstances'], resources: [`arn:${stack.partition}:rds:${stack.region}:${stack.account}:db:*`] }));
      return;
    }
  }
}

function pascal(step: string): string {
  return step.charAt(0).toUpperCase() + step.slice(1);
}
