/**
 * The steps of the Deploy state machine, as plain functions over the ports. Each takes the
 * execution's state and returns the part it adds. A step that fails throws an error whose name
 * the machine's Catch clauses route on (`BuildFailed`, `BundleRejected`, ...), on AWS and locally.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../errors';
import type { Manifest } from '../../manifest';
import { assertValid, buildHash, loadManifest, ManifestError } from '../../manifest';
import { BundleRejectedError, extractBundle } from '../bundle/extract';
import type { BundleLimits } from '../bundle/extract';
import { BundleKeyError, parseBundleKey } from '../bundle/key';
import { BuildContextError } from '../build/context';
import type { BuildId, ReleaseId } from '../domain/ids';
import { newBuildId, newReleaseId } from '../domain/ids';
import type { BundleObject, Release, ServiceImage } from '../domain/model';
import { describeRelease } from '../domain/model';
import type { EventDetail, EventPublisher, EventType } from '../events';
import { redact } from '../events';
import type { BundleStore, ObjectCreatedEvent } from '../ports/bundle-store';
import type { AlarmMonitor, ApplyRequest, Builder, EnvStore, Provisioner, Runtime, Scheduler } from '../ports/runtime';
import type { Clock, Lease, ReleaseStore } from '../stores/release-store';
import { LockLostError } from '../stores/release-store';
import type { CaughtFailure } from './failure';
import { failureMessage } from './failure';
import type { BuildPlan, BuildUnit } from './plan-builds';
import { planBuilds } from './plan-builds';

/** Everything a deploy step may use: the ports, and where it may write. */
export interface DeployContext {
  readonly store: ReleaseStore;
  readonly bundles: BundleStore;
  readonly builder: Builder;
  readonly provisioner: Provisioner;
  readonly runtime: Runtime;
  readonly env: EnvStore;
  readonly scheduler: Scheduler;
  readonly alarms: AlarmMonitor;
  readonly events: EventPublisher;
  readonly clock: Clock;
  /** Scratch space for extracted bundles. */
  readonly workDir: string;
  readonly bundleLimits?: BundleLimits;
}

/** Settings of a deploy, from the trigger (the rack's configuration). */
export interface DeployConfig {
  /** Seconds between rollout and build status polls. */
  readonly pollSeconds: number;
  /** Seconds between tries of a queued deploy for its app's lock. */
  readonly queuePollSeconds: number;
  /** How long a deploy's lock lasts without renewal; every poll renews it. */
  readonly leaseSeconds: number;
  /** How long every service must stay healthy, without restarts, before promotion. */
  readonly bakeSeconds: number;
  /**
   * A rollout that has not completed after this long fails. A service overrides it with the
   * label `slipway/progress-deadline-seconds`.
   */
  readonly progressDeadlineSeconds: number;
  /** CloudWatch alarms that must stay OK through the health gates (optional). */
  readonly alarmNames?: readonly string[];
}

/** The label a service sets to give its rollout more (or less) time than the rack's default. */
export const PROGRESS_DEADLINE_LABEL = 'slipway/progress-deadline-seconds';

export interface DeployState {
  /** The upload that started the deploy (absent in a console rollback, which reuses these steps). */
  readonly event?: ObjectCreatedEvent;
  readonly config: DeployConfig;
  readonly execution: string;
  /**
   * `promote: false` (the upload's metadata `promote: false`, `slipway build`) stops the deploy
   * after its release is created: nothing is provisioned, rolled out or promoted. Admit always sets
   * it; states built elsewhere (a console rollback) may leave it out, which means true.
   */
  readonly deploy?: { readonly app: string; readonly bundle: BundleObject; readonly autoRollback: boolean; readonly promote?: boolean; readonly description?: string };
  readonly lock?: { readonly status: 'acquired' | 'waiting' | 'superseded'; readonly lease?: Lease; readonly reason?: string; readonly queuedEmitted?: boolean };
  readonly build?: { readonly id: BuildId; readonly units: readonly BuildUnit[]; readonly images: readonly ServiceImage[]; readonly envVersion: number; readonly dir: string };
  readonly built?: readonly ServiceImage[][];
  readonly release?: { readonly id: ReleaseId; readonly previous?: ReleaseId };
  readonly provision?: { readonly ready: boolean; readonly waitingOn: readonly string[] };
  readonly rollout?: { readonly startedAt: number; readonly state?: 'progressing' | 'complete' | 'failed'; readonly reason?: string };
  readonly gate?: { readonly status: 'baking' | 'passed' | 'failed'; readonly startedAt: number; readonly restarts: Readonly<Record<string, number>>; readonly reason?: string };
  readonly failure?: CaughtFailure;
}

