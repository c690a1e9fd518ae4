/**
 * The steps of the Rollback state machine: every change of what an app serves that does not come
 * from an upload. One machine, four kinds of request:
 *
 * - a rollback (the default; `{"app": "...", "release": "R..."}` from the console, release
 *   optional: the one before the current). As in Convox, it copies the target's build and
 *   environment forward into a new release, so nothing is rebuilt, then pins the app: uploads wait
 *   until an operator unpins it, so an automated upload cannot undo an emergency rollback.
 * - a promotion (`"mode": "promote"`: `releases promote`, `env set --promote`): the target release
 *   itself (default: the app's newest release) rolls out, is gated and promoted; no copy, no pin.
 * - a cancel (`"cancels": "<deploy execution>"`: `apps cancel`): the caller stopped that Deploy
 *   execution; its lock is taken over and the release that served before it is promoted again.
 * - a scale (`"scale": {"service": "web", "count": 3}`: `slipway scale`): the sizes are stored on
 *   the app, and its current release is promoted again with them.
 */
import { SlipwayError } from '../../errors';
import type { ReleaseId } from '../domain/ids';
import { newReleaseId, RELEASE_ID } from '../domain/ids';
import type { ScaleOverride } from '../domain/model';
import { describeRelease } from '../domain/model';
import type { EventDetail } from '../events';
import { redact } from '../events';
import type { DeployConfig, DeployContext, DeployState } from './deploy';
import { apply, healthGate, loadRelease, reconcileTimers, releaseApplyRequest, rolloutStatus } from './deploy';
import type { CaughtFailure } from './failure';
import { failureMessage } from './failure';

/** `slipway scale <service> --count --cpu --memory`: at least one size. */
export interface ScaleRequest extends ScaleOverride {
  readonly service: string;
}

export interface RollbackRequest {
  readonly app: string;
  /** Rollback: the release to copy forward; promotion: the release to promote. */
  readonly release?: string;
  /** Promote as soon as the rollout completes, without the health gates (emergencies). */
  readonly skipGates?: boolean;
  readonly by?: string;
  readonly reason?: string;
  /** `rollback` (the default) copies and pins; `promote` rolls the release itself out. */
  readonly mode?: 'rollback' | 'promote';
  /** The Deploy execution the caller has stopped (`apps cancel`): implies a promotion of the current release. */
  readonly cancels?: string;
  /** Sizes to store on the app (`slipway scale`): implies a promotion of the current release. */
  readonly scale?: ScaleRequest;
}

/** What a request does, from its optional fields. */
export type RollbackKind = 'rollback' | 'promote' | 'cancel' | 'scale';

/** What a failure must undo besides rolling the previous release back in. */
export interface RollbackUndo {
  /** The service's sizes before this request changed them (absent: it had none). */
  readonly scale?: { readonly service: string; readonly previous?: ScaleOverride };
}

export interface Prepared extends Pick<DeployState, 'deploy' | 'release'> {
  readonly target?: ReleaseId;
  readonly undo?: RollbackUndo;
  /** A cancelled first deploy: nothing served before it, so its processes are taken away. */
  readonly nothingToRestore?: boolean;
}

export interface RollbackState extends DeployState {
  readonly request: RollbackRequest;
  readonly config: DeployConfig;
  readonly target?: ReleaseId;
  readonly undo?: RollbackUndo;
  /** The prepare step's result, before the machine spreads it into the state. */
  readonly prepared?: Prepared;
}

export class RollbackError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super(message, 'RollbackRejected', context);
    this.name = 'RollbackRejected';
  }
}

/** A `slipway scale` the rack refuses: an unknown service, or a size out of range. */
export class ScaleRejectedError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super(message, 'ScaleRejected', context);
    this.name = 'ScaleRejected';
  }
}

/** Bounds of `slipway scale` (the count's is Convox's; cpu and memory only need to be positive). */
export const SCALE_LIMITS = { maxCount: 100 } as const;

export function kindOf(request: RollbackRequest): RollbackKind {
  if (request.cancels !== undefined) return 'cancel';
  if (request.scale !== undefined) return 'scale';
  return request.mode === 'promote' ? 'promote' : 'rollback';
}

type RollbackEventType = 'Rollback Started' | 'Rollback Succeeded' | 'Rollback Failed' | 'Promotion Started' | 'Promotion Succeeded' | 'Promotion Failed' | 'Deployment Cancelled';

