/**
 * Managed resources on AWS (`rds-postgres`, `rds-mysql`, `rds-mariadb`, `elasticache-redis`,
 * `elasticache-memcached`): each is a CloudFormation stack of its own that our code renders from
 * the resource's `options`, in the cluster's VPC, reachable from the cluster's nodes only. This
 * file holds what the renderer (render.ts) and the provisioner (the CloudFormation adapter) share.
 */
import type { Resource } from '../../manifest';

export const MANAGED_RESOURCE_TYPES = ['rds-postgres', 'rds-mysql', 'rds-mariadb', 'elasticache-redis', 'elasticache-memcached'] as const;
export type ManagedResourceType = (typeof MANAGED_RESOURCE_TYPES)[number];

export function isManagedResource(resource: Pick<Resource, 'type'>): resource is Pick<Resource, 'type'> & { type: ManagedResourceType } {
  return (MANAGED_RESOURCE_TYPES as readonly string[]).includes(resource.type);
}

/** Where the resource lives: the cluster's VPC and private subnets, and the group its nodes are in. */
export interface ResourceNetwork {
  readonly vpcId: string;
  /** At least two, in different availability zones (RDS and ElastiCache subnet groups need two). */
  readonly subnetIds: readonly string[];
  /** The security group of the cluster's nodes: the only source the resource admits. */
  readonly nodeSecurityGroupId: string;
}

export interface ManagedResourceInput {
  readonly rack: string;
  readonly app: string;
  readonly resource: Resource;
  readonly network: ResourceNetwork;
}

/** The stack outputs the provisioner reads to link the resource (names fixed, so they never drift). */
export const RESOURCE_OUTPUTS = {
  host: 'Host',
  port: 'Port',
  /** The database name (RDS); absent for caches. */
  database: 'DatabaseName',
  username: 'Username',
  /** The Secrets Manager secret RDS manages the master password in (RDS); absent for caches without auth. */
  secretArn: 'SecretArn',
} as const;

export interface ManagedResourceStack {
  /** `slipway-<rack>-<app>-<resource>`, at most 128 characters. */
  readonly stackName: string;
  /** The CloudFormation template (JSON). */
  readonly template: Record<string, unknown>;
  /** Tags on the stack: the provisioner finds an app's resource stacks by them. */
  readonly tags: Readonly<Record<string, string>>;
}

/** Tag keys on every resource stack. */
export const RESOURCE_STACK_TAGS = { rack: 'slipway:rack', app: 'slipway:app', resource: 'slipway:resource', type: 'slipway:resource-type' } as const;

export function resourceStackName(rack: string, app: string, resource: string): string {
  return `slipway-${rack}-${app}-${resource}`;
}