/** Errors the machine routes on; the name is the ASL error name. */
export class DeployStepError extends SlipwayError {
  constructor(
    override readonly name: 'BundleRejected' | 'DeployRejected' | 'BuildFailed' | 'ProvisionFailed' | 'LockLost',
    message: string,
    context: Record<string, unknown> = {},
  ) {
    super(message, name, context);
  }
}

/** Timers whose schedules this rack cannot run: the bundle is refused before anything is built. */
class ScheduleRejectedError extends SlipwayError {
  constructor(problems: readonly string[]) {
    super(`convox.yml: ${problems.join('; ')}`, 'SCHEDULE_REJECTED', { problems });
  }
}

function app(state: DeployState): string {
  if (!state.deploy) throw new SlipwayError('the deploy has not been admitted', 'DEPLOY_STATE_INVALID');
  return state.deploy.app;
}

function lease(state: DeployState): Lease {
  if (!state.lock?.lease) throw new SlipwayError('the deploy does not hold its app\u2019s lock', 'DEPLOY_STATE_INVALID');
  return state.lock.lease;
}

async function emit(ctx: DeployContext, type: EventType, state: DeployState, detail: Omit<EventDetail, 'app' | 'execution'> = {}, secrets: string[] = []): Promise<void> {
  const base: EventDetail = { app: state.deploy?.app ?? safeApp(state.event?.detail.object.key ?? ''), execution: state.execution, ...detail };
  await ctx.events.emit(type, base, secrets);
}

function safeApp(key: string): string {
  try {
    return parseBundleKey(key).app;
  } catch {
    return 'unknown';
  }
}

async function secretsOf(ctx: DeployContext, state: DeployState): Promise<string[]> {
  return state.deploy ? Object.values((await ctx.env.current(state.deploy.app)).values) : [];
}

/** Refuse keys outside the layout and unknown apps; read the upload's options; queue the deploy. */
export async function admit(state: DeployState, ctx: DeployContext): Promise<NonNullable<DeployState['deploy']>> {
  if (!state.event) throw new SlipwayError('a deploy starts from an upload event', 'DEPLOY_STATE_INVALID');
  const object = state.event.detail.object;
  const event = state.event;
  let parsed: { app: string };
  try {
    parsed = parseBundleKey(object.key);
  } catch (e) {
    if (!(e instanceof BundleKeyError)) throw e;
    await emit(ctx, 'Bundle Rejected', state, { reason: e.message });
    throw new DeployStepError('BundleRejected', e.message, { key: object.key });
  }
  if (!(await ctx.store.getApp(parsed.app))) {
    const reason = `app ${parsed.app} does not exist; create it first (slipway apps create ${parsed.app})`;
    await emit(ctx, 'Deployment Failed', state, { reason });
    throw new DeployStepError('DeployRejected', reason, { app: parsed.app });
  }
  const head = await ctx.bundles.head(object.key, object['version-id']);
  if (!head) {
    const reason = `bundle ${object.key} version ${object['version-id']} is gone`;
    await emit(ctx, 'Deployment Failed', state, { reason });
    throw new DeployStepError('DeployRejected', reason);
  }
  await ctx.store.enqueueDeploy(parsed.app, state.execution, uploadOrder(event));
  const { metadata: _m, lastModified: _l, ...bundle } = head;
  const description = uploadDescription(head.metadata.description);
  return { app: parsed.app, bundle, autoRollback: head.metadata['auto-rollback'] !== 'false', promote: head.metadata.promote !== 'false', ...(description ? { description } : {}) };
}

