/**
 * Where the rack keeps its state: one DynamoDB table for apps, builds, releases, env versions and
 * the deploy locks (the record layout of `DynamoRecordTable`), the KMS key app env values are
 * sealed with, and the EventBridge bus Slipway's events go to.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { recordTableSchema } from './adapters/dynamo-record-table';

export interface RackStoresProps {
  readonly rackName: string;
}

export class RackStores extends Construct {
  readonly table: Table;
  /** Seals env values (envelope encryption, one data key per env version) and the table. */
  readonly key: Key;
  readonly bus: EventBus;

  constructor(scope: Construct, id: string, props: RackStoresProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: `Slipway rack ${props.rackName}: app environments and the rack's table`,
      enableKeyRotation: true,
      // Deleting the key would make every stored environment unreadable.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table = new Table(this, 'Records', {
      partitionKey: { name: recordTableSchema.partitionKey, type: AttributeType.STRING },
      sortKey: { name: recordTableSchema.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bus = new EventBus(this, 'Events', { eventBusName: `slipway-${props.rackName}` });
  }
}
