/**
 * The ReleaseStore operations behind cancels, scales and app deletion, over both RecordTable
 * adapters: the local rack's files, and DynamoDB's API through the real SDK client against
 * dynalite (in process; no AWS account here).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRecordTable } from '../../lib/aws/adapters/dynamo-record-table';
import { FileRecordTable } from '../../lib/local/file-record-table';
import { newBuildId, newReleaseId } from '../../lib/pipeline/domain/ids';
import type { RecordTable } from '../../lib/pipeline/ports/record-table';
import { LockLostError, ReleaseStore } from '../../lib/pipeline/stores/release-store';
import type { Dynalite } from '../support/dynalite';
import { createRecordTable, startDynalite } from '../support/dynalite';

let dynamo: Dynalite;
let n = 0;
const root = mkdtempSync(join(tmpdir(), 'slipway-store-ops-'));

beforeAll(async () => {
  dynamo = await startDynalite('us-east-1');
});

afterAll(() => dynamo.close());

async function dynamoTable(): Promise<RecordTable> {
  const name = `slipway-ops-${n++}`;
  await createRecordTable(dynamo.client, name);
  return new DynamoRecordTable(dynamo.client, name);
}

const adapters: [string, () => Promise<RecordTable>][] = [
  ['FileRecordTable', () => Promise.resolve(new FileRecordTable(join(root, `t${n++}`)))],
  ['DynamoRecordTable (dynalite)', dynamoTable],
];

describe.each(adapters)('ReleaseStore app operations over %s', (_name, fresh) => {
  async function setup(): Promise<ReleaseStore> {
    const store = new ReleaseStore(await fresh());
    await store.createApp('shop');
    return store;
  }

  it('takes the lock over from the stopped execution that holds it, in one write that also drops it from the queue', async () => {
    const store = await setup();
    const old = await store.acquireLock('shop', 'deploy-a', 60_000);
    await store.enqueueDeploy('shop', 'deploy-a', '1');
    await store.enqueueDeploy('shop', 'deploy-b', '2');
    const lease = await store.takeOverLock('shop', 'deploy-a', 'cancel-1', 60_000);
    expect(lease).toMatchObject({ app: 'shop', owner: 'cancel-1', token: (old?.token ?? 0) + 1 });
    expect((await store.lockOf('shop'))?.owner).toBe('cancel-1');
    expect((await store.deployQueue('shop')).map((q) => q.execution)).toEqual(['deploy-b']);
    // The old holder's lease is fenced off.
    await expect(store.renewLock(old!, 60_000)).rejects.toBeInstanceOf(LockLostError);
  });

  it('does not take over a lock another execution holds (but still drops the named one from the queue)', async () => {
    const store = await setup();
    await store.acquireLock('shop', 'deploy-b', 60_000);
    await store.enqueueDeploy('shop', 'deploy-a', '1');
    expect(await store.takeOverLock('shop', 'deploy-a', 'cancel-1', 60_000)).toBeUndefined();
    expect((await store.lockOf('shop'))?.owner).toBe('deploy-b');
    expect(await store.deployQueue('shop')).toEqual([]);
  });

  it('merges scale sizes under the lock, restores them exactly, and refuses without the lock', async () => {
    const store = await setup();
    const lease = (await store.acquireLock('shop', 'scale-1', 60_000))!;
    await store.setScale(lease, 'web', { count: 3 });
    expect((await store.setScale(lease, 'web', { cpu: 256 })).scale).toEqual({ web: { count: 3, cpu: 256 } });
    await store.setScale(lease, 'worker', { memory: 1024 });
    expect((await store.restoreScale(lease, 'web', { count: 2 })).scale).toEqual({ web: { count: 2 }, worker: { memory: 1024 } });
    await store.restoreScale(lease, 'web', undefined);
    expect((await store.restoreScale(lease, 'worker', undefined)).scale).toBeUndefined();
    await store.releaseLock(lease);
    await expect(store.setScale(lease, 'web', { count: 1 })).rejects.toBeInstanceOf(LockLostError);
  });

  it('deletes the app with its builds, releases, lock and queue, only for the lock holder; again is a no-op', async () => {
    const store = await setup();
    await store.createApp('other');
    const build = { id: newBuildId(), app: 'shop', bundle: { app: 'shop', key: 'apps/shop/bundles/x.tgz', version: 'v1', etag: 'e', size: 1 }, manifest: 'services: {}', images: [], status: 'complete' as const, createdAt: '2026-11-28T11:00:00.000Z' };
    await store.putBuild(build);
    await store.putBuild({ ...build, id: newBuildId(), app: 'other' });
    for (let i = 0; i < 2; i++) await store.putRelease({ id: newReleaseId(), app: 'shop', build: build.id, envVersion: 1, description: 'x', createdAt: `2026-11-28T11:0${i}:00.000Z` });
    await store.enqueueDeploy('shop', 'deploy-q', '1');
    const other = (await store.acquireLock('shop', 'deploy-x', 60_000))!;
    await expect(store.deleteApp({ ...other, owner: 'someone-else' }, 'shop')).rejects.toBeInstanceOf(LockLostError);
    await expect(store.deleteApp(undefined, 'shop')).rejects.toBeInstanceOf(LockLostError);
    expect(await store.deleteApp(other, 'shop')).toEqual({ builds: 1, releases: 2 });
    expect(await store.getApp('shop')).toBeUndefined();
    expect(await store.listBuilds('shop')).toEqual([]);
    expect(await store.listReleases('shop')).toEqual([]);
    expect((await store.listApps()).map((a) => a.name)).toEqual(['other']);
    expect(await store.listBuilds('other')).toHaveLength(1);
    expect(await store.deleteApp(undefined, 'shop')).toEqual({ builds: 0, releases: 0 });
    // The name can be used again, from scratch.
    await store.createApp('shop');
    expect(await store.lockOf('shop')).toBeUndefined();
  });
});
