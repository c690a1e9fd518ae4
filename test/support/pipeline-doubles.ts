/**
 * Test doubles for the ports that do real work on a rack (building images, running processes,
 * creating databases). They let the Deploy machine's paths be driven deliberately; the local
 * rack's real adapters are tested against the same ports on their own.
 */
import type { Resource } from '../../lib/manifest';
import type { ReleaseId } from '../../lib/pipeline/domain/ids';
import type { AlarmMonitor, Scheduler } from '../../lib/pipeline/ports/runtime';
import type { ApplyRequest, Builder, BuildRequest, BuildState, JobRequest, JobState, Provisioner, RolloutState, Runtime, RuntimeProcess } from '../../lib/pipeline/ports/runtime';

export class BuilderDouble implements Builder {
  readonly started: BuildRequest[] = [];
  readonly deleted: string[] = [];

  deleteImages(_app: string, images: readonly string[]): Promise<void> {
    this.deleted.push(...images);
    return Promise.resolve();
  }

  private readonly polls = new Map<string, number>();
  /** Services whose build fails, with the reason. */
  failing = new Map<string, string>();

  start(request: BuildRequest): Promise<{ ref: string }> {
    this.started.push(request);
    const ref = `${request.build}:${request.unit.services.join('+')}`;
    this.polls.set(ref, 0);
    return Promise.resolve({ ref });
  }

  status(ref: string): Promise<BuildState> {
    const n = (this.polls.get(ref) ?? 0) + 1;
    this.polls.set(ref, n);
    if (n < 2) return Promise.resolve({ state: 'running' });
    const [build, services] = ref.split(':') as [string, string];
    const failing = services.split('+').find((s) => this.failing.has(s));
    if (failing) return Promise.resolve({ state: 'failed', reason: this.failing.get(failing) ?? 'failed' });
    return Promise.resolve({ state: 'succeeded', image: `local/${services.split('+')[0]}:${build}` });
  }
}

export class ProvisionerDouble implements Provisioner {
  readonly ensured: string[][] = [];
  ensure(_app: string, resources: readonly Resource[]): Promise<{ ready: boolean; waitingOn: string[] }> {
    this.ensured.push(resources.map((r) => r.name));
    return Promise.resolve({ ready: this.ensured.length % 2 === 0 || resources.length === 0, waitingOn: resources.map((r) => r.name) });
  }
}

export class RuntimeDouble implements Runtime {
  /** Releases applied, in order (what would serve after each). */
  readonly applied: ReleaseId[] = [];
  readonly envSeen: Record<string, string>[] = [];
  removed = 0;
  private readonly polls = new Map<string, number>();
  /** How a release's rollout ends: complete (default), or failed with a reason. */
  rolloutOf: (release: ReleaseId) => { fail?: string; restarts?: number; stuck?: boolean } = () => ({});
  /** Health of a service of a release. */
  healthy: (release: ReleaseId, service: string) => boolean = () => true;
  /** Called on every status poll (lets a test act mid-rollout, or hold the rollout until it says so). */
  onPoll?: (release: ReleaseId) => void | Promise<void>;

  apply(request: ApplyRequest): Promise<void> {
    this.applied.push(request.release.id);
    this.envSeen.push({ ...request.env });
    this.polls.set(request.release.id, 0);
    return Promise.resolve();
  }

  async rolloutStatus(_app: string, release: ReleaseId): Promise<RolloutState> {
    await this.onPoll?.(release);
    const n = (this.polls.get(release) ?? 0) + 1;
    this.polls.set(release, n);
    const script = this.rolloutOf(release);
    const services = [{ name: 'web', desired: 2, ready: n < 2 ? 1 : 2, restarts: n >= 3 ? (script.restarts ?? 0) : 0 }];
    if (n < 2 || script.stuck) return { state: 'progressing', services: script.stuck ? [{ ...services[0]!, ready: 1 }] : services };
    if (script.fail) return { state: 'failed', reason: script.fail, service: 'web', services };
    return { state: 'complete', services };
  }

