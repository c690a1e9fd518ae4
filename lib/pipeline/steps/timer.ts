/**
 * The steps of the Timer state machine. It runs one-off jobs, started two ways:
 *
 * - by an EventBridge schedule with `{"app": "...", "timer": "..."}`: run the timer's command on
 *   the current release of its service, honouring `concurrency` (forbid: skip while a run is
 *   going; replace: stop it first);
 * - by `slipway run` / `slipway test` with `{"app": "...", "run": {"service", "command", "release"?}}`:
 *   run the command in the service's image of the given release (default: the current one), with
 *   that release's environment.
 *
 * Either way the run is followed to its end and its outcome reported.
 */
import { SlipwayError } from '../../errors';
import { loadManifest } from '../../manifest';
import type { ReleaseId } from '../domain/ids';
import { RELEASE_ID } from '../domain/ids';
import type { Build, Release } from '../domain/model';
import type { EventDetail, EventType } from '../events';
import { redact } from '../events';
import type { DeployConfig, DeployContext } from './deploy';

/** A one-off job asked for by `slipway run` or `slipway test`. */
export interface RunRequest {
  readonly service: string;
  /** Shell-split by the runtime, as a timer's command is. */
  readonly command: string;
  /** The release whose image and environment the job runs with (default: the app's current release). */
  readonly release?: string;
}

export interface TimerState {
  /** Exactly one of `timer` (a schedule fired) and `run` (a one-off job was asked for). */
  readonly request: { readonly app: string; readonly timer?: string; readonly run?: RunRequest };
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

/** A one-off job (`slipway run`, `slipway test`) that could not start or failed; the machine ends with this error name. */
export class RunFailedError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown>) {
    super(message, 'RunFailed', context);
    this.name = 'RunFailed';
  }
}

/** The machine's input is neither a timer's nor a run's, or is malformed. */
export class TimerRequestError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown>) {
    super(message, 'TIMER_REQUEST_INVALID', context);
  }
}

type Kind = { readonly kind: 'timer'; readonly timer: string } | { readonly kind: 'run'; readonly run: RunRequest };

function kindOf(state: TimerState): Kind {
  const { app, timer, run } = state.request;
  if (typeof app !== 'string' || app === '') throw new TimerRequestError('the request names no app', {});
  if (run !== undefined && timer !== undefined) throw new TimerRequestError('a request is either a timer\u2019s run or a one-off run, not both', { app });
  if (typeof timer === 'string' && timer !== '') return { kind: 'timer', timer };
  if (run !== undefined && run !== null && typeof run === 'object') {
    if (typeof run.service !== 'string' || run.service === '') throw new TimerRequestError('a one-off run names no service', { app });
    if (typeof run.command !== 'string' || run.command.trim() === '') throw new TimerRequestError(`a one-off run of service ${run.service} has no command`, { app, service: run.service });
    if (run.release !== undefined && typeof run.release !== 'string') throw new TimerRequestError('a one-off run\u2019s release must be a release id', { app });
    return { kind: 'run', run };
  }
  throw new TimerRequestError('the request names neither a timer nor a one-off run', { app });
}

async function secretsOf(ctx: DeployContext, app: string): Promise<string[]> {
  return Object.values((await ctx.env.current(app)).values);
}

async function emit(ctx: DeployContext, type: EventType, state: TimerState, detail: Omit<EventDetail, 'app' | 'timer' | 'execution'> = {}, secrets?: readonly string[]): Promise<void> {
  const { app, timer } = state.request;
  const values = secrets ?? (await secretsOf(ctx, app));
  await ctx.events.emit(type, { app, ...(timer !== undefined ? { timer } : {}), execution: state.execution, ...detail }, values);
}

export async function startTimerRun(state: TimerState, ctx: DeployContext): Promise<NonNullable<TimerState['run']>> {
  const kind = kindOf(state);
  return kind.kind === 'run' ? startOneOffRun(state, ctx, kind.run) : startScheduledRun(state, ctx, kind.timer);
}

