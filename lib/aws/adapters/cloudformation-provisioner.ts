/**
 * The AWS rack's provisioner of managed resources (`rds-*`, `elasticache-*`): one CloudFormation
 * stack per resource, rendered from its options (the renderer is given), in the cluster's VPC.
 * Linked services read a resource's connection from a Secret this provisioner writes into the
 * app's namespace once the stack is ready (keys URL, USER, PASS, HOST, PORT, NAME).
 *
 * Every call starts from what AWS says, nothing is kept between calls but the cluster's network
 * (the step Lambdas are short-lived; the machine calls `ensure` again after a wait while a stack
 * is in progress). The stack's status decides:
 * - none: CreateStack, with termination protection. A failed creation rolls back (CloudFormation's
 *   default), so the stack stays, holding nothing, with its events for the user to read; with
 *   `OnFailure: DELETE` the stack would vanish and the next poll, seeing no stack, would create
 *   it again, failing forever. A rolled-back creation cannot be updated: the user deletes it.
 * - in progress: not ready.
 * - settled: UpdateStack with the rendered template; "No updates are to be performed" means the
 *   stack is what the manifest asks, so the resource is ready.
 * - an update rolled back: whether it was this configuration that failed is told by the client
 *   request token of the failed operation, which carries a digest of the template and tags. The
 *   same configuration fails the deploy with the first failure's reason (trying it again would
 *   take as long and fail the same way); another one is tried.
 *
 * Stacks are never deleted here. A dropped resource's stack stays, and is reported; a rename (a
 * dropped resource and a new one of the same type in one manifest) is refused, because it would
 * give the app a new, empty database. No password reaches a log, an event, an error or a return
 * value: it goes from Secrets Manager into the Kubernetes Secret and nowhere else.
 */
import { createHash } from 'node:crypto';
import { CreateStackCommand, DescribeStackEventsCommand, DescribeStacksCommand, ListStacksCommand, StackStatus, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import type { CloudFormationClient, Stack, StackEvent } from '@aws-sdk/client-cloudformation';
import { DescribeClusterCommand } from '@aws-sdk/client-eks';
import type { EKSClient } from '@aws-sdk/client-eks';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SlipwayError } from '../../errors';
import type { Resource } from '../../manifest';
import { resourceEnvPrefix } from '../../manifest';
import type { KubernetesApi } from '../../kubernetes/api/kubernetes-api';
import type { KubernetesObject } from '../../kubernetes/objects';
import { namespaceOf, SLIPWAY_LABELS } from '../../kubernetes/objects';
import { appContext, namespaceObject } from '../../kubernetes/render/common';
import { provisionedResourceSecretName } from '../../kubernetes/render/resources';
import type { Provisioner } from '../../pipeline/ports/runtime';
import type { ManagedResourceInput, ManagedResourceStack, ManagedResourceType, ResourceNetwork } from '../resources/managed-resource';
import { isManagedResource, RESOURCE_OUTPUTS, RESOURCE_STACK_TAGS, resourceStackName } from '../resources/managed-resource';

/** What renders a managed resource: the stack, or, for `options.import`, the instance it adopts. */
export interface ManagedResourceRenderer {
  readonly renderResourceStack: (input: ManagedResourceInput) => ManagedResourceStack;
  readonly adoptedResource: (resource: Resource) => { readonly identifier: string } | undefined;
}

/** An RDS instance as DescribeDBInstances tells it (the fields an adopted resource needs). */
export interface RdsInstance {
  readonly identifier: string;
  /** `Engine`: `postgres`, `mysql`, `mariadb`, ... */
  readonly engine: string;
  /** `DBInstanceStatus`: `available`, `creating`, `modifying`, ... */
  readonly status: string;
  /** `Endpoint.Address`, absent while the instance is being created. */
  readonly host?: string;
  readonly port?: number;
  /** `DBName`: absent when the instance was created without one. */
  readonly database?: string;
  /** `MasterUsername`. */
  readonly username?: string;
  /** `MasterUserSecret.SecretArn`: present only when RDS manages the master password. */
  readonly masterUserSecretArn?: string;
}