async function emit(ctx: DeployContext, type: RollbackEventType, state: RollbackState, detail: Omit<EventDetail, 'app' | 'execution'>): Promise<void> {
  await ctx.events.emit(type, { app: state.request.app, execution: state.execution, ...detail }, await secretsOf(ctx, state.request.app));
}

async function secretsOf(ctx: DeployContext, app: string): Promise<string[]> {
  return Object.values((await ctx.env.current(app)).values);
}

/** `count=3 cpu=256 memory=512`, the sizes a scale request sets. */
export function describeScale(scale: ScaleRequest): string {
  const parts = (['count', 'cpu', 'memory'] as const).flatMap((k) => (scale[k] === undefined ? [] : [`${k}=${scale[k]}`]));
  return `scale ${scale.service} ${parts.join(' ')}`;
}

/** Why the app changes, for the events: what the request does, who asked, and their words. */
function describeRequest(request: RollbackRequest, target: ReleaseId | undefined): string {
  const kind = kindOf(request);
  const what =
    kind === 'scale' && request.scale ? describeScale(request.scale) : kind === 'cancel' ? `cancel of deploy ${request.cancels ?? ''}` : kind === 'promote' ? `promote ${target ?? 'the newest release'}` : `rollback to ${target ?? 'the previous release'}`;
  return `${what}${request.by ? ` by ${request.by}` : ''}${request.reason ? `: ${request.reason}` : ''}`;
}

/** The checks that need no lock: fields that go together, ids and sizes well formed. */
function checkRequest(request: RollbackRequest): void {
  const { app, release, mode, cancels, scale } = request;
  if (release !== undefined && (typeof release !== 'string' || !RELEASE_ID.test(release))) throw new RollbackError(`${JSON.stringify(release)} is not a release id`, { app, release });
  if (mode !== undefined && mode !== 'rollback' && mode !== 'promote') throw new RollbackError(`mode ${JSON.stringify(mode)} is not one of rollback, promote`, { app });
  if (cancels !== undefined) {
    if (typeof cancels !== 'string' || cancels === '') throw new RollbackError('cancels must name the Deploy execution that was stopped', { app });
    if (release !== undefined || scale !== undefined || mode === 'rollback') throw new RollbackError('a cancel puts back the current release: it takes no release, scale or rollback mode', { app, cancels });
  }
  if (scale !== undefined) {
    if (release !== undefined || mode === 'rollback') throw new ScaleRejectedError('a scale promotes the current release again: it takes no release or rollback mode', { app });
    checkScale(app, scale);
  }
}

/** Refuse a scale request the machine would refuse, before starting it (the local rack's API answers at once). */
export function checkScale(app: string, scale: ScaleRequest): void {
  if (typeof scale !== 'object' || scale === null || typeof scale.service !== 'string' || scale.service === '') throw new ScaleRejectedError('scale must name a service', { app });
  const { service, count, cpu, memory } = scale;
  if (count === undefined && cpu === undefined && memory === undefined) throw new ScaleRejectedError(`scale ${service}: give at least one of count, cpu, memory`, { app, service });
  if (count !== undefined && (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > SCALE_LIMITS.maxCount)) {
    throw new ScaleRejectedError(`scale ${service}: count must be a whole number from 0 to ${SCALE_LIMITS.maxCount}, not ${JSON.stringify(count)}`, { app, service });
  }
  if (cpu !== undefined && (typeof cpu !== 'number' || !Number.isInteger(cpu) || cpu <= 0)) throw new ScaleRejectedError(`scale ${service}: cpu is whole millicores above 0 (e.g. 256), not ${JSON.stringify(cpu)}`, { app, service });
  if (memory !== undefined && (typeof memory !== 'number' || !Number.isInteger(memory) || memory <= 0)) throw new ScaleRejectedError(`scale ${service}: memory is whole MiB above 0 (e.g. 512), not ${JSON.stringify(memory)}`, { app, service });
}

/**
 * Take the app's lock (waiting while a deploy holds it) and check the request. A cancel takes
 * the lock over from the Deploy execution it names, which the caller has already stopped: a
 * stopped execution never releases its lock, and would otherwise hold the app until its lease ran out.
 */
