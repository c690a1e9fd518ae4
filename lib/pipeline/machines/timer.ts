/**
 * The Timer state machine, started by an EventBridge schedule with `{"app", "timer"}`.
 */
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Choice, Condition, Fail, JsonPath, Pass, Succeed, Wait, WaitTime } from 'aws-cdk-lib/aws-stepfunctions';
import type { IChainable } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { DeployConfig } from '../steps/deploy';
import type { TIMER_STEPS } from '../steps/timer';
import { stepTask } from './step-task';

export type TimerStep = keyof typeof TIMER_STEPS;

export function timerDefinition(parent: Construct, fns: (step: TimerStep) => IFunction, defaults: DeployConfig): IChainable {
  const scope = new Construct(parent, 'TimerStates');
  const failed = new Fail(scope, 'Failed', { errorPath: '$.failure.Error', causePath: '$.failure.Cause' });
  const start = new Pass(scope, 'Start', { parameters: { request: { 'app.$': '$.app', 'timer.$': '$.timer' }, config: defaults, execution: JsonPath.stringAt('$$.Execution.Name') } });
  const run = stepTask(scope, 'StartRun', { step: 'startTimerRun', fn: fns('startTimerRun'), resultPath: '$.run' }).addCatch(failed, { resultPath: '$.failure' });
  const wait = new Wait(scope, 'WaitForRun', { time: WaitTime.secondsPath('$.config.pollSeconds') });
  const status = stepTask(scope, 'RunStatus', { step: 'timerRunStatus', fn: fns('timerRunStatus'), resultPath: '$.result' }).addCatch(failed, { resultPath: '$.failure' });
  wait.next(status);
  status.next(new Choice(scope, 'Finished?').when(Condition.stringEquals('$.result.state', 'succeeded'), new Succeed(scope, 'Succeeded')).otherwise(wait));
  return start.next(run).next(new Choice(scope, 'Skipped?').when(Condition.stringEquals('$.run.status', 'skipped'), new Succeed(scope, 'Skipped')).otherwise(wait));
}
