/**
 * The steps of the Cleanup machine, the rack's maintenance machine (machines/cleanup.ts).
 *
 * Daily: for every app, keep the last releases (the current and the previous one always, and a
 * pinned one), delete the builds, bundles and images no kept release refers to, free locks whose
 * lease ran out, drop queue entries of deploys that stopped while they waited, and remove
 * finished jobs.
 *
 * On request from the CLI: delete an app (`removeApp`), and list an app's processes
 * (`queryProcesses`), which only the cluster knows.
 */
import { SlipwayError } from '../../errors';
import type { ReleaseId } from '../domain/ids';
import { APP_NAME } from '../domain/model';
import type { RuntimeProcess } from '../ports/runtime';
import type { DeletedApp } from './delete-app';
import { deleteApp } from './delete-app';
import type { DeployContext } from './deploy';

/** A request to the maintenance machine that lacks what it must name; anyone with StartExecution can send one. */
export class MaintenanceRequestError extends SlipwayError {
  constructor(what: string, input: unknown) {
    super(`the Cleanup machine's request is malformed: ${what} (got ${JSON.stringify(input)?.slice(0, 200) ?? 'nothing'})`, 'MAINTENANCE_REQUEST_INVALID', {});
  }
}

export interface CleanupConfig {
  /** Releases kept per app, newest first (the current, previous and pinned ones are kept on top). */
  readonly keepReleases: number;
  /** Finished jobs older than this are removed. */
  readonly jobRetentionHours: number;
  /** Bundles and builds younger than this are never deleted (a deploy may be using them). */
  readonly graceHours: number;
}

export async function listApps(_input: unknown, ctx: DeployContext): Promise<{ apps: string[] }> {
  return { apps: (await ctx.store.listApps()).map((a) => a.name) };
}

export async function cleanupApp(input: { app: string; config: CleanupConfig; execution: string }, ctx: DeployContext): Promise<Record<string, number>> {
  const { app, config } = input;
  const now = ctx.clock.now();
  const grace = now - config.graceHours * 3_600_000;
  const counts: Record<string, number> = { releasesKept: 0, releasesDeleted: 0, buildsDeleted: 0, bundlesDeleted: 0, imagesDeleted: 0, jobsDeleted: 0, queuedDeploysDropped: 0 };

  // A waiting deploy checks in on every try for the lock; an entry unseen for the grace period belongs to one that stopped.
  counts.queuedDeploysDropped = await ctx.store.pruneDeployQueue(app, grace);

  const expired = await ctx.store.expireLock(app);
  if (expired) await ctx.events.emit('Lock Expired', { app, execution: expired.owner, reason: `the lease expired at ${new Date(expired.expiresAt).toISOString()}` });

  const details = await ctx.store.requireApp(app);
  const history = await ctx.store.releaseHistory(app);
  const protectedReleases = new Set<ReleaseId>([...history.slice(0, 2), ...(details.pin ? [details.pin.release] : [])]);
  const releases = await ctx.store.listReleases(app);
  const kept = releases.filter((r, i) => i < config.keepReleases || protectedReleases.has(r.id));
  for (const r of releases) {
    if (kept.includes(r)) continue;
    await ctx.store.deleteRelease(app, r.id);
    counts.releasesDeleted = (counts.releasesDeleted ?? 0) + 1;
  }
  counts.releasesKept = kept.length;

  const keptBuilds = new Set(kept.map((r) => r.build));
  const builds = await ctx.store.listBuilds(app);
  const keepBuild = (b: (typeof builds)[number]): boolean => keptBuilds.has(b.id) || Date.parse(b.createdAt) > grace || b.status === 'running';
  const keptImages = new Set(builds.filter(keepBuild).flatMap((b) => b.images.map((i) => i.image)));
  const keptBundles = new Set(builds.filter(keepBuild).map((b) => `${b.bundle.key}@${b.bundle.version}`));
  const doomedImages = new Set<string>();
  for (const b of builds) {
    if (keepBuild(b)) continue;
    for (const i of b.images) if (!keptImages.has(i.image) && !i.reused && i.contextHash !== '') doomedImages.add(i.image);
    await ctx.store.deleteBuild(app, b.id);
    counts.buildsDeleted = (counts.buildsDeleted ?? 0) + 1;
  }
  if (doomedImages.size > 0) await ctx.builder.deleteImages(app, [...doomedImages]);
  counts.imagesDeleted = doomedImages.size;

  for (const bundle of await ctx.bundles.list(app)) {
    if (keptBundles.has(`${bundle.key}@${bundle.version}`) || Date.parse(bundle.lastModified) > grace) continue;
    await ctx.bundles.delete(bundle.key, bundle.version);
    counts.bundlesDeleted = (counts.bundlesDeleted ?? 0) + 1;
  }

  counts.jobsDeleted = await ctx.runtime.pruneJobs(app, now - config.jobRetentionHours * 3_600_000);
  await ctx.events.emit('Cleanup Completed', { app, execution: input.execution, counts });
  return counts;
}

/** What a CLI request carries; typed loosely, since anyone allowed to start the machine can send anything. */
export interface RemoveAppRequest {
  readonly app?: unknown;
  readonly by?: unknown;
}
export interface ProcessesQuery {
  readonly processes?: unknown;
}

/** `{ deleteApp: { app, by } }`: the app, its processes, timers, images and records go (see delete-app.ts for what stays). */
export async function removeApp(input: RemoveAppRequest | undefined, ctx: DeployContext): Promise<DeletedApp> {
  const app = validApp(input?.app, input);
  const by = input?.by;
  if (typeof by !== 'string' || by === '') throw new MaintenanceRequestError('deleteApp.by must name who deletes the app', input);
  return deleteApp(ctx, app, by);
}

/** `{ query: { processes: app } }`: the app's processes as the cluster sees them now; read-only. */
export async function queryProcesses(input: ProcessesQuery | undefined, ctx: DeployContext): Promise<{ app: string; processes: RuntimeProcess[] }> {
  const app = validApp(input?.processes, input);
  await ctx.store.requireApp(app);
  return { app, processes: [...(await ctx.runtime.listProcesses(app))] };
}

function validApp(app: unknown, input: unknown): string {
  if (typeof app !== 'string' || !APP_NAME.test(app)) throw new MaintenanceRequestError('it must name a valid app', input);
  return app;
}

export const CLEANUP_STEPS = { listApps, cleanupApp, removeApp, queryProcesses } as const;
