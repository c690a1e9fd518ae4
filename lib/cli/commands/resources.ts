/**
 * `slipway resources remove`: delete an app's managed resource on an AWS rack, keeping a final
 * snapshot. Uses the operator's AWS credentials (the usual environment, profile or SSO), not the
 * rack's: removing data is an operator's act.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { removeResourceStack } from '../../aws/resources/remove';
import type { CliIO } from '../io';

export async function resourcesRemoveCommand(io: CliIO, options: { rack: string; app: string; resource: string; client?: CloudFormationClient }): Promise<void> {
  const client = options.client ?? new CloudFormationClient({});
  const { stackName, snapshot } = await removeResourceStack(client, { rack: options.rack, app: options.app, resource: options.resource });
  io.stdout.write(`Removing ${options.resource} of ${options.app}: stack ${stackName} is being deleted${snapshot ? ', with a final snapshot' : ' (a memcached cluster keeps no snapshot)'}.\n`);
}
