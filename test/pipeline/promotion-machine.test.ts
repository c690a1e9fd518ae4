/**
 * The Rollback machine's other requests: promotions (`releases promote`), cancels (`apps cancel`)
 * and scales (`slipway scale`), through the synthesised ASL on the local runner (builder,
 * provisioner and runtime are test doubles).
 */
import { describe, expect, it } from 'vitest';
import type { ReleaseId } from '../../lib/pipeline/domain/ids';
import { newReleaseId } from '../../lib/pipeline/domain/ids';
import type { ApplyRequest } from '../../lib/pipeline/ports/runtime';
import type { SlipwayEvent } from '../../lib/pipeline/events';
import { bundle, deploy, localPipeline, types } from '../support/local-pipeline';
import type { LocalPipeline } from '../support/local-pipeline';

const detailOf = (events: SlipwayEvent[], type: string) => events.find((e) => e['detail-type'] === type)?.detail;

/** Two deploys (r1, r2 serving), and a newer release of r1's build that was never promoted (as `env set` without --promote makes). */
async function withUnpromotedRelease() {
  const p = await localPipeline();
  for (const v of ['v1', 'v2']) expect((await deploy(p, v)).status).toBe('SUCCEEDED');
  const [r2, r1] = await p.store.listReleases('shop');
  const fresh = newReleaseId();
  await p.store.putRelease({ id: fresh, app: 'shop', build: r1!.build, envVersion: r1!.envVersion, description: 'env change:API_KEY', createdAt: new Date(Date.now() + 1000).toISOString() });
  p.events.length = 0;
  return { p, r1: r1!.id, r2: r2!.id, fresh };
}

/** What the runtime was asked to apply, request by request (the double records ids only). */
function recordApplies(p: LocalPipeline): ApplyRequest[] {
  const seen: ApplyRequest[] = [];
  const original = p.runtime.apply.bind(p.runtime);
  p.runtime.apply = (request: ApplyRequest) => {
    seen.push(request);
    return original(request);
  };
  return seen;
}

describe('promotions through the Rollback machine (synthesised ASL, local runner; builder, provisioner and runtime are test doubles)', () => {
  it('promotes the newest release as it is: no copy, no pin, Promotion events, the current release changes', async () => {
    const { p, r2, fresh } = await withUnpromotedRelease();
    const releases = (await p.store.listReleases('shop')).length;
    expect((await p.rollback({ app: 'shop', mode: 'promote', by: 'dev@example.com' })).status).toBe('SUCCEEDED');
    expect((await p.store.listReleases('shop')).length).toBe(releases);
    const app = await p.store.getApp('shop');
    expect(app?.release).toBe(fresh);
    expect(app?.pin).toBeUndefined();
    expect(p.runtime.applied.at(-1)).toBe(fresh);
    expect(types(p.events)).toEqual(['Promotion Started', 'Rollout Started', 'Health Gate Passed', 'Promotion Succeeded']);
    expect(detailOf(p.events, 'Promotion Started')).toMatchObject({ release: fresh, previousRelease: r2, reason: `promote ${fresh} by dev@example.com` });
    expect(detailOf(p.events, 'Promotion Succeeded')).toMatchObject({ release: fresh, previousRelease: r2 });
    expect(await p.store.lockOf('shop')).toBeUndefined();
  });

  it('promotes a given release, and may promote the current one again (re-applies it)', async () => {
    const { p, r1, r2 } = await withUnpromotedRelease();
    expect((await p.rollback({ app: 'shop', mode: 'promote', release: r1 })).status).toBe('SUCCEEDED');
    expect((await p.store.getApp('shop'))?.release).toBe(r1);
    p.events.length = 0;
    const applies = p.runtime.applied.length;
    expect((await p.rollback({ app: 'shop', mode: 'promote', release: r1, skipGates: true })).status).toBe('SUCCEEDED');
    expect(p.runtime.applied.slice(applies)).toEqual([r1]);
    expect(types(p.events)).toEqual(['Promotion Started', 'Rollout Started', 'Promotion Succeeded']);
    expect(detailOf(p.events, 'Promotion Succeeded')).toMatchObject({ release: r1, previousRelease: r1 });
    expect(r2).not.toBe(r1);
  });

  it('a promotion whose gate fails puts back what served before, and fails as PromotionFailed with the reason', async () => {
    const { p, r2, fresh } = await withUnpromotedRelease();
    p.runtime.healthy = (release) => release !== fresh;
    const outcome = await p.rollback({ app: 'shop', mode: 'promote' });
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'PromotionFailed' });
    expect(outcome.status === 'FAILED' ? outcome.cause : '').toMatch(/Health Gate Failed: web/);
    expect(p.runtime.applied.slice(-2)).toEqual([fresh, r2]);
    expect((await p.store.getApp('shop'))?.release).toBe(r2);
    expect(types(p.events)).toEqual(['Promotion Started', 'Rollout Started', 'Health Gate Failed', 'Promotion Failed']);
    expect(detailOf(p.events, 'Promotion Failed')).toMatchObject({ release: fresh, reason: expect.stringMatching(/answered 503/) as unknown });
    expect(await p.store.lockOf('shop')).toBeUndefined();
  });
});

