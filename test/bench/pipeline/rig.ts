/**
 * A local rack for the pipeline benchmarks, in this process and in a temporary folder, with the
 * settings `npm start` gives it (real Wait states, 1 s polls, the 3 s bake), and the timed
 * operations: a deploy (a bundle handed to the rack's bundle store, as `slipway deploy` does)
 * and a console rollback (the Rollback machine, as `slipway releases rollback` does).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlipwayError } from '../../../lib/errors';
import { LocalRack, resourceBase } from '../../../lib/local/rack/local-rack';
import type { ExecutionOutcome } from '../../../lib/local/asl-runner';
import type { SlipwayEvent } from '../../../lib/pipeline/events';
import { time } from '../harness';
import { coveredMs, PipelineRecorder } from './recorder';

export class PipelineBenchError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super(message, 'PIPELINE_BENCH', context);
  }
}

export interface Rig {
  readonly rack: LocalRack;
  readonly recorder: PipelineRecorder;
  /** Where the benchmark writes its apps' folders; removed with the rack's state. */
  readonly appsDir: string;
  /** Stop the rack (every process and server it started) and remove its folders. */
  stop(): Promise<void>;
}

export async function startRig(label: string): Promise<Rig> {
  const root = await mkdtemp(join(tmpdir(), `slipway-bench-${label}-`));
  const stateDir = join(root, 'state');
  const recorder = new PipelineRecorder();
  // The scheduler's clock stands still, so no timer (the example's cleanup every five minutes,
  // the rack's daily cleanup) runs a job in the middle of a timed deploy.
  const frozen = Date.now();
  let rack: LocalRack;
  try {
    rack = await LocalRack.start({ stateDir, routerPort: 0, schedulerNow: () => frozen, ...recorder.listeners() });
  } catch (e) {
    await removeFolders(root, stateDir);
    throw e;
  }
  recorder.attach(rack);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      try {
        await rack.stop();
      } finally {
        await removeFolders(root, stateDir);
      }
    })());
  // Interrupted, the benchmark still stops what the rack started, then ends as the signal asks.
  const onSignal = (signal: NodeJS.Signals): void => void stop().finally(() => process.kill(process.pid, signal));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { rack, recorder, appsDir: join(root, 'apps'), stop };
}

async function removeFolders(root: string, stateDir: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
  // As root, resource servers keep their data outside the state folder.
  const resources = resourceBase(stateDir);
  if (resources !== stateDir) await rm(resources, { recursive: true, force: true });
}

export interface Measured {
  /** From handing over the bundle (or starting the rollback) until the execution succeeded. */
  readonly totalMs: number;
  /** Time during which at least one build's RUN step ran. */
  readonly buildMs: number;
  /** Time during which at least one process of the new release was between spawn and its first passing health check. */
  readonly startUpMs: number;
  /** Time covered by either: builds and start-ups do not overlap in a deploy (processes start after the last build), so this is their sum. */
  readonly busyMs: number;
  readonly release: string;
  /** The app's events during the run, each with its offset from the start in ms. */
  readonly events: readonly { readonly offsetMs: number; readonly event: SlipwayEvent }[];
}

/** Deploy a bundle and wait for the release to serve; throws unless the deploy succeeded. */
export async function measuredDeploy(rig: Rig, app: string, bundle: Buffer): Promise<Measured> {
  return measured(rig, app, 'Deployment Succeeded', async () => {
    const { execution } = await rig.rack.deploy(app, bundle);
    const outcome = rig.rack.outcome('Deploy', execution);
    if (!outcome) throw new PipelineBenchError(`the upload of ${app}'s bundle started no deploy`, { app, execution });
    succeeded(await outcome, `the deploy of ${app}`);
  });
}

/** Roll the app back to its previous release through the Rollback machine, as `slipway releases rollback` does; then unpin it (untimed). */
export async function measuredRollback(rig: Rig, app: string): Promise<Measured> {
  const result = await measured(rig, app, 'Rollback Succeeded', async () => {
    const { outcome } = rig.rack.rollback({ app, reason: 'pipeline benchmark' });
    succeeded(await outcome, `the rollback of ${app}`);
  });
  const builds = result.events.filter((e) => e.event['detail-type'] === 'Build Started');
  if (builds.length > 0) throw new PipelineBenchError(`the rollback of ${app} started ${builds.length} build(s); a rollback must reuse its release's images`, { app, services: builds.map((b) => b.event.detail.service) });
  await rig.rack.unpin(app, 'pipeline benchmark');
  return result;
}

async function measured(rig: Rig, app: string, success: SlipwayEvent['detail-type'], run: () => Promise<void>): Promise<Measured> {
  const { recorder } = rig;
  const fromEvent = recorder.events.length;
  const start = Date.now();
  const totalMs = await time(run);
  const events = recorder.events
    .slice(fromEvent)
    .filter((e) => e.event.detail.app === app)
    .map((e) => ({ offsetMs: e.at - start, event: e.event }));
  const release = events.find((e) => e.event['detail-type'] === success)?.event.detail.release;
  if (!release) throw new PipelineBenchError(`${app} succeeded without a ${success} event naming its release`, { app });
  const builds = recorder.runSteps.filter((s) => s.app === app && s.start >= start);
  const startUps = recorder.startUps.filter((s) => s.app === app && s.release === release);
  return { totalMs, buildMs: coveredMs(builds), startUpMs: coveredMs(startUps), busyMs: coveredMs([...builds, ...startUps]), release, events };
}

function succeeded(outcome: ExecutionOutcome, what: string): void {
  if (outcome.status === 'SUCCEEDED') return;
  throw new PipelineBenchError(`${what} ended ${outcome.status}${outcome.status === 'FAILED' ? `: ${outcome.error}: ${outcome.cause}` : ''}`, { status: outcome.status });
}

/** `Deployment Started +0.1s, Build Started +0.3s, ...`: when each kind of event first arrived, for the progress lines. */
export function timeline(m: Measured): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const { offsetMs, event } of m.events) {
    if (seen.has(event['detail-type'])) continue;
    seen.add(event['detail-type']);
    parts.push(`${event['detail-type']} +${(offsetMs / 1000).toFixed(1)}s`);
  }
  return parts.join(', ');
}
