/**
 * The AWS rack's Cleanup machine answering the CLI's requests, short of an account: its ASL read
 * from the synthesized RackStack runs on the local runner, and every Task calls the real step
 * handler (lambdas/steps/) configured as the stack configures it. The table is dynalite; KMS,
 * EventBridge and Scheduler are aws-sdk-client-mock stubs; the cluster is the Kubernetes API
 * test double, with pods made as the Deployment controller would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overrideRackContext } from '../../lambdas/shared/rack';
import { DynamoRecordTable } from '../../lib/aws/adapters/dynamo-record-table';
import { KmsEnvStore } from '../../lib/aws/adapters/kms-env-store';
import type { RackSettings } from '../../lib/aws/rack-context';
import { LocalStateMachine } from '../../lib/local/asl-runner';
import type { ExecutionOutcome } from '../../lib/local/asl-runner';
import { namespaceOf, SLIPWAY_LABELS } from '../../lib/kubernetes/objects';
import { ReleaseStore } from '../../lib/pipeline/stores/release-store';
import type { Dynalite } from '../support/aws-rack-harness';
import { AwsServiceMocks, createRecordTable, kubernetesClusterPorts, lambdaDispatcher, rackSettings, REGION, setStepFunctionEnvironment, startDynalite, synthesizeRack } from '../support/aws-rack-harness';
import { KubeApiTestDouble } from '../support/kube-api-double';

let settings: RackSettings;
let workDir: string;
let dynamo: Dynalite;
let store: ReleaseStore;
let aws: AwsServiceMocks;
let cluster: KubeApiTestDouble;
let restoreEnvironment: (() => void) | undefined;
let machine: LocalStateMachine;
const steps: string[] = [];
let runs = 0;

function run(input: unknown): Promise<ExecutionOutcome> {
  return machine.start(input, { executionName: `maintenance-${++runs}`, waitMs: 0 }).outcome;
}

describe('the rack\u2019s Cleanup machine on CLI requests, with the real step handlers (DynamoDB on dynalite; KMS, EventBridge, Scheduler via aws-sdk-client-mock; the cluster is the Kubernetes API test double)', () => {
  beforeAll(async () => {
    const rack = synthesizeRack();
    workDir = mkdtempSync(join(tmpdir(), 'slipway-rack-maintenance-'));
    settings = rackSettings(workDir);
    dynamo = await startDynalite(REGION);
    await createRecordTable(dynamo.client, settings.table);
    restoreEnvironment = setStepFunctionEnvironment(settings, dynamo.endpoint);
    aws = new AwsServiceMocks(settings);
    cluster = await KubeApiTestDouble.start();
    overrideRackContext({ cluster: kubernetesClusterPorts(cluster) });
    machine = new LocalStateMachine('Cleanup', rack.machines.Cleanup, lambdaDispatcher(steps));
    const table = new DynamoRecordTable(dynamo.client, settings.table);
    store = new ReleaseStore(table);
    for (const app of ['shop', 'blog']) {
      await store.createApp(app);
      await new KmsEnvStore(table, new KMSClient({ region: REGION }), settings.keyArn).set(app, { API_KEY: 'k3y' });
    }
    const ns = namespaceOf(settings.rackName, 'shop');
    cluster.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    cluster.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-7d9f-abcde', namespace: ns, labels: { [SLIPWAY_LABELS.managedBy]: 'slipway', [SLIPWAY_LABELS.app]: 'shop', [SLIPWAY_LABELS.service]: 'web', [SLIPWAY_LABELS.release]: 'RAAAAAAAAAA', [SLIPWAY_LABELS.type]: 'service' } },
      spec: { containers: [{ name: 'web', image: 'registry/shop@sha256:0', args: ['node', 'server.js'] }] },
      status: { phase: 'Running', startTime: '2026-11-28T10:00:00Z', containerStatuses: [{ name: 'web', ready: true, restartCount: 0, state: { running: {} } }] },
    });
  });

  afterAll(async () => {
    overrideRackContext({});
    aws?.restore();
    restoreEnvironment?.();
    await cluster?.close();
    await dynamo?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('{ query: { processes } } lists the app\u2019s pods from the cluster through the queryProcesses function', async () => {
    steps.length = 0;
    expect(await run({ query: { processes: 'shop' } })).toEqual({
      status: 'SUCCEEDED',
      output: { app: 'shop', processes: [{ id: 'web-7d9f-abcde', service: 'web', release: 'RAAAAAAAAAA', status: 'running', startedAt: '2026-11-28T10:00:00.000Z', command: 'node server.js' }] },
    });
    expect(steps).toEqual(['queryProcesses']);
    expect(aws.events).toEqual([]);
  });

  it('a query for an app that does not exist fails with StepFailed and the step\u2019s message', async () => {
    expect(await run({ query: { processes: 'nope' } })).toEqual({ status: 'FAILED', error: 'StepFailed', cause: 'app not found: nope' });
  });

  it('{ deleteApp } while a deploy holds the app fails with the step\u2019s message in the cause, deleting nothing', async () => {
    const lease = await store.acquireLock('blog', 'deploy-blog-1', 60_000);
    if (!lease) throw new Error('setup');
    try {
      const outcome = await run({ deleteApp: { app: 'blog', by: 'alice' } });
      expect(outcome).toMatchObject({ status: 'FAILED', error: 'AppBusy', cause: expect.stringContaining('app blog cannot be deleted while deploy-blog-1 holds it') as unknown });
      expect(await store.getApp('blog')).toBeDefined();
    } finally {
      await store.releaseLock(lease);
    }
  });

  it('{ deleteApp } deletes an app through the removeApp function and puts App Deleted on the bus', async () => {
    steps.length = 0;
    const seen = aws.events.length;
    const outcome = await run({ deleteApp: { app: 'blog', by: 'arn:aws:sts::111122223333:assumed-role/Deployer/alice' } });
    expect(outcome).toEqual({ status: 'SUCCEEDED', output: { app: 'blog', builds: 0, releases: 0, resourcesKept: [] } });
    expect(steps).toEqual(['removeApp']);
    expect(await store.getApp('blog')).toBeUndefined();
    expect(aws.events.slice(seen).map((e) => e.detailType)).toEqual(['App Deleted']);
    expect(aws.events.at(-1)?.detail).toMatchObject({ app: 'blog', reason: 'deleted by arn:aws:sts::111122223333:assumed-role/Deployer/alice' });
    // The other app and its pods are untouched.
    expect(await store.getApp('shop')).toBeDefined();
    expect(cluster.all('Pod')).toHaveLength(1);
  });
});
