/**
 * The local rack's Runtime: every service of a release runs as `count` host processes started
 * from its local image, each with its own PORT. A new release replaces the old one in a rolling
 * update that keeps to the service's `deployment` bounds, as a Kubernetes Deployment would;
 * readiness comes from the service's `health` check; crashed processes restart with back-off.
 * Services reach each other through a loopback proxy per service (the local stand-in for a
 * ClusterIP Service), and the router serves the public ones by host name.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import type { Server } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SlipwayError } from '../../errors';
import type { Manifest, Service } from '../../manifest';
import { environmentDefaults, loadManifest } from '../../manifest';
import type { ReleaseId } from '../../pipeline/domain/ids';
import type { ApplyRequest, JobRequest, JobState, RolloutState, Runtime, RuntimeProcess, ServiceRollout } from '../../pipeline/ports/runtime';
import type { LocalImage } from '../image';
import { hostPath, readLocalImage } from '../image';
import { freePort, LOOPBACK, splice } from '../loopback';
import { shellWords } from './shell-words';
import { signalGroup, SupervisedProcess } from './supervised-process';

/** Gives a service the variables of the resources it links (`<NAME>_URL` and friends). */
export interface ResourceLinker {
  linkEnv(app: string, serviceResources: readonly string[], env: Readonly<Record<string, string>>): Promise<Record<string, string>>;
}

export interface LogLine {
  readonly time: string;
  readonly app: string;
  readonly service: string;
  readonly release: string;
  /** The process, e.g. `web.R4FQXCMZJWA.2`, or a job's id. */
  readonly process: string;
  readonly stream: 'stdout' | 'stderr' | 'system';
  readonly text: string;
}

export interface LocalRuntimeOptions {
  readonly stateDir: string;
  /** The rack's name (`RACK` in every process's environment). */
  readonly rack: string;
  readonly resources: ResourceLinker;
  readonly onLog?: (line: LogLine) => void;
  /** How often the runtime converges processes on their targets; 200 ms by default. */
  readonly tickMs?: number;
}

/** A restart count at which a process that never became ready counts as crash looping. */
const CRASH_LOOP_RESTARTS = 3;
/** A health check's consecutive failures before a ready process is taken out of rotation (Kubernetes' default). */
const FAILURE_THRESHOLD = 3;
/** A service without a health check is ready once it has run this long. */
const NO_CHECK_READY_MS = 1_000;
/** Host variables a process inherits; everything else of the rack's environment stays out. */
const INHERITED = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR', 'SYSTEMROOT'];

interface Replica {
  readonly service: string;
  readonly release: ReleaseId;
  readonly index: number;
  port?: number;
  /** Set once its port is chosen, a moment after the replica is planned. */
  process?: SupervisedProcess;
  ready: boolean;
  failures: number;
  terminating: boolean;
  /** The last health check's answer while not ready, for rollout status. */
  lastCheck?: string;
  nextCheckAt: number;
  checking: boolean;
}

interface ServiceTarget {
  readonly release: ReleaseId;
  readonly service: Service;
  count: number;
  /** Where the count came from: a live count outlives redeploys, an override's only while the override stands. */
  countFrom: 'manifest' | 'override' | 'live';
  /**
   * Millicores and MiB, from `slipway scale` or convox.yml. Recorded and reported only: host
   * processes run unconstrained on the local rack (no cgroup limits), unlike pods on a cluster.
   */
  readonly cpu: number;
  readonly memory: number;
  readonly image?: LocalImage;
  readonly imageError?: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

interface AppState {
  release?: ReleaseId;
  manifests: Map<ReleaseId, { manifest: Manifest; env: Readonly<Record<string, string>> }>;
  targets: Map<string, ServiceTarget>;
  replicas: Map<string, Replica[]>;
  internal: Map<string, { port: number; server: Server }>;
  next: Map<string, number>;
}

interface Job {
  readonly id: string;
  readonly app: string;
  readonly timer?: string;
  readonly processes: SupervisedProcess[];
  finishedAt?: number;
}

/** One service's size on the local rack (`slipway scale`). */
export interface LocalServiceSize {
  readonly service: string;
  readonly desired: number;
  readonly running: number;
  /** Millicores; recorded, not enforced on the local rack. */
  readonly cpu: number;
  /** MiB; recorded, not enforced on the local rack. */
  readonly memory: number;
}

export class RuntimeError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super(message, 'LOCAL_RUNTIME', context);
  }
}

