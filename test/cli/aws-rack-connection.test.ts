/**
 * AwsRackConnection, the CLI's port to an AWS rack. Real peers where one runs here: the bundle
 * bucket is s3rver (a real S3 HTTP API; it keeps no versions, so uploads get version "null", see
 * test/aws/s3-bundle-store.test.ts) and the table is dynalite. No AWS account is reachable, so
 * CloudFormation, Step Functions, CloudWatch Logs, KMS, EventBridge, STS and CodeBuild are
 * aws-sdk-client-mock stubs on the client instances, and the tests that depend on them say
 * "(mocked ...)" in their names.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, ListStackResourcesCommand, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, FilterLogEventsCommand, StartLiveTailCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { StartLiveTailResponseStream } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, CodeBuildClient, ListBuildsForProjectCommand } from '@aws-sdk/client-codebuild';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { DecryptCommandInput, GenerateDataKeyCommandInput } from '@aws-sdk/client-kms';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { objectCreatedEvent } from '../../lib/aws/adapters/s3-bundle-store';
import type { DeployConfig } from '../../lib/pipeline/steps/deploy';
import { deployTrigger } from '../../lib/pipeline/steps/trigger';
import { DescribeExecutionCommand, ExecutionDoesNotExist, ListExecutionsCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { StartExecutionCommandInput } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoRecordTable } from '../../lib/aws/adapters/dynamo-record-table';
import type { AwsRackClients, AwsRackConnection } from '../../lib/cli/racks/aws-rack-connection';
import { findAwsRacks, openAwsRack, RackNotFoundError, resolveRegion } from '../../lib/cli/racks/aws-rack-connection';
import { executionName } from '../../lib/cli/racks/aws/executions';
import { appLogPattern } from '../../lib/cli/racks/aws/cloudwatch-records';
import { deployExecutionName } from '../../lib/pipeline/bundle/key';
import type { BuildId, ReleaseId } from '../../lib/pipeline/domain/ids';
import type { LogEntry } from '../../lib/cli/racks/rack-connection';
import type { Dynalite } from '../support/aws-rack-harness';
import { createRecordTable, startDynalite } from '../support/aws-rack-harness';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const RACK = 'prod';
const BUCKET = 'slipway-prod-bundles';
const machineArn = (m: string): string => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:slipway-${RACK}-${m}`;
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;
const CALLER = `arn:aws:sts::${ACCOUNT}:assumed-role/Deployer/alice`;

const MANIFEST = `services:
  web:
    build: .
    port: 3000
    domain: \${HOST}
    scale:
      count: 2
      memory: 512
  api:
    build: .
    port: 4000
    internal: true
  worker:
    build: .
    command: bin/work
timers:
  nightly:
    schedule: "0 3 * * ?"
    command: bin/report
    service: worker
`;

// ---- peers ----

interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: { address: string; port: number; silent: boolean; directory: string }) => S3rverServer;

let s3rver: S3rverServer;
let s3dir = '';
let s3: S3Client;
let dynamo: Dynalite;
let tables = 0;

const cloudformationClient = new CloudFormationClient({ region: REGION, credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' } });
const sfnClient = new SFNClient({ region: REGION, credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' } });
const logsClient = new CloudWatchLogsClient({ region: REGION, credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' } });
const kmsClient = new KMSClient({ region: REGION, credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' } });
const eventsClient = new EventBridgeClient({ region: REGION, credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' } });
const stsClient = new STSClient({ region: REGION, credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' } });
const codebuildClient = new CodeBuildClient({ region: REGION, credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' } });
const cloudformation = mockClient(cloudformationClient);
const sfn = mockClient(sfnClient);
const logs = mockClient(logsClient);
const kms = mockClient(kmsClient);
const eventbridge = mockClient(eventsClient);
const sts = mockClient(stsClient);
const codebuild = mockClient(codebuildClient);

const DATA_KEY = randomBytes(32);
/** KMS as it matters here: a data key decrypts only with the context it was made under (see test/aws/kms-env-store.test.ts). */
function mockKms(): void {
  kms.on(GenerateDataKeyCommand).callsFake((input: GenerateDataKeyCommandInput) =>
    Promise.resolve({ KeyId: KEY_ARN, Plaintext: new Uint8Array(DATA_KEY), CiphertextBlob: Buffer.from(JSON.stringify(input.EncryptionContext ?? {})) }),
  );
  kms.on(DecryptCommand).callsFake((input: DecryptCommandInput) => {
    const context = Buffer.from(input.CiphertextBlob ?? []).toString('utf8');
    if (context !== JSON.stringify(input.EncryptionContext ?? {}) || input.KeyId !== KEY_ARN) return Promise.reject(new Error('InvalidCiphertextException'));
    return Promise.resolve({ KeyId: KEY_ARN, Plaintext: new Uint8Array(DATA_KEY) });
  });
}

function stackDescription(table: string, extraOutputs: Record<string, string> = {}) {
  const outputs: Record<string, string> = {
    BundleBucketName: BUCKET,
    TableName: table,
    EventBusName: `slipway-${RACK}`,
    ClusterName: 'apps',
    AlertTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:alerts`,
    DeployMachineArn: machineArn('Deploy'),
    RollbackMachineArn: machineArn('Rollback'),
    TimerMachineArn: machineArn('Timer'),
    CleanupMachineArn: machineArn('Cleanup'),
    EventLogGroupName: `/slipway/${RACK}/events`,
    ...extraOutputs,
  };
  return {
    Stacks: [
      {
        StackName: `Slipway-${RACK}`,
        StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/Slipway-${RACK}/0f8a2e10-aaaa-bbbb-cccc-1234567890ab`,
        StackStatus: 'UPDATE_COMPLETE' as const,
        CreationTime: new Date(),
        Parameters: [{ ParameterKey: 'BootstrapVersion', ParameterValue: '/cdk-bootstrap/hnb659fds/version' }],
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  };
}

