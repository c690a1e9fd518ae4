/**
 * The Timer state machine, started as its EventBridge schedule would start it, through the
 * synthesised ASL on the local runner (builder, provisioner and runtime are test doubles).
 */
import { describe, expect, it } from 'vitest';
import { deploy, localPipeline, types, until } from '../support/local-pipeline';

async function deployed() {
  const p = await localPipeline();
  expect((await deploy(p, 'v1')).status).toBe('SUCCEEDED');
  p.events.length = 0;
  return p;
}

describe('the Timer state machine (schedule; synthesised ASL, local runner; the runtime is a test double)', () => {
  it('runs the timer\u2019s command as a one-off job on the current release of its service', async () => {
    const p = await deployed();
    const current = (await p.store.getApp('shop'))?.release;
    expect((await p.runTimer({ app: 'shop', timer: 'cleanup' })).status).toBe('SUCCEEDED');
    const [job] = [...p.runtime.jobs.values()];
    expect(job?.request).toMatchObject({ app: 'shop', release: current, service: 'web', command: 'node cleanup.js --all', timer: 'cleanup', parallelism: 1, env: { API_KEY: 'k3y-value-never-shown' } });
    expect(job?.request.image).toMatch(/^local\/web:B[A-Z]{10}$/);
    expect(types(p.events)).toEqual(['Timer Started', 'Timer Succeeded']);
  });

  it('alerts when the run fails', async () => {
    const p = await deployed();
    p.runtime.jobOutcome = () => ({ state: 'failed', exitCode: 2, reason: 'could not reach the database' });
    expect(await p.runTimer({ app: 'shop', timer: 'cleanup' })).toMatchObject({ status: 'FAILED', error: 'TimerFailed' });
    expect(p.events.at(-1)).toMatchObject({ 'detail-type': 'Timer Failed', detail: { timer: 'cleanup', reason: 'exited with code 2: could not reach the database' } });
  });

  it('skips a run while the previous one still runs, with concurrency: forbid', async () => {
    const p = await deployed();
    p.runtime.holdJobs = true;
    const first = p.runTimer({ app: 'shop', timer: 'cleanup' });
    await until(() => types(p.events).includes('Timer Started'));
    expect(await p.runTimer({ app: 'shop', timer: 'cleanup' })).toMatchObject({ status: 'SUCCEEDED' });
    expect(p.events.filter((e) => e['detail-type'] === 'Timer Skipped')).toHaveLength(1);
    expect(p.runtime.jobs.size).toBe(1);
    p.runtime.holdJobs = false;
    expect((await first).status).toBe('SUCCEEDED');
  });

  it('fails with a clear reason for an unknown timer, or an app with no release', async () => {
    const p = await deployed();
    expect(await p.runTimer({ app: 'shop', timer: 'nightly' })).toMatchObject({ status: 'FAILED', error: 'TimerFailed', cause: expect.stringContaining('timer nightly is not in release') as unknown });
    await p.store.createApp('empty');
    expect(await p.runTimer({ app: 'empty', timer: 'cleanup' })).toMatchObject({ status: 'FAILED', cause: 'app empty has no release to run timer cleanup on' });
  });
});