/**
 * The description an upload carries (`slipway deploy -d`), kept with its release. Object metadata
 * is ASCII, so the CLI sends it URI-encoded; anything that does not decode, control characters
 * and what runs past 200 characters are dropped rather than failing the deploy over a label.
 */
function uploadDescription(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  const clean = [...text].map((c) => (c < ' ' || c === '\u007f' ? ' ' : c)).join('').trim().slice(0, 200);
  return clean || undefined;
}

/**
 * Take the app's lock, or wait: while another deploy holds it or the app is pinned. When a newer
 * upload has arrived, this one is superseded: only the newest waiting upload deploys. "Arrived"
 * means queued at any time, not only queued now: the newer one leaves the queue when it takes the
 * lock, and an older one that first looks after that must not deploy over it.
 */
export async function acquireLock(state: DeployState, ctx: DeployContext): Promise<NonNullable<DeployState['lock']>> {
  const name = app(state);
  const { queue, newestUpload } = await ctx.store.deployQueueState(name);
  const mine = queue.find((q) => q.execution === state.execution);
  if (!mine || queue.some((q) => q.order > mine.order) || (newestUpload !== undefined && newestUpload > mine.order)) {
    await ctx.store.dequeueDeploy(name, state.execution);
    await emit(ctx, 'Deployment Superseded', state, { bundle: bundleRef(state), reason: 'a newer bundle for the app arrived while this one waited' });
    return { status: 'superseded' };
  }
  const current = await ctx.store.requireApp(name);
  let reason: string | undefined;
  let acquired: Lease | undefined;
  if (current.pin) reason = `the app is pinned to ${current.pin.release} by ${current.pin.by} (${current.pin.reason}); unpin it to deploy`;
  else {
    acquired = await ctx.store.acquireLock(name, state.execution, state.config.leaseSeconds * 1000);
    if (!acquired) reason = `deploy ${(await ctx.store.lockOf(name))?.owner ?? 'another deploy'} holds the app`;
  }
  if (!acquired) {
    await ctx.store.touchDeploy(name, state.execution);
    if (!state.lock?.queuedEmitted) await emit(ctx, 'Deployment Queued', state, { bundle: bundleRef(state), ...(reason ? { reason } : {}) });
    return { status: 'waiting', queuedEmitted: true, ...(reason ? { reason } : {}) };
  }
  await ctx.store.dequeueDeploy(name, state.execution);
  await emit(ctx, 'Deployment Started', state, { bundle: bundleRef(state) });
  return { status: 'acquired', lease: acquired };
}

/** Uploads sort by event time, then by S3's sequencer (hex, compared at equal length). */
export function uploadOrder(event: ObjectCreatedEvent): string {
  return `${event.time}|${event.detail.object.sequencer.padStart(32, '0')}`;
}

function bundleRef(state: DeployState): { key: string; version: string } {
  const bundle = state.deploy?.bundle;
  return bundle ? { key: bundle.key, version: bundle.version } : { key: state.event?.detail.object.key ?? '', version: state.event?.detail.object['version-id'] ?? '' };
}

