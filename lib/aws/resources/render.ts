/**
 * Renders the CloudFormation stack of one managed resource (an RDS instance or an ElastiCache
 * cluster) from its `convox.yml` options.
 *
 * The template is written by hand, as a plain JSON object, rather than synthesised with the CDK:
 * each resource is a stack of its own, rendered at deploy time inside the provisioner's Lambda.
 * CDK synthesis there would mean shipping aws-cdk-lib (tens of megabytes) and its construct tree,
 * token resolution and asset machinery into the function, and paying for them on every deploy,
 * to produce three or four resources whose every property we want to choose and see ourselves.
 * A pure function from options to JSON is small, fast, deterministic and easy to assert on;
 * `checkTemplate` (template-check.ts) holds it to the CloudFormation schemas in the tests.
 *
 * Options are strings in `convox.yml` and are parsed strictly. Convox ignores an option it does
 * not know; Slipway refuses it, so that a typo such as `deletionProtecton: true` can never leave a
 * database unprotected while the manifest looks right. Error messages name the resource, the
 * option and what it should be, but never echo the value: `convox.yml` is interpolated from the
 * app's environment, so an option can hold a value from it.
 */
import { SlipwayError } from '../../errors';
import type { Resource } from '../../manifest';
import { closestKey } from '../../manifest/suggest';
import type { ManagedResourceInput, ManagedResourceStack, ManagedResourceType, ResourceNetwork } from './managed-resource';
import { isManagedResource, RESOURCE_OUTPUTS, RESOURCE_STACK_TAGS, resourceStackName } from './managed-resource';

export class ResourceOptionError extends SlipwayError {}

export class ResourceNameError extends SlipwayError {}

/** The network the renderer was given cannot host the resource. */
export class ResourceNetworkError extends SlipwayError {}

/**
 * The resource names an existing instance (`import`): there is nothing to render, the
 * provisioner links it by describing the instance (see `adoptedResource`).
 */
export class AdoptedResourceError extends SlipwayError {}

// ---------------------------------------------------------------------------------------------
// Settings: the options, parsed and checked

export type DatabaseEngine = 'postgres' | 'mysql' | 'mariadb';

export interface DatabaseSettings {
  readonly kind: 'database';
  readonly engine: DatabaseEngine;
  readonly port: number;
  /** Absent: RDS picks its current default version when it creates the instance. */
  readonly version?: string;
  readonly instanceClass: string;
  readonly storageGiB: number;
  /** Absent on a snapshot restore: the instance is encrypted exactly when the snapshot is. */
  readonly encrypted?: boolean;
  readonly backupRetentionDays: number;
  readonly deletionProtection: boolean;
  readonly multiAZ: boolean;
  readonly snapshot?: string;
  /** The database and master user the instance is created with; absent on a snapshot restore, which keeps the snapshot's. */
  readonly databaseName?: string;
  readonly username?: string;
}

export interface RedisSettings {
  readonly kind: 'redis';
  readonly port: number;
  readonly version?: string;
  readonly nodeType: string;
  /** A replica in a second availability zone, with automatic failover. */
  readonly durable: boolean;
  /** At rest and in transit. In transit means TLS: clients must connect with `rediss://`. */
  readonly encrypted: boolean;
}

export interface MemcachedSettings {
  readonly kind: 'memcached';
  readonly port: number;
  readonly version?: string;
  readonly nodeType: string;
  readonly nodes: number;
}

export type ResourceSettings = DatabaseSettings | RedisSettings | MemcachedSettings;

/** Convox's limit on the names of RDS and ElastiCache resources (its ElastiCache message says 40, but it checks 20). */
const MAX_NAME_LENGTH = 20;
const NAME_PATTERN = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
/** CloudFormation's limit on a stack name. */
const MAX_STACK_NAME_LENGTH = 128;

/** The master user of every instance Slipway creates; the same user Convox's containerised databases have. */
const MASTER_USERNAME = 'app';

const DATABASE_ENGINES: Readonly<Record<string, { readonly engine: DatabaseEngine; readonly port: number }>> = {
  'rds-postgres': { engine: 'postgres', port: 5432 },
  'rds-mysql': { engine: 'mysql', port: 3306 },
  'rds-mariadb': { engine: 'mariadb', port: 3306 },
};

