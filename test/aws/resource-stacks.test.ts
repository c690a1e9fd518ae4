/**
 * The CloudFormation stacks of managed resources (RDS, ElastiCache): what each option renders,
 * what is refused and why, the guide's manifests, and that every template we render fits the
 * CloudFormation resource schemas (checked offline against @aws-cdk/aws-service-spec).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/manifest';
import { loadManifest } from '../../lib/manifest';
import type { ManagedResourceStack, ResourceNetwork } from '../../lib/aws/resources';
import {
  AdoptedResourceError,
  ResourceNameError,
  ResourceNetworkError,
  ResourceOptionError,
  RESOURCE_STACK_TAGS,
  adoptedResource,
  isManagedResource,
  renderResourceStack,
  resourceSettings,
} from '../../lib/aws/resources';
import { checkTemplate } from '../../lib/aws/resources/template-check';
import { FIXTURES } from '../support/paths';

const NETWORK: ResourceNetwork = {
  vpcId: 'vpc-0a1b2c3d4e5f60718',
  subnetIds: ['subnet-0bbbbbbbbbbbbbbbb', 'subnet-0aaaaaaaaaaaaaaaa'],
  nodeSecurityGroupId: 'sg-0123456789abcdef0',
};

function resource(type: string, options: Record<string, string> = {}, name = 'mydb'): Resource {
  return { name, type, options };
}

function render(res: Resource): ManagedResourceStack {
  return renderResourceStack({ rack: 'production', app: 'myapp', resource: res, network: NETWORK });
}

type Json = Record<string, unknown>;

/** The one resource of `type` in a rendered template, with its properties. */
function resourceOfType(stack: ManagedResourceStack, type: string): { logicalId: string; body: Json; properties: Json } {
  const resources = stack.template.Resources as Record<string, Json>;
  const found = Object.entries(resources).filter(([, body]) => body.Type === type);
  expect(found).toHaveLength(1);
  const [logicalId, body] = found[0] as [string, Json];
  return { logicalId, body, properties: body.Properties as Json };
}

const instance = (stack: ManagedResourceStack): Json => resourceOfType(stack, 'AWS::RDS::DBInstance').properties;
const replicationGroup = (stack: ManagedResourceStack): Json => resourceOfType(stack, 'AWS::ElastiCache::ReplicationGroup').properties;
const outputs = (stack: ManagedResourceStack): Record<string, { Value: unknown }> => stack.template.Outputs as Record<string, { Value: unknown }>;

/** Catches the error a call throws, so a test can assert on its type, code and message. */
function thrown(fn: () => unknown): Error & { code?: string; context?: Json } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string; context?: Json };
  }
  throw new Error('expected a throw');
}

/** Every stack rendered by this file, so each is also held to the CloudFormation schemas. */
const rendered: { label: string; stack: ManagedResourceStack }[] = [];
function renderAndKeep(label: string, res: Resource): ManagedResourceStack {
  const stack = render(res);
  rendered.push({ label, stack });
  return stack;
}

