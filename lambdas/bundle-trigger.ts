/**
 * The bundle bucket's "Object Created" events (through an EventBridge rule) start the Deploy
 * machine. Thin: parse the event, decide with `deployTrigger`, start the execution.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SFNClient } from '@aws-sdk/client-sfn';
import { StepFunctionsStarter } from '../lib/aws/adapters/step-functions-starter';
import { SlipwayError } from '../lib/errors';
import type { ObjectCreatedEvent } from '../lib/pipeline/ports/bundle-store';
import type { DeployConfig } from '../lib/pipeline/steps/deploy';
import { deployTrigger } from '../lib/pipeline/steps/trigger';

export interface TriggerSettings {
  readonly deployMachineArn: string;
  readonly config: DeployConfig;
}

/** The settings the stack gives the function in its environment. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): TriggerSettings {
  const arn = env.DEPLOY_MACHINE_ARN;
  const config = env.DEPLOY_CONFIG;
  if (!arn || !config) throw new SlipwayError('the trigger needs DEPLOY_MACHINE_ARN and DEPLOY_CONFIG in its environment', 'LAMBDA_MISCONFIGURED');
  return { deployMachineArn: arn, config: JSON.parse(config) as DeployConfig };
}

const logger = new Logger({ serviceName: 'slipway-bundle-trigger' });

export async function handleBundleEvent(event: ObjectCreatedEvent, settings: TriggerSettings, starter: Pick<StepFunctionsStarter, 'start'>): Promise<{ execution?: string; started: boolean; reason?: string }> {
  if (event?.['detail-type'] !== 'Object Created' || event.source !== 'aws.s3') throw new SlipwayError('the trigger takes S3 Object Created events', 'TRIGGER_INPUT_INVALID');
  const trigger = deployTrigger(event, settings.config);
  if (!trigger.start) {
    logger.warn('not a bundle: no deploy started', { key: event.detail.object.key, reason: trigger.reason });
    return { started: false, reason: trigger.reason };
  }
  const { started } = await starter.start(settings.deployMachineArn, trigger.name, trigger.input);
  logger.info(started ? 'deploy started' : 'deploy already started for this object version', { execution: trigger.name, key: event.detail.object.key });
  return { execution: trigger.name, started };
}

let cached: { settings: TriggerSettings; starter: StepFunctionsStarter } | undefined;

export const handler = async (event: ObjectCreatedEvent): Promise<{ execution?: string; started: boolean; reason?: string }> => {
  cached ??= { settings: settingsFromEnv(process.env), starter: new StepFunctionsStarter(new SFNClient({})) };
  return handleBundleEvent(event, cached.settings, cached.starter);
};
