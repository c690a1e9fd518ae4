/** `scale` on a rack whose scale has no running counts (an AWS rack): they come from its process list. */
import { describe, expect, it } from 'vitest';
import { withRunningCounts } from '../../lib/cli/commands/services';
import type { ProcessInfo, RackConnection } from '../../lib/cli/racks/rack-connection';

const rackWith = (processes: ProcessInfo[] | Error): RackConnection => ({ processes: () => (processes instanceof Error ? Promise.reject(processes) : Promise.resolve(processes)) }) as unknown as RackConnection;

describe('scale\u2019s RUNNING column', () => {
  it('counts the ready processes of each service when the rack does not say', async () => {
    const rack = rackWith([
      { id: 'web-1', service: 'web', release: 'RAAAAAAAAAA', status: 'running' },
      { id: 'web-2', service: 'web', release: 'RAAAAAAAAAA', status: 'starting' },
      { id: 'worker-1', service: 'worker', release: 'RAAAAAAAAAA', status: 'running' },
    ]);
    expect(await withRunningCounts(rack, 'shop', [{ service: 'web', desired: 2 }, { service: 'worker', desired: 1 }, { service: 'cron', desired: 0 }])).toEqual([
      { service: 'web', desired: 2, running: 1 },
      { service: 'worker', desired: 1, running: 1 },
      { service: 'cron', desired: 0, running: 0 },
    ]);
  });

  it('keeps the rack\u2019s own counts, and leaves them unknown when the process list cannot be read', async () => {
    const counted = [{ service: 'web', desired: 2, running: 2 }];
    expect(await withRunningCounts(rackWith(new Error('must not be asked')), 'shop', counted)).toBe(counted);
    expect(await withRunningCounts(rackWith(new Error('AccessDenied')), 'shop', [{ service: 'web', desired: 2 }])).toEqual([{ service: 'web', desired: 2 }]);
  });
});
