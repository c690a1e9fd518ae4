/** Deleting an app (`slipway apps delete`) over the local rack's record files, with test doubles for the builder, runtime and scheduler. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirBundleStore } from '../../lib/local/dir-bundle-store';
import { FileRecordTable } from '../../lib/local/file-record-table';
import { newBuildId, newReleaseId } from '../../lib/pipeline/domain/ids';
import type { SlipwayEvent } from '../../lib/pipeline/events';
import { EventPublisher } from '../../lib/pipeline/events';
import { AppBusyError, deleteApp } from '../../lib/pipeline/steps/delete-app';
import type { DeployContext } from '../../lib/pipeline/steps/deploy';
import { RecordEnvStore } from '../../lib/pipeline/stores/env-store';
import { NotFoundError, ReleaseStore } from '../../lib/pipeline/stores/release-store';
import { MANIFEST } from '../support/local-pipeline';
import { AlarmsDouble, BuilderDouble, ProvisionerDouble, RuntimeDouble, SchedulerDouble } from '../support/pipeline-doubles';

async function rack() {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-delete-app-'));
  const table = new FileRecordTable(join(dir, 'records'));
  const store = new ReleaseStore(table);
  const env = new RecordEnvStore(table);
  const events: SlipwayEvent[] = [];
  const runtime = new RuntimeDouble();
  const builder = new BuilderDouble();
  const scheduler = new SchedulerDouble();
  const ctx: DeployContext = {
    store,
    bundles: new DirBundleStore(join(dir, 'bundles')),
    builder,
    provisioner: new ProvisionerDouble(),
    runtime,
    env,
    scheduler,
    alarms: new AlarmsDouble(),
    events: new EventPublisher({ put: (e) => Promise.resolve(void events.push(...e)) }),
    clock: { now: () => Date.now() },
    workDir: join(dir, 'work'),
  };
  // An app serving a release whose convox.yml has a database and a timer.
  await store.createApp('shop');
  await store.createApp('other');
  const version = await env.set('shop', { API_KEY: 'k3y-value-never-shown' });
  const build = { id: newBuildId(), app: 'shop', bundle: { app: 'shop', key: 'apps/shop/bundles/app.tgz', version: 'v1', etag: 'e', size: 1 }, manifest: MANIFEST, images: [{ service: 'web', image: 'local/web:1', contextHash: 'c', buildHash: 'b', reused: false }], status: 'complete' as const, createdAt: new Date().toISOString() };
  await store.putBuild(build);
  const release = newReleaseId();
  await store.putRelease({ id: release, app: 'shop', build: build.id, envVersion: version, description: `build ${build.id}`, createdAt: new Date().toISOString() });
  const lease = (await store.acquireLock('shop', 'deploy-1', 60_000))!;
  await store.promote(lease, release);
  await store.releaseLock(lease);
  await scheduler.reconcile('shop', [{ name: 'cleanup', schedule: '0 3 * * *' }]);
  return { ctx, store, env, events, runtime, builder, scheduler };
}

describe('deleteApp (local record files; builder, runtime and scheduler are test doubles)', () => {
  it('removes processes, timers, images, records and the environment, keeps the database and says so', async () => {
    const { ctx, store, env, events, runtime, builder, scheduler } = await rack();
    const deleted = await deleteApp(ctx, 'shop', 'dev@example.com');
    expect(deleted).toEqual({ app: 'shop', builds: 1, releases: 1, resourcesKept: ['db (postgres)'] });
    expect(runtime.removed).toBe(1);
    expect(scheduler.schedules.get('shop')?.size).toBe(0);
    expect(builder.deleted).toEqual(['local/web:1']);
    expect(await store.getApp('shop')).toBeUndefined();
    expect(await store.listReleases('shop')).toEqual([]);
    expect(await store.getApp('other')).toBeDefined();
    // A new app of the same name must not inherit the deleted one's secrets.
    expect(await env.current('shop')).toEqual({ version: 0, values: {} });
    expect(events.map((e) => [e['detail-type'], e.detail])).toEqual([
      ['App Deleted', { app: 'shop', reason: 'deleted by dev@example.com; resources kept: db (postgres)', counts: { builds: 1, releases: 1, envVersions: 1, resourcesKept: 1 } }],
    ]);
  });

  it('refuses while a deploy holds the app, naming it, and changes nothing', async () => {
    const { ctx, store, events, runtime } = await rack();
    await store.acquireLock('shop', 'deploy-running', 60_000);
    const refused = deleteApp(ctx, 'shop', 'dev@example.com');
    await expect(refused).rejects.toBeInstanceOf(AppBusyError);
    await expect(refused).rejects.toThrow(/app shop cannot be deleted while deploy-running holds it; .*slipway apps cancel shop/);
    expect(runtime.removed).toBe(0);
    expect(await store.getApp('shop')).toBeDefined();
    expect((await store.lockOf('shop'))?.owner).toBe('deploy-running');
    expect(events).toEqual([]);
  });

  it('lets go of the lock when a step fails, so it can be run again', async () => {
    const { ctx, store, runtime } = await rack();
    runtime.remove = () => Promise.reject(new Error('cluster unreachable'));
    await expect(deleteApp(ctx, 'shop', 'dev@example.com')).rejects.toThrow(/cluster unreachable/);
    expect(await store.lockOf('shop')).toBeUndefined();
    expect(await store.getApp('shop')).toBeDefined();
  });

  it('an unknown app is a NotFoundError', async () => {
    const { ctx } = await rack();
    await expect(deleteApp(ctx, 'nope', 'dev@example.com')).rejects.toBeInstanceOf(NotFoundError);
  });
});
