/**
 * Following a pipeline run (lib/cli/follow.ts) against a scripted rack: a RackConnection whose
 * execution, events, build log and processes change from poll to poll as a deploy's would. It
 * checks what a person sees: each event once, the build's output before the build's end, the
 * rollout's progress per service, and the failure's reason and service.
 */
import { describe, expect, it } from 'vitest';
import { failedExitCode } from '../../lib/cli/commands/deploy';
import { failureReason, followExecution } from '../../lib/cli/follow';
import type { ExecutionStatus, ProcessInfo, RackConnection } from '../../lib/cli/racks/rack-connection';
import type { EventType, SlipwayEvent } from '../../lib/pipeline/events';

const event = (n: number, type: EventType, detail: Partial<SlipwayEvent['detail']> = {}): SlipwayEvent => ({
  id: `e${n}`,
  source: 'slipway',
  'detail-type': type,
  time: `2026-11-28T10:00:0${n}.000Z`,
  detail: { app: 'shop', execution: 'deploy-1', ...detail },
});

/** A deploy's polls, one entry each: what the rack answers at that poll. */
interface Poll {
  readonly status: ExecutionStatus['status'];
  readonly events: readonly SlipwayEvent[];
  readonly buildLog?: string;
  readonly processes?: readonly ProcessInfo[];
  readonly error?: string;
}

function scriptedRack(kind: 'local' | 'aws', polls: readonly Poll[]): { rack: RackConnection; processReads: () => number } {
  let at = 0;
  let reads = 0;
  // What the rack answers now: the poll the last execution() call was part of.
  const poll = (): Poll => polls[Math.min(Math.max(at - 1, 0), polls.length - 1)] as Poll;
  const rack = {
    kind,
    execution: () => {
      const p = polls[Math.min(at++, polls.length - 1)] as Poll;
      return Promise.resolve({ machine: 'Deploy', name: 'deploy-1', status: p.status, ...(p.error ? { error: p.error } : {}) });
    },
    events: () => Promise.resolve([...poll().events]),
    buildLogs: () => Promise.resolve(poll().buildLog ?? ''),
    scale: () => Promise.resolve([{ service: 'web', desired: 2 }, { service: 'worker', desired: 1 }]),
    processes: () => {
      reads++;
      return Promise.resolve([...(poll().processes ?? [])]);
    },
  } as unknown as RackConnection;
  return { rack, processReads: () => reads };
}

const proc = (service: string, release: string, status: string): ProcessInfo => ({ id: `${service}.${release}.${Math.random()}`, service, release, status });

describe('following a pipeline run (a scripted rack)', () => {
  it('prints each event once, the build output before the build ends, and the rollout per service', async () => {
    const e1 = event(1, 'Build Started', { build: 'BAAAAAAAAAA', service: 'web' });
    const e2 = event(2, 'Build Succeeded', { build: 'BAAAAAAAAAA', service: 'web' });
    const e3 = event(3, 'Rollout Started', { release: 'RAAAAAAAAAA' });
    const e4 = event(4, 'Health Gate Passed', { release: 'RAAAAAAAAAA' });
    const e5 = event(5, 'Deployment Succeeded', { release: 'RAAAAAAAAAA' });
    const { rack } = scriptedRack('local', [
      { status: 'RUNNING', events: [e1], buildLog: '[web] Step 1/2 : FROM node:20\n' },
      { status: 'RUNNING', events: [e1, e2], buildLog: '[web] Step 1/2 : FROM node:20\n[web] Step 2/2 : COPY . .\n' },
      { status: 'RUNNING', events: [e1, e2, e3], processes: [proc('web', 'ROLDOLDOLDO', 'running'), proc('web', 'RAAAAAAAAAA', 'starting')] },
      { status: 'RUNNING', events: [e1, e2, e3], processes: [proc('web', 'RAAAAAAAAAA', 'running'), proc('web', 'RAAAAAAAAAA', 'running'), proc('worker', 'RAAAAAAAAAA', 'running')] },
      { status: 'SUCCEEDED', events: [e1, e2, e3, e4, e5] },
    ]);
    let out = '';
    const result = await followExecution(rack, 'shop', { machine: 'Deploy', name: 'deploy-1' }, { write: (s: string) => (out += s) }, { pollMs: 1, buildOutput: true });
    expect(result.status.status).toBe('SUCCEEDED');
    expect(result.events.map((e) => e.id)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(out).toBe(
      [
        '10:00:01 Build Started web BAAAAAAAAAA',
        '  build BAAAAAAAAAA | [web] Step 1/2 : FROM node:20',
        '  build BAAAAAAAAAA | [web] Step 2/2 : COPY . .',
        '10:00:02 Build Succeeded web BAAAAAAAAAA',
        '10:00:03 Rollout Started RAAAAAAAAAA',
        '  waiting on the rollout of RAAAAAAAAAA: web 0/2, worker 0/1 ready',
        '  waiting on the rollout of RAAAAAAAAAA: web 2/2, worker 1/1 ready',
        '10:00:04 Health Gate Passed RAAAAAAAAAA',
        '10:00:05 Deployment Succeeded RAAAAAAAAAA',
        '',
      ].join('\n'),
    );
  });

  it('reads an AWS rack\u2019s processes (a maintenance-machine run each) at most every ten seconds', async () => {
    const e3 = event(3, 'Rollout Started', { release: 'RAAAAAAAAAA' });
    const polls: Poll[] = [...Array.from({ length: 20 }, () => ({ status: 'RUNNING' as const, events: [e3] })), { status: 'SUCCEEDED', events: [e3] }];
    const { rack, processReads } = scriptedRack('aws', polls);
    await followExecution(rack, 'shop', { machine: 'Deploy', name: 'deploy-1' }, { write: () => true }, { pollMs: 1 });
    expect(processReads()).toBe(1);
  });

  it('names the most specific failure and its service, not only that the deploy rolled back', async () => {
    const failed = event(3, 'Rollout Failed', { release: 'RAAAAAAAAAA', service: 'web', reason: 'web: crash loop (exit 1)' });
    const rolledBack = event(4, 'Deployment Rolled Back', { release: 'RAAAAAAAAAA', reason: 'Rollout Failed: web: crash loop (exit 1)' });
    const { rack } = scriptedRack('local', [{ status: 'FAILED', events: [failed, rolledBack], error: 'DeploymentRolledBack' }]);
    const result = await followExecution(rack, 'shop', { machine: 'Deploy', name: 'deploy-1' }, { write: () => true }, { pollMs: 1 });
    expect(failureReason(result)).toEqual({ reason: 'Rollout Failed (web): web: crash loop (exit 1)', service: 'web', release: 'RAAAAAAAAAA' });
  });
});

describe('the exit code of a failed run', () => {
  const ended = (error: string, types: EventType[]) => ({ status: { machine: 'Rollback' as const, name: 'x', status: 'FAILED' as const, error }, events: types.map((t, i) => event(i, t)) });
  it('is 3 when the pipeline put the previous release back, 1 when nothing had changed', () => {
    expect(failedExitCode(ended('DeploymentRolledBack', ['Rollout Started', 'Deployment Rolled Back']))).toBe(3);
    expect(failedExitCode(ended('PromotionFailed', ['Promotion Started', 'Rollout Started', 'Promotion Failed']))).toBe(3);
    expect(failedExitCode(ended('PromotionFailed', ['Promotion Failed']))).toBe(1);
    expect(failedExitCode(ended('BundleRejected', ['Bundle Rejected']))).toBe(1);
  });
});
