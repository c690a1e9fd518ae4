/**
 * Runs a state machine's ASL on this machine with aws-local-stepfunctions: every Task state calls
 * the pipeline step it names, in process, with the local rack's adapters behind the ports.
 * Definitions are checked with asl-validator first, and must stay on what the local runner
 * executes faithfully: JSONPath only (no JSONata, no Assign, no Distributed Map).
 */
import './promise-with-resolvers';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
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

/**
 * Which definitions passed the checks, by digest. asl-validator builds its JSON-schema validator
 * afresh on every call (a second or more of CPU each on a busy machine), and the local rack checks
 * its four machines each time it starts: after a crash, that is time no app can deploy. The rack
 * keeps the digests in its state folder (ValidatedDefinitionsFile); a process remembers its own.
 */
export interface ValidatedDefinitions {
  has(digest: string): boolean;
  add(digest: string): void;
}

/** Bump when the checks below change, so that definitions remembered as valid are checked again. */
const CHECKS_VERSION = 1;
const VALIDATOR_VERSION = (createRequire(import.meta.url)('asl-validator/package.json') as { version: string }).version;
const checkedHere = new Set<string>();

/** What a verdict depends on: the definition's text, the checks and asl-validator's version. */
export function definitionDigest(definition: AslDefinition): string {
  return createHash('sha256').update(`checks ${CHECKS_VERSION} asl-validator ${VALIDATOR_VERSION}\n${JSON.stringify(definition)}`).digest('hex');
}

/** The digests in a JSON file, written aside and renamed (a crash mid-write leaves the old list, or none: then the checks run again). */
export class ValidatedDefinitionsFile implements ValidatedDefinitions {
  private readonly digests: Set<string>;

  constructor(private readonly file: string) {
    let known: unknown = [];
    try {
      known = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      // None yet, or unreadable: every definition is checked.
    }
    this.digests = new Set(Array.isArray(known) ? known.filter((d): d is string => typeof d === 'string') : []);
  }

  has(digest: string): boolean {
    return this.digests.has(digest);
  }

  add(digest: string): void {
    if (this.digests.has(digest)) return;
    this.digests.add(digest);
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const temp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
      writeFileSync(temp, JSON.stringify([...this.digests]));
      renameSync(temp, this.file);
    } catch {
      // Not remembered: the next start checks again.
    }
  }
}

/** Check a definition with asl-validator (which modifies its input, so it gets a copy) and refuse what runs differently here. */
export function validateDefinition(machine: string, definition: AslDefinition, remembered?: ValidatedDefinitions): void {
  const digest = definitionDigest(definition);
  if (remembered?.has(digest)) return;
  if (checkedHere.has(digest)) {
    remembered?.add(digest);
    return;
  }
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
  checkedHere.add(digest);
  remembered?.add(digest);
}

export interface RunOptions {
  /** Execution name (Step Functions' `$$.Execution.Name`), e.g. derived from a bundle version. */
  readonly executionName: string;
  /** Milliseconds to wait in each Wait state instead of its duration (tests); real durations otherwise. */
  readonly waitMs?: number;
  /** Told the name of each Task state as the execution enters it (what DescribeExecution's history would show). */
  readonly onTask?: (stateName: string) => void;
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
    options: { readonly validated?: ValidatedDefinitions } = {},
  ) {
    validateDefinition(name, definition, options.validated);
    // The runner normalises the definition it is given in place; it gets a copy. Its own check
    // is asl-validator with the options validateDefinition used: done already.
    this.machine = new StateMachine(structuredClone(definition) as unknown as ConstructorParameters<typeof StateMachine>[0], { validationOptions: { noValidate: true } });
    this.tasks = statesOfType(definition, 'Task').map((t) => t.name);
    this.waits = statesOfType(definition, 'Wait').map((t) => t.name);
  }

  start(input: unknown, options: RunOptions): LocalExecution {
    const handlers: LocalHandlers = Object.fromEntries(
      this.tasks.map((stateName) => [
        stateName,
        async (taskInput: JSONValue): Promise<JSONValue> => {
          const { step, payload } = stepOf(taskInput, stateName);
          options.onTask?.(stateName);
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
