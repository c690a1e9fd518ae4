/** The adopted-instance lookup (RDS: aws-sdk-client-mock). */
import { DBInstanceNotFoundFault, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { RdsDescribeInstances } from '../../lib/aws/adapters/rds-instances';

const rds = mockClient(RDSClient);
beforeEach(() => rds.reset());
afterAll(() => rds.restore());

describe('RdsDescribeInstances (RDS: aws-sdk-client-mock)', () => {
  it('reads the endpoint, database, user and the RDS-managed secret of the instance it is asked for', async () => {
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'legacy-db' }).resolves({
      DBInstances: [{ Engine: 'postgres', DBInstanceStatus: 'available', Endpoint: { Address: 'legacy-db.abc.eu-west-1.rds.amazonaws.com', Port: 5432 }, DBName: 'shop', MasterUsername: 'app', MasterUserSecret: { SecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1' } }],
    });
    expect(await new RdsDescribeInstances(new RDSClient({ region: 'eu-west-1' })).describeInstance('legacy-db')).toEqual({
      identifier: 'legacy-db',
      engine: 'postgres',
      status: 'available',
      host: 'legacy-db.abc.eu-west-1.rds.amazonaws.com',
      port: 5432,
      database: 'shop',
      username: 'app',
      masterUserSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1',
    });
  });

  it('answers undefined for an instance that does not exist', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} }));
    expect(await new RdsDescribeInstances(new RDSClient({ region: 'eu-west-1' })).describeInstance('gone')).toBeUndefined();
  });
});