async function startScheduledRun(state: TimerState, ctx: DeployContext, name: string): Promise<NonNullable<TimerState['run']>> {
  const { app } = state.request;
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

async function startOneOffRun(state: TimerState, ctx: DeployContext, run: RunRequest): Promise<NonNullable<TimerState['run']>> {
  const { app } = state.request;
  const secrets = await secretsOf(ctx, app);
  const command = redact(run.command, secrets);
  const fail = async (reason: string, release?: ReleaseId): Promise<never> => {
    await emit(ctx, 'Run Failed', state, { service: run.service, command, ...(release ? { release } : {}), reason }, secrets);
    throw new RunFailedError(redact(reason, secrets), { app, service: run.service, ...(release ? { release } : {}) });
  };
  const record = await ctx.store.getApp(app);
  if (!record) return fail(`app ${app} does not exist`);
  let id: ReleaseId;
  if (run.release !== undefined) {
    if (!RELEASE_ID.test(run.release)) return fail(`${JSON.stringify(run.release)} is not a release id (R followed by ten capital letters)`);
    id = run.release as ReleaseId;
  } else {
    if (!record.release) return fail(`app ${app} has no release to run ${run.service} on; deploy it first or name a release`);
    id = record.release;
  }
  const release: Release | undefined = await ctx.store.getRelease(app, id);
  if (!release) return fail(`release ${id} not found in app ${app}`, id);
  const build: Build | undefined = await ctx.store.getBuild(app, release.build);
  if (!build) return fail(`build ${release.build} of release ${id} not found`, id);
  const image = build.images.find((i) => i.service === run.service)?.image;
  if (!image) {
    const services = build.images.map((i) => i.service).sort();
    return fail(`service ${run.service} is not in release ${id}${services.length ? ` (its services: ${services.join(', ')})` : ''}`, id);
  }
  const env = await ctx.env.get(app, release.envVersion);
  // Convox runs a one-off process with its release's environment; only that env's values can appear in the job's output.
  const { job } = await ctx.runtime.runJob({ app, release: id, service: run.service, command: run.command, image, env, parallelism: 1 });
  await emit(ctx, 'Run Started', state, { service: run.service, release: id, command, job }, [...secrets, ...Object.values(env)]);
  return { status: 'running', job, release: id, service: run.service, startedAt: ctx.clock.now() };
}

export async function timerRunStatus(state: TimerState, ctx: DeployContext): Promise<NonNullable<TimerState['result']>> {
  const kind = kindOf(state);
  const run = state.run;
  if (!run?.job) throw new SlipwayError('no timer run to follow', 'TIMER_STATE_INVALID');
  const status = await ctx.runtime.jobStatus(run.job);
  if (status.state === 'running') return { state: 'running' };
  const { app } = state.request;
  const secrets = await secretsOf(ctx, app);
  // The run's own environment may be an older version than the app's current one: both are redacted.
  const runEnv = run.release ? await releaseEnv(ctx, app, run.release) : [];
  const values = [...secrets, ...runEnv];
  const detail: Omit<EventDetail, 'app' | 'timer' | 'execution'> = {
    ...(run.service ? { service: run.service } : {}),
    ...(run.release ? { release: run.release } : {}),
    ...(kind.kind === 'run' ? { command: redact(kind.run.command, values) } : {}),
    durationMs: ctx.clock.now() - (run.startedAt ?? ctx.clock.now()),
  };
  if (status.state === 'succeeded') {
    await emit(ctx, kind.kind === 'run' ? 'Run Succeeded' : 'Timer Succeeded', state, detail, values);
    return { state: 'succeeded' };
  }
  // The reason can quote the job's output; it is redacted before it reaches the event and the execution's history.
  // Both runtimes name the exit code in their reason already; say it once.
  const withCode = status.exitCode !== undefined && !status.reason.includes(`exited with code ${status.exitCode}`) ? `exited with code ${status.exitCode}: ${status.reason}` : status.reason;
  const reason = redact(withCode, values);
  if (kind.kind === 'run') {
    await emit(ctx, 'Run Failed', state, { ...detail, reason }, values);
    throw new RunFailedError(reason, { app, service: kind.run.service, ...(run.release ? { release: run.release } : {}) });
  }
  await emit(ctx, 'Timer Failed', state, { ...detail, reason }, values);
  throw new TimerFailedError(reason, { app, timer: kind.timer });
}

/** The values of a release's environment (empty when the release is gone: cleanup may have pruned it). */
async function releaseEnv(ctx: DeployContext, app: string, id: ReleaseId): Promise<string[]> {
  const release = await ctx.store.getRelease(app, id);
  return release ? Object.values(await ctx.env.get(app, release.envVersion)) : [];
}

export const TIMER_STEPS = { startTimerRun, timerRunStatus } as const;
