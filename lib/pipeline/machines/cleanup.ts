/**
 * The Cleanup state machine: the rack's maintenance machine. It does three things, chosen by its
 * input:
 *
 * - `{}` (the daily schedule): clean up every app, a few at a time (steps/cleanup.ts).
 * - `{ "deleteApp": { "app": "shop", "by": "<who>" } }` (`slipway apps delete`): delete the app
 *   (steps/delete-app.ts); ends in `AppDeleted`, or fails with the step's error (`AppBusy` while
 *   a deploy holds the app) and its message as the cause.
 * - `{ "query": { "processes": "shop" } }` (`slipway ps`): read-only; its output is
 *   `{ "app": "shop", "processes": [{ id, service, release, status, startedAt?, command? }] }`.
 *
 * Why one machine does all of it: the CLI reaches an AWS rack without cluster credentials (no
 * kubeconfig on laptops), so what needs the cluster runs in a step Lambda that has it, and the
 * CLI's IAM need only name this machine (StartExecution, DescribeExecution) besides the others.
 * Each request's execution is its audit trail.
 */
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Choice, Condition, Fail, JsonPath, Map as MapState, Pass, Succeed } from 'aws-cdk-lib/aws-stepfunctions';
import type { IChainable } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { CLEANUP_STEPS, CleanupConfig } from '../steps/cleanup';
import { stepTask } from './step-task';

export type CleanupStep = keyof typeof CLEANUP_STEPS;

export function cleanupDefinition(parent: Construct, fns: (step: CleanupStep) => IFunction, config: CleanupConfig): IChainable {
  const scope = new Construct(parent, 'CleanupStates');
  // The failing step's error and message, as the CLI shows them (`execution()`'s error and cause).
  const onFailure = { errors: ['States.ALL'], resultPath: '$.failure' };

  const removeApp = stepTask(scope, 'RemoveApp', {
    step: 'removeApp',
    fn: fns('removeApp'),
    // The whole request, so the step (not a missing path) says what a malformed one lacks.
    input: '$.deleteApp',
    resultPath: '$.deleted',
    comment: 'Delete the app: its processes, timers, images and records; its resources\u2019 data stays.',
  }).addCatch(new Fail(scope, 'DeleteFailed', { errorPath: '$.failure.Error', causePath: '$.failure.Cause', comment: 'The app is as the failure left it; running the request again finishes the job.' }), onFailure);
  removeApp.next(new Succeed(scope, 'AppDeleted', { outputPath: '$.deleted' }));

  const queryProcesses = stepTask(scope, 'QueryProcesses', {
    step: 'queryProcesses',
    fn: fns('queryProcesses'),
    input: '$.query',
    comment: 'Read-only: the app\u2019s processes as the cluster sees them.',
  }).addCatch(new Fail(scope, 'QueryFailed', { errorPath: '$.failure.Error', causePath: '$.failure.Cause' }), onFailure);
  queryProcesses.next(new Succeed(scope, 'ProcessesListed'));

  const start = new Pass(scope, 'Start', { parameters: { config, execution: JsonPath.stringAt('$$.Execution.Name') } });
  const list = stepTask(scope, 'ListApps', { step: 'listApps', fn: fns('listApps'), resultPath: '$.found' });
  const each = new MapState(scope, 'EachApp', {
    itemsPath: '$.found.apps',
    maxConcurrency: 4,
    itemSelector: { 'app.$': '$$.Map.Item.Value', 'config.$': '$.config', 'execution.$': '$.execution' },
    resultPath: '$.cleaned',
  });
  each.itemProcessor(stepTask(scope, 'CleanupApp', { step: 'cleanupApp', fn: fns('cleanupApp') }));
  start.next(list).next(each).next(new Succeed(scope, 'Done'));

  return new Choice(scope, 'Request?', { comment: 'A request from the CLI, or (any other input) the daily cleanup.' })
    .when(Condition.isPresent('$.deleteApp'), removeApp)
    .when(Condition.isPresent('$.query.processes'), queryProcesses)
    .otherwise(start);
}
