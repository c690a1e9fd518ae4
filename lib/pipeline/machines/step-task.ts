/**
 * A Task state that calls one pipeline step. On AWS it invokes the step's Lambda function; the
 * local rack's runner reads the same `step` name from the Task's Parameters and calls the step in
 * process. Either way the step receives the state's input (or the fields `input` selects).
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { JitterType, JsonPath, TaskInput, Timeout } from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { StepErrorName } from './step-errors';

export interface StepTaskProps {
  readonly step: string;
  readonly fn: IFunction;
  /** What the step receives: a JSONPath (default `$`, the whole state input) or an object of fields. */
  readonly input?: string | Record<string, unknown>;
  /** Where the step's result goes in the state's output (default: it replaces the input). */
  readonly resultPath?: string;
  readonly comment?: string;
  /** The longest the step may run. */
  readonly timeout?: Duration;
}

export function stepTask(scope: Construct, id: string, props: StepTaskProps): LambdaInvoke {
  const input = props.input ?? '$';
  const payload = typeof input === 'string' ? { step: props.step, input: JsonPath.objectAt(input) } : { step: props.step, input };
  const task = new LambdaInvoke(scope, id, {
    lambdaFunction: props.fn,
    payload: TaskInput.fromObject(payload),
    payloadResponseOnly: true,
    retryOnServiceExceptions: true,
    ...(props.resultPath ? { resultPath: props.resultPath } : {}),
    ...(props.comment ? { comment: props.comment } : {}),
    taskTimeout: Timeout.duration(props.timeout ?? Duration.minutes(5)),
  });
  // Steps are safe to run again (they poll, or compare-and-set), so a throttled or failing AWS
  // service or cluster costs a retry rather than a failed deploy.
  const transient: StepErrorName = 'StepTransient';
  task.addRetry({ errors: [transient], interval: Duration.seconds(2), maxAttempts: 4, backoffRate: 2, jitterStrategy: JitterType.FULL });
  return task;
}
