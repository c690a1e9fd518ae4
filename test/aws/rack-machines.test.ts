/**
 * The AWS rack end to end, short of an account: the RackStack is synthesized, its four state
 * machines' ASL is read from the template and run on the local runner, and every Task calls the
 * real step handler (lambdas/steps/) that the Task's Lambda function would run, configured from
 * the environment the stack gives it. The paths run in order over one rack, as an app's life
 * would: a deploy, a deploy that fails its health gate, a console rollback, a timer run, cleanup.
 * The app's env values are watched for (test/support/planted-secrets.ts) in everything the run
 * produced: events, every step's input and output (the execution history's payloads), the
 * outcomes, the Lambdas' log output, CodeBuild and Scheduler requests, the cluster's objects
 * other than the env Secret, and the DynamoDB table, where the env store must hold them sealed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { overrideRackContext } from '../../lambdas/shared/rack';
import { DynamoRecordTable } from '../../lib/aws/adapters/dynamo-record-table';
import { scheduleName } from '../../lib/aws/adapters/eventbridge-scheduler';
import { KmsEnvStore } from '../../lib/aws/adapters/kms-env-store';
import { objectCreatedEvent } from '../../lib/aws/adapters/s3-bundle-store';
import type { RackSettings } from '../../lib/aws/rack-context';
import { RACK_ENV } from '../../lib/aws/rack-context';
import { STEP_NAMES } from '../../lib/aws/step-capabilities';
import { LocalStateMachine, validateDefinition } from '../../lib/local/asl-runner';
import type { ExecutionOutcome, StepDispatcher } from '../../lib/local/asl-runner';
import { SLIPWAY_LABELS, namespaceOf } from '../../lib/kubernetes/objects';
import { deployExecutionName } from '../../lib/pipeline/bundle/key';
import { tarArchive } from '../../lib/pipeline/bundle/tar-writer';
import type { ReleaseId } from '../../lib/pipeline/domain/ids';
import { MACHINE_NAMES } from '../../lib/pipeline/machines/pipeline-machines';
import type { MachineName } from '../../lib/pipeline/machines/pipeline-machines';
import { deployTrigger } from '../../lib/pipeline/steps/trigger';
import { ReleaseStore } from '../../lib/pipeline/stores/release-store';
import type { Dynalite, RecordedEvent, SynthesizedRack } from '../support/aws-rack-harness';
import {
  AwsServiceMocks,
  createRecordTable,
  KubeControllers,
  kubernetesClusterPorts,
  lambdaDispatcher,
  logicalIdOf,
  rackSettings,
  REGION,
  setStepFunctionEnvironment,
  startDynalite,
  STEP_FUNCTION_VARIABLES,
  synthesizeRack,
  taskInvocations,
} from '../support/aws-rack-harness';
import { KubeApiTestDouble } from '../support/kube-api-double';
import { SecretScan, describeHits } from '../support/planted-secrets';

const APP = 'shop';
/** An env value of the app: it must reach the cluster's env Secret and nothing else here. */
const API_KEY = 'k3y-value-never-shown-7Qx';
/** Where the env values belong on this rack: the app's env Secret in the cluster. */
const IN_ENV_SECRET = [/^text:cluster Secret /];
const scan = new SecretScan();
scan.watch('env API_KEY', API_KEY, { allowedIn: IN_ENV_SECRET });
/** A second env value, planted: not in the manifest's environment list, so it rides along in the env only. */
const PLANTED_TOKEN = scan.plant('env token', { allowedIn: IN_ENV_SECRET });

const MANIFEST = [
  'services:',
  '  web:',
  '    build: .',
  '    port: 3000',
  '    health: /health',
  '    environment:',
  '      - API_KEY',
  'timers:',
  '  nightly:',
  '    schedule: "0 3 * * *"',
  '    command: node nightly.js',
  '    service: web',
  '',
].join('\n');

function bundle(version: string): Buffer {
  return tarArchive([
    { name: 'convox.yml', body: MANIFEST },
    { name: 'Dockerfile', body: 'FROM node:20\nCOPY . .\nCMD ["node", "server.js"]\n' },
    { name: 'server.js', body: `console.log(${JSON.stringify(version)})` },
  ]);
}

let rack: SynthesizedRack;
let settings: RackSettings;
let workDir: string;
let dynamo: Dynalite;
let store: ReleaseStore;
let aws: AwsServiceMocks;
let cluster: KubeApiTestDouble;
let controllers: KubeControllers;
let restoreEnvironment: (() => void) | undefined;
let machines: Record<MachineName, LocalStateMachine>;
/** What the health path of every service answers through the API server's Service proxy. */
let healthStatus = 200;
let runs = 0;

const types = (events: readonly RecordedEvent[]): string[] => events.map((e) => e.detailType);