export class LocalRuntime implements Runtime {
  private readonly apps = new Map<string, AppState>();
  private readonly jobs = new Map<string, Job>();
  private readonly pids = new Set<number>();
  private tick?: NodeJS.Timeout;
  private jobCounter = 0;
  private pidWrites: Promise<void> = Promise.resolve();
  /**
   * Ports handed to replicas and internal proxies and not given back yet. A replica's process binds
   * its port only once it has started, and meanwhile the system may offer the same free port again
   * (it does, under a burst of deploys): a port in this set is never handed out twice.
   */
  private readonly reserved = new Set<number>();

  constructor(private readonly options: LocalRuntimeOptions) {}

  private get pidFile(): string {
    return join(this.options.stateDir, 'runtime', 'pids.json');
  }

  /** Stop processes a previous run of the rack left behind (it was killed), then start converging. */
  async start(): Promise<void> {
    await mkdir(join(this.options.stateDir, 'runtime'), { recursive: true });
    await mkdir(join(this.options.stateDir, 'logs', 'apps'), { recursive: true });
    try {
      for (const pid of JSON.parse(await readFile(this.pidFile, 'utf8')) as number[]) signalGroup(pid, 'SIGKILL');
    } catch {
      // No registry: nothing was left behind.
    }
    await this.savePids();
    this.tick = setInterval(() => this.converge(), this.options.tickMs ?? 200);
  }

  /** Stop every process and listener (the rack is shutting down). */
  async stop(): Promise<void> {
    if (this.tick) clearInterval(this.tick);
    this.tick = undefined;
    const stopping: Promise<void>[] = [];
    for (const state of this.apps.values()) {
      for (const replicas of state.replicas.values()) for (const r of replicas) stopping.push(this.terminate(r));
      for (const { server } of state.internal.values()) server.close();
    }
    for (const job of this.jobs.values()) for (const p of job.processes) stopping.push(p.stop());
    await Promise.all(stopping);
    this.apps.clear();
    this.reserved.clear();
    await this.savePids();
  }

  async apply(request: ApplyRequest): Promise<void> {
    const state = this.appState(request.app);
    const { manifest } = loadManifest(request.manifest, { env: request.env });
    state.manifests.set(request.release.id, { manifest, env: request.env });
    for (const service of manifest.services) if (service.port) await this.internalProxy(request.app, state, service.name);
    const targets = new Map<string, ServiceTarget>();
    for (const service of manifest.services) {
      const image = request.images.find((i) => i.service === service.name);
      let local: LocalImage | undefined;
      let imageError: string | undefined;
      try {
        if (!image) throw new RuntimeError(`release ${request.release.id} has no image for ${service.name}`);
        local = await readLocalImage(image.image);
      } catch (e) {
        imageError = (e as Error).message;
      }
      const env = await this.serviceEnv(request.app, state, request.release.id, service, manifest, request.env, local);
      const argv = local ? commandOf(local, service.command) : [];
      const previous = state.targets.get(service.name);
      const override = request.scale?.[service.name];
      // The app's `slipway scale` count wins; otherwise a count set live (`scale`) outlives a
      // redeploy of the same service, as with Convox. An agent runs one process (one "node") whatever the count.
      const keepLive = previous?.countFrom === 'live' && previous.service.scale.count.min === service.scale.count.min;
      const [count, countFrom]: [number, ServiceTarget['countFrom']] = service.agent.enabled
        ? [1, 'manifest']
        : override?.count !== undefined
          ? [override.count, 'override']
          : keepLive && previous
            ? [previous.count, 'live']
            : [service.scale.count.min, 'manifest'];
      const sizes = { cpu: override?.cpu ?? service.scale.cpu, memory: override?.memory ?? service.scale.memory };
      targets.set(service.name, { release: request.release.id, service, count, countFrom, ...sizes, argv, env, ...(local ? { image: local } : {}), ...(imageError ? { imageError } : {}) });
    }
    state.release = request.release.id;
    state.targets = targets;
    for (const name of state.replicas.keys()) if (!targets.has(name)) for (const r of state.replicas.get(name) ?? []) void this.terminate(r);
    this.log(request.app, '-', request.release.id, 'rack', 'system', `applying release ${request.release.id}`);
    this.converge();
  }