/** Extract and check the bundle, load its convox.yml with the app's environment, record the build and plan its images. */
export async function prepareBuild(state: DeployState, ctx: DeployContext): Promise<NonNullable<DeployState['build']>> {
  const deploy = state.deploy;
  if (!deploy) throw new SlipwayError('the deploy has not been admitted', 'DEPLOY_STATE_INVALID');
  await ctx.store.renewLock(lease(state), state.config.leaseSeconds * 1000);
  const dir = join(ctx.workDir, state.execution);
  await rm(dir, { recursive: true, force: true });
  await mkdir(ctx.workDir, { recursive: true });
  const env = await ctx.env.current(deploy.app);
  let manifest: Manifest;
  let plan: BuildPlan;
  let text: string;
  try {
    await extractBundle(await ctx.bundles.open(deploy.bundle.key, deploy.bundle.version), dir, ctx.bundleLimits);
    text = await readFile(join(dir, 'convox.yml'), 'utf8');
    const loaded = loadManifest(text, { env: env.values, file: 'convox.yml' });
    assertValid(loaded);
    manifest = loaded.manifest;
    const schedules = ctx.scheduler.problems(manifest.timers.map((t) => ({ name: t.name, schedule: t.schedule })));
    if (schedules.length > 0) throw new ScheduleRejectedError(schedules);
    plan = await planBuilds({ app: deploy.app, bundleDir: dir, manifest }, ctx.store);
  } catch (e) {
    if (!(e instanceof BundleRejectedError || e instanceof ManifestError || e instanceof BuildContextError || e instanceof ScheduleRejectedError)) throw e;
    const reason = e instanceof ManifestError ? `convox.yml: ${e.convoxMessage}` : e.message;
    await emit(ctx, 'Bundle Rejected', state, { bundle: bundleRef(state), reason }, Object.values(env.values));
    // The error's text lands in the execution's history: it is redacted like the event.
    throw new DeployStepError('BundleRejected', redact(reason, Object.values(env.values)));
  }
  const id = newBuildId();
  const hashOf = serviceBuildHashes(manifest);
  const images: ServiceImage[] = [
    ...plan.reused.map((r) => ({ service: r.service, image: r.image, contextHash: r.contextHash, buildHash: hashOf(r.service), reused: true })),
    ...plan.pulled.map((p) => ({ service: p.service, image: p.image, contextHash: '', buildHash: hashOf(p.service), reused: false })),
  ];
  await ctx.store.putBuild({ id, app: deploy.app, bundle: deploy.bundle, manifest: text, images, status: 'running', createdAt: new Date(ctx.clock.now()).toISOString() });
  for (const r of plan.reused) await emit(ctx, 'Build Reused', state, { build: id, service: r.service, reason: `build context unchanged since build ${r.fromBuild}` });
  return { id, units: plan.builds, images, envVersion: env.version, dir };
}

/** Convox's build hash of each service (what decides that services share one image). */
function serviceBuildHashes(manifest: Manifest): (service: string) => string {
  const hashes = new Map(manifest.services.map((s) => [s.name, buildHash(s, '')]));
  return (service) => hashes.get(service) ?? '';
}

/** One Map iteration: start the build of one unit. */
export async function startBuild(item: { app: string; build: BuildId; unit: BuildUnit; dir: string; bundle: BundleObject; execution: string }, ctx: DeployContext): Promise<{ ref: string; startedAt: number }> {
  const { ref } = await ctx.builder.start({ app: item.app, build: item.build, unit: item.unit, bundle: item.bundle, bundleDir: item.dir });
  for (const service of item.unit.services) await ctx.events.emit('Build Started', { app: item.app, build: item.build, service, execution: item.execution });
  return { ref, startedAt: ctx.clock.now() };
}

/** One Map iteration: poll a build; a failed build fails the iteration (and the deploy). */
export async function buildStatus(
  item: { app: string; build: BuildId; unit: BuildUnit; execution: string; started: { ref: string; startedAt: number } },
  ctx: DeployContext,
): Promise<{ state: 'running' } | { state: 'succeeded'; images: ServiceImage[] }> {
  const status = await ctx.builder.status(item.started.ref);
  const durationMs = ctx.clock.now() - item.started.startedAt;
  if (status.state === 'running') return { state: 'running' };
  if (status.state === 'failed') {
    const secrets = Object.values((await ctx.env.current(item.app)).values);
    for (const service of item.unit.services) await ctx.events.emit('Build Failed', { app: item.app, build: item.build, service, execution: item.execution, durationMs, reason: status.reason }, secrets);
    throw new DeployStepError('BuildFailed', redact(`the build of ${item.unit.services.join(', ')} failed: ${status.reason}`, secrets), { build: item.build });
  }
  for (const service of item.unit.services) await ctx.events.emit('Build Succeeded', { app: item.app, build: item.build, service, execution: item.execution, durationMs });
  return {
    state: 'succeeded',
    // The build hash is filled in when the release is created, from the manifest.
    images: item.unit.services.map((service) => ({ service, image: status.image, contextHash: item.unit.contextHash, buildHash: '', reused: false })),
  };
}

