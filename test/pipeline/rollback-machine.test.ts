/**
 * The Rollback state machine, started as an operator would from the console, through the
 * synthesised ASL on the local runner (builder, provisioner and runtime are test doubles).
 */
import { describe, expect, it } from 'vitest';
import { deploy, localPipeline, types, until } from '../support/local-pipeline';

async function threeReleases() {
  const p = await localPipeline();
  for (const v of ['v1', 'v2', 'v3']) expect((await deploy(p, v)).status).toBe('SUCCEEDED');
  const [r3, r2, r1] = (await p.store.listReleases('shop')).map((r) => r.id);
  return { p, r1: r1!, r2: r2!, r3: r3! };
}

describe('the Rollback state machine (console; synthesised ASL, local runner; builder, provisioner and runtime are test doubles)', () => {
  it('rolls back to the previous release by default: a new release copied from it, promoted and pinned', async () => {
    const { p, r1, r2 } = await threeReleases();
    p.events.length = 0;
    const builds = p.builder.started.length;
    expect((await p.rollback({ app: 'shop' })).status).toBe('SUCCEEDED');
    const [copy] = await p.store.listReleases('shop');
    const source = await p.store.getRelease('shop', r2);
    expect(copy).toMatchObject({ description: `rollback to ${r2}`, build: source?.build, envVersion: source?.envVersion });
    const app = await p.store.getApp('shop');
    expect(app?.release).toBe(copy?.id);
    expect(app?.pin).toMatchObject({ release: copy?.id, by: 'console' });
    expect(p.builder.started).toHaveLength(builds);
    expect(p.runtime.applied.at(-1)).toBe(copy?.id);
    expect(types(p.events)).toEqual(['Rollback Started', 'Rollout Started', 'Health Gate Passed', 'Rollback Succeeded']);
    expect(r1).toBeDefined();
  });

  it('rolls back to a given release, and can skip the health gates', async () => {
    const { p, r1 } = await threeReleases();
    p.events.length = 0;
    expect((await p.rollback({ app: 'shop', release: r1, skipGates: true })).status).toBe('SUCCEEDED');
    const [copy] = await p.store.listReleases('shop');
    expect(copy?.description).toBe(`rollback to ${r1}`);
    expect(types(p.events)).toEqual(['Rollback Started', 'Rollout Started', 'Rollback Succeeded']);
  });

  it('pins the app: a later upload waits until an operator unpins it', async () => {
    const { p } = await threeReleases();
    await p.rollback({ app: 'shop' });
    const pinnedTo = (await p.store.getApp('shop'))?.release;
    p.events.length = 0;
    await p.bundles.put('shop', 'app.tgz', Buffer.from(''));
    await until(() => types(p.events).includes('Deployment Queued'));
    expect(p.events.find((e) => e['detail-type'] === 'Deployment Queued')?.detail.reason).toMatch(/pinned/);
    expect((await p.store.getApp('shop'))?.release).toBe(pinnedTo);
    await p.unpin('operator@example.com');
    expect(p.events.find((e) => e['detail-type'] === 'App Unpinned')?.detail).toMatchObject({ app: 'shop', release: pinnedTo, reason: 'unpinned by operator@example.com' });
    const outcome = await p.started.at(-1)?.outcome;
    // The upload was an empty file: once unpinned it runs, and is refused as a bundle.
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'BundleRejected' });
    expect((await p.store.getApp('shop'))?.release).toBe(pinnedTo);
  });

  it('fails cleanly for a release that does not exist, changing nothing', async () => {
    const { p, r3 } = await threeReleases();
    p.events.length = 0;
    const outcome = await p.rollback({ app: 'shop', release: 'RNOSUCHRELE' });
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'RollbackFailed' });
    expect(types(p.events)).toEqual(['Rollback Failed']);
    expect(p.events[0]?.detail.reason).toMatch(/not found/);
    expect((await p.store.getApp('shop'))?.release).toBe(r3);
    expect(await p.store.lockOf('shop')).toBeUndefined();
  });
});
