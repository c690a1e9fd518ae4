/**
 * The Deploy state machine, run through the ASL CDK synthesises, on the local runner, with real
 * local stores (records, bundles) and test doubles for the builder, provisioner and runtime. Each
 * test asserts the releases, the app's current release and the events.
 */
import { describe, expect, it } from 'vitest';
import { deployExecutionName } from '../../lib/pipeline/bundle/key';
import { bundle, CONFIG, deploy, localPipeline as rack, MANIFEST, types, until } from '../support/local-pipeline';

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
    expect(JSON.stringify(outcome)).not.toContain('k3y-value-never-shown');
    expect(await r.store.lockOf('shop')).toBeUndefined();
    expect((await r.store.listBuilds('shop'))[0]?.status).toBe('failed');
  });

  it('refuses a bundle whose timer schedule the rack cannot run, before building anything', async () => {
    const r = await rack();
    r.scheduler.refused.set('0 3 * * *', 'cannot be expressed');
    const outcome = await deploy(r, 'v1');
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'BundleRejected' });
    expect(types(r.events)).toEqual(['Deployment Started', 'Bundle Rejected']);
    expect(r.events[1]?.detail.reason).toBe('convox.yml: timer cleanup: cannot be expressed');
    expect(r.builder.started).toEqual([]);
    expect(await r.store.lockOf('shop')).toBeUndefined();
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

  it('keeps a failed release applied when the upload turned automatic rollback off', async () => {
    const r = await rack();
    await deploy(r, 'v1');
    const first = (await r.store.getApp('shop'))?.release;
    r.runtime.rolloutOf = (release) => (release === first ? {} : { fail: 'migration failed half-way' });
    r.events.length = 0;
    const outcome = await deploy(r, 'v2', { metadata: { 'auto-rollback': 'false' } });
    expect(outcome.status).toBe('FAILED');
    const [second] = await r.store.listReleases('shop');
    expect(r.runtime.applied.at(-1)).toBe(second?.id);
    expect((await r.store.getApp('shop'))?.release).toBe(first);
    expect(r.events.at(-1)).toMatchObject({ 'detail-type': 'Deployment Failed', detail: { reason: expect.stringContaining('automatic rollback is off') as unknown } });
    expect(types(r.events)).not.toContain('Deployment Rolled Back');
  });

  it('fails a rollout that misses its progress deadline, per service when its label says so', async () => {
    const r = await rack();
    await deploy(r, 'v1');
    r.runtime.rolloutOf = () => ({ stuck: true });
    r.events.length = 0;
    const manifest = MANIFEST.replace('    health: /health\n', '    health: /health\n    labels:\n      slipway/progress-deadline-seconds: "1"\n');
    const outcome = await deploy(r, 'v2', { manifest });
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect(r.events.find((e) => e['detail-type'] === 'Rollout Failed')?.detail.reason).toMatch(/progress deadline \(web: 1\/2 ready after 1s\)/);
  });

  it('fails the health gate while a required alarm is in ALARM', async () => {
    const r = await rack({ ...CONFIG, alarmNames: ['shop-5xx-rate'] });
    r.alarms.inAlarm.add('shop-5xx-rate');
    const outcome = await deploy(r, 'v1');
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect(r.events.find((e) => e['detail-type'] === 'Health Gate Failed')?.detail.reason).toBe('alarm in ALARM: shop-5xx-rate');
    expect(r.runtime.removed).toBe(1);
  });

  it('brings the timers\u2019 schedules in line with the promoted release', async () => {
    const r = await rack();
    await deploy(r, 'v1');
    expect(Object.fromEntries(r.scheduler.schedules.get('shop') ?? [])).toEqual({ cleanup: '0 3 * * *' });
    await deploy(r, 'v2', { manifest: MANIFEST.replace(/timers:[\s\S]*$/, '') });
    expect(r.scheduler.schedules.get('shop')?.size).toBe(0);
  });

  it('promotes only once the timers are scheduled: when that fails, the previous release stays current with its timers', async () => {
    const r = await rack();
    await deploy(r, 'v1');
    const first = (await r.store.getApp('shop'))?.release;
    const reconcile = r.scheduler.reconcile.bind(r.scheduler);
    r.scheduler.reconcile = async (app, timers) => {
      // The new release's timers are written, then the scheduler fails, as a throttled API would after a partial update.
      await reconcile(app, timers);
      if (timers.some((t) => t.name === 'nightly')) throw new Error('scheduler unavailable');
      return { created: 0, updated: 0, deleted: 0 };
    };
    const outcome = await deploy(r, 'v2', { manifest: MANIFEST.replace(/timers:[\s\S]*$/, 'timers:\n  nightly:\n    schedule: "0 1 * * *"\n    command: bin/nightly\n    service: web\n') });
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect((await r.store.getApp('shop'))?.release).toBe(first);
    expect(Object.fromEntries(r.scheduler.schedules.get('shop') ?? [])).toEqual({ cleanup: '0 3 * * *' });
    expect(await r.store.lockOf('shop')).toBeUndefined();
  });
});
