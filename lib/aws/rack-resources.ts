/**
 * The role CloudFormation acts with on the apps' managed resource stacks (`slipway-<rack>-<app>-
 * <resource>`: RDS instances, ElastiCache clusters, their subnet groups and security groups). The
 * Provision step passes it with each CreateStack and UpdateStack, so the step itself holds no
 * right to create a database; and the role holds none to delete one outside such a stack update
 * (a stack is never deleted by a deploy; removal is an explicit, separate act).
 */
import { Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeWildcards, nagArn as at } from './nag';

export interface RackResourcesProps {
  readonly rackName: string;
}

export class RackResources extends Construct {
  readonly serviceRole: Role;

  constructor(scope: Construct, id: string, props: RackResourcesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = `slipway-${props.rackName}-`;
    this.serviceRole = new Role(this, 'ServiceRole', {
      description: `Slipway ${props.rackName}: CloudFormation builds the apps' databases and caches with this role`,
      assumedBy: new ServicePrincipal('cloudformation.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
    });
    const rdsArn = (kind: string): string => `arn:${stack.partition}:rds:${stack.region}:${stack.account}:${kind}:${prefix}*`;
    const elasticacheArn = (kind: string): string => `arn:${stack.partition}:elasticache:${stack.region}:${stack.account}:${kind}:${prefix}*`;
    const role = this.serviceRole;
    // CloudFormation names what it creates `<stack name>-<logical id>-<suffix>` (lower case for RDS), so every
    // physical name starts with the rack's prefix: the grants are scoped by it.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['rds:CreateDBInstance', 'rds:ModifyDBInstance', 'rds:DeleteDBInstance', 'rds:RestoreDBInstanceFromDBSnapshot', 'rds:CreateDBSnapshot', 'rds:AddTagsToResource', 'rds:RemoveTagsFromResource', 'rds:ListTagsForResource', 'rds:DescribeDBInstances', 'rds:DescribeDBSnapshots'],
        resources: [rdsArn('db'), rdsArn('subgrp'), rdsArn('snapshot'), `arn:${stack.partition}:rds:${stack.region}:${stack.account}:snapshot:*`],
      }),
    );
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['rds:CreateDBSubnetGroup', 'rds:ModifyDBSubnetGroup', 'rds:DeleteDBSubnetGroup', 'rds:DescribeDBSubnetGroups'], resources: [rdsArn('subgrp')] }));
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'elasticache:CreateReplicationGroup',
          'elasticache:ModifyReplicationGroup',
          'elasticache:DeleteReplicationGroup',
          // The final snapshot a removal keeps.
          'elasticache:CreateSnapshot',
          'elasticache:CreateCacheCluster',
          'elasticache:ModifyCacheCluster',
          'elasticache:DeleteCacheCluster',
          'elasticache:CreateCacheSubnetGroup',
          'elasticache:ModifyCacheSubnetGroup',
          'elasticache:DeleteCacheSubnetGroup',
          'elasticache:AddTagsToResource',
          'elasticache:RemoveTagsFromResource',
          'elasticache:ListTagsForResource',
          'elasticache:DescribeReplicationGroups',
          'elasticache:DescribeCacheClusters',
          'elasticache:DescribeCacheSubnetGroups',
        ],
        resources: [elasticacheArn('replicationgroup'), elasticacheArn('cluster'), elasticacheArn('subnetgroup'), `arn:${stack.partition}:elasticache:${stack.region}:${stack.account}:snapshot:*`],
      }),
    );
    // Security groups get generated ids (sg-…): scoped by the stack tag CloudFormation puts on them instead.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupEgress', 'ec2:RevokeSecurityGroupEgress', 'ec2:DeleteSecurityGroup', 'ec2:CreateTags', 'ec2:DeleteTags'],
        resources: [`arn:${stack.partition}:ec2:${stack.region}:${stack.account}:security-group/*`],
        conditions: { StringLike: { 'aws:ResourceTag/aws:cloudformation:stack-name': `${prefix}*` } },
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['ec2:CreateSecurityGroup', 'ec2:CreateTags'],
        resources: [`arn:${stack.partition}:ec2:${stack.region}:${stack.account}:security-group/*`, `arn:${stack.partition}:ec2:${stack.region}:${stack.account}:vpc/*`],
      }),
    );
    // Describe calls have no resource-level permissions.
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs', 'ec2:DescribeSubnets', 'elasticache:DescribeCacheEngineVersions'], resources: ['*'] }));
    // RDS keeps the master password in a secret it creates (`rds!…`) under the account's AWS managed key.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource', 'secretsmanager:RotateSecret', 'secretsmanager:DescribeSecret', 'secretsmanager:DeleteSecret'],
        resources: [`arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:rds!*`],
      }),
    );
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['kms:DescribeKey'], resources: [`arn:${stack.partition}:kms:${stack.region}:${stack.account}:key/*`] }));
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [`arn:${stack.partition}:iam::${stack.account}:role/aws-service-role/*`],
        conditions: { StringEquals: { 'iam:AWSServiceName': ['rds.amazonaws.com', 'elasticache.amazonaws.com'] } },
      }),
    );

    acknowledgeWildcards(
      role,
      [
        `Resource::${at('rds')}db:${prefix}*`,
        `Resource::${at('rds')}subgrp:${prefix}*`,
        `Resource::${at('rds')}snapshot:${prefix}*`,
        `Resource::${at('rds')}snapshot:*`,
        `Resource::${at('elasticache')}snapshot:*`,
        `Resource::${at('elasticache')}replicationgroup:${prefix}*`,
        `Resource::${at('elasticache')}cluster:${prefix}*`,
        `Resource::${at('elasticache')}subnetgroup:${prefix}*`,
      ],
      'the apps\u2019 resources are created at deploy time with names CloudFormation generates from the stack name, which starts with the rack\u2019s prefix; a restore reads any snapshot the user names, and a removal\u2019s final snapshot gets a generated name',
    );
    acknowledgeWildcards(role, [`Resource::${at('ec2')}security-group/*`, `Resource::${at('ec2')}vpc/*`], 'security group ids are generated; changes are limited by the CloudFormation stack-name tag, and creation needs the VPC the user\u2019s cluster is in');
    acknowledgeWildcards(role, ['Resource::*'], 'EC2\u2019s Describe calls and ElastiCache\u2019s DescribeCacheEngineVersions have no resource-level permissions');
    acknowledgeWildcards(role, [`Resource::${at('secretsmanager')}secret:rds!*`], 'the master-password secrets RDS creates itself are named rds!<id>');
    acknowledgeWildcards(role, [`Resource::${at('kms')}key/*`], 'RDS describes the key of the secret it creates (the account\u2019s AWS managed key, whose id is not known in advance)');
    acknowledgeWildcards(role, ['Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/aws-service-role/*'], 'the RDS and ElastiCache service-linked roles, limited by iam:AWSServiceName');
  }
}