describe('rds-postgres, rds-mysql, rds-mariadb', () => {
  it('renders a subnet group, a security group and an instance with safe defaults', () => {
    const stack = renderAndKeep('postgres defaults', resource('rds-postgres'));
    expect(stack.stackName).toBe('slipway-production-myapp-mydb');
    expect(Object.keys(stack.template.Resources as Json)).toEqual(['SubnetGroup', 'SecurityGroup', 'Instance']);
    const { body, properties } = resourceOfType(stack, 'AWS::RDS::DBInstance');
    expect(body.DeletionPolicy).toBe('Snapshot');
    expect(body.UpdateReplacePolicy).toBe('Snapshot');
    expect(properties).toEqual({
      Engine: 'postgres',
      DBInstanceClass: 'db.t3.micro',
      AllocatedStorage: '20',
      StorageEncrypted: true,
      DBName: 'mydb',
      MasterUsername: 'app',
      ManageMasterUserPassword: true,
      BackupRetentionPeriod: 1,
      DeletionProtection: false,
      MultiAZ: false,
      PubliclyAccessible: false,
      CopyTagsToSnapshot: true,
      DBSubnetGroupName: { Ref: 'SubnetGroup' },
      VPCSecurityGroups: [{ 'Fn::GetAtt': ['SecurityGroup', 'GroupId'] }],
      Tags: [
        { Key: 'slipway:app', Value: 'myapp' },
        { Key: 'slipway:rack', Value: 'production' },
        { Key: 'slipway:resource', Value: 'mydb' },
        { Key: 'slipway:resource-type', Value: 'rds-postgres' },
      ],
    });
  });

  it('admits only the cluster nodes, on the engine port, from inside the VPC', () => {
    const postgres = resourceOfType(renderAndKeep('postgres network', resource('rds-postgres')), 'AWS::EC2::SecurityGroup').properties;
    expect(postgres.VpcId).toBe(NETWORK.vpcId);
    expect(postgres.SecurityGroupIngress).toEqual([
      { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: NETWORK.nodeSecurityGroupId, Description: 'Slipway cluster nodes' },
    ]);
    const mysql = resourceOfType(renderAndKeep('mysql network', resource('rds-mysql')), 'AWS::EC2::SecurityGroup').properties;
    expect(mysql.SecurityGroupIngress).toMatchObject([{ FromPort: 3306, ToPort: 3306 }]);
  });

  it('puts the subnet group on the network subnets, sorted so discovery order never changes the template', () => {
    const subnets = resourceOfType(render(resource('rds-postgres')), 'AWS::RDS::DBSubnetGroup').properties;
    expect(subnets.SubnetIds).toEqual(['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb']);
  });

  it('outputs the endpoint, the database, the user and the secret RDS keeps the password in', () => {
    expect(outputs(render(resource('rds-postgres')))).toEqual({
      Host: { Value: { 'Fn::GetAtt': ['Instance', 'Endpoint.Address'] } },
      Port: { Value: { 'Fn::GetAtt': ['Instance', 'Endpoint.Port'] } },
      DatabaseName: { Value: 'mydb' },
      Username: { Value: 'app' },
      SecretArn: { Value: { 'Fn::GetAtt': ['Instance', 'MasterUserSecret.SecretArn'] } },
    });
  });

  it('maps each engine and names the database after the resource without hyphens', () => {
    expect(instance(renderAndKeep('mysql', resource('rds-mysql', {}, 'orders-db')))).toMatchObject({ Engine: 'mysql', DBName: 'ordersdb' });
    expect(instance(renderAndKeep('mariadb', resource('rds-mariadb', {}, 'orders-db')))).toMatchObject({ Engine: 'mariadb', DBName: 'ordersdb' });
    expect(instance(renderAndKeep('postgres hyphen', resource('rds-postgres', {}, 'orders-db')))).toMatchObject({ Engine: 'postgres', DBName: 'ordersdb' });
  });

  it('class sets the instance class', () => {
    expect(instance(renderAndKeep('class', resource('rds-postgres', { class: 'db.m7g.large' }))).DBInstanceClass).toBe('db.m7g.large');
  });

  it('storage sets the allocated GiB (a string, as CloudFormation types it)', () => {
    expect(instance(renderAndKeep('storage', resource('rds-postgres', { storage: '100' }))).AllocatedStorage).toBe('100');
  });

  it('encrypted: false turns storage encryption off; it is on by default', () => {
    expect(instance(renderAndKeep('unencrypted', resource('rds-postgres', { encrypted: 'false' }))).StorageEncrypted).toBe(false);
    expect(instance(render(resource('rds-postgres', { encrypted: 'true' }))).StorageEncrypted).toBe(true);
  });

  it('backupRetentionPeriod sets the days automated backups are kept, 0 included', () => {
    expect(instance(renderAndKeep('retention', resource('rds-postgres', { backupRetentionPeriod: '7' }))).BackupRetentionPeriod).toBe(7);
    expect(instance(render(resource('rds-postgres', { backupRetentionPeriod: '0' }))).BackupRetentionPeriod).toBe(0);
  });

  it('deletionProtection turns deletion protection on', () => {
    expect(instance(renderAndKeep('protected', resource('rds-postgres', { deletionProtection: 'true' }))).DeletionProtection).toBe(true);
  });

  it('version pins the engine version and lets a changed major version upgrade in place', () => {
    const properties = instance(renderAndKeep('version', resource('rds-postgres', { version: '16.4' })));
    expect(properties).toMatchObject({ EngineVersion: '16.4', AllowMajorVersionUpgrade: true });
    const unpinned = instance(render(resource('rds-postgres')));
    expect(unpinned).not.toHaveProperty('EngineVersion');
    expect(unpinned).not.toHaveProperty('AllowMajorVersionUpgrade');
  });

  it('durable (Convox\u2019s name) and multiAZ both make the instance Multi-AZ', () => {
    expect(instance(renderAndKeep('durable', resource('rds-postgres', { durable: 'true' }))).MultiAZ).toBe(true);
    expect(instance(renderAndKeep('multiAZ', resource('rds-mysql', { multiAZ: 'true' }))).MultiAZ).toBe(true);
    expect(instance(render(resource('rds-mysql', { durable: 'true', multiAZ: 'true' }))).MultiAZ).toBe(true);
    const conflict = thrown(() => render(resource('rds-postgres', { durable: 'true', multiAZ: 'false' })));
    expect(conflict).toBeInstanceOf(ResourceOptionError);
    expect(conflict.code).toBe('RESOURCE_OPTION_CONFLICT');
    expect(conflict.message).toBe('resource mydb (rds-postgres): options durable and multiAZ disagree; they mean the same thing, so give one');
  });

  it('snapshot restores the instance, leaving out what CloudFormation refuses with a snapshot', () => {
    const stack = renderAndKeep('snapshot', resource('rds-postgres', { snapshot: 'mydb-final-2024-05-01', class: 'db.t3.small' }));
    const properties = instance(stack);
    expect(properties).toMatchObject({ DBSnapshotIdentifier: 'mydb-final-2024-05-01', DBInstanceClass: 'db.t3.small', ManageMasterUserPassword: true });
    for (const refused of ['DBName', 'MasterUsername', 'StorageEncrypted']) expect(properties).not.toHaveProperty(refused);
    // The snapshot decides the database and the user; the template cannot claim to know them.
    expect(Object.keys(outputs(stack))).toEqual(['Host', 'Port', 'SecretArn']);
    expect(instance(renderAndKeep('shared snapshot', resource('rds-postgres', { snapshot: 'arn:aws:rds:eu-west-1:123456789012:snapshot:shared-one' }))).DBSnapshotIdentifier).toBe(
      'arn:aws:rds:eu-west-1:123456789012:snapshot:shared-one',
    );
    expect(instance(render(resource('rds-postgres', { snapshot: 'rds:mydb-2024-05-01-03-10' }))).DBSnapshotIdentifier).toBe('rds:mydb-2024-05-01-03-10');
  });

  it('snapshot refuses encrypted, since the snapshot decides encryption', () => {
    const error = thrown(() => render(resource('rds-postgres', { snapshot: 'mydb-final', encrypted: 'true' })));
    expect(error).toBeInstanceOf(ResourceOptionError);
    expect(error.message).toBe(
      'resource mydb (rds-postgres): option encrypted cannot be used with snapshot; an instance restored from a snapshot is encrypted exactly when the snapshot is',
    );
  });

  it('import adopts an existing instance: nothing to render, the identifier for the provisioner', () => {
    const adopting = resource('rds-postgres', { import: 'legacy-prod-db' });
    expect(adoptedResource(adopting)).toEqual({ identifier: 'legacy-prod-db' });
    expect(adoptedResource(resource('rds-postgres'))).toBeUndefined();
    expect(adoptedResource(resource('elasticache-redis'))).toBeUndefined();
    const error = thrown(() => render(adopting));
    expect(error).toBeInstanceOf(AdoptedResourceError);
    expect(error.code).toBe('RESOURCE_ADOPTED');
    expect(error.context).toMatchObject({ resource: 'mydb', identifier: 'legacy-prod-db' });
    expect(thrown(() => resourceSettings(adopting))).toBeInstanceOf(AdoptedResourceError);
  });

  it('import refuses other options, and identifiers RDS would not have made', () => {
    const withClass = thrown(() => adoptedResource(resource('rds-postgres', { import: 'legacy', storage: '50', class: 'db.t3.small' })));
    expect(withClass).toBeInstanceOf(ResourceOptionError);
    expect(withClass.message).toBe('resource mydb (rds-postgres): options class, storage cannot be used with import; an adopted instance keeps the settings it has in RDS');
    for (const identifier of ['1legacy', 'legacy--db', 'legacy-', 'legacy_db']) {
      const error = thrown(() => adoptedResource(resource('rds-postgres', { import: identifier })));
      expect(error, identifier).toBeInstanceOf(ResourceOptionError);
      expect(error.message).toMatch(/^resource mydb \(rds-postgres\): option import must be the identifier of an existing DB instance/);
    }
  });

  it('keeps a final snapshot whatever the options', () => {
    const variants: Record<string, string>[] = [{}, { deletionProtection: 'true' }, { snapshot: 'x1' }, { backupRetentionPeriod: '0' }];
    for (const options of variants) {
      const { body } = resourceOfType(render(resource('rds-mariadb', options)), 'AWS::RDS::DBInstance');
      expect([body.DeletionPolicy, body.UpdateReplacePolicy]).toEqual(['Snapshot', 'Snapshot']);
    }
  });
});

