/**
 * The local rack's execution journal (executions.jsonl) across a crash: the Task state each
 * execution entered is journaled, so that a rack started again on the same journal reports the
 * executions the dead one was running as aborted, and where. A rack "restarts" here by reading
 * the journal with a new LocalExecutions while the first one's executions are left hanging.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalStateMachine } from '../../lib/local/asl-runner';
import type { ExecutionRecord } from '../../lib/local/executions';
import { LocalExecutions } from '../../lib/local/executions';
import type { AslDefinition } from '../../lib/pipeline/machines/template';

const task = (step: string, next?: string): Record<string, unknown> => ({
  Type: 'Task',
  Resource: 'arn:aws:lambda:us-east-1:123456789012:function:steps',
  Parameters: { step, 'input.$': '$' },
  ...(next ? { Next: next } : { End: true }),
});

const DEFINITION = { StartAt: 'First', States: { First: task('first', 'Second'), Second: task('second') } } as unknown as AslDefinition;

/** A machine whose steps wait until the test lets each execution's step go. */
function gatedMachine(): { machine: LocalStateMachine; release: (execution: string, step: string) => void } {
  const gates = new Map<string, () => void>();
  const opened = new Set<string>();
  const machine = new LocalStateMachine('Deploy', DEFINITION, (step, _input, ctx) => {
    const key = `${ctx.executionName}/${step}`;
    if (opened.has(key)) return Promise.resolve({});
    return new Promise((resolve) => gates.set(key, () => resolve({})));
  });
  return {
    machine,
    release: (execution, step) => {
      const key = `${execution}/${step}`;
      opened.add(key);
      gates.get(key)?.();
    },
  };
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});
const journalFile = (): string => {
  const folder = mkdtempSync(join(tmpdir(), 'slipway-executions-'));
  folders.push(folder);
  return join(folder, 'executions.jsonl');
};
const lines = (file: string): ExecutionRecord[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ExecutionRecord);

describe('the execution journal across a crash of the rack', () => {
  it('journals each Task state an execution enters, once; a rack started again reports it aborted there', async () => {
    const file = journalFile();
    const { machine, release } = gatedMachine();
    const first = new LocalExecutions(1, file);
    const { execution } = first.start(machine, 'deploy-1', {});
    release('deploy-1', 'first');
    await until(() => first.describe('Deploy', 'deploy-1')?.state === 'Second');
    expect(lines(file).map((r) => [r.status, r.state])).toEqual([
      ['RUNNING', undefined],
      ['RUNNING', 'First'],
      ['RUNNING', 'Second'],
    ]);

    // The first rack is gone (its execution is left hanging); the next one reads the journal.
    const second = new LocalExecutions(1, file);
    expect(second.describe('Deploy', 'deploy-1')).toMatchObject({ status: 'ABORTED', state: 'Second', cause: 'the rack stopped while it ran (in state Second)' });
    const again = second.start(machine, 'deploy-1', {});
    expect(again.started).toBe(false);
    expect(await again.execution.outcome).toEqual({ status: 'ABORTED' });
    execution.abort();
  });

  it('keeps the ending state of an execution that finished', async () => {
    const file = journalFile();
    const { machine, release } = gatedMachine();
    const executions = new LocalExecutions(1, file);
    release('deploy-2', 'first');
    release('deploy-2', 'second');
    expect(await executions.start(machine, 'deploy-2', {}).execution.outcome).toMatchObject({ status: 'SUCCEEDED' });
    await until(() => executions.describe('Deploy', 'deploy-2')?.status === 'SUCCEEDED');
    expect(new LocalExecutions(1, file).describe('Deploy', 'deploy-2')).toMatchObject({ status: 'SUCCEEDED', state: 'Second' });
  });

  it('lists executions in the order they started, however often they change state', async () => {
    const { machine, release } = gatedMachine();
    const executions = new LocalExecutions(1, journalFile());
    const older = executions.start(machine, 'older', {}).execution;
    await until(() => executions.describe('Deploy', 'older')?.state === 'First');
    const newer = executions.start(machine, 'newer', {}).execution;
    release('older', 'first');
    await until(() => executions.describe('Deploy', 'older')?.state === 'Second');
    expect(executions.list().map((r) => r.name)).toEqual(['newer', 'older']);
    older.abort();
    newer.abort();
  });

  it('does not let a line a crash cut short swallow the next record', () => {
    const file = journalFile();
    const done: ExecutionRecord = { machine: 'Deploy', name: 'done', startedAt: '2026-01-01T00:00:00.000Z', status: 'SUCCEEDED', output: {} };
    writeFileSync(file, `${JSON.stringify(done)}\n{"machine":"Deploy","name":"cut","start`);
    const executions = new LocalExecutions(1, file);
    expect(executions.describe('Deploy', 'done')).toMatchObject({ status: 'SUCCEEDED' });
    // What the rack appends next stays a line of its own.
    appendFileSync(file, `${JSON.stringify({ ...done, name: 'later' })}\n`);
    expect(new LocalExecutions(1, file).describe('Deploy', 'later')).toMatchObject({ status: 'SUCCEEDED' });
  });
});
