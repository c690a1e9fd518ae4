/**
 * Apps, builds and releases, and each app's deploy lock: the one piece of state every pipeline
 * step shares. The logic lives here; an adapter only stores versioned records (RecordTable).
 *
 * The deploy lock is a lease in the app's own record: it expires, so a crashed deploy never
 * wedges an app, and every acquisition issues a larger fencing token. Changing what an app
 * serves is a compare-and-set on that same record that also checks the token, so a deploy that
 * lost its lease (it stalled past expiry and another deploy took over) can no longer promote
 * anything.
 */
import { SlipwayError } from '../../errors';
import type { BuildId, ReleaseId } from '../domain/ids';
import type { App, AppPin, Build, Release, ScaleOverride } from '../domain/model';
import type { RecordKey, RecordTable, StoredRecord } from '../ports/record-table';

export interface Lease {
  readonly app: string;
  /** Who holds it, e.g. the Step Functions execution name. */
  readonly owner: string;
  /** Fencing token: larger for every new holder. */
  readonly token: number;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

interface LockState {
  readonly owner: string | null;
  readonly token: number;
  readonly expiresAt: number;
}

/** A deploy waiting for its app; the newest upload (highest `order`) is the one that will run. */
export interface QueuedDeploy {
  readonly execution: string;
  /** Sorts uploads in the order they were made (event time, then S3's sequencer). */
  readonly order: string;
  readonly queuedAt: string;
  /** When the waiting deploy last checked in; a deploy that stopped stops checking in. */
  readonly seenAt: string;
}

/** The app record as stored: the app, its release history, its lock and its deploy queue. */
interface AppRecord extends App {
  /** Releases promoted, newest first (the current one first). */
  readonly history: readonly ReleaseId[];
  readonly lock: LockState;
  readonly queue?: readonly QueuedDeploy[];
  /**
   * The order of the newest upload ever queued for the app. A deploy leaves the queue when it
   * takes the lock, so an older one still waiting must compare against this, not the queue alone.
   */
  readonly newestUpload?: string;
}

export class NotFoundError extends SlipwayError {
  constructor(kind: 'app' | 'build' | 'release', id: string, app?: string) {
    super(`${kind} not found: ${id}${app && kind !== 'app' ? ` (app ${app})` : ''}`, 'NOT_FOUND', { kind, id, ...(app ? { app } : {}) });
  }
}

export class ConflictError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown>) {
    super(message, 'CONFLICT', context);
  }
}

/** The caller's lease is no longer the app's lock: another deploy holds it, or it expired. */
export class LockLostError extends SlipwayError {
  constructor(lease: Lease, reason: string) {
    super(`the deploy lock of app ${lease.app} is no longer held by ${lease.owner}: ${reason}`, 'LOCK_LOST', { app: lease.app, owner: lease.owner, token: lease.token });
  }
}

/** How many promoted releases an app record remembers (rollbacks go further back through listReleases). */
const HISTORY = 50;
/** Attempts of a compare-and-set loop before reporting contention. */
const CAS_ATTEMPTS = 20;