describe('elasticache-redis', () => {
  it('renders an encrypted single-node replication group by default', () => {
    const stack = renderAndKeep('redis defaults', resource('elasticache-redis', {}, 'cache'));
    expect(Object.keys(stack.template.Resources as Json)).toEqual(['SubnetGroup', 'SecurityGroup', 'ReplicationGroup']);
    expect(resourceOfType(stack, 'AWS::ElastiCache::SubnetGroup').properties.SubnetIds).toEqual(['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb']);
    expect(resourceOfType(stack, 'AWS::EC2::SecurityGroup').properties.SecurityGroupIngress).toMatchObject([{ FromPort: 6379, ToPort: 6379, SourceSecurityGroupId: NETWORK.nodeSecurityGroupId }]);
    expect(replicationGroup(stack)).toMatchObject({
      Engine: 'redis',
      CacheNodeType: 'cache.t3.micro',
      NumCacheClusters: 1,
      MultiAZEnabled: false,
      AutomaticFailoverEnabled: false,
      AtRestEncryptionEnabled: true,
      TransitEncryptionEnabled: true,
      Port: 6379,
      CacheSubnetGroupName: { Ref: 'SubnetGroup' },
      SecurityGroupIds: [{ 'Fn::GetAtt': ['SecurityGroup', 'GroupId'] }],
    });
    expect(outputs(stack)).toEqual({
      Host: { Value: { 'Fn::GetAtt': ['ReplicationGroup', 'PrimaryEndPoint.Address'] } },
      Port: { Value: { 'Fn::GetAtt': ['ReplicationGroup', 'PrimaryEndPoint.Port'] } },
    });
    // Encrypted in transit means TLS: the provisioner links it as rediss://.
    expect(resourceSettings(resource('elasticache-redis', {}, 'cache'))).toMatchObject({ kind: 'redis', encrypted: true });
  });

  it('durable adds a replica in another zone with automatic failover', () => {
    expect(replicationGroup(renderAndKeep('redis durable', resource('elasticache-redis', { durable: 'true' }, 'cache')))).toMatchObject({
      NumCacheClusters: 2,
      MultiAZEnabled: true,
      AutomaticFailoverEnabled: true,
    });
  });

  it('encrypted: false turns off both encryption at rest and TLS', () => {
    expect(replicationGroup(renderAndKeep('redis plain', resource('elasticache-redis', { encrypted: 'false' }, 'cache')))).toMatchObject({
      AtRestEncryptionEnabled: false,
      TransitEncryptionEnabled: false,
    });
  });

  it('class and version set the node type and engine version', () => {
    expect(replicationGroup(renderAndKeep('redis class', resource('elasticache-redis', { class: 'cache.m7g.large', version: '7.1' }, 'cache')))).toMatchObject({
      CacheNodeType: 'cache.m7g.large',
      EngineVersion: '7.1',
    });
  });

  it('refuses RDS-only options such as storage', () => {
    const error = thrown(() => render(resource('elasticache-redis', { storage: '10' }, 'cache')));
    expect(error).toBeInstanceOf(ResourceOptionError);
    expect(error.message).toBe(
      'resource cache (elasticache-redis): unknown option storage; the known options are class, durable, encrypted, version. Slipway refuses options it does not know rather than ignore them.',
    );
  });
});

