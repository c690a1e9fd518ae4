/**
 * `slipway apps delete`: an app's processes, timers, images and records go; its resources'
 * data stays. The Provisioner port can create resources but not remove them, and deleting a
 * database is not something to do as a side effect: the App Deleted event names what was kept,
 * so an operator can remove it knowingly. Environment versions stay too (the EnvStore port has no
 * delete), and the event says so.
 */
import { SlipwayError } from '../../errors';
import type { Resource } from '../../manifest';
import type { DeployContext } from './deploy';
import { loadRelease } from './deploy';

/** How long the deletion may hold the app's lock: it keeps deploys out meanwhile, and expires if it stops halfway. */
const DELETE_LEASE_MS = 5 * 60 * 1000;

/** The app is busy: a deploy (or rollback, promotion, scale) holds its lock. */
export class AppBusyError extends SlipwayError {
  constructor(app: string, holder: string) {
    super(`app ${app} cannot be deleted while ${holder} holds it; wait for it to finish or cancel it (slipway apps cancel ${app})`, 'APP_BUSY', { app, holder });
    this.name = 'AppBusy';
  }
}

export interface DeletedApp {
  readonly app: string;
  readonly builds: number;
  readonly releases: number;
  /** Resources whose data was left in place, as `name (type)`. */
  readonly resourcesKept: readonly string[];
}

/**
 * Delete an app. It takes the app's lock first, so it refuses while a deploy holds it and no
 * deploy starts while processes and records go; if it stops halfway, the lock expires and running
 * it again finishes the job. Deploys still queued for the app fail when they find it gone.
 */
export async function deleteApp(ctx: DeployContext, app: string, by: string): Promise<DeletedApp> {
  const record = await ctx.store.requireApp(app);
  const owner = `delete-app:${by}`;
  const lease = await ctx.store.acquireLock(app, owner, DELETE_LEASE_MS);
  if (!lease) throw new AppBusyError(app, (await ctx.store.lockOf(app))?.owner ?? 'another deploy');
  try {
    const resources = record.release ? await resourcesOf(ctx, app, record.release) : [];
    await ctx.runtime.remove(app);
    await ctx.scheduler.reconcile(app, []);
    const images = [...new Set((await ctx.store.listBuilds(app)).flatMap((b) => b.images.map((i) => i.image)))];
    if (images.length > 0) await ctx.builder.deleteImages(app, images);
    // The environment before the app record: a delete that stops in between can be run again.
    const envVersions = await ctx.env.deleteApp(app);
    const { builds, releases } = await ctx.store.deleteApp(lease, app);
    const resourcesKept = resources.map((r) => `${r.name} (${r.type})`);
    const kept = resourcesKept.length > 0 ? `; resources kept: ${resourcesKept.join(', ')}` : '';
    await ctx.events.emit('App Deleted', { app, reason: `deleted by ${by}${kept}`, counts: { builds, releases, envVersions, resourcesKept: resourcesKept.length } });
    return { app, builds, releases, resourcesKept };
  } catch (e) {
    // Let deploys in again; the app (or what is left of it) is as the failure left it.
    await ctx.store.releaseLock(lease).catch(() => undefined);
    throw e;
  }
}

/** The resources the app's current release declares; an unreadable release (its build is gone) declares none we can name. */
async function resourcesOf(ctx: DeployContext, app: string, release: NonNullable<Awaited<ReturnType<DeployContext['store']['requireApp']>>['release']>): Promise<readonly Resource[]> {
  try {
    return (await loadRelease(ctx, app, release)).manifest.resources;
  } catch {
    return [];
  }
}