describe('cancels through the Rollback machine (synthesised ASL, local runner; test doubles behind the ports)', () => {
  it('takes over the lock of the stopped deploy it names and puts back the release that served (Deployment Cancelled)', async () => {
    const p = await localPipeline();
    expect((await deploy(p, 'v1')).status).toBe('SUCCEEDED');
    const r1 = (await p.store.getApp('shop'))?.release;
    // The second deploy is stopped mid-rollout, as `apps cancel` stops it: it keeps its lock.
    let stopped = false;
    p.runtime.onPoll = (release) => {
      if (release !== r1 && !stopped) {
        stopped = true;
        p.started.at(-1)?.abort();
      }
    };
    await p.bundles.put('shop', 'app.tgz', bundle('v2'));
    const cancelled = p.started.at(-1);
    expect(await cancelled?.outcome).toEqual({ status: 'ABORTED' });
    p.runtime.onPoll = undefined;
    expect((await p.store.lockOf('shop'))?.owner).toBe(cancelled?.name);
    const r2 = p.runtime.applied.at(-1);
    expect(r2).not.toBe(r1);
    p.events.length = 0;

    const outcome = await p.rollback({ app: 'shop', cancels: cancelled?.name, by: 'dev@example.com' });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(p.runtime.applied.at(-1)).toBe(r1);
    const app = await p.store.getApp('shop');
    expect(app?.release).toBe(r1);
    expect(app?.pin).toBeUndefined();
    expect(await p.store.lockOf('shop')).toBeUndefined();
    expect((await p.store.deployQueue('shop')).map((q) => q.execution)).not.toContain(cancelled?.name);
    expect(types(p.events)).toEqual(['Promotion Started', 'Rollout Started', 'Health Gate Passed', 'Deployment Cancelled']);
    expect(detailOf(p.events, 'Deployment Cancelled')).toMatchObject({ release: r1, reason: expect.stringContaining(`cancel of deploy ${cancelled?.name ?? ''} by dev@example.com`) as unknown });
  });

  it('a cancelled first deploy leaves nothing to put back: its processes are removed', async () => {
    const p = await localPipeline();
    // A first deploy holds the lock and was stopped before it promoted anything.
    await p.store.acquireLock('shop', 'deploy-stopped', 60_000);
    await p.store.enqueueDeploy('shop', 'deploy-stopped', '1');
    const outcome = await p.rollback({ app: 'shop', cancels: 'deploy-stopped' });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(p.runtime.removed).toBe(1);
    expect(types(p.events)).toEqual(['Deployment Cancelled']);
    expect(detailOf(p.events, 'Deployment Cancelled')?.reason).toMatch(/cancel of deploy deploy-stopped; the app served no release before it, so its processes were removed/);
    expect(await p.store.lockOf('shop')).toBeUndefined();
    expect(await p.store.deployQueue('shop')).toEqual([]);
  });

  it('waits as usual when the named execution does not hold the lock', async () => {
    const p = await localPipeline();
    expect((await deploy(p, 'v1')).status).toBe('SUCCEEDED');
    const other = await p.store.acquireLock('shop', 'another-deploy', 60_000);
    const outcome = p.rollback({ app: 'shop', cancels: 'not-the-holder' });
    await new Promise((r) => setTimeout(r, 2500));
    expect((await p.store.lockOf('shop'))?.owner).toBe('another-deploy');
    await p.store.releaseLock(other!);
    expect((await outcome).status).toBe('SUCCEEDED');
    expect(types(p.events)).toContain('Deployment Cancelled');
  });
});

