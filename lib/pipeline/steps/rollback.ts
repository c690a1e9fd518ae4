/**
 * The steps of the Rollback state machine, started from the console with
 * `{"app": "...", "release": "R..."}` (release optional: the one before the current). As in
 * Convox, a rollback copies the target's build and environment forward into a new release, so
 * nothing is rebuilt. It then pins the app: uploads wait until an operator unpins it, so an
 * automated upload cannot undo an emergency rollback.
 */
import { SlipwayError } from '../../errors';
import type { ReleaseId } from '../domain/ids';
import { newReleaseId, RELEASE_ID } from '../domain/ids';
import { describeRelease } from '../domain/model';
import type { DeployConfig, DeployContext, DeployState } from './deploy';
import { apply, healthGate, loadRelease, reconcileTimers, rolloutStatus } from './deploy';
import type { CaughtFailure } from './failure';
import { failureMessage } from './failure';

export interface RollbackRequest {
  readonly app: string;
  readonly release?: string;
  /** Promote as soon as the rollout completes, without the health gates (emergencies). */
  readonly skipGates?: boolean;
  readonly by?: string;
  readonly reason?: string;
}

export interface RollbackState extends DeployState {
  readonly request: RollbackRequest;
  readonly config: DeployConfig;
  readonly target?: ReleaseId;
}

export class RollbackError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super(message, 'RollbackRejected', context);
    this.name = 'RollbackRejected';
  }
}

async function emit(ctx: DeployContext, type: 'Rollback Started' | 'Rollback Succeeded' | 'Rollback Failed', state: RollbackState, detail: { release?: ReleaseId; previousRelease?: ReleaseId; reason?: string }): Promise<void> {
  const secrets = Object.values((await ctx.env.current(state.request.app)).values);
  await ctx.events.emit(type, { app: state.request.app, execution: state.execution, ...detail }, secrets);
}

/** Take the app's lock (waiting while a deploy holds it) and check the request. */
export async function acquireRollbackLock(state: RollbackState, ctx: DeployContext): Promise<NonNullable<DeployState['lock']>> {
  const { app, release } = state.request;
  if (!(await ctx.store.getApp(app))) throw new RollbackError(`app ${app} does not exist`, { app });
  if (release !== undefined && !RELEASE_ID.test(release)) throw new RollbackError(`${JSON.stringify(release)} is not a release id`, { app, release });
  const lease = await ctx.store.acquireLock(app, state.execution, state.config.leaseSeconds * 1000);
  if (!lease) return { status: 'waiting', reason: `deploy ${(await ctx.store.lockOf(app))?.owner ?? 'another deploy'} holds the app` };
  return { status: 'acquired', lease };
}

/** Copy the target release forward into a new release: same build, same environment version. */
export async function prepareRollback(state: RollbackState, ctx: DeployContext): Promise<Pick<RollbackState, 'deploy' | 'release' | 'target'>> {
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
  return { deploy: { app, bundle: build.bundle, autoRollback: false }, release: current ? { id, previous: current } : { id }, target };
}

/** Promote the copy, pin the app to it, and let go of the lock. */
export async function finishRollback(state: RollbackState, ctx: DeployContext): Promise<{ promoted: ReleaseId }> {
  const lease = state.lock?.lease;
  const release = state.release;
  if (!lease || !release) throw new SlipwayError('the rollback holds no lock or release', 'ROLLBACK_STATE_INVALID');
  await ctx.store.promote(lease, release.id);
  await reconcileTimers(ctx, state.request.app, release.id);
  await ctx.store.pin(lease, { release: release.id, by: state.request.by ?? 'console', reason: state.request.reason ?? `rollback to ${state.target ?? release.id}` });
  await emit(ctx, 'Rollback Succeeded', state, { release: release.id, ...(release.previous ? { previousRelease: release.previous } : {}), reason: `rollback to ${state.target ?? ''}; the app is pinned until unpinned` });
  await ctx.store.releaseLock(lease);
  return { promoted: release.id };
}

/** A failed rollback puts back what served before it, says why, and lets go of the lock. */
export async function rollbackFailed(state: RollbackState & { failure?: CaughtFailure }, ctx: DeployContext): Promise<{ failed: true }> {
  const reason = state.rollout?.state === 'failed' ? state.rollout.reason : state.gate?.status === 'failed' ? state.gate.reason : failureMessage(state.failure);
  const previous = state.release?.previous;
  if (state.rollout && previous) {
    const { release: r, text, images, env } = await loadRelease(ctx, state.request.app, previous);
    await ctx.runtime.apply({ app: state.request.app, release: r, manifest: text, images, env });
  }
  await emit(ctx, 'Rollback Failed', state, { ...(state.target ? { release: state.target } : {}), ...(reason ? { reason } : {}) });
  if (state.lock?.lease) await ctx.store.releaseLock(state.lock.lease);
  return { failed: true };
}

/** An operator unpins an app after a console rollback, so uploads deploy again. */
export async function unpinApp(ctx: DeployContext, app: string, by: string): Promise<void> {
  const before = await ctx.store.requireApp(app);
  if (!before.pin) return;
  await ctx.store.unpin(app);
  await ctx.events.emit('App Unpinned', { app, release: before.pin.release, reason: `unpinned by ${by}` });
}

export const ROLLBACK_STEPS = { acquireRollbackLock, prepareRollback, apply, rolloutStatus, healthGate, finishRollback, rollbackFailed } as const;
