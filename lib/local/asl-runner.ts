/**
 * Runs a state machine's ASL on this machine with aws-local-stepfunctions: every Task state calls
 * the pipeline step it names, in process, with the local rack's adapters behind the ports.
 * Definitions are checked with asl-validator first, and must stay on what the local runner
 * executes faithfully: JSONPath only (no JSONata, no Assign, no Distributed Map).
 */
import './promise-with-resolvers';
import aslValidator from 'asl-validator';
import { ExecutionAbortedError, ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { RunOptions as LocalRunOptions } from 'aws-local-stepfunctions';

/** The JSON values the local runner passes around (its own type is not exported). */
type JSONValue = Parameters<StateMachine['run']>[0];
type LocalHandlers = NonNullable<NonNullable<LocalRunOptions['overrides']>['taskResourceLocalHandlers']>;
import { SlipwayError } from '../errors';
import type { AslDefinition } from '../pipeline/machines/template';
import { statesOfType } from '../pipeline/machines/template';

/** Calls a pipeline step by name; what it throws becomes the Task's error (its `name` is the ASL error). */
export type StepDispatcher = (step: string, input: unknown, context: { readonly stateName: string; readonly executionName: string }) => Promise<unknown>;

export class AslDefinitionError extends SlipwayError {
  constructor(machine: string, problems: string) {
    super(`state machine ${machine} is not valid ASL: ${problems}`, 'ASL_INVALID', { machine });
  }
}

/** Fields of JSONata states, and Assign: the local runner would ignore them, so machines must not use them. */
const IGNORED_LOCALLY = ['Assign', 'Arguments', 'Output'];

/** Check a definition with asl-validator (which modifies its input, so it gets a copy) and refuse what runs differently here. */
export function validateDefinition(machine: string, definition: AslDefinition): void {
  const copy = structuredClone(definition) as unknown as Parameters<typeof aslValidator>[0];
  const validation = aslValidator(copy, { checkArn: true, checkPaths: true });
  if (!validation.isValid) throw new AslDefinitionError(machine, validation.errorsText('; '));
  const problems: string[] = [];
  const visit = (node: Record<string, unknown>, where: string): void => {
    if (node.QueryLanguage !== undefined && node.QueryLanguage !== 'JSONPath') problems.push(`${where} uses QueryLanguage ${JSON.stringify(node.QueryLanguage)}`);
    for (const field of IGNORED_LOCALLY) if (field in node) problems.push(`${where} uses ${field}`);
    const processor = node.ItemProcessor as { ProcessorConfig?: { Mode?: string }; States?: Record<string, Record<string, unknown>> } | undefined;
    if (processor?.ProcessorConfig?.Mode === 'DISTRIBUTED') problems.push(`${where} is a Distributed Map`);
    const nested = [processor?.States, (node.Iterator as { States?: Record<string, Record<string, unknown>> } | undefined)?.States, node.States as Record<string, Record<string, unknown>> | undefined];
    for (const states of nested) for (const [name, state] of Object.entries(states ?? {})) visit(state, `state ${name}`);
    for (const branch of (node.Branches ?? []) as { States: Record<string, Record<string, unknown>> }[]) for (const [name, state] of Object.entries(branch.States)) visit(state, `state ${name}`);
  };
  visit(definition, 'the machine');
  if (problems.length > 0) throw new AslDefinitionError(machine, `${problems.join('; ')}: the local runner would not execute this as AWS does; keep machines on JSONPath without Assign`);
}

export interface RunOptions {
  /** Execution name (Step Functions' `$$.Execution.Name`), e.g. derived from a bundle version. */
  readonly executionName: string;
  /** Milliseconds to wait in each Wait state instead of its duration (tests); real durations otherwise. */
  readonly waitMs?: number;
}

/** How an execution ended, as Step Functions' DescribeExecution reports it. */
export type ExecutionOutcome =
  | { readonly status: 'SUCCEEDED'; readonly output: unknown }
  | { readonly status: 'FAILED'; readonly error: string; readonly cause: string }
  | { readonly status: 'ABORTED' };

export interface LocalExecution {
  readonly outcome: Promise<ExecutionOutcome>;
  abort(): void;
}

/** Where a Task's step name is found: the `step` field CDK's task payload carries. */
function stepOf(input: unknown, stateName: string): { step: string; payload: unknown } {
  if (input && typeof input === 'object' && 'step' in input && typeof (input).step === 'string') {
    const { step, input: payload } = input as { step: string; input?: unknown };
    return { step, payload };
  }
  throw new SlipwayError(`Task state ${stateName} does not name a step in its Parameters`, 'ASL_NO_STEP', { state: stateName });
}

export class LocalStateMachine {
  private readonly machine: StateMachine;
  private readonly tasks: string[];
  private readonly waits: string[];

  constructor(
    readonly name: string,
    readonly definition: AslDefinition,
    private readonly dispatch: StepDispatcher,
  ) {
    validateDefinition(name, definition);
    // The runner normalises the definition it is given in place; it gets a copy.
    this.machine = new StateMachine(structuredClone(definition) as unknown as ConstructorParameters<typeof StateMachine>[0], { validationOptions: { checkArn: true, checkPaths: true } });
    this.tasks = statesOfType(definition, 'Task').map((t) => t.name);
    this.waits = statesOfType(definition, 'Wait').map((t) => t.name);
  }

  start(input: unknown, options: RunOptions): LocalExecution {
    const handlers: LocalHandlers = Object.fromEntries(
      this.tasks.map((stateName) => [
        stateName,
        async (taskInput: JSONValue): Promise<JSONValue> => {
          const { step, payload } = stepOf(taskInput, stateName);
          return (await this.dispatch(step, payload, { stateName, executionName: options.executionName })) as JSONValue;
        },
      ]),
    );
    const waitTimeOverrides = options.waitMs === undefined ? undefined : Object.fromEntries(this.waits.map((w) => [w, options.waitMs as number]));
    const execution = this.machine.run(input as JSONValue, {
      overrides: { taskResourceLocalHandlers: handlers, ...(waitTimeOverrides ? { waitTimeOverrides } : {}) },
      context: { Execution: { Id: `arn:aws:states:local:000000000000:execution:${this.name}:${options.executionName}`, Name: options.executionName, Input: input as JSONValue, StartTime: new Date().toISOString() } },
    });
    const outcome = (execution.result as Promise<unknown>).then(
      (output): ExecutionOutcome => ({ status: 'SUCCEEDED', output }),
      (e: unknown): ExecutionOutcome => {
        if (e instanceof ExecutionAbortedError) return { status: 'ABORTED' };
        // The runner wraps the failing state's error; its name and message are the ASL Error and Cause.
        const inner = e instanceof ExecutionError && e.cause instanceof Error ? e.cause : e instanceof Error ? e : new Error(String(e));
        return { status: 'FAILED', error: inner.name, cause: inner.message };
      },
    );
    return { outcome, abort: () => execution.abort() };
  }
}