  /** Set a service's process count now (`slipway scale`); the next deploy keeps it. */
  scale(app: string, service: string, count: number): void {
    const target = this.apps.get(app)?.targets.get(service);
    if (!target) throw new RuntimeError(`app ${app} runs no service ${service}`, { app, service });
    target.count = count;
    target.countFrom = 'live';
    this.converge();
  }

  async rolloutStatus(app: string, release: ReleaseId): Promise<RolloutState> {
    const state = this.apps.get(app);
    if (!state || state.release !== release) {
      return { state: 'failed', reason: `release ${release} is not the one applied to ${app}`, services: [] };
    }
    const services: ServiceRollout[] = [];
    let failure: { service: string; reason: string } | undefined;
    let complete = true;
    for (const [name, target] of state.targets) {
      const all = state.replicas.get(name) ?? [];
      const mine = all.filter((r) => r.release === release && !r.terminating);
      const ready = mine.filter((r) => r.ready).length;
      const waiting = mine.find((r) => !r.ready && r.lastCheck)?.lastCheck;
      services.push({ name, desired: target.count, ready, restarts: mine.reduce((n, r) => n + (r.process?.restarts ?? 0), 0), ...(waiting ? { waitingOn: waiting } : {}) });
      if (ready < target.count || all.some((r) => r.release !== release)) complete = false;
      const reason = target.imageError ? `ImagePullBackOff: ${target.imageError}` : crashLoop(mine);
      if (reason && !failure) failure = { service: name, reason };
    }
    if (failure) return { state: 'failed', reason: failure.reason, service: failure.service, services };
    return Promise.resolve({ state: complete ? 'complete' : 'progressing', services });
  }

  async probe(app: string, release: ReleaseId, service: string): Promise<{ ok: boolean; detail: string }> {
    const target = this.apps.get(app)?.targets.get(service);
    const replica = (this.apps.get(app)?.replicas.get(service) ?? []).find((r) => r.release === release && r.ready && !r.terminating);
    if (!target || !replica?.port) return { ok: false, detail: `no ready process of ${service} in release ${release}` };
    const result = await httpCheck(replica.port, target.service.health.path, target.service.health.timeout);
    return { ok: result.ok, detail: result.detail };
  }

  async remove(app: string): Promise<void> {
    const state = this.apps.get(app);
    if (!state) return;
    state.targets.clear();
    state.release = undefined;
    await Promise.all([...state.replicas.values()].flat().map((r) => this.terminate(r)));
    for (const { port, server } of state.internal.values()) {
      server.close();
      this.reserved.delete(port);
    }
    state.internal.clear();
  }