/** DescribeDBInstances for one identifier; `undefined` when there is no such instance. */
export interface RdsInstances {
  describeInstance(identifier: string): Promise<RdsInstance | undefined>;
}

/** Picks the private subnets among the cluster's (EC2 route tables); without it every cluster subnet is used. */
export interface PrivateSubnets {
  privateSubnets(vpcId: string, subnetIds: readonly string[]): Promise<string[]>;
}

export interface CloudFormationProvisionerClients {
  readonly cloudformation: CloudFormationClient;
  readonly eks: EKSClient;
  readonly secrets: SecretsManagerClient;
  /** Needed only by resources that adopt an instance (`options.import`). */
  readonly rds?: RdsInstances;
  readonly subnets?: PrivateSubnets;
}

export interface CloudFormationProvisionerOptions {
  /** The rack's name: stacks are `slipway-<rack>-<app>-<resource>`, namespaces `<rack>-<app>`. */
  readonly rack: string;
  /** The rack's EKS cluster: its VPC, subnets and cluster security group are the resources' network. */
  readonly cluster: string;
  readonly render: ManagedResourceRenderer;
  /** The rack's cluster, where the connection Secrets go. */
  readonly kubernetes: KubernetesApi;
  /** The role CloudFormation acts with on the resource stacks (its service role); the caller's own otherwise. */
  readonly serviceRoleArn?: string;
  /** Where notes go (a dropped resource whose stack stays); they are returned too. */
  readonly log?: (message: string) => void;
  /** Milliseconds since the epoch, for request tokens (Date.now by default). */
  readonly now?: () => number;
}

/** What `ensure` returns: the port's answer, and notes for the user that are not failures. */
export interface ManagedResourcesState {
  readonly ready: boolean;
  readonly waitingOn: readonly string[];
  readonly notes: readonly string[];
}

/** CloudFormation's limit on a TemplateBody, in bytes (larger templates must go through S3). */
export const TEMPLATE_BODY_LIMIT = 51_200;

/**
 * The stack output a renderer may add to say whether a Redis resource encrypts in transit
 * (`true`/`false`; its URL is then `rediss://`). Without it, the `encrypted` option decides, on
 * (TLS) unless it is `false`, as the renderer has it.
 */
export const TRANSIT_ENCRYPTION_OUTPUT = 'TransitEncryption';

/** `app.kubernetes.io/managed-by` of the connection Secrets: not `slipway`, so a release's prune leaves them. */
export const CONNECTION_SECRET_MANAGER = 'slipway-provisioner';

const RDS_ENGINES: Readonly<Record<string, { readonly scheme: string; readonly defaultDatabase: string }>> = {
  'rds-postgres': { scheme: 'postgres', defaultDatabase: 'postgres' },
  'rds-mysql': { scheme: 'mysql', defaultDatabase: '' },
  'rds-mariadb': { scheme: 'mysql', defaultDatabase: '' },
};
/** The RDS `Engine` an adopted instance of each type must have. */
const ADOPTED_ENGINES: Readonly<Record<string, string>> = { 'rds-postgres': 'postgres', 'rds-mysql': 'mysql', 'rds-mariadb': 'mariadb' };

const SETTLED = new Set<string>([StackStatus.CREATE_COMPLETE, StackStatus.UPDATE_COMPLETE, StackStatus.IMPORT_COMPLETE]);
/** Settled after a failed update or import: the stack serves its previous settings and can be updated. */
const ROLLED_BACK = new Set<string>([StackStatus.UPDATE_ROLLBACK_COMPLETE, StackStatus.IMPORT_ROLLBACK_COMPLETE]);
/** The statuses an operation starts with, on the stack itself. */
const OPERATION_STARTS = new Set<string>([StackStatus.CREATE_IN_PROGRESS, StackStatus.UPDATE_IN_PROGRESS, StackStatus.IMPORT_IN_PROGRESS]);
const LIVE_STATUSES = Object.values(StackStatus).filter((s) => s !== StackStatus.DELETE_COMPLETE);
const STACK_TYPE = 'AWS::CloudFormation::Stack';
/** How many pages of stack events are read looking for an operation's first failure. */
const EVENT_PAGES = 5;