  probe(_app: string, release: ReleaseId, service: string): Promise<{ ok: boolean; detail: string }> {
    const ok = this.healthy(release, service);
    return Promise.resolve({ ok, detail: ok ? '200 OK' : 'answered 503' });
  }

  remove(): Promise<void> {
    this.removed++;
    return Promise.resolve();
  }

  /** Jobs run, with how each ends (set `jobOutcome` before the run). */
  readonly jobs = new Map<string, { request: JobRequest; state: JobState; finishedAt?: number }>();
  jobOutcome: (request: JobRequest) => JobState = () => ({ state: 'succeeded' });
  /** Keep jobs running until released (to test overlapping runs). */
  holdJobs = false;

  runJob(request: JobRequest): Promise<{ job: string }> {
    const job = `job-${this.jobs.size + 1}`;
    this.jobs.set(job, { request, state: { state: 'running' } });
    return Promise.resolve({ job });
  }

  jobStatus(job: string): Promise<JobState> {
    const j = this.jobs.get(job);
    if (!j) return Promise.resolve({ state: 'failed', reason: 'no such job' });
    if (j.state.state === 'running' && !this.holdJobs) {
      j.state = this.jobOutcome(j.request);
      j.finishedAt = Date.now();
    }
    return Promise.resolve(j.state);
  }

  runningJobs(app: string, timer: string): Promise<string[]> {
    return Promise.resolve([...this.jobs.entries()].filter(([, j]) => j.request.app === app && j.request.timer === timer && j.state.state === 'running').map(([id]) => id));
  }

  stopJob(job: string): Promise<void> {
    const j = this.jobs.get(job);
    if (j) j.state = { state: 'failed', reason: 'stopped' };
    return Promise.resolve();
  }

  pruneJobs(app: string, finishedBefore: number): Promise<number> {
    let n = 0;
    for (const [id, j] of this.jobs) {
      if (j.request.app === app && j.state.state !== 'running' && (j.finishedAt ?? 0) < finishedBefore) {
        this.jobs.delete(id);
        n++;
      }
    }
    return Promise.resolve(n);
  }

  /** What `listProcesses` answers, by app (none by default). */
  readonly processes = new Map<string, RuntimeProcess[]>();

  listProcesses(app: string): Promise<RuntimeProcess[]> {
    return Promise.resolve(this.processes.get(app) ?? []);
  }
}

export class SchedulerDouble implements Scheduler {
  /** Each app's schedules, as reconciled last. */
  readonly schedules = new Map<string, Map<string, string>>();

  /** Schedules this rack cannot run, with why (as EventBridge refuses some cron expressions). */
  readonly refused = new Map<string, string>();

  problems(timers: readonly { name: string; schedule: string }[]): string[] {
    return timers.flatMap((t) => (this.refused.has(t.schedule) ? [`timer ${t.name}: ${this.refused.get(t.schedule) ?? ''}`] : []));
  }

  reconcile(app: string, timers: readonly { name: string; schedule: string }[]): Promise<{ created: number; updated: number; deleted: number }> {
    const current = this.schedules.get(app) ?? new Map<string, string>();
    const next = new Map(timers.map((t) => [t.name, t.schedule]));
    const created = [...next.keys()].filter((n) => !current.has(n)).length;
    const updated = [...next.entries()].filter(([n, s]) => current.has(n) && current.get(n) !== s).length;
    const deleted = [...current.keys()].filter((n) => !next.has(n)).length;
    this.schedules.set(app, next);
    return Promise.resolve({ created, updated, deleted });
  }
}

export class AlarmsDouble implements AlarmMonitor {
  readonly inAlarm = new Set<string>();
  firing(names: readonly string[]): Promise<string[]> {
    return Promise.resolve(names.filter((n) => this.inAlarm.has(n)));
  }
}