  async runJob(request: JobRequest): Promise<{ job: string }> {
    const state = this.appState(request.app);
    const known = state.manifests.get(request.release);
    const service = known?.manifest.services.find((s) => s.name === request.service);
    const image = await readLocalImage(request.image);
    const env = service && known ? await this.serviceEnv(request.app, state, request.release, service, known.manifest, request.env, image) : { ...hostEnv(), ...image.env, ...request.env };
    const argv = [...image.entrypoint, ...shellWords(request.command)];
    const id = `${request.app}-${request.timer ?? 'run'}-${(++this.jobCounter).toString(36)}${Date.now().toString(36)}`;
    const processes = Array.from({ length: Math.max(1, request.parallelism) }, (_, index) => {
      const name = request.parallelism > 1 ? `${id}.${index}` : id;
      return this.spawn(request.app, request.service, request.release, name, {
        argv,
        cwd: hostPath(image, '.'),
        env: { ...env, ...(request.parallelism > 1 ? { TIMER_INDEX: String(index) } : {}) },
        grace: service?.termination.grace ?? 30,
        restart: false,
        image,
      });
    });
    const job: Job = { id, app: request.app, processes, ...(request.timer ? { timer: request.timer } : {}) };
    this.jobs.set(id, job);
    for (const p of processes) p.start();
    return { job: id };
  }

  jobStatus(job: string): Promise<JobState> {
    const found = this.jobs.get(job);
    if (!found) return Promise.resolve({ state: 'failed', reason: `job ${job} is unknown to this rack (it may have restarted since)` });
    if (found.processes.some((p) => p.phase !== 'exited' && p.phase !== 'stopped')) return Promise.resolve({ state: 'running' });
    found.finishedAt ??= Date.now();
    const failed = found.processes.find((p) => p.startError || p.lastExit?.code !== 0);
    if (!failed) return Promise.resolve({ state: 'succeeded' });
    const exit = failed.lastExit;
    const reason = failed.startError ?? (exit?.signal ? `killed by ${exit.signal}` : `exited with code ${String(exit?.code)}`);
    return Promise.resolve({ state: 'failed', reason: withTail(reason, failed), ...(exit?.code !== null && exit?.code !== undefined ? { exitCode: exit.code } : {}) });
  }

  runningJobs(app: string, timer: string): Promise<readonly string[]> {
    const running = [...this.jobs.values()].filter((j) => j.app === app && j.timer === timer && j.processes.some((p) => p.phase === 'running' || p.phase === 'stopping'));
    return Promise.resolve(running.map((j) => j.id));
  }

  async stopJob(job: string): Promise<void> {
    await Promise.all((this.jobs.get(job)?.processes ?? []).map((p) => p.stop()));
  }

  async pruneJobs(app: string, finishedBefore: number): Promise<number> {
    let pruned = 0;
    for (const job of [...this.jobs.values()]) {
      if (job.app !== app) continue;
      if ((await this.jobStatus(job.id)).state === 'running') continue;
      if ((job.finishedAt ?? 0) <= finishedBefore) {
        this.jobs.delete(job.id);
        pruned++;
      }
    }
    return pruned;
  }

  /** The release applied to an app now, with its services' targets (for the router and `ps`). */
  applied(app: string): { release?: ReleaseId; services: { name: string; service: Service; count: number }[] } {
    const state = this.apps.get(app);
    return { ...(state?.release ? { release: state.release } : {}), services: [...(state?.targets.values() ?? [])].map((t) => ({ name: t.service.name, service: t.service, count: t.count })) };
  }

  /**
   * What `slipway scale` lists, per service of the applied release: processes asked for, processes
   * of that release running now, and the cpu and memory recorded for it (not enforced locally).
   */
  scaleOf(app: string): LocalServiceSize[] {
    const state = this.apps.get(app);
    if (!state) return [];
    return [...state.targets.entries()].map(([name, target]) => {
      const running = (state.replicas.get(name) ?? []).filter((r) => r.release === target.release && !r.terminating && r.process?.phase === 'running').length;
      return { service: name, desired: target.count, running, cpu: target.cpu, memory: target.memory };
    });
  }

  appNames(): string[] {
    return [...this.apps.keys()];
  }