const DATABASE_OPTIONS = ['backupRetentionPeriod', 'class', 'deletionProtection', 'durable', 'encrypted', 'import', 'multiAZ', 'snapshot', 'storage', 'version'] as const;
const REDIS_OPTIONS = ['class', 'durable', 'encrypted', 'version'] as const;
const MEMCACHED_OPTIONS = ['class', 'nodes', 'version'] as const;

const KNOWN_OPTIONS: Readonly<Record<ManagedResourceType, readonly string[]>> = {
  'rds-postgres': DATABASE_OPTIONS,
  'rds-mysql': DATABASE_OPTIONS,
  'rds-mariadb': DATABASE_OPTIONS,
  'elasticache-redis': REDIS_OPTIONS,
  'elasticache-memcached': MEMCACHED_OPTIONS,
};

/** Reads one resource's options, refusing anything unknown or malformed. */
class OptionReader {
  constructor(private readonly resource: Resource) {}

  refuseUnknown(known: readonly string[]): void {
    for (const option of Object.keys(this.resource.options).sort()) {
      if (known.includes(option)) continue;
      const guess = closestKey(option, known);
      throw new ResourceOptionError(
        `resource ${this.resource.name} (${this.resource.type}): unknown option ${option}${guess ? ` (did you mean ${guess}?)` : ''}; ` +
          `the known options are ${known.join(', ')}. Slipway refuses options it does not know rather than ignore them.`,
        'RESOURCE_OPTION_UNKNOWN',
        { resource: this.resource.name, type: this.resource.type, option, known },
      );
    }
  }

  has(option: string): boolean {
    return this.resource.options[option] !== undefined;
  }

  invalid(option: string, expected: string): ResourceOptionError {
    return new ResourceOptionError(`resource ${this.resource.name} (${this.resource.type}): option ${option} must be ${expected}`, 'RESOURCE_OPTION_INVALID', {
      resource: this.resource.name,
      type: this.resource.type,
      option,
      expected,
    });
  }

  string(option: string, pattern: RegExp, expected: string): string | undefined {
    const value = this.resource.options[option];
    if (value === undefined) return undefined;
    if (!pattern.test(value)) throw this.invalid(option, expected);
    return value;
  }

  integer(option: string, min: number, max: number, unit = ''): number | undefined {
    const value = this.resource.options[option];
    if (value === undefined) return undefined;
    const expected = `a whole number from ${min} to ${max}${unit}`;
    if (!/^(0|[1-9][0-9]*)$/.test(value)) throw this.invalid(option, expected);
    const parsed = Number(value);
    if (parsed < min || parsed > max) throw this.invalid(option, expected);
    return parsed;
  }

  boolean(option: string): boolean | undefined {
    const value = this.resource.options[option];
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false') throw this.invalid(option, 'true or false');
    return value === 'true';
  }
}

const VERSION = { pattern: /^[0-9]+(\.[0-9]+){0,2}$/, expected: 'an engine version such as 16, 16.4 or 8.0.39' };
const DB_CLASS = { pattern: /^db\.[a-z0-9]+\.[a-z0-9]+$/, expected: 'an RDS instance class such as db.t3.micro or db.m7g.large' };
const CACHE_CLASS = { pattern: /^cache\.[a-z0-9]+\.[a-z0-9]+$/, expected: 'an ElastiCache node type such as cache.t3.micro or cache.m7g.large' };
/** A snapshot's identifier (automated ones look like `rds:mydb-2024-05-01-03-10`) or, for a shared snapshot, its ARN. */
const SNAPSHOT = { pattern: /^(arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:snapshot:[A-Za-z0-9:-]+|[A-Za-z][A-Za-z0-9:-]{0,254})$/, expected: 'a DB snapshot identifier or, for a shared snapshot, its ARN' };
/** RDS instance identifiers: a letter, then letters, digits and single hyphens, at most 63, not ending in a hyphen. */
const INSTANCE_IDENTIFIER = { pattern: /^[A-Za-z](?!.*--)(?!.*-$)[A-Za-z0-9-]{0,62}$/, expected: 'the identifier of an existing DB instance (a letter, then letters, digits and single hyphens, at most 63, not ending in a hyphen)' };

