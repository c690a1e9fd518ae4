/**
 * The local rack: the whole pipeline on one machine. The four state machines are synthesized
 * from the same CDK definitions the AWS rack deploys and run by the local ASL runner; their
 * Task states call the same step functions the Lambdas call, here with local adapters behind the
 * ports: files for records and bundles, the host for builds, resources and processes.
 *
 * State folder:
 *   records/        apps, builds, releases, locks, env versions (atomic JSON files)
 *   bundles/        uploaded bundles, versioned like S3 objects
 *   images/ builds/ local images and build logs (the builder)
 *   resources/      resource servers' data (the provisioner)
 *   runtime/ logs/  process registry, internal ports, app logs
 *   events.jsonl    every event the pipeline emitted
 *   executions.jsonl  state machine executions, by name
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { SlipwayError } from '../../errors';
import { deployExecutionName, parseBundleKey } from '../../pipeline/bundle/key';
import type { ReleaseId } from '../../pipeline/domain/ids';
import { BUILD_ID, RELEASE_ID } from '../../pipeline/domain/ids';
import type { BuildId } from '../../pipeline/domain/ids';
import type { Release } from '../../pipeline/domain/model';
import { APP_NAME } from '../../pipeline/domain/model';
import type { SlipwayEvent } from '../../pipeline/events';
import { EventPublisher, redact } from '../../pipeline/events';
import type { MachineName } from '../../pipeline/machines/pipeline-machines';
import { machineDefinitions } from '../../pipeline/machines/pipeline-machines';
import type { AlarmMonitor } from '../../pipeline/ports/runtime';
import { CLEANUP_STEPS } from '../../pipeline/steps/cleanup';
import type { CleanupConfig } from '../../pipeline/steps/cleanup';
import { DEPLOY_STEPS, loadRelease, reconcileTimers } from '../../pipeline/steps/deploy';
import type { DeployConfig, DeployContext } from '../../pipeline/steps/deploy';
import { deleteApp } from '../../pipeline/steps/delete-app';
import type { DeletedApp } from '../../pipeline/steps/delete-app';
import { changeEnvironment } from '../../pipeline/steps/env-change';
import { checkScale, ROLLBACK_STEPS, unpinApp } from '../../pipeline/steps/rollback';
import { TIMER_STEPS } from '../../pipeline/steps/timer';
import { deployTrigger } from '../../pipeline/steps/trigger';
import { RecordEnvStore } from '../../pipeline/stores/env-store';
import { NotFoundError, ReleaseStore, systemClock } from '../../pipeline/stores/release-store';
import type { ExecutionOutcome } from '../asl-runner';
import { LocalStateMachine, ValidatedDefinitionsFile } from '../asl-runner';
import { LocalBuilder } from '../builder/local-builder';
import { DirBundleStore } from '../dir-bundle-store';
import type { ExecutionRecord } from '../executions';
import { LocalExecutions } from '../executions';
import { FileRecordTable } from '../file-record-table';
import { JsonlEventSink } from '../jsonl-event-sink';
import { LocalResources } from '../resources/local-resources';
import type { LocalServiceSize, LogLine } from '../runtime/local-runtime';
import { LocalRuntime } from '../runtime/local-runtime';
import { LocalRouter } from '../runtime/router';
import { CronScheduler } from './cron-scheduler';
import { NoDeployRunningError } from './errors';

export { NoDeployRunningError } from './errors';

/** The local rack's pipeline settings: quick polls, a short bake, and a generous deadline (builds run on a laptop). */
export const LOCAL_DEPLOY_CONFIG: DeployConfig = { pollSeconds: 1, queuePollSeconds: 1, leaseSeconds: 120, bakeSeconds: 3, progressDeadlineSeconds: 120 };
export const LOCAL_CLEANUP_CONFIG: CleanupConfig = { keepReleases: 10, jobRetentionHours: 24, graceHours: 24 };
/** The daily cleanup, in UTC. */
export const CLEANUP_SCHEDULE = '30 4 * * *';