/** Record the build's images and create the release: this build with the app's current environment. */
export async function createRelease(state: DeployState, ctx: DeployContext): Promise<NonNullable<DeployState['release']>> {
  const build = state.build;
  if (!build) throw new SlipwayError('no build to release', 'DEPLOY_STATE_INVALID');
  const name = app(state);
  const record = await ctx.store.getBuild(name, build.id);
  if (!record) throw new SlipwayError(`build ${build.id} not found`, 'NOT_FOUND', { app: name, build: build.id });
  const hashOf = serviceBuildHashes(loadManifest(record.manifest, { env: await ctx.env.get(name, build.envVersion) }).manifest);
  const images = [...build.images, ...(state.built ?? []).flat().map((i) => ({ ...i, buildHash: hashOf(i.service) }))];
  await ctx.store.updateBuild(name, build.id, (b) => ({ ...b, images, status: 'complete', endedAt: new Date(ctx.clock.now()).toISOString() }));
  const id = newReleaseId();
  const description = state.deploy?.description ? `${describeRelease.build(build.id)} ${state.deploy.description}` : describeRelease.build(build.id);
  await ctx.store.putRelease({ id, app: name, build: build.id, envVersion: build.envVersion, description, createdAt: new Date(ctx.clock.now()).toISOString() });
  await emit(ctx, 'Release Created', state, { build: build.id, release: id });
  const previous = (await ctx.store.requireApp(name)).release;
  return previous ? { id, previous } : { id };
}

/** A release's manifest (loaded with the release's environment, as Convox does at promote), images and environment. */
export async function loadRelease(
  ctx: DeployContext,
  app: string,
  release: ReleaseId,
): Promise<{ release: Release; manifest: Manifest; text: string; images: ServiceImage[]; env: Readonly<Record<string, string>> }> {
  const r = await ctx.store.getRelease(app, release);
  if (!r) throw new SlipwayError(`release ${release} not found`, 'NOT_FOUND', { app, release });
  const build = await ctx.store.getBuild(app, r.build);
  if (!build) throw new SlipwayError(`build ${r.build} of release ${release} not found`, 'NOT_FOUND', { app, release });
  const env = await ctx.env.get(app, r.envVersion);
  return { release: r, manifest: loadManifest(build.manifest, { env }).manifest, text: build.manifest, images: [...build.images], env };
}

/**
 * What the runtime needs to roll a release out: the release as loadRelease reads it, with the
 * app's `slipway scale` sizes. Those belong to the app, not the release, so whichever release is
 * applied (a deploy, a rollback) runs at them.
 */
export async function releaseApplyRequest(ctx: DeployContext, app: string, release: ReleaseId): Promise<ApplyRequest> {
  const { release: r, text, images, env } = await loadRelease(ctx, app, release);
  const scale = (await ctx.store.getApp(app))?.scale;
  return { app, release: r, manifest: text, images, env, ...(scale ? { scale } : {}) };
}

function releaseManifest(state: DeployState, ctx: DeployContext, release: ReleaseId): ReturnType<typeof loadRelease> {
  return loadRelease(ctx, app(state), release);
}

/** Bring the app's timer schedules in line with a release that now serves. */
export async function reconcileTimers(ctx: DeployContext, app: string, release: ReleaseId): Promise<void> {
  const { manifest } = await loadRelease(ctx, app, release);
  await ctx.scheduler.reconcile(app, manifest.timers.map((t) => ({ name: t.name, schedule: t.schedule })));
}

