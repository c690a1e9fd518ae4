/**
 * Finding an AWS rack: rack `<name>` is the CloudFormation stack `Slipway-<name>` (bin/rack.ts) in
 * one region, and everything the CLI talks to is named by that stack's outputs. The CLI needs no
 * other configuration and no cluster credentials.
 */
import type { CloudFormationClient, Stack, StackStatus } from '@aws-sdk/client-cloudformation';
import { DescribeStacksCommand, ListStackResourcesCommand, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { SlipwayError } from '../../../errors';
import { EVENT_LOG_OUTPUT } from '../../../aws/rack-event-log';

/** Every rack stack's name starts with this (bin/rack.ts). */
export const RACK_STACK_PREFIX = 'Slipway-';

export function rackStackName(rack: string): string {
  return `${RACK_STACK_PREFIX}${rack}`;
}

/** The outputs the CLI reads (rack-stack.ts and rack-event-log.ts write them). */
export interface RackOutputs {
  readonly bundleBucket: string;
  readonly table: string;
  readonly eventBus: string;
  readonly cluster: string;
  readonly alertTopicArn?: string;
  readonly machines: { readonly Deploy: string; readonly Rollback: string; readonly Timer: string; readonly Cleanup: string };
  /** Absent on a rack deployed before the event log existed: `events()` then asks for a `cdk deploy`. */
  readonly eventLogGroup?: string;
}

/** What the CLI knows of a rack stack. */
export interface RackStackInfo {
  readonly name: string;
  readonly stackName: string;
  readonly stackId: string;
  readonly status: string;
  readonly region: string;
  /** From the stack id: `arn:<partition>:cloudformation:<region>:<account>:stack/...`. */
  readonly partition: string;
  readonly account: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly outputs: Readonly<Record<string, string>>;
}

export class RackNotFoundError extends SlipwayError {
  constructor(rack: string, region: string, cause?: unknown) {
    super(
      `no AWS rack ${rack} in ${region}: there is no CloudFormation stack ${rackStackName(rack)} there that your credentials can see. Check the region (--region, AWS_REGION or your profile's region) and the profile, or list racks with \`slipway racks\``,
      'RACK_NOT_FOUND',
      { rack, region, stack: rackStackName(rack) },
      { cause },
    );
  }
}

export class RackStackIncompleteError extends SlipwayError {
  constructor(rack: string, missing: readonly string[], status: string) {
    super(
      `AWS rack ${rack} (stack ${rackStackName(rack)}, ${status}) lacks the output${missing.length === 1 ? '' : 's'} ${missing.join(', ')}: the stack is still being created, failed, or was deployed by an older Slipway; run \`npx cdk deploy\` for it`,
      'RACK_STACK_INCOMPLETE',
      { rack, missing, status },
    );
  }
}

/** Stacks that are gone or never got made; ListStacks still lists them for 90 days. */
const GONE: ReadonlySet<string> = new Set<StackStatus>(['DELETE_COMPLETE']);

/** The racks in one region: every stack named `Slipway-<rack>` that is not deleted. */
export async function listRackStacks(cloudformation: CloudFormationClient, region: string): Promise<{ name: string; status: string; region: string }[]> {
  const racks: { name: string; status: string; region: string }[] = [];
  let token: string | undefined;
  do {
    const out = await cloudformation.send(new ListStacksCommand({ ...(token ? { NextToken: token } : {}) }));
    for (const s of out.StackSummaries ?? []) {
      if (!s.StackName?.startsWith(RACK_STACK_PREFIX) || GONE.has(s.StackStatus ?? '')) continue;
      racks.push({ name: s.StackName.slice(RACK_STACK_PREFIX.length), status: s.StackStatus ?? 'UNKNOWN', region });
    }
    token = out.NextToken;
  } while (token);
  return racks.sort((a, b) => a.name.localeCompare(b.name));
}

export async function describeRackStack(cloudformation: CloudFormationClient, rack: string, region: string): Promise<RackStackInfo> {
  let stack: Stack | undefined;
  try {
    stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: rackStackName(rack) }))).Stacks?.[0];
  } catch (e) {
    // CloudFormation answers an unknown stack with a ValidationError "Stack with id ... does not exist".
    if (e instanceof Error && e.name === 'ValidationError' && /does not exist/.test(e.message)) throw new RackNotFoundError(rack, region, e);
    throw e;
  }
  if (!stack?.StackId || GONE.has(stack.StackStatus ?? '')) throw new RackNotFoundError(rack, region);
  const arn = stack.StackId.split(':');
  return {
    name: rack,
    stackName: rackStackName(rack),
    stackId: stack.StackId,
    status: stack.StackStatus ?? 'UNKNOWN',
    region,
    partition: arn[1] ?? 'aws',
    account: arn[4] ?? '',
    parameters: Object.fromEntries((stack.Parameters ?? []).filter((p) => p.ParameterKey).map((p) => [p.ParameterKey as string, p.ParameterValue ?? ''])),
    outputs: Object.fromEntries((stack.Outputs ?? []).filter((o) => o.OutputKey).map((o) => [o.OutputKey as string, o.OutputValue ?? ''])),
  };
}

export function rackOutputs(info: RackStackInfo): RackOutputs {
  const o = info.outputs;
  const required = ['BundleBucketName', 'TableName', 'EventBusName', 'ClusterName', 'DeployMachineArn', 'RollbackMachineArn', 'TimerMachineArn', 'CleanupMachineArn'] as const;
  const missing = required.filter((k) => !o[k]);
  if (missing.length > 0) throw new RackStackIncompleteError(info.name, missing, info.status);
  const get = (k: (typeof required)[number]): string => o[k] as string;
  return {
    bundleBucket: get('BundleBucketName'),
    table: get('TableName'),
    eventBus: get('EventBusName'),
    cluster: get('ClusterName'),
    ...(o.AlertTopicArn ? { alertTopicArn: o.AlertTopicArn } : {}),
    machines: { Deploy: get('DeployMachineArn'), Rollback: get('RollbackMachineArn'), Timer: get('TimerMachineArn'), Cleanup: get('CleanupMachineArn') },
    ...(o[EVENT_LOG_OUTPUT] ? { eventLogGroup: o[EVENT_LOG_OUTPUT] } : {}),
  };
}

/**
 * The KMS key app environments are sealed with: the stack's `EnvKeyArn` output. A rack deployed
 * before that output existed is searched for it among the stack's resources: the one
 * AWS::KMS::Key of the Stores construct (logical id `StoresKey...`; the cluster has a key of its own).
 */
export async function envKeyId(cloudformation: CloudFormationClient, info: RackStackInfo): Promise<string> {
  const fromOutput = info.outputs.EnvKeyArn;
  if (fromOutput) return fromOutput;
  let token: string | undefined;
  do {
    const out = await cloudformation.send(new ListStackResourcesCommand({ StackName: info.stackName, ...(token ? { NextToken: token } : {}) }));
    const key = (out.StackResourceSummaries ?? []).find((r) => r.ResourceType === 'AWS::KMS::Key' && r.LogicalResourceId?.startsWith('StoresKey') && r.PhysicalResourceId);
    if (key?.PhysicalResourceId) return `arn:${info.partition}:kms:${info.region}:${info.account}:key/${key.PhysicalResourceId}`;
    token = out.NextToken;
  } while (token);
  throw new RackStackIncompleteError(info.name, ['the Stores KMS key (AWS::KMS::Key StoresKey...)'], info.status);
}