/** Upload a bundle, and run the deploy the bundle trigger would start for it. */
async function upload(version: string): Promise<{ outcome: ExecutionOutcome; execution: string; events: RecordedEvent[] }> {
  const seen = aws.events.length;
  const stored = aws.putBundle(APP, 'app.tgz', bundle(version));
  const trigger = deployTrigger(objectCreatedEvent(settings.bundleBucket, stored, new Date()), rack.deployConfig);
  if (!trigger.start) throw new Error(`the trigger refused the upload: ${trigger.reason}`);
  expect(trigger.name).toBe(deployExecutionName(settings.bundleBucket, stored.key, stored.version));
  const outcome = await machines.Deploy.start(trigger.input, { executionName: trigger.name, waitMs: 0 }).outcome;
  scan.collect(`execution Deploy ${trigger.name} input`, JSON.stringify(trigger.input));
  scan.collect(`execution Deploy ${trigger.name} outcome`, JSON.stringify(outcome));
  return { outcome, execution: trigger.name, events: aws.events.slice(seen) };
}

async function run(machine: MachineName, input: unknown): Promise<{ outcome: ExecutionOutcome; events: RecordedEvent[] }> {
  const seen = aws.events.length;
  const outcome = await machines[machine].start(input, { executionName: `${machine.toLowerCase()}-${++runs}`, waitMs: 0 }).outcome;
  scan.collect(`execution ${machine} ${runs} input`, JSON.stringify(input));
  scan.collect(`execution ${machine} ${runs} outcome`, JSON.stringify(outcome));
  return { outcome, events: aws.events.slice(seen) };
}

/** The web Deployment as the cluster holds it, and the release its pods run. */
function webDeployment(): { release: string | undefined; image: string | undefined } {
  const live = cluster.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: namespaceOf(settings.rackName, APP), name: 'web' });
  const template = (live?.spec as { template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: { image?: string }[] } } } | undefined)?.template;
  return { release: template?.metadata?.labels?.[SLIPWAY_LABELS.release], image: template?.spec?.containers?.[0]?.image };
}