  /** Every process of an app now (for `ps`). */
  processes(app: string): { service: string; release: ReleaseId; name: string; pid?: number; port?: number; ready: boolean; phase: string; restarts: number }[] {
    const out = [];
    for (const [service, replicas] of this.apps.get(app)?.replicas ?? []) {
      for (const r of replicas) {
        const p = r.process;
        out.push({ service, release: r.release, name: `${service}.${r.release}.${r.index}`, ...(p?.pid ? { pid: p.pid } : {}), ...(r.port ? { port: r.port } : {}), ready: r.ready, phase: r.terminating ? 'terminating' : (p?.phase ?? 'pending'), restarts: p?.restarts ?? 0 });
      }
    }
    return out;
  }

  /**
   * The port's view of `processes()`: each service replica with the command its release gives
   * the service and when its process last started. One-off jobs are not listed (as local `ps`).
   */
  listProcesses(app: string): Promise<readonly RuntimeProcess[]> {
    const state = this.apps.get(app);
    const out: RuntimeProcess[] = [];
    for (const [service, replicas] of state?.replicas ?? []) {
      for (const r of replicas) {
        const p = r.process;
        const command = state?.manifests.get(r.release)?.manifest.services.find((s) => s.name === service)?.command;
        out.push({
          id: `${service}.${r.release}.${r.index}`,
          service,
          release: r.release,
          status: localStatus(r),
          ...(p && p.startedAt > 0 ? { startedAt: new Date(p.startedAt).toISOString() } : {}),
          ...(command ? { command } : {}),
        });
      }
    }
    return Promise.resolve(out);
  }

  /** A ready process of a service to send a request to (round robin), as a Service's endpoints would. */
  backend(app: string, service: string): number | undefined {
    const state = this.apps.get(app);
    const ready = (state?.replicas.get(service) ?? []).filter((r) => r.ready && !r.terminating && r.port);
    if (!state || ready.length === 0) return undefined;
    const n = state.next.get(service) ?? 0;
    state.next.set(service, n + 1);
    return ready[n % ready.length]?.port;
  }

  /** The loopback port at which other services reach a service (its `<service>.<app>.convox.local` name). */
  internalPort(app: string, service: string): number | undefined {
    return this.apps.get(app)?.internal.get(service)?.port;
  }

  private appState(app: string): AppState {
    let state = this.apps.get(app);
    if (!state) {
      state = { manifests: new Map(), targets: new Map(), replicas: new Map(), internal: new Map(), next: new Map() };
      this.apps.set(app, state);
    }
    return state;
  }