function checkName(resource: Resource): void {
  const context = { resource: resource.name, type: resource.type };
  if (!NAME_PATTERN.test(resource.name)) {
    throw new ResourceNameError(
      `resource ${resource.name} (${resource.type}): the name of an AWS-managed resource must start with a lowercase letter and hold only lowercase letters, digits and hyphens, not ending in a hyphen`,
      'RESOURCE_NAME_INVALID',
      context,
    );
  }
  if (resource.name.length > MAX_NAME_LENGTH) {
    throw new ResourceNameError(
      `resource ${resource.name} (${resource.type}): the name of an AWS-managed resource must be at most ${MAX_NAME_LENGTH} characters (it has ${resource.name.length})`,
      'RESOURCE_NAME_TOO_LONG',
      { ...context, limit: MAX_NAME_LENGTH },
    );
  }
}

function managedType(resource: Resource): ManagedResourceType {
  if (!isManagedResource(resource)) {
    throw new ResourceOptionError(`resource ${resource.name}: type ${resource.type} is not one AWS manages for Slipway`, 'RESOURCE_TYPE_UNMANAGED', { resource: resource.name, type: resource.type });
  }
  return resource.type;
}

/**
 * The existing RDS instance a resource adopts (`import: <db-instance-identifier>`), or
 * undefined when Slipway is to create one. An adopted instance keeps its own settings, so any
 * other option next to `import` is refused rather than silently left unapplied.
 */
export function adoptedResource(resource: Resource): { readonly identifier: string } | undefined {
  const type = managedType(resource);
  if (!(type in DATABASE_ENGINES) || resource.options.import === undefined) return undefined;
  checkName(resource);
  const options = new OptionReader(resource);
  options.refuseUnknown(KNOWN_OPTIONS[type]);
  const others = Object.keys(resource.options)
    .filter((option) => option !== 'import')
    .sort();
  if (others.length > 0) {
    throw new ResourceOptionError(
      `resource ${resource.name} (${type}): options ${others.join(', ')} cannot be used with import; an adopted instance keeps the settings it has in RDS`,
      'RESOURCE_OPTION_CONFLICT',
      { resource: resource.name, type, options: others },
    );
  }
  const identifier = options.string('import', INSTANCE_IDENTIFIER.pattern, INSTANCE_IDENTIFIER.expected) as string;
  return { identifier };
}

/**
 * The resource's settings, from its options and the defaults: what the template is rendered
 * from, and what the provisioner needs to link it (e.g. `encrypted` Redis speaks TLS). Throws
 * `ResourceNameError` or `ResourceOptionError` for anything Slipway cannot render faithfully,
 * and `AdoptedResourceError` for a resource that adopts an existing instance.
 */
export function resourceSettings(resource: Resource): ResourceSettings {
  const type = managedType(resource);
  const adopted = adoptedResource(resource);
  if (adopted) {
    throw new AdoptedResourceError(
      `resource ${resource.name} (${type}) adopts the existing instance ${adopted.identifier}; it has no stack to render, the provisioner links the instance itself`,
      'RESOURCE_ADOPTED',
      { resource: resource.name, type, identifier: adopted.identifier },
    );
  }
  checkName(resource);
  const options = new OptionReader(resource);
  options.refuseUnknown(KNOWN_OPTIONS[type]);
  const version = options.string('version', VERSION.pattern, VERSION.expected);

  const database = DATABASE_ENGINES[type];
  if (database) {
    const durable = options.boolean('durable');
    const multiAZ = options.boolean('multiAZ');
    if (durable !== undefined && multiAZ !== undefined && durable !== multiAZ) {
      throw new ResourceOptionError(`resource ${resource.name} (${type}): options durable and multiAZ disagree; they mean the same thing, so give one`, 'RESOURCE_OPTION_CONFLICT', {
        resource: resource.name,
        type,
        options: ['durable', 'multiAZ'],
      });
    }
    const snapshot = options.string('snapshot', SNAPSHOT.pattern, SNAPSHOT.expected);
    if (snapshot !== undefined && options.has('encrypted')) {
      throw new ResourceOptionError(
        `resource ${resource.name} (${type}): option encrypted cannot be used with snapshot; an instance restored from a snapshot is encrypted exactly when the snapshot is`,
        'RESOURCE_OPTION_CONFLICT',
        { resource: resource.name, type, options: ['encrypted', 'snapshot'] },
      );
    }
    return {
      kind: 'database',
      engine: database.engine,
      port: database.port,
      ...optional('version', version),
      instanceClass: options.string('class', DB_CLASS.pattern, DB_CLASS.expected) ?? 'db.t3.micro',
      // 20 GiB is the smallest general-purpose volume RDS makes; 65536 GiB the largest.
      storageGiB: options.integer('storage', 20, 65536, ' (GiB)') ?? 20,
      // Encrypted unless asked otherwise, where Convox leaves storage unencrypted unless asked: encryption
      // costs nothing noticeable, and an unencrypted instance can only be encrypted by restoring a copy.
      ...(snapshot === undefined ? { encrypted: options.boolean('encrypted') ?? true } : {}),
      backupRetentionDays: options.integer('backupRetentionPeriod', 0, 35, ' (days; 0 turns automated backups off)') ?? 1,
      deletionProtection: options.boolean('deletionProtection') ?? false,
      multiAZ: durable ?? multiAZ ?? false,
      ...optional('snapshot', snapshot),
      ...(snapshot === undefined ? { databaseName: databaseName(resource.name), username: MASTER_USERNAME } : {}),
    };
  }
  if (type === 'elasticache-redis') {
    return {
      kind: 'redis',
      port: 6379,
      ...optional('version', version),
      nodeType: options.string('class', CACHE_CLASS.pattern, CACHE_CLASS.expected) ?? 'cache.t3.micro',
      durable: options.boolean('durable') ?? false,
      encrypted: options.boolean('encrypted') ?? true,
    };
  }
  return {
    kind: 'memcached',
    port: 11211,
    ...optional('version', version),
    nodeType: options.string('class', CACHE_CLASS.pattern, CACHE_CLASS.expected) ?? 'cache.t3.micro',
    // ElastiCache's per-cluster node limit for Memcached.
    nodes: options.integer('nodes', 1, 40) ?? 1,
  };
}