export interface LocalRackOptions {
  readonly stateDir: string;
  /** The rack's name (`RACK` in every process); `local` by default. */
  readonly name?: string;
  /** The router's port; 0 picks a free one. */
  readonly routerPort?: number;
  readonly deploy?: Partial<DeployConfig>;
  readonly cleanup?: Partial<CleanupConfig>;
  /** POST every event here too (e.g. a chat webhook). */
  readonly webhookUrl?: string;
  readonly onLog?: (line: LogLine) => void;
  readonly onEvent?: (event: SlipwayEvent) => void;
  readonly onBuildOutput?: (line: { app: string; build: string; services: readonly string[]; stream: string; text: string }) => void;
  /** Milliseconds each Wait state waits instead of its duration (tests). */
  readonly waitMs?: number;
  /** The scheduler's clock (tests move it to a timer's minute). */
  readonly schedulerNow?: () => number;
}

export class LocalRackError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super(message, 'LOCAL_RACK', context);
  }
}

/** Who the rack's API acts for: the holder of its token, on this machine. */
export const LOCAL_OPERATOR = 'local operator';

/** The local rack has no CloudWatch: alarm names configured for gates are reported as unknown, never firing. */
const NO_ALARMS: AlarmMonitor = { firing: () => Promise.resolve([]) };

export class LocalRack {
  readonly store: ReleaseStore;
  readonly env: RecordEnvStore;
  readonly bundles: DirBundleStore;
  readonly runtime: LocalRuntime;
  readonly router: LocalRouter;
  readonly resources: LocalResources;
  readonly builder: LocalBuilder;
  readonly scheduler: CronScheduler;
  readonly executions: LocalExecutions;
  readonly config: DeployConfig;
  private readonly machines: Record<MachineName, LocalStateMachine>;
  private readonly context: DeployContext;
  private runs = 0;
  /** The app of each deploy started in this run of the rack (earlier runs' deploys were aborted when it stopped). */
  private readonly deployApps = new Map<string, string>();