export class ManagedResourceError extends SlipwayError {
  constructor(message: string, code: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, code, context, options);
  }
}

/** The cluster's network cannot hold RDS or ElastiCache resources. */
export class ClusterNetworkError extends ManagedResourceError {
  constructor(cluster: string, problem: string) {
    super(`the EKS cluster ${cluster} cannot hold managed resources: ${problem}`, 'RESOURCE_NETWORK_INVALID', { cluster });
  }
}

/** A resource's stack ended in failure; `reason` is CloudFormation's, from the failed operation's first failed event. */
export class ResourceStackFailedError extends ManagedResourceError {
  constructor(
    readonly resource: string,
    readonly stackName: string,
    readonly status: string,
    readonly reason: string,
    advice: string,
  ) {
    super(`resource ${resource}: stack ${stackName} is ${status}: ${reason}. ${advice}`, 'RESOURCE_STACK_FAILED', { resource, stackName, status });
  }
}

/** The manifest renames a managed resource: the new name would get a new, empty database or cache. */
export class ResourceRenameRefusedError extends ManagedResourceError {
  constructor(renames: readonly { readonly dropped: string; readonly added: string; readonly type: string; readonly stackName: string }[]) {
    const each = renames.map((r) => `${r.added} (${r.type}) would be created while ${r.dropped}, also ${r.type}, keeps its data in stack ${r.stackName}`);
    super(
      `refusing what looks like a renamed resource: ${each.join('; ')}. A new name gets a new, empty resource; the old one is not moved. ` +
        'To keep the data, keep the old name in convox.yml. To move it, deploy with both resources, copy the data across, then remove the old resource ' +
        'from convox.yml and delete its stack explicitly (Slipway never deletes a resource stack)',
      'RESOURCE_RENAME_REFUSED',
      { renames },
    );
  }
}

/**
 * Error messages from AWS and the cluster pass through this when a password is at hand, so that
 * none can carry it (plain or URL-encoded) into an event.
 */
function withoutSecret(message: string, secret: string | undefined): string {
  if (!secret) return message;
  return message.replaceAll(secret, '****').replaceAll(encodeURIComponent(secret), '****');
}

function errorName(e: unknown): string | undefined {
  return e instanceof Error ? e.name : undefined;
}

function isMissingStack(e: unknown): boolean {
  return errorName(e) === 'ValidationError' && /does not exist/.test((e as Error).message);
}

function isNoUpdate(e: unknown): boolean {
  return errorName(e) === 'ValidationError' && /No updates are to be performed/.test((e as Error).message);
}

/** UpdateStack raced with an operation that started after we read the status: ask again later. */
function isBusy(e: unknown): boolean {
  return errorName(e) === 'ValidationError' && /state and can ?not be updated/.test((e as Error).message);
}

function outputsOf(stack: Stack): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of stack.Outputs ?? []) if (o.OutputKey && o.OutputValue !== undefined) out[o.OutputKey] = o.OutputValue;
  return out;
}

function tagsOf(stack: Stack): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of stack.Tags ?? []) if (t.Key && t.Value !== undefined) out[t.Key] = t.Value;
  return out;
}

type Connection = Record<'URL' | 'USER' | 'PASS' | 'HOST' | 'PORT' | 'NAME', string>;

/** A managed resource as this call found it, before any change. */
type Plan =
  | { readonly kind: 'stack'; readonly resource: Resource; readonly stack: ManagedResourceStack; readonly body: string; readonly digest: string; readonly live: Stack | undefined }
  | { readonly kind: 'adopted'; readonly resource: Resource; readonly identifier: string };

type Outcome = { readonly ready: true; readonly connection: () => Promise<Connection> } | { readonly ready: false; readonly waitingOn: string };

export class CloudFormationResourceProvisioner implements Provisioner {
  private network?: Promise<ResourceNetwork>;
  private readonly now: () => number;

  constructor(
    private readonly clients: CloudFormationProvisionerClients,
    private readonly options: CloudFormationProvisionerOptions,
  ) {
    this.now = options.now ?? (() => Date.now());
  }