/** `{ key: value }`, or nothing when the value is absent: spreads an optional setting without writing `undefined`. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: V });
}

/**
 * The database created in the instance: the resource name without its hyphens, which every engine
 * accepts (a letter first, then letters and digits; MySQL and MariaDB allow no underscore in RDS).
 */
function databaseName(resourceName: string): string {
  return resourceName.replace(/-/g, '');
}

// ---------------------------------------------------------------------------------------------
// Templates

type Json = Record<string, unknown>;

const ref = (logicalId: string): Json => ({ Ref: logicalId });
const getAtt = (logicalId: string, attribute: string): Json => ({ 'Fn::GetAtt': [logicalId, attribute] });

/** Logical ids in the templates (stable: renaming one would replace the resource). */
const LOGICAL_IDS = {
  subnetGroup: 'SubnetGroup',
  securityGroup: 'SecurityGroup',
  instance: 'Instance',
  replicationGroup: 'ReplicationGroup',
  cacheCluster: 'CacheCluster',
} as const;

interface RenderContext {
  readonly input: ManagedResourceInput;
  readonly tags: Readonly<Record<string, string>>;
  /** The tags as CloudFormation's list of `{ Key, Value }`, sorted by key; a new list each call, so no two resources share one. */
  tagList(): Json[];
  /** `<rack>/<app>/<resource>`, for descriptions. */
  readonly label: string;
}

/**
 * The CloudFormation stack of one managed resource. Pure and deterministic: the same input
 * gives the same template, byte for byte once serialised.
 */
export function renderResourceStack(input: ManagedResourceInput): ManagedResourceStack {
  const { rack, app, resource, network } = input;
  const settings = resourceSettings(resource);
  checkNetwork(resource, network);
  const stackName = resourceStackName(rack, app, resource.name);
  if (stackName.length > MAX_STACK_NAME_LENGTH) {
    throw new ResourceNameError(
      `resource ${resource.name}: its stack name ${stackName} is longer than CloudFormation's ${MAX_STACK_NAME_LENGTH} characters; use a shorter app or resource name`,
      'RESOURCE_STACK_NAME_TOO_LONG',
      { resource: resource.name, stackName },
    );
  }

  const tags: Record<string, string> = {
    [RESOURCE_STACK_TAGS.app]: app,
    [RESOURCE_STACK_TAGS.rack]: rack,
    [RESOURCE_STACK_TAGS.resource]: resource.name,
    [RESOURCE_STACK_TAGS.type]: resource.type,
  };
  const context: RenderContext = {
    input,
    tags,
    tagList: () =>
      Object.entries(tags)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([Key, Value]) => ({ Key, Value })),
    label: `${rack}/${app}/${resource.name}`,
  };

  const body = settings.kind === 'database' ? databaseTemplate(context, settings) : settings.kind === 'redis' ? redisTemplate(context, settings) : memcachedTemplate(context, settings);
  const template: Json = {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `Slipway ${resource.type} resource ${context.label}`,
    ...body,
  };
  return { stackName, template, tags };
}

