/**
 * The steps of the Timer state machine, started by an EventBridge schedule with
 * `{"app": "...", "timer": "..."}`: run the timer's command as a one-off job on the current
 * release of its service, honouring `concurrency` (forbid: skip while a run is going; replace:
 * stop it first), and report the outcome.
 */
import { SlipwayError } from '../../errors';
import { loadManifest } from '../../manifest';
import type { ReleaseId } from '../domain/ids';
import type { EventDetail, EventType } from '../events';
import { redact } from '../events';
import type { DeployConfig, DeployContext } from './deploy';

export interface TimerState {
  readonly request: { readonly app: string; readonly timer: string };
  readonly config: DeployConfig;
  readonly execution: string;
  readonly run?: { readonly status: 'running' | 'skipped'; readonly job?: string; readonly release?: ReleaseId; readonly service?: string; readonly startedAt?: number };
  readonly result?: { readonly state: 'running' | 'succeeded' | 'failed'; readonly reason?: string };
}

/** A timer run that failed; the machine ends with this error name. */
export class TimerFailedError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown>) {
    super(message, 'TimerFailed', context);
    this.name = 'TimerFailed';
  }
}

async function emit(ctx: DeployContext, type: EventType, state: TimerState, detail: Omit<EventDetail, 'app' | 'timer' | 'execution'> = {}): Promise<void> {
  const secrets = Object.values((await ctx.env.current(state.request.app)).values);
  await ctx.events.emit(type, { app: state.request.app, timer: state.request.timer, execution: state.execution, ...detail }, secrets);
}

export async function startTimerRun(state: TimerState, ctx: DeployContext): Promise<NonNullable<TimerState['run']>> {
  const { app, timer: name } = state.request;
  const fail = async (reason: string): Promise<never> => {
    await emit(ctx, 'Timer Failed', state, { reason });
    throw new TimerFailedError(reason, { app, timer: name });
  };
  const current = (await ctx.store.getApp(app))?.release;
  if (!current) return fail(`app ${app} has no release to run timer ${name} on`);
  const release = await ctx.store.getRelease(app, current);
  const build = release && (await ctx.store.getBuild(app, release.build));
  if (!release || !build) return fail(`release ${current} of app ${app} is incomplete`);
  const env = await ctx.env.get(app, release.envVersion);
  const manifest = loadManifest(build.manifest, { env }).manifest;
  const timer = manifest.timers.find((t) => t.name === name);
  if (!timer) return fail(`timer ${name} is not in release ${current}`);
  const image = build.images.find((i) => i.service === timer.service)?.image;
  if (!image) return fail(`service ${timer.service} of timer ${name} has no image in release ${current}`);
  const concurrency = (timer.concurrency ?? '').toLowerCase();
  const running = await ctx.runtime.runningJobs(app, name);
  if (running.length > 0 && concurrency === 'forbid') {
    await emit(ctx, 'Timer Skipped', { ...state }, { service: timer.service, release: current, reason: 'the previous run still runs and the timer has concurrency: forbid' });
    return { status: 'skipped' };
  }
  if (concurrency === 'replace') for (const job of running) await ctx.runtime.stopJob(job);
  const { job } = await ctx.runtime.runJob({ app, release: current, service: timer.service, command: timer.command, image, env, timer: name, parallelism: Math.max(1, timer.parallelCount ?? 1) });
  await emit(ctx, 'Timer Started', state, { service: timer.service, release: current });
  return { status: 'running', job, release: current, service: timer.service, startedAt: ctx.clock.now() };
}

export async function timerRunStatus(state: TimerState, ctx: DeployContext): Promise<NonNullable<TimerState['result']>> {
  const run = state.run;
  if (!run?.job) throw new SlipwayError('no timer run to follow', 'TIMER_STATE_INVALID');
  const status = await ctx.runtime.jobStatus(run.job);
  if (status.state === 'running') return { state: 'running' };
  const detail = { ...(run.service ? { service: run.service } : {}), ...(run.release ? { release: run.release } : {}), durationMs: ctx.clock.now() - (run.startedAt ?? ctx.clock.now()) };
  if (status.state === 'succeeded') {
    await emit(ctx, 'Timer Succeeded', state, detail);
    return { state: 'succeeded' };
  }
  const secrets = Object.values((await ctx.env.current(state.request.app)).values);
  // The reason can quote the job's output; it is redacted before it reaches the event and the execution's history.
  const reason = redact(status.exitCode !== undefined ? `exited with code ${status.exitCode}: ${status.reason}` : status.reason, secrets);
  await emit(ctx, 'Timer Failed', state, { ...detail, reason });
  throw new TimerFailedError(reason, { app: state.request.app, timer: state.request.timer });
}

export const TIMER_STEPS = { startTimerRun, timerRunStatus } as const;