/** Create or update the app's resources; `ready: false` sends the machine around its wait loop. */
export async function provision(state: DeployState, ctx: DeployContext): Promise<NonNullable<DeployState['provision']>> {
  await ctx.store.renewLock(lease(state), state.config.leaseSeconds * 1000);
  const release = state.release?.id;
  if (!release) throw new SlipwayError('no release to provision for', 'DEPLOY_STATE_INVALID');
  const { manifest, env } = await releaseManifest(state, ctx, release);
  try {
    const result = await ctx.provisioner.ensure(app(state), manifest.resources, env);
    if (result.ready) await emit(ctx, 'Resources Provisioned', state, { release, counts: { resources: manifest.resources.length } });
    return { ready: result.ready, waitingOn: [...result.waitingOn] };
  } catch (e) {
    const secrets = await secretsOf(ctx, state);
    const reason = redact((e as Error).message, secrets);
    await emit(ctx, 'Resource Provisioning Failed', state, { release, reason }, secrets);
    throw new DeployStepError('ProvisionFailed', reason);
  }
}

/** Start rolling the new release out. From here on, a failure rolls back. */
export async function apply(state: DeployState, ctx: DeployContext): Promise<NonNullable<DeployState['rollout']>> {
  await ctx.store.renewLock(lease(state), state.config.leaseSeconds * 1000);
  const release = state.release;
  if (!release) throw new SlipwayError('no release to apply', 'DEPLOY_STATE_INVALID');
  await ctx.runtime.apply(await releaseApplyRequest(ctx, app(state), release.id));
  await emit(ctx, 'Rollout Started', state, { release: release.id, ...(release.previous ? { previousRelease: release.previous } : {}) });
  return { startedAt: ctx.clock.now() };
}

/** Poll the rollout; it fails fast on what the runtime reports, or when the progress deadline passes. */
export async function rolloutStatus(state: DeployState, ctx: DeployContext): Promise<NonNullable<DeployState['rollout']>> {
  const rollout = state.rollout;
  const release = state.release?.id;
  if (!rollout || !release) throw new SlipwayError('no rollout to follow', 'DEPLOY_STATE_INVALID');
  await ctx.store.renewLock(lease(state), state.config.leaseSeconds * 1000);
  const status = await ctx.runtime.rolloutStatus(app(state), release);
  const elapsed = ctx.clock.now() - rollout.startedAt;
  let failure: string | undefined;
  // The service to blame, so that the event (and the CLI's report of its last log lines) can name it.
  let failing: string | undefined;
  if (status.state === 'failed') {
    failure = status.service ? `${status.service}: ${status.reason}` : status.reason;
    failing = status.service;
  }
  else if (status.state === 'progressing') {
    const { manifest } = await releaseManifest(state, ctx, release);
    const deadlineOf = (service: string): number => {
      const label = Number(manifest.services.find((s) => s.name === service)?.labels?.[PROGRESS_DEADLINE_LABEL]);
      return Number.isFinite(label) && label > 0 ? label : state.config.progressDeadlineSeconds;
    };
    const late = status.services.filter((s) => s.ready < s.desired && elapsed > deadlineOf(s.name) * 1000);
    if (late.length > 0) {
      failure = `the rollout missed its progress deadline (${late.map((s) => `${s.name}: ${s.ready}/${s.desired} ready after ${deadlineOf(s.name)}s${s.waitingOn ? `, ${s.waitingOn}` : ''}`).join('; ')})`;
      failing = late[0]?.name;
    }
  }
  if (failure !== undefined) {
    await emit(ctx, 'Rollout Failed', state, { release, ...(failing ? { service: failing } : {}), durationMs: elapsed, reason: failure }, await secretsOf(ctx, state));
    return { ...rollout, state: 'failed', reason: `Rollout Failed: ${failure}` };
  }
  return { ...rollout, state: status.state };
}

