/**
 * The managed-resource provisioner: CloudFormation, EKS and Secrets Manager are mocked clients (no
 * AWS account is reachable here); the CloudFormation mock is scripted to keep stacks and move
 * them through their statuses as CloudFormation would, one status per look. The connection
 * Secrets go to the Kubernetes API test double through the node:https client the step Lambdas
 * use. The renderer is a small one written here (the real one is another module's).
 */
import { CloudFormationClient, CloudFormationServiceException, CreateStackCommand, DescribeStackEventsCommand, DescribeStacksCommand, ListStacksCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import type { CreateStackCommandInput, Output, StackEvent, Tag, UpdateStackCommandInput } from '@aws-sdk/client-cloudformation';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudFormationResourceProvisioner, CONNECTION_SECRET_MANAGER, ManagedResourceError, ClusterNetworkError, ResourceRenameRefusedError, ResourceStackFailedError, TEMPLATE_BODY_LIMIT } from '../../lib/aws/adapters/cloudformation-provisioner';
import type { CloudFormationProvisionerOptions, ManagedResourceRenderer, RdsInstance } from '../../lib/aws/adapters/cloudformation-provisioner';
import { RackProvisioner } from '../../lib/aws/adapters/rack-provisioner';
import { RESOURCE_OUTPUTS, RESOURCE_STACK_TAGS, resourceStackName } from '../../lib/aws/resources/managed-resource';
import { HttpsKubernetesApi } from '../../lib/kubernetes/api/https-api';
import { KubernetesApplier } from '../../lib/kubernetes/apply';
import type { Resource } from '../../lib/manifest';
import type { Provisioner } from '../../lib/pipeline/ports/runtime';
import { deploy, localPipeline, types } from '../support/local-pipeline';
import { KubeApiTestDouble } from '../support/kube-api-double';

const cloudformation = mockClient(CloudFormationClient);
const eks = mockClient(EKSClient);
const secrets = mockClient(SecretsManagerClient);

