/**
 * Removing a managed resource: the one way its stack is ever deleted. A deploy that drops a
 * resource from convox.yml leaves its stack (and its data) in place; an operator removes it with
 * `slipway resources remove`, which refuses while the resource has `deletionProtection` on and
 * otherwise deletes the stack, whose `DeletionPolicy: Snapshot` keeps a final snapshot of a
 * database or a Redis group (a memcached cluster holds nothing to keep).
 */
import { DeleteStackCommand, DescribeStacksCommand, GetTemplateCommand, UpdateTerminationProtectionCommand } from '@aws-sdk/client-cloudformation';
import type { CloudFormationClient, Stack } from '@aws-sdk/client-cloudformation';
import { SlipwayError } from '../../errors';
import { RESOURCE_STACK_TAGS, resourceStackName } from './managed-resource';

export class ResourceRemovalError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown>) {
    super(message, 'RESOURCE_REMOVAL_REFUSED', context);
  }
}

export interface RemoveResourceRequest {
  readonly rack: string;
  readonly app: string;
  readonly resource: string;
}

async function stackOf(client: CloudFormationClient, name: string): Promise<Stack | undefined> {
  try {
    return (await client.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
  } catch (e) {
    if (e instanceof Error && /does not exist/.test(e.message)) return undefined;
    throw e;
  }
}

/** Starts the deletion and returns the stack's name; CloudFormation takes the final snapshot on the way. */
export async function removeResourceStack(client: CloudFormationClient, request: RemoveResourceRequest): Promise<{ stackName: string; snapshot: boolean }> {
  const { rack, app, resource } = request;
  const stackName = resourceStackName(rack, app, resource);
  const stack = await stackOf(client, stackName);
  const tag = (key: string): string | undefined => stack?.Tags?.find((t) => t.Key === key)?.Value;
  // The name alone could be another app's (`shop` + `eu-db` and `shop-eu` + `db`): the tags say whose it is.
  if (!stack || tag(RESOURCE_STACK_TAGS.app) !== app || tag(RESOURCE_STACK_TAGS.resource) !== resource) {
    throw new ResourceRemovalError(`app ${app} has no managed resource ${resource} on rack ${rack} (no stack ${stackName} of it)`, { rack, app, resource });
  }
  if (stack.StackStatus?.endsWith('_IN_PROGRESS')) {
    throw new ResourceRemovalError(`resource ${resource} of ${app} is busy (${stack.StackStatus}); remove it once the stack has settled`, { rack, app, resource, status: stack.StackStatus });
  }
  const body = (await client.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' }))).TemplateBody ?? '{}';
  const template = JSON.parse(body) as { Resources?: Record<string, { Type?: string; DeletionPolicy?: string; Properties?: { DeletionProtection?: unknown } }> };
  const resources = Object.values(template.Resources ?? {});
  if (resources.some((r) => r.Properties?.DeletionProtection === true)) {
    throw new ResourceRemovalError(
      `resource ${resource} of ${app} has deletionProtection on: set \`deletionProtection: false\` in its options and deploy, then remove it (a final snapshot is taken)`,
      { rack, app, resource },
    );
  }
  await client.send(new UpdateTerminationProtectionCommand({ StackName: stackName, EnableTerminationProtection: false }));
  // No RoleARN: CloudFormation deletes with the service role the stack was created with (the rack's resource role).
  await client.send(new DeleteStackCommand({ StackName: stackName }));
  return { stackName, snapshot: resources.some((r) => r.DeletionPolicy === 'Snapshot') };
}