/**
 * Health gates: every routable service answers its health path, and over the bake period no
 * process restarts. Returns `baking` until the bake period is over.
 */
export async function healthGate(state: DeployState, ctx: DeployContext): Promise<NonNullable<DeployState['gate']>> {
  const release = state.release?.id;
  if (!release) throw new SlipwayError('no release to gate', 'DEPLOY_STATE_INVALID');
  await ctx.store.renewLock(lease(state), state.config.leaseSeconds * 1000);
  const now = ctx.clock.now();
  const { manifest } = await releaseManifest(state, ctx, release);
  const status = await ctx.runtime.rolloutStatus(app(state), release);
  const restarts = Object.fromEntries(status.services.map((s) => [s.name, s.restarts]));
  const started = state.gate ?? { status: 'baking' as const, startedAt: now, restarts };
  const fail = async (service: string, reason: string): Promise<NonNullable<DeployState['gate']>> => {
    await emit(ctx, 'Health Gate Failed', state, { release, service, reason }, await secretsOf(ctx, state));
    return { ...started, status: 'failed', reason: `Health Gate Failed: ${service}: ${reason}` };
  };
  for (const [service, count] of Object.entries(restarts)) {
    const before = started.restarts[service] ?? 0;
    if (count > before) return fail(service, `restarted ${count - before} time${count - before === 1 ? '' : 's'} during the bake period`);
  }
  for (const s of manifest.services) {
    if (!s.port || s.health.disable || s.agent.enabled) continue;
    const probe = await ctx.runtime.probe(app(state), release, s.name);
    if (!probe.ok) return fail(s.name, `${s.health.path}: ${probe.detail}`);
  }
  const firing = state.config.alarmNames?.length ? await ctx.alarms.firing(state.config.alarmNames) : [];
  if (firing.length > 0) {
    await emit(ctx, 'Health Gate Failed', state, { release, reason: `alarm${firing.length > 1 ? 's' : ''} in ALARM: ${firing.join(', ')}` });
    return { ...started, status: 'failed', reason: `Health Gate Failed: alarm${firing.length > 1 ? 's' : ''} ${firing.join(', ')} in ALARM` };
  }
  if (now - started.startedAt < state.config.bakeSeconds * 1000) return { ...started, status: 'baking' };
  await emit(ctx, 'Health Gate Passed', state, { release, durationMs: now - started.startedAt, counts: { services: manifest.services.length } });
  return { ...started, status: 'passed' };
}

/**
 * The services a promotion gave a new image: every one on a first release, else those whose image
 * differs from the previous release's (what "deploys per service" counts).
 */
async function changedServices(ctx: DeployContext, app: string, release: ReleaseId, previous: ReleaseId | undefined): Promise<string[]> {
  const imagesOf = async (id: ReleaseId): Promise<ServiceImage[]> => {
    const r = await ctx.store.getRelease(app, id);
    const build = r ? await ctx.store.getBuild(app, r.build) : undefined;
    return build ? [...build.images] : [];
  };
  const current = await imagesOf(release);
  const before = new Map((previous ? await imagesOf(previous) : []).map((i) => [i.service, i.image]));
  return current.filter((i) => before.get(i.service) !== i.image).map((i) => i.service).sort();
}

/** Make the new release the app's current one, bring its timers' schedules in line, and let the next deploy go. */
export async function promote(state: DeployState, ctx: DeployContext): Promise<{ promoted: ReleaseId }> {
  const release = state.release;
  if (!release) throw new SlipwayError('no release to promote', 'DEPLOY_STATE_INVALID');
  // The timers first: the store's promotion is the commit, so it must be the last thing that can
  // fail. A failure here rolls back, and the rollback puts the previous release's timers back.
  await reconcileTimers(ctx, app(state), release.id);
  try {
    await ctx.store.promote(lease(state), release.id);
  } catch (e) {
    if (e instanceof LockLostError) throw new DeployStepError('LockLost', e.message);
    throw e;
  }
  const services = await changedServices(ctx, app(state), release.id, release.previous);
  await emit(ctx, 'Deployment Succeeded', state, {
    release: release.id,
    ...(release.previous ? { previousRelease: release.previous } : {}),
    services,
    ...(state.build ? { build: state.build.id } : {}),
    ...(state.rollout ? { durationMs: ctx.clock.now() - state.rollout.startedAt } : {}),
  });
  await finish(state, ctx);
  return { promoted: release.id };
}

