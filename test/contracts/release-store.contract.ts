/** The release store and its deploy lock, over any RecordTable adapter. */
import { describe, expect, it } from 'vitest';
import type { BuildId } from '../../lib/pipeline/domain/ids';
import { newBuildId, newReleaseId } from '../../lib/pipeline/domain/ids';
import type { Build, Release } from '../../lib/pipeline/domain/model';
import type { RecordTable } from '../../lib/pipeline/ports/record-table';
import { LockLostError, NotFoundError, ReleaseStore } from '../../lib/pipeline/stores/release-store';

class ManualClock {
  constructor(public t = Date.parse('2026-11-28T12:00:00Z')) {}
  now(): number {
    return this.t;
  }
}

function release(app: string, build: BuildId, at: string, description = `build ${build}`): Release {
  return { id: newReleaseId(), app, build, envVersion: 1, description, createdAt: at };
}

function build(app: string, at: string): Build {
  return { id: newBuildId(), app, bundle: { app, key: `apps/${app}/bundles/x.tgz`, version: 'v1', etag: 'e', size: 10 }, manifest: 'services: {}', images: [], status: 'complete', createdAt: at };
}

export function releaseStoreContract(adapter: string, fresh: () => Promise<RecordTable>): void {
  describe(`ReleaseStore over ${adapter}`, () => {
    async function setup(): Promise<{ store: ReleaseStore; clock: ManualClock; r1: Release; r2: Release }> {
      const clock = new ManualClock();
      const store = new ReleaseStore(await fresh(), clock);
      await store.createApp('shop');
      const b = build('shop', '2026-11-28T11:00:00.000Z');
      await store.putBuild(b);
      const r1 = release('shop', b.id, '2026-11-28T11:00:00.000Z');
      const r2 = release('shop', b.id, '2026-11-28T11:30:00.000Z', 'env add:FOO');
      await store.putRelease(r1);
      await store.putRelease(r2);
      return { store, clock, r1, r2 };
    }

    it('keeps apps, builds and releases, releases newest first and immutable', async () => {
      const { store, r1, r2 } = await setup();
      expect((await store.listApps()).map((a) => a.name)).toEqual(['shop']);
      expect((await store.listReleases('shop')).map((r) => r.id)).toEqual([r2.id, r1.id]);
      await expect(store.putRelease(r1)).rejects.toThrow(/already exists/);
      await expect(store.createApp('shop')).rejects.toThrow(/already exists/);
      expect(await store.getRelease('shop', 'RZZZZZZZZZZ')).toBeUndefined();
    });

    it('lets one deploy hold an app\u2019s lock at a time', async () => {
      const { store } = await setup();
      const a = await store.acquireLock('shop', 'deploy-a', 60_000);
      expect(a).toMatchObject({ owner: 'deploy-a', token: 1 });
      expect(await store.acquireLock('shop', 'deploy-b', 60_000)).toBeUndefined();
      await store.releaseLock(a!);
      expect(await store.acquireLock('shop', 'deploy-b', 60_000)).toMatchObject({ owner: 'deploy-b', token: 2 });
    });

    it('promotes only for the lock holder, and records the history', async () => {
      const { store, r1, r2 } = await setup();
      const lease = (await store.acquireLock('shop', 'deploy-a', 60_000))!;
      await store.promote(lease, r1.id);
      const app = await store.promote(lease, r2.id);
      expect(app.release).toBe(r2.id);
      expect(await store.releaseHistory('shop')).toEqual([r2.id, r1.id]);
      await store.releaseLock(lease);
      await expect(store.promote(lease, r1.id)).rejects.toBeInstanceOf(LockLostError);
      await expect(store.promote(lease, 'RNOPENOPENO')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('frees a crashed deploy\u2019s lock when its lease expires, and fences the crashed deploy out', async () => {
      const { store, clock, r1, r2 } = await setup();
      const crashed = (await store.acquireLock('shop', 'deploy-a', 60_000))!;
      clock.t += 30_000;
      expect(await store.acquireLock('shop', 'deploy-b', 60_000)).toBeUndefined();
      clock.t += 31_000;
      const next = (await store.acquireLock('shop', 'deploy-b', 60_000))!;
      expect(next.token).toBeGreaterThan(crashed.token);
      await store.promote(next, r2.id);
      // The crashed deploy wakes up: its writes are refused, and it cannot take the lock back by renewing.
      await expect(store.promote(crashed, r1.id)).rejects.toBeInstanceOf(LockLostError);
      await expect(store.renewLock(crashed, 60_000)).rejects.toBeInstanceOf(LockLostError);
      expect((await store.getApp('shop'))?.release).toBe(r2.id);
    });

    it('refuses a write on an expired lease, and renewal keeps a lease alive', async () => {
      const { store, clock, r1 } = await setup();
      let lease = (await store.acquireLock('shop', 'deploy-a', 10_000))!;
      clock.t += 8_000;
      lease = await store.renewLock(lease, 10_000);
      clock.t += 8_000;
      await store.promote(lease, r1.id);
      clock.t += 11_000;
      await expect(store.promote(lease, r1.id)).rejects.toThrow(/expired/);
    });

    it('pins and unpins an app', async () => {
      const { store } = await setup();
      const lease = (await store.acquireLock('shop', 'console', 60_000))!;
      const pinned = await store.pin(lease, { release: 'RAAAAAAAAAA', by: 'console', reason: 'rollback' });
      expect(pinned.pin).toMatchObject({ release: 'RAAAAAAAAAA', by: 'console', reason: 'rollback' });
      expect((await store.unpin('shop')).pin).toBeUndefined();
    });
  });
}