beforeAll(async () => {
  s3dir = mkdtempSync(join(tmpdir(), 'slipway-aws-conn-s3-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3dir });
  const { port } = await s3rver.run();
  s3 = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  dynamo = await startDynalite(REGION);
});

afterAll(async () => {
  s3?.destroy();
  await s3rver?.close();
  await dynamo?.close();
  if (s3dir) rmSync(s3dir, { recursive: true, force: true });
});

let table = '';
beforeEach(async () => {
  for (const m of [cloudformation, sfn, logs, kms, eventbridge, sts, codebuild]) m.reset();
  mockKms();
  sts.on(GetCallerIdentityCommand).resolves({ Arn: CALLER, Account: ACCOUNT });
  table = `slipway-${RACK}-records-${tables++}`;
  await createRecordTable(dynamo.client, table);
  cloudformation.on(DescribeStacksCommand, { StackName: `Slipway-${RACK}` }).resolves(stackDescription(table));
  cloudformation.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: [
      { LogicalResourceId: 'ClusterSecretsKeyA1B2C3', ResourceType: 'AWS::KMS::Key', PhysicalResourceId: 'other-key', ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date() },
      { LogicalResourceId: 'StoresKey0A1B2C3D', ResourceType: 'AWS::KMS::Key', PhysicalResourceId: KEY_ID, ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date() },
    ],
  });
});

function clients(): AwsRackClients {
  return { cloudformation: cloudformationClient, s3, dynamodb: dynamo.client, kms: kmsClient, sfn: sfnClient, logs: logsClient, eventbridge: eventsClient, sts: stsClient, codebuild: codebuildClient };
}

function open(): Promise<AwsRackConnection> {
  return openAwsRack(RACK, REGION, { clients: clients(), versioning: 'off' });
}

/** An app with one build of MANIFEST and a promoted release running env version 1 (HOST set). */
async function deployedApp(rack: AwsRackConnection, app = 'shop'): Promise<{ build: BuildId; release: ReleaseId }> {
  await rack.createApp(app);
  const { envVersion } = await rack.changeEnv(app, { set: { HOST: 'shop.example.com', SECRET: 's3cr3t-value' } });
  const build = 'BAAAAAAAAAA' as BuildId;
  const release = 'RAAAAAAAAAA' as ReleaseId;
  const now = new Date().toISOString();
  await rack.store.putBuild({ id: build, app, bundle: { app, key: `apps/${app}/bundles/app.tgz`, version: 'null', etag: 'e', size: 1 }, manifest: MANIFEST, images: [], status: 'complete', createdAt: now });
  await rack.store.putRelease({ id: release, app, build, envVersion, description: `build ${build}`, createdAt: now });
  const lease = await rack.store.acquireLock(app, 'deploy-test', 60_000);
  if (!lease) throw new Error('no lock');
  await rack.store.promote(lease, release);
  await rack.store.releaseLock(lease);
  return { build, release };
}

function startInputs(): { machine: string; name: string; input: unknown }[] {
  return sfn.commandCalls(StartExecutionCommand).map((c) => {
    const i: StartExecutionCommandInput = c.args[0].input;
    return { machine: i.stateMachineArn ?? '', name: i.name ?? '', input: JSON.parse(i.input ?? 'null') as unknown };
  });
}

// ---- discovery ----