describe('scale through the Rollback machine (synthesised ASL, local runner; test doubles behind the ports)', () => {
  it('stores the sizes on the app, merges later ones, and rolls the current release out with them', async () => {
    const p = await localPipeline();
    expect((await deploy(p, 'v1')).status).toBe('SUCCEEDED');
    const current = (await p.store.getApp('shop'))?.release;
    const applies = recordApplies(p);
    p.events.length = 0;
    expect((await p.rollback({ app: 'shop', scale: { service: 'web', count: 3, cpu: 256 }, by: 'dev@example.com' })).status).toBe('SUCCEEDED');
    expect((await p.store.getApp('shop'))?.scale).toEqual({ web: { count: 3, cpu: 256 } });
    expect(applies.at(-1)).toMatchObject({ release: { id: current }, scale: { web: { count: 3, cpu: 256 } } });
    expect(types(p.events)).toEqual(['Promotion Started', 'Rollout Started', 'Health Gate Passed', 'Promotion Succeeded']);
    expect(detailOf(p.events, 'Promotion Started')).toMatchObject({ release: current, previousRelease: current, reason: 'scale web count=3 cpu=256 by dev@example.com' });
    expect(detailOf(p.events, 'Promotion Succeeded')?.reason).toBe('scale web count=3 cpu=256 by dev@example.com');

    expect((await p.rollback({ app: 'shop', scale: { service: 'web', memory: 512 } })).status).toBe('SUCCEEDED');
    expect((await p.store.getApp('shop'))?.scale).toEqual({ web: { count: 3, cpu: 256, memory: 512 } });
    expect(applies.at(-1)?.scale).toEqual({ web: { count: 3, cpu: 256, memory: 512 } });
    expect((await p.store.getApp('shop'))?.release).toBe(current);
    expect((await p.store.getApp('shop'))?.pin).toBeUndefined();
  });

  it('rejects an unknown service, changing nothing', async () => {
    const p = await localPipeline();
    expect((await deploy(p, 'v1')).status).toBe('SUCCEEDED');
    const applied = p.runtime.applied.length;
    p.events.length = 0;
    const outcome = await p.rollback({ app: 'shop', scale: { service: 'worker', count: 2 } });
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'PromotionFailed' });
    expect(outcome.status === 'FAILED' ? outcome.cause : '').toMatch(/app shop has no service worker in release R\w+ \(services: web\)/);
    expect(types(p.events)).toEqual(['Promotion Failed']);
    expect((await p.store.getApp('shop'))?.scale).toBeUndefined();
    expect(p.runtime.applied.length).toBe(applied);
    expect(await p.store.lockOf('shop')).toBeUndefined();
  });

  it.each([
    [{ service: 'web', count: 101 }, /count must be a whole number from 0 to 100/],
    [{ service: 'web', count: 1.5 }, /count must be a whole number/],
    [{ service: 'web', cpu: 0 }, /cpu is whole millicores above 0/],
    [{ service: 'web', memory: -1 }, /memory is whole MiB above 0/],
    [{ service: 'web' }, /give at least one of count, cpu, memory/],
  ])('rejects sizes out of range before taking the lock: %j', async (scale, message) => {
    const p = await localPipeline();
    const outcome = await p.rollback({ app: 'shop', scale });
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'PromotionFailed' });
    expect(outcome.status === 'FAILED' ? outcome.cause : '').toMatch(message);
  });

  it('a scale whose rollout fails puts the previous sizes back with the release', async () => {
    const p = await localPipeline();
    expect((await deploy(p, 'v1')).status).toBe('SUCCEEDED');
    const current = (await p.store.getApp('shop'))?.release as ReleaseId;
    expect((await p.rollback({ app: 'shop', scale: { service: 'web', count: 2 } })).status).toBe('SUCCEEDED');
    const applies = recordApplies(p);
    p.runtime.rolloutOf = () => ({ fail: 'CrashLoopBackOff: out of memory' });
    const outcome = await p.rollback({ app: 'shop', scale: { service: 'web', count: 4, memory: 64 } });
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'PromotionFailed' });
    expect((await p.store.getApp('shop'))?.scale).toEqual({ web: { count: 2 } });
    expect(applies.map((a) => a.scale)).toEqual([{ web: { count: 4, memory: 64 } }, { web: { count: 2 } }]);
    expect(applies.at(-1)?.release.id).toBe(current);
    expect(await p.store.lockOf('shop')).toBeUndefined();
  });
});
