/**
 * Names and ARNs of the executions the CLI starts, and what Step Functions says about them.
 */
import { randomBytes } from 'node:crypto';
import type { DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { SlipwayError } from '../../../errors';
import type { ExecutionStatus, RackMachine } from '../rack-connection';

/** What an execution the CLI starts does; the first part of its name. */
export type ExecutionKind = 'promote' | 'rollback' | 'scale' | 'cancel' | 'timer' | 'run' | 'delete' | 'ps';

/** Step Functions' limit on execution names. */
export const MAX_EXECUTION_NAME = 80;
const VALID_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * `<kind>-<app>-<yyyymmddhhmmss>-<random>`: sorted by time within an app in the console, unique
 * (8 random hex digits per second), and at most 80 characters of [A-Za-z0-9_-] (the app name is
 * shortened when it would not fit; app names are lower-case letters, digits and dashes already).
 */
export function executionName(kind: ExecutionKind, app: string, now: Date = new Date(), random: () => string = () => randomBytes(4).toString('hex')): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const suffix = `-${stamp}-${random()}`;
  const room = MAX_EXECUTION_NAME - kind.length - 1 - suffix.length;
  const name = `${kind}-${app.slice(0, Math.max(0, room)).replace(/-+$/, '')}${suffix}`;
  if (!VALID_NAME.test(name)) throw new SlipwayError(`cannot make an execution name for app ${app}: ${JSON.stringify(name)} is not a valid Step Functions name`, 'EXECUTION_NAME_INVALID', { app, kind });
  return name;
}

/** `arn:...:stateMachine:<machine>` and a name make `arn:...:execution:<machine>:<name>`. */
export function executionArn(stateMachineArn: string, name: string): string {
  const marker = ':stateMachine:';
  const at = stateMachineArn.indexOf(marker);
  if (at < 0) throw new SlipwayError(`${stateMachineArn} is not a state machine ARN`, 'MACHINE_ARN_INVALID', { stateMachineArn });
  return `${stateMachineArn.slice(0, at)}:execution:${stateMachineArn.slice(at + marker.length)}:${name}`;
}

const STATUSES: readonly ExecutionStatus['status'][] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

/** DescribeExecution's answer as the CLI shows it. PENDING_REDRIVE (a failed run being redriven) counts as running. */
export function executionStatus(machine: RackMachine, name: string, out: Pick<DescribeExecutionCommandOutput, 'status' | 'startDate' | 'stopDate' | 'error' | 'cause'>): ExecutionStatus {
  const status = STATUSES.find((s) => s === out.status) ?? 'RUNNING';
  return {
    machine,
    name,
    status,
    ...(out.startDate ? { startedAt: out.startDate.toISOString() } : {}),
    ...(out.stopDate ? { stoppedAt: out.stopDate.toISOString() } : {}),
    ...(out.error ? { error: out.error } : {}),
    ...(out.cause ? { cause: out.cause } : {}),
  };
}
