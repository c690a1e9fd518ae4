/** The daily Cleanup state machine: every app in parallel, a few at a time. */
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { JsonPath, Map as MapState, Pass, Succeed } from 'aws-cdk-lib/aws-stepfunctions';
import type { IChainable } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { CLEANUP_STEPS, CleanupConfig } from '../steps/cleanup';
import { stepTask } from './step-task';

export type CleanupStep = keyof typeof CLEANUP_STEPS;

export function cleanupDefinition(parent: Construct, fns: (step: CleanupStep) => IFunction, config: CleanupConfig): IChainable {
  const scope = new Construct(parent, 'CleanupStates');
  const start = new Pass(scope, 'Start', { parameters: { config, execution: JsonPath.stringAt('$$.Execution.Name') } });
  const list = stepTask(scope, 'ListApps', { step: 'listApps', fn: fns('listApps'), resultPath: '$.found' });
  const each = new MapState(scope, 'EachApp', {
    itemsPath: '$.found.apps',
    maxConcurrency: 4,
    itemSelector: { 'app.$': '$$.Map.Item.Value', 'config.$': '$.config', 'execution.$': '$.execution' },
    resultPath: '$.cleaned',
  });
  each.itemProcessor(stepTask(scope, 'CleanupApp', { step: 'cleanupApp', fn: fns('cleanupApp') }));
  return start.next(list).next(each).next(new Succeed(scope, 'Done'));
}