export async function acquireRollbackLock(state: RollbackState, ctx: DeployContext): Promise<NonNullable<DeployState['lock']>> {
  const { app, cancels } = state.request;
  if (!(await ctx.store.getApp(app))) throw new RollbackError(`app ${app} does not exist`, { app });
  checkRequest(state.request);
  const ttl = state.config.leaseSeconds * 1000;
  const lease = (cancels !== undefined ? await ctx.store.takeOverLock(app, cancels, state.execution, ttl) : undefined) ?? (await ctx.store.acquireLock(app, state.execution, ttl));
  if (!lease) return { status: 'waiting', reason: `deploy ${(await ctx.store.lockOf(app))?.owner ?? 'another deploy'} holds the app` };
  return { status: 'acquired', lease };
}

/**
 * Choose what rolls out. A rollback copies the target release forward into a new release (same
 * build, same environment version); the other kinds roll an existing release out as it is, after
 * a scale has stored its sizes on the app (under the lock: the rollout reads them).
 */
export async function prepareRollback(state: RollbackState, ctx: DeployContext): Promise<Prepared> {
  const kind = kindOf(state.request);
  if (kind === 'rollback') return prepareCopy(state, ctx);
  const { app: name, scale } = state.request;
  const lease = state.lock?.lease;
  if (!lease) throw new SlipwayError('the promotion holds no lock', 'ROLLBACK_STATE_INVALID');
  const app = await ctx.store.requireApp(name);
  const current = app.release;
  const target = kind === 'cancel' || kind === 'scale' ? current : ((state.request.release as ReleaseId | undefined) ?? (await ctx.store.listReleases(name))[0]?.id);
  if (!target) {
    if (kind === 'cancel') return { nothingToRestore: true };
    if (kind === 'scale') throw new ScaleRejectedError(`app ${name} has no release yet: deploy it before scaling`, { app: name });
    throw new RollbackError(`app ${name} has no release to promote`, { app: name });
  }
  const source = await ctx.store.getRelease(name, target);
  if (!source) throw new RollbackError(`release ${target} not found in app ${name}`, { app: name, release: target });
  const build = await ctx.store.getBuild(name, source.build);
  if (!build) throw new RollbackError(`build ${source.build} of release ${target} is gone`, { app: name, release: target });
  let undo: RollbackUndo = {};
  if (scale) {
    const { manifest } = await loadRelease(ctx, name, target);
    const services = manifest.services.map((s) => s.name);
    if (!services.includes(scale.service)) throw new ScaleRejectedError(`app ${name} has no service ${scale.service} in release ${target} (services: ${services.join(', ') || 'none'})`, { app: name, service: scale.service, release: target });
    const previous = app.scale?.[scale.service];
    undo = { scale: { service: scale.service, ...(previous ? { previous } : {}) } };
    const { service, ...sizes } = scale;
    await ctx.store.setScale(lease, service, sizes);
  }
  await emit(ctx, 'Promotion Started', state, { release: target, ...(current ? { previousRelease: current } : {}), reason: describeRequest(state.request, target) });
  return { deploy: { app: name, bundle: build.bundle, autoRollback: false }, release: current ? { id: target, previous: current } : { id: target }, target, undo };
}

async function prepareCopy(state: RollbackState, ctx: DeployContext): Promise<Prepared> {
  const { app } = state.request;
  const history = await ctx.store.releaseHistory(app);
  const current = history[0];
  const target = (state.request.release as ReleaseId | undefined) ?? history[1];
  if (!target) throw new RollbackError(`app ${app} has no earlier release to roll back to`, { app });
  const source = await ctx.store.getRelease(app, target);
  if (!source) throw new RollbackError(`release ${target} not found in app ${app}`, { app, release: target });
  const build = await ctx.store.getBuild(app, source.build);
  if (!build) throw new RollbackError(`build ${source.build} of release ${target} is gone`, { app, release: target });
  const id = newReleaseId();
  await ctx.store.putRelease({ id, app, build: source.build, envVersion: source.envVersion, description: describeRelease.rollback(target), createdAt: new Date(ctx.clock.now()).toISOString() });
  await emit(ctx, 'Rollback Started', state, { release: target, ...(current ? { previousRelease: current } : {}) });
  return { deploy: { app, bundle: build.bundle, autoRollback: false }, release: current ? { id, previous: current } : { id }, target, undo: {} };
}

