/**
 * The local runtime's listProcesses (the Runtime port's `ps`), with real processes: each replica
 * with its release, status, start time and its service's command; a crash loop shows as such.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../../lib/local/runtime/local-runtime';
import type { RuntimeProcess } from '../../../lib/pipeline/ports/runtime';
import { until } from '../../support/local-pipeline';
import type { NodeImageRuntime } from '../../support/node-image-runtime';
import { startNodeImageRuntime } from '../../support/node-image-runtime';


const MANIFEST = (workerCommand: string) => `
services:
  web:
    port: 3000
    health:
      path: /
      grace: 0
      interval: 1
    scale:
      count: 2
    termination:
      grace: 1
  worker:
    command: ${workerCommand}
    scale:
      count: 1
    termination:
      grace: 1
`;

let fixture: NodeImageRuntime;
let runtime: LocalRuntime;

function apply(release: string, workerCommand: string): Promise<void> {
  return fixture.apply(release, MANIFEST(workerCommand));
}

let listed: readonly RuntimeProcess[] = [];
async function listUntil(condition: (processes: readonly RuntimeProcess[]) => boolean): Promise<readonly RuntimeProcess[]> {
  await until(() => {
    void runtime.listProcesses('shop').then((p) => (listed = p));
    return condition(listed);
  }, 30_000);
  return listed;
}

beforeAll(async () => {
  fixture = await startNodeImageRuntime('slipway-runtime-ps-');
  runtime = fixture.runtime;
});

afterAll(() => fixture.stop());

describe('local runtime listProcesses (real processes)', () => {
  it('lists each replica with its release, status, start time and its service\u2019s command', async () => {
    const before = Date.now();
    await apply('R1', 'node -e "setInterval(() => {}, 1000)"');
    const processes = await listUntil((ps) => ps.length === 3 && ps.every((p) => p.status === 'running'));
    // Replicas are named `<service>.<release>.<index>`, as local `ps` names them.
    expect(processes.map((p) => p.id).every((id) => /^(web|worker)\.R1\.\d+$/.test(id))).toBe(true);
    expect(processes.map(({ id: _id, startedAt: _s, ...p }) => p).sort((a, b) => a.service.localeCompare(b.service))).toEqual([
      { service: 'web', release: 'R1', status: 'running' },
      { service: 'web', release: 'R1', status: 'running' },
      { service: 'worker', release: 'R1', status: 'running', command: 'node -e "setInterval(() => {}, 1000)"' },
    ]);
    for (const p of processes) expect(Date.parse(p.startedAt ?? '')).toBeGreaterThanOrEqual(before - 1000);
    expect(await runtime.listProcesses('nothing')).toEqual([]);
  });

  it('shows a worker that keeps exiting as a crash loop, under its new release', async () => {
    await apply('R2', 'node -e "process.exit(1)"');
    const processes = await listUntil((ps) => ps.some((p) => p.service === 'worker' && p.release === 'R2' && p.status === 'crashloop'));
    expect(processes.find((p) => p.service === 'worker' && p.release === 'R2')).toMatchObject({ id: expect.stringMatching(/^worker\.R2\.\d+$/) as unknown, command: 'node -e "process.exit(1)"' });
  });
});
