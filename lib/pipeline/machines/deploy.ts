/**
 * The Deploy state machine, defined once. It is started by a bundle upload (one execution per
 * object version), queues behind a running deploy of the same app (only the newest queued upload
 * runs), builds in parallel, provisions, rolls out, follows the rollout and the health gates in
 * wait loops whose interval comes from the input, promotes, and after the rollout began rolls the
 * previous release back in on any failure. A build-only upload (object metadata `promote: false`,
 * `slipway build`) stops after its release is created and ends in `Built`.
 *
 * Input: `{ "event": <S3 Object Created event>, "config": <DeployConfig> }`.
 */
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Choice, Condition, Fail, JsonPath, Map as MapState, Pass, Succeed, Wait, WaitTime } from 'aws-cdk-lib/aws-stepfunctions';
import type { IChainable } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { DEPLOY_STEPS } from '../steps/deploy';
import { gatePassed, rolledOut } from './rollout-choices';
import { stepTask } from './step-task';

export type DeployStep = keyof typeof DEPLOY_STEPS;

/** The function that runs each step (on AWS, one Lambda per step). */
export type StepFunctions = (step: DeployStep) => IFunction;

export function deployDefinition(parent: Construct, fns: StepFunctions): IChainable {
  // States are named by their construct ids; a scope of their own keeps them apart from other machines'.
  const scope = new Construct(parent, 'DeployStates');
  const task = (id: string, step: DeployStep, resultPath: string, input?: string | Record<string, unknown>) => stepTask(scope, id, { step, fn: fns(step), resultPath, ...(input !== undefined ? { input } : {}) });
  const poll = (id: string, path: string) => new Wait(scope, id, { time: WaitTime.secondsPath(path) });

  const rejected = new Fail(scope, 'Rejected', { errorPath: '$.failure.Error', causePath: '$.failure.Cause', comment: 'The upload was refused before it was queued.' });
  const failed = new Fail(scope, 'Failed', { errorPath: '$.failure.Error', causePath: '$.failure.Cause', comment: 'Nothing was rolled out; the previous release serves.' });
  const rolledBack = new Fail(scope, 'RolledBack', { error: 'DeploymentRolledBack', cause: 'The deploy failed after its rollout began; see the Deployment Rolled Back event.' });
  const lockLost = new Fail(scope, 'LockLost', { error: 'LockLost', cause: 'Another deploy took the app over after this one\u2019s lease expired.' });
  const superseded = new Succeed(scope, 'Superseded', { comment: 'A newer upload of the same app deploys instead.' });
  const deployed = new Succeed(scope, 'Deployed');
  const builtOnly = new Succeed(scope, 'Built', { comment: 'A build-only upload: its release was created and not promoted; the release serving before still serves.' });

  const deployFailed = task('DeployFailed', 'deployFailed', '$.outcome').next(failed);
  const rollBack = task('RollBack', 'rollBack', '$.outcome').next(rolledBack);
  const onFailure = { resultPath: '$.failure' };

  const start = new Pass(scope, 'Start', {
    parameters: { 'event.$': '$.event', 'config.$': '$.config', execution: JsonPath.stringAt('$$.Execution.Name') },
  });
  const admit = task('Admit', 'admit', '$.deploy').addCatch(rejected, { ...onFailure, errors: ['BundleRejected', 'DeployRejected'] });

  const acquire = task('AcquireLock', 'acquireLock', '$.lock');
  const waitForLock = poll('WaitForLock', '$.config.queuePollSeconds');
  waitForLock.next(acquire);

  const prepare = task('PrepareBuild', 'prepareBuild', '$.build').addCatch(deployFailed, onFailure);

  const startBuild = stepTask(scope, 'StartBuild', { step: 'startBuild', fn: fns('startBuild'), resultPath: '$.started' });
  const waitBuild = poll('WaitForBuild', '$.pollSeconds');
  const buildStatus = stepTask(scope, 'BuildStatus', { step: 'buildStatus', fn: fns('buildStatus'), resultPath: '$.status' });
  const built = new Pass(scope, 'ImagesBuilt', { outputPath: '$.status.images' });
  const builds = new MapState(scope, 'Builds', {
    itemsPath: '$.build.units',
    itemSelector: {
      'app.$': '$.deploy.app',
      'build.$': '$.build.id',
      'dir.$': '$.build.dir',
      'bundle.$': '$.deploy.bundle',
      'execution.$': '$.execution',
      'pollSeconds.$': '$.config.pollSeconds',
      'unit.$': '$$.Map.Item.Value',
    },
    resultPath: '$.built',
    comment: 'One build per distinct build context, in parallel.',
  });
  builds.itemProcessor(startBuild.next(waitBuild).next(buildStatus).next(new Choice(scope, 'BuildDone?').when(Condition.stringEquals('$.status.state', 'succeeded'), built).otherwise(waitBuild)));
  builds.addCatch(deployFailed, onFailure);

  const createRelease = task('CreateRelease', 'createRelease', '$.release').addCatch(deployFailed, onFailure);
  const finishBuild = task('FinishBuild', 'finishBuild', '$.outcome').addCatch(deployFailed, onFailure);
  const provision = task('Provision', 'provision', '$.provision').addCatch(deployFailed, onFailure);
  const waitProvision = poll('WaitForResources', '$.config.pollSeconds');
  waitProvision.next(provision);

  const apply = task('Apply', 'apply', '$.rollout').addCatch(rollBack, onFailure);
  const waitRollout = poll('WaitForRollout', '$.config.pollSeconds');
  const rolloutStatus = task('RolloutStatus', 'rolloutStatus', '$.rollout').addCatch(rollBack, onFailure);
  const gate = task('HealthGate', 'healthGate', '$.gate').addCatch(rollBack, onFailure);
  const waitBake = poll('Bake', '$.config.pollSeconds');
  waitBake.next(gate);
  const promote = task('Promote', 'promote', '$.promoted').addCatch(lockLost, { ...onFailure, errors: ['LockLost'] }).addCatch(rollBack, onFailure);

  provision.next(new Choice(scope, 'ResourcesReady?').when(Condition.booleanEquals('$.provision.ready', true), apply).otherwise(waitProvision));
  finishBuild.next(builtOnly);
  prepare.next(builds).next(createRelease).next(
    new Choice(scope, 'PromoteRelease?')
      // Only an explicit `false` stops: a state without the field deploys as before.
      .when(Condition.and(Condition.isPresent('$.deploy.promote'), Condition.booleanEquals('$.deploy.promote', false)), finishBuild)
      .otherwise(provision),
  );
  apply.next(waitRollout);
  waitRollout.next(rolloutStatus);
  rolloutStatus.next(rolledOut(scope, { complete: gate, failed: rollBack, again: waitRollout }));
  gate.next(gatePassed(scope, { passed: promote, failed: rollBack, again: waitBake }));
  promote.next(deployed);

  return start
    .next(admit)
    .next(acquire)
    .next(
      new Choice(scope, 'LockAcquired?')
        .when(Condition.stringEquals('$.lock.status', 'superseded'), superseded)
        .when(Condition.stringEquals('$.lock.status', 'acquired'), prepare)
        .otherwise(waitForLock),
    );
}