function checkNetwork(resource: Resource, network: ResourceNetwork): void {
  const distinct = new Set(network.subnetIds).size;
  if (distinct < 2) {
    throw new ResourceNetworkError(
      `resource ${resource.name}: RDS and ElastiCache need subnets in two availability zones, but the cluster's network offers ${distinct}`,
      'RESOURCE_NETWORK_SUBNETS',
      { resource: resource.name, subnets: distinct },
    );
  }
}

/** The subnets, sorted and without repeats, so that the order discovery returns them in never changes the template. */
function subnetIds(network: ResourceNetwork): string[] {
  return [...new Set(network.subnetIds)].sort();
}

/** A security group in the cluster's VPC that admits the cluster's nodes on one port, and nothing else. */
function securityGroup(context: RenderContext, port: number): Json {
  const { network, resource } = context.input;
  return {
    Type: 'AWS::EC2::SecurityGroup',
    Properties: {
      // Security group descriptions allow only a restricted ASCII set (no apostrophes).
      GroupDescription: `Slipway ${resource.type} ${context.label}: cluster nodes only`,
      VpcId: network.vpcId,
      SecurityGroupIngress: [
        {
          IpProtocol: 'tcp',
          FromPort: port,
          ToPort: port,
          SourceSecurityGroupId: network.nodeSecurityGroupId,
          Description: 'Slipway cluster nodes',
        },
      ],
      Tags: context.tagList(),
    },
  };
}

function databaseTemplate(context: RenderContext, settings: DatabaseSettings): Json {
  const { network } = context.input;
  const restoring = settings.snapshot !== undefined;
  const instanceProperties: Json = {
    Engine: settings.engine,
    ...(settings.version === undefined
      ? {}
      : // A changed major version is an upgrade the manifest asked for; without this flag RDS refuses it.
        { EngineVersion: settings.version, AllowMajorVersionUpgrade: true }),
    DBInstanceClass: settings.instanceClass,
    // CloudFormation types AllocatedStorage as a string.
    AllocatedStorage: String(settings.storageGiB),
    ...(settings.encrypted === undefined ? {} : { StorageEncrypted: settings.encrypted }),
    ...(restoring
      ? { DBSnapshotIdentifier: settings.snapshot }
      : // A snapshot brings its own master user and databases: CloudFormation refuses both with DBSnapshotIdentifier.
        { DBName: settings.databaseName, MasterUsername: settings.username }),
    // RDS generates the master password and keeps it in a Secrets Manager secret it rotates; no
    // password is ever in the template, the stack's events or our state. On a restore RDS resets
    // the snapshot's password into a new secret the same way.
    ManageMasterUserPassword: true,
    BackupRetentionPeriod: settings.backupRetentionDays,
    DeletionProtection: settings.deletionProtection,
    MultiAZ: settings.multiAZ,
    PubliclyAccessible: false,
    CopyTagsToSnapshot: true,
    DBSubnetGroupName: ref(LOGICAL_IDS.subnetGroup),
    VPCSecurityGroups: [getAtt(LOGICAL_IDS.securityGroup, 'GroupId')],
    Tags: context.tagList(),
  };
  const outputs: Json = {
    [RESOURCE_OUTPUTS.host]: { Value: getAtt(LOGICAL_IDS.instance, 'Endpoint.Address') },
    [RESOURCE_OUTPUTS.port]: { Value: getAtt(LOGICAL_IDS.instance, 'Endpoint.Port') },
    // After a restore, the database and user are whatever the snapshot holds, which the template cannot know.
    ...(restoring
      ? {}
      : {
          [RESOURCE_OUTPUTS.database]: { Value: settings.databaseName },
          [RESOURCE_OUTPUTS.username]: { Value: settings.username },
        }),
    [RESOURCE_OUTPUTS.secretArn]: { Value: getAtt(LOGICAL_IDS.instance, 'MasterUserSecret.SecretArn') },
  };
  return {
    Resources: {
      [LOGICAL_IDS.subnetGroup]: {
        Type: 'AWS::RDS::DBSubnetGroup',
        Properties: { DBSubnetGroupDescription: `Slipway ${context.input.resource.type} ${context.label}`, SubnetIds: subnetIds(network), Tags: context.tagList() },
      },
      [LOGICAL_IDS.securityGroup]: securityGroup(context, settings.port),
      [LOGICAL_IDS.instance]: {
        Type: 'AWS::RDS::DBInstance',
        // Removing the resource from convox.yml, or a change that replaces the instance, always
        // leaves a final snapshot behind: data is never lost to a deploy.
        DeletionPolicy: 'Snapshot',
        UpdateReplacePolicy: 'Snapshot',
        Properties: instanceProperties,
      },
    },
    Outputs: outputs,
  };
}

