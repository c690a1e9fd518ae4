/**
 * Which of the cluster's subnets are private: a subnet is public when its route table (its own,
 * or the VPC's main table when it has none) sends traffic to an internet gateway. Managed
 * databases and caches go in the private ones only.
 */
import { DescribeRouteTablesCommand } from '@aws-sdk/client-ec2';
import type { EC2Client, RouteTable } from '@aws-sdk/client-ec2';
import type { PrivateSubnets } from './cloudformation-provisioner';

const routesToInternet = (table: RouteTable | undefined): boolean => (table?.Routes ?? []).some((r) => r.GatewayId?.startsWith('igw-') ?? false);

export class Ec2PrivateSubnets implements PrivateSubnets {
  constructor(private readonly client: EC2Client) {}

  async privateSubnets(vpcId: string, subnetIds: readonly string[]): Promise<string[]> {
    const tables: RouteTable[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }], NextToken: token }));
      tables.push(...(page.RouteTables ?? []));
      token = page.NextToken;
    } while (token);
    const main = tables.find((t) => t.Associations?.some((a) => a.Main));
    return subnetIds.filter((subnet) => {
      const own = tables.find((t) => t.Associations?.some((a) => a.SubnetId === subnet));
      return !routesToInternet(own ?? main);
    });
  }
}