  async ensure(app: string, resources: readonly Resource[], env: Readonly<Record<string, string>>): Promise<ManagedResourcesState> {
    const managed = resources.filter((r) => isManagedResource(r));
    // Convox's overlay: `<NAME>_URL` in the environment makes the resource external. The
    // renderer links that URL itself, so neither a stack nor a connection Secret is made.
    const provisioned = managed.filter((r) => !Object.hasOwn(env, `${resourceEnvPrefix(r.name)}_URL`));
    if (provisioned.length === 0) return { ready: true, waitingOn: [], notes: [] };

    const plans: Plan[] = [];
    for (const resource of provisioned) plans.push(await this.plan(app, resource));
    const creating = plans.filter((p) => p.kind === 'stack' && !p.live);
    const outcomes: { readonly resource: Resource; readonly outcome: Outcome }[] = [];
    // A rename is refused before anything changes; looking for dropped stacks costs a listing
    // of the region's stacks, so it is done only when it can refuse something or the deploy is
    // about to go on (to report what stays behind).
    let notes: string[] = [];
    if (creating.length > 0) notes = await this.refuseRenames(app, managed, creating);
    for (const plan of plans) outcomes.push({ resource: plan.resource, outcome: await this.converge(plan) });

    const waitingOn = outcomes.flatMap((o) => (o.outcome.ready ? [] : [o.outcome.waitingOn]));
    if (waitingOn.length === 0 && creating.length === 0) notes = await this.droppedNotes(app, managed);
    for (const note of notes) this.options.log?.(note);

    // Linked services can start as soon as their resource is ready, whatever the others do.
    for (const { resource, outcome } of outcomes) {
      if (outcome.ready) await this.writeConnection(app, resource, await outcome.connection());
    }
    return { ready: waitingOn.length === 0, waitingOn: waitingOn.sort(), notes };
  }

  private async plan(app: string, resource: Resource): Promise<Plan> {
    const adopted = this.options.render.adoptedResource(resource);
    if (adopted) return { kind: 'adopted', resource, identifier: adopted.identifier };
    const stack = this.options.render.renderResourceStack({ rack: this.options.rack, app, resource, network: await this.clusterNetwork() });
    const body = JSON.stringify(stack.template);
    const size = Buffer.byteLength(body, 'utf8');
    if (size > TEMPLATE_BODY_LIMIT) {
      throw new ManagedResourceError(
        `resource ${resource.name}: its CloudFormation template is ${size} bytes, more than the ${TEMPLATE_BODY_LIMIT} CloudFormation accepts in a request; this is a bug of the renderer, not of convox.yml`,
        'RESOURCE_TEMPLATE_TOO_LARGE',
        { resource: resource.name, stackName: stack.stackName, size },
      );
    }
    const digest = createHash('sha256').update(body).update(JSON.stringify(sortedTags(stack.tags))).digest('hex').slice(0, 32);
    return { kind: 'stack', resource, stack, body, digest, live: await this.describeStack(stack.stackName) };
  }

  private clusterNetwork(): Promise<ResourceNetwork> {
    this.network ??= this.describeNetwork().catch((e: unknown) => {
      // A failed look-up is not kept: the next call asks again.
      this.network = undefined;
      throw e;
    });
    return this.network;
  }

  private async describeNetwork(): Promise<ResourceNetwork> {
    const { cluster: name } = this.options;
    const { cluster } = await this.clients.eks.send(new DescribeClusterCommand({ name }));
    const vpc = cluster?.resourcesVpcConfig;
    if (!vpc?.vpcId) throw new ClusterNetworkError(name, 'DescribeCluster names no VPC');
    const all = [...(vpc.subnetIds ?? [])];
    const subnetIds = this.clients.subnets ? await this.clients.subnets.privateSubnets(vpc.vpcId, all) : all;
    if (subnetIds.length < 2) {
      const which = this.clients.subnets ? 'private subnet(s) (no route to an internet gateway)' : 'subnet(s)';
      throw new ClusterNetworkError(name, `it has ${subnetIds.length} ${which}, and RDS and ElastiCache subnet groups need at least two, in different availability zones; add private subnets to the cluster's VPC configuration`);
    }
    if (!vpc.clusterSecurityGroupId) throw new ClusterNetworkError(name, 'it has no cluster security group, the group its nodes are in and the only source a resource admits');
    return { vpcId: vpc.vpcId, subnetIds, nodeSecurityGroupId: vpc.clusterSecurityGroupId };
  }