/** Promote what rolled out (a rollback also pins the app to it), and let go of the lock. */
export async function finishRollback(state: RollbackState, ctx: DeployContext): Promise<{ promoted: ReleaseId }> {
  const lease = state.lock?.lease;
  const release = state.release;
  if (!lease || !release) throw new SlipwayError('the rollback holds no lock or release', 'ROLLBACK_STATE_INVALID');
  const { request } = state;
  const kind = kindOf(request);
  await ctx.store.promote(lease, release.id);
  await reconcileTimers(ctx, request.app, release.id);
  const previous = release.previous ? { previousRelease: release.previous } : {};
  if (kind === 'rollback') {
    await ctx.store.pin(lease, { release: release.id, by: request.by ?? 'console', reason: request.reason ?? `rollback to ${state.target ?? release.id}` });
    await emit(ctx, 'Rollback Succeeded', state, { release: release.id, ...previous, reason: `rollback to ${state.target ?? ''}; the app is pinned until unpinned` });
  } else if (kind === 'cancel') {
    await emit(ctx, 'Deployment Cancelled', state, { release: release.id, reason: `${describeRequest(request, release.id)}; release ${release.id}, which served before it, serves again` });
  } else {
    await emit(ctx, 'Promotion Succeeded', state, { release: release.id, ...previous, reason: describeRequest(request, release.id) });
  }
  await ctx.store.releaseLock(lease);
  return { promoted: release.id };
}

export type RollbackOutcome = { readonly kind: 'rollback' | 'promotion'; readonly failed: true; readonly reason: string } | { readonly kind: 'cancelled'; readonly removed: true; readonly reason: string };

/**
 * The Rollback machine's last step when nothing was promoted: the one step of the machine that may
 * change the cluster after a failure (on AWS its Lambda is the machine's only late one with the
 * cluster capability), so it also ends a cancel that has nothing to put back.
 *
 * - A failure puts back what served before (and a scale's previous sizes), says why, and lets go
 *   of the lock.
 * - A cancelled first deploy (nothing served before it) has its processes taken away.
 */
export async function rollbackFailed(state: RollbackState & { failure?: CaughtFailure }, ctx: DeployContext): Promise<RollbackOutcome> {
  const { app } = state.request;
  const lease = state.lock?.lease;
  if (state.prepared?.nothingToRestore && !state.failure) {
    await ctx.runtime.remove(app);
    const reason = `${describeRequest(state.request, undefined)}; the app served no release before it, so its processes were removed`;
    await emit(ctx, 'Deployment Cancelled', state, { reason });
    if (lease) await ctx.store.releaseLock(lease);
    return { kind: 'cancelled', removed: true, reason };
  }
  const kind = kindOf(state.request);
  const why = (state.rollout?.state === 'failed' ? state.rollout.reason : state.gate?.status === 'failed' ? state.gate.reason : failureMessage(state.failure)) ?? 'failed';
  // A promotion's reason says what was asked (`scale web count=3 by ...`) and why it failed.
  const reason = kind === 'rollback' ? why : `${describeRequest(state.request, state.target)}: ${why}`;
  const undoScale = state.undo?.scale;
  if (undoScale && lease) await ctx.store.restoreScale(lease, undoScale.service, undoScale.previous);
  const previous = state.release?.previous;
  if (state.rollout && previous) {
    // With the app's sizes as they are now (a failed scale's were restored above).
    await ctx.runtime.apply(await releaseApplyRequest(ctx, app, previous));
  } else if (state.rollout && kind !== 'rollback') {
    // A promotion on an app that served nothing: take away what it started, as a failed first deploy does.
    await ctx.runtime.remove(app);
  }
  await emit(ctx, kind === 'rollback' ? 'Rollback Failed' : 'Promotion Failed', state, { ...(state.target ? { release: state.target } : {}), reason });
  if (lease) await ctx.store.releaseLock(lease);
  // The reason becomes the execution's failure cause: redacted like the event.
  return { kind: kind === 'rollback' ? 'rollback' : 'promotion', failed: true, reason: redact(reason, await secretsOf(ctx, app)) };
}

/** An operator unpins an app after a console rollback, so uploads deploy again. */
export async function unpinApp(ctx: DeployContext, app: string, by: string): Promise<void> {
  const before = await ctx.store.requireApp(app);
  if (!before.pin) return;
  await ctx.store.unpin(app);
  await ctx.events.emit('App Unpinned', { app, release: before.pin.release, reason: `unpinned by ${by}` });
}

export const ROLLBACK_STEPS = { acquireRollbackLock, prepareRollback, apply, rolloutStatus, healthGate, finishRollback, rollbackFailed } as const;
