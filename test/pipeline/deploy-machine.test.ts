/**
 * The Deploy state machine, run through the ASL CDK synthesises, on the local runner, with real
 * local stores (records, bundles) and test doubles for the builder, provisioner and runtime. Each
 * test asserts the releases, the app's current release and the events.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime as LambdaRuntime } from 'aws-cdk-lib/aws-lambda';
import { DefinitionBody, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { LocalStateMachine } from '../../lib/local/asl-runner';
import type { ExecutionOutcome } from '../../lib/local/asl-runner';
import { DirBundleStore } from '../../lib/local/dir-bundle-store';
import { LocalExecutions } from '../../lib/local/executions';
import type { TrackedExecution } from '../../lib/local/executions';
import { FileRecordTable } from '../../lib/local/file-record-table';
import { deployExecutionName } from '../../lib/pipeline/bundle/key';
import type { SlipwayEvent } from '../../lib/pipeline/events';
import { EventPublisher } from '../../lib/pipeline/events';
import { deployDefinition } from '../../lib/pipeline/machines/deploy';
import { machinesFromTemplate } from '../../lib/pipeline/machines/template';
import type { AslDefinition } from '../../lib/pipeline/machines/template';
import type { DeployConfig, DeployContext } from '../../lib/pipeline/steps/deploy';
import { DEPLOY_STEPS } from '../../lib/pipeline/steps/deploy';
import { RecordEnvStore } from '../../lib/pipeline/stores/env-store';
import { ReleaseStore } from '../../lib/pipeline/stores/release-store';
import { BuilderDouble, ProvisionerDouble, RuntimeDouble } from '../support/pipeline-doubles';
import { tarArchive } from '../support/tar';

function synthesize(): { definition: AslDefinition; template: Record<string, unknown> } {
  const stack = new Stack(new App(), 'Pipeline');
  const fn = new LambdaFunction(stack, 'Steps', { runtime: LambdaRuntime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => ({})') });
  new StateMachine(stack, 'Deploy', { definitionBody: DefinitionBody.fromChainable(deployDefinition(stack, () => fn)) });
  const template = Template.fromStack(stack).toJSON() as Record<string, unknown>;
  const machine = machinesFromTemplate(template as Parameters<typeof machinesFromTemplate>[0]).find((m) => m.name === 'Deploy');
  if (!machine) throw new Error('no Deploy machine in the template');
  return { definition: machine.definition, template };
}

const { definition } = synthesize();

const MANIFEST = 'services:\n  web:\n    build: .\n    port: 3000\n    health: /health\n    environment:\n      - API_KEY\nresources:\n  db:\n    type: postgres\n';
function bundle(version: string): Buffer {
  return tarArchive([
    { name: 'convox.yml', body: MANIFEST },
    { name: 'Dockerfile', body: 'FROM node:20\nCOPY . .\nCMD ["node", "server.js"]\n' },
    { name: 'server.js', body: `console.log(${JSON.stringify(version)})` },
  ]);
}

const CONFIG: DeployConfig = { pollSeconds: 1, queuePollSeconds: 1, leaseSeconds: 60, bakeSeconds: 0, progressDeadlineSeconds: 600 };

async function rack(config: DeployConfig = CONFIG) {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-deploy-'));
  const table = new FileRecordTable(join(dir, 'records'));
  const store = new ReleaseStore(table);
  const env = new RecordEnvStore(table);
  const events: SlipwayEvent[] = [];
  const builder = new BuilderDouble();
  const runtime = new RuntimeDouble();
  const provisioner = new ProvisionerDouble();
  const executions = new LocalExecutions(5);
  const started: TrackedExecution[] = [];
  const steps = DEPLOY_STEPS as unknown as Record<string, (input: unknown, c: DeployContext) => Promise<unknown>>;
  const context: { current?: DeployContext } = {};
  const machine = new LocalStateMachine('Deploy', definition, (step, input) => {
    const fn = steps[step];
    if (!fn || !context.current) throw new Error(`no step ${step}`);
    return fn(input, context.current);
  });
  const bundles = new DirBundleStore(join(dir, 'bundles'), {
    onObjectCreated: (event) => {
      const name = deployExecutionName(event.detail.bucket.name, event.detail.object.key, event.detail.object['version-id']);
      const { execution, started: fresh } = executions.start(machine, name, { event, config });
      if (fresh) started.push(execution);
    },
  });
  context.current = { store, bundles, builder, provisioner, runtime, env, events: new EventPublisher({ put: (e) => Promise.resolve(void events.push(...e)) }), clock: { now: () => Date.now() }, workDir: join(dir, 'work') };
  await store.createApp('shop');
  await env.set('shop', { API_KEY: 'k3y-value-never-shown' });
  return { store, env, bundles, builder, runtime, provisioner, events, executions, started, machine };
}

type Rack = Awaited<ReturnType<typeof rack>>;

async function deploy(r: Rack, version: string): Promise<ExecutionOutcome> {
  await r.bundles.put('shop', 'app.tgz', bundle(version));
  const execution = r.started[r.started.length - 1];
  if (!execution) throw new Error('no deploy started');
  return execution.outcome;
}

const types = (events: SlipwayEvent[]): string[] => events.map((e) => e['detail-type']);

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the Deploy state machine (synthesised ASL, local runner; builder, provisioner and runtime are test doubles)', () => {
  it('deploys an upload: builds, provisions, rolls out, gates and promotes', async () => {
    const r = await rack();
    const outcome = await deploy(r, 'v1');
    expect(outcome.status).toBe('SUCCEEDED');
    const releases = await r.store.listReleases('shop');
    expect(releases).toHaveLength(1);
    expect(releases[0]?.description).toMatch(/^build B[A-Z]{10}$/);
    expect((await r.store.getApp('shop'))?.release).toBe(releases[0]?.id);
    expect(r.runtime.applied).toEqual([releases[0]?.id]);
    expect(r.runtime.envSeen[0]).toEqual({ API_KEY: 'k3y-value-never-shown' });
    expect(types(r.events)).toEqual([
      'Deployment Started',
      'Build Started',
      'Build Succeeded',
      'Release Created',
      'Resources Provisioned',
      'Rollout Started',
      'Health Gate Passed',
      'Deployment Succeeded',
    ]);
    expect(await r.store.lockOf('shop')).toBeUndefined();
    expect(JSON.stringify(r.events)).not.toContain('k3y-value-never-shown');
  });

  it('stops on a build failure: no release, nothing applied, the lock released', async () => {
    const r = await rack();
    r.builder.failing.set('web', 'RUN npm ci exited with code 1 (API_KEY=k3y-value-never-shown)');
    const outcome = await deploy(r, 'v1');
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'BuildFailed' });
    expect(await r.store.listReleases('shop')).toEqual([]);
    expect(r.runtime.applied).toEqual([]);
    expect(types(r.events)).toEqual(['Deployment Started', 'Build Started', 'Build Failed']);
    expect(r.events[2]?.detail.reason).toBe('RUN npm ci exited with code 1 (API_KEY=****)');
    expect(await r.store.lockOf('shop')).toBeUndefined();
    expect((await r.store.listBuilds('shop'))[0]?.status).toBe('failed');
  });

  it('rolls the previous release back in when the rollout fails', async () => {
    const r = await rack();
    await deploy(r, 'v1');
    const first = (await r.store.getApp('shop'))?.release;
    r.runtime.rolloutOf = (release) => (release === first ? {} : { fail: 'crash loop: exited with code 1 three times' });
    r.events.length = 0;
    const outcome = await deploy(r, 'v2');
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    const releases = await r.store.listReleases('shop');
    expect(releases).toHaveLength(2);
    expect((await r.store.getApp('shop'))?.release).toBe(first);
    expect(r.runtime.applied).toEqual([first, releases[0]?.id, first]);
    expect(types(r.events)).toContain('Rollout Failed');
    expect(r.events.at(-1)).toMatchObject({ 'detail-type': 'Deployment Rolled Back', detail: { previousRelease: first, release: releases[0]?.id } });
    expect(await r.store.lockOf('shop')).toBeUndefined();
  });

  it('rolls back when a health gate fails', async () => {
    const r = await rack();
    await deploy(r, 'v1');
    const first = (await r.store.getApp('shop'))?.release;
    r.runtime.healthy = (release) => release === first;
    r.events.length = 0;
    const outcome = await deploy(r, 'v2');
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect((await r.store.getApp('shop'))?.release).toBe(first);
    expect(types(r.events)).toEqual(expect.arrayContaining(['Health Gate Failed', 'Deployment Rolled Back']));
    expect(r.events.find((e) => e['detail-type'] === 'Health Gate Failed')?.detail).toMatchObject({ service: 'web', reason: '/health: answered 503' });
  });

  it('deploys a duplicated upload event once', async () => {
    const r = await rack();
    const stored = await r.bundles.put('shop', 'app.tgz', bundle('v1'));
    const machineStartsBefore = r.started.length;
    // The same Object Created event delivered again (EventBridge delivers at least once).
    const again = r.bundles.event(stored);
    const name = deployExecutionName(again.detail.bucket.name, again.detail.object.key, again.detail.object['version-id']);
    expect(r.executions.start(r.machine, name, { event: again, config: CONFIG }).started).toBe(false);
    expect(r.started).toHaveLength(machineStartsBefore);
    expect((await r.started[0]?.outcome)?.status).toBe('SUCCEEDED');
    expect(await r.store.listReleases('shop')).toHaveLength(1);
  });

  it('runs the first and the newest of three quick uploads; the middle one is superseded', async () => {
    const r = await rack();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // Hold the first deploy's rollout until the next two uploads are queued behind it.
    r.runtime.onPoll = () => (r.runtime.applied.length === 1 ? held : undefined);
    await r.bundles.put('shop', 'app.tgz', bundle('v1'));
    await until(() => r.runtime.applied.length === 1);
    await r.bundles.put('shop', 'app.tgz', bundle('v2'));
    await r.bundles.put('shop', 'app.tgz', bundle('v3'));
    // Each of the two has either queued behind the first or already seen the other and been superseded.
    await until(() => types(r.events).filter((t) => t === 'Deployment Queued' || t === 'Deployment Superseded').length >= 2);
    release();
    const outcomes = await Promise.all(r.started.map((e) => e.outcome));
    expect(outcomes.map((o) => o.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const succeeded = r.events.filter((e) => e['detail-type'] === 'Deployment Succeeded').map((e) => e.detail.execution);
    expect(succeeded).toEqual([r.started[0]?.name, r.started[2]?.name]);
    const superseded = r.events.filter((e) => e['detail-type'] === 'Deployment Superseded').map((e) => e.detail.execution);
    expect(superseded).toEqual([r.started[1]?.name]);
    expect(await r.store.listReleases('shop')).toHaveLength(2);
  });

  it('never leaves an app locked: a deploy killed mid-way frees the app when its lease expires', async () => {
    const r = await rack({ ...CONFIG, leaseSeconds: 2 });
    let killed = false;
    r.runtime.onPoll = () => {
      if (!killed) {
        killed = true;
        r.started[0]?.abort();
      }
    };
    await r.bundles.put('shop', 'app.tgz', bundle('v1'));
    expect((await r.started[0]?.outcome)?.status).toBe('ABORTED');
    expect((await r.store.lockOf('shop'))?.owner).toBe(r.started[0]?.name);
    const next = await deploy(r, 'v2');
    expect(next.status).toBe('SUCCEEDED');
    expect(types(r.events)).toContain('Deployment Queued');
    expect((await r.store.getApp('shop'))?.release).toBe((await r.store.listReleases('shop'))[0]?.id);
  });
});