  private async describeStack(stackName: string): Promise<Stack | undefined> {
    try {
      const { Stacks } = await this.clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
      return Stacks?.[0];
    } catch (e) {
      if (isMissingStack(e)) return undefined;
      throw e;
    }
  }

  private async converge(plan: Plan): Promise<Outcome> {
    if (plan.kind === 'adopted') return this.adopted(plan.resource, plan.identifier);
    const { resource, stack, live } = plan;
    const waiting = (status: string): Outcome => ({ ready: false, waitingOn: `${resource.name} (${status})` });
    if (!live) {
      const created = await this.createStack(plan);
      return created ? waiting(StackStatus.CREATE_IN_PROGRESS) : waiting('being created');
    }
    const status = live.StackStatus ?? 'UNKNOWN';
    if (status.endsWith('_IN_PROGRESS')) {
      if (status === StackStatus.REVIEW_IN_PROGRESS) throw this.stuck(resource.name, stack.stackName, status, 'a change set was made for it but never executed, so it has no template: execute or delete that change set');
      return waiting(status);
    }
    if (SETTLED.has(status)) return this.updateStack(plan, live);
    if (ROLLED_BACK.has(status)) {
      const failure = await this.lastFailure(stack.stackName);
      if (failure.token?.startsWith(tokenPrefix(plan.digest))) {
        throw new ResourceStackFailedError(
          resource.name,
          stack.stackName,
          status,
          failure.reason,
          'The stack was rolled back and its previous settings still serve. Deploying the same options again reports this failure again without retrying it; change them to try again',
        );
      }
      return this.updateStack(plan, live);
    }
    const failure = await this.lastFailure(stack.stackName);
    if (status === StackStatus.ROLLBACK_COMPLETE) {
      throw new ResourceStackFailedError(
        resource.name,
        stack.stackName,
        status,
        failure.reason,
        'Its creation was rolled back, so the stack holds nothing and CloudFormation cannot update it. Once the cause is fixed, delete the stack ' +
          `(turn its termination protection off first: aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name ${stack.stackName}; ` +
          `then aws cloudformation delete-stack --stack-name ${stack.stackName}) and deploy again`,
      );
    }
    throw this.stuck(resource.name, stack.stackName, status, failure.reason);
  }

  private stuck(resource: string, stackName: string, status: string, reason: string): ResourceStackFailedError {
    return new ResourceStackFailedError(resource, stackName, status, reason, 'CloudFormation cannot go on from this status by itself: see the stack in the CloudFormation console (for a failed rollback, continue it there), then deploy again');
  }

  /** `false` when another request created the stack first (a retried step): the next call sees it. */
  private async createStack(plan: Extract<Plan, { kind: 'stack' }>): Promise<boolean> {
    try {
      await this.clients.cloudformation.send(
        new CreateStackCommand({ ...this.stackRequest(plan), EnableTerminationProtection: true, OnFailure: 'ROLLBACK' }),
      );
      return true;
    } catch (e) {
      if (errorName(e) === 'AlreadyExistsException') return false;
      throw e;
    }
  }

  private async updateStack(plan: Extract<Plan, { kind: 'stack' }>, live: Stack): Promise<Outcome> {
    try {
      await this.clients.cloudformation.send(
        new UpdateStackCommand(this.stackRequest(plan)),
      );
      return { ready: false, waitingOn: `${plan.resource.name} (${StackStatus.UPDATE_IN_PROGRESS})` };
    } catch (e) {
      if (isNoUpdate(e)) return { ready: true, connection: () => this.stackConnection(plan.resource, plan.stack.stackName, live) };
      if (isBusy(e)) return { ready: false, waitingOn: `${plan.resource.name} (busy)` };
      throw e;
    }
  }