describe('finding an AWS rack (mocked CloudFormation)', () => {
  it('lists the Slipway-<rack> stacks of the region across pages, leaving out deleted stacks and other stacks', async () => {
    cloudformation.on(ListStacksCommand).resolvesOnce({ StackSummaries: [
      { StackName: 'Slipway-prod', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date() },
      { StackName: 'OtherThing', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date() },
    ], NextToken: 'p2' }).resolvesOnce({ StackSummaries: [
      { StackName: 'Slipway-old', StackStatus: 'DELETE_COMPLETE', CreationTime: new Date() },
      { StackName: 'Slipway-dev', StackStatus: 'CREATE_IN_PROGRESS', CreationTime: new Date() },
    ] });
    expect(await findAwsRacks(REGION, { cloudformation: cloudformationClient })).toEqual([
      { name: 'dev', status: 'CREATE_IN_PROGRESS', region: REGION },
      { name: 'prod', status: 'UPDATE_COMPLETE', region: REGION },
    ]);
    expect(cloudformation.commandCalls(ListStacksCommand)[1]?.args[0].input).toMatchObject({ NextToken: 'p2' });
  });

  it('reports a rack whose stack does not exist, naming the stack and region', async () => {
    cloudformation.on(DescribeStacksCommand, { StackName: 'Slipway-nope' }).rejects(Object.assign(new Error('Stack with id Slipway-nope does not exist'), { name: 'ValidationError' }));
    await expect(openAwsRack('nope', REGION, { clients: clients() })).rejects.toBeInstanceOf(RackNotFoundError);
    await expect(openAwsRack('nope', REGION, { clients: clients() })).rejects.toThrow(/Slipway-nope.*eu-west-1|eu-west-1.*Slipway-nope/);
  });

  it('refuses a stack that lacks outputs (still creating, or an older rack)', async () => {
    cloudformation.on(DescribeStacksCommand, { StackName: 'Slipway-half' }).resolves({ Stacks: [{ StackName: 'Slipway-half', StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/Slipway-half/x`, StackStatus: 'CREATE_IN_PROGRESS', CreationTime: new Date(), Outputs: [] }] });
    await expect(openAwsRack('half', REGION, { clients: clients() })).rejects.toMatchObject({ code: 'RACK_STACK_INCOMPLETE' });
  });

  it('info(): the stack status, the region, and the stack\u2019s parameters and outputs', async () => {
    const rack = await open();
    const info = await rack.info();
    expect(info).toMatchObject({ name: RACK, kind: 'aws', status: 'UPDATE_COMPLETE', location: REGION });
    expect(info.parameters).toMatchObject({ BundleBucketName: BUCKET, TableName: table, ClusterName: 'apps', EventLogGroupName: `/slipway/${RACK}/events` });
    expect(info.parameters).not.toHaveProperty('BootstrapVersion');
  });
});

// ---- records on dynalite ----

describe('apps, releases and environments (table on dynalite; KMS mocked)', () => {
  it('creates, lists and reads apps; refuses a bad name and a second app of one name', async () => {
    const rack = await open();
    await rack.createApp('shop');
    await rack.createApp('blog');
    expect((await rack.apps()).map((a) => a.name).sort()).toEqual(['blog', 'shop']);
    expect(await rack.app('shop')).toMatchObject({ name: 'shop' });
    await expect(rack.createApp('Shop_1')).rejects.toMatchObject({ code: 'APP_NAME_INVALID' });
    await expect(rack.createApp('shop')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(rack.app('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('changes the environment through KMS (no value in the table), makes a release, and reads a release\u2019s environment', async () => {
    const rack = await open();
    const { release } = await deployedApp(rack);
    expect(await rack.env('shop')).toEqual({ version: 1, values: { HOST: 'shop.example.com', SECRET: 's3cr3t-value' } });
    const changed = await rack.changeEnv('shop', { set: { FOO: 'bar' }, unset: ['SECRET'] });
    expect(changed.envVersion).toBe(2);
    expect(changed.release).toMatch(/^R[A-Z]{10}$/);
    expect(await rack.env('shop')).toEqual({ version: 2, values: { HOST: 'shop.example.com', FOO: 'bar' } });
    // The promoted release still runs with version 1.
    expect(await rack.env('shop', release)).toEqual({ version: 1, values: { HOST: 'shop.example.com', SECRET: 's3cr3t-value' } });
    const releases = await rack.releases('shop');
    expect(releases.map((r) => r.description)).toEqual(['env add:FOO remove:SECRET', 'build BAAAAAAAAAA']);
    expect((await rack.release('shop', release)).manifest).toBe(MANIFEST);
    // The key was found among the stack's resources (the Stores key, not the cluster's).
    expect(kms.commandCalls(DecryptCommand).every((c) => c.args[0].input.KeyId === KEY_ARN)).toBe(true);
    // Sealed: the raw table holds no value.
    const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
    const raw = JSON.stringify(await dynamo.client.send(new ScanCommand({ TableName: table })));
    expect(raw).not.toContain('s3cr3t-value');
    expect(raw).not.toContain('shop.example.com');
  });

  it('builds() leaves out the manifest', async () => {
    const rack = await open();
    await deployedApp(rack);
    const builds = await rack.builds('shop');
    expect(builds).toHaveLength(1);
    expect(builds[0]).not.toHaveProperty('manifest');
  });

  it('scale, services and timers come from the current release\u2019s convox.yml, loaded with its environment', async () => {
    const rack = await open();
    await deployedApp(rack);
    expect(await rack.scale('shop')).toEqual([
      { service: 'web', desired: 2, cpu: 250, memory: 512 },
      { service: 'api', desired: 1, cpu: 250, memory: 512 },
      { service: 'worker', desired: 1, cpu: 250, memory: 512 },
    ]);
    // `slipway scale` overrides, as the Rollback machine records them on the app, win over convox.yml.
    const records = new DynamoRecordTable(dynamo.client, table);
    const appRecord = await records.get<Record<string, unknown>>({ partition: 'apps', sort: 'shop' });
    if (!appRecord) throw new Error('setup');
    await records.put({ partition: 'apps', sort: 'shop' }, { ...appRecord.value, scale: { worker: { count: 4, cpu: 1000 } } }, appRecord.version);
    expect((await rack.scale('shop')).find((s) => s.service === 'worker')).toEqual({ service: 'worker', desired: 4, cpu: 1000, memory: 512 });
    const services = await rack.services('shop');
    expect(services).toEqual([
      { service: 'web', url: 'https://shop.example.com', internal: false, internalName: 'web.prod-shop.svc.cluster.local:3000' },
      { service: 'api', url: '', internal: true, internalName: 'api.prod-shop.svc.cluster.local:4000' },
      { service: 'worker', url: '', internal: true },
    ]);
    expect(await rack.timers('shop')).toEqual([{ name: 'nightly', schedule: '0 3 * * *', service: 'worker', command: 'bin/report' }]);
    await rack.createApp('empty');
    await expect(rack.services('empty')).rejects.toMatchObject({ code: 'NO_RELEASE' });
  });

  it('a public service without a domain has no URL, and says where its load balancer\u2019s name is', async () => {
    const rack = await open();
    await deployedApp(rack);
    await rack.changeEnv('shop', { set: { HOST: '' } });
    // The env change made a release; make it current as a promotion would.
    const newest = (await rack.releases('shop'))[0];
    const lease = await rack.store.acquireLock('shop', 'deploy-t2', 60_000);
    if (!lease || !newest) throw new Error('setup');
    await rack.store.promote(lease, newest.id);
    const web = (await rack.services('shop')).find((s) => s.service === 'web');
    expect(web).toMatchObject({ url: '', internal: false });
    expect(web?.note).toContain('kubectl get ingress web -n prod-shop');
  });

  it('unpin clears the pin in the table and puts App Unpinned on the rack\u2019s bus (mocked EventBridge)', async () => {
    eventbridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
    const rack = await open();
    await deployedApp(rack);
    const lease = await rack.store.acquireLock('shop', 'rollback-x', 60_000);
    if (!lease) throw new Error('setup');
    await rack.store.pin(lease, { release: 'RAAAAAAAAAA', by: 'bob', reason: 'incident' });
    await rack.store.releaseLock(lease);
    expect((await rack.app('shop')).pin).toBeDefined();
    expect((await rack.unpin('shop')).pin).toBeUndefined();
    expect((await rack.app('shop')).pin).toBeUndefined();
    const entries = eventbridge.commandCalls(PutEventsCommand).flatMap((c) => (c.args[0].input).Entries ?? []);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ Source: 'slipway', DetailType: 'App Unpinned', EventBusName: `slipway-${RACK}` });
    expect(JSON.parse(entries[0]?.Detail ?? '{}')).toMatchObject({ app: 'shop', release: 'RAAAAAAAAAA', reason: `unpinned by ${CALLER}` });
    // Unpinning an app that is not pinned sends nothing.
    await rack.unpin('shop');
    expect(eventbridge.commandCalls(PutEventsCommand)).toHaveLength(1);
  });
});

// ---- uploads to s3rver ----

describe('upload (bundle bucket on s3rver)', () => {
  it('stores the bundle at the app\u2019s key with its metadata and returns the deploy the trigger will start', async () => {
    const rack = await open();
    await rack.createApp('shop');
    const bundle = randomBytes(64 * 1024);
    const progress: [number, number][] = [];
    const up = await rack.upload('shop', bundle, { promote: false, autoRollback: false, description: 'hot fix: ünïcode', onProgress: (s, t) => progress.push([s, t]) });
    expect(up).toEqual({ machine: 'Deploy', name: deployExecutionName(BUCKET, 'apps/shop/bundles/app.tgz', 'null'), key: 'apps/shop/bundles/app.tgz', version: 'null' });
    expect(up.name).toMatch(/^deploy-shop-[0-9a-f]{24}$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: up.key }));
    expect(head.ContentLength).toBe(bundle.length);
    expect(head.Metadata).toMatchObject({ promote: 'false', 'auto-rollback': 'false', description: encodeURIComponent('hot fix: ünïcode') });
    expect(progress[0]).toEqual([0, bundle.length]);
    expect(progress.at(-1)).toEqual([bundle.length, bundle.length]);
  });

  it('names the deploy exactly as the rack\u2019s bundle trigger will, for a versioned upload (S3 answer mocked)', async () => {
    const s3Client = new S3Client({ region: REGION, credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' } });
    const s3Mock = mockClient(s3Client);
    s3Mock.on(PutObjectCommand).resolves({ VersionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY', ETag: '"abc"' });
    const rack = await openAwsRack(RACK, REGION, { clients: { ...clients(), s3: s3Client } });
    await rack.createApp('shop');
    const up = await rack.upload('shop', Buffer.from('bundle'), { promote: true, autoRollback: true });
    const event = objectCreatedEvent(BUCKET, { app: 'shop', key: up.key, version: up.version, etag: 'abc', size: 6, lastModified: new Date().toISOString(), metadata: {} }, new Date());
    const trigger = deployTrigger(event, {} as DeployConfig);
    expect(trigger.start && trigger.name).toBe(up.name);
    expect(up.version).toBe('3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY');
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ Bucket: BUCKET, Key: 'apps/shop/bundles/app.tgz', Metadata: {} });
  });

  it('uploads a large bundle in parts with progress, keeping the metadata (s3rver multipart)', async () => {
    const rack = await openAwsRack(RACK, REGION, { clients: clients(), versioning: 'off', partSize: 5 * 1024 * 1024 });
    await rack.createApp('big');
    const bundle = randomBytes(11 * 1024 * 1024);
    const progress: number[] = [];
    const up = await rack.upload('big', bundle, { promote: true, autoRollback: false, onProgress: (sent) => progress.push(sent) });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: up.key }));
    expect(head.ContentLength).toBe(bundle.length);
    expect(head.Metadata).toMatchObject({ 'auto-rollback': 'false' });
    expect(progress.length).toBeGreaterThan(3);
    expect(progress.at(-1)).toBe(bundle.length);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  });

  it('a deploy upload sets no promote or auto-rollback metadata (the defaults)', async () => {
    const rack = await open();
    await rack.createApp('blog');
    const up = await rack.upload('blog', Buffer.from('bundle'), { promote: true, autoRollback: true });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: up.key }));
    expect(head.Metadata ?? {}).toEqual({});
  });

  it('refuses to name a deploy when the bucket answers without a version id (versioning required, as on the rack)', async () => {
    const rack = await openAwsRack(RACK, REGION, { clients: clients() });
    await rack.createApp('shop');
    await expect(rack.upload('shop', Buffer.from('x'), { promote: true, autoRollback: true })).rejects.toMatchObject({ code: 'BUNDLE_BUCKET_UNVERSIONED' });
  });

  it('refuses an upload for an app that does not exist', async () => {
    const rack = await open();
    await expect(rack.upload('ghost', Buffer.from('x'), { promote: true, autoRollback: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

// ---- state machines ----

describe('changes through the state machines (mocked Step Functions)', () => {
  beforeEach(() => {
    sfn.on(StartExecutionCommand).callsFake((input: StartExecutionCommandInput) => Promise.resolve({ executionArn: `${input.stateMachineArn ?? ''}:${input.name ?? ''}`, startDate: new Date() }));
  });

  it('promote, rollback, scale, timer and run start the machines with the documented inputs and unique valid names', async () => {
    const rack = await open();
    await deployedApp(rack);
    const refs = [
      await rack.promote('shop', 'RAAAAAAAAAA'),
      await rack.promote('shop'),
      await rack.rollback('shop', { release: 'RAAAAAAAAAA', skipGates: true, reason: 'bad deploy' }),
      await rack.rollback('shop', {}),
      await rack.setScale('shop', 'web', { count: 3, memory: 1024 }),
      await rack.runTimer('shop', 'nightly'),
      await rack.run('shop', { service: 'worker', command: 'bin/migrate', release: 'RAAAAAAAAAA' }),
    ];
    expect(startInputs().map(({ machine, input }) => ({ machine, input }))).toEqual([
      { machine: machineArn('Rollback'), input: { app: 'shop', mode: 'promote', release: 'RAAAAAAAAAA', by: CALLER } },
      { machine: machineArn('Rollback'), input: { app: 'shop', mode: 'promote', by: CALLER } },
      { machine: machineArn('Rollback'), input: { app: 'shop', release: 'RAAAAAAAAAA', skipGates: true, reason: 'bad deploy', by: CALLER } },
      { machine: machineArn('Rollback'), input: { app: 'shop', by: CALLER } },
      { machine: machineArn('Rollback'), input: { app: 'shop', scale: { service: 'web', count: 3, memory: 1024 }, by: CALLER } },
      { machine: machineArn('Timer'), input: { app: 'shop', timer: 'nightly' } },
      { machine: machineArn('Timer'), input: { app: 'shop', run: { service: 'worker', command: 'bin/migrate', release: 'RAAAAAAAAAA' } } },
    ]);
    expect(refs.map((r) => r?.machine)).toEqual(['Rollback', 'Rollback', 'Rollback', 'Rollback', 'Rollback', 'Timer', 'Timer']);
    const names = startInputs().map((s) => s.name);
    expect(refs.map((r) => r?.name)).toEqual(names);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^(promote|rollback|scale|timer|run)-shop-\d{14}-[0-9a-f]{8}$/);
    // STS is asked once per connection.
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);
  });

  it('refuses to scale a service the current release does not have, starting nothing', async () => {
    const rack = await open();
    await deployedApp(rack);
    await expect(rack.setScale('shop', 'nope', { count: 1 })).rejects.toMatchObject({ code: 'SERVICE_NOT_FOUND' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('execution names fit Step Functions\u2019 80 characters even for the longest app name', () => {
    const app = `a${'b'.repeat(62)}`;
    const name = executionName('rollback', app, new Date('2026-11-28T21:00:00Z'), () => 'deadbeef');
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(/^rollback-ab+-20261128210000-deadbeef$/);
  });

  it('cancel stops the deploy holding the app\u2019s lock (not another app\u2019s) and starts a Rollback that names it', async () => {
    const rack = await open();
    await deployedApp(rack);
    const mine = deployExecutionName(BUCKET, 'apps/shop/bundles/app.tgz', 'v2');
    const queued = deployExecutionName(BUCKET, 'apps/shop/bundles/app.tgz', 'v3');
    const other = deployExecutionName(BUCKET, 'apps/shop-admin/bundles/app.tgz', 'v1');
    const item = (name: string, at: number) => ({ name, executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:slipway-${RACK}-Deploy:${name}`, stateMachineArn: machineArn('Deploy'), status: 'RUNNING' as const, startDate: new Date(at) });
    sfn.on(ListExecutionsCommand).resolvesOnce({ executions: [item(other, 3000)], nextToken: 't' }).resolvesOnce({ executions: [item(queued, 2000), item(mine, 1000)] });
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    const lease = await rack.store.acquireLock('shop', mine, 60_000);
    expect(lease).toBeDefined();
    const ref = await rack.cancel('shop');
    expect(sfn.commandCalls(ListExecutionsCommand)[0]?.args[0].input).toMatchObject({ stateMachineArn: machineArn('Deploy'), statusFilter: 'RUNNING' });
    const stops = sfn.commandCalls(StopExecutionCommand).map((c) => c.args[0].input);
    expect(stops).toEqual([{ executionArn: item(mine, 0).executionArn, error: 'DeploymentCancelled', cause: `cancelled by ${CALLER}` }]);
    expect(startInputs()).toEqual([{ machine: machineArn('Rollback'), name: ref.name, input: { app: 'shop', cancels: mine, by: CALLER } }]);
    expect(ref.name).toMatch(/^cancel-shop-/);
  });

  it('cancel without a running deploy of the app says so and starts nothing', async () => {
    const rack = await open();
    await deployedApp(rack);
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    await expect(rack.cancel('shop')).rejects.toMatchObject({ code: 'NOTHING_TO_CANCEL' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('execution() maps DescribeExecution, with the Fail state\u2019s error and cause', async () => {
    const rack = await open();
    const arn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:slipway-${RACK}-Deploy:deploy-shop-abc`;
    sfn.on(DescribeExecutionCommand, { executionArn: arn }).resolves({ executionArn: arn, stateMachineArn: machineArn('Deploy'), status: 'FAILED', startDate: new Date('2026-11-28T10:00:00Z'), stopDate: new Date('2026-11-28T10:05:00Z'), error: 'DeploymentRolledBack', cause: 'health gate failed' });
    expect(await rack.execution({ machine: 'Deploy', name: 'deploy-shop-abc' })).toEqual({
      machine: 'Deploy',
      name: 'deploy-shop-abc',
      status: 'FAILED',
      startedAt: '2026-11-28T10:00:00.000Z',
      stoppedAt: '2026-11-28T10:05:00.000Z',
      error: 'DeploymentRolledBack',
      cause: 'health gate failed',
    });
    sfn.on(DescribeExecutionCommand, { executionArn: `${arn}x` }).rejects(new ExecutionDoesNotExist({ message: 'nope', $metadata: {} }));
    await expect(rack.execution({ machine: 'Deploy', name: 'deploy-shop-abcx' })).rejects.toMatchObject({ code: 'EXECUTION_NOT_FOUND' });
    sfn.on(DescribeExecutionCommand, { executionArn: arn.replace('Deploy:', 'Rollback:').replace('deploy-shop-abc', 'r1') }).resolves({ executionArn: 'x', stateMachineArn: 'y', status: 'PENDING_REDRIVE', startDate: new Date(0) });
    expect((await rack.execution({ machine: 'Rollback', name: 'r1' })).status).toBe('RUNNING');
  });
});

describe('app deletion and processes through the Cleanup machine (mocked Step Functions)', () => {
  const cleanupExecution = (name: string): string => `arn:aws:states:${REGION}:${ACCOUNT}:execution:slipway-${RACK}-Cleanup:${name}`;

  beforeEach(() => {
    sfn.on(StartExecutionCommand).callsFake((input: StartExecutionCommandInput) => Promise.resolve({ executionArn: `${input.stateMachineArn ?? ''}:${input.name ?? ''}`, startDate: new Date() }));
  });

  it('deleteApp starts the Cleanup machine with { deleteApp: { app, by } } and returns its execution for the CLI to follow', async () => {
    const rack = await open();
    await deployedApp(rack);
    const ref = await rack.deleteApp('shop');
    expect(startInputs()).toEqual([{ machine: machineArn('Cleanup'), name: ref?.name, input: { deleteApp: { app: 'shop', by: CALLER } } }]);
    expect(ref?.machine).toBe('Cleanup');
    expect(ref?.name).toMatch(/^delete-shop-\d{14}-[0-9a-f]{8}$/);
    // The app's records stay until the execution deletes them.
    expect(await rack.app('shop')).toMatchObject({ name: 'shop' });
  });

  it('deleteApp of an app that does not exist says so and starts nothing', async () => {
    const rack = await open();
    await expect(rack.deleteApp('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('processes asks the Cleanup machine with { query: { processes } }, polls DescribeExecution until it ends, and maps its output', async () => {
    const rack = await open();
    await deployedApp(rack);
    const output = {
      app: 'shop',
      processes: [
        { id: 'web-7d9f-abcde', service: 'web', release: 'RAAAAAAAAAA', status: 'running', startedAt: '2026-11-28T10:00:00.000Z', command: 'node server.js' },
        { id: 'worker-6f8a-klmno', service: 'worker', release: 'RAAAAAAAAAA', status: 'crashloop' },
      ],
    };
    sfn
      .on(DescribeExecutionCommand)
      .rejectsOnce(new ExecutionDoesNotExist({ message: 'not yet', $metadata: {} }))
      .resolvesOnce({ executionArn: 'x', stateMachineArn: machineArn('Cleanup'), status: 'RUNNING', startDate: new Date() })
      .resolves({ executionArn: 'x', stateMachineArn: machineArn('Cleanup'), status: 'SUCCEEDED', startDate: new Date(), stopDate: new Date(), output: JSON.stringify(output) });
    expect(await rack.processes('shop')).toEqual([
      { id: 'web-7d9f-abcde', service: 'web', release: 'RAAAAAAAAAA', status: 'running', started: '2026-11-28T10:00:00.000Z', command: 'node server.js' },
      { id: 'worker-6f8a-klmno', service: 'worker', release: 'RAAAAAAAAAA', status: 'crashloop' },
    ]);
    const [start] = startInputs();
    expect(start).toMatchObject({ machine: machineArn('Cleanup'), input: { query: { processes: 'shop' } } });
    expect(start?.name).toMatch(/^ps-shop-\d{14}-[0-9a-f]{8}$/);
    const described = sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn);
    expect(described).toEqual([cleanupExecution(start?.name ?? ''), cleanupExecution(start?.name ?? ''), cleanupExecution(start?.name ?? '')]);
  });

  it('processes reports a failed query with the execution’s error and cause', async () => {
    const rack = await open();
    await deployedApp(rack);
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: 'x', stateMachineArn: machineArn('Cleanup'), status: 'FAILED', startDate: new Date(), error: 'StepTransient', cause: 'Unauthorized: the cluster refused the token' });
    await expect(rack.processes('shop')).rejects.toMatchObject({ code: 'RACK_QUERY_FAILED', message: expect.stringContaining('StepTransient: Unauthorized: the cluster refused the token') as unknown });
  });

  it('processes gives up on a query that does not end in time, naming the execution', async () => {
    const rack = await openAwsRack(RACK, REGION, { clients: clients(), versioning: 'off', queryTimeoutMs: 600 });
    await deployedApp(rack);
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: 'x', stateMachineArn: machineArn('Cleanup'), status: 'RUNNING', startDate: new Date() });
    await expect(rack.processes('shop')).rejects.toMatchObject({ code: 'RACK_QUERY_FAILED', message: expect.stringMatching(/execution ps-shop-\S+ of the Cleanup machine did not end within 1 s/) as unknown });
  });

  it('processes of an app that does not exist says so and starts nothing', async () => {
    const rack = await open();
    await expect(rack.processes('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});

// ---- CloudWatch Logs ----

const record = (ns: string, container: string, pod: string, log: string, time = '2026-11-28T10:00:00.000Z') =>
  JSON.stringify({ time, stream: 'stdout', log: `${log}\n`, kubernetes: { namespace_name: ns, pod_name: pod, container_name: container, labels: { 'slipway.dev/release': 'RAAAAAAAAAA' } } });

async function collect(it: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('logs and events (mocked CloudWatch Logs)', () => {
  it('reads an app\u2019s container lines across pages with a JSON filter on its namespace, service and text', async () => {
    logs.on(FilterLogEventsCommand).resolvesOnce({ events: [{ timestamp: 1, message: record('prod-shop', 'web', 'web-1', 'GET / 200 error=none') }], nextToken: 'n1' })
      .resolvesOnce({ events: [], nextToken: 'n2' })
      .resolvesOnce({ events: [{ timestamp: 2, message: record('prod-shop', 'web', 'web-2', 'POST /cart error=none', '2026-11-28T10:00:01.000Z') }, { timestamp: 3, message: 'not json' }] });
    const rack = await open();
    const lines = await collect(rack.logs('shop', { service: 'web', since: 1000, filter: 'error', follow: false }));
    expect(lines).toEqual([
      { time: '2026-11-28T10:00:00.000Z', service: 'web', process: 'web-1', release: 'RAAAAAAAAAA', text: 'GET / 200 error=none' },
      { time: '2026-11-28T10:00:01.000Z', service: 'web', process: 'web-2', release: 'RAAAAAAAAAA', text: 'POST /cart error=none' },
    ]);
    const calls = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.nextToken)).toEqual([undefined, 'n1', 'n2']);
    expect(calls[0]).toMatchObject({ logGroupName: '/aws/containerinsights/apps/application', startTime: 1000, filterPattern: '{ $.kubernetes.namespace_name = "prod-shop" && $.kubernetes.container_name = "web" && $.log = "*error*" }' });
  });

  it('keeps text with quotes or wildcards out of the pattern and filters it itself', async () => {
    expect(appLogPattern('prod', 'shop', undefined, 'say "hi"')).toBe('{ $.kubernetes.namespace_name = "prod-shop" }');
    logs.on(FilterLogEventsCommand).resolves({ events: [{ timestamp: 1, message: record('prod-shop', 'web', 'w', 'say "hi"') }, { timestamp: 2, message: record('prod-shop', 'web', 'w', 'say bye') }] });
    const rack = await open();
    expect((await collect(rack.logs('shop', { since: 0, filter: 'say "hi"', follow: false }))).map((l) => l.text)).toEqual(['say "hi"']);
  });

  it('follows with a Live Tail session on the group\u2019s ARN until the signal aborts', async () => {
    logs.on(FilterLogEventsCommand).resolves({ events: [{ timestamp: 1, message: record('prod-shop', 'web', 'w', 'old line') }] });
    const abort = new AbortController();
    async function* stream(): AsyncGenerator<StartLiveTailResponseStream> {
      yield { sessionStart: { sessionId: 's1' } };
      yield { sessionUpdate: { sessionResults: [{ timestamp: 5, message: record('prod-shop', 'web', 'w', 'new line') }, { timestamp: 6, message: record('prod-other', 'web', 'w', 'not mine') }] } };
      // A real session keeps streaming until aborted; this one waits for the abort.
      await new Promise((resolve) => abort.signal.addEventListener('abort', resolve));
      yield { sessionUpdate: { sessionResults: [{ timestamp: 7, message: record('prod-shop', 'web', 'w', 'after abort') }] } };
    }
    logs.on(StartLiveTailCommand).resolves({ responseStream: stream() });
    const rack = await open();
    const seen: string[] = [];
    for await (const line of rack.logs('shop', { since: 0, follow: true, signal: abort.signal })) {
      seen.push(line.text);
      if (line.text === 'new line') abort.abort();
    }
    expect(seen).toEqual(['old line', 'new line']);
    expect(logs.commandCalls(StartLiveTailCommand)[0]?.args[0].input).toEqual({
      logGroupIdentifiers: [`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/containerinsights/apps/application`],
      logEventFilterPattern: '{ $.kubernetes.namespace_name = "prod-shop" }',
    });
  });

  it('events() reads the rack\u2019s event log across pages, oldest first, of one app or one execution', async () => {
    const ev = (detailType: string, time: string, detail: Record<string, unknown>) => JSON.stringify({ version: '0', id: `id-${time}`, 'detail-type': detailType, source: 'slipway', account: ACCOUNT, time, region: REGION, resources: [], detail });
    logs.on(FilterLogEventsCommand).resolvesOnce({ events: [
      { message: ev('Deployment Succeeded', '2026-11-28T10:02:00Z', { app: 'shop', execution: 'deploy-shop-1' }) },
      { message: ev('Deployment Started', '2026-11-28T10:00:00Z', { app: 'shop', execution: 'deploy-shop-1' }) },
    ], nextToken: 'p' }).resolvesOnce({ events: [
      { message: ev('Deployment Started', '2026-11-28T10:01:00Z', { app: 'blog', execution: 'deploy-blog-1' }) },
      { message: '{"source":"aws.s3"}' },
    ] });
    const rack = await open();
    const events = await rack.events({ app: 'shop', since: Date.parse('2026-11-28T09:00:00Z') });
    expect(events.map((e) => [e['detail-type'], e.time])).toEqual([
      ['Deployment Started', '2026-11-28T10:00:00Z'],
      ['Deployment Succeeded', '2026-11-28T10:02:00Z'],
    ]);
    expect(events[0]).toMatchObject({ source: 'slipway', detail: { app: 'shop', execution: 'deploy-shop-1' } });
    expect(logs.commandCalls(FilterLogEventsCommand)[0]?.args[0].input).toMatchObject({ logGroupName: `/slipway/${RACK}/events`, startTime: Date.parse('2026-11-28T09:00:00Z'), filterPattern: '{ $.source = "slipway" && $.detail.app = "shop" }' });
  });

  it('events() on a rack deployed before the event log asks for a cdk deploy', async () => {
    cloudformation.on(DescribeStacksCommand, { StackName: `Slipway-${RACK}` }).resolves(stackDescription(table, { EventLogGroupName: '' }));
    const rack = await open();
    await expect(rack.events({})).rejects.toMatchObject({ code: 'LOG_GROUP_MISSING', message: expect.stringContaining('cdk deploy') as unknown });
  });

  it('buildLogs() finds the build\u2019s CodeBuild runs by image tag and reads their log streams (mocked CodeBuild)', async () => {
    const rack = await open();
    await deployedApp(rack);
    const env = (tag: string, key = 'apps/shop/bundles/app.tgz') => [{ name: 'SLIPWAY_IMAGE_TAG', value: tag, type: 'PLAINTEXT' as const }, { name: 'SLIPWAY_BUNDLE_KEY', value: key, type: 'PLAINTEXT' as const }];
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: ['cb:1', 'cb:2'] });
    codebuild.on(BatchGetBuildsCommand).resolves({ builds: [
      { id: 'cb:1', startTime: new Date(), environment: { type: 'LINUX_CONTAINER', image: 'x', computeType: 'BUILD_GENERAL1_MEDIUM', environmentVariables: env('web.BAAAAAAAAAA') }, logs: { groupName: '/aws/codebuild/b', streamName: 's1' } },
      { id: 'cb:2', startTime: new Date(), environment: { type: 'LINUX_CONTAINER', image: 'x', computeType: 'BUILD_GENERAL1_MEDIUM', environmentVariables: env('web.BOTHERBUILD') }, logs: { groupName: '/aws/codebuild/b', streamName: 's2' } },
    ] });
    logs.on(FilterLogEventsCommand, { logGroupName: '/aws/codebuild/b', logStreamNames: ['s1'] }).resolvesOnce({ events: [{ message: 'Step 1/3\n' }], nextToken: 'x' }).resolvesOnce({ events: [{ message: 'pushed\n' }] });
    expect(await rack.buildLogs('shop', 'BAAAAAAAAAA')).toBe('==> web <==\nStep 1/3\npushed\n');
    expect(codebuild.commandCalls(ListBuildsForProjectCommand)[0]?.args[0].input).toMatchObject({ projectName: `slipway-${RACK}-builds`, sortOrder: 'DESCENDING' });
  });
});

describe('region and caller', () => {
  it('takes the region from --region, then AWS_REGION, then AWS_DEFAULT_REGION', async () => {
    expect(await resolveRegion('us-east-2', { AWS_REGION: 'eu-west-1' })).toBe('us-east-2');
    expect(await resolveRegion(undefined, { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'ap-south-1' })).toBe('eu-west-1');
    expect(await resolveRegion(undefined, { AWS_DEFAULT_REGION: 'ap-south-1' })).toBe('ap-south-1');
  });

  it('names the caller `cli` in execution inputs when STS is not available (mocked Step Functions)', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn', startDate: new Date() });
    const { sts: _sts, ...withoutSts } = clients();
    const rack = await openAwsRack(RACK, REGION, { clients: withoutSts, versioning: 'off' });
    await rack.createApp('shop');
    await rack.rollback('shop', {});
    expect(startInputs()[0]?.input).toEqual({ app: 'shop', by: 'cli' });
  });

  it('starts a new Live Tail session when one times out, until aborted (mocked CloudWatch Logs)', async () => {
    logs.on(FilterLogEventsCommand).resolves({ events: [] });
    const abort = new AbortController();
    async function* first(): AsyncGenerator<StartLiveTailResponseStream> {
      await Promise.resolve();
      yield { sessionUpdate: { sessionResults: [{ timestamp: 1, message: record('prod-shop', 'web', 'w', 'one') }] } };
      yield { SessionTimeoutException: { name: 'SessionTimeoutException', message: 'session ended', $fault: 'client', $metadata: {} } as never };
    }
    async function* second(): AsyncGenerator<StartLiveTailResponseStream> {
      yield { sessionUpdate: { sessionResults: [{ timestamp: 2, message: record('prod-shop', 'web', 'w', 'two') }] } };
      await new Promise((resolve) => abort.signal.addEventListener('abort', resolve));
    }
    logs.on(StartLiveTailCommand).resolvesOnce({ responseStream: first() }).resolvesOnce({ responseStream: second() });
    const rack = await open();
    const seen: string[] = [];
    for await (const line of rack.logs('shop', { since: 0, follow: true, signal: abort.signal })) {
      seen.push(line.text);
      if (line.text === 'two') abort.abort();
    }
    expect(seen).toEqual(['one', 'two']);
    expect(logs.commandCalls(StartLiveTailCommand)).toHaveLength(2);
  });
});
