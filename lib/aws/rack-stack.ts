/**
 * The AWS rack: what a team deploys into its own account with `npx cdk deploy`. So far it holds
 * the bundle bucket the pipeline is triggered from and the rack's stores (table, key, event
 * bus); the state machines, builder and schedulers join it as the pipeline lands.
 */
import { CfnOutput, Stack } from 'aws-cdk-lib';
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
    new CfnOutput(this, 'BundleBucketName', { value: this.bundles.bucket.bucketName, description: 'Push app bundles here, under apps/<app>/bundles/' });
    this.stores = new RackStores(this, 'Stores', { rackName: props.rackName });
    new CfnOutput(this, 'TableName', { value: this.stores.table.tableName, description: 'Apps, builds, releases, env versions and deploy locks' });
    new CfnOutput(this, 'EventBusName', { value: this.stores.bus.eventBusName, description: 'Slipway events (source slipway)' });
  }
}