  /** What a create and an update of the stack both send. */
  private stackRequest(plan: Extract<Plan, { kind: 'stack' }>): { StackName: string; TemplateBody: string; Tags: { Key: string; Value: string }[]; ClientRequestToken: string; RoleARN?: string } {
    return {
      StackName: plan.stack.stackName,
      TemplateBody: plan.body,
      Tags: sortedTags(plan.stack.tags),
      ClientRequestToken: this.token(plan.digest),
      ...(this.options.serviceRoleArn ? { RoleARN: this.options.serviceRoleArn } : {}),
    };
  }

  /** Unique per request (a token names one operation), and it carries the configuration's digest. */
  private token(digest: string): string {
    return `${tokenPrefix(digest)}${this.now().toString(36)}`;
  }

  /**
   * The latest operation's first failure, from the stack's events (newest first): the events of
   * one operation share its client request token, and the first failure is its cause; the ones
   * after are mostly "Resource creation cancelled".
   */
  private async lastFailure(stackName: string): Promise<{ readonly token?: string; readonly reason: string }> {
    const operation: StackEvent[] = [];
    let next: string | undefined;
    let started: StackEvent | undefined;
    for (let page = 0; page < EVENT_PAGES && !started; page++) {
      const { StackEvents, NextToken } = await this.clients.cloudformation.send(new DescribeStackEventsCommand({ StackName: stackName, ...(next ? { NextToken: next } : {}) }));
      for (const event of StackEvents ?? []) {
        operation.push(event);
        if (event.ResourceType === STACK_TYPE && event.LogicalResourceId === stackName && OPERATION_STARTS.has(event.ResourceStatus ?? '')) {
          started = event;
          break;
        }
      }
      next = NextToken;
      if (!next) break;
    }
    const failed = operation.filter((e) => e.ResourceStatus?.endsWith('_FAILED'));
    const first = failed.filter((e) => e.ResourceType !== STACK_TYPE).at(-1) ?? failed.at(-1) ?? operation.find((e) => e.ResourceStatusReason);
    const where = first && first.ResourceType !== STACK_TYPE ? `${first.LogicalResourceId ?? '?'} (${first.ResourceType ?? '?'}): ` : '';
    const reason = `${where}${first?.ResourceStatusReason ?? 'CloudFormation gave no reason'}`;
    const token = started?.ClientRequestToken ?? operation[0]?.ClientRequestToken;
    return { ...(token ? { token } : {}), reason };
  }

  private async stackConnection(resource: Resource, stackName: string, stack: Stack): Promise<Connection> {
    const outputs = outputsOf(stack);
    const required = (key: string): string => {
      const value = outputs[key];
      if (value === undefined || value === '') {
        throw new ManagedResourceError(`resource ${resource.name}: stack ${stackName} has no output ${key}, which linking the resource needs; the stack was not made by this version of Slipway's renderer`, 'RESOURCE_OUTPUT_MISSING', {
          resource: resource.name,
          stackName,
          output: key,
        });
      }
      return value;
    };
    const host = required(RESOURCE_OUTPUTS.host);
    const port = required(RESOURCE_OUTPUTS.port);
    const type = resource.type as ManagedResourceType;
    const engine = RDS_ENGINES[type];
    if (engine) {
      const credentials = await this.readCredentials(resource, required(RESOURCE_OUTPUTS.secretArn));
      const user = credentials.username ?? required(RESOURCE_OUTPUTS.username);
      const database = outputs[RESOURCE_OUTPUTS.database] ?? engine.defaultDatabase;
      return sqlConnection(engine.scheme, host, port, database, user, credentials.password);
    }
    if (type === 'elasticache-redis') {
      const secretArn = outputs[RESOURCE_OUTPUTS.secretArn];
      const credentials = secretArn ? await this.readCredentials(resource, secretArn) : undefined;
      const tls = (outputs[TRANSIT_ENCRYPTION_OUTPUT] ?? resource.options.encrypted) !== 'false';
      return redisConnection(tls, host, port, credentials?.username ?? '', credentials?.password ?? '');
    }
    return { URL: `memcached://${host}:${port}`, USER: '', PASS: '', HOST: host, PORT: port, NAME: '' };
  }

