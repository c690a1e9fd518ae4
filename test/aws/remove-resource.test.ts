/** Removing a managed resource: the one way its stack is deleted (CloudFormation: aws-sdk-client-mock). */
import { CloudFormationClient, DeleteStackCommand, DescribeStacksCommand, GetTemplateCommand, UpdateTerminationProtectionCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { RESOURCE_STACK_TAGS } from '../../lib/aws/resources/managed-resource';
import { removeResourceStack } from '../../lib/aws/resources/remove';
import { resourcesRemoveCommand } from '../../lib/cli/commands/resources';

const cloudformation = mockClient(CloudFormationClient);
const client = (): CloudFormationClient => new CloudFormationClient({ region: 'eu-west-1' });
const tags = (app: string, resource: string) => [
  { Key: RESOURCE_STACK_TAGS.app, Value: app },
  { Key: RESOURCE_STACK_TAGS.resource, Value: resource },
];
const template = (deletionProtection: boolean) => JSON.stringify({ Resources: { Instance: { Type: 'AWS::RDS::DBInstance', DeletionPolicy: 'Snapshot', Properties: { DeletionProtection: deletionProtection } } } });

beforeEach(() => {
  cloudformation.reset();
  cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'slipway-prod-shop-db', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Tags: tags('shop', 'db') }] });
});
afterAll(() => cloudformation.restore());

describe('removeResourceStack (CloudFormation: aws-sdk-client-mock)', () => {
  it('lifts termination protection and deletes the stack, whose Snapshot policy keeps the data', async () => {
    cloudformation.on(GetTemplateCommand).resolves({ TemplateBody: template(false) });
    const io = { stdout: { text: '', write(c: string) { this.text += c; } }, stderr: { write: () => true }, cwd: '.' };
    await resourcesRemoveCommand(io, { rack: 'prod', app: 'shop', resource: 'db', client: client() });
    expect(cloudformation.commandCalls(UpdateTerminationProtectionCommand)[0]?.args[0].input).toEqual({ StackName: 'slipway-prod-shop-db', EnableTerminationProtection: false });
    expect(cloudformation.commandCalls(DeleteStackCommand)[0]?.args[0].input).toEqual({ StackName: 'slipway-prod-shop-db' });
    expect(io.stdout.text).toContain('with a final snapshot');
  });

  it('refuses while deletionProtection is on, and says how to turn it off', async () => {
    cloudformation.on(GetTemplateCommand).resolves({ TemplateBody: template(true) });
    await expect(removeResourceStack(client(), { rack: 'prod', app: 'shop', resource: 'db' })).rejects.toThrow('has deletionProtection on: set `deletionProtection: false` in its options and deploy');
    expect(cloudformation.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  it('refuses a stack that is not this app\u2019s resource, or is busy', async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'slipway-prod-shop-db', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Tags: tags('shop-db', '') }] });
    await expect(removeResourceStack(client(), { rack: 'prod', app: 'shop', resource: 'db' })).rejects.toThrow('app shop has no managed resource db on rack prod');
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'slipway-prod-shop-db', StackStatus: 'UPDATE_IN_PROGRESS', CreationTime: new Date(), Tags: tags('shop', 'db') }] });
    await expect(removeResourceStack(client(), { rack: 'prod', app: 'shop', resource: 'db' })).rejects.toThrow('is busy (UPDATE_IN_PROGRESS)');
    expect(cloudformation.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });
});