/**
 * After the rollout began, a failure rolls the previous release back in (or takes the app away
 * when it had none), unless the upload turned automatic rollback off.
 */
export async function rollBack(state: DeployState, ctx: DeployContext): Promise<{ rolledBackTo?: ReleaseId; skipped?: boolean }> {
  const name = app(state);
  const reason = state.rollout?.state === 'failed' ? (state.rollout.reason ?? 'the rollout failed') : (state.gate?.reason ?? failureMessage(state.failure) ?? 'the deploy failed');
  const release = state.release;
  if (!state.deploy?.autoRollback) {
    await emit(ctx, 'Deployment Failed', state, { ...(release ? { release: release.id } : {}), reason: `${reason}; automatic rollback is off for this upload, so the failed release stays applied` }, await secretsOf(ctx, state));
    await finish(state, ctx);
    return { skipped: true };
  }
  const previous = release?.previous;
  if (previous) {
    await ctx.runtime.apply(await releaseApplyRequest(ctx, name, previous));
    // Promote may have scheduled the failed release's timers before its commit failed.
    await reconcileTimers(ctx, name, previous);
  } else {
    await ctx.runtime.remove(name);
    await ctx.scheduler.reconcile(name, []);
  }
  await emit(ctx, 'Deployment Rolled Back', state, { ...(release ? { release: release.id } : {}), ...(previous ? { previousRelease: previous } : {}), reason }, await secretsOf(ctx, state));
  await finish(state, ctx);
  return previous ? { rolledBackTo: previous } : {};
}

/** A deploy that failed before its rollout: nothing changed; say why and let the next deploy go. */
export async function deployFailed(state: DeployState, ctx: DeployContext): Promise<{ failed: true }> {
  const error = state.failure;
  const message = failureMessage(error) ?? 'failed';
  if (error && error.Error !== 'BundleRejected' && error.Error !== 'BuildFailed' && error.Error !== 'ProvisionFailed') {
    await emit(ctx, 'Deployment Failed', state, { reason: message }, await secretsOf(ctx, state));
  }
  if (state.build) await ctx.store.updateBuild(app(state), state.build.id, (b) => ({ ...b, status: 'failed', reason: message })).catch(() => undefined);
  await finish(state, ctx);
  return { failed: true };
}

/**
 * A build-only upload (`slipway build`, metadata `promote: false`) ends here once its release is
 * created: the release stays unpromoted (the app's current release is unchanged) and the next
 * deploy of the app may go.
 */
export async function finishBuild(state: DeployState, ctx: DeployContext): Promise<{ release: ReleaseId }> {
  const release = state.release?.id;
  if (!release) throw new SlipwayError('no release was created for the build', 'DEPLOY_STATE_INVALID');
  await finish(state, ctx);
  return { release };
}

async function finish(state: DeployState, ctx: DeployContext): Promise<void> {
  if (state.lock?.lease) await ctx.store.releaseLock(state.lock.lease);
  if (state.deploy) await ctx.store.dequeueDeploy(state.deploy.app, state.execution);
  await rm(join(ctx.workDir, state.execution), { recursive: true, force: true });
}

/** The deploy steps by the name the machine's Task states call them. */
export const DEPLOY_STEPS = {
  admit,
  acquireLock,
  prepareBuild,
  startBuild,
  buildStatus,
  createRelease,
  finishBuild,
  provision,
  apply,
  rolloutStatus,
  healthGate,
  promote,
  rollBack,
  deployFailed,
} as const;
