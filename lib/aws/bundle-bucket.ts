/**
 * The bucket apps are pushed to: `apps/<app>/bundles/<bundle>.tgz`. Every write is an S3 "Object
 * Created" event on EventBridge, which starts a deploy; versions keep every bundle a release was
 * built from, so a rollback can always rebuild.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface BundleBucketProps {
  /** Days a bundle version that is no longer current is kept (a rollback needs its build, not its bundle). */
  readonly noncurrentVersionRetentionDays?: number;
  /** How many noncurrent versions are kept regardless of age. */
  readonly noncurrentVersionsToRetain?: number;
}

export class BundleBucket extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: BundleBucketProps = {}) {
    super(scope, id);
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      // S3 server access logs can only be delivered to SSE-S3 encrypted buckets.
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new Bucket(this, 'Bundles', {
      versioned: true,
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      eventBridgeEnabled: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'bundles/',
      lifecycleRules: [
        {
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionRetentionDays ?? 90),
          noncurrentVersionsToRetain: props.noncurrentVersionsToRetain ?? 10,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
