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
});