  /** A TCP proxy on a loopback port that stays the same across deploys and restarts of the rack. */
  private async internalProxy(app: string, state: AppState, service: string): Promise<void> {
    if (state.internal.has(service)) return;
    const file = join(this.options.stateDir, 'runtime', `${app}.internal-ports.json`);
    let saved: Record<string, number> = {};
    try {
      saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, number>;
    } catch {
      // First time for this app.
    }
    const port = await this.reservePort(saved[service]);
    const server = createServer((socket) => {
      const backend = this.backend(app, service);
      if (!backend) {
        socket.destroy();
        return;
      }
      splice(socket, connect({ host: LOOPBACK, port: backend }));
    });
    try {
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ host: '127.0.0.1', port }, resolve));
    } catch (e) {
      this.reserved.delete(port);
      throw e;
    }
    state.internal.set(service, { port, server });
    await writeFile(file, JSON.stringify({ ...saved, [service]: port }));
  }

  /** A loopback port free now (`preferred` when it is) that this runtime has not handed out to a replica or proxy that holds it still. */
  private async reservePort(preferred?: number): Promise<number> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = await freePort(attempt === 0 ? preferred : undefined);
      if (!this.reserved.has(port)) {
        this.reserved.add(port);
        return port;
      }
    }
    throw new RuntimeError('no free loopback port: the system kept offering ports that processes of this rack are about to listen on');
  }

  /**
   * A service's environment, in Convox's order: rack variables, the image's ENV, the manifest's
   * defaults, the release's env, then its resources. Convox names of other services
   * (`<service>.<app>.convox.local:<port>`) point at their loopback proxies.
   */
  private async serviceEnv(app: string, state: AppState, release: ReleaseId, service: Service, manifest: Manifest, env: Readonly<Record<string, string>>, image: LocalImage | undefined): Promise<Record<string, string>> {
    const values: Record<string, string> = {
      ...hostEnv(),
      ...(image ? imageEnv(image) : {}),
      RACK: this.options.rack,
      APP: app,
      RELEASE: release,
      SERVICE: service.name,
      ...environmentDefaults(service.environment),
      ...env,
      ...(await this.options.resources.linkEnv(app, service.resources, env)),
    };
    for (const other of manifest.services) {
      const port = state.internal.get(other.name)?.port;
      if (!other.port || !port) continue;
      const name = new RegExp(`\\b${other.name}\\.${app}\\.convox\\.local:${other.port.port}\\b`, 'g');
      for (const [k, v] of Object.entries(values)) values[k] = v.replace(name, `127.0.0.1:${port}`);
    }
    return values;
  }

  private spawn(app: string, service: string, release: ReleaseId, name: string, spec: { argv: readonly string[]; cwd: string; env: Record<string, string>; grace: number; restart: boolean; image: LocalImage }): SupervisedProcess {
    const [command, ...args] = spec.argv;
    // An absolute command inside the image (`/app/bin/worker`) is found in the image's folder.
    const resolved = command?.startsWith('/') && existsSync(hostPath(spec.image, command)) ? hostPath(spec.image, command) : command;
    return new SupervisedProcess({
      name,
      argv: resolved ? [resolved, ...args] : [],
      cwd: spec.cwd,
      env: spec.env,
      terminationGraceSeconds: spec.grace,
      restart: spec.restart,
      onOutput: (stream, text) => this.log(app, service, release, name, stream, text),
      onLifecycle: (event) => {
        if (event.type === 'started') this.pids.add(event.pid);
        else this.pids.delete(event.pid);
        void this.savePids();
      },
    });
  }

  /** Written in order and atomically: a rack killed mid-write must still find the registry readable. */
  private savePids(): Promise<void> {
    this.pidWrites = this.pidWrites.then(async () => {
      const temp = `${this.pidFile}.tmp`;
      await writeFile(temp, JSON.stringify([...this.pids]));
      await rename(temp, this.pidFile);
    }).catch(() => undefined);
    return this.pidWrites;
  }

  private log(app: string, service: string, release: string, process: string, stream: LogLine['stream'], text: string): void {
    const line: LogLine = { time: new Date().toISOString(), app, service, release, process, stream, text };
    this.options.onLog?.(line);
    void appendFile(join(this.options.stateDir, 'logs', 'apps', `${app}.jsonl`), `${JSON.stringify(line)}\n`).catch(() => undefined);
  }

  private terminate(replica: Replica): Promise<void> {
    if (replica.terminating) return Promise.resolve();
    replica.terminating = true;
    replica.ready = false;
    return replica.process?.stop() ?? Promise.resolve();
  }

  /** Move every service towards its target: the rolling update, readiness checks, and cleanup of stopped processes. */
  private converge(): void {
    for (const [app, state] of this.apps) {
      for (const [name, replicas] of state.replicas) {
        const alive = replicas.filter((r) => !(r.terminating && (r.process?.phase ?? 'stopped') === 'stopped'));
        for (const gone of replicas) if (!alive.includes(gone) && gone.port !== undefined) this.reserved.delete(gone.port);
        if (alive.length === 0 && !state.targets.has(name)) state.replicas.delete(name);
        else state.replicas.set(name, alive);
      }
      for (const [name, target] of state.targets) this.rollService(app, state, name, target);
      for (const replica of [...state.replicas.values()].flat()) this.checkReadiness(app, state, replica);
    }
  }

  private rollService(app: string, state: AppState, name: string, target: ServiceTarget): void {
    const replicas = state.replicas.get(name) ?? [];
    state.replicas.set(name, replicas);
    const live = replicas.filter((r) => !r.terminating);
    const current = live.filter((r) => r.release === target.release);
    const old = live.filter((r) => r.release !== target.release);
    const { surge, unavailable } = rollingBounds(target.count, target.service.deployment);
    // Scale down the current release's extras first (a `scale` to fewer).
    for (const extra of current.slice(target.count)) void this.terminate(extra);
    const wanted = Math.min(target.count, current.length);
    if (target.image) {
      for (let n = wanted; n < target.count && live.length + (n - wanted) < target.count + surge; n++) this.startReplica(app, state, name, target);
    }
    // Old processes go while enough stay available: unready ones at once, ready ones within the bounds.
    const readyNow = (): number => replicas.filter((r) => !r.terminating && r.ready).length;
    for (const r of old.filter((o) => !o.ready)) if (current.length > 0 || old.length > target.count + surge) void this.terminate(r);
    for (const r of old.filter((o) => o.ready)) if (readyNow() - 1 >= target.count - unavailable) void this.terminate(r);
  }

  private startReplica(app: string, state: AppState, name: string, target: ServiceTarget): void {
    const image = target.image;
    if (!image) return;
    const replicas = state.replicas.get(name) ?? [];
    const taken = new Set(replicas.filter((r) => r.release === target.release && !r.terminating).map((r) => r.index));
    let index = 1;
    while (taken.has(index)) index++;
    const replica: Replica = {
      service: name,
      release: target.release,
      index,
      ready: false,
      failures: 0,
      terminating: false,
      nextCheckAt: Date.now() + (target.service.port ? target.service.health.grace * 1000 : NO_CHECK_READY_MS),
      checking: false,
    };
    replicas.push(replica);
    state.replicas.set(name, replicas);
    const processName = `${name}.${target.release}.${index}`;
    const port = target.service.port ? this.reservePort() : Promise.resolve(undefined);
    void port.then(
      (port) => {
        if (replica.terminating) {
          // Stopped (a newer release, a scale down) before its port came: it never runs, and its port goes back.
          if (port !== undefined) this.reserved.delete(port);
          return;
        }
        const env = { ...target.env, ...(port !== undefined ? { PORT: String(port) } : {}) };
        const process = this.spawn(app, name, target.release, processName, { argv: target.argv, cwd: hostPath(image, '.'), env, grace: target.service.termination.grace, restart: true, image });
        if (port !== undefined) replica.port = port;
        replica.process = process;
        process.start();
      },
      (e: unknown) => {
        // It stays pending, unready: the rollout's progress deadline reports it.
        replica.lastCheck = (e as Error).message;
        this.log(app, name, target.release, processName, 'system', `cannot start: ${(e as Error).message}`);
      },
    );
  }

  /** Readiness as a readinessProbe: after `grace`, every `interval`; a process without a check is ready once it has run a moment. */
  private checkReadiness(app: string, state: AppState, replica: Replica): void {
    const proc = replica.process;
    if (!proc || replica.terminating || replica.checking) return;
    if (proc.phase !== 'running') {
      replica.ready = false;
      return;
    }
    const now = Date.now();
    if (now < replica.nextCheckAt) return;
    const service = state.manifests.get(replica.release)?.manifest.services.find((s) => s.name === replica.service);
    if (!service?.port || service.health.disable || !replica.port) {
      replica.ready = now - proc.startedAt >= NO_CHECK_READY_MS;
      return;
    }
    replica.checking = true;
    const interval = Math.max(1, service.health.interval) * 1000;
    void httpCheck(replica.port, service.health.path, service.health.timeout).then((result) => {
      replica.checking = false;
      // Until it is first ready the check repeats every second, so rollouts do not wait a whole interval.
      replica.nextCheckAt = Date.now() + (replica.ready ? interval : Math.min(interval, 1000));
      replica.lastCheck = result.ok ? undefined : `health check ${service.health.path}: ${result.detail}`;
      if (result.ok) {
        replica.failures = 0;
        if (!replica.ready) this.log(app, service.name, replica.release, proc.spec.name, 'system', `ready (${service.health.path} answered ${result.detail})`);
        replica.ready = true;
      } else if (++replica.failures >= FAILURE_THRESHOLD && replica.ready) {
        replica.ready = false;
        this.log(app, service.name, replica.release, proc.spec.name, 'system', `not ready: ${service.health.path}: ${result.detail}`);
      }
    });
  }
}

