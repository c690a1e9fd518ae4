/**
 * A local pipeline for tests: the state machines synthesised by CDK, run on the local runner with
 * real local stores (records, bundles, environments) and test doubles for the builder, provisioner
 * and runtime.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guardContext } from '../../lib/aws/step-capabilities';
import { LocalStateMachine } from '../../lib/local/asl-runner';
import type { ExecutionOutcome } from '../../lib/local/asl-runner';
import { DirBundleStore } from '../../lib/local/dir-bundle-store';
import { LocalExecutions } from '../../lib/local/executions';
import type { TrackedExecution } from '../../lib/local/executions';
import { FileRecordTable } from '../../lib/local/file-record-table';
import { deployExecutionName } from '../../lib/pipeline/bundle/key';
import type { SlipwayEvent } from '../../lib/pipeline/events';
import { EventPublisher } from '../../lib/pipeline/events';
import type { AslDefinition } from '../../lib/pipeline/machines/template';
import { synthesizeMachines as synthesizeRackMachines } from '../../lib/pipeline/machines/pipeline-machines';
import type { Provisioner } from '../../lib/pipeline/ports/runtime';
import type { DeployConfig, DeployContext } from '../../lib/pipeline/steps/deploy';
import { DEPLOY_STEPS } from '../../lib/pipeline/steps/deploy';
import { ROLLBACK_STEPS, unpinApp } from '../../lib/pipeline/steps/rollback';
import { TIMER_STEPS } from '../../lib/pipeline/steps/timer';
import { CLEANUP_STEPS } from '../../lib/pipeline/steps/cleanup';
import type { CleanupConfig } from '../../lib/pipeline/steps/cleanup';
import { RecordEnvStore } from '../../lib/pipeline/stores/env-store';
import { ReleaseStore } from '../../lib/pipeline/stores/release-store';
import { AlarmsDouble, BuilderDouble, ProvisionerDouble, RuntimeDouble, SchedulerDouble } from './pipeline-doubles';
import { tarArchive } from '../../lib/pipeline/bundle/tar-writer';

export const CONFIG: DeployConfig = { pollSeconds: 1, queuePollSeconds: 1, leaseSeconds: 60, bakeSeconds: 0, progressDeadlineSeconds: 600 };
/** Keep one release beyond the protected ones, and no grace period, so tests see deletions at once. */
export const CLEANUP_CONFIG: CleanupConfig = { keepReleases: 1, jobRetentionHours: 0, graceHours: 0 };

/** The machines as the rack's template holds them (one placeholder function serves every step). */
export function synthesizeMachines(): { deploy: AslDefinition; rollback: AslDefinition; timer: AslDefinition; cleanup: AslDefinition; template: Record<string, unknown> } {
  const { definitions, template } = synthesizeRackMachines(CONFIG, CLEANUP_CONFIG);
  return { deploy: definitions.Deploy, rollback: definitions.Rollback, timer: definitions.Timer, cleanup: definitions.Cleanup, template };
}

let cached: ReturnType<typeof synthesizeMachines> | undefined;
const machines = (): ReturnType<typeof synthesizeMachines> => (cached ??= synthesizeMachines());

export const MANIFEST =
  'services:\n  web:\n    build: .\n    port: 3000\n    health: /health\n    environment:\n      - API_KEY\nresources:\n  db:\n    type: postgres\ntimers:\n  cleanup:\n    schedule: "0 3 * * *"\n    command: node cleanup.js --all\n    service: web\n    concurrency: forbid\n';

export function bundle(version: string, manifest = MANIFEST): Buffer {
  return tarArchive([
    { name: 'convox.yml', body: manifest },
    { name: 'Dockerfile', body: 'FROM node:20\nCOPY . .\nCMD ["node", "server.js"]\n' },
    { name: 'server.js', body: `console.log(${JSON.stringify(version)})` },
  ]);
}

function dispatcher(steps: object, context: { current?: DeployContext }) {
  const table = steps as Record<string, (input: unknown, c: DeployContext) => Promise<unknown>>;
  return (step: string, input: unknown): Promise<unknown> => {
    const fn = table[step];
    if (!fn || !context.current) throw new Error(`no step ${step}`);
    // Each step sees only the ports its AWS role may use (lib/aws/step-capabilities.ts).
    return fn(input, guardContext(step, context.current));
  };
}

