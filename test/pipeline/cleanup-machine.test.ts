/**
 * The Cleanup state machine, as its daily schedule starts it, through the synthesised ASL on the
 * local runner (real local stores; builder and runtime are test doubles). The machine keeps one
 * release beyond the current and previous ones here, with no grace period.
 */
import { describe, expect, it } from 'vitest';
import { deploy, localPipeline, types } from '../support/local-pipeline';

describe('the Cleanup state machine (schedule; synthesised ASL, local runner; builder and runtime are test doubles)', () => {
  it('keeps the last releases, the current and the previous, and deletes what nothing refers to', async () => {
    const p = await localPipeline();
    for (const v of ['v1', 'v2', 'v3', 'v4']) expect((await deploy(p, v)).status).toBe('SUCCEEDED');
    const [r4, r3, r2, r1] = await p.store.listReleases('shop');
    expect(await p.bundles.list('shop')).toHaveLength(4);
    p.events.length = 0;
    expect((await p.cleanup()).status).toBe('SUCCEEDED');
    expect((await p.store.listReleases('shop')).map((r) => r.id)).toEqual([r4?.id, r3?.id]);
    expect((await p.store.getApp('shop'))?.release).toBe(r4?.id);
    const builds = await p.store.listBuilds('shop');
    expect(builds.map((b) => b.id).sort()).toEqual([r4?.build, r3?.build].sort());
    expect((await p.bundles.list('shop')).map((b) => `${b.key}@${b.version}`).sort()).toEqual(builds.map((b) => `${b.bundle.key}@${b.bundle.version}`).sort());
    expect(p.builder.deleted.sort()).toEqual([`local/web:${r1?.build}`, `local/web:${r2?.build}`].sort());
    expect(p.events.at(-1)).toMatchObject({ 'detail-type': 'Cleanup Completed', detail: { app: 'shop', counts: { releasesKept: 2, releasesDeleted: 2, buildsDeleted: 2, bundlesDeleted: 2, imagesDeleted: 2 } } });
  });

  it('frees a lock whose lease ran out, drops queue entries of deploys that died, and removes finished jobs', async () => {
    const p = await localPipeline();
    expect((await deploy(p, 'v1')).status).toBe('SUCCEEDED');
    await p.runTimer({ app: 'shop', timer: 'cleanup' });
    await p.store.enqueueDeploy('shop', 'deploy-that-died-waiting', '9999');
    const stale = await p.store.acquireLock('shop', 'deploy-that-died', 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    p.events.length = 0;
    expect((await p.cleanup()).status).toBe('SUCCEEDED');
    expect(await p.store.lockOf('shop')).toBeUndefined();
    expect(p.events[0]).toMatchObject({ 'detail-type': 'Lock Expired', detail: { app: 'shop', execution: stale?.owner } });
    expect(p.runtime.jobs.size).toBe(0);
    expect(types(p.events)).toEqual(['Lock Expired', 'Cleanup Completed']);
    expect(p.events[1]?.detail.counts).toMatchObject({ jobsDeleted: 1, queuedDeploysDropped: 1 });
    expect(await p.store.deployQueue('shop')).toEqual([]);
  });
});