  /** A secret as RDS keeps a managed master password: JSON `{username, password}`; a plain string is a password alone. */
  private async readCredentials(resource: Resource, secretArn: string): Promise<{ readonly username?: string; readonly password: string }> {
    const { SecretString } = await this.clients.secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (SecretString === undefined) {
      throw new ManagedResourceError(`resource ${resource.name}: the secret ${secretArn} holds no string value`, 'RESOURCE_SECRET_UNREADABLE', { resource: resource.name, secretArn });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(SecretString);
    } catch {
      return { password: SecretString };
    }
    const fields = (parsed ?? {}) as { username?: unknown; password?: unknown };
    if (typeof fields.password !== 'string') {
      throw new ManagedResourceError(`resource ${resource.name}: the secret ${secretArn} is JSON without a "password" string`, 'RESOURCE_SECRET_UNREADABLE', { resource: resource.name, secretArn });
    }
    return { ...(typeof fields.username === 'string' ? { username: fields.username } : {}), password: fields.password };
  }

  private async adopted(resource: Resource, identifier: string): Promise<Outcome> {
    const refuse = (problem: string, code = 'RESOURCE_ADOPTION_FAILED'): ManagedResourceError =>
      new ManagedResourceError(`resource ${resource.name} adopts ${identifier} (options.import): ${problem}`, code, { resource: resource.name, identifier });
    const engine = RDS_ENGINES[resource.type];
    if (!engine) throw refuse(`adopting an existing ${resource.type} is not supported; set ${resourceEnvPrefix(resource.name)}_URL in the app's environment to link it instead`);
    if (!this.clients.rds) throw refuse('this rack was set up without RDS access, so it cannot read the instance', 'RESOURCE_ADOPTION_UNAVAILABLE');
    const instance = await this.clients.rds.describeInstance(identifier);
    if (!instance) throw refuse('there is no RDS instance with that identifier in the rack\u2019s account and region');
    const expected = ADOPTED_ENGINES[resource.type];
    if (expected && instance.engine !== expected) throw refuse(`the instance runs ${instance.engine}, and a ${resource.type} resource needs ${expected}`);
    if (!instance.masterUserSecretArn) {
      throw refuse(
        `its master password is not managed by RDS, so Slipway cannot read it. Turn on RDS-managed passwords for the instance (ManageMasterUserPassword), or set ${resourceEnvPrefix(resource.name)}_URL in the app's environment instead`,
      );
    }
    if (!instance.host || instance.port === undefined) return { ready: false, waitingOn: `${resource.name} (RDS ${instance.status})` };
    const { host, masterUserSecretArn } = instance;
    const port = String(instance.port);
    return {
      ready: true,
      connection: async () => {
        const credentials = await this.readCredentials(resource, masterUserSecretArn);
        const user = credentials.username ?? instance.username ?? '';
        return sqlConnection(engine.scheme, host, port, instance.database ?? engine.defaultDatabase, user, credentials.password);
      },
    };
  }

