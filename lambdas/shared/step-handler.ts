/**
 * What every step Lambda is: parse the task's payload (`{ step, input }`, as `stepTask` builds
 * it), call the step with the rack's ports, and map what it throws to a named Step Functions
 * error (lib/pipeline/machines/step-errors.ts). The step itself is the same plain function the
 * local rack calls.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../../lib/aws/adapters/metrics-event-sink';
import { SlipwayError } from '../../lib/errors';
import { ROUTED_STEP_ERRORS } from '../../lib/pipeline/machines/step-errors';
import type { StepErrorName } from '../../lib/pipeline/machines/step-errors';
import type { DeployContext } from '../../lib/pipeline/steps/deploy';
import type { RackContextOptions } from '../../lib/aws/rack-context';
import { rackContext } from './rack';

export const logger = new Logger({ serviceName: METRICS_SERVICE });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

/** The payload of a step task. */
export interface StepPayload<I> {
  readonly step: string;
  readonly input: I;
}

/** An error as the state machine sees it: its `name` is the ASL Error, its message the Cause's. */
export class StepError extends Error {
  constructor(
    override readonly name: StepErrorName,
    message: string,
  ) {
    super(message);
  }
}

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalFailure',
  'TimeoutError',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** Whether trying again later may succeed: throttling, a service's own failure, a dropped connection. */
export function isTransient(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const err = e as Error & { $retryable?: unknown; $metadata?: { httpStatusCode?: number }; code?: unknown; statusCode?: unknown };
  if (err.$retryable) return true;
  if (TRANSIENT_NAMES.has(err.name)) return true;
  if (typeof err.code === 'string' && TRANSIENT_CODES.has(err.code)) return true;
  const status = err.$metadata?.httpStatusCode ?? (typeof err.statusCode === 'number' ? err.statusCode : undefined);
  return status !== undefined && (status === 429 || status >= 500);
}

/** The named error a thrown value becomes. Messages are kept: steps redact env values from theirs. */
export function toStepError(e: unknown): StepError {
  if (e instanceof Error && ROUTED_STEP_ERRORS.has(e.name)) return new StepError(e.name as StepErrorName, e.message);
  if (isTransient(e)) return new StepError('StepTransient', `${(e as Error).name}: ${(e as Error).message}`);
  if (e instanceof SlipwayError) return new StepError('StepFailed', e.message);
  return new StepError('StepFailed', e instanceof Error ? `${e.name}: ${e.message}` : String(e));
}

export interface StepHandlerOptions {
  /** The cluster's ports, for the steps with the `cluster` capability (the others' bundles leave the Kubernetes client out). */
  readonly cluster?: RackContextOptions['cluster'];
}

export function stepHandler<I, O>(step: string, run: (input: I, ctx: DeployContext) => Promise<O>, options: StepHandlerOptions = {}) {
  const provider = (): Promise<DeployContext> => rackContext({ metrics, ...(options.cluster ? { cluster: options.cluster } : {}) });
  return async (event: StepPayload<I>, lambda?: Context): Promise<O> => {
    if (lambda) logger.addContext(lambda);
    logger.appendKeys({ step });
    try {
      if (event?.step !== step) throw new StepError('StepFailed', `this function runs the ${step} step, but the state machine asked it for ${JSON.stringify(event?.step)}`);
      const ctx = await provider();
      return await run(event.input, ctx);
    } catch (e) {
      const mapped = toStepError(e);
      // The input is not logged: it is state, and may name things a reader need not see; the error says what failed.
      logger.error('step failed', { error: mapped.name, reason: mapped.message, ...(e instanceof SlipwayError ? { code: e.code } : {}) });
      throw mapped;
    } finally {
      // Metrics are written as they happen (single metrics, see MetricsEventSink): nothing is buffered.
      logger.removeKeys(['step']);
    }
  };
}