describe('elasticache-memcached', () => {
  it('renders a cache cluster of one node by default, admitting the nodes on 11211', () => {
    const stack = renderAndKeep('memcached defaults', resource('elasticache-memcached', {}, 'sessions'));
    expect(Object.keys(stack.template.Resources as Json)).toEqual(['SubnetGroup', 'SecurityGroup', 'CacheCluster']);
    expect(resourceOfType(stack, 'AWS::ElastiCache::CacheCluster').properties).toMatchObject({
      Engine: 'memcached',
      CacheNodeType: 'cache.t3.micro',
      NumCacheNodes: 1,
      Port: 11211,
      CacheSubnetGroupName: { Ref: 'SubnetGroup' },
      VpcSecurityGroupIds: [{ 'Fn::GetAtt': ['SecurityGroup', 'GroupId'] }],
    });
    expect(resourceOfType(stack, 'AWS::EC2::SecurityGroup').properties.SecurityGroupIngress).toMatchObject([{ FromPort: 11211, ToPort: 11211 }]);
    expect(outputs(stack)).toEqual({
      Host: { Value: { 'Fn::GetAtt': ['CacheCluster', 'ConfigurationEndpoint.Address'] } },
      Port: { Value: { 'Fn::GetAtt': ['CacheCluster', 'ConfigurationEndpoint.Port'] } },
    });
  });

  it('nodes, class and version set the node count, type and engine version', () => {
    const stack = renderAndKeep('memcached sized', resource('elasticache-memcached', { nodes: '3', class: 'cache.r7g.large', version: '1.6.22' }, 'sessions'));
    expect(resourceOfType(stack, 'AWS::ElastiCache::CacheCluster').properties).toMatchObject({ NumCacheNodes: 3, CacheNodeType: 'cache.r7g.large', EngineVersion: '1.6.22' });
  });
});

