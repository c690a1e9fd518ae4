/**
 * The local rack's resources: each postgres, mysql, redis or memcached resource of an app is a
 * real server process of its own on a free 127.0.0.1 port, with its data in
 * `<stateDir>/resources/<app>/<resource>/` so that it survives restarts of the rack.
 *
 * A resource folder holds:
 *   resource.json   type, kind, engine, port, whether the data exists (no secrets)
 *   password        the generated password (0600), made once, never logged
 *   server.pid      the server's pid while it runs, to find it after a crash of the rack
 *   server.log      the server's output (with the password redacted)
 *   data/           the server's data (owned by the server's user when the rack runs as root)
 *
 * `ensure` starts servers in the background and reports them ready once they accept a
 * connection and authenticate; a start that failed is reported by the next `ensure`, which
 * throws its error once (the call after that tries again).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../errors';
import { type Resource, resourceEnvPrefix, resourceLinks } from '../../manifest';
import type { Provisioner } from '../../pipeline/ports/runtime';
import { type Engine, type EngineContext, type EngineName, type EngineTraits, KIND_OF_TYPE, type LocalResourceBinaries, type ResourceCredentials, type ResourceKind, makeServerDir } from './engine';
import { ResourceBinaryMissingError, ResourceHostError, ResourceNameError, ResourceNotFoundError, ResourceStartError, ResourceTypeChangedError, UnknownResourceTypeError } from './errors';
import { MEMCACHED_INSTALL, MemcachedEngine, findMemcached, memcachedTraits } from './memcached';
import { MYSQL_INSTALL, MysqlEngine, type MysqlFlavor, findMysqlServers, mysqlTraits } from './mysql';
import { PGliteEngine, pgliteTraits } from './pglite';
import { PostgresEngine, findPostgres, postgresTraits } from './postgres';
import { freePort } from '../loopback';
import { LOOPBACK, type ServerUser, commandLine, firstUnreachableDir, isAlive, lookupUser, processStartTime, redactor, runningAsRoot, spawnServer, terminate, terminatePid } from './processes';
import { REDIS_INSTALL, RedisEngine, findRedis, redisTraits } from './redis';

export interface ResourceOutputLine {
  readonly app: string;
  readonly resource: string;
  readonly text: string;
}

export interface LocalResourcesOptions {
  /** The rack's state folder; resources live in its `resources/` folder. */
  readonly stateDir: string;
  /** Each line the servers and their set-up print (passwords redacted). */
  readonly onOutput?: (line: ResourceOutputLine) => void;
  /** Where the server programs are, instead of looking for them (tests, unusual installs). */
  readonly binaries?: LocalResourceBinaries;
  /** When the rack runs as root, the user servers run as; by default the first of slipway, the engine's own user (postgres, redis, mysql, memcache), nobody. */
  readonly runAs?: string;
  /** How long a server may take to accept connections before its start fails (default 120 s). */
  readonly startTimeoutMs?: number;
  /** How long a server has to stop before it is killed (default 15 s). */
  readonly stopTimeoutMs?: number;
}

/** What resource.json records. */
interface ResourceRecord {
  readonly type: string;
  readonly kind: ResourceKind;
  readonly engine: EngineName;
  readonly port: number;
  /** The data folder is complete; until then a start makes it again from nothing. */
  readonly initialized: boolean;
  /** The user the server runs as, when the rack runs as root. */
  readonly runAs?: string;
  readonly created: string;
}

/** A LocalResources object: its process (the pid, and when it started) and which object of that process. */
interface RackIdentity {
  readonly pid: number;
  readonly started?: string;
  readonly instance: string;
}

/** What server.pid records. */
interface PidRecord {
  readonly pid: number;
  readonly engine: EngineName;
  readonly port: number;
  /** The rack that started the server. */
  readonly owner?: RackIdentity;
}

/** A server found running on a resource's data. */
interface RecordedServer {
  readonly pid: number;
  readonly traits: EngineTraits;
  /** Another rack that still runs started it. */
  readonly foreignOwner: number | undefined;
}