/** Kubernetes' rolling bounds from Convox's percentages: maxSurge rounds up, maxUnavailable down. */
export function rollingBounds(count: number, deployment: { minimum: number; maximum: number }): { surge: number; unavailable: number } {
  const surge = Math.ceil((count * Math.max(0, deployment.maximum - 100)) / 100);
  const unavailable = Math.floor((count * Math.max(0, 100 - deployment.minimum)) / 100);
  // Both zero would never make progress; Kubernetes refuses it, and here one extra process is allowed.
  return surge === 0 && unavailable === 0 ? { surge: 1, unavailable: 0 } : { surge, unavailable };
}

/** A replica's `ps` status in the cluster's words: a process restarting after crashes is in a crash loop. */
function localStatus(r: Replica): string {
  if (r.terminating) return 'terminating';
  const phase = r.process?.phase;
  if (phase === undefined) return 'pending';
  if (phase === 'running') return r.ready ? 'running' : 'starting';
  return phase === 'backoff' ? 'crashloop' : phase;
}

function crashLoop(replicas: readonly Replica[]): string | undefined {
  for (const r of replicas) {
    const p = r.process;
    if (r.ready || !p) continue;
    if (p.startError) return `CreateContainerError: ${p.startError}`;
    if (p.restarts >= CRASH_LOOP_RESTARTS) {
      const exit = p.lastExit;
      const how = exit?.signal ? `killed by ${exit.signal}` : `exited with code ${String(exit?.code)}`;
      return withTail(`CrashLoopBackOff: ${p.spec.name} ${how}, restarted ${p.restarts} times`, p);
    }
  }
  return undefined;
}

