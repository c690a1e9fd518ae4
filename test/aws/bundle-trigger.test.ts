/** The bundle trigger Lambda: which uploads start a deploy, under which name (Step Functions: aws-sdk-client-mock). */
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handleBundleEvent, settingsFromEnv } from '../../lambdas/bundle-trigger';
import { StepFunctionsStarter } from '../../lib/aws/adapters/step-functions-starter';
import { deployExecutionName } from '../../lib/pipeline/bundle/key';
import type { ObjectCreatedEvent } from '../../lib/pipeline/ports/bundle-store';

const sfn = mockClient(SFNClient);
const starter = new StepFunctionsStarter(new SFNClient({ region: 'us-east-1' }));
const settings = settingsFromEnv({ DEPLOY_MACHINE_ARN: 'arn:aws:states:us-east-1:111122223333:stateMachine:Deploy', DEPLOY_CONFIG: JSON.stringify({ pollSeconds: 10, queuePollSeconds: 15, leaseSeconds: 300, bakeSeconds: 60, progressDeadlineSeconds: 600 }) });

function event(key: string, version = '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY'): ObjectCreatedEvent {
  return {
    version: '0',
    id: 'e1',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    time: '2026-11-28T12:00:00Z',
    resources: ['arn:aws:s3:::bundles'],
    detail: { version: '0', bucket: { name: 'bundles' }, object: { key, size: 10, etag: 'abc', 'version-id': version, sequencer: '01' }, reason: 'PutObject' },
  };
}

describe('bundle trigger (Step Functions: aws-sdk-client-mock)', () => {
  beforeEach(() => sfn.reset());

  it('starts the Deploy machine with a name derived from the object version and the rack settings as input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date() });
    const e = event('apps/shop/bundles/app.tgz');
    const result = await handleBundleEvent(e, settings, starter);
    const name = deployExecutionName('bundles', 'apps/shop/bundles/app.tgz', '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY');
    expect(result).toEqual({ execution: name, started: true });
    const calls = sfn.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({ stateMachineArn: settings.deployMachineArn, name, input: JSON.stringify({ event: e, config: settings.config }) });
  });

  it('starts nothing new for a repeated event: the name is taken', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const result = await handleBundleEvent(event('apps/shop/bundles/app.tgz'), settings, starter);
    expect(result.started).toBe(false);
    expect(result.execution).toMatch(/^deploy-shop-[0-9a-f]{24}$/);
  });

  it('refuses keys outside apps/<app>/bundles/ and unversioned objects without starting anything', async () => {
    for (const key of ['apps/shop/other/app.tgz', '../apps/shop/bundles/x', 'apps/Shop/bundles/app.tgz', 'apps/shop/bundles/a/b.tgz']) {
      const refused = await handleBundleEvent(event(key), settings, starter);
      expect(refused.started).toBe(false);
      expect(refused.reason).toContain('is not a bundle key');
    }
    const unversioned = await handleBundleEvent(event('apps/shop/bundles/app.tgz', ''), settings, starter);
    expect(unversioned.started).toBe(false);
    expect(unversioned.reason).toContain('must be versioned');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses input that is not an S3 Object Created event, and a function without its settings', async () => {
    await expect(handleBundleEvent({ ...event('apps/shop/bundles/app.tgz'), source: 'aws.ec2' } as unknown as ObjectCreatedEvent, settings, starter)).rejects.toThrow('S3 Object Created');
    expect(() => settingsFromEnv({})).toThrow('DEPLOY_MACHINE_ARN and DEPLOY_CONFIG');
  });
});
