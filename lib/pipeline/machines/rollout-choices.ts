/**
 * The two decisions every machine that rolls a release out makes after each poll: is the rollout
 * done, and did the health gates pass. Deploy and Rollback share them; only where each outcome
 * leads differs.
 */
import { Choice, Condition } from 'aws-cdk-lib/aws-stepfunctions';
import type { IChainable } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

export function rolledOut(scope: Construct, next: { complete: IChainable; failed: IChainable; again: IChainable }): Choice {
  return new Choice(scope, 'RolledOut?')
    .when(Condition.stringEquals('$.rollout.state', 'failed'), next.failed)
    .when(Condition.stringEquals('$.rollout.state', 'complete'), next.complete)
    .otherwise(next.again);
}

export function gatePassed(scope: Construct, next: { passed: IChainable; failed: IChainable; again: IChainable }): Choice {
  return new Choice(scope, 'GatePassed?')
    .when(Condition.stringEquals('$.gate.status', 'passed'), next.passed)
    .when(Condition.stringEquals('$.gate.status', 'failed'), next.failed)
    .otherwise(next.again);
}
