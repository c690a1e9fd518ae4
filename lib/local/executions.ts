/**
 * Step Functions' rule for execution names, on the local rack: a name starts one execution, and
 * starting it again returns that execution instead of a second one. Deploys are named after the
 * bundle's object version, so a repeated upload event deploys once. With a journal file the
 * names and outcomes outlive the rack process, as Step Functions' history does; an execution
 * the rack was running when it stopped is recorded as aborted. The journal also notes each Task
 * state an execution enters (a line per change, not per poll), so that one cut off by a crash
 * says where it was.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ExecutionOutcome, LocalStateMachine } from './asl-runner';

export interface TrackedExecution {
  readonly name: string;
  readonly outcome: Promise<ExecutionOutcome>;
  abort(): void;
}

export interface ExecutionRecord {
  readonly machine: string;
  readonly name: string;
  readonly startedAt: string;
  readonly status: 'RUNNING' | ExecutionOutcome['status'];
  /** The Task state it last entered: where it is while it runs, where it stopped once it ended. */
  readonly state?: string;
  readonly stoppedAt?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly output?: unknown;
}

export class LocalExecutions {
  private readonly byName = new Map<string, TrackedExecution>();
  private readonly records = new Map<string, ExecutionRecord>();

  constructor(
    private readonly waitMs?: number,
    private readonly journal?: string,
  ) {
    if (journal) this.load(journal);
  }

  /** Start `machine` as `name`, or return the execution that already has that name. */
  start(machine: LocalStateMachine, name: string, input: unknown): { execution: TrackedExecution; started: boolean } {
    const key = `${machine.name}:${name}`;
    const existing = this.byName.get(key);
    if (existing) return { execution: existing, started: false };
    const startedAt = new Date().toISOString();
    const onTask = (state: string): void => {
      const current = this.records.get(key);
      // Polling loops enter the same Task again and again: only a change is written. The record
      // keeps its place: executions list in the order they started or ended.
      if (current?.status === 'RUNNING' && current.state !== state) this.record({ ...current, state }, { keepPlace: true });
    };
    // Recorded before it starts: the runner may enter the first Task state at once.
    this.record({ machine: machine.name, name, startedAt, status: 'RUNNING' });
    let run: ReturnType<LocalStateMachine['start']>;
    try {
      run = machine.start(input, { executionName: name, onTask, ...(this.waitMs !== undefined ? { waitMs: this.waitMs } : {}) });
    } catch (e) {
      this.record({ machine: machine.name, name, startedAt, stoppedAt: new Date().toISOString(), status: 'FAILED', error: e instanceof Error ? e.name : 'Error', cause: e instanceof Error ? e.message : String(e) });
      throw e;
    }
    const execution: TrackedExecution = { name, outcome: run.outcome, abort: () => run.abort() };
    this.byName.set(key, execution);
    void run.outcome.then((outcome) => {
      const state = this.records.get(key)?.state;
      this.record({ machine: machine.name, name, startedAt, stoppedAt: new Date().toISOString(), ...(state !== undefined ? { state } : {}), ...outcome });
    });
    return { execution, started: true };
  }

  /** What is known of an execution: running here, or finished (in this run of the rack or an earlier one). */
  describe(machine: string, name: string): ExecutionRecord | undefined {
    return this.records.get(`${machine}:${name}`);
  }

  /** The executions, newest first. */
  list(machine?: string): ExecutionRecord[] {
    return [...this.records.values()].filter((r) => !machine || r.machine === machine).reverse();
  }

  /** Abort every running execution (the rack is stopping). */
  abortAll(): void {
    for (const [key, execution] of this.byName) if (this.records.get(key)?.status === 'RUNNING') execution.abort();
  }

  private record(entry: ExecutionRecord, options: { keepPlace?: boolean } = {}): void {
    if (!options.keepPlace) this.records.delete(`${entry.machine}:${entry.name}`);
    this.records.set(`${entry.machine}:${entry.name}`, entry);
    if (this.journal) appendFileSync(this.journal, `${JSON.stringify(entry)}\n`);
  }

  private load(journal: string): void {
    mkdirSync(dirname(journal), { recursive: true });
    let text = '';
    try {
      text = readFileSync(journal, 'utf8');
    } catch {
      return;
    }
    // A line a crash cut short would swallow the next record appended to it.
    if (text !== '' && !text.endsWith('\n')) appendFileSync(journal, '\n');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as ExecutionRecord;
        const key = `${entry.machine}:${entry.name}`;
        // The states a running execution entered keep its place, as they did while it ran.
        if (!(entry.status === 'RUNNING' && this.records.get(key)?.status === 'RUNNING')) this.records.delete(key);
        this.records.set(key, entry);
      } catch {
        // A line cut short by a crash is skipped.
      }
    }
    for (const [key, entry] of this.records) {
      const aborted: ExecutionRecord = entry.status === 'RUNNING' ? { ...entry, status: 'ABORTED', stoppedAt: new Date().toISOString(), cause: `the rack stopped while it ran${entry.state !== undefined ? ` (in state ${entry.state})` : ''}` } : entry;
      if (aborted !== entry) this.record(aborted);
      // A name used before cannot start again, as in Step Functions.
      const outcome: ExecutionOutcome = aborted.status === 'SUCCEEDED' ? { status: 'SUCCEEDED', output: aborted.output } : aborted.status === 'FAILED' ? { status: 'FAILED', error: aborted.error ?? '', cause: aborted.cause ?? '' } : { status: 'ABORTED' };
      this.byName.set(key, { name: aborted.name, outcome: Promise.resolve(outcome), abort: () => undefined });
    }
  }
}