interface Slot {
  readonly app: string;
  readonly name: string;
  readonly engine: Engine;
  state: 'starting' | 'running' | 'failed';
  stopping: boolean;
  child?: ChildProcess;
  error?: unknown;
  readonly abort: AbortController;
  done: Promise<void>;
  /** The last lines of output, redacted, to quote when the start fails. */
  readonly tail: string[];
}

interface Plan {
  readonly app: string;
  readonly resource: Resource;
  readonly dir: string;
  readonly record: ResourceRecord | undefined;
  readonly engine: Engine;
}

const RECORD_FILE = 'resource.json';
const PASSWORD_FILE = 'password';
const PID_FILE = 'server.pid';
const LOG_FILE = 'server.log';
const DATA_DIR = 'data';
const TAIL_LINES = 12;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

const TRAITS: Readonly<Record<EngineName, EngineTraits>> = {
  postgres: postgresTraits,
  pglite: pgliteTraits,
  mysql: mysqlTraits,
  mariadb: mysqlTraits,
  redis: redisTraits,
  memcached: memcachedTraits,
};

const POSTGRES_INSTALL = 'apt-get install postgresql, brew install postgresql';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

function checkName(kind: 'app' | 'resource', name: string): void {
  if (!NAME.test(name)) throw new ResourceNameError(kind, name);
}

function isExternal(resource: string, env: Readonly<Record<string, string>>): boolean {
  return Object.hasOwn(env, `${resourceEnvPrefix(resource)}_URL`);
}

async function readRecord(dir: string): Promise<ResourceRecord | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, RECORD_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const damaged = () => new SlipwayError(`resource record ${join(dir, RECORD_FILE)} is damaged: delete the resource folder to start it afresh (its data goes with it)`, 'RESOURCE_RECORD_DAMAGED', { dir });
  let record: Partial<ResourceRecord>;
  try {
    record = JSON.parse(text) as Partial<ResourceRecord>;
  } catch {
    throw damaged();
  }
  if (typeof record.type !== 'string' || typeof record.kind !== 'string' || typeof record.engine !== 'string' || !Object.hasOwn(TRAITS, record.engine) || typeof record.port !== 'number') throw damaged();
  return record as ResourceRecord;
}