export interface LocalPipelineOptions {
  /**
   * The provisioner behind the port instead of the double (the returned `provisioner` is then
   * the unused double; the test keeps its own reference to the one it passed).
   */
  readonly provisioner?: Provisioner;
}

export async function localPipeline(config: DeployConfig = CONFIG, options: LocalPipelineOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-pipeline-'));
  const table = new FileRecordTable(join(dir, 'records'));
  const store = new ReleaseStore(table);
  const env = new RecordEnvStore(table);
  const events: SlipwayEvent[] = [];
  const builder = new BuilderDouble();
  const runtime = new RuntimeDouble();
  const provisioner = new ProvisionerDouble();
  const scheduler = new SchedulerDouble();
  const alarms = new AlarmsDouble();
  const executions = new LocalExecutions(5);
  const started: TrackedExecution[] = [];
  const context: { current?: DeployContext } = {};
  const machine = new LocalStateMachine('Deploy', machines().deploy, dispatcher(DEPLOY_STEPS, context));
  const rollbackMachine = new LocalStateMachine('Rollback', machines().rollback, dispatcher(ROLLBACK_STEPS, context));
  const timerMachine = new LocalStateMachine('Timer', machines().timer, dispatcher(TIMER_STEPS, context));
  const cleanupMachine = new LocalStateMachine('Cleanup', machines().cleanup, dispatcher(CLEANUP_STEPS, context));
  const bundles = new DirBundleStore(join(dir, 'bundles'), {
    onObjectCreated: (event) => {
      const name = deployExecutionName(event.detail.bucket.name, event.detail.object.key, event.detail.object['version-id']);
      const { execution, started: fresh } = executions.start(machine, name, { event, config });
      if (fresh) started.push(execution);
    },
  });
  context.current = {
    store,
    bundles,
    builder,
    provisioner: options.provisioner ?? provisioner,
    runtime,
    env,
    scheduler,
    alarms,
    events: new EventPublisher({ put: (e) => Promise.resolve(void events.push(...e)) }),
    clock: { now: () => Date.now() },
    workDir: join(dir, 'work'),
  };
  await store.createApp('shop');
  await env.set('shop', { API_KEY: 'k3y-value-never-shown' });
  let rollbacks = 0;
  /** Start a console rollback, as an operator would from the Step Functions console. */
  const rollback = (input: Record<string, unknown>): Promise<ExecutionOutcome> =>
    executions.start(rollbackMachine, `rollback-${++rollbacks}`, input).execution.outcome;
  let timerRuns = 0;
  /** Start a timer's run, as its EventBridge schedule would. */
  const runTimer = (input: { app: string; timer: string }): Promise<ExecutionOutcome> => executions.start(timerMachine, `timer-${++timerRuns}`, input).execution.outcome;
  let cleanups = 0;
  /** Start the daily cleanup, as its schedule would. */
  const cleanup = (): Promise<ExecutionOutcome> => executions.start(cleanupMachine, `cleanup-${++cleanups}`, {}).execution.outcome;
  const unpin = (by: string): Promise<void> => unpinApp(context.current as DeployContext, 'shop', by);
  return { store, env, bundles, builder, runtime, provisioner, scheduler, alarms, events, executions, started, machine, rollback, runTimer, cleanup, unpin };
}

export type LocalPipeline = Awaited<ReturnType<typeof localPipeline>>;

/** Upload a bundle and wait for its deploy. */
export async function deploy(p: LocalPipeline, version: string, options: { manifest?: string; metadata?: Record<string, string> } = {}): Promise<ExecutionOutcome> {
  await p.bundles.put('shop', 'app.tgz', bundle(version, options.manifest), options.metadata);
  const execution = p.started[p.started.length - 1];
  if (!execution) throw new Error('no deploy started');
  return execution.outcome;
}

export const types = (events: SlipwayEvent[]): string[] => events.map((e) => e['detail-type']);

export async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
