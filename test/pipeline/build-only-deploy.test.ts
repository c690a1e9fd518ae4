/**
 * Build-only uploads (`slipway build`: object metadata `promote: false`) and the app's scale
 * overrides reaching the runtime, through the Deploy machine's synthesised ASL on the local
 * runner (builder, provisioner and runtime are test doubles).
 */
import { describe, expect, it } from 'vitest';
import type { ApplyRequest } from '../../lib/pipeline/ports/runtime';
import { deploy, localPipeline, synthesizeMachines, types } from '../support/local-pipeline';

describe('a build-only upload (metadata promote: false; synthesised ASL, local runner; builder, provisioner and runtime are test doubles)', () => {
  it('builds and creates a release, then ends in Built: nothing provisioned or rolled out, the current release unchanged, the app free', async () => {
    const r = await localPipeline();
    expect((await deploy(r, 'v1')).status).toBe('SUCCEEDED');
    const first = (await r.store.getApp('shop'))?.release;
    const provisioned = r.provisioner.ensured.length;
    r.events.length = 0;

    const outcome = await deploy(r, 'v2', { metadata: { promote: 'false' } });

    expect(outcome.status).toBe('SUCCEEDED');
    const [built, previous] = await r.store.listReleases('shop');
    expect(previous?.id).toBe(first);
    expect(built?.description).toMatch(/^build B[A-Z]{10}$/);
    expect(outcome).toMatchObject({ output: { deploy: { promote: false }, release: { id: built?.id, previous: first }, outcome: { release: built?.id } } });
    expect((outcome as { output: Record<string, unknown> }).output).not.toHaveProperty('provision');
    expect((await r.store.getApp('shop'))?.release).toBe(first);
    expect(r.runtime.applied).toEqual([first]);
    expect(r.provisioner.ensured).toHaveLength(provisioned);
    expect(types(r.events)).toEqual(['Deployment Started', 'Build Started', 'Build Succeeded', 'Release Created']);
    expect(await r.store.lockOf('shop')).toBeUndefined();
    expect(await r.store.deployQueue('shop')).toEqual([]);
    expect((await r.store.getBuild('shop', built!.build))?.status).toBe('complete');
  });

  it('lets the next upload deploy as usual', async () => {
    const r = await localPipeline();
    expect((await deploy(r, 'v1', { metadata: { promote: 'false' } })).status).toBe('SUCCEEDED');
    expect((await r.store.getApp('shop'))?.release).toBeUndefined();
    expect((await deploy(r, 'v2')).status).toBe('SUCCEEDED');
    const [second] = await r.store.listReleases('shop');
    expect((await r.store.getApp('shop'))?.release).toBe(second?.id);
  });

  it('ends in the Succeed state Built, reached only through FinishBuild', () => {
    const { deploy: definition } = synthesizeMachines();
    const states = definition.States as Record<string, { Type: string; Next?: string; Choices?: { Next: string }[]; Default?: string }>;
    expect(states.Built?.Type).toBe('Succeed');
    expect(states.FinishBuild?.Next).toBe('Built');
    expect(states.CreateRelease?.Next).toBe('PromoteRelease?');
    expect(states['PromoteRelease?']).toMatchObject({ Type: 'Choice', Choices: [{ Next: 'FinishBuild' }], Default: 'Provision' });
  });
});

describe('scale overrides (synthesised ASL, local runner; the runtime is a test double)', () => {
  it('passes the app\u2019s scale to every rollout, the rollback included, and leaves it out when there is none', async () => {
    const r = await localPipeline();
    const seen: ApplyRequest[] = [];
    const apply = r.runtime.apply.bind(r.runtime);
    r.runtime.apply = (request) => {
      seen.push(request);
      return apply(request);
    };
    expect((await deploy(r, 'v1')).status).toBe('SUCCEEDED');
    expect(seen[0]).not.toHaveProperty('scale');

    const lease = await r.store.acquireLock('shop', 'test', 60_000);
    await r.store.setScale(lease!, 'web', { count: 3, memory: 1024 });
    await r.store.releaseLock(lease!);
    const first = (await r.store.getApp('shop'))?.release;
    r.runtime.rolloutOf = (release) => (release === first ? {} : { fail: 'crash loop' });
    expect(await deploy(r, 'v2')).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect(seen.slice(1).map((s) => [s.release.id === first ? 'first' : 'second', s.scale])).toEqual([
      ['second', { web: { count: 3, memory: 1024 } }],
      ['first', { web: { count: 3, memory: 1024 } }],
    ]);
  });
});
