/** The rack's CloudFormation, checked by synthesis (no AWS account is reachable here). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { recordTableSchema } from '../../lib/aws/adapters/dynamo-record-table';
import { rackConfig } from '../../lib/aws/rack-config';
import { RACK_ENV } from '../../lib/aws/rack-context';
import { STEP_CAPABILITIES, STEP_NAMES } from '../../lib/aws/step-capabilities';
import { RackStack } from '../../lib/aws/rack-stack';

/** The rack's context as cdk.json would hold it; Lambda bundling is skipped except where a test asks for it. */
const CONTEXT = { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true, 'slipway:rackName': 'test', 'slipway:clusterName': 'apps' };
const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

let cached: Template | undefined;
function template(): Template {
  if (cached) return cached;
  const app = new App({ context: { ...CONTEXT, ...SKIP_BUNDLING } });
  const config = rackConfig((key) => app.node.tryGetContext(key));
  cached = Template.fromStack(new RackStack(app, 'Rack', { config }));
  return cached;
}

describe('the rack stack (synthesised; no AWS account here)', () => {
  it('makes a bundle bucket that is versioned, encrypted, private, logged and sends events to EventBridge', () => {
    const t = template();
    t.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'bundles/' }),
      LifecycleConfiguration: { Rules: [Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 90, NewerNoncurrentVersions: 10 } })] },
    });
    // CDK turns EventBridge notifications on through its bucket-notifications custom resource.
    t.hasResourceProperties('Custom::S3BucketNotifications', { NotificationConfiguration: { EventBridgeConfiguration: {} } });
  });

  it('refuses plain HTTP on both buckets', () => {
    const policies = template().findResources('AWS::S3::BucketPolicy');
    const denies = Object.values(policies).filter((p) =>
      JSON.stringify(p).includes('"aws:SecureTransport":"false"'),
    );
    expect(denies).toHaveLength(2);
  });

  it('keeps the buckets when the stack is deleted', () => {
    const buckets = template().findResources('AWS::S3::Bucket');
    expect(Object.values(buckets).map((b) => (b as { DeletionPolicy?: string }).DeletionPolicy)).toEqual(['Retain', 'Retain']);
  });

  it('keeps the rack\u2019s records in one DynamoDB table with the layout the adapter writes, point-in-time recovery on, sealed with the rack\u2019s key', () => {
    const t = template();
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: recordTableSchema.KeySchema,
        AttributeDefinitions: recordTableSchema.AttributeDefinitions,
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: Match.objectLike({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() }),
        DeletionProtectionEnabled: true,
      },
    });
    t.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ EnableKeyRotation: true }) });
    t.hasResourceProperties('AWS::Events::EventBus', { Name: 'slipway-test' });
    t.hasOutput('TableName', {});
    t.hasOutput('EventBusName', {});
  });

  it('passes cdk-nag\u2019s AWS Solutions checks with no unacknowledged finding', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'slipway-nag-'));
    const app = new App({ outdir, context: { ...CONTEXT, ...SKIP_BUNDLING } });
    new RackStack(app, 'Rack', { config: rackConfig((key) => app.node.tryGetContext(key)) });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // A finding makes synthesis throw, with the report written next to the template.
    expect(() => app.synth()).not.toThrow();
  });

  it('runs each step in a Lambda of its own: Node.js 24 on arm64, traced, configured with the rack\u2019s names only', () => {
    const functions = Object.values(template().findResources('AWS::Lambda::Function')) as { Properties: { Runtime?: string; Architectures?: string[]; TracingConfig?: unknown; Environment?: { Variables: Record<string, unknown> }; Handler?: string; Description?: string } }[];
    const steps = functions.filter((f) => f.Properties.Description?.startsWith('Slipway test: ') && !f.Properties.Description.includes('starts a deploy'));
    expect(steps.map((f) => f.Properties.Description?.slice('Slipway test: '.length)).sort()).toEqual([...STEP_NAMES].sort());
    const allowed = new Set([...Object.values(RACK_ENV), 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'NODE_OPTIONS', 'AWS_NODEJS_CONNECTION_REUSE_ENABLED']);
    for (const f of steps) {
      expect(f.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' }, Handler: 'index.handler' });
      // Names of the rack's resources; no value an app or an operator would keep secret.
      expect(Object.keys(f.Properties.Environment?.Variables ?? {}).filter((k) => !allowed.has(k))).toEqual([]);
    }
  });

  it('defines the four machines once, named for the rack, with every event logged and X-Ray tracing', () => {
    const machines = Object.values(template().findResources('AWS::StepFunctions::StateMachine')) as { Properties: Record<string, unknown> }[];
    expect(machines.map((m) => m.Properties.StateMachineName).sort()).toEqual(['slipway-test-Cleanup', 'slipway-test-Deploy', 'slipway-test-Rollback', 'slipway-test-Timer']);
    for (const m of machines) {
      expect(m.Properties).toMatchObject({ LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true }, TracingConfiguration: { Enabled: true } });
    }
  });

  it('starts deploys from Object Created events under apps/ of the bundle bucket only', () => {
    template().hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { bucket: { name: [Match.anyValue()] }, object: { key: [{ prefix: 'apps/' }] } } },
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 } })],
    });
  });

  it('builds images in a privileged CodeBuild project with the Docker layer cache, its logs encrypted with the rack key', () => {
    template().hasResourceProperties('AWS::CodeBuild::Project', {
      Name: 'slipway-test-builds',
      Environment: Match.objectLike({ PrivilegedMode: true, ComputeType: 'BUILD_GENERAL1_MEDIUM' }),
      Cache: { Type: 'LOCAL', Modes: ['LOCAL_DOCKER_LAYER_CACHE'] },
      EncryptionKey: Match.anyValue(),
      TimeoutInMinutes: 60,
    });
  });

  it('keeps timer schedules in the rack\u2019s Scheduler group and runs cleanup daily', () => {
    const t = template();
    t.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'slipway-test' });
    t.hasResourceProperties('AWS::Scheduler::Schedule', { Name: 'cleanup', GroupName: 'slipway-test', ScheduleExpression: 'cron(0 4 * * ? *)', ScheduleExpressionTimezone: 'UTC' });
  });

  it('admits only the cluster steps\u2019 roles to the cluster, with the Edit policy scoped to the rack\u2019s namespaces', () => {
    const entries = Object.values(template().findResources('AWS::EKS::AccessEntry')) as { Properties: Record<string, unknown> }[];
    const clusterSteps = STEP_NAMES.filter((s) => (STEP_CAPABILITIES[s] as readonly string[]).includes('cluster'));
    expect(entries).toHaveLength(clusterSteps.length);
    for (const e of entries) {
      expect(e.Properties).toMatchObject({
        ClusterName: 'apps',
        Type: 'STANDARD',
        KubernetesGroups: ['slipway:test:namespaces'],
        AccessPolicies: [{ PolicyArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':eks::aws:cluster-access-policy/AmazonEKSEditPolicy']] }, AccessScope: { Type: 'namespace', Namespaces: ['test-*'] } }],
      });
    }
  });

  it('grants no action on every resource where the action has resource-level permissions', () => {
    // The actions IAM cannot narrow to a resource (per the Service Authorization Reference).
    const unscoped = new Set([
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
      'ecr:GetAuthorizationToken',
      'scheduler:ListSchedules',
      'cloudformation:ListStacks',
      'ec2:DescribeRouteTables',
      'ec2:DescribeSecurityGroups',
      'ec2:DescribeVpcs',
      'ec2:DescribeSubnets',
      'elasticache:DescribeCacheEngineVersions',
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ]);
    const statements = Object.values(template().findResources('AWS::IAM::Policy')).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement);
    const wide = statements.filter((st) => st.Resource === '*' || (Array.isArray(st.Resource) && st.Resource.includes('*')));
    const actions = wide.flatMap((st) => (Array.isArray(st.Action) ? st.Action : [st.Action]));
    expect(actions.filter((a) => !unscoped.has(a))).toEqual([]);
  });

  it('gives each step role the actions of its capabilities and no others', () => {
    const t = template();
    const policies = t.findResources('AWS::IAM::Policy') as Record<string, { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: { Action: string | string[] }[] } } }>;
    const roles = t.findResources('AWS::IAM::Role') as Record<string, { Properties: { Description?: string } }>;
    const actionsOf = (step: string): Set<string> => {
      const role = Object.entries(roles).find(([, r]) => r.Properties.Description === `Slipway test: the ${step} step`)?.[0];
      const statements = Object.values(policies).filter((p) => p.Properties.Roles.some((r) => r.Ref === role)).flatMap((p) => p.Properties.PolicyDocument.Statement);
      return new Set(statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));
    };
    const marker: Record<string, string> = { cluster: 'eks:DescribeCluster', builds: 'codebuild:StartBuild', images: 'ecr:BatchDeleteImage', schedules: 'scheduler:CreateSchedule', alarms: 'cloudwatch:DescribeAlarms', events: 'events:PutEvents', bundles: 's3:GetObjectVersion', pruneBundles: 's3:DeleteObjectVersion', resources: 'cloudformation:CreateStack' };
    for (const step of STEP_NAMES) {
      const actions = actionsOf(step);
      for (const [capability, action] of Object.entries(marker)) {
        expect(actions.has(action), `${step} and ${action}`).toBe((STEP_CAPABILITIES[step] as readonly string[]).includes(capability));
      }
    }
  });

  it('builds managed resources through a CloudFormation service role scoped to the rack\u2019s names, which only Provision may pass', () => {
    const t = template();
    const roles = t.findResources('AWS::IAM::Role') as Record<string, { Properties: { Description?: string; AssumeRolePolicyDocument: { Statement: { Principal: { Service?: string } }[] } } }>;
    const [serviceRole] = Object.entries(roles).find(([, r]) => r.Properties.Description?.includes('CloudFormation builds the apps') ?? false) ?? [];
    expect(serviceRole).toBeDefined();
    expect(roles[serviceRole ?? '']?.Properties.AssumeRolePolicyDocument.Statement[0]?.Principal.Service).toBe('cloudformation.amazonaws.com');
    const passers = Object.values(t.findResources('AWS::IAM::Policy') as Record<string, { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }>)
      .filter((p) => p.Properties.PolicyDocument.Statement.some((s) => s.Action === 'iam:PassRole' && JSON.stringify(s.Resource).includes(serviceRole ?? '?')))
      .flatMap((p) => p.Properties.Roles.map((r) => (roles[r.Ref]?.Properties.Description ?? '')));
    expect(passers).toEqual(['Slipway test: the provision step']);
    const lambdas = Object.values(t.findResources('AWS::Lambda::Function')) as { Properties: { Environment?: { Variables: Record<string, unknown> } } }[];
    expect(lambdas.filter((f) => f.Properties.Environment?.Variables[RACK_ENV.resourceRole] !== undefined).length).toBe(STEP_NAMES.length);
  });
});
