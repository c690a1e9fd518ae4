/**
 * The local runtime honouring `slipway scale` sizes, with real processes: the override's count
 * wins over convox.yml and over a live count, it stops counting once the override is gone, and
 * `scaleOf` reports what `slipway scale` lists (cpu and memory are recorded, not enforced, locally).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../../lib/local/runtime/local-runtime';
import type { ReleaseId } from '../../../lib/pipeline/domain/ids';
import type { ScaleOverride } from '../../../lib/pipeline/domain/model';
import { until } from '../../support/local-pipeline';
import type { NodeImageRuntime } from '../../support/node-image-runtime';
import { startNodeImageRuntime } from '../../support/node-image-runtime';


const MANIFEST = `
services:
  web:
    port: 3000
    health:
      path: /
      grace: 0
      interval: 1
    scale:
      count: 1
      cpu: 250
      memory: 512
    termination:
      grace: 1
  worker:
    command: node -e "setInterval(() => {}, 1000)"
    scale:
      count: 1
`;

let fixture: NodeImageRuntime;
let runtime: LocalRuntime;

function apply(release: string, scale?: Record<string, ScaleOverride>): Promise<void> {
  return fixture.apply(release, MANIFEST, scale);
}

async function complete(release: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await runtime.rolloutStatus('shop', release as ReleaseId);
    if (status.state === 'complete') return;
    if (status.state === 'failed' || Date.now() > deadline) throw new Error(`rollout of ${release}: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sizes = () => Object.fromEntries(runtime.scaleOf('shop').map((s) => [s.service, s]));

beforeAll(async () => {
  fixture = await startNodeImageRuntime('slipway-runtime-scale-');
  runtime = fixture.runtime;
});

afterAll(() => fixture.stop());

describe('local runtime with scale overrides (real processes)', () => {
  it('runs the override count and records its cpu and memory; services without one follow convox.yml', async () => {
    await apply('R1', { web: { count: 3, cpu: 1000 } });
    await complete('R1');
    await until(() => sizes().web?.running === 3);
    expect(sizes()).toEqual({
      web: { service: 'web', desired: 3, running: 3, cpu: 1000, memory: 512 },
      // convox.yml's defaults: 250 millicores, 512 MiB.
      worker: { service: 'worker', desired: 1, running: 1, cpu: 250, memory: 512 },
    });
    expect(runtime.processes('shop').filter((p) => p.service === 'web' && p.ready)).toHaveLength(3);
  });

  it('the override wins over a live count on the next apply', async () => {
    runtime.scale('shop', 'web', 1);
    await until(() => sizes().web?.running === 1);
    await apply('R2', { web: { count: 2 } });
    await complete('R2');
    await until(() => sizes().web?.running === 2);
    expect(sizes().web).toMatchObject({ desired: 2, cpu: 250, memory: 512 });
  });

  it('without the override (a failed scale was put back), the count is convox.yml\u2019s again', async () => {
    await apply('R3');
    await complete('R3');
    await until(() => sizes().web?.running === 1);
    expect(sizes().web).toEqual({ service: 'web', desired: 1, running: 1, cpu: 250, memory: 512 });
  });

  it('a count of 0 stops the service\u2019s processes', async () => {
    await apply('R4', { worker: { count: 0 } });
    await complete('R4');
    await until(() => runtime.processes('shop').every((p) => p.service !== 'worker' || p.phase === 'terminating' || p.phase === 'stopped'));
    expect(sizes().worker).toMatchObject({ desired: 0, running: 0 });
    expect(runtime.scaleOf('nothing')).toEqual([]);
  });
});
