/**
 * One-off jobs (`slipway run`, `slipway test`) through the Timer machine: its synthesised ASL on
 * the local runner, started with `{app, run: {service, command, release?}}` (the runtime is a test double).
 */
import { describe, expect, it } from 'vitest';
import type { ExecutionOutcome } from '../../lib/local/asl-runner';
import { deploy, localPipeline, types } from '../support/local-pipeline';
import type { LocalPipeline } from '../support/local-pipeline';

const SECRET = 'k3y-value-never-shown';

async function deployed() {
  const p = await localPipeline();
  expect((await deploy(p, 'v1')).status).toBe('SUCCEEDED');
  p.events.length = 0;
  return p;
}

/** The test pipeline types the Timer machine's input as a timer's; a run's input goes through the same start. */
function run(p: LocalPipeline, input: { app: string; run: { service: string; command: string; release?: string } }): Promise<ExecutionOutcome> {
  return p.runTimer(input as unknown as { app: string; timer: string });
}

describe('one-off runs through the Timer machine (synthesised ASL, local runner; the runtime is a test double)', () => {
  it('runs the command in the service\u2019s image of the current release, with its environment', async () => {
    const p = await deployed();
    const current = (await p.store.getApp('shop'))?.release;
    const outcome = await run(p, { app: 'shop', run: { service: 'web', command: 'npm test' } });
    expect(outcome.status).toBe('SUCCEEDED');
    const [job] = [...p.runtime.jobs.values()];
    expect(job?.request).toEqual({ app: 'shop', release: current, service: 'web', command: 'npm test', image: expect.stringMatching(/^local\/web:B[A-Z]{10}$/) as unknown, env: { API_KEY: SECRET }, parallelism: 1 });
    expect(job?.request).not.toHaveProperty('timer');
    expect(types(p.events)).toEqual(['Run Started', 'Run Succeeded']);
    expect(p.events[0]?.detail).toEqual({ app: 'shop', service: 'web', job: 'job-1', release: current, command: 'npm test', execution: 'timer-1' });
    expect(p.events[1]?.detail).toMatchObject({ app: 'shop', service: 'web', release: current, command: 'npm test', execution: 'timer-1', durationMs: expect.any(Number) as unknown });
    expect(p.events[1]?.detail).not.toHaveProperty('timer');
  });

  it('runs on a named release, and redacts env values quoted in the command from the events only', async () => {
    const p = await deployed();
    const first = (await p.store.getApp('shop'))?.release;
    expect((await deploy(p, 'v2')).status).toBe('SUCCEEDED');
    p.events.length = 0;
    const outcome = await run(p, { app: 'shop', run: { service: 'web', command: `echo ${SECRET}`, release: first! } });
    expect(outcome.status).toBe('SUCCEEDED');
    const [job] = [...p.runtime.jobs.values()];
    expect(job?.request).toMatchObject({ release: first, command: `echo ${SECRET}` });
    expect(p.events.map((e) => e.detail.command)).toEqual(['echo ****', 'echo ****']);
    expect(JSON.stringify(p.events)).not.toContain(SECRET);
  });

  it('fails with RunFailed when the job fails: exit code and last output, redacted', async () => {
    const p = await deployed();
    p.runtime.jobOutcome = () => ({ state: 'failed', exitCode: 1, reason: `1 test failed: expected API_KEY=${SECRET}` });
    const outcome = await run(p, { app: 'shop', run: { service: 'web', command: 'npm test' } });
    expect(outcome).toEqual({ status: 'FAILED', error: 'RunFailed', cause: 'exited with code 1: 1 test failed: expected API_KEY=****' });
    expect(types(p.events)).toEqual(['Run Started', 'Run Failed']);
    expect(p.events[1]?.detail).toMatchObject({ app: 'shop', service: 'web', command: 'npm test', reason: 'exited with code 1: 1 test failed: expected API_KEY=****' });
    expect(JSON.stringify(p.events)).not.toContain(SECRET);
  });

  it('fails with a clear reason for a service the release does not have, starting nothing', async () => {
    const p = await deployed();
    const current = (await p.store.getApp('shop'))?.release;
    const outcome = await run(p, { app: 'shop', run: { service: 'worker', command: 'rake db:migrate' } });
    expect(outcome).toEqual({ status: 'FAILED', error: 'RunFailed', cause: `service worker is not in release ${current} (its services: web)` });
    expect(p.runtime.jobs.size).toBe(0);
    expect(types(p.events)).toEqual(['Run Failed']);
    expect(p.events[0]?.detail).toMatchObject({ service: 'worker', release: current, command: 'rake db:migrate' });
  });

  it('refuses a release id that is malformed or not the app\u2019s, and an app with no release', async () => {
    const p = await deployed();
    expect(await run(p, { app: 'shop', run: { service: 'web', command: 'true', release: '../R1' } })).toEqual({ status: 'FAILED', error: 'RunFailed', cause: '"../R1" is not a release id (R followed by ten capital letters)' });
    expect(await run(p, { app: 'shop', run: { service: 'web', command: 'true', release: 'RNOSUCHRELE' } })).toEqual({ status: 'FAILED', error: 'RunFailed', cause: 'release RNOSUCHRELE not found in app shop' });
    await p.store.createApp('empty');
    expect(await run(p, { app: 'empty', run: { service: 'web', command: 'true' } })).toMatchObject({ status: 'FAILED', error: 'RunFailed', cause: expect.stringContaining('app empty has no release') as unknown });
    expect(p.runtime.jobs.size).toBe(0);
  });

  it('keeps timers as they were: a timer\u2019s failure is still TimerFailed', async () => {
    const p = await deployed();
    p.runtime.jobOutcome = () => ({ state: 'failed', exitCode: 2, reason: 'boom' });
    expect(await p.runTimer({ app: 'shop', timer: 'cleanup' })).toEqual({ status: 'FAILED', error: 'TimerFailed', cause: 'exited with code 2: boom' });
    expect(types(p.events)).toEqual(['Timer Started', 'Timer Failed']);
    expect(p.events[1]?.detail).not.toHaveProperty('command');
  });
});