describe('the rack\u2019s synthesized machines with the real step handlers (DynamoDB on dynalite; S3, KMS, EventBridge, CodeBuild, ECR, Scheduler and CloudWatch via aws-sdk-client-mock; the cluster is the Kubernetes API test double)', () => {
  beforeAll(async () => {
    rack = synthesizeRack();
    workDir = mkdtempSync(join(tmpdir(), 'slipway-rack-machines-'));
    settings = rackSettings(workDir);
    dynamo = await startDynalite(REGION);
    await createRecordTable(dynamo.client, settings.table);
    restoreEnvironment = setStepFunctionEnvironment(settings, dynamo.endpoint);
    aws = new AwsServiceMocks(settings);
    cluster = await KubeApiTestDouble.start();
    cluster.onServiceProxy(({ path }) => (path === '/health' ? { status: healthStatus, body: healthStatus === 200 ? 'ok' : 'failing' } : { status: 404 }));
    controllers = new KubeControllers(cluster);
    overrideRackContext({ cluster: kubernetesClusterPorts(cluster) });
    // What the Lambdas log (Powertools writes to stdout and stderr), kept for the secret scan and passed on.
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
      vi.spyOn(stream, 'write').mockImplementation((chunk: unknown, ...rest: unknown[]) => {
        scan.collect(stream === process.stdout ? 'lambda stdout' : 'lambda stderr', typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
        return write(chunk, ...rest);
      });
    }
    const lambdas = lambdaDispatcher();
    // Every Task's input and output: the payloads Step Functions keeps in the execution's history.
    const dispatch: StepDispatcher = async (step, input, context) => {
      scan.collect(`step ${step} input`, JSON.stringify(input));
      const output = await lambdas(step, input, context);
      scan.collect(`step ${step} output`, JSON.stringify(output));
      return output;
    };
    machines = Object.fromEntries(MACHINE_NAMES.map((name) => [name, new LocalStateMachine(name, rack.machines[name], dispatch)])) as Record<MachineName, LocalStateMachine>;

    // The app and its environment, as `slipway apps create` and `slipway env set` leave them.
    const table = new DynamoRecordTable(dynamo.client, settings.table);
    store = new ReleaseStore(table);
    await store.createApp(APP);
    await new KmsEnvStore(table, new KMSClient({ region: REGION }), settings.keyArn).set(APP, { API_KEY, PLANTED_TOKEN });
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    overrideRackContext({});
    controllers?.stop();
    aws?.restore();
    restoreEnvironment?.();
    await cluster?.close();
    await dynamo?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('synthesizes four machines whose ASL passes asl-validator and stays on what the local runner executes as AWS does', () => {
    for (const name of MACHINE_NAMES) expect(() => validateDefinition(name, rack.machines[name])).not.toThrow();
  });

  it('wires every Task state to the Lambda function of the step its payload names, and every step to a handler', () => {
    const functionOf = (step: string): string | undefined => {
      const fn = (rack.stack.pipeline.functions as Record<string, { node: { defaultChild?: unknown } } | undefined>)[step];
      return fn ? logicalIdOf(rack.stack, fn) : undefined;
    };
    const called = new Set<string>();
    for (const name of MACHINE_NAMES) {
      const tasks = taskInvocations(rack.machines[name]);
      expect(tasks.length).toBeGreaterThan(0);
      for (const task of tasks) {
        expect(typeof task.step, `${name}.${task.state} names no step`).toBe('string');
        const step = String(task.step);
        expect(functionOf(step), `${name}.${task.state} calls step ${step}, which has no function`).toBeDefined();
        expect(task.functionLogicalId, `${name}.${task.state} (step ${step})`).toBe(functionOf(step));
        called.add(step);
      }
    }
    // No step function is left that no machine calls.
    expect([...called].sort()).toEqual([...STEP_NAMES].sort());
  });

  it('gives the step functions only the rack\u2019s resource names and Powertools\u2019 settings as environment, no secret', () => {
    for (const step of STEP_NAMES) {
      const resource = rack.template.Resources[logicalIdOf(rack.stack, rack.stack.pipeline.functions[step])];
      const variables = (resource?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      const names = Object.keys(variables);
      expect(names.filter((n) => !STEP_FUNCTION_VARIABLES.has(n)), `step ${step}`).toEqual([]);
      expect(names, `step ${step}`).toEqual(expect.arrayContaining(Object.values(RACK_ENV)));
    }
    expect(JSON.stringify(rack.template)).not.toContain(API_KEY);
  });

  let first: ReleaseId;

  it('(a) deploys an upload: built by CodeBuild, rolled out to the cluster, promoted, its timer scheduled', async () => {
    const { outcome, events } = await upload('v1');
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    const app = await store.getApp(APP);
    const [release] = await store.listReleases(APP);
    expect(app?.release).toBeDefined();
    expect(app?.release).toBe(release?.id);
    first = app?.release as ReleaseId;

    expect(types(events)[0]).toBe('Deployment Started');
    expect(types(events).at(-1)).toBe('Deployment Succeeded');
    expect(types(events)).toEqual(expect.arrayContaining(['Build Started', 'Build Succeeded', 'Release Created', 'Resources Provisioned', 'Rollout Started', 'Health Gate Passed']));
    expect(events.every((e) => e.source === 'slipway' && e.bus === settings.eventBus)).toBe(true);
    expect(events.at(-1)?.detail).toMatchObject({ app: APP, release: first });

    expect(aws.builds).toHaveLength(1);
    expect(aws.builds[0]).toMatchObject({ projectName: settings.buildProject });
    const deployed = webDeployment();
    expect(deployed.release).toBe(first);
    expect(deployed.image).toMatch(new RegExp(`^${settings.registry}/${settings.repositoryPrefix}${APP}@sha256:[0-9a-f]{64}$`));

    expect(aws.schedules).toEqual([
      expect.objectContaining({
        Name: scheduleName(APP, 'nightly'),
        GroupName: settings.scheduleGroup,
        ScheduleExpression: 'cron(0 3 * * ? *)',
        Target: expect.objectContaining({ Arn: settings.timerMachineArn, RoleArn: settings.schedulerRoleArn, Input: JSON.stringify({ app: APP, timer: 'nightly' }) }) as unknown,
      }),
    ]);
  });

  it('(b) rolls a deploy whose health path answers 500 back to the release before it', async () => {
    healthStatus = 500;
    try {
      const { outcome, events } = await upload('v2');
      expect(outcome).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
      expect((await store.getApp(APP))?.release).toBe(first);
      const [failed] = await store.listReleases(APP);
      expect(failed?.id).not.toBe(first);
      expect(types(events)).toEqual(expect.arrayContaining(['Deployment Started', 'Rollout Started', 'Health Gate Failed']));
      expect(types(events).at(-1)).toBe('Deployment Rolled Back');
      expect(events.at(-1)?.detail).toMatchObject({ app: APP, release: failed?.id, previousRelease: first });
      expect(types(events)).not.toContain('Deployment Succeeded');
      // The previous release serves again.
      expect(webDeployment().release).toBe(first);
    } finally {
      healthStatus = 200;
    }
  });

  it('(c) rolls back from the console: after another deploy, { app } goes back to the release before it and pins the app', async () => {
    const { outcome: deployed } = await upload('v3');
    expect(deployed).toMatchObject({ status: 'SUCCEEDED' });
    const third = (await store.getApp(APP))?.release;
    expect(third).not.toBe(first);

    const { outcome, events } = await run('Rollback', { app: APP });
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    const app = await store.getApp(APP);
    const [copy] = await store.listReleases(APP);
    expect(copy).toMatchObject({ description: `rollback to ${first}` });
    expect(app?.release).toBe(copy?.id);
    expect(app?.pin).toMatchObject({ release: copy?.id, by: 'console' });
    expect(types(events)).toEqual(['Rollback Started', 'Rollout Started', 'Health Gate Passed', 'Rollback Succeeded']);
    expect(webDeployment().release).toBe(copy?.id);
  });

  it('(d) runs a timer as a Job in the cluster and follows it to completion', async () => {
    const { outcome, events } = await run('Timer', { app: APP, timer: 'nightly' });
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    expect(types(events)).toEqual(['Timer Started', 'Timer Succeeded']);
    const jobs = cluster.all('Job');
    expect(jobs).toHaveLength(1);
    const job = jobs[0] as { metadata: { namespace: string; labels?: Record<string, string> }; status?: { conditions?: { type: string; status: string }[] } };
    expect(job.metadata.namespace).toBe(namespaceOf(settings.rackName, APP));
    expect(job.metadata.labels?.[SLIPWAY_LABELS.timer]).toBe('nightly');
    expect(job.status?.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Complete', status: 'True' })]));
  });

  it('(e) runs the daily cleanup over every app', async () => {
    const { outcome, events } = await run('Cleanup', {});
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    expect(types(events)).toEqual(['Cleanup Completed']);
    // Everything is younger than the grace period and within the releases kept: nothing goes.
    expect(events[0]?.detail).toMatchObject({ app: APP, counts: { releasesDeleted: 0, buildsDeleted: 0, bundlesDeleted: 0, imagesDeleted: 0, jobsDeleted: 0 } });
    expect((await store.listReleases(APP)).length).toBe(4);
  });

  it('keeps the app\u2019s env values out of every event: they reach the cluster only in the app\u2019s env Secret', () => {
    expect(aws.events.length).toBeGreaterThan(0);
    expect(aws.events.filter((e) => e.raw.includes(API_KEY))).toEqual([]);
    const holding = ['Deployment', 'Job', 'ConfigMap', 'Service', 'Ingress', 'Secret'].flatMap((kind) => cluster.all(kind)).filter((o) => JSON.stringify(o).includes(Buffer.from(API_KEY).toString('base64')) || JSON.stringify(o).includes(API_KEY));
    expect(holding.map((o) => o.kind)).toEqual(['Secret']);
  });

  it('keeps the env values out of the steps’ inputs and outputs, the outcomes, the Lambdas’ logs and every request, and sealed in DynamoDB', async () => {
    for (const e of aws.events) scan.collect(`event ${e.detailType}`, e.raw);
    for (const b of aws.builds) scan.collect('CodeBuild StartBuild', JSON.stringify(b));
    for (const c of aws.schedules) scan.collect('Scheduler CreateSchedule', JSON.stringify(c));
    for (const kind of ['Namespace', 'Deployment', 'Job', 'ConfigMap', 'Service', 'Ingress', 'Secret', 'ServiceAccount', 'Role', 'RoleBinding', 'NetworkPolicy', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']) {
      for (const o of cluster.all(kind)) scan.collect(`cluster ${kind} ${(o.metadata as { name?: string } | undefined)?.name ?? ''}`, JSON.stringify(o));
    }
    // The whole table, as DynamoDB holds it: the env versions are there, sealed.
    const items = (await dynamo.client.send(new ScanCommand({ TableName: settings.table }))).Items ?? [];
    const envItems = items.filter((i) => JSON.stringify(i).includes(`env#${APP}`));
    expect(envItems.length).toBeGreaterThan(1);
    for (const item of items) scan.collect('DynamoDB item', JSON.stringify(item));
    const report = await scan.scan([{ label: 'work', dir: workDir }]);
    expect(describeHits(report.leaks)).toEqual([]);
    expect(report.textsScanned).toBeGreaterThan(100);
    // Non-vacuous: both values reached the cluster's env Secret, and the scan catches one where it should not be.
    expect(report.allowed.map((h) => h.label).sort()).toEqual(expect.arrayContaining(['env API_KEY', 'planted env token']));
    expect(report.allowed.every((h) => h.location.startsWith('text:cluster Secret '))).toBe(true);
    expect(scan.watched.length).toBe(2);
    const { detected } = await scan.selfTest({ label: 'work', dir: workDir });
    expect(detected).toEqual(expect.arrayContaining(['env API_KEY at planted-secrets-self-test.log (plain)', 'planted env token at planted-secrets-self-test.json (base64)']));
  });
});
