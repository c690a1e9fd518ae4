/**
 * The Cleanup machine's requests from the CLI (`{ deleteApp }`, `{ query: { processes } }`) and
 * its daily path, through the synthesised ASL on the local runner (aws-local-stepfunctions, with
 * the Promise.withResolvers polyfill the runner loads). Real local stores; builder, runtime and
 * scheduler are test doubles; each step sees only the ports its AWS role may use (guardContext).
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { guardContext } from '../../lib/aws/step-capabilities';
import { LocalStateMachine, validateDefinition } from '../../lib/local/asl-runner';
import type { ExecutionOutcome } from '../../lib/local/asl-runner';
import { EventPublisher } from '../../lib/pipeline/events';
import type { AslDefinition } from '../../lib/pipeline/machines/template';
import type { RuntimeProcess } from '../../lib/pipeline/ports/runtime';
import { CLEANUP_STEPS } from '../../lib/pipeline/steps/cleanup';
import type { DeployContext } from '../../lib/pipeline/steps/deploy';
import type { LocalPipeline } from '../support/local-pipeline';
import { deploy, localPipeline, synthesizeMachines, types } from '../support/local-pipeline';

let definition: AslDefinition;

beforeAll(() => {
  definition = synthesizeMachines().cleanup;
});

/** The pipeline's ports as the Cleanup machine's steps get them, each guarded by its step's capabilities. */
function cleanupMachine(p: LocalPipeline): (input: unknown) => Promise<ExecutionOutcome> {
  const context: DeployContext = {
    store: p.store,
    bundles: p.bundles,
    builder: p.builder,
    provisioner: p.provisioner,
    runtime: p.runtime,
    env: p.env,
    scheduler: p.scheduler,
    alarms: p.alarms,
    events: new EventPublisher({ put: (e) => Promise.resolve(void p.events.push(...e)) }),
    clock: { now: () => Date.now() },
    workDir: join(tmpdir(), 'slipway-cleanup-requests'),
  };
  const table = CLEANUP_STEPS as unknown as Record<string, (input: unknown, ctx: DeployContext) => Promise<unknown>>;
  const machine = new LocalStateMachine('Cleanup', definition, (step, input) => {
    const fn = table[step];
    if (!fn) throw new Error(`no step ${step}`);
    return fn(input, guardContext(step, context));
  });
  let runs = 0;
  return (input) => machine.start(input, { executionName: `maintenance-${++runs}`, waitMs: 0 }).outcome;
}

const PROCESSES: RuntimeProcess[] = [
  { id: 'web-7d9f-abcde', service: 'web', release: 'RAAAAAAAAAA', status: 'running', startedAt: '2026-11-28T10:00:00.000Z', command: 'node server.js' },
  { id: 'web-7d9f-fghij', service: 'web', release: 'RAAAAAAAAAA', status: 'crashloop' },
];

describe('the Cleanup machine\u2019s requests (synthesised ASL, local runner; builder, runtime and scheduler are test doubles)', () => {
  it('starts with a Choice on the request, and stays valid ASL on JSONPath', () => {
    expect(() => validateDefinition('Cleanup', definition)).not.toThrow();
    const start = definition.States[definition.StartAt] as { Type: string; Choices: { Variable: string; IsPresent: boolean }[] };
    expect(start.Type).toBe('Choice');
    expect(start.Choices.map((c) => [c.Variable, c.IsPresent])).toEqual([
      ['$.deleteApp', true],
      ['$.query.processes', true],
    ]);
  });

  it('{ query: { processes } } answers the app\u2019s processes as its output, and changes nothing', async () => {
    const p = await localPipeline();
    p.runtime.processes.set('shop', PROCESSES);
    const run = cleanupMachine(p);
    expect(await run({ query: { processes: 'shop' } })).toEqual({ status: 'SUCCEEDED', output: { app: 'shop', processes: PROCESSES } });
    expect(p.events).toEqual([]);
    expect(await p.store.getApp('shop')).toBeDefined();
  });

  it('a query for an app that does not exist, or with no valid app name, fails with the step\u2019s error and message', async () => {
    const p = await localPipeline();
    const run = cleanupMachine(p);
    expect(await run({ query: { processes: 'nope' } })).toEqual({ status: 'FAILED', error: 'NotFoundError', cause: 'app not found: nope' });
    expect(await run({ query: { processes: 'Not An App' } })).toMatchObject({ status: 'FAILED', error: 'MaintenanceRequestError', cause: expect.stringContaining('must name a valid app') as unknown });
  });

  it('{ deleteApp } refuses while a deploy holds the app: AppBusy, with the holder in the cause; nothing is deleted', async () => {
    const p = await localPipeline();
    expect((await deploy(p, 'v1')).status).toBe('SUCCEEDED');
    const lease = await p.store.acquireLock('shop', 'deploy-in-progress', 60_000);
    expect(lease).toBeDefined();
    const outcome = await cleanupMachine(p)({ deleteApp: { app: 'shop', by: 'alice' } });
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'AppBusy', cause: expect.stringContaining('while deploy-in-progress holds it') as unknown });
    expect(await p.store.getApp('shop')).toBeDefined();
    expect(p.runtime.removed).toBe(0);
  });

  it('{ deleteApp } deletes the app\u2019s processes, schedules, images and records, and ends in AppDeleted with what it did', async () => {
    const p = await localPipeline();
    expect((await deploy(p, 'v1')).status).toBe('SUCCEEDED');
    expect(p.scheduler.schedules.get('shop')?.size).toBe(1);
    const images = (await p.store.listBuilds('shop')).flatMap((b) => b.images.map((i) => i.image));
    p.events.length = 0;
    const outcome = await cleanupMachine(p)({ deleteApp: { app: 'shop', by: 'arn:aws:sts::111122223333:assumed-role/Deployer/alice' } });
    expect(outcome).toEqual({ status: 'SUCCEEDED', output: { app: 'shop', builds: 1, releases: 1, resourcesKept: ['db (postgres)'] } });
    expect(await p.store.getApp('shop')).toBeUndefined();
    expect(p.runtime.removed).toBe(1);
    expect(p.scheduler.schedules.get('shop')?.size).toBe(0);
    expect(p.builder.deleted).toEqual(images);
    expect(types(p.events)).toEqual(['App Deleted']);
    expect(p.events[0]?.detail).toMatchObject({ app: 'shop', reason: expect.stringContaining('deleted by arn:aws:sts::111122223333:assumed-role/Deployer/alice') as unknown });
  });

  it('a deleteApp request without who asks, or for an app that does not exist, fails and deletes nothing', async () => {
    const p = await localPipeline();
    const run = cleanupMachine(p);
    expect(await run({ deleteApp: { app: 'shop' } })).toMatchObject({ status: 'FAILED', error: 'MaintenanceRequestError', cause: expect.stringContaining('deleteApp.by') as unknown });
    expect(await run({ deleteApp: { app: 'nope', by: 'alice' } })).toEqual({ status: 'FAILED', error: 'NotFoundError', cause: 'app not found: nope' });
    expect(await p.store.getApp('shop')).toBeDefined();
  });

  it('any other input is the daily cleanup, as before', async () => {
    const p = await localPipeline();
    expect((await deploy(p, 'v1')).status).toBe('SUCCEEDED');
    p.events.length = 0;
    const outcome = await cleanupMachine(p)({});
    expect(outcome.status).toBe('SUCCEEDED');
    expect(types(p.events)).toEqual(['Cleanup Completed']);
  });
});