describe('tags and determinism', () => {
  it('tags the stack and every resource with the rack, app, resource and type', () => {
    for (const type of ['rds-postgres', 'elasticache-redis', 'elasticache-memcached']) {
      const stack = render(resource(type, {}, 'thing'));
      const expected = { [RESOURCE_STACK_TAGS.rack]: 'production', [RESOURCE_STACK_TAGS.app]: 'myapp', [RESOURCE_STACK_TAGS.resource]: 'thing', [RESOURCE_STACK_TAGS.type]: type };
      expect(stack.tags).toEqual(expected);
      for (const body of Object.values(stack.template.Resources as Record<string, Json>)) {
        const tags = (body.Properties as Json).Tags as { Key: string; Value: string }[];
        expect(Object.fromEntries(tags.map((t) => [t.Key, t.Value])), `${type} ${String(body.Type)}`).toEqual(expected);
      }
    }
  });

  it('renders the same input to the same bytes, whatever the order of the options or subnets', () => {
    const options = { class: 'db.t3.medium', storage: '100', encrypted: 'true', backupRetentionPeriod: '7', deletionProtection: 'true' };
    const reversed = Object.fromEntries(Object.entries(options).reverse());
    const first = JSON.stringify(render(resource('rds-postgres', options)));
    expect(JSON.stringify(render(resource('rds-postgres', options)))).toBe(first);
    expect(JSON.stringify(render(resource('rds-postgres', reversed)))).toBe(first);
    const swapped = renderResourceStack({ rack: 'production', app: 'myapp', resource: resource('rds-postgres', options), network: { ...NETWORK, subnetIds: [...NETWORK.subnetIds].reverse() } });
    expect(JSON.stringify(swapped)).toBe(first);
  });
});