const appKey = (name: string): RecordKey => ({ partition: 'apps', sort: name });
const buildKey = (app: string, id: string): RecordKey => ({ partition: `app#${app}`, sort: `build#${id}` });
const releaseKey = (app: string, id: string): RecordKey => ({ partition: `app#${app}`, sort: `release#${id}` });

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class ReleaseStore {
  constructor(
    private readonly table: RecordTable,
    private readonly clock: Clock = systemClock,
  ) {}

  // Apps

  async createApp(name: string): Promise<App> {
    const record: AppRecord = { name, createdAt: new Date(this.clock.now()).toISOString(), history: [], lock: { owner: null, token: 0, expiresAt: 0 } };
    const stored = await this.table.put(appKey(name), record, undefined);
    if (!stored) throw new ConflictError(`app ${name} already exists`, { app: name });
    return toApp(record);
  }

  async getApp(name: string): Promise<App | undefined> {
    const r = await this.table.get<AppRecord>(appKey(name));
    return r ? toApp(r.value) : undefined;
  }

  async requireApp(name: string): Promise<App> {
    const app = await this.getApp(name);
    if (!app) throw new NotFoundError('app', name);
    return app;
  }

  async listApps(): Promise<App[]> {
    return (await this.table.query<AppRecord>('apps', '')).map((r) => toApp(r.value));
  }

  /** Promoted releases, newest first (the current release first). */
  async releaseHistory(app: string): Promise<ReleaseId[]> {
    const r = await this.table.get<AppRecord>(appKey(app));
    if (!r) throw new NotFoundError('app', app);
    return [...r.value.history];
  }

  // The deploy lock

  /** Take the app's lock for `ttlMs`, or undefined while someone else holds an unexpired lease. */
  async acquireLock(app: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const r = await this.table.get<AppRecord>(appKey(app));
      if (!r) throw new NotFoundError('app', app);
      const now = this.clock.now();
      const lock = r.value.lock;
      if (lock.owner !== null && lock.owner !== owner && lock.expiresAt > now) return undefined;
      const next: LockState = { owner, token: lock.token + 1, expiresAt: now + ttlMs };
      if (await this.table.put(appKey(app), { ...r.value, lock: next }, r.version)) return { app, owner, token: next.token, expiresAt: next.expiresAt };
    }
    throw new ConflictError(`too much contention on the lock of app ${app}`, { app });
  }

  /** Extend a lease the caller still holds. */
  async renewLock(lease: Lease, ttlMs: number): Promise<Lease> {
    return this.updateLocked(lease, (record, now) => {
      const next = { ...lease, expiresAt: now + ttlMs };
      return [{ ...record, lock: { owner: lease.owner, token: lease.token, expiresAt: next.expiresAt } }, next];
    });
  }

  /**
   * Take the lock over from `from`, an execution the caller has already stopped (`apps cancel`):
   * in one write, so no queued deploy can slip in between. Also drops `from` from the deploy
   * queue. Undefined when `from` does not hold the lock (then the caller waits as usual).
   */
  async takeOverLock(app: string, from: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    return this.updateApp(app, (record) => {
      const queue = (record.queue ?? []).filter((q) => q.execution !== from);
      const dequeued = queue.length === (record.queue ?? []).length ? record : { ...record, queue };
      if (record.lock.owner !== from) return [dequeued, undefined];
      const now = this.clock.now();
      const lock: LockState = { owner, token: record.lock.token + 1, expiresAt: now + ttlMs };
      return [{ ...dequeued, lock }, { app, owner, token: lock.token, expiresAt: lock.expiresAt }];
    });
  }

  /** Give the lock back; a lease that was already lost is a no-op. */
  async releaseLock(lease: Lease): Promise<void> {
    try {
      await this.updateLocked(lease, (record) => [{ ...record, lock: { owner: null, token: lease.token, expiresAt: 0 } }, undefined], { allowExpired: true });
    } catch (e) {
      if (!(e instanceof LockLostError)) throw e;
    }
  }

  /**
   * Clear a lock whose lease ran out (a deploy that stopped without releasing it). Returns the
   * expired lease, or undefined when the lock is free or still valid.
   */
  async expireLock(app: string): Promise<Lease | undefined> {
    return this.updateApp(app, (record) => {
      const { owner, token, expiresAt } = record.lock;
      if (owner === null || expiresAt > this.clock.now()) return [record, undefined];
      return [{ ...record, lock: { owner: null, token, expiresAt: 0 } }, { app, owner, token, expiresAt }];
    });
  }

  /** The current state of an app's lock (for status displays and cleanup). */
  async lockOf(app: string): Promise<Lease | undefined> {
    const r = await this.table.get<AppRecord>(appKey(app));
    if (!r) throw new NotFoundError('app', app);
    const { owner, token, expiresAt } = r.value.lock;
    return owner === null ? undefined : { app, owner, token, expiresAt };
  }

  // The deploy queue: uploads arrive while a deploy runs; only the newest waiting one runs next.

  /** Queue a deploy (idempotent for an execution) and remember it if it is the newest upload yet; returns its entry. */
  async enqueueDeploy(app: string, execution: string, order: string): Promise<QueuedDeploy> {
    return this.updateApp(app, (record) => {
      const existing = (record.queue ?? []).find((q) => q.execution === execution);
      if (existing) return [record, existing];
      const now = new Date(this.clock.now()).toISOString();
      const entry: QueuedDeploy = { execution, order, queuedAt: now, seenAt: now };
      const newestUpload = record.newestUpload !== undefined && record.newestUpload > order ? record.newestUpload : order;
      return [{ ...record, queue: [...(record.queue ?? []), entry], newestUpload }, entry];
    });
  }

  async deployQueue(app: string): Promise<QueuedDeploy[]> {
    return (await this.deployQueueState(app)).queue;
  }

  /**
   * The waiting deploys and the order of the newest upload ever queued (which may have left the
   * queue: it runs or ran), read together, for a waiting deploy to tell whether it is stale.
   */
  async deployQueueState(app: string): Promise<{ queue: QueuedDeploy[]; newestUpload?: string }> {
    const r = await this.table.get<AppRecord>(appKey(app));
    if (!r) throw new NotFoundError('app', app);
    return { queue: [...(r.value.queue ?? [])], ...(r.value.newestUpload !== undefined ? { newestUpload: r.value.newestUpload } : {}) };
  }

  /** A waiting deploy checks in on every try for the lock. */
  async touchDeploy(app: string, execution: string): Promise<void> {
    const now = new Date(this.clock.now()).toISOString();
    await this.updateApp(app, (record) => [{ ...record, queue: (record.queue ?? []).map((q) => (q.execution === execution ? { ...q, seenAt: now } : q)) }, undefined]);
  }

  /** Drop queue entries not seen since `before` (epoch ms): deploys that stopped while they waited. */
  async pruneDeployQueue(app: string, before: number): Promise<number> {
    return this.updateApp(app, (record) => {
      const queue = record.queue ?? [];
      const kept = queue.filter((q) => Date.parse(q.seenAt ?? q.queuedAt) >= before);
      return kept.length === queue.length ? [record, 0] : [{ ...record, queue: kept }, queue.length - kept.length];
    });
  }

  async dequeueDeploy(app: string, execution: string): Promise<void> {
    await this.updateApp(app, (record) => [{ ...record, queue: (record.queue ?? []).filter((q) => q.execution !== execution) }, undefined]);
  }

  // Builds and releases

  async putBuild(build: Build): Promise<void> {
    if (!(await this.table.put(buildKey(build.app, build.id), build, undefined))) throw new ConflictError(`build ${build.id} already exists`, { app: build.app, build: build.id });
  }

  async updateBuild(app: string, id: BuildId, change: (b: Build) => Build): Promise<Build> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const r = await this.table.get<Build>(buildKey(app, id));
      if (!r) throw new NotFoundError('build', id, app);
      const next = change(r.value);
      if (await this.table.put(buildKey(app, id), next, r.version)) return next;
    }
    throw new ConflictError(`too much contention on build ${id}`, { app, build: id });
  }

  async getBuild(app: string, id: BuildId): Promise<Build | undefined> {
    return (await this.table.get<Build>(buildKey(app, id)))?.value;
  }

  async listBuilds(app: string): Promise<Build[]> {
    return newestFirst((await this.table.query<Build>(`app#${app}`, 'build#')).map((r) => r.value));
  }

  /** Releases are immutable: a release id is written once. */
  async putRelease(release: Release): Promise<void> {
    if (!(await this.table.put(releaseKey(release.app, release.id), release, undefined))) {
      throw new ConflictError(`release ${release.id} already exists`, { app: release.app, release: release.id });
    }
  }

  async getRelease(app: string, id: ReleaseId): Promise<Release | undefined> {
    return (await this.table.get<Release>(releaseKey(app, id)))?.value;
  }

  async listReleases(app: string): Promise<Release[]> {
    return newestFirst((await this.table.query<Release>(`app#${app}`, 'release#')).map((r) => r.value));
  }

  /** Make `release` the app's current release; only the holder of the app's lock may. */
  async promote(lease: Lease, release: ReleaseId): Promise<App> {
    if (!(await this.getRelease(lease.app, release))) throw new NotFoundError('release', release, lease.app);
    return this.updateLocked(lease, (record) => {
      const history = [release, ...record.history.filter((r) => r !== release)].slice(0, HISTORY);
      const next: AppRecord = { ...record, release, history };
      return [next, toApp(next)];
    });
  }

  /** Pin the app to its current release (a console rollback); uploads wait until it is unpinned. */
  async pin(lease: Lease, pin: Omit<AppPin, 'at'>): Promise<App> {
    return this.updateLocked(lease, (record, now) => {
      const next: AppRecord = { ...record, pin: { ...pin, at: new Date(now).toISOString() } };
      return [next, toApp(next)];
    });
  }

  /** Unpinning needs no lock: it only lets waiting uploads proceed. */
  async unpin(app: string): Promise<App> {
    return this.updateApp(app, (record) => {
      const { pin: _pin, ...rest } = record;
      return [rest, toApp(rest)];
    });
  }

  /**
   * Merge `override` into the service's `slipway scale` sizes (fields it leaves out stay as they
   * were); only the holder of the app's lock may, since the next rollout reads them.
   */
  async setScale(lease: Lease, service: string, override: ScaleOverride): Promise<App> {
    return this.updateLocked(lease, (record) => {
      const next: AppRecord = { ...record, scale: { ...record.scale, [service]: { ...record.scale?.[service], ...override } } };
      return [next, toApp(next)];
    });
  }

  /** Put a service's sizes back exactly as they were (undefined: none), e.g. after a failed `scale`. */
  async restoreScale(lease: Lease, service: string, previous: ScaleOverride | undefined): Promise<App> {
    return this.updateLocked(lease, (record) => {
      const { [service]: _dropped, ...others } = record.scale ?? {};
      const scale = previous ? { ...others, [service]: previous } : others;
      const { scale: _scale, ...rest } = record;
      const next: AppRecord = Object.keys(scale).length > 0 ? { ...rest, scale } : rest;
      return [next, toApp(next)];
    });
  }

  /**
   * Delete the app: its record (with its lock and deploy queue), then its builds and releases.
   * The caller must hold the app's lock, so no deploy starts meanwhile; the record goes first,
   * in one conditional write, after which no deploy can take the app. Running it again after a
   * crash finishes the job: builds and releases of an app without a record are deleted too.
   */
  async deleteApp(lease: Lease | undefined, app: string): Promise<{ builds: number; releases: number }> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const r = await this.table.get<AppRecord>(appKey(app));
      if (!r) break;
      if (!lease) throw new LockLostError({ app, owner: 'nobody', token: 0, expiresAt: 0 }, 'deleting an app needs its lock');
      const lock = r.value.lock;
      if (lock.token !== lease.token || lock.owner !== lease.owner) throw new LockLostError(lease, `it is held by ${lock.owner ?? 'nobody'} with token ${lock.token}`);
      if (lock.expiresAt <= this.clock.now()) throw new LockLostError(lease, 'the lease expired');
      if (await this.table.delete(appKey(app), r.version)) break;
      if (attempt === CAS_ATTEMPTS - 1) throw new ConflictError(`too much contention on app ${app}`, { app });
    }
    const remove = async (prefix: string): Promise<number> => {
      let n = 0;
      for (const record of await this.table.query(`app#${app}`, prefix)) if (await this.table.delete(record.key, record.version)) n++;
      return n;
    };
    return { builds: await remove('build#'), releases: await remove('release#') };
  }

  /** Apply `change` to the app record with compare-and-set, retrying on contention. */
  private async updateApp<T>(app: string, change: (record: AppRecord) => [AppRecord, T]): Promise<T> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const r = await this.table.get<AppRecord>(appKey(app));
      if (!r) throw new NotFoundError('app', app);
      const [next, result] = change(r.value);
      if (next === r.value || (await this.table.put(appKey(app), next, r.version))) return result;
    }
    throw new ConflictError(`too much contention on app ${app}`, { app });
  }

  async deleteRelease(app: string, id: ReleaseId): Promise<void> {
    const r = await this.table.get(releaseKey(app, id));
    if (r) await this.table.delete(releaseKey(app, id), r.version);
  }

  async deleteBuild(app: string, id: BuildId): Promise<void> {
    const r = await this.table.get(buildKey(app, id));
    if (r) await this.table.delete(buildKey(app, id), r.version);
  }

  /**
   * Apply `change` to the app record if `lease` is still the app's lock, atomically: the write is
   * conditional on the record version the check was made against.
   */
  private async updateLocked<T>(lease: Lease, change: (record: AppRecord, now: number) => [AppRecord, T], options: { allowExpired?: boolean } = {}): Promise<T> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const r: StoredRecord<AppRecord> | undefined = await this.table.get<AppRecord>(appKey(lease.app));
      if (!r) throw new NotFoundError('app', lease.app);
      const now = this.clock.now();
      const lock = r.value.lock;
      if (lock.token !== lease.token || lock.owner !== lease.owner) throw new LockLostError(lease, `it is held by ${lock.owner ?? 'nobody'} with token ${lock.token}`);
      if (!options.allowExpired && lock.expiresAt <= now) throw new LockLostError(lease, 'the lease expired');
      const [next, result] = change(r.value, now);
      if (await this.table.put(appKey(lease.app), next, r.version)) return result;
    }
    throw new ConflictError(`too much contention on app ${lease.app}`, { app: lease.app });
  }
}

function toApp(record: App & Partial<Pick<AppRecord, 'history' | 'lock' | 'queue' | 'newestUpload'>>): App {
  const { history: _history, lock: _lock, queue: _queue, newestUpload: _newest, ...app } = record;
  return app;
}

function newestFirst<T extends { createdAt: string; id: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : b.createdAt.localeCompare(a.createdAt)));
}