  private async writeConnection(app: string, resource: Resource, connection: Connection): Promise<void> {
    const ctx = appContext({ name: this.options.rack }, app);
    const secret: KubernetesObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: provisionedResourceSecretName(resource.name),
        namespace: namespaceOf(this.options.rack, app),
        labels: { [SLIPWAY_LABELS.app]: app, [SLIPWAY_LABELS.managedBy]: CONNECTION_SECRET_MANAGER, [SLIPWAY_LABELS.resource]: resource.name },
      },
      type: 'Opaque',
      stringData: { HOST: connection.HOST, NAME: connection.NAME, PASS: connection.PASS, PORT: connection.PORT, URL: connection.URL, USER: connection.USER },
    };
    try {
      // The namespace may not exist yet (an app whose only resources are managed ones): the
      // same object the renderer makes, so applying it again changes nothing.
      await this.options.kubernetes.apply(namespaceObject(ctx));
      await this.options.kubernetes.apply(secret);
    } catch (e) {
      throw new ManagedResourceError(
        `resource ${resource.name}: writing its connection Secret ${secret.metadata.name} failed: ${withoutSecret((e as Error).message, connection.PASS)}`,
        'RESOURCE_CONNECTION_WRITE_FAILED',
        { resource: resource.name },
      );
    }
  }

  /** The app's resource stacks but those of `kept` resources, by resource name, with their types (from their tags). */
  private async appStacks(app: string, kept: ReadonlySet<string>): Promise<Map<string, { readonly stackName: string; readonly type: string }>> {
    const prefix = resourceStackName(this.options.rack, app, '');
    const keptStacks = new Set([...kept].map((resource) => resourceStackName(this.options.rack, app, resource)));
    const names: string[] = [];
    let next: string | undefined;
    do {
      const page = await this.clients.cloudformation.send(new ListStacksCommand({ StackStatusFilter: LIVE_STATUSES, ...(next ? { NextToken: next } : {}) }));
      for (const s of page.StackSummaries ?? []) if (s.StackName?.startsWith(prefix) && !keptStacks.has(s.StackName)) names.push(s.StackName);
      next = page.NextToken;
    } while (next);
    const found = new Map<string, { stackName: string; type: string }>();
    for (const name of names.sort()) {
      const stack = await this.describeStack(name);
      if (!stack) continue;
      const tags = tagsOf(stack);
      // The prefix of app `shop` is also that of app `shop-eu`'s stacks: the tags tell them apart.
      const resource = tags[RESOURCE_STACK_TAGS.resource];
      if (tags[RESOURCE_STACK_TAGS.rack] !== this.options.rack || tags[RESOURCE_STACK_TAGS.app] !== app || !resource) continue;
      found.set(resource, { stackName: name, type: tags[RESOURCE_STACK_TAGS.type] ?? '' });
    }
    return found;
  }

  private async refuseRenames(app: string, managed: readonly Resource[], creating: readonly Plan[]): Promise<string[]> {
    const dropped = await this.droppedStacks(app, managed);
    const renames = creating.flatMap((plan) =>
      dropped.filter((d) => d.type === plan.resource.type).map((d) => ({ dropped: d.resource, added: plan.resource.name, type: plan.resource.type, stackName: d.stackName })),
    );
    if (renames.length > 0) throw new ResourceRenameRefusedError(renames);
    return dropped.map(droppedNote);
  }

  private async droppedNotes(app: string, managed: readonly Resource[]): Promise<string[]> {
    return (await this.droppedStacks(app, managed)).map(droppedNote);
  }

  /** Stacks of resources the manifest no longer has as managed ones (an overlaid resource is still there). */
  private async droppedStacks(app: string, managed: readonly Resource[]): Promise<{ readonly resource: string; readonly stackName: string; readonly type: string }[]> {
    const kept = new Set(managed.map((r) => r.name));
    const out: { resource: string; stackName: string; type: string }[] = [];
    for (const [resource, stack] of await this.appStacks(app, kept)) if (!kept.has(resource)) out.push({ resource, ...stack });
    return out.sort((a, b) => a.resource.localeCompare(b.resource));
  }
}

function droppedNote(d: { readonly resource: string; readonly stackName: string; readonly type: string }): string {
  return `resource ${d.resource} (${d.type}) is no longer in convox.yml; its stack ${d.stackName} stays with its data until it is deleted explicitly`;
}

function tokenPrefix(digest: string): string {
  return `slipway-${digest}-`;
}

function sortedTags(tags: Readonly<Record<string, string>>): { Key: string; Value: string }[] {
  return Object.keys(tags)
    .sort()
    .map((Key) => ({ Key, Value: tags[Key] ?? '' }));
}

const enc = encodeURIComponent;

function sqlConnection(scheme: string, host: string, port: string, database: string, user: string, password: string): Connection {
  return { URL: `${scheme}://${enc(user)}:${enc(password)}@${host}:${port}/${enc(database)}`, USER: user, PASS: password, HOST: host, PORT: port, NAME: database };
}

function redisConnection(tls: boolean, host: string, port: string, user: string, password: string): Connection {
  const auth = password ? `${enc(user)}:${enc(password)}@` : '';
  return { URL: `${tls ? 'rediss' : 'redis'}://${auth}${host}:${port}`, USER: user, PASS: password, HOST: host, PORT: port, NAME: '' };
}