describe('refusals', () => {
  it.each([
    ['storage', 'abc', 'a whole number from 20 to 65536 (GiB)'],
    ['storage', '10', 'a whole number from 20 to 65536 (GiB)'],
    ['storage', '020', 'a whole number from 20 to 65536 (GiB)'],
    ['backupRetentionPeriod', '36', 'a whole number from 0 to 35 (days; 0 turns automated backups off)'],
    ['backupRetentionPeriod', '-1', 'a whole number from 0 to 35 (days; 0 turns automated backups off)'],
    ['encrypted', 'yes please', 'true or false'],
    ['deletionProtection', 'TRUE', 'true or false'],
    ['durable', '1', 'true or false'],
    ['class', 'r5.xlarge', 'an RDS instance class such as db.t3.micro or db.m7g.large'],
    ['version', 'latest', 'an engine version such as 16, 16.4 or 8.0.39'],
    ['snapshot', 'my snapshot', 'a DB snapshot identifier or, for a shared snapshot, its ARN'],
  ])('refuses %s: %j, saying what it should be and not echoing the value', (option, value, expected) => {
    const error = thrown(() => render(resource('rds-postgres', { [option]: value })));
    expect(error).toBeInstanceOf(ResourceOptionError);
    expect(error.code).toBe('RESOURCE_OPTION_INVALID');
    expect(error.message).toBe(`resource mydb (rds-postgres): option ${option} must be ${expected}`);
    expect(error.context).toEqual({ resource: 'mydb', type: 'rds-postgres', option, expected });
    expect(JSON.stringify(error.context)).not.toContain(value);
    expect(error.message).not.toContain(value);
  });

  it('refuses cache options out of range', () => {
    expect(thrown(() => render(resource('elasticache-memcached', { nodes: '0' }, 'c'))).message).toBe('resource c (elasticache-memcached): option nodes must be a whole number from 1 to 40');
    expect(thrown(() => render(resource('elasticache-redis', { class: 'db.t3.micro' }, 'c'))).message).toBe(
      'resource c (elasticache-redis): option class must be an ElastiCache node type such as cache.t3.micro or cache.m7g.large',
    );
  });

  it('refuses an unknown option, suggesting the one meant and listing the known ones', () => {
    const error = thrown(() => render(resource('rds-postgres', { deletionProtecton: 'true' })));
    expect(error).toBeInstanceOf(ResourceOptionError);
    expect(error.code).toBe('RESOURCE_OPTION_UNKNOWN');
    expect(error.message).toBe(
      'resource mydb (rds-postgres): unknown option deletionProtecton (did you mean deletionProtection?); the known options are backupRetentionPeriod, class, deletionProtection, durable, encrypted, import, multiAZ, snapshot, storage, version. Slipway refuses options it does not know rather than ignore them.',
    );
  });

  it('refuses a name longer than 20 characters, as Convox does for RDS and ElastiCache', () => {
    for (const type of ['rds-postgres', 'elasticache-redis']) {
      const error = thrown(() => render(resource(type, {}, 'a-twenty-one-char-nme')));
      expect(error).toBeInstanceOf(ResourceNameError);
      expect(error.code).toBe('RESOURCE_NAME_TOO_LONG');
      expect(error.message).toBe(`resource a-twenty-one-char-nme (${type}): the name of an AWS-managed resource must be at most 20 characters (it has 21)`);
    }
    expect(() => render(resource('rds-postgres', {}, 'twenty-chars-exactly'))).not.toThrow();
  });

  it('refuses names Convox refuses for AWS resources', () => {
    for (const name of ['my_db', 'db-', '1db', 'MyDb']) {
      const error = thrown(() => render(resource('rds-mysql', {}, name)));
      expect(error, name).toBeInstanceOf(ResourceNameError);
      expect(error.message).toBe(
        `resource ${name} (rds-mysql): the name of an AWS-managed resource must start with a lowercase letter and hold only lowercase letters, digits and hyphens, not ending in a hyphen`,
      );
    }
  });

  it('refuses a network with fewer than two subnets', () => {
    const error = thrown(() => renderResourceStack({ rack: 'r', app: 'a', resource: resource('rds-postgres'), network: { ...NETWORK, subnetIds: ['subnet-1', 'subnet-1'] } }));
    expect(error).toBeInstanceOf(ResourceNetworkError);
    expect(error.message).toBe("resource mydb: RDS and ElastiCache need subnets in two availability zones, but the cluster's network offers 1");
  });

  it('refuses a type AWS does not manage', () => {
    expect(thrown(() => render(resource('postgres'))).message).toBe('resource mydb: type postgres is not one AWS manages for Slipway');
  });
});