  private constructor(readonly options: LocalRackOptions) {
    const dir = options.stateDir;
    this.config = { ...LOCAL_DEPLOY_CONFIG, ...options.deploy };
    const cleanup = { ...LOCAL_CLEANUP_CONFIG, ...options.cleanup };
    const table = new FileRecordTable(join(dir, 'records'));
    this.store = new ReleaseStore(table);
    this.env = new RecordEnvStore(table);
    this.executions = new LocalExecutions(options.waitMs, join(dir, 'executions.jsonl'));
    this.resources = new LocalResources({ stateDir: resourceBase(dir), ...(options.onLog ? { onOutput: (l) => options.onLog?.({ time: new Date().toISOString(), app: l.app, service: `resource/${l.resource}`, release: '-', process: l.resource, stream: 'system', text: l.text }) } : {}) });
    this.runtime = new LocalRuntime({ stateDir: dir, rack: options.name ?? 'local', resources: this.resources, ...(options.onLog ? { onLog: options.onLog } : {}) });
    this.router = new LocalRouter(this.runtime);
    this.builder = new LocalBuilder({ stateDir: dir, appEnv: async (app) => (await this.env.current(app)).values, ...(options.onBuildOutput ? { onOutput: options.onBuildOutput } : {}) });
    this.scheduler = new CronScheduler({
      file: join(dir, 'schedules.json'),
      runTimer: (app, timer) => void this.runTimer(app, timer),
      rackSchedules: [{ schedule: CLEANUP_SCHEDULE, run: () => void this.cleanup() }],
      ...(options.schedulerNow ? { now: options.schedulerNow } : {}),
    });
    const sink = new JsonlEventSink(join(dir, 'events.jsonl'), { ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}) });
    const events = new EventPublisher(
      {
        put: async (batch) => {
          await sink.put(batch);
          for (const e of batch) options.onEvent?.(e);
        },
      },
      undefined,
      // An app's output can quote its resources' passwords (CACHE_PASS), which are not in its env.
      (app) => this.resources.passwords(app),
    );
    this.bundles = new DirBundleStore(join(dir, 'bundles'), {
      onObjectCreated: (event) => {
        const trigger = deployTrigger(event, this.config);
        if (!trigger.start) return;
        this.deployApps.set(trigger.name, parseBundleKey(event.detail.object.key).app);
        this.executions.start(this.machines.Deploy, trigger.name, trigger.input);
      },
    });
    this.context = {
      store: this.store,
      bundles: this.bundles,
      builder: this.builder,
      provisioner: this.resources,
      runtime: this.runtime,
      env: this.env,
      scheduler: this.scheduler,
      alarms: NO_ALARMS,
      events,
      clock: systemClock,
      workDir: join(dir, 'work'),
    };
    const definitions = machineDefinitions(this.config, cleanup);
    const steps: Record<MachineName, object> = { Deploy: DEPLOY_STEPS, Rollback: ROLLBACK_STEPS, Timer: TIMER_STEPS, Cleanup: CLEANUP_STEPS };
    // Definitions checked by an earlier start are not checked again: a restart after a crash is quicker.
    const validated = new ValidatedDefinitionsFile(join(dir, 'machines.validated.json'));
    this.machines = Object.fromEntries(
      (Object.keys(definitions) as MachineName[]).map((name) => [name, new LocalStateMachine(name, definitions[name], this.dispatcher(steps[name]), { validated })]),
    ) as Record<MachineName, LocalStateMachine>;
  }

  /** Start the rack: recover from an earlier run that stopped mid-way, bring the apps' current releases back up, start the router and the clock. */
  static async start(options: LocalRackOptions): Promise<LocalRack> {
    await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
    const rack = new LocalRack(options);
    try {
      await rack.runtime.start();
      await rack.recover();
      await rack.startRouter(options.routerPort);
      await rack.scheduler.start();
      await rack.reconcileSchedules();
    } catch (e) {
      // What started stops again, so that the process can exit (and a supervisor start it again).
      await rack.stop().catch(() => undefined);
      throw e;
    }
    return rack;
  }

  /** The router on the given port, else on the port of the last run (so URLs stay the same), else on a free one. */
  private async startRouter(port: number | undefined): Promise<void> {
    const file = join(this.options.stateDir, 'router.port');
    const last = Number((await readFile(file, 'utf8').catch(() => '')).trim()) || undefined;
    const chosen = port ?? last ?? 0;
    try {
      await this.router.start(chosen);
    } catch (e) {
      if (port !== undefined || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      await this.router.start(0);
    }
    await writeFile(file, `${this.router.port}\n`);
  }

  async stop(): Promise<void> {
    this.scheduler.stop();
    this.executions.abortAll();
    await this.router.stop();
    await this.runtime.stop();
    await this.resources.stop();
  }

  async createApp(name: string): Promise<void> {
    if (!APP_NAME.test(name)) throw new LocalRackError(`app name ${JSON.stringify(name)} is not valid: use lower-case letters, digits and dashes, starting with a letter`, { app: name });
    if (await this.store.getApp(name)) throw new LocalRackError(`app ${name} already exists`, { app: name });
    await this.store.createApp(name);
  }

  /** Change an app's environment (set and unset keys); returns the new env version. Running releases keep theirs. */
  async changeEnv(app: string, change: { set?: Readonly<Record<string, string>>; unset?: readonly string[] }): Promise<number> {
    await this.store.requireApp(app);
    const values = { ...(await this.env.current(app)).values, ...change.set };
    for (const key of change.unset ?? []) delete values[key];
    return this.env.set(app, values);
  }

  /**
   * A new env version, and a release with it when the app has one to base it on (not rolled out:
   * `promote` does that). Values stay in the env store; neither events nor the answer carry them.
   */
  async changeEnvironment(app: string, change: { set?: Readonly<Record<string, string>>; unset?: readonly string[]; replace?: boolean }): Promise<{ envVersion: number; release?: string }> {
    await this.store.requireApp(app);
    return changeEnvironment({ store: this.store, env: this.env, clock: systemClock }, app, change);
  }

  /** The env values of the current version, or of the version a release runs with. */
  async environment(app: string, release?: string): Promise<{ version: number; values: Readonly<Record<string, string>> }> {
    await this.store.requireApp(app);
    if (release === undefined) return this.env.current(app);
    const r = await this.requireRelease(app, release);
    return { version: r.envVersion, values: await this.env.get(app, r.envVersion) };
  }

  /**
   * Delete an app: the pipeline's deletion (it takes the app's lock, so it refuses while a deploy
   * holds it) stops its timers and processes and removes its images and records; then its
   * resource servers stop (their data stays, as the App Deleted event says), and its bundles and
   * logs go.
   */
  async deleteApp(app: string, by = LOCAL_OPERATOR): Promise<DeletedApp> {
    const deleted = await deleteApp(this.context, app, by);
    await this.resources.stop(app);
    await rm(join(this.options.stateDir, 'bundles', app), { recursive: true, force: true });
    await rm(join(this.options.stateDir, 'logs', 'apps', `${app}.jsonl`), { force: true });
    for (const [name, owner] of this.deployApps) if (owner === app) this.deployApps.delete(name);
    return deleted;
  }

  /**
   * Cancel the app's running deploy: abort its execution (the one holding the app's lock, else the
   * newest), then the Rollback machine takes over its lock and puts back the release that served.
   */
  async cancel(app: string, by = LOCAL_OPERATOR): Promise<{ execution: string; cancelled: string; outcome: Promise<ExecutionOutcome> }> {
    await this.store.requireApp(app);
    const running = this.runningDeploys(app);
    const owner = (await this.store.lockOf(app))?.owner;
    const target = running.find((r) => r.name === owner) ?? running[0];
    if (!target) throw new NoDeployRunningError(app);
    const tracked = this.executions.start(this.machines.Deploy, target.name, undefined).execution;
    tracked.abort();
    // Bounded: an aborted execution ends at once; a stuck one must not hang the API call.
    await Promise.race([tracked.outcome, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    return { ...this.startRun('Rollback', 'cancel', { app, cancels: target.name, by }), cancelled: target.name };
  }

  /** Roll an existing release out as it is (the newest when none is given): no copy, no pin. */
  async promote(app: string, release?: string, by = LOCAL_OPERATOR): Promise<{ execution: string; outcome: Promise<ExecutionOutcome> }> {
    await this.store.requireApp(app);
    if (release !== undefined) await this.requireRelease(app, release);
    return this.startRun('Rollback', 'promote', { app, mode: 'promote', ...(release !== undefined ? { release } : {}), by });
  }

  /** Change a service's size: stored on the app and rolled out with the current release, through the Rollback machine. */
  async setScale(app: string, service: string, change: { count?: number; cpu?: number; memory?: number }, by = LOCAL_OPERATOR): Promise<{ execution: string; outcome: Promise<ExecutionOutcome> }> {
    const current = (await this.store.requireApp(app)).release;
    if (!current) throw new LocalRackError(`app ${app} has no release to scale yet; deploy it first`, { app });
    const { manifest } = await loadRelease(this.context, app, current);
    if (!manifest.services.some((s) => s.name === service)) throw new LocalRackError(`app ${app} has no service ${service} (its services: ${manifest.services.map((s) => s.name).join(', ')})`, { app, service });
    const scale = { service, ...(change.count !== undefined ? { count: change.count } : {}), ...(change.cpu !== undefined ? { cpu: change.cpu } : {}), ...(change.memory !== undefined ? { memory: change.memory } : {}) };
    checkScale(app, scale);
    return this.startRun('Rollback', 'scale', { app, scale, by });
  }

  /** A one-off job (`slipway run`) through the Timer machine, on the current release or the one given. */
  async run(app: string, request: { service: string; command: string; release?: string }): Promise<{ execution: string; outcome: Promise<ExecutionOutcome> }> {
    await this.store.requireApp(app);
    if (!request.service || !request.command.trim()) throw new LocalRackError('a run needs a service and a command', { app });
    if (request.release !== undefined) await this.requireRelease(app, request.release);
    return this.startRun('Timer', `${app}-run`, { app, run: { service: request.service, command: request.command, ...(request.release !== undefined ? { release: request.release } : {}) } });
  }

  /** A release with the convox.yml of its build. */
  async release(app: string, id: string): Promise<Release & { manifest?: string }> {
    const release = await this.requireRelease(app, id);
    const build = await this.store.getBuild(app, release.build);
    return { ...release, ...(build ? { manifest: build.manifest } : {}) };
  }

  /** A build's log, as the builder wrote it. */
  async buildLog(app: string, build: string): Promise<string> {
    const found = BUILD_ID.test(build) ? await this.store.getBuild(app, build as BuildId) : undefined;
    if (!found) throw new NotFoundError('build', build, app);
    return readFile(join(this.options.stateDir, 'logs', 'builds', `${build}.log`), 'utf8').catch(() => '');
  }

  /** The timers of the app's current release, as its convox.yml declares them. */
  async timers(app: string): Promise<{ name: string; schedule: string; service: string; command: string }[]> {
    const current = (await this.store.requireApp(app)).release;
    if (!current) return [];
    const { manifest } = await loadRelease(this.context, app, current);
    return manifest.timers.map((t) => ({ name: t.name, schedule: t.schedule, service: t.service, command: t.command }));
  }

  /** Each service of the applied release: processes asked for, processes of that release running, and size (with `scale` overrides). */
  async scale(app: string): Promise<LocalServiceSize[]> {
    await this.store.requireApp(app);
    return this.runtime.scaleOf(app);
  }

  /** The app's processes as `ps` lists them: the runtime's own list (the Runtime port's, as on AWS). */
  async processes(app: string): Promise<{ id: string; service: string; status: string; release: string; started?: string; command?: string }[]> {
    await this.store.requireApp(app);
    return (await this.runtime.listProcesses(app)).map(({ startedAt, ...p }) => ({ ...p, ...(startedAt ? { started: startedAt } : {}) }));
  }


  /** Upload a bundle: the bundle store's Object Created event starts the deploy, as on AWS. */
  async deploy(app: string, bundle: Buffer | Readable, metadata: Readonly<Record<string, string>> = {}): Promise<{ key: string; version: string; execution: string }> {
    await this.store.requireApp(app);
    const stored = await this.bundles.put(app, 'app.tgz', bundle, metadata);
    const event = this.bundles.event(stored);
    return { key: stored.key, version: stored.version, execution: deployExecutionName(event.detail.bucket.name, stored.key, stored.version) };
  }

  /** Start a rollback as an operator would from the console; the app stays pinned to it until unpinned. */
  rollback(request: { app: string; release?: string; skipGates?: boolean; by?: string; reason?: string }): { execution: string; outcome: Promise<ExecutionOutcome> } {
    return this.startRun('Rollback', 'rollback', { by: 'local operator', ...request });
  }

  unpin(app: string, by = 'local operator'): Promise<void> {
    return unpinApp(this.context, app, by);
  }

  runTimer(app: string, timer: string): { execution: string; outcome: Promise<ExecutionOutcome> } {
    return this.startRun('Timer', `${app}-${timer}`, { app, timer });
  }

  cleanup(): { execution: string; outcome: Promise<ExecutionOutcome> } {
    return this.startRun('Cleanup', 'cleanup', {});
  }

  /** An execution's outcome once it ends (it may have ended already, even in an earlier run of the rack). */
  outcome(machine: MachineName, name: string): Promise<ExecutionOutcome> | undefined {
    const record = this.executions.describe(machine, name);
    if (!record) return undefined;
    return this.executions.start(this.machines[machine], name, undefined).execution.outcome;
  }

  describeExecution(machine: MachineName, name: string): ExecutionRecord | undefined {
    return this.executions.describe(machine, name);
  }

  /** The app's deploys that run now, newest first. */
  runningDeploys(app: string): ExecutionRecord[] {
    return this.executions.list('Deploy').filter((r) => r.status === 'RUNNING' && this.deployApps.get(r.name) === app);
  }

  private async requireRelease(app: string, id: string): Promise<Release> {
    const release = RELEASE_ID.test(id) ? await this.store.getRelease(app, id as ReleaseId) : undefined;
    if (!release) throw new NotFoundError('release', id, app);
    return release;
  }

  /** An app's URLs: each public service at its local host name and its domains. */
  urls(app: string): { service: string; url: string; internal: boolean; internalName?: string }[] {
    return this.runtime.applied(app).services.flatMap(({ name, service }) => {
      if (!service.port) return [];
      const internal = Boolean(service.internal || service.internalRouter);
      const internalName = `${name}.${app}.convox.local:${service.port.port}`;
      return [{ service: name, url: internal ? '' : this.router.url(app, name), internal, internalName }];
    });
  }

  private startRun(machine: MachineName, prefix: string, input: unknown): { execution: string; outcome: Promise<ExecutionOutcome> } {
    const name = `${prefix}-${new Date().toISOString().replace(/[:.]/g, '-')}-${++this.runs}`;
    const { execution } = this.executions.start(this.machines[machine], name, input);
    return { execution: name, outcome: execution.outcome };
  }

  private dispatcher(steps: object): (step: string, input: unknown) => Promise<unknown> {
    const table = steps as Record<string, ((input: unknown, ctx: DeployContext) => Promise<unknown>) | undefined>;
    return async (step, input) => {
      const fn = table[step];
      if (!fn) throw new LocalRackError(`the state machine calls an unknown step ${step}`, { step });
      try {
        return await fn(input, this.context);
      } catch (e) {
        // A step's error becomes its execution's cause (executions.jsonl, what the CLI prints). The
        // steps redact the app's env from it; the resources' passwords only the rack knows.
        if (e instanceof Error) e.message = redact(e.message, await this.resourcePasswords());
        throw e;
      }
    };
  }

  /** Every password of every app's resources; read only when a step fails, which is rare. */
  private async resourcePasswords(): Promise<string[]> {
    const apps = await this.store.listApps().catch(() => []);
    const passwords = await Promise.all(apps.map((a) => this.resources.passwords(a.name).catch(() => [] as string[])));
    return passwords.flat();
  }

  /**
   * After a crash, nothing of the earlier run's executions is alive: their locks are released,
   * their queued uploads dropped and unfinished builds marked failed; each app's current release
   * comes back up with its resources. The store stays as it was: the release the store calls
   * current serves (the previous one if the crash came before Promote, the new one after).
   *
   * What the earlier run had started on the host goes first: its app processes (the runtime's
   * start), its build steps, and its resource servers (those the current releases need start
   * afresh, as they would anyway: a server left by a dead rack is never adopted).
   */
  private async recover(): Promise<void> {
    await this.clearRecordLocks();
    await this.stopOrphanBuildSteps();
    await this.resources.stop();
    await rm(join(this.options.stateDir, 'work'), { recursive: true, force: true });
    for (const app of await this.store.listApps()) {
      // Its holder was an execution of the earlier run, which died with it: the lease need not run out.
      const lock = await this.store.lockOf(app.name);
      if (lock) await this.store.releaseLock(lock);
      for (const queued of await this.store.deployQueue(app.name)) await this.store.dequeueDeploy(app.name, queued.execution);
      for (const build of await this.store.listBuilds(app.name)) {
        if (build.status === 'running' || build.status === 'created') await this.store.updateBuild(app.name, build.id, (b) => ({ ...b, status: 'failed', reason: 'the rack stopped during the build' }));
      }
      if (app.release) await this.bringUp(app.name, app.release);
    }
  }

  /**
   * A record's lock file is held for one write; a rack killed during one leaves it behind, and
   * the record table only takes a lock over once it is 30 s old, after its writers have given up
   * waiting (15 s): the first write of a quick restart (releasing the app's lock below) would fail
   * and the rack would not start. A state folder has one rack (`slipway rack start` refuses a
   * second), and this one has written nothing yet: every lock and temporary file is the dead run's.
   */
  private async clearRecordLocks(): Promise<void> {
    const records = join(this.options.stateDir, 'records');
    for (const partition of await readdir(records).catch(() => [] as string[])) {
      const files = await readdir(join(records, partition)).catch(() => [] as string[]);
      for (const name of files) if (name.endsWith('.lock') || name.endsWith('.tmp')) await rm(join(records, partition, name), { force: true });
    }
  }

  /**
   * A build's RUN steps are the builder's children, in the rack's process group: a rack killed
   * outright leaves them running, still writing into the work folder recover() empties. They are
   * found by their working folder, which is inside that work folder (a step that changed folder,
   * or a system without /proc, is missed). Nothing of this run has started a build yet.
   */
  private async stopOrphanBuildSteps(): Promise<void> {
    if (process.platform !== 'linux') return;
    const work = await realpath(join(this.options.stateDir, 'work')).catch(() => undefined);
    if (work === undefined) return;
    const inWork = async (pid: number): Promise<boolean> => {
      const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
      return cwd !== undefined && (cwd === work || cwd.startsWith(`${work}${sep}`));
    };
    const pids = (await readdir('/proc').catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => pid !== process.pid);
    const orphans: number[] = [];
    for (const pid of pids) if (await inWork(pid)) orphans.push(pid);
    for (const pid of orphans) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    // SIGKILL is not instant: wait (briefly) until they are gone, so that the folder can go.
    for (let tries = 0; tries < 50; tries++) {
      const left: number[] = [];
      for (const pid of orphans) if (await inWork(pid)) left.push(pid);
      if (left.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Each app's timers as its current release declares them. Promote schedules a release's timers
   * first and makes it current after: a crash in between left the schedules of a release that
   * never became current.
   */
  private async reconcileSchedules(): Promise<void> {
    for (const app of await this.store.listApps()) {
      if (!app.release) continue;
      try {
        await reconcileTimers(this.context, app.name, app.release);
      } catch (e) {
        // The rack still starts: the schedules stay as they were, and the next deploy reconciles them.
        this.options.onLog?.({ time: new Date().toISOString(), app: app.name, service: '-', release: app.release, process: 'rack', stream: 'system', text: `the timers of ${app.release} could not be scheduled: ${(e as Error).message}` });
      }
    }
  }

  private async bringUp(app: string, release: ReleaseId): Promise<void> {
    const { release: r, manifest, text, images, env } = await loadRelease(this.context, app, release);
    for (let tries = 0; tries < 600; tries++) {
      if ((await this.resources.ensure(app, manifest.resources, env)).ready) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.runtime.apply({ app, release: r, manifest: text, images, env });
  }
}

/**
 * Where resource servers keep their data. A rack running as root runs them as unprivileged users
 * (PostgreSQL refuses root), who must be able to reach their data folder, and the state folder is
 * private (0700: it holds the env and the rack's token). So as root the data goes under
 * /var/lib/slipway, in a folder named after the state folder; otherwise into the state folder.
 */
export function resourceBase(stateDir: string): string {
  if (process.getuid?.() !== 0) return stateDir;
  return join('/var/lib/slipway', `state-${createHash('sha256').update(stateDir).digest('hex').slice(0, 16)}`);
}
