/**
 * Step Functions' rule for execution names, on the local rack: a name starts one execution, and
 * starting it again returns that execution instead of a second one. Deploys are named after the
 * bundle's object version, so a repeated upload event deploys once.
 */
import type { ExecutionOutcome, LocalStateMachine } from './asl-runner';

export interface TrackedExecution {
  readonly name: string;
  readonly outcome: Promise<ExecutionOutcome>;
  abort(): void;
}

export class LocalExecutions {
  private readonly byName = new Map<string, TrackedExecution>();

  constructor(private readonly waitMs?: number) {}

  /** Start `machine` as `name`, or return the execution that already has that name. */
  start(machine: LocalStateMachine, name: string, input: unknown): { execution: TrackedExecution; started: boolean } {
    const existing = this.byName.get(`${machine.name}:${name}`);
    if (existing) return { execution: existing, started: false };
    const run = machine.start(input, { executionName: name, ...(this.waitMs !== undefined ? { waitMs: this.waitMs } : {}) });
    const execution: TrackedExecution = { name, outcome: run.outcome, abort: () => run.abort() };
    this.byName.set(`${machine.name}:${name}`, execution);
    return { execution, started: true };
  }
}