describe('the migration guide\u2019s manifests', () => {
  const dir = join(FIXTURES, 'guide');
  /** Every guide manifest's required env, plus markers that must never reach a template. */
  const ENV: Record<string, string> = {
    NOTIFICATIONS_URL: 'http://notifications.myapp.convox.local:4000',
    STRIPE_KEY: 'sk_test_MARKER_stripe_51Hx',
    PAYMENT_ENCRYPTION_KEY: 'MARKER-payment-key-9f2c',
    DATABASE_URL: 'postgres://app:MARKER-db-password@db/app',
    API_KEY: 'MARKER-api-key',
    SESSION_SECRET: 'MARKER-session-secret',
    MYDB_URL: 'postgres://user:MARKER-overlay-pass@prod-db.amazonaws.com:5432/db',
  };
  const stacks = readdirSync(dir)
    .filter((file) => file.endsWith('.yml'))
    .sort()
    .flatMap((file) =>
      loadManifest(readFileSync(join(dir, file), 'utf8'), { env: ENV, file })
        .manifest.resources.filter(isManagedResource)
        .map((res) => ({ file, res, stack: render(res) })),
    );

  it('02 and 05 hold the managed resources, and each renders', () => {
    expect(stacks.map(({ file, res }) => `${file}:${res.name}`)).toEqual(['02-rds-production.yml:mydb', '05-database-per-service.yml:webdb', '05-database-per-service.yml:notificationdb']);
    for (const { file, stack } of stacks) rendered.push({ label: file, stack });
  });

  it('02 renders the production database the guide describes', () => {
    const stack = stacks.find(({ file }) => file === '02-rds-production.yml')?.stack as ManagedResourceStack;
    expect(stack.stackName).toBe('slipway-production-myapp-mydb');
    expect(instance(stack)).toMatchObject({
      Engine: 'postgres',
      DBInstanceClass: 'db.t3.medium',
      AllocatedStorage: '100',
      StorageEncrypted: true,
      BackupRetentionPeriod: 7,
      DeletionProtection: true,
      MultiAZ: false,
      DBName: 'mydb',
    });
  });

  it('05 gives each service its own database with its own size', () => {
    const byName = Object.fromEntries(stacks.filter(({ file }) => file === '05-database-per-service.yml').map(({ res, stack }) => [res.name, instance(stack)]));
    expect(byName.webdb).toMatchObject({ DBInstanceClass: 'db.t3.medium', AllocatedStorage: '100', StorageEncrypted: true, DBName: 'webdb', BackupRetentionPeriod: 1 });
    expect(byName.notificationdb).toMatchObject({ DBInstanceClass: 'db.t3.small', AllocatedStorage: '50', StorageEncrypted: true, DBName: 'notificationdb' });
  });

  it('no template holds a password or any value of the app environment', () => {
    const all = [...stacks.map(({ stack }) => stack), ...rendered.map(({ stack }) => stack)];
    expect(all.length).toBeGreaterThan(20);
    for (const stack of all) {
      const text = JSON.stringify(stack);
      for (const value of Object.values(ENV)) expect(text).not.toContain(value);
      expect(text).not.toContain('MARKER');
      // The only password-related key is the one that hands the password to RDS and Secrets Manager.
      const passwordKeys = (text.match(/"[A-Za-z]*(Password|AuthToken)[A-Za-z]*"\s*:/g) ?? []).filter((key) => key !== '"ManageMasterUserPassword":');
      expect(passwordKeys).toEqual([]);
    }
  });
});

