/** Which cluster subnets managed resources may use (EC2: aws-sdk-client-mock). */
import { DescribeRouteTablesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Ec2PrivateSubnets } from '../../lib/aws/adapters/ec2-private-subnets';

const ec2 = mockClient(EC2Client);
beforeEach(() => ec2.reset());
afterAll(() => ec2.restore());

describe('Ec2PrivateSubnets (EC2: aws-sdk-client-mock)', () => {
  it('keeps the subnets whose route table (their own, else the main one) has no internet gateway route, across pages', async () => {
    ec2
      .on(DescribeRouteTablesCommand, { Filters: [{ Name: 'vpc-id', Values: ['vpc-1'] }], NextToken: undefined })
      .resolves({
        RouteTables: [
          { Associations: [{ Main: true }], Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-1' }] },
          { Associations: [{ SubnetId: 'subnet-public' }], Routes: [{ DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-1' }] },
        ],
        NextToken: 'page-2',
      })
      .on(DescribeRouteTablesCommand, { NextToken: 'page-2' })
      .resolves({ RouteTables: [{ Associations: [{ SubnetId: 'subnet-private-a' }], Routes: [{ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local' }] }] });
    const found = await new Ec2PrivateSubnets(new EC2Client({ region: 'eu-west-1' })).privateSubnets('vpc-1', ['subnet-public', 'subnet-private-a', 'subnet-main-b']);
    expect(found).toEqual(['subnet-private-a', 'subnet-main-b']);
  });
});