function cacheSubnetGroup(context: RenderContext): Json {
  return {
    Type: 'AWS::ElastiCache::SubnetGroup',
    Properties: { Description: `Slipway ${context.input.resource.type} ${context.label}`, SubnetIds: subnetIds(context.input.network), Tags: context.tagList() },
  };
}

function redisTemplate(context: RenderContext, settings: RedisSettings): Json {
  return {
    Resources: {
      [LOGICAL_IDS.subnetGroup]: cacheSubnetGroup(context),
      [LOGICAL_IDS.securityGroup]: securityGroup(context, settings.port),
      [LOGICAL_IDS.replicationGroup]: {
        Type: 'AWS::ElastiCache::ReplicationGroup',
        // Redis holds data: removing the resource (or replacing the group) keeps a final snapshot, as for RDS.
        DeletionPolicy: 'Snapshot',
        UpdateReplacePolicy: 'Snapshot',
        Properties: {
          ReplicationGroupDescription: `Slipway ${context.input.resource.type} ${context.label}`,
          Engine: 'redis',
          ...(settings.version === undefined ? {} : { EngineVersion: settings.version }),
          CacheNodeType: settings.nodeType,
          // Durable: a replica in another availability zone that takes over when the primary fails.
          NumCacheClusters: settings.durable ? 2 : 1,
          MultiAZEnabled: settings.durable,
          AutomaticFailoverEnabled: settings.durable,
          // Both on by default; in transit means TLS, so the link is `rediss://`, and a client without TLS cannot connect.
          AtRestEncryptionEnabled: settings.encrypted,
          TransitEncryptionEnabled: settings.encrypted,
          Port: settings.port,
          CacheSubnetGroupName: ref(LOGICAL_IDS.subnetGroup),
          SecurityGroupIds: [getAtt(LOGICAL_IDS.securityGroup, 'GroupId')],
          Tags: context.tagList(),
        },
      },
    },
    Outputs: {
      [RESOURCE_OUTPUTS.host]: { Value: getAtt(LOGICAL_IDS.replicationGroup, 'PrimaryEndPoint.Address') },
      [RESOURCE_OUTPUTS.port]: { Value: getAtt(LOGICAL_IDS.replicationGroup, 'PrimaryEndPoint.Port') },
    },
  };
}

function memcachedTemplate(context: RenderContext, settings: MemcachedSettings): Json {
  return {
    Resources: {
      [LOGICAL_IDS.subnetGroup]: cacheSubnetGroup(context),
      [LOGICAL_IDS.securityGroup]: securityGroup(context, settings.port),
      [LOGICAL_IDS.cacheCluster]: {
        Type: 'AWS::ElastiCache::CacheCluster',
        Properties: {
          Engine: 'memcached',
          ...(settings.version === undefined ? {} : { EngineVersion: settings.version }),
          CacheNodeType: settings.nodeType,
          NumCacheNodes: settings.nodes,
          Port: settings.port,
          CacheSubnetGroupName: ref(LOGICAL_IDS.subnetGroup),
          VpcSecurityGroupIds: [getAtt(LOGICAL_IDS.securityGroup, 'GroupId')],
          Tags: context.tagList(),
        },
      },
    },
    Outputs: {
      // The configuration endpoint lets a client discover every node.
      [RESOURCE_OUTPUTS.host]: { Value: getAtt(LOGICAL_IDS.cacheCluster, 'ConfigurationEndpoint.Address') },
      [RESOURCE_OUTPUTS.port]: { Value: getAtt(LOGICAL_IDS.cacheCluster, 'ConfigurationEndpoint.Port') },
    },
  };
}
