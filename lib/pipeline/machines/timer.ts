/**
 * The Timer state machine: one-off jobs, followed to their end. Input is either
 * `{"app", "timer"}` (an EventBridge schedule fired) or `{"app", "run": {"service", "command",
 * "release"?}}` (`slipway run`, `slipway test`). A failed timer run ends the execution with the
 * error `TimerFailed`, a failed one-off run with `RunFailed`; the cause says why.
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
  // The error names are the machine's, not the step's: on AWS a step's own error names other than
  // the routed ones reach the machine as StepFailed, and callers (the CLI) tell the two kinds apart by them.
  const timerFailed = new Fail(scope, 'Failed', { error: 'TimerFailed', causePath: '$.failure.Cause' });
  const runFailed = new Fail(scope, 'RunFailed', { error: 'RunFailed', causePath: '$.failure.Cause' });
  const failed = new Choice(scope, 'OneOffRun?').when(Condition.isPresent('$.request.run'), runFailed).otherwise(timerFailed);
  // The whole input is the request: a field it lacks (`timer` or `run`) is simply absent, where a path to it would fail the state.
  const start = new Pass(scope, 'Start', { parameters: { 'request.$': '$', config: defaults, execution: JsonPath.stringAt('$$.Execution.Name') } });
  const run = stepTask(scope, 'StartRun', { step: 'startTimerRun', fn: fns('startTimerRun'), resultPath: '$.run' }).addCatch(failed, { resultPath: '$.failure' });
  const wait = new Wait(scope, 'WaitForRun', { time: WaitTime.secondsPath('$.config.pollSeconds') });
  const status = stepTask(scope, 'RunStatus', { step: 'timerRunStatus', fn: fns('timerRunStatus'), resultPath: '$.result' }).addCatch(failed, { resultPath: '$.failure' });
  wait.next(status);
  status.next(new Choice(scope, 'Finished?').when(Condition.stringEquals('$.result.state', 'succeeded'), new Succeed(scope, 'Succeeded')).otherwise(wait));
  return start.next(run).next(new Choice(scope, 'Skipped?').when(Condition.stringEquals('$.run.status', 'skipped'), new Succeed(scope, 'Skipped')).otherwise(wait));
}