describe('checkTemplate', () => {
  it('passes every template this file rendered', () => {
    expect(rendered.length).toBeGreaterThan(20);
    for (const { label, stack } of rendered) expect(checkTemplate(stack.template), label).toEqual([]);
  });

  it('passes the stacks of every managed type and option combination', () => {
    const cases: Resource[] = [
      resource('rds-mariadb', { durable: 'true', storage: '200', version: '10.11', backupRetentionPeriod: '35', deletionProtection: 'true', class: 'db.r6g.large' }),
      resource('rds-mysql', { snapshot: 'arn:aws:rds:us-east-1:123456789012:snapshot:x', multiAZ: 'false' }),
      resource('elasticache-redis', { durable: 'true', encrypted: 'false', version: '6.2', class: 'cache.r6g.large' }),
      resource('elasticache-memcached', { nodes: '40' }),
    ];
    for (const res of cases) expect(checkTemplate(render(res).template), res.type).toEqual([]);
  });

  /** A rendered Postgres template with one change, to show the check bites. */
  function brokenTemplate(change: (properties: Json, template: Json) => void): Json {
    const template = structuredClone(render(resource('rds-postgres')).template);
    change(((template.Resources as Record<string, Json>).Instance as Json).Properties as Json, template);
    return template;
  }

  it('catches a misspelled property, suggesting the right one', () => {
    const template = brokenTemplate((p) => {
      p.DeletionProtecton = p.DeletionProtection;
      delete p.DeletionProtection;
    });
    expect(checkTemplate(template)).toEqual([
      { path: 'Resources.Instance.Properties.DeletionProtecton', message: 'AWS::RDS::DBInstance has no property DeletionProtecton (did you mean DeletionProtection?)' },
    ]);
  });

  it('catches a value of the wrong type, at the top and inside nested property types', () => {
    const template = brokenTemplate((p, t) => {
      p.BackupRetentionPeriod = '7';
      p.AllocatedStorage = 20;
      p.VPCSecurityGroups = 'sg-1';
      const sg = ((t.Resources as Record<string, Json>).SecurityGroup as Json).Properties as Json;
      ((sg.SecurityGroupIngress as Json[])[0] as Json).FromPort = '5432';
      (p.Tags as Json[]).push({ Key: 'x' });
    });
    expect(checkTemplate(template)).toEqual([
      { path: 'Resources.SecurityGroup.Properties.SecurityGroupIngress[0].FromPort', message: 'expected an integer, found a string' },
      { path: 'Resources.Instance.Properties.AllocatedStorage', message: 'expected a string, found a number' },
      { path: 'Resources.Instance.Properties.BackupRetentionPeriod', message: 'expected an integer, found a string' },
      { path: 'Resources.Instance.Properties.VPCSecurityGroups', message: 'expected a list of a string, found a string' },
      { path: 'Resources.Instance.Properties.Tags[4].Value', message: 'a tag requires Value' },
    ]);
  });

  it('catches an unknown resource type', () => {
    const template = brokenTemplate((_p, t) => {
      ((t.Resources as Record<string, Json>).SubnetGroup as Json).Type = 'AWS::RDS::DBSubnetGroups';
    });
    expect(checkTemplate(template)).toEqual([{ path: 'Resources.SubnetGroup.Type', message: 'unknown resource type AWS::RDS::DBSubnetGroups' }]);
  });

  it('catches a missing required property and a reference to nothing', () => {
    const template = brokenTemplate((p, t) => {
      delete (((t.Resources as Record<string, Json>).SecurityGroup as Json).Properties as Json).GroupDescription;
      p.DBSubnetGroupName = { Ref: 'SubnetGroupp' };
      (t.Outputs as Record<string, Json>).SecretArn = { Value: { 'Fn::GetAtt': ['Instance', 'MasterUserSecret.Arn'] } };
    });
    expect(checkTemplate(template)).toEqual([
      { path: 'Resources.SecurityGroup.Properties.GroupDescription', message: 'AWS::EC2::SecurityGroup requires GroupDescription' },
      { path: 'Resources.Instance.Properties.DBSubnetGroupName', message: 'Ref names SubnetGroupp, which is neither a resource nor a parameter of the template' },
      { path: 'Outputs.SecretArn.Value', message: 'AWS::RDS::DBInstance has no attribute MasterUserSecret.Arn' },
    ]);
  });

  it('lets an intrinsic function stand for any type', () => {
    const template = brokenTemplate((p) => {
      p.AllocatedStorage = { 'Fn::Join': ['', ['2', '0']] };
      p.MultiAZ = { 'Fn::Equals': ['a', 'a'] };
    });
    expect(checkTemplate(template)).toEqual([]);
  });
});