function withTail(reason: string, process: SupervisedProcess): string {
  const tail = process.tail().slice(-5);
  return tail.length > 0 ? `${reason}; last output: ${tail.join(' | ')}` : reason;
}

/** The process a service runs: the image's ENTRYPOINT, then `command:` (shell-split) or the image's CMD. */
function commandOf(image: LocalImage, command: string | undefined): string[] {
  return [...image.entrypoint, ...(command ? shellWords(command) : image.cmd)];
}

/**
 * The image's ENV with container paths the host cannot see put inside the image: a `PATH` entry
 * or `HOME` that exists in the image's folder points there (`/app/node_modules/.bin`); the rest,
 * such as `/usr/local/bin`, is the host's, standing in for the base image.
 */
function imageEnv(image: LocalImage): Record<string, string> {
  const inImage = (path: string): string => (path.startsWith('/') && path !== '/' && existsSync(hostPath(image, path)) ? hostPath(image, path) : path);
  const env = { ...image.env };
  if (env.PATH !== undefined) env.PATH = env.PATH.split(':').map(inImage).join(':');
  if (env.HOME !== undefined) env.HOME = inImage(env.HOME);
  return env;
}

function hostEnv(): Record<string, string> {
  return Object.fromEntries(INHERITED.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]]])));
}

/** One HTTP GET of a health path on loopback: 2xx and 3xx pass, as a Kubernetes httpGet probe. */
export async function httpCheck(port: number, path: string, timeoutSeconds: number): Promise<{ ok: boolean; detail: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path.startsWith('/') ? path : `/${path}`}`, { redirect: 'manual', signal: AbortSignal.timeout(Math.max(1, timeoutSeconds) * 1000) });
    await response.body?.cancel();
    return { ok: response.status >= 200 && response.status < 400, detail: `HTTP ${response.status}` };
  } catch (e) {
    const error = e as Error & { cause?: { code?: string } };
    return { ok: false, detail: error.name === 'TimeoutError' ? `no answer within ${timeoutSeconds}s` : (error.cause?.code ?? error.message) };
  }
}