async function writeRecord(dir: string, record: ResourceRecord): Promise<void> {
  // Written aside and renamed, so that a crash never leaves half a record.
  const path = join(dir, RECORD_FILE);
  await writeFile(`${path}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

async function readPassword(dir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dir, PASSWORD_FILE), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** The resource's password, made the first time (hex: nothing to escape in a URL or a config file). */
async function passwordOf(dir: string): Promise<string> {
  const existing = await readPassword(dir);
  if (existing) return existing;
  const password = randomBytes(16).toString('hex');
  try {
    await writeFile(join(dir, PASSWORD_FILE), `${password}\n`, { mode: 0o600, flag: 'wx' });
    return password;
  } catch {
    // Another start wrote it first: theirs stands.
    const theirs = await readPassword(dir);
    if (theirs) return theirs;
    throw new SlipwayError(`cannot write the password file in ${dir}`, 'RESOURCE_PASSWORD_UNWRITABLE', { dir });
  }
}

async function readPid(dir: string): Promise<PidRecord | undefined> {
  try {
    const pid = JSON.parse(await readFile(join(dir, PID_FILE), 'utf8')) as Partial<PidRecord>;
    if (typeof pid.pid !== 'number' || typeof pid.engine !== 'string' || !Object.hasOwn(TRAITS, pid.engine) || typeof pid.port !== 'number') return undefined;
    return pid as PidRecord;
  } catch {
    return undefined;
  }
}

/** Runs each resource of the apps as a server on this machine (see the file's comment). */
export class LocalResources implements Provisioner {
  private readonly root: string;
  private readonly onOutput: ((line: ResourceOutputLine) => void) | undefined;
  private readonly binaries: LocalResourceBinaries;
  private readonly runAs: string | undefined;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly slots = new Map<string, Slot>();
  private readonly instance = randomBytes(8).toString('hex');
  private identity: Promise<RackIdentity> | undefined;
  /** Servers running now, and the signal that stops each, for the exit hook. */
  private readonly live = new Map<ChildProcess, NodeJS.Signals>();
  /** If the rack exits without `stop`, its servers are told to stop all the same. */
  private readonly onProcessExit = () => {
    for (const [child, signal] of this.live) child.kill(signal);
  };

  constructor(options: LocalResourcesOptions) {
    this.root = join(options.stateDir, 'resources');
    this.onOutput = options.onOutput;
    this.binaries = options.binaries ?? {};
    this.runAs = options.runAs;
    this.startTimeoutMs = options.startTimeoutMs ?? 120_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
  }

  async ensure(app: string, resources: readonly Resource[], env: Readonly<Record<string, string>>): Promise<{ readonly ready: boolean; readonly waitingOn: readonly string[] }> {
    checkName('app', app);
    const local = resources.filter((r) => !isExternal(r.name, env));
    for (const resource of local) {
      checkName('resource', resource.name);
      const kind = this.kindOf(app, resource);
      const slot = this.slots.get(this.key(app, resource.name));
      if (!slot) continue;
      if (slot.state === 'failed') {
        this.slots.delete(this.key(app, resource.name));
        throw slot.error;
      }
      if (slot.engine.kind !== kind) throw new ResourceTypeChangedError(app, resource.name, slot.engine.kind, resource.type, this.dirOf(app, resource.name));
      // A server that died after it was ready is started again.
      if (slot.state === 'running' && (!slot.child || exited(slot.child))) this.slots.delete(this.key(app, resource.name));
    }
    // Every check before any start, so that a refused resource starts nothing.
    const plans = await Promise.all(local.filter((r) => !this.slots.has(this.key(app, r.name))).map((r) => this.plan(app, r)));
    for (const plan of plans) if (!this.slots.has(this.key(app, plan.resource.name))) this.launch(plan);
    const waitingOn = local.filter((r) => this.slots.get(this.key(app, r.name))?.state !== 'running').map((r) => r.name);
    return { ready: waitingOn.length === 0, waitingOn };
  }

  /** The resource's connection, in Convox's shape; undefined if the rack has not created it. */
  async credentials(app: string, resource: string): Promise<ResourceCredentials | undefined> {
    checkName('app', app);
    checkName('resource', resource);
    const dir = this.dirOf(app, resource);
    const record = await readRecord(dir);
    const password = await readPassword(dir);
    if (!record || password === undefined) return undefined;
    return TRAITS[record.engine].credentials(record.port, password);
  }

  /**
   * The passwords of the app's resources the rack made, to redact from what it reports (events
   * quoting an app's output, which may print its `<NAME>_URL` or `<NAME>_PASS`).
   */
  async passwords(app: string): Promise<string[]> {
    // No resource can exist for a name that is not an app's (an event about an unknown upload).
    if (!NAME.test(app)) return [];
    const names = await readdir(join(this.root, app)).catch(() => [] as string[]);
    const found = await Promise.all(names.filter((n) => NAME.test(n)).map((n) => readPassword(this.dirOf(app, n))));
    return found.filter((p): p is string => p !== undefined && p !== '');
  }

  /**
   * The variables a service gets for its `resources:` entries (`db`, `cache:CACHE_URL`). A
   * resource whose `<NAME>_URL` the app's environment sets is external: that URL, and empty
   * values for the rest, as Convox does.
   */
  async linkEnv(app: string, serviceResources: readonly string[], env: Readonly<Record<string, string>>): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const known = new Map<string, ResourceCredentials>();
    for (const link of resourceLinks({ resources: [...serviceResources] })) {
      const externalUrl = env[`${resourceEnvPrefix(link.resource)}_URL`];
      if (isExternal(link.resource, env) && externalUrl !== undefined) {
        out[link.env] = link.configMapKey === 'URL' ? externalUrl : '';
        continue;
      }
      let credentials = known.get(link.resource);
      if (!credentials) {
        credentials = await this.credentials(app, link.resource);
        if (!credentials) throw new ResourceNotFoundError(app, link.resource);
        known.set(link.resource, credentials);
      }
      out[link.env] = credentials[link.configMapKey];
    }
    return out;
  }

  /**
   * Stop the servers (all, or one app's), and any a previous run of the rack left running;
   * servers another rack on the same state folder runs now are left to it.
   */
  async stop(app?: string): Promise<void> {
    if (app !== undefined) checkName('app', app);
    await Promise.all([...this.slots.values()].filter((s) => app === undefined || s.app === app).map((s) => this.stopSlot(s)));
    const apps = app !== undefined ? [app] : await readdir(this.root).catch(() => [] as string[]);
    for (const a of apps) {
      const names = await readdir(join(this.root, a)).catch(() => [] as string[]);
      await Promise.all(names.filter((n) => !this.slots.has(this.key(a, n))).map((n) => this.stopLeftover(a, n, { othersRacks: 'skip' })));
    }
  }

  /** Stop a resource's server and delete its data. */
  async remove(app: string, resource: string): Promise<void> {
    checkName('app', app);
    checkName('resource', resource);
    const slot = this.slots.get(this.key(app, resource));
    if (slot) await this.stopSlot(slot);
    await this.stopLeftover(app, resource, { othersRacks: 'refuse' });
    await rm(this.dirOf(app, resource), { recursive: true, force: true });
    await rmdir(join(this.root, app)).catch(() => undefined); // Only when it was the app's last resource.
  }

  private key(app: string, resource: string): string {
    return `${app}/${resource}`;
  }

  private dirOf(app: string, resource: string): string {
    return join(this.root, app, resource);
  }

  private kindOf(app: string, resource: Resource): ResourceKind {
    const kind = KIND_OF_TYPE[resource.type];
    if (!kind) throw new UnknownResourceTypeError(app, resource.name, resource.type, Object.keys(KIND_OF_TYPE));
    return kind;
  }

  /** What a start needs, checked before anything starts: the type fits the data, the program is installed. */
  private async plan(app: string, resource: Resource): Promise<Plan> {
    const kind = this.kindOf(app, resource);
    const dir = this.dirOf(app, resource.name);
    const record = await readRecord(dir);
    if (record && record.kind !== kind) throw new ResourceTypeChangedError(app, resource.name, record.type, resource.type, dir);
    const running = await this.recordedServer(dir);
    if (running?.foreignOwner !== undefined) throw this.foreignServerError(app, resource.name, running);
    return { app, resource, dir, record, engine: await this.engineFor(app, resource, kind, record?.initialized ? record : undefined) };
  }

  /** The engine that serves the resource; `record` is that of data already made, which needs the engine that made it. */
  private async engineFor(app: string, resource: Resource, kind: ResourceKind, record: ResourceRecord | undefined): Promise<Engine> {
    const missing = (binary: string, install: string, override?: string) => new ResourceBinaryMissingError(app, resource.name, resource.type, binary, install, override);
    switch (kind) {
      case 'postgres': {
        // Data PGlite made stays with PGlite: PostgreSQL cannot read it.
        if (record?.engine === 'pglite') return new PGliteEngine();
        const install = await findPostgres(this.binaries.postgres);
        if (install) return new PostgresEngine(install);
        if (record?.engine === 'postgres') throw missing('PostgreSQL (initdb and postgres)', POSTGRES_INSTALL, this.binaries.postgres);
        return new PGliteEngine();
      }
      case 'redis': {
        const program = await findRedis(this.binaries.redis);
        if (!program) throw missing('redis-server', REDIS_INSTALL, this.binaries.redis);
        return new RedisEngine(program);
      }
      case 'memcached': {
        const program = await findMemcached(this.binaries.memcached);
        if (!program) throw missing('memcached', MEMCACHED_INSTALL, this.binaries.memcached);
        return new MemcachedEngine(program);
      }
      case 'mysql': {
        const servers = await findMysqlServers(this.binaries.mysql);
        const recorded = record?.engine === 'mysql' || record?.engine === 'mariadb' ? record.engine : undefined;
        const wanted: MysqlFlavor = recorded ?? (resource.type.includes('mariadb') ? 'mariadb' : 'mysql');
        // Existing data needs the server that made it; a new resource takes either.
        const chosen = servers.find((s) => s.flavor === wanted) ?? (recorded ? undefined : servers[0]);
        if (!chosen) throw missing(wanted === 'mariadb' ? 'a MariaDB server (mariadbd)' : 'a MySQL server (mysqld)', MYSQL_INSTALL[wanted], this.binaries.mysql);
        if (chosen.flavor === 'mariadb' && !chosen.installer && !record) throw missing('mariadb-install-db', MYSQL_INSTALL.mariadb);
        return new MysqlEngine(chosen);
      }
    }
  }

  private launch(plan: Plan): void {
    const key = this.key(plan.app, plan.resource.name);
    const slot: Slot = { app: plan.app, name: plan.resource.name, engine: plan.engine, state: 'starting', stopping: false, abort: new AbortController(), done: Promise.resolve(), tail: [] };
    this.slots.set(key, slot);
    slot.done = this.start(slot, plan).then(
      () => undefined,
      (error: unknown) => {
        if (this.slots.get(key) !== slot) return;
        if (slot.abort.signal.aborted) {
          this.slots.delete(key);
          return;
        }
        slot.state = 'failed';
        slot.error = error instanceof SlipwayError ? error : new ResourceStartError(plan.app, plan.resource.name, error instanceof Error ? error.message : String(error), join(plan.dir, LOG_FILE), slot.tail);
      },
    );
  }

  /** Output of the resource: redacted, kept for errors, appended to its log, and passed to onOutput. */
  private emitter(slot: Slot, logFile: string, password: string): (text: string) => void {
    const redact = redactor([password]);
    return (text) => {
      const line = redact(text);
      slot.tail.push(line);
      if (slot.tail.length > TAIL_LINES) slot.tail.shift();
      try {
        appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`, { mode: 0o600 });
      } catch {
        // A log that cannot be written does not stop the server.
      }
      try {
        this.onOutput?.({ app: slot.app, resource: slot.name, text: line });
      } catch {
        // Nor does a listener that throws.
      }
    };
  }

  /** The user the server runs as: only when the rack is root and the engine must not be. */
  private async serverUser(plan: Plan, dataDir: string): Promise<ServerUser | undefined> {
    if (!runningAsRoot() || !plan.engine.unprivilegedUsers) return undefined;
    // Existing data belongs to the user that made it.
    if (plan.record?.initialized) {
      const owner = await stat(dataDir).catch(() => undefined);
      if (owner && owner.uid !== 0) return { name: plan.record.runAs ?? `uid ${owner.uid}`, uid: owner.uid, gid: owner.gid };
    }
    const names = this.runAs !== undefined ? [this.runAs] : plan.engine.unprivilegedUsers;
    for (const name of names) {
      const user = await lookupUser(name);
      if (user) return user;
    }
    throw new ResourceHostError(plan.app, plan.resource.name, `the rack runs as root, which ${plan.engine.name} must not; none of the users ${names.join(', ')} exists: create one (useradd --system slipway) or run the rack as another user`);
  }

  /** Let the server's user reach its folder: ours are made passable (not readable); the rest must be already. */
  private async openPath(plan: Plan, user: ServerUser): Promise<void> {
    for (const dir of [this.root, join(this.root, plan.app), plan.dir]) await chmod(dir, 0o711);
    const blocked = await firstUnreachableDir(plan.dir, user);
    if (blocked) {
      throw new ResourceHostError(
        plan.app,
        plan.resource.name,
        `the rack runs as root, so ${plan.engine.name} runs as user ${user.name}, who cannot enter ${blocked}: let others pass through it (chmod o+x ${blocked}) or keep the rack's state in a folder they can reach`,
      );
    }
  }

  private async start(slot: Slot, plan: Plan): Promise<void> {
    const { app, resource, dir, engine } = plan;
    const dataDir = join(dir, DATA_DIR);
    const logFile = join(dir, LOG_FILE);
    // The rack's folders get the usual mode; the resource's own is private.
    await mkdir(this.root, { recursive: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const password = await passwordOf(dir);
    const log = this.emitter(slot, logFile, password);
    const runAs = await this.serverUser(plan, dataDir);
    if (runAs) await this.openPath(plan, runAs);
    await this.stopLeftover(app, resource.name, { othersRacks: 'refuse', log });

    const port = await freePort(plan.record && plan.record.port > 0 ? plan.record.port : undefined);
    if (plan.record && plan.record.port !== port) log(`port ${plan.record.port} is taken now; the server moves to ${port}`);
    // Until its data exists a resource may still change engine (PostgreSQL installed meanwhile, say).
    let record: ResourceRecord = {
      ...(plan.record?.initialized ? plan.record : { kind: engine.kind, engine: engine.name, initialized: false, created: plan.record?.created ?? new Date().toISOString() }),
      type: resource.type,
      port,
      ...(runAs ? { runAs: runAs.name } : {}),
    };
    await writeRecord(dir, record);

    const ctx: EngineContext = { app, resource, dir, dataDir, logFile, port, password, runAs, signal: slot.abort.signal, log };
    for (const note of await engine.notes(resource)) log(`note: ${note}`);
    if (!record.initialized) {
      log(`creating the ${resource.type} resource (${engine.name}) in ${dataDir}`);
      // Whatever an interrupted first start left is not data anyone wrote: start it afresh.
      await rm(dataDir, { recursive: true, force: true });
      await makeServerDir(dataDir, runAs);
      await engine.init(ctx);
      if (slot.abort.signal.aborted) throw slot.abort.signal.reason;
      record = { ...record, initialized: true };
      await writeRecord(dir, record);
    }
    if (slot.abort.signal.aborted) throw slot.abort.signal.reason;

    const command = await engine.server(ctx);
    let spawnError: Error | undefined;
    const child = spawnServer(command.command, command.args, { cwd: dir, env: command.env, ...(runAs ? { runAs } : {}), onLine: log });
    slot.child = child;
    child.once('error', (error) => (spawnError = error));
    child.once('exit', (code, signal) => {
      this.untrack(child);
      if (slot.stopping) return;
      log(`the server exited (${signal ?? `code ${code}`})`);
      if (slot.state === 'running' && this.slots.get(this.key(app, resource.name)) === slot) {
        // The next ensure starts it again.
        this.slots.delete(this.key(app, resource.name));
        void rm(join(dir, PID_FILE), { force: true });
      }
    });
    if (child.pid !== undefined) {
      this.track(child, engine.traits.stopSignal);
      const pidRecord: PidRecord = { pid: child.pid, engine: engine.name, port, owner: await this.me() };
      await writeFile(join(dir, PID_FILE), `${JSON.stringify(pidRecord)}\n`, { mode: 0o600 });
    }

    try {
      const deadline = Date.now() + this.startTimeoutMs;
      for (;;) {
        if (slot.abort.signal.aborted) throw slot.abort.signal.reason;
        if (spawnError) throw new ResourceStartError(app, resource.name, `${command.command} could not run: ${spawnError.message}`, logFile);
        if (exited(child)) {
          const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode}`;
          throw new ResourceStartError(app, resource.name, `${engine.name} ${how} before it accepted connections`, logFile, slot.tail);
        }
        const probe = await engine.probe(ctx);
        if (probe.ok) break;
        if (Date.now() > deadline) throw new ResourceStartError(app, resource.name, `${engine.name} was not ready after ${Math.round(this.startTimeoutMs / 1000)} s (${probe.reason})`, logFile, slot.tail);
        await sleep(200);
      }
      await engine.afterReady?.(ctx);
    } catch (error) {
      await terminate(child, engine.traits.stopSignal, this.stopTimeoutMs);
      await rm(join(dir, PID_FILE), { force: true });
      throw error;
    }
    slot.state = 'running';
    log(`ready on ${LOOPBACK}:${port}`);
  }

  private track(child: ChildProcess, signal: NodeJS.Signals): void {
    if (this.live.size === 0) process.on('exit', this.onProcessExit);
    this.live.set(child, signal);
  }

  private untrack(child: ChildProcess): void {
    this.live.delete(child);
    if (this.live.size === 0) process.off('exit', this.onProcessExit);
  }

  private async stopSlot(slot: Slot): Promise<void> {
    slot.stopping = true;
    slot.abort.abort(new SlipwayError(`resource ${slot.name} of app ${slot.app} was stopped while it started`, 'RESOURCE_STOPPED', { app: slot.app, resource: slot.name }));
    if (slot.child) await terminate(slot.child, slot.engine.traits.stopSignal, this.stopTimeoutMs);
    await slot.done;
    const key = this.key(slot.app, slot.name);
    if (this.slots.get(key) === slot) this.slots.delete(key);
    await rm(join(this.dirOf(slot.app, slot.name), PID_FILE), { force: true });
  }

  private me(): Promise<RackIdentity> {
    this.identity ??= processStartTime(process.pid).then((started) => ({ pid: process.pid, ...(started !== undefined ? { started } : {}), instance: this.instance }));
    return this.identity;
  }

  /** Whether the rack that started a server still runs: another process, or another LocalResources of this one. */
  private async ownerRuns(owner: RackIdentity | undefined): Promise<boolean> {
    if (!owner) return false;
    const me = await this.me();
    if (owner.pid === me.pid && owner.started === me.started) return owner.instance !== me.instance;
    if (owner.pid === me.pid || !(await isAlive(owner.pid))) return false;
    // The same pid with another start time is a later process: the rack is gone.
    return owner.started === undefined || (await processStartTime(owner.pid)) === owner.started;
  }

  /** The server server.pid names, if it runs and is this resource's. */
  private async recordedServer(dir: string): Promise<RecordedServer | undefined> {
    const recorded = await readPid(dir);
    if (!recorded) return undefined;
    const traits = TRAITS[recorded.engine];
    if (!(await isAlive(recorded.pid))) return undefined;
    const line = await commandLine(recorded.pid);
    if (line === undefined || !traits.owns(line, { dir, dataDir: join(dir, DATA_DIR), port: recorded.port })) return undefined;
    return { pid: recorded.pid, traits, foreignOwner: (await this.ownerRuns(recorded.owner)) ? recorded.owner?.pid : undefined };
  }

  private foreignServerError(app: string, resource: string, server: RecordedServer): ResourceHostError {
    return new ResourceHostError(app, resource, `its server (pid ${server.pid}) belongs to another rack that still runs (pid ${server.foreignOwner}) on the same state folder; stop that rack, or give this one a state folder of its own`);
  }

  /**
   * Stop the server a previous run of the rack left on this resource's data, if it still runs.
   * It is stopped rather than adopted: its output went to a pipe that is gone, and a process
   * that is not our child cannot be watched; a fresh start takes a second or two. A server
   * another running rack owns is not ours to stop: refused, or skipped.
   */
  private async stopLeftover(app: string, resource: string, options: { readonly othersRacks: 'refuse' | 'skip'; readonly log?: (text: string) => void }): Promise<void> {
    const dir = this.dirOf(app, resource);
    const server = await this.recordedServer(dir);
    if (server?.foreignOwner !== undefined) {
      if (options.othersRacks === 'skip') return;
      throw this.foreignServerError(app, resource, server);
    }
    if (server) {
      options.log?.(`stopping the server a previous run of the rack left running (pid ${server.pid})`);
      await terminatePid(server.pid, server.traits.stopSignal, this.stopTimeoutMs);
    }
    await rm(join(dir, PID_FILE), { force: true });
  }
}
