/** DescribeDBInstances for the resources that adopt an existing RDS instance (`options.import`). */
import { DBInstanceNotFoundFault, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import type { RDSClient } from '@aws-sdk/client-rds';
import type { RdsInstance, RdsInstances } from './cloudformation-provisioner';

export class RdsDescribeInstances implements RdsInstances {
  constructor(private readonly client: RDSClient) {}

  async describeInstance(identifier: string): Promise<RdsInstance | undefined> {
    let found;
    try {
      found = (await this.client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }))).DBInstances?.[0];
    } catch (e) {
      if (e instanceof DBInstanceNotFoundFault) return undefined;
      throw e;
    }
    if (!found) return undefined;
    return {
      identifier,
      engine: found.Engine ?? '',
      status: found.DBInstanceStatus ?? '',
      ...(found.Endpoint?.Address ? { host: found.Endpoint.Address } : {}),
      ...(found.Endpoint?.Port !== undefined ? { port: found.Endpoint.Port } : {}),
      ...(found.DBName ? { database: found.DBName } : {}),
      ...(found.MasterUsername ? { username: found.MasterUsername } : {}),
      ...(found.MasterUserSecret?.SecretArn ? { masterUserSecretArn: found.MasterUserSecret.SecretArn } : {}),
    };
  }
}