/** The master password RDS keeps in Secrets Manager; characters that need encoding in a URL on purpose. */
const PASSWORD = 'p@ss/w:rd?#s3cr3t';
const SECRET_ARN = (resource: string): string => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!${resource}-AbCdEf`;
const ROLE = 'arn:aws:iam::123456789012:role/slipway-resources-cfn';
const SUBNETS = ['subnet-aaa', 'subnet-bbb', 'subnet-ccc'];

function validationError(message: string): CloudFormationServiceException {
  return new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
}

// ---- A renderer small enough to read: one DB instance (or cache) whose properties are the options ----

const TYPES: Readonly<Record<string, string>> = {
  'rds-postgres': 'AWS::RDS::DBInstance',
  'rds-mysql': 'AWS::RDS::DBInstance',
  'rds-mariadb': 'AWS::RDS::DBInstance',
  'elasticache-redis': 'AWS::ElastiCache::ReplicationGroup',
  'elasticache-memcached': 'AWS::ElastiCache::CacheCluster',
};

const render: ManagedResourceRenderer = {
  renderResourceStack: ({ rack, app, resource, network }) => ({
    stackName: resourceStackName(rack, app, resource.name),
    template: {
      AWSTemplateFormatVersion: '2010-09-09',
      Resources: {
        SubnetGroup: { Type: 'AWS::RDS::DBSubnetGroup', Properties: { SubnetIds: network.subnetIds } },
        Instance: { Type: TYPES[resource.type], Properties: { ...resource.options, VPCSecurityGroups: [network.nodeSecurityGroupId] } },
      },
    },
    tags: { [RESOURCE_STACK_TAGS.rack]: rack, [RESOURCE_STACK_TAGS.app]: app, [RESOURCE_STACK_TAGS.resource]: resource.name, [RESOURCE_STACK_TAGS.type]: resource.type },
  }),
  adoptedResource: (resource) => (resource.options.import ? { identifier: resource.options.import } : undefined),
};

// ---- The scripted CloudFormation: stacks, statuses, events and outputs behind the mocked client ----

interface ScriptedStack {
  readonly name: string;
  status: string;
  template: string;
  previousTemplate?: string;
  tags: Tag[];
  outputs: Output[];
  /** Oldest first (DescribeStackEvents answers newest first). */
  readonly events: StackEvent[];
  readonly termination: boolean;
  /** How the operation in progress ends, once a look has seen it in progress. */
  pending?: { readonly failure?: Failure };
}

interface Failure {
  readonly logicalId: string;
  readonly reason: string;
}

class ScriptedCloudFormation {
  readonly stacks = new Map<string, ScriptedStack>();
  private nextFailure?: Failure;
  private clock = Date.UTC(2025, 0, 1);

  /** The next create or update ends in failure, caused by this resource, with this reason. */
  failNextOperation(failure: Failure): void {
    this.nextFailure = failure;
  }

  /** A stack as an earlier deploy (or someone else) left it. */
  put(stack: { name: string; status: string; tags: Record<string, string>; template?: string }): void {
    this.stacks.set(stack.name, {
      name: stack.name,
      status: stack.status,
      template: stack.template ?? '{}',
      tags: Object.entries(stack.tags).map(([Key, Value]) => ({ Key, Value })),
      outputs: outputsFor(stack.name, stack.tags[RESOURCE_STACK_TAGS.type] ?? ''),
      events: [],
      termination: true,
    });
  }

  install(): void {
    cloudformation.on(DescribeStacksCommand).callsFake((input: { StackName?: string }) => {
      const stack = this.stacks.get(input.StackName ?? '');
      if (!stack) throw validationError(`Stack with id ${input.StackName} does not exist`);
      const view = { StackName: stack.name, StackId: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${stack.name}/1`, StackStatus: stack.status, Tags: stack.tags, Outputs: stack.outputs, EnableTerminationProtection: stack.termination, CreationTime: new Date(this.clock) };
      this.advance(stack);
      return { Stacks: [view] };
    });
    cloudformation.on(CreateStackCommand).callsFake((input: CreateStackCommandInput) => {
      const name = input.StackName ?? '';
      if (this.stacks.has(name)) throw new CloudFormationServiceException({ name: 'AlreadyExistsException', $fault: 'client', $metadata: {}, message: `Stack [${name}] already exists` });
      const stack: ScriptedStack = { name, status: 'CREATE_IN_PROGRESS', template: input.TemplateBody ?? '', tags: input.Tags ?? [], outputs: [], events: [], termination: input.EnableTerminationProtection ?? false };
      this.stacks.set(name, stack);
      this.begin(stack, 'CREATE_IN_PROGRESS', input.ClientRequestToken);
      return { StackId: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${name}/1` };
    });
    cloudformation.on(UpdateStackCommand).callsFake((input: UpdateStackCommandInput) => {
      const stack = this.stacks.get(input.StackName ?? '');
      if (!stack) throw validationError(`Stack [${input.StackName}] does not exist`);
      if (stack.status.endsWith('_IN_PROGRESS')) throw validationError(`Stack:${stack.name} is in ${stack.status} state and can not be updated.`);
      if (stack.template === input.TemplateBody && JSON.stringify(stack.tags) === JSON.stringify(input.Tags)) throw validationError('No updates are to be performed.');
      stack.previousTemplate = stack.template;
      stack.template = input.TemplateBody ?? '';
      stack.tags = input.Tags ?? stack.tags;
      stack.status = 'UPDATE_IN_PROGRESS';
      this.begin(stack, 'UPDATE_IN_PROGRESS', input.ClientRequestToken);
      return { StackId: stack.name };
    });
    cloudformation.on(DescribeStackEventsCommand).callsFake((input: { StackName?: string }) => ({ StackEvents: [...(this.stacks.get(input.StackName ?? '')?.events ?? [])].reverse() }));
    cloudformation.on(ListStacksCommand).callsFake(() => ({
      StackSummaries: [...this.stacks.values()].map((s) => ({ StackName: s.name, StackStatus: s.status, CreationTime: new Date(this.clock) })),
    }));
  }

  private begin(stack: ScriptedStack, status: string, token: string | undefined): void {
    this.event(stack, stack.name, 'AWS::CloudFormation::Stack', status, 'User Initiated', token);
    this.event(stack, 'Instance', 'AWS::RDS::DBInstance', status, undefined, token);
    stack.pending = this.nextFailure ? { failure: this.nextFailure } : {};
    this.nextFailure = undefined;
  }

  private advance(stack: ScriptedStack): void {
    const pending = stack.pending;
    if (!pending) return;
    stack.pending = undefined;
    const token = stack.events.at(-1)?.ClientRequestToken;
    const creating = stack.status === 'CREATE_IN_PROGRESS';
    if (!pending.failure) {
      stack.status = creating ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE';
      this.event(stack, 'Instance', 'AWS::RDS::DBInstance', stack.status, undefined, token);
      this.event(stack, stack.name, 'AWS::CloudFormation::Stack', stack.status, undefined, token);
      const type = stack.tags.find((t) => t.Key === RESOURCE_STACK_TAGS.type)?.Value ?? '';
      stack.outputs = outputsFor(stack.name, type);
      return;
    }
    const { logicalId, reason } = pending.failure;
    if (creating) {
      this.event(stack, logicalId, 'AWS::RDS::DBInstance', 'CREATE_FAILED', reason, token);
      this.event(stack, 'SubnetGroup', 'AWS::RDS::DBSubnetGroup', 'CREATE_FAILED', 'Resource creation cancelled', token);
      this.event(stack, stack.name, 'AWS::CloudFormation::Stack', 'ROLLBACK_IN_PROGRESS', `The following resource(s) failed to create: [${logicalId}, SubnetGroup]. Rollback requested by user.`, token);
      stack.status = 'ROLLBACK_COMPLETE';
    } else {
      this.event(stack, logicalId, 'AWS::RDS::DBInstance', 'UPDATE_FAILED', reason, token);
      this.event(stack, stack.name, 'AWS::CloudFormation::Stack', 'UPDATE_ROLLBACK_IN_PROGRESS', `The following resource(s) failed to update: [${logicalId}].`, token);
      stack.template = stack.previousTemplate ?? stack.template;
      stack.status = 'UPDATE_ROLLBACK_COMPLETE';
    }
    this.event(stack, stack.name, 'AWS::CloudFormation::Stack', stack.status, undefined, token);
  }

  private event(stack: ScriptedStack, logicalId: string, type: string, status: string, reason: string | undefined, token: string | undefined): void {
    this.clock += 1000;
    stack.events.push({
      StackName: stack.name,
      StackId: stack.name,
      EventId: `${stack.events.length}`,
      LogicalResourceId: logicalId,
      ResourceType: type,
      ResourceStatus: status as StackEvent['ResourceStatus'],
      Timestamp: new Date(this.clock),
      ...(reason ? { ResourceStatusReason: reason } : {}),
      ...(token ? { ClientRequestToken: token } : {}),
    });
  }
}

function outputsFor(stackName: string, type: string): Output[] {
  const resource = stackName.split('-').at(-1) ?? '';
  const host = `${stackName}.abc123.eu-west-1.rds.amazonaws.com`;
  if (type.startsWith('rds-')) {
    return [
      { OutputKey: RESOURCE_OUTPUTS.host, OutputValue: host },
      { OutputKey: RESOURCE_OUTPUTS.port, OutputValue: type === 'rds-postgres' ? '5432' : '3306' },
      { OutputKey: RESOURCE_OUTPUTS.database, OutputValue: 'app' },
      { OutputKey: RESOURCE_OUTPUTS.username, OutputValue: 'slipway' },
      { OutputKey: RESOURCE_OUTPUTS.secretArn, OutputValue: SECRET_ARN(resource) },
    ];
  }
  const port = type === 'elasticache-redis' ? '6379' : '11211';
  return [
    { OutputKey: RESOURCE_OUTPUTS.host, OutputValue: `${stackName}.xyz.cache.amazonaws.com` },
    { OutputKey: RESOURCE_OUTPUTS.port, OutputValue: port },
  ];
}

// ---- Shared setup ----

let kube: KubeApiTestDouble;
let racks = 0;
let scripted: ScriptedCloudFormation;

beforeAll(async () => {
  kube = await KubeApiTestDouble.start();
});
afterAll(async () => {
  await kube.close();
});

beforeEach(() => {
  cloudformation.reset();
  eks.reset();
  secrets.reset();
  scripted = new ScriptedCloudFormation();
  scripted.install();
  eks.on(DescribeClusterCommand).resolves({ cluster: { name: 'slipway-cluster', resourcesVpcConfig: { vpcId: 'vpc-123', subnetIds: SUBNETS, clusterSecurityGroupId: 'sg-nodes' } } });
  secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'slipway', password: PASSWORD }) });
});

function provisioner(options: Partial<CloudFormationProvisionerOptions> & { rds?: RdsInstance[]; privateSubnets?: string[] } = {}): { provisioner: CloudFormationResourceProvisioner; rack: string; notes: string[] } {
  const rack = `rack${++racks}`;
  const notes: string[] = [];
  const rds = options.rds ? { describeInstance: (id: string) => Promise.resolve(options.rds?.find((i) => i.identifier === id)) } : undefined;
  const made = new CloudFormationResourceProvisioner(
    { cloudformation: new CloudFormationClient({ region: 'eu-west-1' }), eks: new EKSClient({ region: 'eu-west-1' }), secrets: new SecretsManagerClient({ region: 'eu-west-1' }), ...(rds ? { rds } : {}), ...(options.privateSubnets ? { subnets: { privateSubnets: (_vpc: string, ids: readonly string[]) => Promise.resolve(ids.filter((id) => options.privateSubnets?.includes(id))) } } : {}) },
    {
      rack,
      cluster: 'slipway-cluster',
      render,
      kubernetes: new HttpsKubernetesApi(() => Promise.resolve({ server: kube.url, token: kube.token })),
      serviceRoleArn: ROLE,
      log: (note) => notes.push(note),
      now: () => 1_750_000_000_000,
      ...options,
    },
  );
  return { provisioner: made, rack, notes };
}

const db = (options: Record<string, string> = {}, name = 'db', type = 'rds-postgres'): Resource => ({ name, type, options });

function connectionSecret(rack: string, app: string, resource: string): Record<string, string> | undefined {
  const secret = kube.find({ apiVersion: 'v1', kind: 'Secret', namespace: `${rack}-${app}`, name: `resource-${resource}-connection` });
  if (!secret) return undefined;
  return Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

function createInput(index = 0): CreateStackCommandInput {
  const input = cloudformation.commandCalls(CreateStackCommand)[index]?.args[0].input;
  if (!input) throw new Error(`no CreateStack call ${index}`);
  return input;
}

/** Call ensure until it is ready or fails (as the machine's wait loop does), at most `max` times. */
async function untilReady(p: Provisioner, app: string, resources: Resource[], env: Record<string, string> = {}, max = 5): Promise<Awaited<ReturnType<Provisioner['ensure']>>[]> {
  const answers: Awaited<ReturnType<Provisioner['ensure']>>[] = [];
  for (let i = 0; i < max; i++) {
    const answer = await p.ensure(app, resources, env);
    answers.push(answer);
    if (answer.ready) break;
  }
  return answers;
}

function everyAwsRequest(): string {
  return JSON.stringify([...cloudformation.calls(), ...eks.calls(), ...secrets.calls()].map((c) => c.args[0].input));
}

describe('CloudFormationResourceProvisioner against mocked AWS clients (a scripted CloudFormation) and the Kubernetes API test double', () => {
  it('creates a stack with the rendered template, tags, termination protection and service role, then waits on it', async () => {
    const { provisioner: p, rack } = provisioner();
    const first = await p.ensure('shop', [db({ storage: '20' }), { name: 'cache', type: 'redis', options: {} }], { API_KEY: 'x' });
    expect(first).toEqual({ ready: false, waitingOn: ['db (CREATE_IN_PROGRESS)'], notes: [] });
    const input = createInput();
    const stackName = `slipway-${rack}-shop-db`;
    expect(input).toMatchObject({ StackName: stackName, EnableTerminationProtection: true, OnFailure: 'ROLLBACK', RoleARN: ROLE });
    expect(JSON.parse(input.TemplateBody ?? '')).toEqual(render.renderResourceStack({ rack, app: 'shop', resource: db({ storage: '20' }), network: { vpcId: 'vpc-123', subnetIds: SUBNETS, nodeSecurityGroupId: 'sg-nodes' } }).template);
    expect(input.Tags).toEqual([
      { Key: 'slipway:app', Value: 'shop' },
      { Key: 'slipway:rack', Value: rack },
      { Key: 'slipway:resource', Value: 'db' },
      { Key: 'slipway:resource-type', Value: 'rds-postgres' },
    ]);
    expect(input.ClientRequestToken).toMatch(/^slipway-[0-9a-f]{32}-[0-9a-z]+$/);
    // The containerised `cache` is the Kubernetes provisioner's: no stack for it.
    expect(cloudformation.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input.StackName)).toEqual([stackName]);
    // Nothing is linked before the stack is ready.
    expect(connectionSecret(rack, 'shop', 'db')).toBeUndefined();
  });

  it('waits while the stack is in progress, then, once CloudFormation has nothing to update, writes the connection Secret', async () => {
    const { provisioner: p, rack } = provisioner();
    const answers = await untilReady(p, 'shop', [db()]);
    expect(answers.map((a) => a.waitingOn)).toEqual([['db (CREATE_IN_PROGRESS)'], ['db (CREATE_IN_PROGRESS)'], []]);
    expect(answers.at(-1)?.ready).toBe(true);
    expect(cloudformation.commandCalls(CreateStackCommand)).toHaveLength(1);
    // The settled stack is updated with the same template: CloudFormation's "No updates" is the all-clear.
    expect(cloudformation.commandCalls(UpdateStackCommand)).toHaveLength(1);
    expect(secrets.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: SECRET_ARN('db') });
    const host = `slipway-${rack}-shop-db.abc123.eu-west-1.rds.amazonaws.com`;
    expect(connectionSecret(rack, 'shop', 'db')).toEqual({
      URL: `postgres://slipway:${encodeURIComponent(PASSWORD)}@${host}:5432/app`,
      USER: 'slipway',
      PASS: PASSWORD,
      HOST: host,
      PORT: '5432',
      NAME: 'app',
    });
    // The password went from Secrets Manager to the Secret only: not into a request or an answer.
    expect(everyAwsRequest()).not.toContain('s3cr3t');
    expect(JSON.stringify(answers)).not.toContain('s3cr3t');
  });

  it('labels the connection Secret so that a release\u2019s prune of the app\u2019s objects leaves it', async () => {
    const { provisioner: p, rack } = provisioner();
    await untilReady(p, 'shop', [db()]);
    const secret = kube.find({ apiVersion: 'v1', kind: 'Secret', namespace: `${rack}-shop`, name: 'resource-db-connection' });
    expect((secret?.metadata as { labels: Record<string, string> }).labels).toEqual({ 'app.kubernetes.io/managed-by': CONNECTION_SECRET_MANAGER, 'slipway.dev/app': 'shop', 'slipway.dev/resource': 'db' });
    const api = new HttpsKubernetesApi(() => Promise.resolve({ server: kube.url, token: kube.token }));
    await new KubernetesApplier(api).prune([], { app: 'shop', namespace: `${rack}-shop` });
    expect(connectionSecret(rack, 'shop', 'db')).toBeDefined();
  });

  it('updates the stack when the options change, and is ready once the update completes', async () => {
    const { provisioner: p } = provisioner();
    await untilReady(p, 'shop', [db({ storage: '20' })]);
    cloudformation.resetHistory();
    const answers = await untilReady(p, 'shop', [db({ storage: '50' })]);
    expect(answers.map((a) => a.waitingOn)).toEqual([['db (UPDATE_IN_PROGRESS)'], ['db (UPDATE_IN_PROGRESS)'], []]);
    const updates = cloudformation.commandCalls(UpdateStackCommand).map((c) => c.args[0].input);
    expect(updates[0]).toMatchObject({ RoleARN: ROLE, Tags: expect.arrayContaining([{ Key: 'slipway:resource', Value: 'db' }]) as unknown });
    expect(JSON.parse(updates[0]?.TemplateBody ?? '')).toMatchObject({ Resources: { Instance: { Properties: { storage: '50' } } } });
    expect(cloudformation.commandCalls(CreateStackCommand)).toHaveLength(0);
  });

  it('fails with the first failed event\u2019s reason when a creation rolls back, and says how to go on', async () => {
    const { provisioner: p, rack } = provisioner();
    scripted.failNextOperation({ logicalId: 'Instance', reason: 'Cannot find version 9.1 for postgres (Service: Rds, Status Code: 400)' });
    await p.ensure('shop', [db({ version: '9.1' })], {});
    await p.ensure('shop', [db({ version: '9.1' })], {});
    const error = await p.ensure('shop', [db({ version: '9.1' })], {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceStackFailedError);
    const message = (error as Error).message;
    expect(message).toContain(`stack slipway-${rack}-shop-db is ROLLBACK_COMPLETE: Instance (AWS::RDS::DBInstance): Cannot find version 9.1 for postgres`);
    expect(message).not.toContain('Resource creation cancelled');
    expect(message).toContain('delete-stack');
    expect(connectionSecret(rack, 'shop', 'db')).toBeUndefined();
  });

  it('fails when this configuration\u2019s update rolled back; another configuration is tried', async () => {
    const { provisioner: p } = provisioner();
    await untilReady(p, 'shop', [db({ storage: '20' })]);
    scripted.failNextOperation({ logicalId: 'Instance', reason: 'Invalid storage size for engine name postgres and storage type gp2: 5' });
    await p.ensure('shop', [db({ storage: '5' })], {});
    await p.ensure('shop', [db({ storage: '5' })], {});
    const error = await p.ensure('shop', [db({ storage: '5' })], {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RESOURCE_STACK_FAILED', status: 'UPDATE_ROLLBACK_COMPLETE' });
    expect((error as Error).message).toContain('Instance (AWS::RDS::DBInstance): Invalid storage size');
    expect((error as Error).message).toContain('previous settings still serve');
    // A later deploy with other options goes ahead from the rolled-back stack.
    cloudformation.resetHistory();
    expect(await p.ensure('shop', [db({ storage: '30' })], {})).toMatchObject({ ready: false, waitingOn: ['db (UPDATE_IN_PROGRESS)'] });
    // ... and that update completes.
    const back = await untilReady(p, 'shop', [db({ storage: '30' })]);
    expect(back.at(-1)?.ready).toBe(true);
  });

  it('reports a stack that needs a person (a failed rollback) without touching it', async () => {
    const { provisioner: p, rack } = provisioner();
    scripted.put({ name: `slipway-${rack}-shop-db`, status: 'UPDATE_ROLLBACK_FAILED', tags: { [RESOURCE_STACK_TAGS.type]: 'rds-postgres' } });
    await expect(p.ensure('shop', [db()], {})).rejects.toThrow(/UPDATE_ROLLBACK_FAILED.*continue it there/);
    expect(cloudformation.commandCalls(UpdateStackCommand)).toHaveLength(0);
  });

  it('leaves a resource alone when the environment sets its <NAME>_URL (no stack, no Secret)', async () => {
    const { provisioner: p, rack } = provisioner();
    const answer = await p.ensure('shop', [db({}, 'main-db')], { MAIN_DB_URL: 'postgres://u:p@elsewhere:5432/app' });
    expect(answer).toEqual({ ready: true, waitingOn: [], notes: [] });
    expect(cloudformation.calls()).toHaveLength(0);
    expect(eks.calls()).toHaveLength(0);
    expect(connectionSecret(rack, 'shop', 'main-db')).toBeUndefined();
  });

  it('asks EKS for the network once per instance, and refuses a cluster with fewer than two subnets', async () => {
    const { provisioner: p } = provisioner();
    await p.ensure('shop', [db()], {});
    await p.ensure('shop', [db()], {});
    expect(eks.commandCalls(DescribeClusterCommand).map((c) => c.args[0].input)).toEqual([{ name: 'slipway-cluster' }]);

    eks.reset();
    cloudformation.resetHistory();
    eks.on(DescribeClusterCommand).resolves({ cluster: { resourcesVpcConfig: { vpcId: 'vpc-1', subnetIds: ['subnet-only'], clusterSecurityGroupId: 'sg-nodes' } } });
    const error = await provisioner()
      .provisioner.ensure('shop', [db()], {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterNetworkError);
    expect((error as Error).message).toContain('has 1 subnet(s), and RDS and ElastiCache subnet groups need at least two');
    expect(cloudformation.commandCalls(CreateStackCommand)).toHaveLength(0);
  });

  it('puts resources in the cluster\u2019s private subnets only, and says so when fewer than two are private', async () => {
    const { provisioner: p } = provisioner({ privateSubnets: ['subnet-aaa', 'subnet-ccc'] });
    await p.ensure('shop', [db()], {});
    const template = JSON.parse(cloudformation.commandCalls(CreateStackCommand)[0]?.args[0].input.TemplateBody ?? '{}') as { Resources: { SubnetGroup: { Properties: { SubnetIds: string[] } } } };
    expect(template.Resources.SubnetGroup.Properties.SubnetIds).toEqual(['subnet-aaa', 'subnet-ccc']);
    const error = await provisioner({ privateSubnets: ['subnet-bbb'] })
      .provisioner.ensure('shop', [db()], {})
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain('has 1 private subnet(s) (no route to an internet gateway)');
  });

  it('refuses a template larger than CloudFormation accepts in a request', async () => {
    const { provisioner: p } = provisioner();
    const error = await p.ensure('shop', [db({ padding: 'x'.repeat(TEMPLATE_BODY_LIMIT) })], {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RESOURCE_TEMPLATE_TOO_LARGE' });
    expect((error as Error).message).toMatch(/its CloudFormation template is \d+ bytes, more than the 51200/);
    expect(cloudformation.commandCalls(CreateStackCommand)).toHaveLength(0);
  });

  it('refuses a rename (a dropped resource with a stack and a new one of its type) before creating anything', async () => {
    const { provisioner: p, rack } = provisioner();
    scripted.put({ name: `slipway-${rack}-shop-db`, status: 'UPDATE_COMPLETE', tags: { [RESOURCE_STACK_TAGS.rack]: rack, [RESOURCE_STACK_TAGS.app]: 'shop', [RESOURCE_STACK_TAGS.resource]: 'db', [RESOURCE_STACK_TAGS.type]: 'rds-postgres' } });
    const error = await p.ensure('shop', [db({}, 'maindb')], {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceRenameRefusedError);
    expect((error as Error).message).toContain(`maindb (rds-postgres) would be created while db, also rds-postgres, keeps its data in stack slipway-${rack}-shop-db`);
    expect((error as Error).message).toContain('keep the old name');
    expect(cloudformation.commandCalls(CreateStackCommand)).toHaveLength(0);
  });

  it('leaves a dropped resource\u2019s stack in place and notes it; another app\u2019s stacks with the same prefix are not the app\u2019s', async () => {
    const { provisioner: p, rack } = provisioner();
    scripted.put({ name: `slipway-${rack}-shop-cache`, status: 'CREATE_COMPLETE', tags: { [RESOURCE_STACK_TAGS.rack]: rack, [RESOURCE_STACK_TAGS.app]: 'shop', [RESOURCE_STACK_TAGS.resource]: 'cache', [RESOURCE_STACK_TAGS.type]: 'elasticache-redis' } });
    scripted.put({ name: `slipway-${rack}-shop-eu-db`, status: 'CREATE_COMPLETE', tags: { [RESOURCE_STACK_TAGS.rack]: rack, [RESOURCE_STACK_TAGS.app]: 'shop-eu', [RESOURCE_STACK_TAGS.resource]: 'db', [RESOURCE_STACK_TAGS.type]: 'rds-postgres' } });
    const answers = await untilReady(p, 'shop', [db()]);
    const note = `resource cache (elasticache-redis) is no longer in convox.yml; its stack slipway-${rack}-shop-cache stays with its data until it is deleted explicitly`;
    expect(answers[0]?.ready).toBe(false);
    expect(answers.at(-1)).toMatchObject({ ready: true, notes: [note] });
    expect(scripted.stacks.has(`slipway-${rack}-shop-cache`)).toBe(true);
  });

  it('links Redis with rediss:// unless encryption is off (by its option, or an output of its stack), and memcached', async () => {
    const { provisioner: p, rack } = provisioner();
    const host = `slipway-${rack}-shop-cache.xyz.cache.amazonaws.com`;
    await untilReady(p, 'shop', [db({}, 'cache', 'elasticache-redis'), db({}, 'mem', 'elasticache-memcached')]);
    expect(connectionSecret(rack, 'shop', 'cache')).toEqual({ URL: `rediss://${host}:6379`, USER: '', PASS: '', HOST: host, PORT: '6379', NAME: '' });
    expect(connectionSecret(rack, 'shop', 'mem')).toMatchObject({ URL: `memcached://slipway-${rack}-shop-mem.xyz.cache.amazonaws.com:11211`, PORT: '11211', PASS: '' });

    await untilReady(p, 'shop', [db({ encrypted: 'false' }, 'cache', 'elasticache-redis')]);
    expect(connectionSecret(rack, 'shop', 'cache')?.URL).toBe(`redis://${host}:6379`);

    // An auth token in Secrets Manager goes into the URL; the stack's own word on TLS wins over the option.
    const stack = scripted.stacks.get(`slipway-${rack}-shop-cache`);
    stack?.outputs.push({ OutputKey: 'TransitEncryption', OutputValue: 'true' }, { OutputKey: RESOURCE_OUTPUTS.secretArn, OutputValue: SECRET_ARN('cache') });
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN('cache') }).resolves({ SecretString: 't0ken/with+chars' });
    await p.ensure('shop', [db({ encrypted: 'false' }, 'cache', 'elasticache-redis')], {});
    expect(connectionSecret(rack, 'shop', 'cache')).toMatchObject({ URL: `rediss://:${encodeURIComponent('t0ken/with+chars')}@${host}:6379`, PASS: 't0ken/with+chars' });
  });

  describe('adopting an RDS instance (options.import; DescribeDBInstances is a test double)', () => {
    const instance: RdsInstance = { identifier: 'legacy-db', engine: 'postgres', status: 'available', host: 'legacy-db.abc.eu-west-1.rds.amazonaws.com', port: 5432, database: 'legacy', username: 'admin', masterUserSecretArn: SECRET_ARN('legacy') };

    it('makes no stack and links the instance with its RDS-managed password', async () => {
      const { provisioner: p, rack } = provisioner({ rds: [instance] });
      secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN('legacy') }).resolves({ SecretString: JSON.stringify({ username: 'admin', password: PASSWORD }) });
      expect(await p.ensure('shop', [db({ import: 'legacy-db' })], {})).toEqual({ ready: true, waitingOn: [], notes: [] });
      // Only the look for dropped stacks: the adopted instance has none.
      expect(cloudformation.calls().map((c) => c.args[0].constructor.name)).toEqual(['ListStacksCommand']);
      expect(eks.calls()).toHaveLength(0);
      expect(connectionSecret(rack, 'shop', 'db')).toMatchObject({ URL: `postgres://admin:${encodeURIComponent(PASSWORD)}@legacy-db.abc.eu-west-1.rds.amazonaws.com:5432/legacy`, NAME: 'legacy', USER: 'admin' });
    });

    it('refuses an instance whose password RDS does not manage, and says what to do instead', async () => {
      const { masterUserSecretArn: _, ...withoutManagedPassword } = instance;
      const { provisioner: p } = provisioner({ rds: [withoutManagedPassword] });
      await expect(p.ensure('shop', [db({ import: 'legacy-db' })], {})).rejects.toThrow(/Turn on RDS-managed passwords.*or set DB_URL/);
    });

    it('refuses an identifier with no instance, and a rack without RDS access', async () => {
      await expect(provisioner({ rds: [] }).provisioner.ensure('shop', [db({ import: 'nope' })], {})).rejects.toThrow(/no RDS instance with that identifier/);
      await expect(provisioner().provisioner.ensure('shop', [db({ import: 'legacy-db' })], {})).rejects.toBeInstanceOf(ManagedResourceError);
    });
  });
});

describe('RackProvisioner (the two provisioners are test doubles)', () => {
  const fixed = (ready: boolean, waitingOn: string[], seen: string[], label: string): Provisioner => ({
    ensure: () => {
      seen.push(label);
      return Promise.resolve({ ready, waitingOn });
    },
  });

  it('is ready when both are, waits on what either waits on, and asks the cluster first', async () => {
    const seen: string[] = [];
    expect(await new RackProvisioner(fixed(true, [], seen, 'cluster'), fixed(true, [], seen, 'aws')).ensure('shop', [], {})).toEqual({ ready: true, waitingOn: [] });
    expect(await new RackProvisioner(fixed(false, ['cache'], seen, 'cluster'), fixed(false, ['db (CREATE_IN_PROGRESS)'], seen, 'aws')).ensure('shop', [], {})).toEqual({
      ready: false,
      waitingOn: ['cache', 'db (CREATE_IN_PROGRESS)'],
    });
    expect(await new RackProvisioner(fixed(true, [], seen, 'cluster'), fixed(false, ['db (UPDATE_IN_PROGRESS)'], seen, 'aws')).ensure('shop', [], {})).toMatchObject({ ready: false });
    expect(seen).toEqual(['cluster', 'aws', 'cluster', 'aws', 'cluster', 'aws']);
  });
});

const MANAGED_MANIFEST = (resource = 'db', options = '      storage: "20"\n'): string =>
  `services:\n  web:\n    build: .\n    port: 3000\n    health: /health\n    resources:\n      - ${resource}\nresources:\n  ${resource}:\n    type: rds-postgres\n    options:\n${options}`;

describe('the Deploy state machine (synthesised ASL, local runner) with the CloudFormation provisioner: AWS clients mocked, Kubernetes API test double, builder and runtime doubles', () => {
  async function pipeline(): Promise<{ r: Awaited<ReturnType<typeof localPipeline>>; rack: string }> {
    const { provisioner: p, rack } = provisioner();
    return { r: await localPipeline(undefined, { provisioner: p }), rack };
  }

  it('(a) creates the stack, waits through CREATE_IN_PROGRESS, links the resource and deploys', async () => {
    const { r, rack } = await pipeline();
    const outcome = await deploy(r, 'v1', { manifest: MANAGED_MANIFEST() });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(cloudformation.commandCalls(CreateStackCommand)).toHaveLength(1);
    // Provision ran three times: the create, a look at CREATE_IN_PROGRESS, then CREATE_COMPLETE.
    expect(cloudformation.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input.StackName)).toEqual([`slipway-${rack}-shop-db`, `slipway-${rack}-shop-db`, `slipway-${rack}-shop-db`]);
    expect(Object.keys(connectionSecret(rack, 'shop', 'db') ?? {}).sort()).toEqual(['HOST', 'NAME', 'PASS', 'PORT', 'URL', 'USER']);
    expect(types(r.events).filter((t) => t.startsWith('Resource'))).toEqual(['Resources Provisioned']);
    expect(r.runtime.applied).toHaveLength(1);
    expect(JSON.stringify(r.events)).not.toContain('s3cr3t');
  });

  it('(b) updates the stack when a second deploy changes an option', async () => {
    const { r } = await pipeline();
    await deploy(r, 'v1', { manifest: MANAGED_MANIFEST() });
    cloudformation.resetHistory();
    const outcome = await deploy(r, 'v2', { manifest: MANAGED_MANIFEST('db', '      storage: "50"\n') });
    expect(outcome.status).toBe('SUCCEEDED');
    const updates = cloudformation.commandCalls(UpdateStackCommand).map((c) => JSON.parse(c.args[0].input.TemplateBody ?? '{}') as { Resources: { Instance: { Properties: Record<string, string> } } });
    expect(updates.map((u) => u.Resources.Instance.Properties.storage)).toEqual(['50', '50']);
    expect(r.runtime.applied).toHaveLength(2);
  });

  it('(c) goes straight on when nothing changed ("No updates are to be performed")', async () => {
    const { r } = await pipeline();
    await deploy(r, 'v1', { manifest: MANAGED_MANIFEST() });
    cloudformation.resetHistory();
    const outcome = await deploy(r, 'v2', { manifest: MANAGED_MANIFEST() });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(cloudformation.commandCalls(UpdateStackCommand)).toHaveLength(1);
    expect(cloudformation.commandCalls(CreateStackCommand)).toHaveLength(0);
  });

  it('(d) makes no stack when the environment sets DB_URL', async () => {
    const { r, rack } = await pipeline();
    await r.env.set('shop', { API_KEY: 'k3y-value-never-shown', DB_URL: 'postgres://app:pw@db.example.com:5432/app' });
    const outcome = await deploy(r, 'v1', { manifest: MANAGED_MANIFEST() });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(cloudformation.calls()).toHaveLength(0);
    expect(connectionSecret(rack, 'shop', 'db')).toBeUndefined();
  });

  it('(e) fails a deploy that renames a managed resource, and the previous release keeps serving', async () => {
    const { r } = await pipeline();
    await deploy(r, 'v1', { manifest: MANAGED_MANIFEST() });
    const first = (await r.store.getApp('shop'))?.release;
    r.events.length = 0;
    const outcome = await deploy(r, 'v2', { manifest: MANAGED_MANIFEST('maindb') });
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'ProvisionFailed' });
    const failed = r.events.find((e) => e['detail-type'] === 'Resource Provisioning Failed');
    expect(failed?.detail.reason).toContain('refusing what looks like a renamed resource: maindb (rds-postgres) would be created while db');
    expect((await r.store.getApp('shop'))?.release).toBe(first);
    expect(r.runtime.applied).toEqual([first]);
    expect(cloudformation.commandCalls(CreateStackCommand)).toHaveLength(1);
  });

  it('(f) fails a deploy whose stack creation fails, with CloudFormation\u2019s reason, and rolls nothing out', async () => {
    const { r } = await pipeline();
    scripted.failNextOperation({ logicalId: 'Instance', reason: 'The requested DB instance class db.x9.huge is not available' });
    const outcome = await deploy(r, 'v1', { manifest: MANAGED_MANIFEST() });
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'ProvisionFailed' });
    const failed = r.events.find((e) => e['detail-type'] === 'Resource Provisioning Failed');
    expect(failed?.detail.reason).toContain('Instance (AWS::RDS::DBInstance): The requested DB instance class db.x9.huge is not available');
    expect(r.runtime.applied).toEqual([]);
    expect(await r.store.lockOf('shop')).toBeUndefined();
  });
});
