/**
 * The AWS rack: what a team deploys into its own account with `npx cdk deploy`. So far it holds
 * the bundle bucket the pipeline is triggered from and the rack's stores (table, key, event
 * bus); the state machines, builder and schedulers join it as the pipeline lands.
 */
import { CfnOutput, Stack, Validations } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BundleBucket } from './bundle-bucket';
import { RackStores } from './rack-stores';

export interface RackStackProps extends StackProps {
  readonly rackName: string;
}

export class RackStack extends Stack {
  readonly bundles: BundleBucket;
  readonly stores: RackStores;

  constructor(scope: Construct, id: string, props: RackStackProps) {
    super(scope, id, { ...props, description: `Slipway rack ${props.rackName}` });
    this.bundles = new BundleBucket(this, 'Bundles');
    acknowledgeBucketNotificationsHandler(this);
    new CfnOutput(this, 'BundleBucketName', { value: this.bundles.bucket.bucketName, description: 'Push app bundles here, under apps/<app>/bundles/' });
    this.stores = new RackStores(this, 'Stores', { rackName: props.rackName });
    new CfnOutput(this, 'TableName', { value: this.stores.table.tableName, description: 'Apps, builds, releases, env versions and deploy locks' });
    new CfnOutput(this, 'EventBusName', { value: this.stores.bus.eventBusName, description: 'Slipway events (source slipway)' });
  }
}

/**
 * The bucket's EventBridge notifications are switched on by CDK's own singleton Lambda, whose
 * role CDK gives the AWS managed AWSLambdaBasicExecutionRole (its own log writes, nothing else).
 * That one finding is acknowledged on that construct alone, so the rule still covers ours.
 */
function acknowledgeBucketNotificationsHandler(stack: Stack): void {
  const handler = stack.node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
  if (!handler) return;
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: 'CDK\u2019s bucket-notifications handler: the managed policy only lets it write its own CloudWatch logs, and CDK owns this role',
  });
}
