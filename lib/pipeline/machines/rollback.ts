/**
 * The Rollback state machine: every change of what an app serves that is not an upload. Started
 * from the Step Functions console with `{"app": "...", "release": "R..."}` (release optional;
 * `"skipGates": true` for emergencies), or by the CLI with `"mode": "promote"`, `"cancels"` or
 * `"scale"` (see lib/pipeline/steps/rollback.ts). The rack's defaults are merged into the input,
 * so an operator types only what matters.
 */
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Choice, Condition, Fail, JsonPath, Pass, Succeed, Wait, WaitTime } from 'aws-cdk-lib/aws-stepfunctions';
import type { IChainable } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { DeployConfig } from '../steps/deploy';
import type { ROLLBACK_STEPS } from '../steps/rollback';
import { gatePassed, rolledOut } from './rollout-choices';
import { stepTask } from './step-task';

export type RollbackStep = keyof typeof ROLLBACK_STEPS;

export function rollbackDefinition(parent: Construct, fns: (step: RollbackStep) => IFunction, defaults: DeployConfig): IChainable {
  // States are named by their construct ids; a scope of their own keeps them apart from other machines'.
  const scope = new Construct(parent, 'RollbackStates');
  const task = (id: string, step: RollbackStep, resultPath: string) => stepTask(scope, id, { step, fn: fns(step), resultPath });
  const poll = (id: string, path: string) => new Wait(scope, id, { time: WaitTime.secondsPath(path) });
  const onFailure = { resultPath: '$.failure' };

  // A promotion's failure is its own error (the CLI reports it), with the reason as its cause.
  const failedKind = new Choice(scope, 'PromotionOrRollback?')
    .when(Condition.stringEquals('$.outcome.kind', 'promotion'), new Fail(scope, 'PromotionFailed', { error: 'PromotionFailed', causePath: '$.outcome.reason' }))
    .otherwise(new Fail(scope, 'Failed', { error: 'RollbackFailed', cause: 'See the Rollback Failed event.' }));
  const failed = task('RollbackFailed', 'rollbackFailed', '$.outcome').next(failedKind);
  const start = new Pass(scope, 'Start', {
    parameters: {
      // The whole input: its optional fields (release, skipGates, by, reason, mode, cancels, scale) may be absent.
      'request.$': '$',
      config: defaults,
      execution: JsonPath.stringAt('$$.Execution.Name'),
    },
  });
  const acquire = task('AcquireLock', 'acquireRollbackLock', '$.lock').addCatch(failed, onFailure);
  const waitForLock = poll('WaitForLock', '$.config.queuePollSeconds');
  waitForLock.next(acquire);
  const prepare = new Pass(scope, 'TargetChosen', { comment: 'A rollback copies the target release forward; a promotion, cancel or scale rolls an existing release out.' });
  const prepareRelease = stepTask(scope, 'PrepareRelease', { step: 'prepareRollback', fn: fns('prepareRollback'), resultPath: '$.prepared' }).addCatch(failed, onFailure);
  // A cancelled first deploy leaves nothing to put back: its processes go. This runs the
  // rollbackFailed step, the machine's closing step that may change the cluster (its Lambda has
  // the cluster capability); it tells a cancel with nothing to restore from a failure.
  const removeProcesses = task('RemoveCancelledProcesses', 'rollbackFailed', '$.outcome').addCatch(failed, onFailure).next(new Succeed(scope, 'Cancelled'));
  const merge = new Pass(scope, 'UseTarget', {
    parameters: {
      'request.$': '$.request',
      'config.$': '$.config',
      'execution.$': '$.execution',
      'lock.$': '$.lock',
      'deploy.$': '$.prepared.deploy',
      'release.$': '$.prepared.release',
      'target.$': '$.prepared.target',
      'undo.$': '$.prepared.undo',
    },
  });
  const apply = task('Apply', 'apply', '$.rollout').addCatch(failed, onFailure);
  const waitRollout = poll('WaitForRollout', '$.config.pollSeconds');
  const status = task('RolloutStatus', 'rolloutStatus', '$.rollout').addCatch(failed, onFailure);
  const gate = task('HealthGate', 'healthGate', '$.gate').addCatch(failed, onFailure);
  const waitBake = poll('Bake', '$.config.pollSeconds');
  waitBake.next(gate);
  // Promotes; a rollback also pins the app.
  const finish = task('Promote', 'finishRollback', '$.promoted').addCatch(failed, onFailure).next(new Succeed(scope, 'Promoted'));

  apply.next(waitRollout);
  waitRollout.next(status);
  // skipGates is optional: test that it is there before reading it.
  const skipGates = new Choice(scope, 'SkipGates?').when(Condition.booleanEquals('$.request.skipGates', true), finish).otherwise(gate);
  const gatesOption = new Choice(scope, 'GatesOptionGiven?').when(Condition.isPresent('$.request.skipGates'), skipGates).otherwise(gate);
  status.next(rolledOut(scope, { complete: gatesOption, failed, again: waitRollout }));
  gate.next(gatePassed(scope, { passed: finish, failed, again: waitBake }));

  // A cancel of a first deploy prepares no release (test for it before reading it).
  const releaseToRollOut = new Choice(scope, 'ReleaseToRollOut?').when(Condition.isPresent('$.prepared.release'), merge.next(apply)).otherwise(removeProcesses);
  return start
    .next(acquire)
    .next(new Choice(scope, 'LockAcquired?').when(Condition.stringEquals('$.lock.status', 'acquired'), prepare.next(prepareRelease).next(releaseToRollOut)).otherwise(waitForLock));
}
